"""Mouth interior on drawn mouths: cavity, teeth layers, pressed lips, colour match, source choice."""
from __future__ import annotations

import numpy as np
from animate_faces import TEETH, close_mouth, draw_face, open_mouth, template
from talkinghead.nodes.animate import features as F
from talkinghead.nodes.animate import mouth as M
from talkinghead.nodes.animate.colour_match import lab_stats, match_colour
from talkinghead.nodes.animate.regions import INNER_LIP, OUTER_LIP, polygon_mask
from talkinghead.nodes.animate.teeth import mouth_state, neutral_teeth
from talkinghead.nodes.warping.warp import warp_face


def _inside(lms, size, erode=2):
    import cv2

    m = (polygon_mask(lms[INNER_LIP], size) > 0.5).astype(np.uint8)
    return cv2.erode(m, np.ones((2 * erode + 1,) * 2, np.uint8)) > 0


def test_synthesised_cavity_is_dark_and_the_plate_outside_the_mouth_is_unchanged():
    src = template()
    photo = draw_face(src)
    target = open_mouth(src, 14.0)
    feat = F.prepare(photo, src)
    warped = warp_face(photo, src, target)
    out, report = F.animate_frame(feat, warped, target)
    assert report.mouth == "synth"
    box = M.mouth_box(target, photo.shape[:2])
    x0, y0, x1, y1 = box
    rgb = M.cavity(target, box, feat.mouth)
    inner = _inside(target - [x0, y0], rgb.shape[:2])
    assert rgb[inner].mean() < 0.2                        # dark, shaded cavity
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    for idx in ((36, 42), (42, 48)):                      # the eyes are redrawn too: leave them out here
        lo, hi = target[idx[0]:idx[1]].min(0) - 12, target[idx[0]:idx[1]].max(0) + 12
        outside[int(lo[1]):int(hi[1]), int(lo[0]):int(hi[0])] = False
    np.testing.assert_array_equal(out[outside], warped[outside])
    grey = out.mean(axis=2)
    assert grey[_inside(target, photo.shape[:2])].mean() < grey[~outside].mean()


def test_synthesised_teeth_hang_from_the_upper_lip_and_do_not_stretch():
    src = template()
    feat = F.prepare(draw_face(src), src)
    heights = []
    for amount in (10.0, 20.0):
        target = open_mouth(src, amount)
        box = M.mouth_box(target, (256, 256))
        rgb = M.synth_interior(target, box, feat.mouth)
        bright = rgb.mean(axis=2) > 0.45
        rows = np.flatnonzero(bright.any(axis=1))
        assert len(rows)
        upper_lip_y = target[[61, 62, 63], 1].mean() - box[1]
        assert abs(rows[0] - upper_lip_y) <= 2                # the band starts at the upper lip
        column = bright[rows[0]:, bright.shape[1] // 2]
        heights.append(int(np.argmin(column)) if not column.all() else column.size)   # the upper band's run
    assert abs(heights[0] - heights[1]) <= 2                  # teeth keep their size when the mouth opens more


def test_teeth_shown_in_part_are_drawn_back_behind_their_lip_not_faded():
    """A driver that shows half of its upper teeth: half of the teeth's height shows under the upper lip, as
    opaque as whole teeth (a translucent veil of teeth over the cavity read as a grey slab)."""
    src = template()
    feat = F.prepare(draw_face(src), src)
    target = open_mouth(src, 20.0)
    box = M.mouth_box(target, (256, 256))
    layers = M.photo_teeth(target, feat.mouth)

    def below_upper_lip(share):                              # the interior's middle column, from the lip down
        rgb = M.teeth_interior(target, box, feat.mouth, layers, (share, 0.0))
        top = round(float(target[62, 1])) - box[1]
        return rgb.mean(axis=2)[top:top + 40, (box[2] - box[0]) // 2]

    whole, half, none = below_upper_lip(1.0), below_upper_lip(0.5), below_upper_lip(0.0)
    teeth = whole > 0.45
    shown = half > 0.45
    assert teeth.sum() >= 6 and 0 < shown.sum() < teeth.sum()  # less of the teeth shows ...
    assert half.max() > whole.max() - 0.05                     # ... as bright as whole teeth
    veil = (half > none.max() + 0.05) & ~shown                 # nothing half-way between cavity and teeth
    assert veil.sum() <= 2


def test_neutral_teeth_band_is_light_and_has_both_rows():
    upper, lower = neutral_teeth(40.0, tone=0.8)
    assert upper.rgb.mean() > 0.5 and lower.rgb.mean() > 0.5
    assert upper.alpha[0].max() > 0.9 and lower.alpha[-1].max() > 0.9   # opaque at the lip


def test_pressed_lips_over_a_photo_with_teeth_show_no_teeth():
    src = open_mouth(template(), 12.0)
    photo = draw_face(src, teeth=True)
    assert mouth_state(photo, src) == "teeth"
    target = close_mouth(src)
    feat = F.prepare(photo, src)
    out, report = F.animate_frame(feat, warp_face(photo, src, target), target)
    assert report.mouth == "closed"
    assert mouth_state(out, target) == "closed"
    x0, y0, x1, y1 = M.mouth_box(target, photo.shape[:2])

    def teeth_pixels(image):
        return (((image[y0:y1, x0:x1].astype(int) - [245, 245, 235]) ** 2).sum(axis=2) < 400).sum()

    assert teeth_pixels(warp_face(photo, src, target)) > 0      # the plain warp leaves a strip of teeth
    assert teeth_pixels(out) == 0                                # not one pixel of the photo's teeth is left


def test_smiling_photo_teeth_are_moved_not_stretched_when_the_mouth_opens_wide():
    src = open_mouth(template(), 8.0)
    photo = draw_face(src, teeth=True)
    target = open_mouth(src, 20.0)
    feat = F.prepare(photo, src)
    assert feat.mouth.teeth is not None
    out, _ = F.animate_frame(feat, warp_face(photo, src, target), target)
    inner = _inside(target, photo.shape[:2])
    grey = out.mean(axis=2)
    assert (grey[inner] > 200).mean() < 0.8      # not all teeth: the extra opening is cavity
    assert (grey[inner] < 80).mean() > 0.2


def test_a_smile_that_shows_only_its_upper_teeth_keeps_them_whole_when_the_mouth_opens():
    src = open_mouth(template(), 8.0)
    photo = draw_face(src, teeth=True)           # upper teeth filling the opening down to the lower lip
    target = open_mouth(src, 20.0)
    feat = F.prepare(photo, src)
    out, _ = F.animate_frame(feat, warp_face(photo, src, target), target)
    x = round(float(target[[62, 66], 0].mean()))
    top, bottom = int(np.ceil(target[62, 1])), int(np.floor(target[66, 1]))
    teeth = out[top:bottom + 1, x].mean(axis=1) > 200
    rows = np.flatnonzero(teeth)
    assert len(rows) and rows[0] <= 2                               # hung from the upper lip ...
    assert np.all(np.diff(rows) == 1)                               # ... in one piece (not split in two rows)
    assert len(rows) >= 0.8 * (src[66, 1] - src[62, 1])             # ... as tall as the photo shows them
    assert not teeth[-4:].any()                                     # nothing of them stands on the lower lip


def test_teeth_rows_that_meet_in_the_middle_split_where_their_gap_runs_elsewhere():
    """Two rows of teeth with a dark gap between them, except in the middle where they meet (a bite): the
    middle columns split at the gap's height, as their neighbours do; taken whole into the upper layer, a
    block of lower teeth hung from the upper lip and left a hole in the lower row (a checkerboard once the
    rows moved apart, lia_macron x lp_d6). A run from lip to lip in most columns stays whole (a smile)."""
    from talkinghead.nodes.animate.teeth import teeth_split

    w, upper_y, lower_y = 60, np.full(60, 10.0), np.full(60, 30.0)
    bite = np.zeros((40, w), bool)
    bite[10:31] = True
    bite[19:22, :22] = bite[19:22, 38:] = False          # the gap, rows 19-21, but for columns 22-37
    split = teeth_split(bite, upper_y, lower_y)
    assert np.abs(split - 19.0).max() < 1.0
    smile = np.zeros((40, w), bool)
    smile[10:31] = True
    smile[19:22, 50:] = False                             # a gap at one corner only
    assert (teeth_split(smile, upper_y, lower_y)[:45] > 30.0).all()


def test_only_teeth_rooted_on_a_lip_are_teeth():
    """Upper teeth hanging from the upper lip, lower teeth standing on the lower one, and a light blob
    floating between them (a pale tongue's highlight passes the teeth test: lp_d6 frame 120 drew white
    blobs mid-mouth): each row keeps its own teeth, the blob is in neither."""
    import cv2
    from talkinghead.nodes.animate.regions import LOWER_INNER, UPPER_INNER, polyline_at
    from talkinghead.nodes.animate.teeth import lip_halves, rooted_teeth

    lms = open_mouth(template(), 24.0)
    size = (256, 256)
    inside = polygon_mask(lms[INNER_LIP], size) > 0.5
    rows, cols = np.arange(256)[:, None], np.arange(256)
    top, bottom = polyline_at(lms[UPPER_INNER], cols)[None], polyline_at(lms[LOWER_INNER], cols)[None]
    middle = (cols > lms[61, 0]) & (cols < lms[63, 0])            # where the lips are far apart
    upper_band, lower_band = inside & (rows - top < 5) & middle, inside & (bottom - rows < 5) & middle
    blob = np.zeros(size, np.uint8)
    centre = lms[[62, 66]].mean(0)
    cv2.circle(blob, (round(centre[0]), round(centre[1])), 3, 1, -1)
    blob = blob.astype(bool) & inside
    assert blob.sum() > 10 and not (blob & (upper_band | lower_band)).any()
    teeth = upper_band | lower_band | blob
    upper, lower = rooted_teeth(teeth, lms, lip_halves(size, lms, teeth))
    assert not (upper | lower)[blob].any()
    assert upper[upper_band].mean() > 0.95 and lower[lower_band].mean() > 0.95
    assert not upper[lower_band].any() and not lower[upper_band].any()


def test_the_plate_closes_the_teeth_and_keeps_a_lit_lower_lip():
    import cv2
    from talkinghead.nodes.animate.plate import close_apertures

    src = open_mouth(template(), 8.0)
    photo = draw_face(src, teeth=True)
    size = photo.shape[:2]
    inner = polygon_mask(src[INNER_LIP], size)
    lips = (polygon_mask(src[OUTER_LIP], size) > 0.5) & (inner < 0.01)
    photo[lips] = (195, 130, 130)                                   # pink lips ...
    highlight = lips & (np.arange(size[0])[:, None] > src[66, 1] + 1)
    photo[highlight] = (225, 175, 170)                              # ... the lower one lit: light and pale
    plate = close_apertures(photo, src)
    keep = cv2.erode(highlight.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert keep.sum() >= 20
    assert np.abs(plate[keep].astype(int) - photo[keep]).max() <= 2  # the lip stays
    teeth = cv2.erode((inner > 0.99).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert plate[teeth].mean(axis=1).max() < 230                    # the teeth are closed over


def test_colour_match_moves_the_interior_statistics_to_the_sources():
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(0.3, 0.08, (40, 40, 3)), 0, 1).astype(np.float32)
    reference = np.clip(rng.normal(0.6, 0.05, (40, 40, 3)) * [1.0, 0.8, 0.7], 0, 1).astype(np.float32)
    mask = np.ones((40, 40), np.float32)
    out = match_colour(image, mask, reference, mask)
    (m_out, s_out), (m_ref, s_ref) = lab_stats(out, mask), lab_stats(reference, mask)
    np.testing.assert_allclose(m_out, m_ref, atol=1.0)
    np.testing.assert_allclose(s_out, s_ref, atol=1.0)


def test_driver_interior_is_used_and_takes_the_photos_light():
    src = template()
    photo = draw_face(src)
    drv_lms = open_mouth(template(), 14.0)
    driver = (draw_face(drv_lms, teeth=True).astype(np.float32) * 0.5).astype(np.uint8)   # a darker clip
    target = open_mouth(src, 14.0)
    feat = F.prepare(photo, src)
    out, report = F.animate_frame(feat, warp_face(photo, src, target), target, interior=(driver, drv_lms))
    assert report.mouth == "driver"
    inner = _inside(target, photo.shape[:2])
    assert out[inner].mean() > driver[_inside(drv_lms, driver.shape[:2])].mean() + 40   # brightened to the photo


def test_choose_prefers_own_frames_then_the_driver_then_synthesis_and_counts_covered_mouths():
    src = template()
    target = open_mouth(src, 14.0)
    own = np.array([open_mouth(src, 15.0)])
    assert M.choose(target, own, True, False) == "own"
    assert M.choose(target, np.array([src]), True, False) == "driver"
    assert M.choose(target, None, False, False) == "synth"
    assert M.choose(close_mouth(src), None, True, False) == "closed"
    assert M.choose(target, own, True, True) == "fallback"


def test_an_own_frames_mouth_brings_its_lips_and_is_relit_to_the_photo():
    """The own frame whose mouth matches the target gives the whole mouth, lips and interior together (the
    photo's lips stretched around another frame's interior do not match it), in the photo's light."""
    import cv2

    src = template()
    photo = draw_face(src)
    target = open_mouth(src, 14.0)
    own_lms = open_mouth(src, 15.0)
    own = draw_face(own_lms, teeth=True)
    lips = (polygon_mask(own_lms[OUTER_LIP], own.shape[:2]) > 0.5) & ~(polygon_mask(own_lms[INNER_LIP], own.shape[:2]) > 0.5)
    own[lips] = (120, 50, 110)                                  # this frame's lips, another colour
    dim = (own.astype(np.float32) * 0.7).astype(np.uint8)       # ... under a dimmer light
    feat = F.prepare(photo, src, own=[(dim, own_lms)])
    out, report = F.animate_frame(feat, warp_face(photo, src, target), target)
    assert report.mouth == "own"
    size = photo.shape[:2]
    ring = (polygon_mask(target[OUTER_LIP], size) > 0.99) & ~(polygon_mask(target[INNER_LIP], size) > 0.01)
    ring = cv2.erode(ring.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert ring.sum() > 100
    np.testing.assert_allclose(out[ring].mean(0), (120, 50, 110), atol=12)       # the own lips, relit
    assert np.abs(out[_inside(target, size)].astype(float) - (245, 245, 235)).mean() < 20   # and its teeth


def test_an_own_frame_is_taken_only_when_it_shows_teeth_as_the_driver_does():
    """Of two own frames with the target's mouth shape, the one showing teeth as the driver does is taken; a
    dark opening of the right shape is not the driver's smile (nor teeth its dark "O")."""
    src = template()
    photo = draw_face(src)
    target = open_mouth(src, 14.0)
    dark_lms, teeth_lms = open_mouth(src, 14.5), open_mouth(src, 16.0)      # the dark one matches best
    own = [(draw_face(dark_lms), dark_lms), (draw_face(teeth_lms, teeth=True), teeth_lms)]
    feat = F.prepare(photo, src, own=own)
    np.testing.assert_array_equal(feat.own_teeth.max(axis=1) >= M.SHOWS_TEETH, [False, True])
    lms = np.array([dark_lms, teeth_lms])
    assert M.own_match(lms, target) == 0
    assert M.own_match(lms, target, M.OWN_GATE, feat.own_teeth, np.array([1.0, 0.6])) == 1
    assert M.own_match(lms, target, M.OWN_GATE, feat.own_teeth, np.zeros(2)) == 0
    assert M.choose(target, lms[:1], True, False, feat.own_teeth[:1], np.array([1.0, 0.6])) == "driver"
    out, report = F.animate_frame(feat, warp_face(photo, src, target), target, teeth=np.array([1.0, 0.6]))
    assert report.mouth == "own"
    assert out[_inside(target, photo.shape[:2])].mean() > 200                  # the own frame's teeth


def test_the_driver_pass_flags_a_covered_mouth():
    from talkinghead.nodes.animate.driver_measures import measure_driver

    lms = template()
    frames = [draw_face(lms) for _ in range(8)]
    covered = frames[5].copy()
    lips = polygon_mask(lms[OUTER_LIP], covered.shape[:2]) > 0
    covered[lips] = (200, 160, 140)       # a hand over the mouth: skin where the lips were
    frames[5] = covered
    flags = measure_driver(iter(frames), np.array([lms] * 8), np.ones(8, bool), 25.0).mouth_covered
    assert flags.tolist() == [False] * 5 + [True] + [False] * 2


def test_neutral_teeth_take_the_light_and_hue_of_the_skin():
    """Without teeth of its own, the photo's neutral teeth are lit as its skin: brighter than it
    (``TEETH_OF_SKIN``), darker in a darker photo, and warm under a warm light (not a grey that reads blue
    beside warm skin). They were the eye whites' colour: on small faces the lids shade the eye whites, and
    the teeth came out a dark grey band."""
    from talkinghead.nodes.animate.regions import EYES
    from talkinghead.nodes.animate.teeth import TEETH_OF_SKIN, skin_colour

    src = template()
    neutral = draw_face(src)
    for idx in EYES:                                                     # eye whites in the lids' shade
        shaded = polygon_mask(src[idx], neutral.shape[:2]) > 0.5
        neutral[shaded] = neutral[shaded] // 2
    warm = np.clip(neutral * np.array([1.0, 0.85, 0.7]), 0, 255).astype(np.uint8)
    dark = (neutral * 0.6).astype(np.uint8)
    target = open_mouth(src, 20.0)
    luma = np.array([0.299, 0.587, 0.114])
    fronts = {}
    for name, photo in (("neutral", neutral), ("warm", warm), ("dark", dark)):
        upper, _ = M.photo_teeth(target, F.prepare(photo, src).mouth)
        fronts[name] = upper.rgb[upper.alpha > 0.5].max(0)
        skin = skin_colour(photo, src)
        assert abs(fronts[name] @ luma - min(TEETH_OF_SKIN * skin @ luma, 1.0)) < 0.1   # the skin's light
    assert fronts["dark"] @ luma < 0.7 * fronts["neutral"] @ luma
    ratio = lambda c: c[0] / c[2]
    assert ratio(fronts["warm"]) > 1.15 * ratio(fronts["neutral"])                 # the light's hue
    assert ratio(fronts["neutral"]) < ratio(skin_colour(neutral, src))             # paler than the skin


def test_lips_that_meet_keep_their_own_line():
    """A photo whose lips meet, or nearly, keeps its own lip line when the target's lips meet too: the dark
    line between them is the junction that closed lips show. The plate inpainted a band around it, and every
    closed frame showed that smear instead of the photo's lips (self-reenactment mouth SSIM on lp_d14: .861,
    .887 without it)."""
    from dataclasses import replace

    from talkinghead.nodes.animate.plate import lips_meet

    src = close_mouth(template())
    src[[65, 66, 67]] += [0.0, 1.5]                                    # lips 1.5 px apart: a dark line
    rng = np.random.default_rng(0)                                     # textured lips: inpainting cannot redo them
    photo = np.clip(draw_face(src).astype(int) + rng.integers(-25, 26, (256, 256, 1)), 0, 255).astype(np.uint8)
    assert lips_meet(photo, src)
    feat = F.prepare(photo, src)
    out, report = F.animate_frame(feat, photo.copy(), src)             # the target is the photo itself
    assert report.mouth == "closed"
    smeared, _ = F.animate_frame(replace(feat, lips_meet=False), photo.copy(), src)   # through the plate
    lips = polygon_mask(src[OUTER_LIP], photo.shape[:2]) > 0.5
    kept = np.abs(out[lips].astype(int) - photo[lips]).mean()
    assert kept < 0.5 * np.abs(smeared[lips].astype(int) - photo[lips]).mean()
    opened = open_mouth(template(), 14.0)                              # an open mouth is closed by the plate
    assert not lips_meet(draw_face(opened), opened)


def test_a_drivers_teeth_take_the_photos_light_not_its_lip_colour():
    """A driver's teeth drawn into a photo without teeth are relit by the light on the two faces' skin: a
    photo exposed darker gets darker teeth, and its deep-red lips do not tint them (relit by the ratio of
    the lips' colours, they turned salmon and read as lips)."""
    from talkinghead.nodes.animate.teeth import lip_mask

    src = template()
    photo = draw_face(src)
    photo[lip_mask(photo.shape[:2], src) > 0.5] = (150, 20, 40)          # deep-red lips
    photo = (photo * 0.7).astype(np.uint8)                                # and less light on the face
    feat = F.prepare(photo, src)
    assert feat.mouth.teeth is None
    target = open_mouth(src, 14.0)
    driver = draw_face(target, teeth=True)                                # the driver shows its teeth
    upper, _ = M.driver_teeth_layers(driver, target, feat.mouth)
    teeth = upper.rgb[upper.alpha > 0.5]
    assert len(teeth)
    colour = teeth.mean(0)
    assert colour.max() / colour.min() < 1.15                             # still teeth-white, not red
    luma = np.array([0.299, 0.587, 0.114])
    assert abs(colour @ luma - 0.7 * (np.array(TEETH) / 255) @ luma) < 0.06   # the photo's exposure


def test_a_drivers_teeth_in_a_black_and_white_photo_are_grey():
    """A colour driver's teeth drawn into a monochrome photo carry no colour (they came in pink)."""
    src = template()
    photo = draw_face(src).mean(axis=2, keepdims=True).repeat(3, axis=2).astype(np.uint8)
    feat = F.prepare(photo, src)
    target = open_mouth(src, 14.0)
    driver = draw_face(target, teeth=True)
    driver[..., 0] = np.clip(driver[..., 0].astype(int) + 10, 0, 255)   # a warm, pinkish light on the driver
    upper, _ = M.driver_teeth_layers(driver, target, feat.mouth)
    teeth = upper.rgb[upper.alpha > 0.5]
    assert len(teeth) and np.ptp(teeth, axis=1).max() < 1e-6
    coloured, _ = M.driver_teeth_layers(driver, target, F.prepare(draw_face(src), src).mouth)
    assert np.ptp(coloured.rgb[coloured.alpha > 0.5], axis=1).max() > 0.02     # a colour photo keeps colour


def test_a_large_photos_mouth_is_measured_in_its_box():
    """The photo's mouth is measured on the mouth and the nose only: the same measures as on the whole photo,
    and no whole-frame Lab or luma copy (a 3,000 px photo spent 2.5 s on them)."""
    import tracemalloc

    lms = template()
    small = draw_face(lms, teeth=True)
    big = np.zeros((3000, 3000, 3), np.uint8)
    big[1000:1256, 1200:1456] = small
    found = M.analyse_source(small, lms)
    tracemalloc.start()
    try:
        measured = M.analyse_source(big, lms + [1200, 1000])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * big.nbytes, peak               # before: float copies of the whole frame (> 4 x its bytes)
    np.testing.assert_allclose(measured.lip_rgb, found.lip_rgb, atol=1e-6)
    np.testing.assert_allclose(measured.skin, found.skin, atol=1e-6)
    assert measured.teeth is not None and found.teeth is not None
    for a, b in zip(measured.teeth, found.teeth):
        np.testing.assert_array_equal(a.alpha, b.alpha)
        np.testing.assert_allclose(a.anchors, b.anchors)
