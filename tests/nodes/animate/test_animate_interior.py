"""What the driver's mouth asks for (teeth shown, darkness) and how the interior answers it; a round "O";
eyelids refined onto a lid contour; the one pass over a driver's frames."""
from __future__ import annotations

import numpy as np
from animate_faces import SKIN, draw_face, open_mouth, template
from talkinghead.nodes.animate import features as F
from talkinghead.nodes.animate import mouth as M
from talkinghead.nodes.animate.driver_measures import measure_driver, smooth_teeth
from talkinghead.nodes.animate.iris import refine_eyelids
from talkinghead.nodes.animate.regions import (
    EYES,
    INNER_LIP,
    eye_opening,
    polygon_area,
    polygon_mask,
    smooth_closed,
)
from talkinghead.nodes.animate.teeth import interior_darkness, teeth_visibility


def test_teeth_visibility_and_darkness_read_a_drawn_mouth():
    lms = open_mouth(template(), 14.0)
    dark = draw_face(lms)                     # a dark interior
    teeth = draw_face(lms, teeth=True)        # teeth fill the opening
    assert teeth_visibility(dark, lms).max() == 0 and interior_darkness(dark, lms) == 1.0
    assert teeth_visibility(teeth, lms).min() == 1.0 and interior_darkness(teeth, lms) == 0.0
    lip_strip = draw_face(lms)
    inner = polygon_mask(lms[INNER_LIP], lip_strip.shape[:2]) > 0.3
    lip_strip[inner] = (170, 60, 70)         # parted lips with only lip colour between them
    assert interior_darkness(lip_strip, lms) == 0.0 and teeth_visibility(lip_strip, lms).max() == 0


def test_the_driver_decides_whether_the_photos_own_teeth_show():
    src = open_mouth(template(), 10.0)
    photo = draw_face(src, teeth=True)        # the photo smiles with its teeth
    feat = F.prepare(photo, src)
    assert feat.mouth.teeth is not None
    target = open_mouth(template(), 16.0)
    box = M.mouth_box(target, photo.shape[:2])
    inner = polygon_mask((target - box[:2])[INNER_LIP], (box[3] - box[1], box[2] - box[0])) > 0.99
    without = M.driver_interior(draw_face(target), target, target, box, feat.mouth)
    with_teeth = M.driver_interior(draw_face(target, teeth=True), target, target, box, feat.mouth)
    assert without[inner].mean() < 0.2                             # a dark cavity: no teeth
    assert with_teeth[inner].mean() > without[inner].mean() + 0.25  # the photo's own (white) teeth
    light = M.cavity(target, box, feat.mouth, dark=0.0)
    assert light[inner].mean() > M.cavity(target, box, feat.mouth, dark=1.0)[inner].mean()


def test_an_o_is_round_not_an_octagon():
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    octagon = np.stack([50 + 20 * np.cos(angles), 50 + 20 * np.sin(angles)], 1)
    curve = smooth_closed(octagon)
    assert np.min(np.linalg.norm(curve[:, None] - octagon[None], axis=2), axis=0).max() < 1e-9   # through the points
    radii = np.linalg.norm(curve - 50, axis=1)
    assert radii.max() - radii.min() < 0.5                         # round: the octagon's edges bulge out
    assert abs(polygon_area(curve) - np.pi * 400) < 0.02 * np.pi * 400


def test_an_open_mouth_is_darker_and_redder_than_its_lips():
    """A mouth's inside takes the lips' hue, deepened: real open mouths without teeth (lp_d3) are darker and
    redder than their lips. The lips' own colour scaled down read as a grey-mauve cut-out on the demo's
    wide-open frames."""
    src = template()
    feat = F.prepare(draw_face(src), src)
    target = open_mouth(template(), 20.0)
    box = M.mouth_box(target, (256, 256))
    rgb = M.cavity(target, box, feat.mouth)
    inside = rgb[polygon_mask((target - box[:2])[INNER_LIP], rgb.shape[:2]) > 0.99]
    lips = feat.mouth.lip_rgb
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    assert inside.mean(0) @ luma < 0.4 * float(lips @ luma)                                  # dark
    assert np.median(inside[:, 0] / np.maximum(inside[:, 1], 1e-6)) > 1.3 * float(lips[0] / lips[1])   # redder


def test_a_wide_open_mouths_tongue_has_no_edge_to_read_as_the_lower_lip():
    """The tongue's back is a soft glow: three quarters of the way down a wide-open cavity it is no lighter than
    halfway between the cavity's darkest and its shade at the upper lip. With an edge (sigma 0.08 of the gap)
    it filled the bottom third with lip-bright shade, and the demo's re-detected mouth opening followed the
    driver's at r .943 (.962 soft, the plain warp .956)."""
    src = template()
    feat = F.prepare(draw_face(src), src)
    target = open_mouth(template(), 30.0)
    box = M.mouth_box(target, (256, 256))
    luma = M.cavity(target, box, feat.mouth) @ np.array([0.299, 0.587, 0.114], np.float32)
    x = round(float(target[66, 0]) - box[0])
    top, bottom = float(target[62, 1]) - box[1], float(target[66, 1]) - box[1]
    column = luma[int(np.ceil(top)):int(bottom) + 1, x]
    darkest, rim = float(column.min()), float(column[0])
    assert luma[round(top + 0.75 * (bottom - top)), x] <= darkest + 0.5 * (rim - darkest)


def test_refined_lids_sit_on_the_lid_contour_and_keep_the_corners():
    lms = template()
    out_lms = lms.copy()
    contours = []
    for eye, idx in enumerate(EYES):
        p = lms[idx]
        ts = np.linspace(0, 1, 9)
        line = p[0] + ts[:, None] * (p[3] - p[0])
        bump = np.sin(np.pi * ts)[:, None] * np.array([0.0, 1.0])
        upper, lower = line - 9.0 * bump, line + 6.0 * bump           # lids farther apart than dlib's points
        contours.append((upper, lower))
    out_lms = refine_eyelids(lms, contours)
    for eye, idx in enumerate(EYES):
        np.testing.assert_allclose(out_lms[idx[[0, 3]]], lms[idx[[0, 3]]])
        assert eye_opening(out_lms, eye) > eye_opening(lms, eye)
    far = [(c[0] - 50.0, c[1] + 50.0) for c in contours]            # a contour far off: dlib's points are kept
    np.testing.assert_allclose(refine_eyelids(lms, far), lms)
    squeezed = []                                                   # a contour around the iris only: kept too
    for eye, idx in enumerate(EYES):
        p = lms[idx]
        ts = np.linspace(0, 1, 9)
        line = p[0] + ts[:, None] * (p[3] - p[0])
        bump = np.sin(np.pi * ts)[:, None] * np.array([0.0, 1.0])
        half_gap = 0.5 * eye_opening(lms, eye) * np.linalg.norm(p[3] - p[0])
        squeezed.append((line - 0.3 * half_gap * bump, line + 0.3 * half_gap * bump))
    np.testing.assert_allclose(refine_eyelids(lms, squeezed), lms)


def test_one_pass_over_the_driver_measures_teeth_darkness_and_keeps_frames():
    lms = template()
    frames = [draw_face(open_mouth(lms, 14.0), teeth=k >= 4) for k in range(8)]
    track = np.array([open_mouth(lms, 14.0)] * 8)
    m = measure_driver(iter(frames), track, np.ones(8, bool), 25.0, keep=(2,))
    assert m.teeth[:3].max() < 0.3 and m.teeth[5:].min() > 0.7      # smoothed, but it follows the driver
    assert m.dark[:3].min() > 0.7 and m.dark[5:].max() < 0.3
    assert set(m.kept) == {2} and m.kept[2] is frames[2]
    none = measure_driver(None, track, np.ones(8, bool), 25.0)
    assert none.teeth is None and none.gaze is None
    flicker = smooth_teeth(np.array([[0.0], [1.0], [0.0], [0.0], [0.0]]), np.ones(5, bool))
    assert flicker.max() < 0.3                                        # a one-frame flash does not show


def _parted(lms: np.ndarray, gap: float) -> np.ndarray:
    """``lms`` with the lower inner lip ``gap`` px under the upper inner lip."""
    out = lms.copy()
    out[[67, 66, 65]] = out[[61, 62, 63]] + [0.0, gap]
    return out


def test_a_parted_mouth_too_small_to_show_its_teeth_takes_the_photos():
    """A driver whose lips part by 2.5 px (a small or low-resolution face) reads dark whatever it holds: the
    photo's own teeth prior decides there; from 8 px the driver's measure alone; closed lips show none."""
    lms = template()
    for gap, expect in ((2.5, 1.0), (14.0, 0.0), (0.0, 0.0)):
        track = np.array([_parted(lms, gap)] * 5)
        frames = [draw_face(track[0])] * 5                            # a dark interior, no teeth seen
        measured = measure_driver(iter(frames), track, np.ones(5, bool), 25.0)
        prior = measure_driver(iter(frames), track, np.ones(5, bool), 25.0, teeth_prior=np.array([1.0, 0.4]))
        assert measured.teeth.max() == 0.0
        np.testing.assert_allclose(prior.teeth[:, 0], expect, atol=1e-6)
        assert prior.teeth[:, 1].max() <= 0.4 + 1e-6


def test_skin_colour_is_what_the_drawn_faces_use():
    assert SKIN == (200, 160, 140)      # the detectors above take the nose as their skin reference


def _row_of_teeth(lms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A driver whose upper teeth run the mouth's whole width: pale and bright in the middle third, warm and
    in shade (as saturated as the skin, darker) at the sides, over a dark cavity in the middle, and the wet
    inner edge of the lower lip (lighter than the cavity, redder than the skin) under the side teeth. Returns
    the image and the (H, W) bool masks of the side teeth and of the lip's edge."""
    from talkinghead.nodes.animate.regions import LOWER_INNER, UPPER_INNER, polyline_at

    image = draw_face(lms)
    h, w = image.shape[:2]
    inner = polygon_mask(lms[INNER_LIP], (h, w)) > 0.99
    cols = np.arange(w)
    top, bottom = polyline_at(lms[UPPER_INNER], cols), polyline_at(lms[LOWER_INNER], cols)
    rows = np.arange(h)[:, None]
    left, right = lms[60, 0], lms[64, 0]
    middle = (cols > left + (right - left) / 3) & (cols < right - (right - left) / 3)
    teeth = inner & (rows < top + 0.6 * (bottom - top))
    edge = inner & ~teeth & ~middle[None] & (rows >= bottom - 0.25 * (bottom - top))
    sides = teeth & ~middle[None]
    image[teeth & middle[None]] = (245, 245, 235)
    image[sides] = (165, 135, 120)         # saturation 0.27: under the skin's 0.30, over teeth_mask's 0.85 x it
    image[~teeth & inner & ~edge] = (30, 12, 12)
    image[edge] = (190, 80, 85)
    return image, sides, edge


def test_a_row_of_teeth_in_shade_is_taken_whole_and_the_lips_edge_is_not():
    """A driver's teeth layer holds the whole row: the teeth test alone takes only the pale, bright middle
    (lp_d3 under a warm light: a full row drawn as two or three white pieces over the cavity); the grown
    mask stops at the lower lip's wet edge, redder than the skin."""
    from talkinghead.nodes.animate.regions import box_around
    from talkinghead.nodes.animate.teeth import teeth_mask

    target = open_mouth(template(), 16.0)
    driver, sides, edge = _row_of_teeth(target)
    assert not teeth_mask(driver, target)[sides].any()               # the plain teeth test misses the sides
    feat = F.prepare(draw_face(template()), template())
    upper, lower = M.driver_teeth_layers(driver, target, feat.mouth)
    x0, y0, _, _ = box_around(target[np.r_[28:36, 48:60]], driver.shape[:2], grow=0.1)   # the layers' window
    shown = np.zeros(driver.shape[:2], np.float32)
    shown[y0:y0 + upper.alpha.shape[0], x0:x0 + upper.alpha.shape[1]] = np.maximum(upper.alpha, lower.alpha)
    assert (shown[sides] > 0.5).mean() > 0.9                          # the side teeth are in the layer
    assert (shown[edge] > 0.5).mean() < 0.05                          # the lip's edge is not


def test_a_small_drivers_teeth_give_way_to_the_photos_band():
    """A driver's mouth under ``DRIVER_TEETH_PX`` wide holds no tooth's shape (lia_vox3's, 28 px: a white blob
    drawn into lia_taylor's mouth): the interior takes the photo's band, with the driver's teeth shown
    and darkness; a larger driver's own teeth are drawn."""
    src = template()
    feat = F.prepare(draw_face(src), src)
    assert feat.mouth.teeth is None
    target = open_mouth(src, 16.0)
    box = M.mouth_box(target, (256, 256))
    band = M.teeth_interior(target, box, feat.mouth, M.photo_teeth(target, feat.mouth), np.ones(2), 1.0)
    small = (target - 128) * 0.5 + 128
    assert np.linalg.norm(small[64] - small[60]) < M.DRIVER_TEETH_PX <= np.linalg.norm(target[64] - target[60])
    for lms, same in ((small, True), (target, False)):
        drawn = M.driver_interior(draw_face(lms, teeth=True), lms, target, box, feat.mouth, np.ones(2), 1.0)
        assert np.allclose(drawn, band) == same
