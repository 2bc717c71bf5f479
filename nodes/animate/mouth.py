"""The mouth interior: what shows between the lips once the driven inner-lip polygon opens (issue 19; after
Averbuch-Elor et al., "Bringing Portraits to Life", SIGGRAPH Asia 2017, §5, who paste the driver's interior).

Sources, in order of preference (``choose``):
- "own": one of the person's own few-shot frames whose mouth has the target's shape and shows teeth as the
  driver does (``own_match``): its whole mouth, lips and interior together (``own_mouth``, as
  ``warp-regions`` takes a region), relit to the photo;
- "driver": what the driving video's mouth shows, drawn with the photo's own material (``driver_interior``):
  a shaded cavity, as dark as the driver's (``teeth.interior_darkness``) but never lighter than
  ``DARK_FLOOR`` of its shade, with as much upper and lower
  teeth as the driver shows (``teeth.teeth_visibility``, measured over the track by ``perform``): the
  photo's own teeth when it shows them, else the driver's teeth relit to the photo (the neutral band when
  the driver's mouth is too small to hold their shape, ``DRIVER_TEETH_PX``). The driver's interior is not
  pasted: relit, its tongue and lip pixels read as lips and the mouth as half as open. In
  self-reenactment the caller passes ANOTHER clip as ``interior``, or none (never the target frame);
- "synth": the same cavity with the upper teeth hung from the upper lip and the lower teeth on the lower
  lip (``teeth``): the photo's own teeth when it shows them, else a neutral band.
The cavity follows the inner lips' smooth curve (``regions.smooth_closed``: an "O" is round), is darkest
inside and shows the tongue's back at the bottom of a wide-open mouth, as a soft glow with no edge. Pressed
lips: the interior layer covers only the target's inner-lip polygon, over the plate whose mouth is closed
(``plate``), so lips that meet show no teeth; a faint seam is drawn along the upper inner lip.

Images (H, W, 3) uint8 RGB; landmarks (68, 2) px; windows x0, y0, x1, y1; layers float32 RGB [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour_match import LUMA, exposure_gain, lab_stats, mean_rgb
from .regions import (
    INNER_LIP,
    LOWER_INNER,
    OUTER_LIP,
    UPPER_INNER,
    box_around,
    mouth_opening,
    mouth_width,
    polygon_mask,
    smooth_closed,
)
from .teeth import (
    OPEN_THRESHOLD,
    TEETH_CAST,
    TeethLayer,
    grown_teeth,
    interior_darkness,
    lip_halves,
    lip_mask,
    monochrome,
    neutral_teeth,
    place_layer,
    rooted_teeth,
    skin_colour,
    source_teeth,
    teeth_mask,
    teeth_visibility,
)

MATTE_FEATHER = 0.012   # inner-lip matte feather, sigma as a fraction of the mouth width
SEAM_ALPHA = 0.45       # darkness of the closed-lip seam
OWN_GATE = 0.08         # own frame used when its mouth's region_distance to the target is below this
OWN_POINTS = np.r_[2:15, 31:36, 48:68]   # an own frame's mouth is warped on these (mouth, nose base, jaw)
OWN_LIGHT = (0.7, 1.4)  # limits of its relighting gain
SHOWS_TEETH = 0.5       # a mouth whose upper or lower teeth visibility reaches this shows its teeth
CAVITY_DEEP = np.array([0.22, 0.10, 0.08], np.float32)   # the cavity deep inside and at the lips, as fractions of
CAVITY_RIM = np.array([0.55, 0.40, 0.37], np.float32)    # the lips' colour per channel: darker and redder than the
                        # lips (lp_d3's open mouths without teeth: 0.29/0.16/0.12 of its lips' colour), the
                        # lips' wet inner edge lighter; the lips' hue scaled down read as a grey-mauve cut-out
CAVITY_FALLOFF = 0.1    # ... changing over this fraction of the mouth's width
TONGUE = np.array([0.50, 0.30, 0.28], np.float32)   # the tongue's back, as a fraction of the lips' colour
TONGUE_OPENING = (0.15, 0.35)   # it shows from this mouth opening, fully from this one
TONGUE_ALPHA = 0.7
TONGUE_SOFT = 0.4       # its blur, sigma as a fraction of the lips' gap: a tongue with an edge reads as the
                        # lower lip to a landmark tracker, and the mouth as less open
LIP_STRIP = 0.8         # a parted mouth that is not dark inside shows this much of the lips' colour ...
DARK_FLOOR = 0.85       # ... but at least this much of the cavity's shade: a landmark tracker reads a light
                        # interior as lips and the mouth as closed (mouth states then disagree)
DRIVER_TEETH_PX = 40    # a driver's mouth narrower than this (px between the inner corners) holds no tooth's
                        # shape: its teeth, under 5 px each, are a soft white blob; the photo's teeth band is drawn
SOURCES = ("own", "driver", "synth", "closed", "fallback")


@dataclass
class SourceMouth:
    """What the photo tells about its mouth, measured once per shot.

    Attributes:
        teeth: (upper, lower) layers of the photo's own interior when it shows teeth, else None.
        lips: Lab (mean, std) of the photo's lips.
        lip_rgb: (3,) mean lip colour, float [0, 1].
        light: the face's lightness (Lab L of the lips / 100), scales the cavity and neutral teeth.
        skin: (3,) the photo's skin colour, float [0, 1] (``teeth.skin_colour``): the colour of neutral teeth
            (``teeth.teeth_colour``) and the light a driver's teeth are relit to, or None (no nose in the
            photo: a tone from ``light``).
    """

    teeth: tuple[TeethLayer, TeethLayer] | None
    lips: tuple[np.ndarray, np.ndarray] | None
    lip_rgb: np.ndarray
    light: float
    skin: np.ndarray | None = None


def analyse_source(photo: np.ndarray, landmarks: np.ndarray) -> SourceMouth:
    """Measure the photo's mouth (see ``SourceMouth``) in the box around the mouth and the nose: every measure
    reads only the lips, the mouth's interior and the nose, not the whole frame in Lab and in luma."""
    p = np.asarray(landmarks, np.float64)
    x0, y0, x1, y1 = box_around(p[np.r_[27:36, 48:68]], photo.shape[:2], grow=0.2)
    photo, landmarks = photo[y0:y1, x0:x1], p - [x0, y0]
    mask = lip_mask(photo.shape[:2], landmarks)
    lips = lab_stats(photo, mask)
    wts = mask.reshape(-1)
    lip_rgb = (photo.reshape(-1, 3).astype(np.float64) / 255 * wts[:, None]).sum(0) / max(wts.sum(), 1e-9)
    light = float(lips[0][0] / 100) if lips is not None else 0.5
    return SourceMouth(source_teeth(photo, landmarks), lips, lip_rgb.astype(np.float32), light,
                       skin_colour(photo, landmarks))


def mouth_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The window every mouth layer is drawn in (the outer lips grown by half their extent)."""
    return box_around(np.asarray(landmarks)[OUTER_LIP], size, grow=0.5)


def cavity(landmarks: np.ndarray, box: tuple[int, int, int, int], src: SourceMouth, dark: float = 1.0) -> np.ndarray:
    """A dark, shaded mouth cavity in ``box``: darker and redder than the lips, lightest at their wet inner
    edge and darkest inside (``CAVITY_RIM`` to ``CAVITY_DEEP``), and in a
    wide-open mouth the tongue's back lit at the bottom. ``dark`` in [0, 1] blends it with a lip-coloured
    strip (0: the lips barely part and nothing shows between them, as the driver's; at least
    ``DARK_FLOOR``). Returns (h, w, 3) float32."""
    import cv2

    x0, y0, x1, y1 = box
    local = np.asarray(landmarks, np.float64) - [x0, y0]
    size = (y1 - y0, x1 - x0)
    inside = (polygon_mask(smooth_closed(local[INNER_LIP]), size) > 0.5).astype(np.uint8)
    depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    width = mouth_width(local)
    t = np.exp(-depth / max(CAVITY_FALLOFF * width, 1.0))[..., None]        # 1 at the lips, -> 0 deep inside
    lips = src.lip_rgb.astype(np.float32)
    shade = lips * (CAVITY_DEEP + t * (CAVITY_RIM - CAVITY_DEEP))
    opening = mouth_opening(local)
    show = float(np.clip((opening - TONGUE_OPENING[0]) / (TONGUE_OPENING[1] - TONGUE_OPENING[0]), 0, 1))
    if show > 0:
        bottom = local[[65, 66, 67]].mean(0)
        gap = float(np.linalg.norm(local[66] - local[62]))
        axes = (max(1, round(0.28 * width)), max(1, round(0.3 * gap)))
        tongue = np.zeros(size, np.float32)
        cv2.ellipse(tongue, tuple(round(float(v)) for v in bottom), axes, 0, 180, 360, 1.0, -1, cv2.LINE_AA)
        tongue = cv2.GaussianBlur(tongue, (0, 0), max(0.6, TONGUE_SOFT * gap)) * inside * show * TONGUE_ALPHA
        shade += tongue[..., None] * (TONGUE * lips - shade)
    strip = LIP_STRIP * lips
    return (strip + max(float(np.clip(dark, 0, 1)), DARK_FLOOR) * (shade - strip)).astype(np.float32)


def teeth_interior(landmarks: np.ndarray, box: tuple[int, int, int, int], src: SourceMouth,
                   layers: tuple[TeethLayer, TeethLayer], visible: np.ndarray = (1.0, 1.0), dark: float = 1.0
                   ) -> np.ndarray:
    """``cavity`` with the lower, then the upper teeth ``layers`` over it (``teeth.place_layer``: hung
    from their lip, never stretched), each shown by its ``visible`` share (upper, lower) in [0, 1]: that
    share of its height shows below its lip, the rest is drawn back behind the lip (never a veil of teeth
    over the cavity)."""
    rgb = cavity(landmarks, box, src, dark)
    for layer, share in ((layers[1], float(visible[1])), (layers[0], float(visible[0]))):
        if share > 0:
            teeth_rgb, alpha = place_layer(layer, landmarks, box, hidden=1.0 - share)
            rgb += alpha[..., None] * (teeth_rgb - rgb)
    return rgb


def photo_teeth(landmarks: np.ndarray, src: SourceMouth) -> tuple[TeethLayer, TeethLayer]:
    """The photo's own teeth layers, or a neutral band toned to the face when it shows none."""
    if src.teeth is not None:
        return src.teeth
    p = np.asarray(landmarks, np.float64)
    if src.skin is not None:
        return neutral_teeth(float(np.linalg.norm(p[64] - p[60])), skin=src.skin)
    tone = float(np.clip(0.35 + 0.6 * src.light, 0.45, 0.9))
    return neutral_teeth(float(np.linalg.norm(p[64] - p[60])), tone)


def synth_interior(landmarks: np.ndarray, box: tuple[int, int, int, int], src: SourceMouth) -> np.ndarray:
    """The synthesised interior in ``box``: ``cavity`` with lower then upper teeth over it, (h, w, 3)."""
    return teeth_interior(landmarks, box, src, photo_teeth(landmarks, src))


def own_mouth(window: np.ndarray, image: np.ndarray, image_lms: np.ndarray, landmarks: np.ndarray,
              box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """An own frame's whole mouth, lips and interior together, on the target's (the region source of
    ``warp-regions``): ``image`` warped piecewise-affinely on ``OWN_POINTS`` into ``box``, relit to
    ``window`` (the frame's pixels in ``box``, uint8) by the skin around the lips (``colour_match.exposure_gain``:
    another photo of the person may be lit otherwise), shown through the grown, feathered outer-lip hull
    (``region_warp.region_mask``). Returns rgb (h, w, 3) float32 [0, 1] and alpha (h, w, 1)."""
    import cv2

    from ..warping.region_warp import region_mask
    from ..warping.warp import piecewise_affine_maps

    x0, y0, x1, y1 = box
    size = (y1 - y0, x1 - x0)
    local = np.asarray(landmarks, np.float64) - [x0, y0]
    map_x, map_y = piecewise_affine_maps(size, np.asarray(image_lms, np.float64)[OWN_POINTS], local[OWN_POINTS])
    rgb = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32) / 255
    alpha = region_mask(local, (OUTER_LIP,), size)
    skin = alpha[..., 0] * (1 - polygon_mask(local[OUTER_LIP], size))
    have, got = mean_rgb(window, skin), mean_rgb(rgb, skin)
    if have is not None and got is not None:
        rgb = np.clip(rgb * exposure_gain(have, got, 1.0, OWN_LIGHT).astype(np.float32), 0, 1)
    return rgb, alpha


def driver_teeth_layers(image: np.ndarray, image_lms: np.ndarray, src: SourceMouth
                        ) -> tuple[TeethLayer, TeethLayer]:
    """The driver's own teeth as (upper, lower) layers, for a photo that shows none: its mouth relit to the
    photo and only its teeth-like pixels (``teeth.teeth_mask``, softened) in each half of its lips that hang
    from, or stand on, that half's lip (``teeth.rooted_teeth``).

    The light is measured on the skin of both faces (``teeth.skin_colour``): its exposure, and
    ``TEETH_CAST`` of its hue (``colour_match.exposure_gain``), so a warm painting gets ivory teeth, a cold
    photo cooler ones and a black-and-white photo grey ones. The lips are no measure of light: relit by the
    ratio of the two mouths' lip colours, a pale-lipped driver's teeth turned salmon in a red-lipped photo
    (and then read as lips)."""
    import cv2

    p = np.asarray(image_lms, np.float64)
    x0, y0, x1, y1 = box_around(p[np.r_[28:36, 48:60]], image.shape[:2], grow=0.1)   # the nose: skin reference
    crop = image[y0:y1, x0:x1]
    local = p - [x0, y0]
    rgb = crop.astype(np.float32) / 255.0
    skin = skin_colour(crop, local)
    if src.skin is not None and skin is not None:
        rgb = np.clip(rgb * exposure_gain(src.skin, skin, TEETH_CAST).astype(np.float32), 0, 1)
    if src.skin is not None and monochrome(src.skin):   # a black-and-white photo gets grey teeth
        rgb = np.repeat(rgb @ LUMA.astype(np.float32), 3).reshape(rgb.shape)
    teeth = grown_teeth(crop, local, teeth_mask(crop, local))
    upper, lower = lip_halves(rgb.shape[:2], local, teeth)
    on_upper, on_lower = rooted_teeth(teeth, local, (upper, lower))
    soft = [cv2.GaussianBlur(m.astype(np.float32), (0, 0), 0.7) for m in (on_upper, on_lower)]
    return (TeethLayer(rgb, upper * soft[0], local[UPPER_INNER], UPPER_INNER),
            TeethLayer(rgb, lower * soft[1], local[LOWER_INNER], LOWER_INNER))


def driver_interior(image: np.ndarray, image_lms: np.ndarray, landmarks: np.ndarray,
                    box: tuple[int, int, int, int], src: SourceMouth, visible: np.ndarray | None = None,
                    dark: float | None = None) -> np.ndarray:
    """The interior a driving frame asks for: the shaded cavity with as much upper and lower teeth as the
    driver shows (``visible``, default ``teeth.teeth_visibility`` of the frame): the photo's own teeth when
    it shows them (``SourceMouth.teeth``), else the driver's teeth relit (``driver_teeth_layers``), or the
    neutral band (``photo_teeth``) when the driver's inner mouth is narrower than ``DRIVER_TEETH_PX``.

    The driver's interior itself is not pasted: its tongue and the lip pixels its inner-lip points enclose
    read as lips once relit, which a landmark tracker then takes for a mouth half as open (on the demo pair
    its re-detected opening was 0.56 of the target's, 0.82 with the cavity)."""
    shown = teeth_visibility(image, image_lms) if visible is None else np.asarray(visible, np.float64)
    dark = interior_darkness(image, image_lms) if dark is None else dark
    if not np.any(shown > 0):
        return cavity(landmarks, box, src, dark)
    p = np.asarray(image_lms, np.float64)
    if src.teeth is not None or np.linalg.norm(p[64] - p[60]) < DRIVER_TEETH_PX:
        layers = photo_teeth(landmarks, src)
    else:
        layers = driver_teeth_layers(image, image_lms, src)
    return teeth_interior(landmarks, box, src, layers, shown, dark)


def own_match(own_lms: np.ndarray, landmarks: np.ndarray, gate: float = OWN_GATE, own_teeth: np.ndarray | None = None,
              teeth: np.ndarray | None = None) -> int | None:
    """Index of the own frame whose mouth shape (``region_warp.region_distance`` on 48-67) is nearest the
    target's and below ``gate`` and that opens at least 80 % as wide, or None. With ``teeth`` (2,), how much
    upper and lower teeth the driver shows, and ``own_teeth`` (K, 2), the same of each own frame, only a
    frame that shows teeth as the driver does (``shows_teeth``) is taken: a dark opening of the right shape
    is not the driver's smile."""
    from ..warping.region_warp import region_distance

    idx = np.arange(48, 68)
    want = mouth_opening(landmarks)
    best, best_d = None, gate
    for k, lms in enumerate(np.asarray(own_lms)):
        if teeth is not None and own_teeth is not None and shows_teeth(own_teeth[k]) != shows_teeth(teeth):
            continue
        d = region_distance(lms, landmarks, idx)
        if d < best_d and mouth_opening(lms) >= 0.8 * want:
            best, best_d = k, d
    return best


def shows_teeth(visible: np.ndarray) -> bool:
    """Does a mouth show its teeth, from its (upper, lower) ``teeth.teeth_visibility``?"""
    return bool(np.max(visible) >= SHOWS_TEETH)


def mouth_matte(landmarks: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The feathered inner-lip matte in ``box`` with the closed-lip seam: (h, w) float32."""
    import cv2

    x0, y0, x1, y1 = box
    local = np.asarray(landmarks, np.float64) - [x0, y0]
    width = mouth_width(local)
    matte = polygon_mask(smooth_closed(local[INNER_LIP]), (y1 - y0, x1 - x0), feather=max(0.4, MATTE_FEATHER * width))
    seam = np.zeros_like(matte)
    thick = max(1, round(0.012 * width))
    pts = np.round(local[UPPER_INNER] * 4).astype(np.int32)
    cv2.polylines(seam, [pts], False, 1.0, thickness=thick, lineType=cv2.LINE_AA, shift=2)
    return np.maximum(matte, SEAM_ALPHA * seam)


def choose(landmarks: np.ndarray, own_lms: np.ndarray | None, has_driver: bool, occluded: bool,
           own_teeth: np.ndarray | None = None, teeth: np.ndarray | None = None) -> str:
    """Which interior source a frame uses: "fallback" (mouth occluded: plain warp), "closed" (nothing to
    fill), "own", "driver" or "synth" (see module docstring; ``own_teeth``, ``teeth``: ``own_match``)."""
    if occluded:
        return "fallback"
    if mouth_opening(landmarks) < 0.5 * OPEN_THRESHOLD:
        return "closed"
    if own_lms is not None and len(own_lms) and own_match(own_lms, landmarks, OWN_GATE, own_teeth, teeth) is not None:
        return "own"
    return "driver" if has_driver else "synth"


def render_mouth(frame: np.ndarray, landmarks: np.ndarray, src: SourceMouth, source: str,
                 interior: tuple[np.ndarray, np.ndarray] | None = None,
                 own: tuple[np.ndarray, np.ndarray] | None = None, teeth: np.ndarray | None = None,
                 dark: float | None = None) -> np.ndarray:
    """Draw the mouth interior of ``source`` into ``frame`` (for "own": the own frame's whole mouth); a copy
    is returned.

    Args:
        frame: (H, W, 3) uint8, the warped closed-mouth plate at the target pose.
        landmarks: (68, 2) target landmarks.
        src: the photo's ``SourceMouth``.
        source: from ``choose``; "fallback" returns ``frame`` unchanged.
        interior: (image, its landmarks) of the driver frame (or the other clip's frame) for "driver".
        own: (image, its landmarks) of the chosen own frame for "own".
        teeth: (2,) how much upper and lower teeth the driver shows at this frame (``teeth.teeth_visibility``
            over its track, smoothed): with ``interior`` it replaces the frame's own measure; without it
            the synthesised interior shows that much of the photo's teeth (None: all of them).
        dark: how dark the driver's parted mouth is inside (``cavity``; None: measured on ``interior``, or
            a dark cavity without it).
    """
    if source == "fallback":
        return frame
    box = mouth_box(landmarks, frame.shape[:2])
    out = frame.copy()
    if source == "own" and own is not None:
        x0, y0, x1, y1 = box
        return _blend(out, box, *own_mouth(out[y0:y1, x0:x1], own[0], own[1], landmarks, box))
    if source == "driver" and interior is not None:
        rgb = driver_interior(interior[0], interior[1], landmarks, box, src, teeth, dark)
    elif teeth is not None:
        rgb = teeth_interior(landmarks, box, src, photo_teeth(landmarks, src), teeth, 1.0 if dark is None else dark)
    else:
        rgb = synth_interior(landmarks, box, src)
    if source == "closed":
        rgb = np.broadcast_to(0.55 * src.lip_rgb, rgb.shape).astype(np.float32)
    return _blend(out, box, rgb, mouth_matte(landmarks, box)[..., None])


def _blend(out: np.ndarray, box: tuple[int, int, int, int], rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``rgb`` (h, w, 3) float [0, 1] laid over ``out``'s ``box`` through ``alpha`` (h, w, 1), in place."""
    x0, y0, x1, y1 = box
    window = out[y0:y1, x0:x1].astype(np.float32) / 255.0
    out[y0:y1, x0:x1] = np.clip(np.round((window + alpha * (rgb - window)) * 255), 0, 255).astype(np.uint8)
    return out


__all__ = [
    "SOURCES",
    "SourceMouth",
    "analyse_source",
    "cavity",
    "choose",
    "driver_interior",
    "driver_teeth_layers",
    "mouth_box",
    "mouth_matte",
    "own_match",
    "own_mouth",
    "photo_teeth",
    "render_mouth",
    "shows_teeth",
    "synth_interior",
    "teeth_interior",
]
