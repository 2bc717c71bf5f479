"""The mouth interior: what shows between the lips once the driven inner-lip polygon opens (issue 19, after
Averbuch-Elor et al., "Bringing Portraits to Life", SIGGRAPH Asia 2017, §5: the driver's mouth interior
warped into the target's lips, colour-matched, blended with a feathered inner-lip matte).

Sources, in order of preference (``choose``):
- "own": one of the person's own few-shot frames whose mouth has the target's shape (same person, same
  light: no colour change needed);
- "driver": the driving video's mouth interior, warped to the target's inner-lip polygon and colour-matched
  to the source (Lab: lightness mean and spread, and the chroma offset, measured on the lips of both); in
  self-reenactment the caller passes ANOTHER clip as ``interior`` (never the target frame itself);
- "synth": a dark shaded cavity with the upper teeth hung from the upper lip and the lower teeth on the lower
  lip (``teeth``): the photo's own teeth when it shows them, else a neutral band.
Pressed lips: the interior layer covers only the target's inner-lip polygon, over the plate whose mouth is
closed (``plate``), so lips that meet show no teeth; a faint seam is drawn along the upper inner lip.

Images (H, W, 3) uint8 RGB; landmarks (68, 2) px; windows x0, y0, x1, y1; layers float32 RGB [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour_match import lab_stats, transfer_lab
from .regions import INNER_LIP, OUTER_LIP, UPPER_INNER, box_around, mouth_opening, mouth_width, polygon_mask
from .teeth import OPEN_THRESHOLD, TeethLayer, lip_mask, neutral_teeth, place_layer, source_teeth

MATTE_FEATHER = 0.012   # inner-lip matte feather, sigma as a fraction of the mouth width
SEAM_ALPHA = 0.45       # darkness of the closed-lip seam
OWN_GATE = 0.08         # own frame used when its mouth's region_distance to the target is below this
CAVITY_DARK = (0.10, 0.035, 0.035)   # RGB deep in the mouth, before the face's light is applied
SOURCES = ("own", "driver", "synth", "closed", "fallback")


@dataclass
class SourceMouth:
    """What the photo tells about its mouth, measured once per shot.

    Attributes:
        teeth: (upper, lower) layers of the photo's own interior when it shows teeth, else None.
        lips: Lab (mean, std) of the photo's lips.
        lip_rgb: (3,) mean lip colour, float [0, 1].
        light: the face's lightness (Lab L of the lips / 100), scales the cavity and neutral teeth.
    """

    teeth: tuple[TeethLayer, TeethLayer] | None
    lips: tuple[np.ndarray, np.ndarray] | None
    lip_rgb: np.ndarray
    light: float


def analyse_source(photo: np.ndarray, landmarks: np.ndarray) -> SourceMouth:
    """Measure the photo's mouth (see ``SourceMouth``)."""
    mask = lip_mask(photo.shape[:2], landmarks)
    lips = lab_stats(photo, mask)
    wts = mask.reshape(-1)
    lip_rgb = (photo.reshape(-1, 3).astype(np.float64) / 255 * wts[:, None]).sum(0) / max(wts.sum(), 1e-9)
    light = float(lips[0][0] / 100) if lips is not None else 0.5
    return SourceMouth(source_teeth(photo, landmarks), lips, lip_rgb.astype(np.float32), light)


def mouth_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The window every mouth layer is drawn in (the outer lips grown by half their extent)."""
    return box_around(np.asarray(landmarks)[OUTER_LIP], size, grow=0.5)


def cavity(landmarks: np.ndarray, box: tuple[int, int, int, int], src: SourceMouth) -> np.ndarray:
    """A dark, shaded mouth cavity in ``box``: lip-coloured shadow at the lips, darkest inside and under the
    upper lip. Returns (h, w, 3) float32."""
    import cv2

    x0, y0, x1, y1 = box
    local = np.asarray(landmarks, np.float64) - [x0, y0]
    inside = (polygon_mask(local[INNER_LIP], (y1 - y0, x1 - x0)) > 0.5).astype(np.uint8)
    depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    scale = max(0.08 * mouth_width(local), 1.0)
    t = np.exp(-depth / scale)[..., None]                     # 1 at the lips, -> 0 deep inside
    deep = np.array(CAVITY_DARK, np.float32) * (0.6 + 0.8 * src.light)
    rim = 0.45 * src.lip_rgb
    return (deep + t * (rim - deep)).astype(np.float32)


def synth_interior(landmarks: np.ndarray, box: tuple[int, int, int, int], src: SourceMouth) -> np.ndarray:
    """The synthesised interior in ``box``: ``cavity`` with lower then upper teeth over it, (h, w, 3)."""
    rgb = cavity(landmarks, box, src)
    layers = src.teeth
    if layers is None:
        p = np.asarray(landmarks, np.float64)
        tone = float(np.clip(0.35 + 0.6 * src.light, 0.45, 0.9))
        layers = neutral_teeth(float(np.linalg.norm(p[64] - p[60])), tone)
    for layer in (layers[1], layers[0]):
        teeth_rgb, alpha = place_layer(layer, landmarks, box)
        rgb += alpha[..., None] * (teeth_rgb - rgb)
    return rgb


def warp_interior(image: np.ndarray, image_lms: np.ndarray, landmarks: np.ndarray,
                  box: tuple[int, int, int, int]) -> np.ndarray:
    """``image``'s mouth warped onto ``landmarks``' lips (piecewise affine on the 20 mouth points), in
    ``box``: (h, w, 3) float32 [0, 1]."""
    import cv2

    from ..warping.warp import piecewise_affine_maps

    x0, y0, x1, y1 = box
    idx = np.arange(48, 68)
    dst = np.asarray(landmarks, np.float64)[idx] - [x0, y0]
    map_x, map_y = piecewise_affine_maps((y1 - y0, x1 - x0), np.asarray(image_lms, np.float64)[idx], dst)
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.astype(np.float32) / 255.0 if out.dtype == np.uint8 else out.astype(np.float32)


def driver_interior(image: np.ndarray, image_lms: np.ndarray, landmarks: np.ndarray,
                    box: tuple[int, int, int, int], src: SourceMouth) -> np.ndarray:
    """The driver's (or another clip's) mouth interior, warped to the target lips and colour-matched to the
    photo: Lab lightness mean and spread and the chroma offset of its lips moved to the photo's lips."""
    rgb = warp_interior(image, image_lms, landmarks, box)
    x0, y0, _x1, _y1 = box
    local = np.asarray(landmarks, np.float64) - [x0, y0]
    stats = lab_stats(rgb, lip_mask(rgb.shape[:2], local))
    if stats is None or src.lips is None:
        return rgb
    return transfer_lab(rgb, stats, src.lips, scale_std=(True, False, False))


def own_match(own_lms: np.ndarray, landmarks: np.ndarray, gate: float = OWN_GATE) -> int | None:
    """Index of the own frame whose mouth shape (``region_warp.region_distance`` on 48-67) is nearest the
    target's and below ``gate`` and that opens at least 80 % as wide, or None."""
    from ..warping.region_warp import region_distance

    idx = np.arange(48, 68)
    want = mouth_opening(landmarks)
    best, best_d = None, gate
    for k, lms in enumerate(np.asarray(own_lms)):
        d = region_distance(lms, landmarks, idx)
        if d < best_d and mouth_opening(lms) >= 0.8 * want:
            best, best_d = k, d
    return best


def mouth_matte(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The feathered inner-lip matte in ``box`` with the closed-lip seam: (h, w) float32."""
    import cv2

    x0, y0, x1, y1 = box
    local = np.asarray(landmarks, np.float64) - [x0, y0]
    width = mouth_width(local)
    matte = polygon_mask(local[INNER_LIP], (y1 - y0, x1 - x0), feather=max(0.4, MATTE_FEATHER * width))
    seam = np.zeros_like(matte)
    thick = max(1, round(0.012 * width))
    pts = np.round(local[UPPER_INNER] * 4).astype(np.int32)
    cv2.polylines(seam, [pts], False, 1.0, thickness=thick, lineType=cv2.LINE_AA, shift=2)
    return np.maximum(matte, SEAM_ALPHA * seam)


def choose(landmarks: np.ndarray, own_lms: np.ndarray | None, has_driver: bool, occluded: bool) -> str:
    """Which interior source a frame uses: "fallback" (mouth occluded: plain warp), "closed" (nothing to
    fill), "own", "driver" or "synth" (see module docstring)."""
    if occluded:
        return "fallback"
    if mouth_opening(landmarks) < 0.5 * OPEN_THRESHOLD:
        return "closed"
    if own_lms is not None and len(own_lms) and own_match(own_lms, landmarks) is not None:
        return "own"
    return "driver" if has_driver else "synth"


def render_mouth(frame: np.ndarray, landmarks: np.ndarray, src: SourceMouth, source: str,
                 interior: tuple[np.ndarray, np.ndarray] | None = None,
                 own: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Draw the mouth interior of ``source`` into ``frame`` (a copy is returned).

    Args:
        frame: (H, W, 3) uint8, the warped closed-mouth plate at the target pose.
        landmarks: (68, 2) target landmarks.
        src: the photo's ``SourceMouth``.
        source: from ``choose``; "fallback" returns ``frame`` unchanged.
        interior: (image, its landmarks) of the driver frame (or the other clip's frame) for "driver".
        own: (image, its landmarks) of the chosen own frame for "own".
    """
    if source == "fallback":
        return frame
    box = mouth_box(landmarks, frame.shape[:2])
    x0, y0, x1, y1 = box
    if source == "own" and own is not None:
        rgb = warp_interior(own[0], own[1], landmarks, box)
    elif source == "driver" and interior is not None:
        rgb = driver_interior(interior[0], interior[1], landmarks, box, src)
    else:
        rgb = synth_interior(landmarks, box, src)
    if source == "closed":
        rgb = np.broadcast_to(0.55 * src.lip_rgb, rgb.shape).astype(np.float32)
    alpha = mouth_matte(landmarks, box)[..., None]
    out = frame.copy()
    window = out[y0:y1, x0:x1].astype(np.float32) / 255.0
    out[y0:y1, x0:x1] = np.clip(np.round((window + alpha * (rgb - window)) * 255), 0, 255).astype(np.uint8)
    return out


__all__ = ["SOURCES", "SourceMouth", "analyse_source", "cavity", "choose", "driver_interior", "mouth_box",
           "mouth_matte", "own_match", "render_mouth", "synth_interior", "warp_interior"]
