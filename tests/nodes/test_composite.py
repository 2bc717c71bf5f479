"""Composite: pasting crops back through the inverse crop transform, feathered matte, alpha, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from talkinghead.nodes.composite import Composite, check_plate, face_matte, paste, with_alpha
from talkinghead.nodes.generate import GeneratedFrame
from talkinghead.runtime.errors import BadInputError


def smooth_plate(h: int = 120, w: int = 160) -> np.ndarray:
    """A smooth RGB uint8 image (bilinear resampling of it is nearly exact)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([128 + 100 * np.sin(x / 17.0), 128 + 100 * np.cos(y / 13.0), (x + y) % 256 * 0.5 + 60], -1)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def face_landmarks(size: int) -> np.ndarray:
    """68 points roughly where a face sits in a crop of side ``size`` (jaw, brows, nose, eyes, mouth)."""
    t = np.linspace(np.pi, 0, 17)
    jaw = np.stack([0.5 + 0.32 * np.cos(t), 0.45 + 0.35 * np.sin(t)], -1)
    brows = np.stack([np.linspace(0.25, 0.75, 10), np.full(10, 0.35)], -1)
    rest = np.stack([np.full(41, 0.5), np.linspace(0.4, 0.75, 41)], -1)
    return (np.concatenate([jaw, brows, rest]) * size).astype(np.float32)


def test_round_trip_integer_translation_is_exact_inside_the_matte():
    plate = smooth_plate()
    s, x0, y0 = 64, 40, 30
    matrix = np.array([[1, 0, -x0], [0, 1, -y0]], np.float64)
    crop = plate[y0:y0 + s, x0:x0 + s].copy()
    matte = face_matte(s, face_landmarks(s))
    black = np.zeros_like(plate)
    out, alpha = paste(black, crop, matrix, matte)
    inside = alpha >= 0.998  # close enough to 1 that rounding gives the crop's value
    assert inside.sum() > 0.15 * s * s
    np.testing.assert_array_equal(out[inside], plate[inside])
    assert (out[alpha == 0] == 0).all()
    assert alpha[:y0].max() == 0 and alpha[:, :x0].max() == 0  # nothing outside the crop square
    np.testing.assert_allclose(alpha[y0:y0 + s, x0:x0 + s], matte, atol=1e-6)


def test_round_trip_through_crop_image_with_rotation_and_scale():
    from talkinghead.nodes.sketch import crop_image

    plate = smooth_plate()
    angle, scale, s = np.deg2rad(12), 1.3, 64
    c, d = np.cos(angle) * scale, np.sin(angle) * scale
    matrix = np.array([[c, d, -60 * c - 40 * d + 10], [-d, c, 60 * d - 40 * c + 12]], np.float64)
    crop = np.asarray(crop_image(plate, matrix, s))
    assert crop.shape == (s, s, 3)
    out, alpha = paste(np.zeros_like(plate), crop, matrix, face_matte(s, mode="square"))
    inside = alpha >= 0.998
    assert inside.sum() > 500
    err = np.abs(out[inside].astype(int) - plate[inside].astype(int))
    assert err.mean() < 1.5 and err.max() <= 12


def test_matte_is_feathered_hull_within_square():
    s = 96
    lms = face_landmarks(s)
    hull = face_matte(s, lms)
    square = face_matte(s, mode="square")
    assert hull.dtype == np.float32 and hull.shape == (s, s)
    assert hull.max() == pytest.approx(1.0) and hull.min() == 0.0
    nose = lms[30].astype(int)
    assert hull[nose[1], nose[0]] == pytest.approx(1.0)
    assert hull[2, 2] == 0 and hull[s - 3, 2] == 0  # corners outside the face
    assert ((hull > 0.05) & (hull < 0.95)).sum() > 2 * s  # a soft edge, not a hard cut
    assert (hull <= square + 1e-6).all()
    forehead = hull[int(0.2 * s), s // 2]
    assert forehead > 0.5  # the hull reaches above the brows (y = 0.35 S)
    with pytest.raises(BadInputError):
        face_matte(s, None, mode="hull")


def test_alpha_channel_matches_the_warped_matte():
    plate = smooth_plate()
    s = 64
    matrix = np.array([[1, 0, -40], [0, 1, -30]], np.float64)
    crop = np.full((s, s, 3), 200, np.uint8)
    out, alpha = paste(plate, crop, matrix, face_matte(s, face_landmarks(s)))
    rgba = with_alpha(out, alpha)
    assert rgba.shape == (*plate.shape[:2], 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., :3], out)
    np.testing.assert_array_equal(rgba[..., 3], np.rint(alpha * 255).astype(np.uint8))
    # premultiplied relation: out = plate (1 - a) + 200 a
    expected = plate.astype(np.float32) * (1 - alpha[..., None]) + 200 * alpha[..., None]
    assert np.abs(out.astype(np.float32) - expected).max() <= 0.5 + 1e-4
    assert with_alpha(out.astype(np.float32) / 255, alpha)[..., 3].max() == pytest.approx(alpha.max())


def test_mismatched_plate_size_names_file_and_frame():
    s = 32
    item = GeneratedFrame(7, np.zeros((s, s, 3), np.uint8), np.array([[1, 0, 0], [0, 1, 0]], float), True,
                          face_landmarks(s))
    stream = Composite().run(None, frames=[item], plate=np.zeros((50, 60, 3), np.uint8), expected_size=(40, 60),
                             where="plate.png")["frames"]
    with pytest.raises(BadInputError, match=r"plate\.png, frame 7: plate is 60x50 .* 60x40"):
        next(stream)
    with pytest.raises(BadInputError, match="RGB"):
        check_plate(np.zeros((40, 60), np.uint8), (40, 60), "p.png")
    with pytest.raises(BadInputError, match="crop"):
        paste(np.zeros((40, 60, 3), np.uint8), np.zeros((s, s + 1, 3), np.uint8), item.matrix,
              np.ones((s, s), np.float32))


def test_composite_node_streams_plate_callable():
    plate = smooth_plate()
    s = 48
    items = [GeneratedFrame(n, np.full((s, s, 3), 10 * n, np.uint8), np.array([[1, 0, -20], [0, 1, -10]], float),
                            True, face_landmarks(s)) for n in (1, 2)]
    seen = []

    def plate_for(n: int) -> np.ndarray:
        seen.append(n)
        return plate

    out = list(Composite().run(None, frames=iter(items), plate=plate_for, expected_size=plate.shape[:2])["frames"])
    assert [o[0] for o in out] == [1, 2] and seen == [1, 2]
    centre = (10 + s // 2, 20 + s // 2)
    assert out[0][1][centre].tolist() == [10, 10, 10] and out[1][1][centre].tolist() == [20, 20, 20]


def test_hull_covers_the_source_face_too():
    """The matte covers the source face as well, so the plate's own face never peeks out beside a moved head."""
    s = 96
    moved = face_landmarks(s) * 0.6 + [0.0, 10.0]  # generated head: smaller, towards the left
    source = face_landmarks(s)
    alone, both = face_matte(s, moved), face_matte(s, np.stack([moved, source]))
    x, y = (0.6 * source[14] + 0.4 * source[30]).astype(int)  # inside the source face, outside the moved one
    assert alone[y, x] < 0.05 and both[y, x] > 0.95
    item = GeneratedFrame(0, np.zeros((s, s, 3), np.uint8), np.array([[1, 0, -10], [0, 1, -5]], float), True, moved)
    plate = smooth_plate()
    (_, _, alpha), = Composite().run(None, frames=[item], plate=plate, source_landmarks=source + [10, 5])["frames"]
    assert alpha[y + 5, x + 10] > 0.95
