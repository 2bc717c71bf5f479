"""Gaze and eyelids on drawn eyes: the iris moves by the driver's offset, stays inside the lids, and a
closed lid hides it entirely."""
from __future__ import annotations

import numpy as np
from animate_faces import draw_face, template
from talkinghead.nodes.animate import features as F
from talkinghead.nodes.animate import targets as T
from talkinghead.nodes.animate.eyes import lid_outline, render_eye
from talkinghead.nodes.animate.iris import locate_iris
from talkinghead.nodes.animate.regions import EYES, eye_opening, from_eye_units, polygon_area, polygon_mask
from talkinghead.nodes.warping.warp import warp_face


def _closed_eye(lms, eye):
    out = lms.copy()
    idx = EYES[eye]
    out[idx[[1, 2]]] = out[idx[[5, 4]]]
    return out


def _upper_lid_y(points, x):
    """The y of an eye's upper lid arc (``lid_outline``) at column ``x``; points (6, 2)."""
    upper = lid_outline(points, 64)[:64]
    order = np.argsort(upper[:, 0])
    return float(np.interp(x, upper[order, 0], upper[order, 1]))


def _openings(lms):
    return np.array([eye_opening(lms, eye) for eye in (0, 1)])


def _eyes_at(lms, ratio):
    """``lms`` with both eyes' lids moved towards each other: each gap ``ratio`` x the template's."""
    out = lms.copy()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        gap = lms[lower] - lms[upper]
        out[upper] = lms[upper] + 0.5 * (1 - ratio) * gap
        out[lower] = lms[lower] - 0.5 * (1 - ratio) * gap
    return out


def _blinking_track(read_shut=0.45):
    """100 frames at 25 fps of open eyes, with two blinks whose lowest frames the tracker reads at
    ``read_shut`` of the open eye, and a slow squint (0.7 for 0.8 s: not a blink)."""
    ratios = np.ones(100)
    ratios[20:25] = [0.7, 0.5, read_shut, 0.5, 0.7]
    ratios[60:64] = [0.6, read_shut, 0.55, 0.75]
    ratios[75:95] = 0.7
    return np.array([_eyes_at(template(), r) for r in ratios])


def test_eye_levels_read_the_drivers_open_eye_and_where_its_tracker_puts_a_shut_one():
    lms = _blinking_track(0.45)
    typical, closed = T.eye_levels(lms, np.ones(len(lms), bool), 25.0)
    np.testing.assert_allclose(typical, _openings(template()), rtol=1e-6)
    np.testing.assert_allclose(closed, [0.45, 0.45], atol=0.02)
    steady = np.repeat(template()[None], 50, 0)                 # no blinks: the default level
    assert np.allclose(T.eye_levels(steady, np.ones(50, bool), 25.0)[1], T.CLOSED_LEVEL)


def test_another_persons_blinks_shut_the_photos_eyes_where_its_tracker_reads_them_shut():
    """A driver whose tracker reads a shut eye at 0.45 of the open one: at the bottom of its blinks the
    photo's eyes shut; open, they keep the photo's opening; its slow squint stays a squint."""
    from talkinghead.nodes.animate.drive import drive_targets
    from talkinghead.nodes.types import FaceTrack

    lms = _blinking_track(0.45)
    n = len(lms)
    track = FaceTrack(lms, np.zeros((n, 4)), np.ones(n, bool), np.ones(n), (256, 256), fps=25.0)
    photo = template()
    targets, _, _ = drive_targets(track, photo, (256, 256), "relative", neutral=0)
    own = _openings(photo)
    for t in (22, 61):
        assert (_openings(targets[t]) < 0.05 * own).all(), t
    np.testing.assert_allclose(_openings(targets[5]), own, rtol=0.02)
    assert (_openings(targets[85]) > 0.4 * own).all()


def test_gaze_shift_moves_the_iris_by_the_offset_and_keeps_it_inside_the_lids():
    import cv2

    lms = template()
    photo = draw_face(lms, iris_frac=0.15)     # an iris the lids do not clip: its centre is well defined
    feat = F.prepare(photo, lms)
    lids = np.zeros(photo.shape[:2], np.uint8)
    for idx in EYES:
        lids |= (polygon_mask(lid_outline(lms[idx]), photo.shape[:2]) > 0).astype(np.uint8)
    lids = cv2.dilate(lids, np.ones((3, 3), np.uint8)) > 0              # the matte's 1 px soft edge
    found = {}
    for offset in ((0.0, 0.0), (0.12, 0.0), (-0.1, 0.03)):
        out = photo.copy()
        for e in (0, 1):
            out = render_eye(out, lms, lms, feat.eyes[e], np.array(offset))
            est = locate_iris(out, lms[EYES[e]])
            assert est.ok
            found[offset, e] = est.centre
        np.testing.assert_array_equal(out[~lids], photo[~lids])   # nothing drawn outside the openings
        truth = draw_face(lms, iris_offset=offset, iris_frac=0.15)
        assert np.abs(out.astype(int) - truth)[lids].mean() < 12    # the drawn eye, as the photo would show it
    for e in (0, 1):
        for offset in ((0.12, 0.0), (-0.1, 0.03)):
            moved = found[offset, e] - found[(0.0, 0.0), e]
            expected = from_eye_units(np.array(offset), lms, e) - from_eye_units(np.zeros(2), lms, e)
            assert np.linalg.norm(moved - expected) < 1.0


def test_a_closed_lid_hides_the_iris_entirely_and_the_other_eye_stays_open():
    lms = template()
    photo = draw_face(lms)
    target = _closed_eye(lms, 0)
    feat = F.prepare(photo, lms)
    out, report = F.animate_frame(feat, warp_face(photo, lms, target), target)
    assert report.eyes == ("animated", "animated")
    grey = out.mean(axis=2)
    for e, dark_expected in ((0, False), (1, True)):
        lo, hi = lms[EYES[e]].min(0) - 3, lms[EYES[e]].max(0) + 3
        window = grey[int(lo[1]):int(hi[1]), int(lo[0]):int(hi[0])]
        assert (window < 120).any() == dark_expected             # no ghost of the iris under the lid


def test_an_eye_opened_wider_than_the_photos_shows_sclera_and_its_lashes_follow_the_lid():
    lms = template()
    photo = draw_face(lms, iris_frac=0.12)
    lash = (40, 25, 20)
    for idx in EYES:                                   # a dark lash line along the inside of each upper lid
        opening = polygon_mask(lid_outline(lms[idx]), photo.shape[:2]) > 0.5
        band = opening & ~np.roll(opening, 2, axis=0)
        photo[band] = lash
    target = lms.copy()
    target[[37, 38, 43, 44], 1] -= 4.0                 # both upper lids raised by 4 px
    feat = F.prepare(photo, lms)
    out = photo.copy()
    for e in (0, 1):
        out = render_eye(out, lms, target, feat.eyes[e])
    grey = out.mean(axis=2)
    for e in (0, 1):
        a, b = lms[EYES[e][0]], lms[EYES[e][3]]
        for t in (0.3, 0.7):                           # columns between the corners and the iris
            x = round(float(a[0] + t * (b[0] - a[0])))
            upper_old, upper_new = _upper_lid_y(lms[EYES[e]], x), _upper_lid_y(target[EYES[e]], x)
            top = int(np.ceil(upper_new))                    # the lashes: 2 rows, 1 px of rasterising
            uncovered = grey[top + 3:int(np.floor(upper_old)) + 3, x]    # down to the photo's lash rows
            assert len(uncovered) and uncovered.min() > 150      # sclera where the lid was: no lash, no second line
            assert grey[top:top + 2, x].min() < 120              # the lash line went up with the lid


def test_plain_warp_of_a_closing_eye_does_ghost_the_iris():
    """The failure the lid layer fixes: warping alone squeezes the iris into the closed lid."""
    lms = template()
    photo = draw_face(lms)
    target = lms.copy()
    idx = EYES[0]
    target[idx[[1, 2]]] = target[idx[[5, 4]]] - [0, 1.0]
    out = warp_face(photo, lms, target)
    lo, hi = lms[idx].min(0) - 3, lms[idx].max(0) + 3
    assert (out.mean(axis=2)[int(lo[1]):int(hi[1]), int(lo[0]):int(hi[0])] < 120).any()


def test_eyelid_targets_follow_each_eye_on_its_own_down_to_closed():
    lms = template()
    driver_neutral = template()
    wink = _closed_eye(driver_neutral, 1)
    out = T.eyelid_targets(lms, lms, wink, _openings(driver_neutral))
    assert polygon_area(out[EYES[1]]) < 0.02 * polygon_area(lms[EYES[1]])   # shut (the lid line may slant)
    assert abs(eye_opening(out, 0) - eye_opening(lms, 0)) < 1e-6


def test_glare_on_the_photos_eye_falls_back_to_the_plain_warp_and_says_so():
    lms = template()
    photo = draw_face(lms)
    glare = polygon_mask(lms[EYES[1]], photo.shape[:2]) > 0
    photo[glare] = 255
    feat = F.prepare(photo, lms)
    _, report = F.animate_frame(feat, photo, lms)
    assert report.eyes[0] == "animated" and report.eyes[1].startswith("fallback")
    summary = F.summarise([report, report])
    assert summary["eye1"] == {report.eyes[1]: 2}


def test_mouth_targets_take_the_drivers_lip_shape():
    from animate_faces import open_mouth
    from talkinghead.nodes.animate.regions import mouth_opening

    lms = template()
    neutral = template()
    driver = open_mouth(neutral, 15.0)
    out = T.mouth_targets(lms, lms, driver, neutral)
    assert abs(mouth_opening(out) - mouth_opening(driver)) < 0.01
    assert out[8, 1] > lms[8, 1]           # the chin follows the lower lip


def test_an_eye_the_driver_hides_under_glare_is_not_animated_and_is_counted():
    """Glasses glare over one of the driver's eyes: on that frame (and the next, no flicker) that eye keeps
    the photo's own shape and falls back to the plain warp; the report says so; the other eye still moves."""
    from talkinghead.nodes.animate.portrait import perform, prepare, render
    from talkinghead.nodes.types import FaceTrack

    lms = template()
    photo = draw_face(lms)
    n = 8
    driver = np.repeat(lms[None], n, 0)
    for t in (1, 2, 4):                                  # the driver narrows its eyes: the photo's follow
        for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
            mid = (lms[upper] + lms[lower]) / 2
            driver[t, [upper, lower]] = mid + 0.4 * (lms[[upper, lower]] - mid)
    frames = [draw_face(d) for d in driver]
    frames[4][polygon_mask(driver[4][EYES[0]], frames[4].shape[:2]) > 0.3] = 255      # glare on eye 0
    track = FaceTrack(driver.astype(np.float32), np.zeros((n, 4), np.float32), np.ones(n, bool),
                      np.ones(n, np.float32), photo.shape[:2], np.arange(n), 25.0)
    portrait = prepare(None, photo, lms)
    performance = perform(portrait, track, frames=iter(frames))
    assert performance.eyes_covered[:, 1].sum() == 0
    assert np.flatnonzero(performance.eyes_covered[:, 0]).tolist() == [3, 4, 5]
    shut = render(portrait, performance, 1).report.eyes
    covered = render(portrait, performance, 4).report.eyes
    assert shut == ("animated", "animated")
    assert covered == ("fallback: occluded in the driver", "animated")
    photo_open = eye_opening(lms, 0)
    assert abs(eye_opening(performance.targets[4], 0) - photo_open) < 0.02 * photo_open   # the photo's own eye
    assert eye_opening(performance.targets[1], 0) < 0.7 * photo_open                       # elsewhere it follows


def test_lids_given_in_the_photos_own_frame_are_taken_as_given():
    """``perform_landmarks`` (the same face's own landmarks: self-reenactment, keyframed curves) keeps each
    eye as open as given: half the photo's opening stays half. Another person's track (``perform``) has its
    blinks deepened (``targets.eye_levels``; by default half reads as a third)."""
    from talkinghead.nodes.animate.portrait import perform_landmarks, prepare

    lms = template()
    half = lms.copy()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        half[upper] += 0.5 * (lms[lower] - lms[upper])
    portrait = prepare(None, draw_face(lms), lms)
    given = perform_landmarks(portrait, half[None], lms).targets[0]
    deepened = T.eyelid_targets(lms, lms, half, _openings(lms))
    for eye in (0, 1):
        want = 0.5 * eye_opening(lms, eye)
        assert abs(eye_opening(given, eye) - want) < 0.03 * want
        assert eye_opening(deepened, eye) < 0.75 * want


def test_an_iris_located_smaller_than_it_shows_is_taken_whole_out_of_the_eyeball():
    """The iris model can give the pupil and brown iris without the grey rim around it (girl_pearl: 8.4 px
    for an iris of about 11.5): the rim left in the iris-free eyeball was filled row by row into dark
    stripes that showed wherever the iris moved away. The iris is taken as it shows, rim included."""
    from talkinghead.nodes.animate.eyes import analyse_eye
    from talkinghead.nodes.animate.iris import IrisEstimate
    from talkinghead.nodes.animate.regions import from_eye_units

    lms = template()
    photo = draw_face(lms, iris_frac=0.2)
    for e in (0, 1):
        width = float(np.linalg.norm(lms[EYES[e][3]] - lms[EYES[e][0]]))
        centre = from_eye_units(np.zeros(2), lms, e)
        src = analyse_eye(photo, lms, e, IrisEstimate(centre, 0.13 * width, True))   # located too small
        assert 0.18 * width <= src.iris_radius <= 0.23 * width, src.iris_radius / width
        x0, y0, x1, y1 = src.box
        opening = polygon_mask(lms[EYES[e]] - [x0, y0], (y1 - y0, x1 - x0)) > 0.99
        grey = src.sclera.mean(axis=2) * 255
        assert grey[opening].min() > 180, grey[opening].min()      # sclera only: no rim, no stripes


def test_a_lid_is_an_arc_through_its_points_not_a_trapezoid():
    pts = np.array([[0, 0], [20, -12], [40, -12], [60, 0], [40, 8], [20, 8]], float) + [20, 30]
    upper = lid_outline(pts, 121)[:121]                     # corner to corner along the upper lid, 0.5 px apart
    for k in (1, 2):                                        # through the lid's points
        assert np.linalg.norm(upper - pts[k], axis=1).min() < 0.3
    y = upper[:, 1]
    assert y[60] < 30 - 12 - 1.0                            # rounded above the chord between them (trapezoid: 18)
    bend = np.abs(np.diff(y, 2))
    assert bend.max() < 3 * np.median(bend) + 0.05         # no corner at the lid points: the slope turns evenly
    lower = lid_outline(pts, 121)[121:][::-1]
    assert np.all(lower[:, 1] >= y - 1e-9) and lower[60, 1] > 30 + 8 + 0.5


def test_the_eyeball_where_the_iris_was_has_no_stripes():
    """Rows beside the iris that touch the lashes' shadow and rows that touch the sclera alternate: filled row by
    row, the hole the iris leaves is striped, and a moved iris uncovers the stripes."""
    from talkinghead.nodes.animate.eyes import eyeball

    h, w = 40, 60
    points = np.array([[5, 20], [20, 8], [40, 8], [55, 20], [40, 32], [20, 32]], np.float64)
    opening = polygon_mask(lid_outline(points, 32), (h, w)) > 0.5
    yy, xx = np.mgrid[0:h, 0:w]
    iris = (xx - 30) ** 2 + (yy - 20) ** 2 <= 9 ** 2
    window = np.full((h, w, 3), 0.85, np.float32)
    window[iris] = 0.25
    shadow = (np.abs(xx - 30) >= 10) & (np.abs(xx - 30) <= 12) & (yy % 2 == 0)   # every other row beside the iris
    window[shadow] = 0.3
    _, filled, _ = eyeball(window, opening, iris, points, (0.0, 0.0))
    hole = iris & opening
    rows = np.array([filled[y, hole[y]].mean() for y in range(h) if hole[y].sum() >= 5])
    assert np.abs(np.diff(rows)).max() < 0.05        # row by row alone: 0.3 against 0.85 in turn
    assert filled[hole].mean() > 0.45                 # the hole is sclera, not iris


def test_the_iris_hole_is_filled_along_each_row_and_a_row_without_sclera_takes_the_nearest():
    from talkinghead.nodes.animate.eyes import fill_rows

    window = np.zeros((4, 6, 3), np.float32)
    window[:, 0], window[:, 5] = 10.0, 60.0          # sclera at both ends of each row
    hole = np.zeros((4, 6), bool)
    hole[:, 1:5] = True
    valid = np.ones((4, 6), bool)
    valid[3] = False                                  # the last row shows no sclera
    out = fill_rows(window, hole, valid)
    assert np.allclose(out[0, :, 0], [10, 20, 30, 40, 50, 60])   # linear between the two sides, by distance
    assert np.allclose(out[3, 1:5], out[2, 1:5])                 # the nearest filled row
    assert np.array_equal(out[3, [0, 5]], window[3, [0, 5]])     # nothing outside the hole changes
    valid[:, 5] = False                                           # one side only: that side's value
    assert np.allclose(fill_rows(window, hole, valid)[1, 1:5, 0], 10)


def test_an_eye_that_widens_as_the_head_turns_keeps_its_irises_height():
    """A far eye seen obliquely widens as the head turns towards the camera, but its iris grows no taller
    (the nose keeps its length): scaled by the eye's width alone, girl_pearl's far eye at 1.39 x drew an iris
    taller than the lids, cut off by them. The iris widens with the eye and keeps its height."""
    from talkinghead.nodes.animate.eyes import analyse_eye

    base = template()
    centre = base[EYES[0]].mean(0)
    lms = centre + 3.0 * (base - centre) + [0, 20]       # eye 0 large in the picture (84 px wide)
    photo = draw_face(lms, iris_frac=0.12)
    src = analyse_eye(photo, lms, 0, locate_iris(photo, lms[EYES[0]]))
    idx = EYES[0]
    mid = lms[idx].mean(0)
    target = lms.copy()
    target[idx, 0] = mid[0] + 1.4 * (lms[idx, 0] - mid[0])      # 1.4 x as wide, lids as high, nose as long
    out = render_eye(photo, lms, target, src, src.gaze)

    def iris_extent(image, points):
        lo, hi = points.min(0) - 2, points.max(0) + 2
        dark = image[int(lo[1]):int(hi[1]), int(lo[0]):int(hi[0])].mean(axis=2) < 150
        ys, xs = np.nonzero(dark)
        return np.ptp(xs) + 1, np.ptp(ys) + 1

    w0, h0 = iris_extent(photo, lms[idx])
    w1, h1 = iris_extent(out, target[idx])
    assert abs(h1 - h0) <= 1, (h0, h1)                 # before: 1.4 x as tall (cut by the lids)
    assert w1 >= 1.3 * w0, (w0, w1)


def test_the_irises_move_from_the_photos_own_rest_by_the_drivers_change():
    """Relative retargeting moves the photo's irises from where they rest in the photo by the driver's change
    from its own rest (the median over the clip): a driver whose irises rest lower against its lids does not
    lower the photo's (a painting's heavy-lidded eyes turned into a startled stare). Absolute retargeting
    takes the driver's offsets."""
    from talkinghead.nodes.animate.portrait import perform, prepare
    from talkinghead.nodes.types import FaceTrack

    lms = template()
    photo = draw_face(lms, iris_offset=(0.0, -0.06))            # irises resting high, under the upper lids
    portrait = prepare(None, photo, lms)
    rest = np.array([eye.gaze for eye in portrait.features.eyes])
    n = 60
    offsets = np.zeros((n, 2)) + [0.0, 0.05]                   # the driver's irises rest lower ...
    offsets[40:] += [0.1, 0.0]                                  # ... and look to one side in the last second
    iris = np.zeros((n, 2, 3), np.float32)
    for t in range(n):
        for e in (0, 1):
            iris[t, e, :2] = from_eye_units(offsets[t], lms, e)
            iris[t, e, 2] = 4.0
    track = FaceTrack(np.repeat(lms[None], n, 0).astype(np.float32), np.zeros((n, 4), np.float32),
                      np.ones(n, bool), np.ones(n, np.float32), photo.shape[:2], np.arange(n), 25.0, iris=iris)
    relative = perform(portrait, track).gaze
    np.testing.assert_allclose(relative[0, :, :2], rest, atol=0.01)                  # at rest: the photo's own
    np.testing.assert_allclose(relative[-1, :, :2] - relative[0, :, :2], [[0.1, 0.0]] * 2, atol=0.02)
    absolute = perform(portrait, track, mode="absolute").gaze
    np.testing.assert_allclose(absolute[0, :, :2], [[0.0, 0.05]] * 2, atol=0.01)
