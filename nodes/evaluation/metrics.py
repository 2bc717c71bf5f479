"""Evaluation metrics that see what a person sees (pure numpy / OpenCV functions).

Whole-crop SSIM rewards blur and flat background: a 5x5 Gaussian blur of the real target still scores
about 0.95. So next to SSIM, PSNR, CSIM and landmark error (the paper's §4 measures) this module gives
measures restricted to the face: SSIM inside the convex hull of the target's 68 landmarks, the
detail kept there (Laplacian variance ratio), SSIM of the mouth and eye regions, and mouth / eye
opening ratios.

Images are uint8 RGB (H,W,3) (grayscale (H,W) is accepted too); landmarks are (68,2) x,y pixels,
0-based, iBUG 300-W order.
"""
from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

# Wang et al. 2004 constants; gaussian window sigma 1.5 truncated at 3.5 sigma (11 taps), as
# skimage.metrics.structural_similarity(gaussian_weights=True, use_sample_covariance=False)
_SIGMA, _WIN, _K1, _K2, _RANGE = 1.5, 11, 0.01, 0.03, 255.0
MOUTH = tuple(range(48, 68))
LEFT_EYE, RIGHT_EYE = tuple(range(36, 42)), tuple(range(42, 48))


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.ndim not in (2, 3):
        raise ValueError(f"images must be (H,W[,C]) of one shape, got {a.shape} and {b.shape}")
    return a.astype(np.float64), b.astype(np.float64)


def _blur(x: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(x, (_WIN, _WIN), _SIGMA, borderType=cv2.BORDER_REFLECT)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Gaussian-window SSIM map, averaged over colour channels (per-channel SSIM, then the mean).

    Args:
        a, b: (H,W,3) or (H,W) images in 0..255 (uint8 or float).
    Returns:
        (H,W) float64 map; equals skimage's ``structural_similarity(..., gaussian_weights=True,
        sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1, full=True)`` map
        averaged over channels.
    """
    a, b = _pair(a, b)
    c1, c2 = (_K1 * _RANGE) ** 2, (_K2 * _RANGE) ** 2
    mu_a, mu_b = _blur(a), _blur(b)
    var_a = _blur(a * a) - mu_a ** 2
    var_b = _blur(b * b) - mu_b ** 2
    cov = _blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.mean(axis=2) if s.ndim == 3 else s


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over the image, leaving out the 5-pixel border (as skimage does)."""
    pad = (_WIN - 1) // 2
    return float(ssim_map(a, b)[pad:-pad, pad:-pad].mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for 0..255 images (inf when identical)."""
    a, b = _pair(a, b)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(_RANGE ** 2 / mse)


def _points(landmarks: np.ndarray, n: int = 68) -> np.ndarray:
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (n, 2) or not np.isfinite(pts).all():
        raise ValueError(f"landmarks must be finite ({n},2), got {pts.shape}")
    return pts


def face_hull_mask(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H,W) bool mask of the convex hull of the 68 landmarks (sub-pixel vertices)."""
    pts = _points(landmarks)
    hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))
    mask = np.zeros(size, np.uint8)
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)


def face_ssim(output: np.ndarray, target: np.ndarray, target_landmarks: np.ndarray) -> float:
    """SSIM map mean inside the convex hull of the target's 68 landmarks."""
    mask = face_hull_mask(target_landmarks, np.shape(target)[:2])
    if not mask.any():
        raise ValueError("the landmark hull covers no pixel of the image")
    return float(ssim_map(output, target)[mask].mean())


def _gray(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x if x.ndim == 2 else x @ np.array([0.299, 0.587, 0.114])


def laplacian_variance(image: np.ndarray, mask: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian of the luma (BT.601) inside ``mask``."""
    lap = cv2.Laplacian(_gray(image), cv2.CV_64F, ksize=1, borderType=cv2.BORDER_REFLECT)
    return float(lap[mask].var())


def face_detail(output: np.ndarray, target: np.ndarray, target_landmarks: np.ndarray) -> float:
    """Detail kept in the face: Laplacian variance of ``output`` inside the target's landmark hull
    divided by the real target's (1 = as sharp as the real frame; a 5x5 blur keeps about 0.2).

    Returns nan when the target has no detail there (flat).
    """
    _pair(output, target)
    mask = face_hull_mask(target_landmarks, np.shape(target)[:2])
    ref = laplacian_variance(target, mask) if mask.any() else 0.0
    return float("nan") if ref == 0 else laplacian_variance(output, mask) / ref


def region_box(landmarks: np.ndarray, idx: tuple[int, ...], size: tuple[int, int],
               margin: float = 0.25) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1), exclusive ends, of landmarks ``idx`` grown by ``margin`` x its
    larger side on every side and clipped to the image."""
    pts = _points(landmarks)[list(idx)]
    lo, hi = pts.min(0), pts.max(0)
    grow = margin * float((hi - lo).max())
    x0, y0 = np.floor(lo - grow).astype(int)
    x1, y1 = np.ceil(hi + grow).astype(int) + 1
    h, w = size
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def region_ssim(output: np.ndarray, target: np.ndarray, landmarks: np.ndarray,
                region: Literal["mouth", "eyes"] = "mouth", margin: float = 0.25) -> float:
    """SSIM map mean inside the mouth box (points 48-67) or the union of the two eye boxes (36-41, 42-47)."""
    groups = {"mouth": (MOUTH,), "eyes": (LEFT_EYE, RIGHT_EYE)}
    if region not in groups:
        raise ValueError(f"region must be 'mouth' or 'eyes', got {region!r}")
    size = np.shape(target)[:2]
    mask = np.zeros(size, bool)
    for idx in groups[region]:
        x0, y0, x1, y1 = region_box(landmarks, idx, size, margin)
        mask[y0:y1, x0:x1] = True
    if not mask.any():
        raise ValueError(f"the {region} box lies outside the image")
    return float(ssim_map(output, target)[mask].mean())


def _dist(p: np.ndarray, i: int, j: int) -> float:
    return float(np.linalg.norm(p[i] - p[j]))


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap (mean of 61-67, 62-66, 63-65) divided by the mouth width (48-54)."""
    p = _points(landmarks)
    gap = (_dist(p, 61, 67) + _dist(p, 62, 66) + _dist(p, 63, 65)) / 3
    return gap / max(_dist(p, 48, 54), 1e-9)


def eye_opening(landmarks: np.ndarray) -> float:
    """Eye height / width, mean of both eyes: ((37-41) + (38-40)) / 2 / (36-39), likewise 42-47."""
    p = _points(landmarks)
    left = (_dist(p, 37, 41) + _dist(p, 38, 40)) / 2 / max(_dist(p, 36, 39), 1e-9)
    right = (_dist(p, 43, 47) + _dist(p, 44, 46)) / 2 / max(_dist(p, 42, 45), 1e-9)
    return (left + right) / 2


def landmark_error(pred: np.ndarray, ref: np.ndarray) -> float:
    """Mean point distance divided by the inter-ocular distance (outer eye corners 36 and 45) of ``ref``."""
    p, r = _points(pred), _points(ref)
    iod = _dist(r, 36, 45)
    if iod == 0:
        raise ValueError("reference landmarks have zero inter-ocular distance")
    return float(np.linalg.norm(p - r, axis=1).mean() / iod)


def csim(desc_a: np.ndarray, desc_b: np.ndarray) -> float | np.ndarray:
    """Cosine similarity of face descriptors: (D,) pairs give a float, (N,D) pairs an (N,) array."""
    a, b = np.asarray(desc_a, np.float64), np.asarray(desc_b, np.float64)
    if a.shape != b.shape or a.ndim not in (1, 2):
        raise ValueError(f"descriptors must be (D,) or (N,D) of one shape, got {a.shape} and {b.shape}")
    cos = (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    return float(cos) if a.ndim == 1 else cos


__all__ = ["csim", "eye_opening", "face_detail", "face_hull_mask", "face_ssim", "landmark_error",
           "laplacian_variance", "mouth_opening", "psnr", "region_box", "region_ssim", "ssim", "ssim_map"]
