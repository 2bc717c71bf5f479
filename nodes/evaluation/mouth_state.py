"""Mouth state of one face: "closed", "open-dark" (open, no teeth showing) or "teeth" (teeth visible).

Classified from the inner-lip polygon (points 60-67) and the pixels inside it, the same way on any image
(driver or output), in a copy of the mouth rescaled so the mouth is ``WORK_WIDTH`` px wide:
- the opening is the inner-lip gap over the mouth width (``metrics.mouth_opening``);
- inside the polygon (eroded by a pixel of the work scale, so lip edges do not count), a pixel is
  *teeth* when it is not dark and clearly less saturated than skin: luma >= ``TEETH_LUMA`` x the skin's
  and HSV saturation <= ``TEETH_SAT`` x the skin's (on the shared clips, photos and paintings lips and
  tongue are as saturated as skin or more, teeth less, also under warm light where teeth are only half
  as bright as the skin); in a monochrome image (skin saturation < ``MONO_SAT``) saturation says
  nothing, and teeth are the pixels with luma >= ``MONO_TEETH_LUMA`` x the skin's. A pixel is *dark*
  when its luma <= ``DARK_LUMA`` x the skin's. The skin reference is the median over the nose (the box
  of points 28-35), lit like the mouth and not covered by hair or beard in a frontal face;
- opening < ``CLOSED_OPENING``: closed; else teeth when the teeth pixels cover >= ``TEETH_FRACTION`` of
  the polygon; else, when the opening is below ``OPEN_OPENING``, the lips merely part: open-dark only
  if dark pixels cover >= ``DARK_FRACTION``, closed otherwise (a lip-coloured strip); above it, open-dark.
Pressed lips with a strip of teeth between them therefore count as "teeth", not "closed".
"""
from __future__ import annotations

import numpy as np

MOUTH_STATES = ("closed", "open-dark", "teeth")
WORK_WIDTH = 64          # mouth width (48-54) in the working copy, px
CLOSED_OPENING = 0.04    # inner gap / mouth width below which the lips touch
OPEN_OPENING = 0.10      # above this the mouth is open whatever the pixels show
TEETH_LUMA = 0.5
TEETH_SAT = 0.85
MONO_SAT = 0.08
MONO_TEETH_LUMA = 0.9
DARK_LUMA = 0.45
TEETH_FRACTION = 0.15
DARK_FRACTION = 0.4
INNER_LIP = tuple(range(60, 68))
NOSE_BOX = tuple(range(28, 36))


def _luma_sat(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = rgb.astype(np.float32)
    luma = x @ np.array([0.299, 0.587, 0.114], np.float32)
    hi, lo = x.max(-1), x.min(-1)
    return luma, np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0.0)


def _work_copy(image: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box around mouth and nose, rescaled so the mouth is ``WORK_WIDTH`` px wide; (crop, moved pts)."""
    import cv2

    width = float(np.linalg.norm(pts[54] - pts[48]))
    if width < 4:
        raise ValueError("the mouth is under 4 px wide")
    scale = WORK_WIDTH / width
    sel = pts[list(NOSE_BOX) + list(range(48, 68))]
    lo = np.floor(sel.min(0) - 0.1 * width).astype(int)
    hi = np.ceil(sel.max(0) + 0.1 * width).astype(int)
    h, w = image.shape[:2]
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError("the mouth lies outside the image")
    crop = image[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(crop[..., :3]), size, interpolation=interp), (pts - [x0, y0]) * scale


def mouth_features(image: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """Opening and the teeth / dark pixel fractions inside the inner-lip polygon (see module docstring).

    Args:
        image: (H, W, 3) uint8 RGB.
        landmarks: (68, 2) px.
    Returns:
        {"opening", "teeth", "dark", "skin_luma"}; the fractions are 0 when the polygon covers no pixel.
    """
    import cv2

    from .metrics import mouth_opening

    pts = np.asarray(landmarks, np.float64)
    opening = mouth_opening(pts)
    crop, moved = _work_copy(image, pts)
    luma, sat = _luma_sat(crop)
    nose = moved[list(NOSE_BOX)]
    nx0, ny0 = np.clip(np.floor(nose.min(0)).astype(int), 0, None)
    nx1, ny1 = np.ceil(nose.max(0)).astype(int) + 1
    skin_l = luma[ny0:ny1, nx0:nx1]
    skin_luma = float(np.median(skin_l)) if skin_l.size else float(np.median(luma))
    skin_sat = float(np.median(sat[ny0:ny1, nx0:nx1])) if skin_l.size else float(np.median(sat))
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(moved[list(INNER_LIP)] * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
    if not mask.any():
        return {"opening": opening, "teeth": 0.0, "dark": 0.0, "skin_luma": skin_luma}
    if skin_sat < MONO_SAT:
        teeth = luma >= MONO_TEETH_LUMA * skin_luma
    else:
        teeth = (luma >= TEETH_LUMA * skin_luma) & (sat <= TEETH_SAT * skin_sat)
    dark = luma <= DARK_LUMA * skin_luma
    return {"opening": opening, "teeth": float(teeth[mask].mean()), "dark": float(dark[mask].mean()),
            "skin_luma": skin_luma}


def classify_features(features: dict[str, float]) -> str:
    """The state from ``mouth_features`` (rules in the module docstring)."""
    if features["opening"] < CLOSED_OPENING:
        return "closed"
    if features["teeth"] >= TEETH_FRACTION:
        return "teeth"
    if features["opening"] < OPEN_OPENING and features["dark"] < DARK_FRACTION:
        return "closed"
    return "open-dark"


def mouth_state(image: np.ndarray, landmarks: np.ndarray | None) -> str | None:
    """"closed", "open-dark" or "teeth" for a face with (68, 2) ``landmarks``; None without a face."""
    if landmarks is None or not np.isfinite(np.asarray(landmarks, np.float64)).all():
        return None
    try:
        return classify_features(mouth_features(image, landmarks))
    except ValueError:
        return None


__all__ = ["MOUTH_STATES", "classify_features", "mouth_features", "mouth_state"]
