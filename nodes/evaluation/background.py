"""Background change outside the head: PSNR of an output frame against the photo outside a head mask.

Measured on the method's own lossless frames (in memory, never after MP4 compression).

The head mask (the region a method may legitimately change) is the union, dilated by ``DILATE`` x the
photo's inter-ocular distance (matte edges, the hair's fringe), of:
- where the method says it drew: its alpha > 1/255, when it gives one, and its head layer on the photo
  (``rest_alpha``) when it gives one;
- the photo's head region from its landmarks (the head's place before it moved, which a method must
  fill), unless ``rest_alpha`` is given;
- without an alpha: the head region of the output's re-detected landmarks too (where the head went).
A head region from 68 landmarks is the convex hull of the jaw line scaled by ``SIDE`` about the
landmarks' centre (cheeks, ears) and the brows raised by ``HAIR`` x the chin-to-brow vector (forehead and
hair on top), each also scaled by ``SIDE``. Long hair below the ears and the shoulders lie outside it:
a method that moves them changes "background" here, and the mask fraction is reported beside the PSNR.
"""
from __future__ import annotations

import numpy as np

DILATE = 0.25   # x inter-ocular distance (outer corners 36-45)
SIDE = 1.25
HAIR = 0.9


def head_region_points(landmarks: np.ndarray) -> np.ndarray:
    """(27, 2) outline of the head (jaw + raised brows), scaled by ``SIDE`` about the landmarks' centre."""
    p = np.asarray(landmarks, np.float64)
    brows = p[17:27]
    top = brows + HAIR * (brows.mean(0) - p[8])
    outline = np.concatenate([p[0:17], top[::-1]])
    centre = p.mean(0)
    return centre + SIDE * (outline - centre)


def head_mask(size: tuple[int, int], photo_landmarks: np.ndarray, output_landmarks: np.ndarray | None = None,
              alpha: np.ndarray | None = None, rest_alpha: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool mask of the head region (module docstring).

    Args:
        size: (H, W) of the photo / output.
        photo_landmarks: (68, 2) of the photo.
        output_landmarks: (68, 2) re-detected on the output, or None (no face found).
        alpha: (H, W) float [0, 1] the method's matte for this frame, or None.
        rest_alpha: (H, W) float [0, 1] the method's head layer on the photo, or None.
    """
    import cv2

    mask = np.zeros(size, np.uint8)
    regions = [] if rest_alpha is not None else [photo_landmarks]
    if alpha is None and output_landmarks is not None:
        regions.append(output_landmarks)
    for lms in regions:
        hull = cv2.convexHull(np.round(head_region_points(lms) * 16).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    for a in (alpha, rest_alpha):
        if a is not None:
            mask |= (np.asarray(a) > 1.0 / 255).astype(np.uint8)
    p = np.asarray(photo_landmarks, np.float64)
    radius = max(1, round(DILATE * float(np.linalg.norm(p[36] - p[45]))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask, kernel).astype(bool)


def outside_error(output: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> tuple[float, int]:
    """(sum of squared errors, number of values) of ``output`` vs ``photo`` outside ``mask`` (0..255 scale)."""
    keep = ~mask
    diff = output[keep].astype(np.float64) - photo[keep].astype(np.float64)
    return float((diff * diff).sum()), int(diff.size)


def psnr_from_sse(sse: float, count: int) -> float:
    """PSNR (dB) of a pooled squared error; inf when it is 0, NaN when nothing was measured."""
    if count == 0:
        return float("nan")
    mse = sse / count
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


__all__ = ["DILATE", "HAIR", "SIDE", "head_mask", "head_region_points", "outside_error", "psnr_from_sse"]
