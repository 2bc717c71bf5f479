"""Sketch rasterisation (golden image, colours per part) and the face crop transform."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from talkinghead.nodes import sketch
from talkinghead.nodes.media.io import read_image
from talkinghead.runtime.errors import BadInputError

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="module")
def landmarks() -> np.ndarray:
    return np.load(GOLDEN / "astronaut_dlib_landmarks.npy")


def test_golden_sketch(landmarks):
    crop = sketch.transform_landmarks(landmarks, sketch.face_crop_matrix(landmarks, 128))
    image = sketch.draw_sketch(crop, (128, 128))
    golden = read_image(GOLDEN / "astronaut_sketch_128.png")
    assert image.shape == golden.shape == (128, 128, 3)
    diff = np.abs(image.astype(int) - golden)
    assert (diff > 8).mean() < 0.002 and diff.mean() < 0.2


def test_each_part_has_its_colour(landmarks):
    crop = sketch.transform_landmarks(landmarks, sketch.face_crop_matrix(landmarks, 256))
    image = sketch.draw_sketch(crop, (256, 256), thickness=3)
    for name, start, _stop, _closed, colour in sketch.FACE_PARTS:
        mid = np.rint((crop[start] + crop[start + 1]) / 2).astype(int)  # on the first segment of the part
        table = np.array([part[-1] for part in sketch.FACE_PARTS])
        nearest = table[np.argmin(np.abs(table - image[mid[1], mid[0]].astype(int)).sum(1))]
        assert tuple(nearest) == colour and np.abs(image[mid[1], mid[0]].astype(int) - colour).max() < 16, name
    assert sketch.default_thickness((256, 256)) == 3 and sketch.default_thickness((64, 64)) == 1


def test_sketch_scales_with_resolution(landmarks):
    m1, m2 = sketch.face_crop_matrix(landmarks, 128), sketch.face_crop_matrix(landmarks, 512)
    small = sketch.draw_sketch(sketch.transform_landmarks(landmarks, m1), (128, 128))
    large = sketch.draw_sketch(sketch.transform_landmarks(landmarks, m2), (512, 512))
    assert np.allclose(m2[:, :2], 4 * m1[:, :2])
    import cv2

    down = cv2.resize(large, (128, 128), interpolation=cv2.INTER_AREA)
    assert np.corrcoef((down.sum(-1) > 30).ravel(), (small.sum(-1) > 30).ravel())[0, 1] > 0.6


def test_nan_landmarks_draw_black_and_batches(landmarks):
    nan = np.full((68, 2), np.nan, np.float32)
    assert not sketch.draw_sketch(nan, (64, 80)).any()
    batch = sketch.draw_sketches(np.stack([landmarks / 4, nan]), (128, 128))
    assert batch.shape == (2, 128, 128, 3) and batch[0].any() and not batch[1].any()
    tensor = sketch.sketch_to_tensor(batch)
    assert tuple(tensor.shape) == (2, 3, 128, 128)
    assert float(tensor.min()) == -1.0 and float(tensor.max()) <= 1.0
    assert abs(float(tensor[0, 1].max()) - (2 * int(batch[0, ..., 1].max()) / 255 - 1)) < 1e-6
    with pytest.raises(BadInputError):
        sketch.draw_sketch(np.zeros((5, 2)), (64, 64))


def test_crop_matrix_centred_square_and_invertible(landmarks):
    m = sketch.face_crop_matrix(landmarks, 256, margin=0.4)
    crop = sketch.transform_landmarks(landmarks, m)
    assert crop.min() > 0 and crop.max() < 255
    assert abs((crop[:, 0].min() + crop[:, 0].max()) / 2 - 127.5) < 1.0  # centred horizontally
    extent = (crop.max(0) - crop.min(0)).max()
    assert abs(extent * 1.4 - 256) < 1.0
    back = sketch.transform_landmarks(crop, sketch.invert_affine(m))
    assert np.allclose(back, landmarks, atol=1e-3)
    track = np.stack([landmarks, landmarks + 1, landmarks + 2, np.full_like(landmarks, np.nan)])
    assert np.allclose(sketch.face_crop_matrix(track, 256), sketch.face_crop_matrix(landmarks + 1, 256))
    with pytest.raises(BadInputError):
        sketch.face_crop_matrix(np.full((68, 2), np.nan), 64)


@pytest.mark.parametrize("size", [64, 400])
def test_crop_image_agrees_with_transform(landmarks, size):
    image = np.zeros((512, 512, 3), np.uint8)
    x, y = np.rint(landmarks[30]).astype(int)
    image[y - 2:y + 3, x - 2:x + 3] = 255  # a bright 5x5 dot at the nose tip
    m = sketch.face_crop_matrix(landmarks, size)
    crop = sketch.crop_image(image, m, size)
    assert crop.shape == (size, size, 3)
    ys, xs = np.nonzero(crop[..., 0] > 0)
    weights = crop[ys, xs, 0].astype(float)
    found = np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()
    expected = sketch.transform_landmarks(np.array([[x, y]], np.float32), m)[0]
    assert np.linalg.norm(found - expected) < 0.6
