"""Teeth: find them (bright, low-chroma pixels inside the lips), classify a mouth's state, and make the teeth
layers of a synthesised interior: the source's own teeth when the photo shows them, else a neutral band.

The upper teeth hang from the upper lip and the lower teeth stand on the lower lip (the jaw): each layer is
placed by a similarity fitted on its lip's inner points, so teeth are moved, turned and scaled with the mouth
but never stretched by the opening (LivePortrait #176/#353: teeth that stretch or do not follow the lip).

Images are (H, W, 3) RGB uint8; landmarks (68, 2) px. Layers are float32 RGB [0, 1] + alpha (H, W).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour_match import LUMA, lab_stats, to_lab
from .regions import (
    INNER_LIP,
    LOWER_INNER,
    OUTER_LIP,
    UPPER_INNER,
    mouth_opening,
    mouth_width,
    polygon_mask,
    polyline_at,
)

OPEN_THRESHOLD = 0.06     # mouth_opening below this is "closed"
TEETH_THRESHOLD = 0.12    # fraction of the opening covered by teeth pixels for "teeth"
TEETH_LUMA = 0.5          # teeth: luma >= this x the skin's ...
TEETH_SAT = 0.85          # ... and saturation <= this x the skin's (``teeth_mask``)
MONO_SAT = 0.08           # skin saturation below this: a monochrome image
MONO_TEETH_LUMA = 0.9     # there, teeth are the pixels at least this bright relative to the skin
TEETH_L_MARGIN = 6.0      # without skin: teeth are at least this much lighter (Lab L) than the lips' mean
TEETH_CHROMA = 0.7        # ... and at most this fraction of the lips' chroma
NEUTRAL_UPPER = 0.11      # neutral band heights as fractions of the mouth width
NEUTRAL_LOWER = 0.06
TEETH_OF_SKIN = 1.25        # neutral front teeth: this x the skin's luma (the brighter half of the teeth
                            # on 9 shared clips: 1.1-1.5 x the nose's luma, median 1.28; their eye whites
                            # read 0.4-1.2, median 0.72: a small face's eye white is shadowed by the lids)
TEETH_CAST = 0.5            # teeth take this share of the skin's hue (the same clips: teeth hue / skin hue
                            # (0.92, 1.04, 1.10) where the skin's own is about (1.2, 0.95, 0.8))
MOUTH_STATES = ("closed", "open", "teeth")
SPLIT_TOUCH = 0.25            # a run of teeth within this share of the lips' gap from a lip belongs to it
SPLIT_SMOOTH = 7              # columns in the median filter of the teeth split
VISIBLE_SHARE = (0.05, 0.25)   # teeth-like share of a lip half: no teeth below, fully shown above
DARK_LUMA = 0.45               # interior pixels this dark relative to the skin are shadow (``interior_darkness``)
DARK_SHARE = (0.1, 0.5)        # shadowed share of the interior: a lip-coloured strip below, a dark cavity above
GROW_LEVEL = 0.5               # ``grown_teeth``: a tooth in shade is at least this far from the cavity's dark
                               # to the teeth's own light, and no more saturated than the skin


def lip_mask(image_size: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """(H, W) float32: the lips (outer-lip polygon minus the inner-lip polygon)."""
    outer = polygon_mask(landmarks[OUTER_LIP], image_size)
    inner = polygon_mask(landmarks[INNER_LIP], image_size)
    return np.clip(outer - inner, 0, 1)


def _nose(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """The pixels of the box of points 28-35 (the nose: skin lit like the mouth and rarely covered by hair or
    beard), or None when that box holds no pixel of ``image``."""
    p = np.asarray(landmarks, np.float64)[28:36]
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.floor(p.min(0)).astype(int), 0, [w, h])
    x1, y1 = np.clip(np.ceil(p.max(0)).astype(int) + 1, 0, [w, h])
    return image[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else None


def skin_reference(image: np.ndarray, landmarks: np.ndarray) -> tuple[float, float] | None:
    """Median luma and HSV saturation (both [0, 1]) of the nose (``_nose``), or None without it."""
    nose = _nose(image, landmarks)
    if nose is None:
        return None
    luma, sat = _luma_sat(nose)
    return float(np.median(luma)), float(np.median(sat))


def skin_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """(3,) float [0, 1]: the median colour of the nose (``_nose``), or None without it."""
    nose = _nose(image, landmarks)
    if nose is None:
        return None
    return np.median(nose[..., :3].reshape(-1, 3).astype(np.float32) / 255.0, axis=0)


def monochrome(colour: np.ndarray) -> bool:
    """Is a skin colour (3,) float [0, 1] (``skin_colour``) from a monochrome image: its HSV saturation below
    ``MONO_SAT``?"""
    c = np.asarray(colour, np.float64)
    return bool(c.max() - c.min() < MONO_SAT * max(float(c.max()), 1e-6))


def _luma_sat(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = image[..., :3].astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    hi, lo = x.max(-1), x.min(-1)
    return x @ LUMA.astype(np.float32), np.where(hi > 0, (hi - lo) / np.maximum(hi, 1e-6), 0.0)


def teeth_mask(image: np.ndarray, landmarks: np.ndarray, region: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool: teeth-like pixels inside ``region`` (default: the inner-lip polygon).

    Teeth are not dark and clearly less saturated than skin: luma >= ``TEETH_LUMA`` x the skin's and
    saturation <= ``TEETH_SAT`` x the skin's (``skin_reference``); lips and tongue are as saturated as skin
    or more, also under warm light, where teeth are only half as bright as the skin. In a monochrome image
    (skin saturation < ``MONO_SAT``) teeth are the pixels with luma >= ``MONO_TEETH_LUMA`` x the skin's.
    Without the nose in ``image``, the lips are the reference (lighter and less chromatic than them)."""
    size = image.shape[:2]
    region = polygon_mask(landmarks[INNER_LIP], size) if region is None else region
    skin = skin_reference(image, landmarks)
    if skin is not None:
        luma, sat = _luma_sat(image)
        if skin[1] < MONO_SAT:
            return (luma >= MONO_TEETH_LUMA * skin[0]) & (region > 0.5)
        return (luma >= TEETH_LUMA * skin[0]) & (sat <= TEETH_SAT * skin[1]) & (region > 0.5)
    lips = lab_stats(image, lip_mask(size, landmarks))
    if lips is None:
        return np.zeros(size, bool)
    lab = to_lab(image)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    lip_chroma = float(np.hypot(lips[0][1], lips[0][2]))
    light = lab[..., 0] > lips[0][0] + TEETH_L_MARGIN
    pale = chroma < TEETH_CHROMA * max(lip_chroma, 8.0)
    return light & pale & (region > 0.5)


def teeth_fraction(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Share of the inner-lip polygon's pixels that are teeth-like (0 when the polygon is empty)."""
    region = polygon_mask(landmarks[INNER_LIP], image.shape[:2])
    area = float((region > 0.5).sum())
    return float(teeth_mask(image, landmarks, region).sum() / area) if area >= 4 else 0.0


def mouth_state(image: np.ndarray, landmarks: np.ndarray, open_threshold: float = OPEN_THRESHOLD,
                teeth_threshold: float = TEETH_THRESHOLD) -> str:
    """"closed" | "open" (dark interior) | "teeth" (teeth visible), from landmarks and pixels."""
    if mouth_opening(landmarks) < open_threshold:
        return "closed"
    return "teeth" if teeth_fraction(image, landmarks) >= teeth_threshold else "open"


@dataclass
class TeethLayer:
    """A texture in a lip-anchored frame: ``rgb`` (h, w, 3) float32 [0, 1], ``alpha`` (h, w), and the
    anchor points (K, 2) in the texture's pixels that are matched to the target lip's points ``lip``."""

    rgb: np.ndarray
    alpha: np.ndarray
    anchors: np.ndarray
    lip: np.ndarray


def source_teeth(photo: np.ndarray, landmarks: np.ndarray, min_fraction: float = TEETH_THRESHOLD
                 ) -> tuple[TeethLayer, TeethLayer] | None:
    """The photo's own mouth interior split into an upper layer (anchored on the upper inner lip) and a
    lower layer (on the lower inner lip) where its teeth divide (``lip_halves`` with its teeth), or None when
    the photo shows no teeth."""
    if mouth_opening(landmarks) < OPEN_THRESHOLD or teeth_fraction(photo, landmarks) < min_fraction:
        return None
    p = np.asarray(landmarks, np.float64)
    pad = max(2, int(0.05 * mouth_width(p)))
    x0, y0 = np.floor(p[INNER_LIP].min(0)).astype(int) - pad
    x1, y1 = np.ceil(p[INNER_LIP].max(0)).astype(int) + pad + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, photo.shape[1]), min(y1, photo.shape[0])
    crop = photo[y0:y1, x0:x1].astype(np.float32) / 255.0
    local = p - [x0, y0]
    upper, lower = lip_halves(crop.shape[:2], local, teeth_mask(photo, p)[y0:y1, x0:x1])
    return (TeethLayer(crop, upper, local[UPPER_INNER], UPPER_INNER),
            TeethLayer(crop, lower, local[LOWER_INNER], LOWER_INNER))


def lip_halves(size: tuple[int, int], landmarks: np.ndarray, teeth: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The inner-lip polygon split into what hangs from the upper lip and what stands on the lower lip:
    (upper, lower) (H, W) float32 coverages. The split runs per column along ``teeth_split`` when a
    ``teeth`` mask (H, W) bool is given, else along the mid-line between the upper and lower inner lips."""
    inside = polygon_mask(landmarks[INNER_LIP], size)
    upper_y = polyline_at(landmarks[UPPER_INNER], np.arange(size[1]))
    lower_y = polyline_at(landmarks[LOWER_INNER], np.arange(size[1]))
    split = (upper_y + lower_y) / 2 if teeth is None else teeth_split(teeth, upper_y, lower_y)
    rows = np.arange(size[0])[:, None]
    upper = np.clip(split[None, :] - rows + 0.5, 0, 1) * inside
    lower = np.clip(rows - split[None, :] + 0.5, 0, 1) * inside
    return upper.astype(np.float32), lower.astype(np.float32)


def rooted_teeth(teeth: np.ndarray, landmarks: np.ndarray, halves: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The teeth-like pixels (``teeth_mask``, (H, W) bool) that hang from the upper inner lip and that stand
    on the lower one: (upper, lower) (H, W) bool, each the connected pieces of its half (``halves``: the
    ``lip_halves`` of ``teeth``) that come within ``SPLIT_TOUCH`` of the lips' gap of its lip. A piece
    floating between the lips is not teeth: the highlights of a pale tongue pass the teeth test (lp_d6 frame
    120) and were drawn as white blobs in the middle of the mouth."""
    import cv2

    p = np.asarray(landmarks, np.float64)
    h, w = teeth.shape
    columns = np.arange(w)
    upper_y, lower_y = polyline_at(p[UPPER_INNER], columns), polyline_at(p[LOWER_INNER], columns)
    touch = np.maximum(SPLIT_TOUCH * (lower_y - upper_y), 1.0)
    rows = np.arange(h)[:, None]
    near = (rows - upper_y[None] <= touch[None], lower_y[None] - rows <= touch[None])
    out = []
    for half, lip in zip(halves, near):
        pieces = teeth & (half > 0.5)
        count, labels = cv2.connectedComponents(pieces.astype(np.uint8), connectivity=8)
        rooted = np.zeros(count, bool)
        rooted[np.unique(labels[pieces & lip])] = True
        rooted[0] = False
        out.append(rooted[labels])
    return out[0], out[1]


def grown_teeth(image: np.ndarray, landmarks: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """(H, W) bool: ``teeth`` (``teeth_mask``) grown over the teeth in shade beside them. ``teeth_mask`` takes
    only the brightest, palest teeth: under a warm light the row's other teeth are as saturated as the skin,
    and drawn from that mask alone a full row of teeth came apart into two or three white pieces over the
    dark cavity (lp_d3). Grown: the inner-lip polygon's pixels at least ``GROW_LEVEL`` of the way from the
    interior's dark (its 10th luma percentile) to the teeth's light (their median luma) and no more saturated
    than the skin (``skin_reference``; the wet inner edge of the lower lip is), connected to them."""
    import cv2

    inside = polygon_mask(np.asarray(landmarks, np.float64)[INNER_LIP], teeth.shape) > 0.5
    seeds = teeth & inside
    if not seeds.any():
        return seeds
    luma, sat = _luma_sat(image)
    skin = skin_reference(image, landmarks)
    dark, light = float(np.percentile(luma[inside], 10)), float(np.median(luma[seeds]))
    candidate = inside & (luma >= dark + GROW_LEVEL * (light - dark))
    if skin is not None:
        candidate &= sat <= skin[1]
    candidate |= seeds
    _, labels = cv2.connectedComponents(candidate.astype(np.uint8), connectivity=8)
    keep = np.zeros(labels.max() + 1, bool)
    keep[np.unique(labels[seeds])] = True
    keep[0] = False
    return keep[labels]


def teeth_split(teeth: np.ndarray, upper_y: np.ndarray, lower_y: np.ndarray) -> np.ndarray:
    """(W,) per column, the row between the upper and the lower teeth: below the run of teeth pixels that
    hangs from the upper inner lip (``upper_y``, (W,)), else above the run that stands on the lower inner lip
    (``lower_y``), else the mid-line. Measured as a fraction of the lips' gap, median-filtered over
    ``SPLIT_SMOOTH`` columns and carried across columns without teeth. A column whose teeth run from lip to lip
    without a gap takes its neighbours' split when most columns show one: the rows of a biting mouth meet in
    the middle (lia_macron x lp_d6 frame 50: the whole run went to the upper layer, a block of lower teeth
    hung from the upper lip and left a hole in the lower row, drawn as a checkerboard once the rows moved
    apart). Where most columns show no gap, the teeth hang from the upper lip: a smile that shows only its
    upper teeth, resting on the lower lip, keeps them whole in the upper layer (astronaut; split at the
    mid-line, or at a gap at one corner, they came apart when the mouth opened).

    Args:
        teeth: (H, W) bool teeth-like pixels (``teeth_mask``).
    """
    import cv2

    h, w = teeth.shape
    closed = cv2.morphologyEx(teeth.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 1), np.uint8)).astype(bool)
    found = []                                    # (column, split as a share of the gap, no gap in it)
    for x in range(w):
        top, bottom = int(np.ceil(upper_y[x])), int(np.floor(lower_y[x]))
        if bottom - top < 2 or top < 0 or bottom >= h:
            continue
        run = closed[top:bottom + 1, x]
        if not run.any():
            continue
        touch = max(1, round(SPLIT_TOUCH * (bottom - top)))
        idx = np.flatnonzero(run)
        starts = idx[np.r_[True, np.diff(idx) > 1]]
        ends = idx[np.r_[np.diff(idx) > 1, True]]
        if starts[0] <= touch:                    # teeth hang from the upper lip: split below them
            cut = ends[0] + 1
        elif ends[-1] >= len(run) - 1 - touch:    # teeth stand on the lower lip: split above them
            cut = starts[-1]
        else:
            continue
        found.append((x, cut / (bottom - top), starts[0] <= touch and ends[0] >= len(run) - 1 - touch))
    if 2 * sum(span for _, _, span in found) < len(found):   # most columns show a gap: lip-to-lip runs follow them
        found = [f for f in found if not f[2]]
    cols, fracs = [x for x, _, _ in found], [f for _, f, _ in found]
    if not cols:
        return (upper_y + lower_y) / 2
    frac = np.asarray(fracs, np.float64)
    half = SPLIT_SMOOTH // 2
    frac = np.array([np.median(frac[max(0, i - half): i + half + 1]) for i in range(len(frac))])
    f = np.interp(np.arange(w), cols, frac)
    return upper_y + f * (lower_y - upper_y)


def interior_darkness(image: np.ndarray, landmarks: np.ndarray) -> float:
    """How dark a parted mouth's interior is, in [0, 1]: the share of the inner-lip polygon's pixels at most
    ``DARK_LUMA`` x the skin's luma (``skin_reference``), mapped from ``DARK_SHARE`` (0: lips barely parted
    over a lip-coloured strip) to 1 (a shadowed cavity). 1 without the nose in the image; 0 when closed."""
    from .regions import box_around

    p = np.asarray(landmarks, np.float64)
    if not np.isfinite(p).all() or mouth_opening(p) < 0.5 * OPEN_THRESHOLD:
        return 0.0
    x0, y0, x1, y1 = box_around(p[np.r_[28:36, 48:60]], image.shape[:2], grow=0.1)
    crop, local = image[y0:y1, x0:x1], p - [x0, y0]
    skin = skin_reference(crop, local)
    inside = polygon_mask(local[INNER_LIP], crop.shape[:2])
    if skin is None or inside.sum() < 2:
        return 1.0
    share = float(((_luma_sat(crop)[0] <= DARK_LUMA * skin[0]) * inside).sum() / inside.sum())
    return float(np.clip((share - DARK_SHARE[0]) / (DARK_SHARE[1] - DARK_SHARE[0]), 0, 1))


def teeth_visibility(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """How much upper and lower teeth a face shows: (2,) in [0, 1], from the share of teeth-like pixels
    (``teeth_mask``) in each half of the inner-lip polygon (``lip_halves``): 0 up to ``VISIBLE_SHARE[0]``,
    1 from ``VISIBLE_SHARE[1]``. A closed mouth shows none."""
    from .regions import box_around

    p = np.asarray(landmarks, np.float64)
    if mouth_opening(p) < 0.5 * OPEN_THRESHOLD or not np.isfinite(p).all():
        return np.zeros(2)
    x0, y0, x1, y1 = box_around(p[np.r_[28:36, 48:60]], image.shape[:2], grow=0.1)
    local = p - [x0, y0]
    crop = image[y0:y1, x0:x1]
    mask = teeth_mask(crop, local).astype(np.float32)
    out = np.zeros(2)
    for k, half in enumerate(lip_halves(crop.shape[:2], local)):
        area = float(half.sum())
        if area >= 2:
            share = float((mask * half).sum()) / area
            out[k] = np.clip((share - VISIBLE_SHARE[0]) / (VISIBLE_SHARE[1] - VISIBLE_SHARE[0]), 0, 1)
    return out


def teeth_colour(skin: np.ndarray) -> np.ndarray:
    """(3,) float [0, 1]: the colour of front teeth in a face whose skin is ``skin`` (3,): ``TEETH_OF_SKIN``
    x its luma, with ``TEETH_CAST`` of its hue (a warm light makes ivory teeth, a cold one cooler)."""
    skin = np.asarray(skin, np.float64)
    luma = max(float(skin @ LUMA), 1e-3)
    return np.clip(TEETH_OF_SKIN * luma * ((1 - TEETH_CAST) + TEETH_CAST * skin / luma), 0, 1)


def neutral_teeth(width_px: float, tone: float = 0.8, skin: np.ndarray | None = None
                  ) -> tuple[TeethLayer, TeethLayer]:
    """Synthetic upper and lower teeth bands for a mouth ``width_px`` wide (inner corners to corners):
    off-white, darker towards the corners and the gum line, faint gaps between the front teeth.

    Args:
        width_px: inner mouth width in px in the target (the band is made at that scale).
        tone: brightness of the front teeth in [0, 1] (matched to the face by the caller).
        skin: (3,) float [0, 1] the face's skin colour (``skin_colour``): the front teeth are
            ``TEETH_OF_SKIN`` x its luma, with ``TEETH_CAST`` of its hue, instead of ``tone`` and a warm grey.
    """
    w = max(round(width_px), 8)
    front = tone * np.array([1.0, 0.97, 0.9]) if skin is None else teeth_colour(skin)
    layers = []
    for frac, upper in ((NEUTRAL_UPPER, True), (NEUTRAL_LOWER, False)):
        h = max(round(frac * w / 0.8), 3)
        x = (np.arange(w) + 0.5) / w * 2 - 1                    # -1 .. 1 across the mouth
        y = (np.arange(h) + 0.5) / h                             # 0 at the lip, 1 at the free edge
        across = 1 - 0.55 * x ** 2                               # darker towards the corners
        gaps = 1 - 0.12 * np.exp(-((np.mod(x * 3.5 + 0.5, 1.0) - 0.5) / 0.04) ** 2)
        along = 0.8 + 0.2 * np.sin(np.pi * np.clip(y, 0, 1) * 0.9)
        shade = (across * gaps)[None, :] * along[:, None]
        rgb = np.clip(shade[..., None] * front, 0, 1).astype(np.float32)
        edge = np.clip((1 - y) * h, 0, 1)[:, None] * np.ones((1, w))  # soft free edge
        alpha = (edge * np.clip(1.3 - np.abs(x), 0, 1)[None, :]).astype(np.float32)
        if not upper:
            rgb, alpha = rgb[::-1], alpha[::-1]
        rows_lip = 0.0 if upper else h - 1.0
        anchors = np.array([[0, rows_lip], [w / 2 - 0.5, rows_lip], [w - 1.0, rows_lip]])
        lip = np.array([60, 62, 64]) if upper else np.array([60, 66, 64])
        layers.append(TeethLayer(rgb, alpha, anchors, lip))
    return layers[0], layers[1]


def place_layer(layer: TeethLayer, landmarks: np.ndarray, box: tuple[int, int, int, int], hidden: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """``layer`` moved onto ``landmarks[layer.lip]``, rendered into the window ``box`` (x0, y0, x1, y1): (rgb
    (h, w, 3) float32, alpha (h, w) float32). The similarity takes the anchors' end points (the mouth's inner
    corners) onto the lip's, and the middle anchors onto the lip's middle by a shift: the teeth scale with
    the mouth's width only, so a lip raised or dropped in the middle moves them, never stretches them.
    ``hidden``: the share of the teeth's height drawn back behind their lip (0: as in the photo, 1: all):
    the interior shows only the rest, as a mouth that shows less of its teeth does."""
    import cv2

    from ..warping.warp import align_similarity

    x0, y0, x1, y1 = box
    dst = np.asarray(landmarks, np.float64)[layer.lip] - [x0, y0]
    src = np.asarray(layer.anchors, np.float64)
    m = align_similarity(src[[0, -1]], dst[[0, -1]])       # turned and scaled by the mouth's corners ...
    middle = src[1:-1].mean(0) @ m[:, :2].T + m[:, 2]
    m[:, 2] += dst[1:-1].mean(0) - middle                   # ... and hung from the lip's middle
    if hidden > 0:
        m[:, 2] += m[:, :2] @ retraction(layer, hidden)
    size = (x1 - x0, y1 - y0)
    rgb = cv2.warpAffine(layer.rgb, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(layer.alpha, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return rgb, alpha


def retraction(layer: TeethLayer, hidden: float) -> np.ndarray:
    """(2,) texture px that move ``hidden`` of the layer's teeth height (its alpha's extent across the
    mouth, 5th to 95th percentile) towards the lip it hangs from (its anchors)."""
    a = np.asarray(layer.anchors, np.float64)
    along = (a[-1] - a[0]) / max(float(np.linalg.norm(a[-1] - a[0])), 1e-9)
    down = np.array([-along[1], along[0]])
    down = down if down[1] >= 0 else -down
    ys, xs = np.nonzero(layer.alpha > 0.5)
    if not len(ys):
        return np.zeros(2)
    depth = np.stack([xs, ys], 1) @ down
    extent = float(np.percentile(depth, 95) - np.percentile(depth, 5))
    towards_lip = 1.0 if float(a.mean(0) @ down) >= float(depth.mean()) else -1.0
    return float(np.clip(hidden, 0, 1)) * extent * towards_lip * down


__all__ = [
    "MOUTH_STATES",
    "OPEN_THRESHOLD",
    "TEETH_THRESHOLD",
    "TeethLayer",
    "grown_teeth",
    "interior_darkness",
    "lip_halves",
    "lip_mask",
    "monochrome",
    "mouth_state",
    "neutral_teeth",
    "place_layer",
    "retraction",
    "rooted_teeth",
    "skin_colour",
    "source_teeth",
    "teeth_colour",
    "teeth_fraction",
    "teeth_mask",
    "teeth_visibility",
]
