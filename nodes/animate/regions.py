"""Feature geometry on 68 iBUG/300-W landmarks: the mouth and eye polygons, their openings, eye frames and
anti-aliased polygon mattes.

Indices are 0-based iBUG: outer lips 48-59, inner lips 60-67 (60 and 64 the corners, 61-63 upper, 65-67
lower), eyes 36-41 (the subject's right eye, image left) and 42-47 (subject's left eye, image right), each
starting at its outer (36) or inner (42) corner and running over the upper lid.
Landmarks are (68, 2) float x, y px; images (H, W) or (H, W, 3).
"""
from __future__ import annotations

import numpy as np

OUTER_LIP = np.arange(48, 60)
INNER_LIP = np.arange(60, 68)
UPPER_INNER = np.array([60, 61, 62, 63, 64])
LOWER_INNER = np.array([64, 65, 66, 67, 60])
EYES = (np.arange(36, 42), np.arange(42, 48))
EYE_CORNERS = ((36, 39), (42, 45))   # image-left corner first in both eyes
SUPERSAMPLE = 4


def polygon_mask(points: np.ndarray, size: tuple[int, int], feather: float = 0.0) -> np.ndarray:
    """Anti-aliased filled polygon: (H, W) float32 coverage in [0, 1].

    Rasterised ``SUPERSAMPLE`` x finer in the polygon's box only (grown by the feather's reach), then
    averaged down: the same pixels as over the whole image, without a canvas 16 x the image's size for a
    small polygon in a large photo.

    Args:
        points: (P, 2) x, y px (pixel centres at integers), any winding.
        size: (H, W).
        feather: Gaussian sigma in px applied after rasterising (0: only the anti-aliasing).
    """
    import cv2

    h, w = size
    mask = np.zeros((h, w), np.float32)
    pts = np.asarray(points, np.float64)
    if not np.isfinite(pts).all() or len(pts) < 3:
        return mask
    reach = int(np.ceil(4 * feather)) + 2 if feather > 0 else 1   # past the Gaussian kernel's radius
    x0, y0 = (max(0, int(np.floor(v)) - reach) for v in pts.min(0))
    x1, y1 = min(w, int(np.ceil(pts[:, 0].max())) + reach + 1), min(h, int(np.ceil(pts[:, 1].max())) + reach + 1)
    if x1 <= x0 or y1 <= y0:
        return mask
    shift = 4  # cv2 fixed-point sub-pixel bits
    local = pts - [x0, y0]
    fixed = np.round((local + 0.5) * SUPERSAMPLE * (1 << shift) - 0.5 * (1 << shift)).astype(np.int32)
    big = np.zeros(((y1 - y0) * SUPERSAMPLE, (x1 - x0) * SUPERSAMPLE), np.float32)
    cv2.fillPoly(big, [fixed], 1.0, lineType=cv2.LINE_8, shift=shift)
    mask[y0:y1, x0:x1] = cv2.resize(big, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    if feather > 0:
        mask[y0:y1, x0:x1] = cv2.GaussianBlur(mask[y0:y1, x0:x1], (0, 0), feather)
    return np.clip(mask, 0.0, 1.0, out=mask)


def smooth_closed(points: np.ndarray, samples: int = 6) -> np.ndarray:
    """A closed centripetal Catmull-Rom curve through ``points`` (P, 2): (P * samples, 2). It passes through
    every point, does not overshoot or loop, and rounds the polygon's corners (an "O" of 8 lip points is
    round, not an octagon)."""
    p = np.asarray(points, np.float64)
    n = len(p)
    if n < 3 or samples < 2:
        return p.copy()
    out = []
    for i in range(n):
        p0, p1, p2, p3 = p[i - 1], p[i], p[(i + 1) % n], p[(i + 2) % n]
        t1 = t0 = 0.0
        t1 = t0 + max(np.linalg.norm(p1 - p0), 1e-6) ** 0.5
        t2 = t1 + max(np.linalg.norm(p2 - p1), 1e-6) ** 0.5
        t3 = t2 + max(np.linalg.norm(p3 - p2), 1e-6) ** 0.5
        for t in np.linspace(t1, t2, samples, endpoint=False):
            a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
            a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
            a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
            b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
            b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
            out.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    return np.array(out)


def polygon_area(points: np.ndarray) -> float:
    """Unsigned shoelace area of a (P, 2) polygon in px^2."""
    x, y = np.asarray(points, np.float64).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def mouth_width(landmarks: np.ndarray) -> float:
    """Distance between the outer mouth corners (48, 54), px."""
    p = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(p[54] - p[48]))


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip gap (mean of 61-67, 62-66, 63-65) over the mouth width: 0 closed, ~0.5 a wide "O"."""
    p = np.asarray(landmarks, np.float64)
    gap = np.mean([np.linalg.norm(p[a] - p[b]) for a, b in ((61, 67), (62, 66), (63, 65))])
    return float(gap / max(mouth_width(p), 1e-9))


def eye_opening(landmarks: np.ndarray, eye: int) -> float:
    """Lid gap over the corner distance (the eye aspect ratio): ~0.3 open, 0 closed. ``eye`` is 0 or 1."""
    p = np.asarray(landmarks, np.float64)[EYES[eye]]
    gap = (np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / 2
    return float(gap / max(np.linalg.norm(p[3] - p[0]), 1e-9))


def eye_frame(landmarks: np.ndarray, eye: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The eye's own frame: centre (corner midpoint), unit x axis (image-left corner -> image-right corner)
    and the corner distance W. Offsets in this frame divided by W are "eye widths".

    Returns:
        centre (2,), rotation (2, 2) whose rows are the x and y axes, W.
    """
    p = np.asarray(landmarks, np.float64)
    return corner_frame(p[EYE_CORNERS[eye][0]], p[EYE_CORNERS[eye][1]])


def polyline_at(points: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The y of the polyline through ``points`` (P, 2), taken in order of x, at ``x`` (any shape); constant
    beyond its ends (a lip's or a lid's curve)."""
    p = np.asarray(points, np.float64)
    order = np.argsort(p[:, 0])
    return np.interp(x, p[order, 0], p[order, 1])


def corner_frame(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``eye_frame`` of an eye whose image-left corner is ``a`` (2,) and image-right corner ``b`` (2,)."""
    axis = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    width = float(np.linalg.norm(axis))
    x = axis / max(width, 1e-9)
    return (np.asarray(a, np.float64) + b) / 2, np.array([x, [-x[1], x[0]]]), width


def to_eye_units(points: np.ndarray, landmarks: np.ndarray, eye: int) -> np.ndarray:
    """Image px (..., 2) -> offsets from the eye centre in eye widths, in the eye's rotated frame."""
    centre, rot, width = eye_frame(landmarks, eye)
    return (np.asarray(points, np.float64) - centre) @ rot.T / max(width, 1e-9)


def from_eye_units(offsets: np.ndarray, landmarks: np.ndarray, eye: int) -> np.ndarray:
    """Inverse of ``to_eye_units``: offsets in eye widths (..., 2) -> image px."""
    centre, rot, width = eye_frame(landmarks, eye)
    return centre + (np.asarray(offsets, np.float64) * width) @ rot


def box_around(points: np.ndarray, size: tuple[int, int], grow: float = 0.5, pad: int = 2) -> tuple[int, int, int, int]:
    """Integer window x0, y0, x1, y1 (exclusive) around ``points`` grown by ``grow`` x their extent, clipped."""
    p = np.asarray(points, np.float64)
    lo, hi = p.min(0), p.max(0)
    ext = (hi - lo).max() * grow + pad
    h, w = size
    x0, y0 = int(max(0, np.floor(lo[0] - ext))), int(max(0, np.floor(lo[1] - ext)))
    x1, y1 = int(min(w, np.ceil(hi[0] + ext) + 1)), int(min(h, np.ceil(hi[1] + ext) + 1))
    return x0, y0, max(x1, x0), max(y1, y0)


__all__ = ["EYES", "EYE_CORNERS", "INNER_LIP", "LOWER_INNER", "OUTER_LIP", "UPPER_INNER", "box_around",
           "corner_frame", "eye_frame", "eye_opening", "from_eye_units", "mouth_opening", "mouth_width", "polygon_area",
           "polygon_mask", "polyline_at", "smooth_closed", "to_eye_units"]
