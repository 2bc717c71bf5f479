"""Warp the head layer with one backward map and composite it over the filled background, at full resolution.

The map is computed on a coarse lattice (``motion.lattice``) over a region of interest (ROI) and upsampled
with ``cv2.resize`` (bilinear); the layer (premultiplied RGB + alpha, float32) is sampled once with
``cv2.remap``. Upsampling the DISPLACEMENT (map minus pixel position), not the map, keeps the identity
exact: a zero displacement gives integer sample positions, so a frame whose target equals the source is
the photo itself. Outside the ROI the frame is the filled background, which equals the photo wherever
the head layer's alpha is 0.

Shapes: images (H, W, 3); the layer's premultiplied image (H, W, 4) float32 = (alpha * F, alpha).
"""
from __future__ import annotations

import numpy as np


def snap_roi(box: tuple[float, float, float, float], size: tuple[int, int], step: int) -> tuple[int, int, int, int]:
    """Grow ``box`` (x0, y0, x1, y1) to multiples of ``step`` clipped to the image; (0, 0, 0, 0) if empty.

    The clipped ROI may end at the image edge; the lattice is then one cell larger than the image on that
    side (the extra samples are dropped after upsampling).
    """
    h, w = size
    x0 = max(0, int(np.floor(box[0] / step)) * step)
    y0 = max(0, int(np.floor(box[1] / step)) * step)
    x1 = min(int(np.ceil(w / step)) * step, int(np.ceil(box[2] / step)) * step)
    y1 = min(int(np.ceil(h / step)) * step, int(np.ceil(box[3] / step)) * step)
    if x1 <= x0 or y1 <= y0:
        return 0, 0, 0, 0
    return x0, y0, x1, y1


def upsample_map(coarse: np.ndarray, points: np.ndarray, roi: tuple[int, int, int, int],
                 size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution ``cv2.remap`` maps for ``roi`` from a coarse map sampled at ``points``.

    Args:
        coarse: (gh, gw, 2) source positions at the lattice ``points`` (gh, gw, 2).
        roi: (x0, y0, x1, y1) the lattice covers (multiples of its step).
        size: (H, W) of the image (the ROI is cropped to it).
    Returns:
        map_x, map_y: (h, w) float32 each, for the ROI cropped to the image.
    """
    import cv2

    x0, y0, x1, y1 = roi
    disp = (np.asarray(coarse, np.float64) - points).astype(np.float32)
    full = cv2.resize(disp, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    h, w = min(y1, size[0]) - y0, min(x1, size[1]) - x0
    full = full[:h, :w]
    xs = np.arange(x0, x0 + w, dtype=np.float32)
    ys = np.arange(y0, y0 + h, dtype=np.float32)
    return full[..., 0] + xs[None, :], full[..., 1] + ys[:, None]


def warp_layer(premult: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Sample the premultiplied layer (H, W, 4) at the maps: (h, w, 4) float32.

    Outside the photo the layer's edge pixels are repeated: where the head layer runs off the photo (hair
    cut by the top edge, a neck by the bottom one, a tight head crop), a head that moves away from that
    edge carries the hair or the neck on instead of opening a hole onto the background behind it; where
    the layer does not reach the edge its alpha there is 0 and stays 0."""
    import cv2

    return cv2.remap(premult, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def composite(base: np.ndarray, background: np.ndarray, warped: np.ndarray,
              roi: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Over-composite the warped layer onto the filled background inside ``roi``.

    Args:
        base: (H, W, 3) uint8 filled background rounded (the frame outside the ROI).
        background: (H, W, 3) float32 filled background.
        warped: (h, w, 4) float32 premultiplied warped layer for the ROI (cropped to the image).
        roi: (x0, y0, x1, y1).
    Returns:
        frame (H, W, 3) uint8 and the warped alpha (H, W) float32.
    """
    x0, y0 = roi[:2]
    h, w = warped.shape[:2]
    frame = base.copy()
    alpha = np.zeros(base.shape[:2], np.float32)
    if h and w:
        import cv2

        a = warped[..., 3]
        mixed = background[y0:y0 + h, x0:x0 + w] * (1.0 - a)[..., None]
        mixed += warped[..., :3]
        frame[y0:y0 + h, x0:x0 + w] = cv2.convertScaleAbs(mixed)  # rounds and saturates to uint8
        alpha[y0:y0 + h, x0:x0 + w] = a
    return frame, alpha
