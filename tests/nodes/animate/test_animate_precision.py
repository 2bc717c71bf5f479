"""The head map puts lips and lids exactly where their targets are (fine feature windows, a light regulariser
at the features, a neck band that never reaches the mouth), and the layer carries on past the photo's edge."""
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.animate import motion as M
from talkinghead.nodes.animate.animate import animate_frame
from talkinghead.nodes.animate.compose import sample_points, warp_layer
from talkinghead.nodes.animate.head_layer import HeadLayer
from talkinghead.nodes.animate.motion import NeckLine
from talkinghead.nodes.animate.refine import border_ramp, feature_windows

GOLDEN = Path(__file__).parents[2] / "golden" / "astronaut_dlib_landmarks.npy"
SIZE = (512, 512)


@pytest.fixture(scope="module")
def source():
    return np.load(GOLDEN).astype(np.float64)


def flat_layer(source):
    """A head layer whose alpha is the face hull grown 1.8x, over a flat background (no matting needed)."""
    from talkinghead.nodes.animate.segment import face_hull_mask

    rng = np.random.default_rng(1)
    photo = rng.integers(60, 200, (*SIZE, 3)).astype(np.float32)
    alpha = face_hull_mask(source, SIZE, 1.8).astype(np.float32)
    premult = np.concatenate([photo * alpha[..., None], alpha[..., None]], -1).astype(np.float32)
    ys, xs = np.nonzero(alpha)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    background = np.full((*SIZE, 3), 128.0, np.float32)
    return HeadLayer(alpha, premult, background, background.astype(np.uint8), box, "test", "test")


def speaking(source, up: float = 0.0):
    """The source with its jaw dropped and lower lip down (an "O"), the head moved up by ``up`` face heights."""
    neck = NeckLine.from_landmarks(source)
    out = source.copy()
    drop = 0.12 * neck.height * neck.down
    weights = {5: 0.3, 6: 0.6, 7: 0.85, 8: 1.0, 9: 0.85, 10: 0.6, 11: 0.3, 55: 0.5, 56: 0.85, 57: 1.0, 58: 0.85,
               59: 0.5, 65: 0.7, 66: 1.0, 67: 0.7}
    for index, weight in weights.items():
        out[index] += weight * drop
    out[[61, 62, 63]] -= 0.15 * drop
    out[[37, 38, 43, 44]] += 0.04 * neck.height * neck.down     # lids half down
    return out - up * neck.height * neck.down


def sample_map(frame, points):
    """The frame's backward map at output ``points`` (K, 2): source positions (K, 2)."""
    import cv2

    mx, my = frame.full_maps()
    t = np.asarray(points, np.float32)
    return np.stack([cv2.remap(mx, t[:, :1], t[:, 1:], cv2.INTER_LINEAR)[:, 0],
                     cv2.remap(my, t[:, :1], t[:, 1:], cv2.INTER_LINEAR)[:, 0]], 1)


def map_error(frame, target, source, points):
    return np.linalg.norm(sample_map(frame, target[points]) - source[points], axis=1)


FEATURES = np.arange(36, 68)
UPPER_LIDS = np.array([37, 38, 43, 44])


def landing_error(frame, target, source, points, reach: float = 3.0):
    """How far (output px, along the face's down) from its target each source point lands: the offset s at
    which the map's source at target + s down passes the source point. A shutting lid squeezes the photo's
    opening under it into a thin band, so the map's slope changes within a pixel of the lid and its bilinear
    sample at the target itself is off by up to half a pixel times the band's squeeze, in source px; where the
    point lands in the output is what shows."""
    down = NeckLine.from_landmarks(source).down
    steps = np.arange(-reach, reach, 0.01)
    out = []
    for k in points:
        along = (sample_map(frame, target[k] + steps[:, None] * down) - source[k]) @ down
        crossing = np.flatnonzero(np.diff(np.sign(along)) != 0)
        out.append(np.min(np.abs(steps[crossing])) if len(crossing) else np.inf)
    return np.array(out)


def test_lips_and_lids_land_on_their_targets(source):
    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = speaking(source)
    frame = animate_frame(SIZE, source, target, layer, neck)
    others = np.setdiff1d(FEATURES, UPPER_LIDS)
    assert map_error(frame, target, source, others).max() < 0.5
    assert landing_error(frame, target, source, UPPER_LIDS).max() < 0.5     # the lids are half down
    coarse = animate_frame(SIZE, source, target, layer, neck, fine=False)     # the lattice alone smears them
    assert map_error(coarse, target, source, others).max() > 2 * map_error(frame, target, source, others).max()


def test_a_nodding_nose_lands_on_its_target(source):
    """A nod moves the nose's tip against the eye corners; a smoothed map would move it less, and the
    face would nod less than the driver (or nod when the driver turns)."""
    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = source.copy()
    nose = np.arange(28, 36)
    target[nose] += 0.04 * neck.height * neck.down * np.linspace(0.4, 1.0, len(nose))[:, None]
    frame = animate_frame(SIZE, source, target, layer, neck)
    assert map_error(frame, target, source, np.arange(27, 36)).max() < 0.3


def test_a_head_that_moves_far_up_still_opens_its_mouth_fully(source):
    """The neck band is widened when the head pulls the neck up, but never above the chin: the lips follow."""
    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = speaking(source, up=0.5)
    frame = animate_frame(SIZE, source, target, layer, neck)
    assert map_error(frame, target, source, np.arange(48, 68)).max() < 0.5
    points = M.lattice((0, 0, 512, 512), 8)
    top, bottom = M.neck_band(neck, points, M.fit_head_motion(source, target, neck).head_map(points))
    assert M.NECK_TOP_MIN <= top < M.NECK_TOP and bottom == M.NECK_BOTTOM


def test_feature_windows_cover_mouth_and_eyes_and_the_ramp_is_zero_at_the_border(source):
    windows = feature_windows(source, (0, 0, 512, 512), SIZE, 2)
    assert len(windows) == 3
    for idx, (x0, y0, x1, y1) in zip((np.arange(48, 68), np.arange(36, 42), np.arange(42, 48)), windows):
        pts = source[idx]
        assert (pts[:, 0] > x0).all() and (pts[:, 0] < x1).all() and (pts[:, 1] > y0).all() and (pts[:, 1] < y1).all()
    ramp = border_ramp((20, 30), 5)
    assert ramp[0].max() == 0 and ramp[:, 0].max() == 0 and ramp[10, 15] == 1


def test_the_layer_carries_on_past_the_photos_edge():
    """A head layer that runs off the bottom (a tight crop's neck) keeps its neck when the head moves up."""
    premult = np.zeros((64, 64, 4), np.float32)
    premult[32:, 16:48] = (200.0, 150.0, 120.0, 1.0)
    ys, xs = np.mgrid[0:64, 0:64].astype(np.float32)
    warped = warp_layer(premult, xs, ys + 10.0)            # everything moves up by 10 px
    assert np.allclose(warped[54:, 16:48, 3], 1.0)          # no hole at the bottom edge
    assert np.allclose(warped[:, :14, 3], 0.0)              # where the layer did not reach the edge: nothing


def test_shoulders_that_widen_to_the_bottom_edge_carry_on_in_their_own_colour():
    """Shoulders widen down to the photo's bottom edge: mirrored about the edge, the revealed band's outer
    columns fall on the background above the shoulder line (alpha 0), and the layer's colour there was black
    (lia_taylor x lia_vox3: a black triangle under her shoulder whenever her head moved up)."""
    n = 96
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
    spread = 0.6 * (ys - 48)                                # at the bottom edge: columns 12 to 84
    alpha = np.clip(np.minimum(xs - (40 - spread), (56 + spread) - xs) + 0.5, 0, 1) * (ys >= 48)
    premult = np.dstack([alpha * 200.0, alpha * 150.0, alpha * 120.0, alpha]).astype(np.float32)
    warped = warp_layer(premult, xs, ys + 20.0)             # the head moves up by 20 px
    band = warped[n - 20:]
    shown = band[..., 3] > 0.5
    assert shown[:, 14:83].all()                            # the shoulders carry on as wide as at the edge
    colour = band[..., :3][shown] / band[..., 3:][shown]
    np.testing.assert_allclose(colour, np.broadcast_to([200.0, 150.0, 120.0], colour.shape), atol=1.0)


def test_hair_cut_by_the_top_edge_closes_into_a_dome_with_its_texture():
    """A round head cut by the photo's top edge, moved down: the revealed top follows the circle (repeating the
    edge row stood a column on the head, 0.09 mean alpha error there) and carries the hair's texture on
    (repeating the edge row drew vertical streaks: no change down a column)."""
    n = 96
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)

    def disc(cy: float) -> np.ndarray:
        return np.clip(30.5 - np.hypot(xs - 48, ys - cy), 0, 1)

    alpha = disc(12.0)                                      # its top 18 px lie above the photo
    grey = 120 + 60 * np.sin(ys * 0.9)                      # strands across the head
    premult = np.dstack([grey * alpha] * 3 + [alpha]).astype(np.float32)
    warped = warp_layer(premult, xs, ys - 12.0)             # the head moves down by 12 px
    revealed = slice(0, 12)
    assert np.abs(warped[revealed, :, 3] - disc(24.0)[revealed]).mean() < 0.03
    colour = warped[revealed, 48, 0] / np.maximum(warped[revealed, 48, 3], 1e-6)
    assert colour.std() > 0.5 * grey[12:40, 48].std()


def test_points_past_the_edge_are_sampled_however_many():
    """A head far past a large photo's edge puts more points outside than ``cv2.remap`` takes in one map."""
    rng = np.random.default_rng(0)
    image = rng.random((300, 400, 4)).astype(np.float32)
    xs, ys = rng.integers(0, 400, 40000), rng.integers(0, 300, 40000)
    np.testing.assert_allclose(sample_points(image, xs.astype(np.float32), ys.astype(np.float32)), image[ys, xs])


def closed_lips(source):
    """The source with its inner lips pressed together (a 0.5 px gap)."""
    out = source.copy()
    for upper, lower in ((61, 67), (62, 66), (63, 65)):
        mid = (out[upper] + out[lower]) / 2
        out[upper], out[lower] = mid - [0, 0.25], mid + [0, 0.25]
    return out


def test_a_closed_mouth_opened_wide_is_not_a_fold(source):
    """Opening pressed lips maps the whole opening onto the thin line between them (the map nearly collapses
    there by design, and the mouth renderer paints it): that is not repaired as a fold, so the lips and the
    mouth around them still land on their targets."""
    closed = closed_lips(source)
    layer, neck = flat_layer(closed), NeckLine.from_landmarks(closed)
    target = speaking(closed)
    target[[65, 66, 67, 55, 56, 57, 58, 59]] += 0.1 * neck.height * neck.down      # a wide "O"
    frame = animate_frame(SIZE, closed, target, layer, neck)
    points = M.lattice((0, 0, 512, 512), 8)
    coarse = M.backward_map(closed, target, points, neck)
    assert M.fold_mask(coarse, 8).any()                                  # the opening collapses ...
    assert M.opening_cells(points, target, 8)[M.fold_mask(coarse, 8)].all()   # ... inside the opening only
    assert frame.folds_repaired == 0
    assert map_error(frame, target, closed, np.arange(48, 68)).max() < 0.5


def test_a_shutting_eye_does_not_drag_the_skin_above_it(source):
    """Lids brought within a pixel of each other (a blink) would ask the map to take two nearly coincident
    points to sources a whole eye opening apart: the spline rang, dragging the skin between lid and brow
    down by twice the lid's own travel (a V-shaped crease) and folding. Held open a little (``hold_open``),
    the upper lid still lands on its target, the skin above moves no more than the lid and nothing folds."""
    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = source.copy()
    for upper, lower in M.LID_PAIRS:
        target[upper] = target[lower] + 0.05 * (target[upper] - target[lower])
    frame = animate_frame(SIZE, source, target, layer, neck)
    assert frame.folds_repaired == 0
    uppers = np.array([37, 38, 43, 44])
    assert landing_error(frame, target, source, uppers).max() < 0.5
    travel = np.linalg.norm(source[uppers] - target[uppers], axis=1)
    above = (target[[19, 20, 23, 24]] + target[uppers]) / 2            # halfway from the lid to the brow
    assert (np.linalg.norm(sample_map(frame, above) - above, axis=1) < 1.25 * travel).all()


def test_an_open_mouth_pressed_shut_does_not_fold(source):
    """A photo's open mouth driven to lips a pixel apart: without ``hold_open`` the map folded past repair
    (scaled down everywhere) and the lower lip and chin missed by 2-4 px."""
    photo = speaking(source)
    layer, neck = flat_layer(photo), NeckLine.from_landmarks(photo)
    target = source.copy()
    target[[37, 38, 43, 44]] = photo[[37, 38, 43, 44]]
    for upper, lower in M.INNER_LIPS:
        target[lower] = target[upper] + 0.05 * (photo[lower] - photo[upper])
    frame = animate_frame(SIZE, photo, target, layer, neck)
    assert frame.folds_repaired == 0
    assert map_error(frame, target, photo, np.arange(48, 60)).max() < 0.5
    assert map_error(frame, target, photo, np.arange(5, 12)).max() < 1.0


def test_hold_open_keeps_a_share_of_the_gap_and_leaves_open_apertures_alone(source):
    down = NeckLine.from_landmarks(source).down
    photo = speaking(source)
    assert np.array_equal(M.hold_open(photo, photo, down), photo)
    shut = photo.copy()
    for upper, lower in (*M.LID_PAIRS, *M.INNER_LIPS):
        shut[upper] = shut[lower]
    held = M.hold_open(shut, photo, down)
    for upper, lower in (*M.LID_PAIRS, *M.INNER_LIPS):
        gap = (photo[lower] - photo[upper]) @ down
        assert (held[lower] - held[upper]) @ down == pytest.approx(M.APERTURE_FLOOR * gap, rel=0.05)
    for upper, _ in M.LID_PAIRS:
        assert np.array_equal(held[upper], shut[upper])            # the lash line stays on its target


def test_hold_open_parts_lips_that_cross(source):
    """Relative retargeting can push a photo's lower lip above its upper lip: a fold in the map, and a mouth
    that reads as open. Lips that cross are opened like shut ones; over a photo whose lips touch or cross
    (gap <= 0) they end exactly closed."""
    down = NeckLine.from_landmarks(source).down
    photo = speaking(source)
    crossed = photo.copy()
    for upper, lower in M.INNER_LIPS:
        crossed[lower] = photo[upper] - 3.0 * down                  # 3 px above its upper partner
    held = M.hold_open(crossed, photo, down)
    closed = photo.copy()
    for upper, lower in M.INNER_LIPS:
        closed[lower] = closed[upper] - 1.0 * down                   # a photo whose dlib lips overlap by 1 px
    held_closed = M.hold_open(crossed, closed, down)
    for upper, lower in M.INNER_LIPS:
        gap = (photo[lower] - photo[upper]) @ down
        assert (held[lower] - held[upper]) @ down == pytest.approx(M.APERTURE_FLOOR * gap, rel=0.05)
        assert (held_closed[lower] - held_closed[upper]) @ down == pytest.approx(0.0, abs=1e-9)


def test_a_blink_leaves_the_brows_and_the_lid_crease_behind(source):
    """The skin between a lid and its brow unfolds as the lid comes down; it does not travel with it
    (``lid_skin_anchors``). Without the anchors a blink moved the brows by 2.2 px on this 512 px face and
    the skin halfway up to them by as much as the lid itself (mean 0.98 of its travel); with anchors as soft
    as the rest of the face, by 0.70 of it (``skin_stiffness`` holds them as firmly as the lids: 0.26)."""
    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = source.copy()
    for upper, lower in M.LID_PAIRS:
        target[upper] = target[lower] + 0.05 * (target[upper] - target[lower])
    frame = animate_frame(SIZE, source, target, layer, neck)
    assert map_error(frame, target, source, np.arange(17, 27)).max() < 1.5
    uppers = np.array([37, 38, 43, 44])
    travel = np.linalg.norm(source[uppers] - target[uppers], axis=1)
    above = (target[[19, 20, 23, 24]] + target[uppers]) / 2
    assert (np.linalg.norm(sample_map(frame, above) - above, axis=1) / travel).mean() < 0.4
    assert landing_error(frame, target, source, uppers).max() < 0.5


def test_only_a_shutting_lid_holds_its_crease_anchors_firmly(source):
    """A lid that shuts holds its crease anchors as firmly as the lids; one at the photo's gap or wider leaves
    them as soft as the rest of the face; one eye's lids do not stiffen the other's anchors, and the anchors
    below the lower lids stay soft; nor does a lid whose brow is out of its reach (nor is its skin unrolled)."""
    shut, wide = source.copy(), source.copy()
    for upper, lower in M.LID_PAIRS[:2]:                       # the image-left eye shuts
        shut[upper] = shut[lower] + 0.2 * (source[upper] - source[lower])
    for upper, lower in M.LID_PAIRS:                           # both eyes open wider
        wide[upper] = wide[upper] + 0.5 * (source[upper] - source[lower])
    stiff = M.skin_stiffness(source, shut, M.TPS_SMOOTH)
    assert np.allclose(stiff[:2], M.FEATURE_SMOOTH) and np.allclose(stiff[2:], M.TPS_SMOOTH)
    assert np.allclose(M.skin_stiffness(source, wide, M.TPS_SMOOTH), M.TPS_SMOOTH)
    assert np.allclose(M.skin_stiffness(source, source * 1.5, M.TPS_SMOOTH), M.TPS_SMOOTH)   # scale is not shutting
    high = source.copy()                                       # brows far above the lids: out of their reach
    for (upper, lower), brow in zip(M.LID_PAIRS, (19, 20, 23, 24)):
        high[brow] = high[upper] + M.BROW_FAR * (source[upper] - source[lower])
    shut_high = shut.copy()
    shut_high[17:27] = high[17:27]
    assert np.allclose(M.skin_stiffness(high, shut_high, M.TPS_SMOOTH), M.TPS_SMOOTH)
    assert M.lid_strips(high, shut_high, *M.lid_skin_anchors(high, shut_high, np.eye(2)), np.array([0.0, 1.0])) == ()


def test_a_shut_lid_unrolls_the_skin_above_it_evenly(source):
    """Between the crease and a shut upper lid every output row samples its own source row, the lash band at
    the lid keeping its scale (``LidStrip``): the spline alone, turning from the squeeze between the lids to
    the stretch above them, sampled one source row over a band of output rows (vertical streaks) and folded."""
    target = source.copy()
    for upper, lower in M.LID_PAIRS:
        target[upper] = target[lower] + 0.05 * (target[upper] - target[lower])
    motion = M.fit_head_motion(source, target)
    held = M.hold_open(target, source, NeckLine.from_landmarks(source).down)
    _, creases = M.lid_skin_anchors(source, held, np.eye(2))
    for k, upper in enumerate(UPPER_LIDS):
        top, bottom = creases[k], held[upper]
        line = top + np.linspace(0.0, 1.0, 200)[:, None] * (bottom - top)
        along = motion.head_map(line) @ ((bottom - top) / np.linalg.norm(bottom - top))
        slope = np.diff(along) / (np.linalg.norm(bottom - top) / 199)
        assert slope.min() > 0.05


def test_a_shut_lids_stretched_skin_shows_no_streaks(source, monkeypatch):
    """The strip's skin is a few source rows stretched over many output rows, so each column kept its own
    colour down the lid: on this noise-textured face the output varied twice as much along the eye as down it
    there (vertical streaks). Smoothed along the eye (``lid_skin``), it varies no more along than down;
    nothing outside the lid's skin changes."""
    from talkinghead.nodes.animate import animate as A

    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = source.copy()
    for upper, lower in M.LID_PAIRS:
        target[upper] = target[lower] + 0.05 * (target[upper] - target[lower])
    after = animate_frame(SIZE, source, target, layer, neck).image.astype(np.float64)
    monkeypatch.setattr(A, "smooth_shut_lid", lambda image, strip: image)
    before = animate_frame(SIZE, source, target, layer, neck).image.astype(np.float64)
    strips = M.frame_motion(source, target, np.zeros((1, 2)), neck).strips
    assert len(strips) == 2
    ys, xs = np.mgrid[0:SIZE[0], 0:SIZE[1]].astype(np.float64)
    lids = np.zeros(SIZE, bool)
    for strip in strips:
        rel = np.stack([xs, ys], -1) - strip.origin
        u, v = rel @ strip.axis / strip.width, rel @ strip.down
        crease = strip.crease_arc(u)
        bottom = strip.skin_bottom(crease, np.interp(u, strip.u, strip.lid))
        zone = (u > 0.25) & (u < 0.75) & (v > crease + 2) & (v < bottom - 2)
        lids |= (u > -0.05) & (u < 1.05) & (v > crease - 1) & (v < bottom + 1)

        def streaks(image, zone=zone):
            along = np.abs(np.diff(image, axis=1))[zone[:, :-1] & zone[:, 1:]].mean()
            down = np.abs(np.diff(image, axis=0))[zone[:-1] & zone[1:]].mean()
            return along / down

        assert streaks(before) > 1.8 and streaks(after) < 1.3
    assert np.array_equal(after[~lids], before[~lids])


def test_lid_skin_anchors_follow_the_brows_and_the_eye_corners(source):
    """Moved with the whole face, the anchors move with it; moved brows carry the crease anchors only, moved
    lids carry none."""
    m = np.array([[0.9, -0.1], [0.1, 0.9]])
    moved = source @ m.T + [5.0, -3.0]
    src, dst = M.lid_skin_anchors(source, moved, m)
    assert np.allclose(dst, src @ m.T + [5.0, -3.0])
    raised = source.copy()
    raised[17:27] -= [0.0, 4.0]
    raised[[37, 38, 43, 44]] += [0.0, 3.0]
    src, dst = M.lid_skin_anchors(source, raised, np.eye(2))
    assert np.allclose(dst[:4] - src[:4], [0.0, -4.0]) and np.allclose(dst[4:], src[4:])


def test_landmarks_given_in_the_photos_own_frame_land_closer(source):
    """Brows and jaw (outside the eyes and lips) land closer under a lighter regulariser: ``perform_landmarks``
    (the same face's own landmarks) asks for ``portrait.GIVEN_SMOOTH``, ``perform`` (another face's track)
    keeps ``motion.TPS_SMOOTH``."""
    from talkinghead.nodes.animate.portrait import GIVEN_SMOOTH, perform_landmarks

    layer, neck = flat_layer(source), NeckLine.from_landmarks(source)
    target = speaking(source)
    target[17:27] -= 0.03 * neck.height * neck.down            # brows raised, unevenly
    target[[19, 24]] -= 0.02 * neck.height * neck.down
    rest = np.r_[0:17, 17:27]
    smoothed = map_error(animate_frame(SIZE, source, target, layer, neck), target, source, rest)
    given = map_error(animate_frame(SIZE, source, target, layer, neck, smooth=GIVEN_SMOOTH), target, source, rest)
    assert given.mean() < 0.75 * smoothed.mean()
    assert GIVEN_SMOOTH < M.TPS_SMOOTH

    class Bare:                                                  # perform_landmarks needs only these
        landmarks, size = source, SIZE
    assert perform_landmarks(Bare(), target[None], source).smooth == GIVEN_SMOOTH
