"""Piecewise-affine warp baseline: identity, recovery of a known affine, full coverage, bad input."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from talkinghead.nodes.evaluation.metrics import face_hull_mask
from talkinghead.nodes.sketch import face_crop_matrix, transform_landmarks
from talkinghead.nodes.warping import warp as W

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy"
S = 128


@pytest.fixture(scope="module")
def crop_landmarks():
    lm = np.load(GOLDEN).astype(np.float32)
    return transform_landmarks(lm, face_crop_matrix(lm, S)).astype(np.float64)


def _smooth_image(size=S):
    y, x = np.mgrid[0:size, 0:size] / size
    chans = [np.sin(2 * np.pi * (1.3 * x + 0.4 * y)), np.cos(2 * np.pi * (0.7 * x - 1.1 * y)), x * y]
    return np.clip(np.stack(chans, -1) * 100 + 128, 0, 255).astype(np.uint8)


def test_warping_a_frame_to_its_own_landmarks_returns_it(crop_landmarks):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    np.testing.assert_array_equal(W.warp_face(image, crop_landmarks, crop_landmarks), image)
    np.testing.assert_array_equal(W.warp_face(image, crop_landmarks, crop_landmarks, ring_scale=1.45), image)


def test_a_known_affine_is_recovered_on_the_face(crop_landmarks):
    image = _smooth_image()
    a = np.array([[1.06, 0.09, -4.0], [-0.07, 0.96, 3.0]])
    expected = cv2.warpAffine(image, a, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dst = crop_landmarks @ a[:, :2].T + a[:, 2]
    out = W.warp_face(image, crop_landmarks, dst)
    mask = face_hull_mask(dst, (S, S))
    diff = np.abs(out.astype(int) - expected)[mask]
    assert diff.max() <= 2 and diff.mean() < 0.3
    # and it really moved: the unwarped frame is far off there
    assert np.abs(image.astype(int) - expected)[mask].mean() > 10


def test_mouth_region_follows_the_target(crop_landmarks):
    """A lower lip moved down drags the pixels under it: the warp is local, not global."""
    image = _smooth_image()
    dst = crop_landmarks.copy()
    dst[[56, 57, 58, 65, 66, 67]] += [0, 4]
    out = W.warp_face(image, crop_landmarks, dst)
    x, y = np.round(crop_landmarks[57]).astype(int)
    assert np.abs(out[y + 4, x].astype(int) - image[y, x]).max() <= 6
    eye = np.round(crop_landmarks[37]).astype(int)
    np.testing.assert_array_equal(out[eye[1], eye[0]], image[eye[1], eye[0]])


def test_triangulation_covers_the_crop(crop_landmarks):
    _src, dst = W.control_points(crop_landmarks, crop_landmarks, (S, S))
    tris = W.delaunay(dst)
    corners = dst[tris]
    u, v = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]).sum()
    assert area == pytest.approx(S * S, rel=1e-6)  # border points span the crop's outer pixel edges
    assert tris.min() >= 0 and tris.max() < len(dst)


def test_bad_control_points():
    with pytest.raises(ValueError, match=r"\(P, 2\)"):
        W.piecewise_affine(np.zeros((8, 8, 3), np.uint8), np.zeros((5, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="non-degenerate"):
        W.piecewise_affine(np.zeros((8, 8, 3), np.uint8), np.zeros((3, 2)), np.zeros((3, 2)), np.array([[0, 1, 2]]))
