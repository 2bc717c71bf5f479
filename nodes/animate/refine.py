"""The head map, evaluated finely where the lattice is too coarse: around the target's eyes and lips.

``animate.animate_frame`` samples the backward map every ``STEP`` px and upsamples it bilinearly; lids and
lips are a few pixels thick in a face 100-200 px tall, so a lip that should open by 4 px is smeared over
a lattice cell (on the demo pair the lips missed their targets by 3 px on average, 11 px at worst). Here
the same map (``motion.FrameMotion``) is evaluated again in a window around each eye and the mouth, with
a step of ``1 / FINE_SAMPLES`` of the face height (at least 1 px), its folds repaired as on the lattice, and
blended into the coarse map with a ramp at the window's border (the two agree there up to the lattice's
interpolation error, so the seam is invisible).

Shapes: maps (h, w) float32 over the ROI (x0, y0, x1, y1) of the frame; landmarks (68, 2) px.
"""
from __future__ import annotations

import numpy as np

from .compose import upsample_map
from .motion import FrameMotion, in_layer, lattice, opening_cells, repair_folds, smoothstep

FINE_SAMPLES = 80       # samples per face height in the feature windows (the lips are ~0.05 face heights thick)
RAMP = 0.25             # blend ramp at a window's border, as a fraction of its smaller side
MOUTH_GROW = 0.5        # windows: the feature's points grown by this x their extent
EYE_GROW = 0.8


def feature_windows(target: np.ndarray, roi: tuple[int, int, int, int], size: tuple[int, int],
                    step: int) -> list[tuple[int, int, int, int]]:
    """Windows (x0, y0, x1, y1) around the target's mouth and eyes: multiples of ``step`` from the ROI's
    origin, inside the ROI and the image; empty ones are dropped."""
    p = np.asarray(target, np.float64)
    x0, y0, x1, y1 = roi
    x1, y1 = min(x1, size[1]), min(y1, size[0])
    out = []
    for idx, grow in ((np.arange(48, 68), MOUTH_GROW), (np.arange(36, 42), EYE_GROW), (np.arange(42, 48), EYE_GROW)):
        pts = p[idx]
        ext = np.ptp(pts, axis=0).max() * grow + 2 * step
        lo, hi = pts.min(0) - ext, pts.max(0) + ext
        bx0 = x0 + max(0, int(np.floor((lo[0] - x0) / step)) * step)
        by0 = y0 + max(0, int(np.floor((lo[1] - y0) / step)) * step)
        bx1 = x0 + min((x1 - x0) // step * step, int(np.ceil((hi[0] - x0) / step)) * step)
        by1 = y0 + min((y1 - y0) // step * step, int(np.ceil((hi[1] - y0) / step)) * step)
        if bx1 - bx0 >= 2 * step and by1 - by0 >= 2 * step:
            out.append((bx0, by0, bx1, by1))
    return out


def border_ramp(shape: tuple[int, int], width: float) -> np.ndarray:
    """(h, w) float32: 0 at the border, rising smoothly to 1 at ``width`` px inside."""
    h, w = shape
    ys = np.minimum(np.arange(h), np.arange(h)[::-1])[:, None]
    xs = np.minimum(np.arange(w), np.arange(w)[::-1])[None, :]
    return smoothstep(0.0, max(width, 1.0), np.minimum(xs, ys).astype(np.float64)).astype(np.float32)


def fine_step(motion: FrameMotion, face_height: float) -> int:
    """The window's sample spacing, px: the target's face height / ``FINE_SAMPLES``, at least 1."""
    scale = 1.0 / max(abs(np.linalg.det(motion.s_inv[:, :2])) ** 0.5, 1e-9)   # source -> target scale
    return max(1, int(face_height * scale / FINE_SAMPLES))


def refine_features(map_x: np.ndarray, map_y: np.ndarray, roi: tuple[int, int, int, int], motion: FrameMotion,
                    target: np.ndarray, face_height: float, alpha: np.ndarray) -> int:
    """Re-evaluate the map finely around the eyes and the mouth, in place.

    Args:
        map_x, map_y: (h, w) float32 the upsampled coarse map over ``roi`` (cropped to the image); changed.
        roi: (x0, y0, x1, y1) of the maps.
        motion: this frame's ``FrameMotion`` (the coarse map's).
        target: (68, 2) target landmarks.
        face_height: the SOURCE face height, px (``NeckLine.height``).
        alpha: (H, W) the head layer's alpha (folds count only where it samples the layer).
    Returns:
        fold repair rounds used in the windows (0 when none folded).
    """
    step = fine_step(motion, face_height)
    h, w = map_x.shape
    size = (roi[1] + h, roi[0] + w)
    rounds = 0
    for box in feature_windows(target, roi, size, step):
        points = lattice(box, step)
        fine = motion.backward(points)
        fine, used = repair_folds(fine, points, float(step), where=in_layer(alpha, fine),
                                  ignore=opening_cells(points, target, step))
        rounds += used
        fx, fy = upsample_map(fine, points, box, size)
        bx0, by0 = box[0] - roi[0], box[1] - roi[1]
        sl = np.s_[by0:by0 + fx.shape[0], bx0:bx0 + fx.shape[1]]
        ramp = border_ramp(fx.shape, RAMP * min(fx.shape))
        map_x[sl] += ramp * (fx - map_x[sl])
        map_y[sl] += ramp * (fy - map_y[sl])
    return rounds


__all__ = ["FINE_SAMPLES", "border_ramp", "feature_windows", "fine_step", "refine_features"]
