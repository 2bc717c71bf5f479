"""Coarse head segmentation (once per shot): MediaPipe Selfie Segmentation on LiteRT, or GrabCut seeded
from the 68 landmarks when the model cannot be used. Both return a soft person mask inside the head box;
``head_layer`` cuts it at the neck and refines its edge into an alpha matte (``matting``).

Which path ran, and why, is returned with the mask (``Segmentation.method`` / ``.reason``).
Shapes: photo (H, W, 3) uint8 RGB; landmarks (68, 2) x, y px; masks (H, W) float32 in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..warping.warp import forehead_points
from .motion import JAW, NeckLine

MODEL = "mediapipe-selfie-segmentation"
MODEL_SIZE = 256
GRABCUT_SIDE = 360     # GrabCut runs on the head box scaled to this long side
FACE_COVERAGE = 0.8    # the model's mask must cover this much of the face hull, or it is not trusted


@dataclass
class Segmentation:
    """A soft person mask near the head and how it was made.

    Attributes:
        mask: (H, W) float32 in [0, 1]: the model's over the square it ran on around ``box``, GrabCut's
            inside ``box``; zero elsewhere.
        box: (x0, y0, x1, y1) int, the head box it was computed for (the matting's).
        method: "selfie-segmentation" | "grabcut".
        reason: why that method (e.g. "model missing: ...").
    """

    mask: np.ndarray
    box: tuple[int, int, int, int]
    method: str
    reason: str


def head_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A generous box around the head (hair, ears, neck top) from the 68 points, clipped to the image."""
    neck = NeckLine.from_landmarks(landmarks)
    p = np.asarray(landmarks, np.float64)
    right = np.array([-neck.down[1], neck.down[0]])
    centre = p[JAW].mean(0)
    width = float(np.ptp(p @ right))
    corners = [centre + a * 1.5 * width * right + b * neck.height * neck.down
               for a in (-1, 1) for b in (-2.0, 1.6)]
    corners = np.array(corners)
    h, w = size
    x0, y0 = np.floor(corners.min(0)).astype(int)
    x1, y1 = np.ceil(corners.max(0)).astype(int)
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def face_hull_mask(landmarks: np.ndarray, size: tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """(H, W) bool: the convex hull of the jaw and forehead points, scaled about its centre."""
    import cv2

    p = np.asarray(landmarks, np.float64)
    outline = np.concatenate([p[JAW], forehead_points(p)[::-1]])
    outline = outline.mean(0) + scale * (outline - outline.mean(0))
    mask = np.zeros(size, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(outline).astype(np.int32)), 1)
    return mask.astype(bool)


def hair_ellipse_mask(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: where hair usually is: an ellipse around the upper head (0.8 face widths across,
    reaching 1.1 face heights above the brows), turned with the face."""
    import cv2

    p = np.asarray(landmarks, np.float64)
    neck = NeckLine.from_landmarks(p)
    right = np.array([-neck.down[1], neck.down[0]])
    width = float(np.ptp(p[JAW] @ right))
    centre = p[17:27].mean(0)
    angle = float(np.degrees(np.arctan2(right[1], right[0])))
    mask = np.zeros(size, np.uint8)
    cv2.ellipse(mask, (round(centre[0]), round(centre[1])),
                (round(0.8 * width), round(1.1 * neck.height)), angle, 0, 360, 1, -1)
    return mask.astype(bool)


def segment_model(rt: Any, photo: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Person probability (H, W) from MediaPipe Selfie Segmentation run on a square around ``box``, over that
    square (what hangs off the head may reach past ``box``: ``head_layer.unmatted``).

    Raises:
        MissingWeightsError: the model file or ai-edge-litert is missing.
    """
    import cv2

    from ...runtime.litert import load_litert

    model = load_litert(rt, MODEL)
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    sx, sy = cx - side // 2, cy - side // 2
    h, w = photo.shape[:2]
    pad = [max(0, -sy), max(0, sy + side - h), max(0, -sx), max(0, sx + side - w)]
    crop = photo[max(0, sy):sy + side, max(0, sx):sx + side]
    crop = cv2.copyMakeBorder(crop, *pad, cv2.BORDER_REPLICATE)
    tensor = cv2.resize(crop, (MODEL_SIZE, MODEL_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    (prob,) = model(tensor[None])
    prob = cv2.resize(np.ascontiguousarray(prob[0, :, :, 0]), (side, side), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((h, w), np.float32)
    out[max(0, sy):sy + side, max(0, sx):sx + side] = prob[pad[0]:side - pad[1], pad[2]:side - pad[3]]
    return np.clip(out, 0, 1)


def segment_grabcut(photo: np.ndarray, landmarks: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Head mask (H, W) float32 {0, 1} by GrabCut on the head box, seeded from the landmarks.

    Seeds: the face hull and the neck right under the chin are sure foreground; the hull grown 1.6x (ears), the hair ellipse and the neck
    column under the jaw are probable foreground; the rest of the box is probable background and its outer rim sure
    background (top and sides, where the image edge did not clip the box).
    """
    import cv2

    h, w = photo.shape[:2]
    x0, y0, x1, y1 = box
    scale = min(1.0, GRABCUT_SIDE / max(x1 - x0, y1 - y0))
    small = cv2.resize(photo[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    pts = (np.asarray(landmarks, np.float64) - [x0, y0]) * scale
    size = small.shape[:2]
    seeds = np.full(size, cv2.GC_PR_BGD, np.uint8)
    seeds[face_hull_mask(pts, size, 1.6) | hair_ellipse_mask(pts, size)] = cv2.GC_PR_FGD
    seeds[_neck_column(pts, size)] = cv2.GC_PR_FGD
    seeds[face_hull_mask(pts, size, 0.9) | _neck_column(pts, size, 0.45, (6, 10))] = cv2.GC_FGD
    rim = max(2, int(0.03 * max(size)))
    # the box's rim is sure background, except where the image edge clipped the box (the head goes on)
    if y0 > 0:
        seeds[:rim] = cv2.GC_BGD
    if x0 > 0:
        seeds[:, :rim] = cv2.GC_BGD
    if x1 < w:
        seeds[:, -rim:] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)  # GrabCut's k-means starts from OpenCV's RNG: seed it so re-renders match
    cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), seeds, None, bgd, fgd, 5, cv2.GC_INIT_WITH_MASK)
    fg = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.float32)
    out = np.zeros((h, w), np.float32)
    out[y0:y1, x0:x1] = cv2.resize(fg, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return out


def _neck_column(pts: np.ndarray, size: tuple[int, int], depth: float = 0.7,
                 sides: tuple[int, int] = (4, 12)) -> np.ndarray:
    """(H, W) bool: the quadrilateral under the jaw between two jaw landmarks, ``depth`` face heights down."""
    import cv2

    neck = NeckLine.from_landmarks(pts)
    drop = depth * neck.height * neck.down
    a, b = pts[sides[0]], pts[sides[1]]
    quad = np.array([a, b, b + drop, a + drop])
    mask = np.zeros(size, np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad).astype(np.int32), 1)
    return mask.astype(bool)


def segment_head(rt: Any, photo: np.ndarray, landmarks: np.ndarray, method: str = "auto") -> Segmentation:
    """The head's soft mask, by the model when it can be used and trusted, else by GrabCut.

    Args:
        rt: Runtime (resolves and caches the model) or None (GrabCut only).
        method: "auto" | "model" | "grabcut"; "model" raises when the model is missing.
    """
    from ...runtime.errors import MissingWeightsError, UsageError

    if method not in ("auto", "model", "grabcut"):
        raise UsageError(f"segmentation method must be auto, model or grabcut, got {method!r}")
    box = head_box(landmarks, photo.shape[:2])
    reason = "asked for grabcut"
    if method != "grabcut":
        try:
            if rt is None:
                raise MissingWeightsError("no runtime given to resolve the model")
            mask = segment_model(rt, photo, box)
        except MissingWeightsError as exc:
            if method == "model":
                raise
            reason = f"model missing ({str(exc).splitlines()[0]})"
        else:
            hull = face_hull_mask(landmarks, photo.shape[:2], 0.9)
            coverage = float(mask[hull].mean()) if hull.any() else 0.0
            if coverage >= FACE_COVERAGE or method == "model":
                return Segmentation(mask, box, "selfie-segmentation", f"model ran (face coverage {coverage:.2f})")
            reason = f"model's mask covers only {coverage:.0%} of the face (painting or unusual photo?)"
    return Segmentation(segment_grabcut(photo, landmarks, box), box, "grabcut", reason)
