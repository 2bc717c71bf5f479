"""The source photo with its apertures closed: the mouth interior and the eye openings filled from the
skin and lips around them (inpainting), once per shot.

Warped with the face's own motion, this plate gives skin and lips wherever the target's mouth or eyes are
closed: pressed lips over a photo that shows teeth show no strip of teeth, and a closed lid shows lid skin
instead of a squeezed, ghosted iris. The open parts are then drawn over it (``mouth``, ``eyes``). A photo
whose lips already meet (``lips_meet``) keeps its own lip line wherever the target's lips meet too.

Images are (H, W, 3) uint8 RGB; landmarks (68, 2) px.
"""
from __future__ import annotations

import numpy as np

from .colour_match import to_lab
from .regions import EYES, INNER_LIP, OUTER_LIP, box_around, mouth_opening, polygon_mask
from .teeth import OPEN_THRESHOLD, teeth_mask

GROW_PX = 1.5   # the mouth aperture grown by this much (landmarks sit on the edge, anti-aliased pixels straddle it)
EYE_GROW_PX = 0.5   # the eyes' less: their (refined) points sit on the lid margin, whose lash line must stay
MIN_PIXELS = 8      # pixels needed to take the teeth's or the lips' colour (``teeth_beyond``)


def aperture_masks(photo: np.ndarray, landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Binary (H, W) uint8 masks of what ``close_apertures`` fills: "mouth" (the inner-lip polygon, plus
    the teeth the tracker left outside it, ``teeth_beyond``) grown by ``GROW_PX``, "eye0" and "eye1" (the
    eye polygons) grown by ``EYE_GROW_PX``."""
    import cv2

    size = photo.shape[:2]
    p = np.asarray(landmarks, np.float64)
    inner = polygon_mask(p[INNER_LIP], size) > 0.3
    masks = {"mouth": inner | teeth_beyond(photo, p, inner)}
    for i, idx in enumerate(EYES):
        masks[f"eye{i}"] = polygon_mask(p[idx], size) > 0.3
    out = {}
    for name, m in masks.items():
        k = 2 * int(np.ceil(GROW_PX if name == "mouth" else EYE_GROW_PX)) + 1
        out[name] = cv2.dilate(m.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return out


def teeth_beyond(photo: np.ndarray, landmarks: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(H, W) bool: teeth inside the outer lips but outside the inner-lip polygon ``inner`` (the tracker put
    an inner-lip point on the teeth): the teeth-like pixels (``teeth.teeth_mask``) whose colour (Lab a, b)
    is nearer the teeth's (those inside ``inner``, else all of them) than the lips' (the other pixels between
    the lips). A pale, lit lower lip passes ``teeth_mask``'s test of light and saturation; inpainted with the
    teeth, it left a smudge where the lip should open."""
    out = np.zeros(photo.shape[:2], bool)
    x0, y0, x1, y1 = box_around(landmarks[np.r_[28:36, 48:60]], photo.shape[:2], grow=0.1)   # lips and nose
    crop, local, inside = photo[y0:y1, x0:x1], landmarks - [x0, y0], inner[y0:y1, x0:x1]
    outer = polygon_mask(local[OUTER_LIP], crop.shape[:2]) > 0.5
    found = teeth_mask(crop, local, outer.astype(np.float32))
    beyond = found & ~inside
    lips = outer & ~inside & ~found
    if beyond.any() and lips.sum() >= MIN_PIXELS:
        ab = to_lab(crop)[..., 1:]
        teeth = found & inside if (found & inside).sum() >= MIN_PIXELS else found
        t, lip = np.median(ab[teeth], axis=0), np.median(ab[lips], axis=0)
        beyond &= np.linalg.norm(ab - t, axis=-1) < np.linalg.norm(ab - lip, axis=-1)
    out[y0:y1, x0:x1] = beyond
    return out


def lips_meet(photo: np.ndarray, landmarks: np.ndarray) -> bool:
    """Do the photo's lips meet, or nearly (``mouth_opening`` below ``teeth.OPEN_THRESHOLD``, no teeth
    showing)? Then the dark line between them is the junction that closed lips show: a closed target keeps
    it (``features.animate_frame``) instead of the plate's inpainted band, which smeared the lips."""
    p = np.asarray(landmarks, np.float64)
    if mouth_opening(p) >= OPEN_THRESHOLD:
        return False
    return not teeth_mask(photo, p, polygon_mask(p[OUTER_LIP], photo.shape[:2])).any()


def close_apertures(photo: np.ndarray, landmarks: np.ndarray, mouth: bool = True, eyes: bool = True,
                    masks: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """``photo`` with the mouth interior and/or the eye openings inpainted from their surroundings.

    Args:
        photo: (H, W, 3) uint8 RGB.
        landmarks: (68, 2) of the photo.
        mouth, eyes: which apertures to close.
        masks: ``aperture_masks(photo, landmarks)`` when the caller has them (default: computed here).
    Returns:
        (H, W, 3) uint8, equal to ``photo`` outside the grown apertures.
    """
    import cv2

    out = photo.copy()
    masks = aperture_masks(photo, landmarks) if masks is None else masks
    p = np.asarray(landmarks, np.float64)
    jobs = ([("mouth", p[OUTER_LIP])] if mouth else []) + ([("eye0", p[EYES[0]]), ("eye1", p[EYES[1]])] if eyes else [])
    for name, pts in jobs:
        x0, y0, x1, y1 = box_around(pts, photo.shape[:2], grow=0.6)
        hole = masks[name][y0:y1, x0:x1]
        if not hole.any():
            continue
        radius = max(3.0, 0.5 * float(np.ptp(pts[:, 1])))
        bgr = cv2.cvtColor(out[y0:y1, x0:x1], cv2.COLOR_RGB2BGR)
        filled = cv2.inpaint(bgr, hole, radius, cv2.INPAINT_TELEA)
        out[y0:y1, x0:x1] = cv2.cvtColor(filled, cv2.COLOR_BGR2RGB)
    return out


__all__ = ["EYE_GROW_PX", "GROW_PX", "aperture_masks", "close_apertures", "lips_meet", "teeth_beyond"]
