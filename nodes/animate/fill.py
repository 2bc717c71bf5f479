"""The background the moving head may uncover, filled once per shot (when no clean plate is given).

Telea inpainting (Telea 2004, ``cv2.inpaint``) of the region behind the head, run at a reduced scale (it is
only seen in the thin bands the moving head uncovers), continued from the photo OUTSIDE the matte (the
background estimated behind thin hair carries the hair's colour, and a fill continued from it shows the
old hair line as a halo once the head moves); then regrained, so the band does not read as a clean patch
on film grain, canvas or sensor noise.

Shapes: (H, W, 3) images, (H, W) masks.
"""
from __future__ import annotations

import numpy as np

INPAINT_SIDE = 256   # the hidden background is inpainted with the hole's box scaled to this long side
RADIUS = 5           # Telea's neighbourhood, px at the reduced scale


def inpaint_background(known: np.ndarray, hole: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """``known`` with the ``hole`` filled: (H, W, 3) float32.

    Args:
        known: (H, W, 3) background known or estimated everywhere outside ``hole`` (0-255).
        hole: (H, W) bool, where the head hides the background.
        photo: (H, W, 3) uint8, whose fine detail around the hole sets the grain.
    """
    import cv2

    out = np.asarray(known, np.float32).copy()
    ys, xs = np.nonzero(hole)
    if not len(ys):
        return out
    h, w = hole.shape
    pad = max(16, int(np.ptp(ys) + np.ptp(xs)) // 16)
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    scale = min(1.0, INPAINT_SIDE / max(y1 - y0, x1 - x0))
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    region = hole[y0:y1, x0:x1]
    small = cv2.resize(np.clip(out[y0:y1, x0:x1] + 0.5, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.dilate(cv2.resize(region.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST),
                            np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_hole, RADIUS, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    filled += regrain(photo[y0:y1, x0:x1], region)
    out[y0:y1, x0:x1][region] = filled[region]
    return out


def regrain(crop: np.ndarray, hole: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Gaussian grain (fixed seed) with the per-channel spread of the photo's fine detail (the photo minus
    its blur) in a ring around ``hole``, measured robustly (median absolute deviation): (h, w, 3) float32."""
    import cv2

    image = crop.astype(np.float32)
    detail = image - cv2.GaussianBlur(image, (0, 0), sigma)
    near = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    ring = cv2.dilate(hole.astype(np.uint8), np.ones((31, 31), np.uint8)).astype(bool) & ~near
    if ring.sum() < 50:
        return np.zeros_like(image)
    values = detail[ring]
    spread = 1.4826 * np.median(np.abs(values - np.median(values, 0)), 0)
    noise = np.random.default_rng(0).standard_normal(image.shape).astype(np.float32)
    return noise * spread
