"""The head layer, built once per shot: the alpha matte of face + hair + ears + top of the neck, and the
background it may uncover (inpainted from the photo, or a clean plate the user gives).

Steps: ``segment.segment_head`` (MediaPipe Selfie Segmentation on LiteRT, or GrabCut seeded from the
landmarks) -> keep the part connected to the face, its small holes closed (``close_holes``), cut at the neck
line (below it nothing moves, so the cut is invisible) -> ``matting.refine_alpha`` (closed-form matting +
guided upsampling) -> its specks removed (``matting.despeckle``) -> background fill
(``fill.inpaint_background``, or the clean plate), also behind what the matting never decides (the
segmentation's unsure fringe, the head beyond the matting's box: ``unmatted``) -> the matte raised where
the fill cannot explain the photo (``matting.least_alpha``; there, from 0: ``fringe_joins``) -> foreground
estimate -> ``matting.split_layers`` (photo == alpha F +
(1 - alpha) B exactly).
Black bars around the picture (``letterbox``) are neither layer nor a source of the fill (``HeadLayer.area``).
``HeadLayer.method`` and ``.reason`` say which path ran and why; ``notes`` lists anything else worth
saying (no hair found, matting unavailable).

Shapes: photo (H, W, 3) uint8 RGB; landmarks (68, 2) x, y px.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...runtime.errors import BadInputError
from .letterbox import outside, picture_area
from .motion import NECK_BOTTOM, NeckLine
from .segment import face_hull_mask, segment_head

NECK_CUT = (NECK_BOTTOM, NECK_BOTTOM + 0.25)   # the layer's alpha fades out here (face heights below the chin)
FILL_FROM = 0.02                                # the background is filled wherever alpha exceeds this: the
                                                # estimate behind thin hair carries the hair's colour (a halo)
HOLE_MOST = 0.05                                # enclosed holes in the segmentation up to this x the face's
                                                # area are closed (``close_holes``)
FRINGE_LOW = 0.1                                # the segmentation's unsure fringe: above this, at most 0.5
FRINGE_NEED = (0.2, 0.03)                       # fringe pixels join the layer where the fill behind them
                                                # misses them by this coverage on average (``fringe_joins``)
                                                # within this many face heights
HAIR_MIN = 0.15                                 # mask area above the brows / face area below which "no hair"


@dataclass
class HeadLayer:
    """What the per-frame warp needs, computed once per shot.

    Attributes:
        alpha: (H, W) float32 matte of the head layer.
        premult: (H, W, 4) float32 (alpha * F, alpha): the layer the frames warp.
        background: (H, W, 3) float32 B, the background behind the layer (exact photo where alpha == 0).
        base: (H, W, 3) uint8 rounded background: every frame starts from it.
        box: (x0, y0, x1, y1) bounding box of alpha > 0.
        method: "selfie-segmentation" | "grabcut" (+ "+matting" or "+feather").
        reason: why that method was used.
        notes: other messages (e.g. "no hair found above the brows").
        area: (x0, y0, x1, y1) the picture inside black bars (``letterbox``), None: the whole photo.
    """

    alpha: np.ndarray
    premult: np.ndarray
    background: np.ndarray
    base: np.ndarray
    box: tuple[int, int, int, int]
    method: str
    reason: str
    notes: list[str] = field(default_factory=list)
    area: tuple[int, int, int, int] | None = None

    def describe(self) -> str:
        extra = f"; {'; '.join(self.notes)}" if self.notes else ""
        return f"head layer: {self.method} ({self.reason}){extra}"


def neck_cut(landmarks: np.ndarray, size: tuple[int, int], cut: tuple[float, float] = NECK_CUT) -> np.ndarray:
    """(H, W) float32: 1 above the neck line, fading to 0 over ``cut`` (face heights below the chin)."""
    from .motion import smoothstep

    neck = NeckLine.from_landmarks(landmarks)
    xs = np.arange(size[1], dtype=np.float32)[None, :]   # a row and a column, not two full-frame grids
    ys = np.arange(size[0], dtype=np.float32)[:, None]
    depth = ((xs - neck.chin[0]) * neck.down[0] + (ys - neck.chin[1]) * neck.down[1]) / neck.height
    return (1.0 - smoothstep(cut[0], cut[1], depth)).astype(np.float32)


def connected_to_face(mask: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Keep the part of ``mask`` > 0.5 connected to the face hull (drops other people, hands, props)."""
    import cv2

    binary = (mask > 0.5).astype(np.uint8)
    hull = face_hull_mask(landmarks, mask.shape, 0.8)
    binary[hull] = 1
    _, labels = cv2.connectedComponents(binary, connectivity=8)
    keep = np.unique(labels[hull & (labels > 0)])
    return np.where(np.isin(labels, keep), mask, 0).astype(np.float32)


def unmatted(mask: np.ndarray, head: np.ndarray, box: tuple[int, int, int, int], low: float = FRINGE_LOW
             ) -> np.ndarray:
    """(H, W) bool: what the segmentation gives the head but the matting never decides: its unsure pixels
    (``low`` < ``mask`` <= 0.5) connected to the ``head`` ((H, W), > 0.5: the part kept,
    ``connected_to_face``) through other such pixels, and the head beyond ``box`` (the matting's).

    The model half-sees what hangs off a head: a scarf's end (girl_pearl's turban, mask 0.3-0.5), a veil,
    thin hair; and a scarf's tip may hang past the head box. The matting, seeded inside the kept mask and
    the box, left such parts out of the layer: they stood still while the head moved away from them, and
    the fill behind the head was bridged from their colour (a torn scarf over a grey smear).
    ``build_head_layer`` fills behind them and lets them join the layer where the fill cannot explain them
    (``fringe_joins``)."""
    import cv2

    core = np.asarray(head) > 0.5
    unsure = (np.asarray(mask) > low) & ~core
    _, labels = cv2.connectedComponents((unsure | core).astype(np.uint8), connectivity=8)
    touching = np.unique(labels[core])
    x0, y0, x1, y1 = box
    beyond = core.copy()
    beyond[y0:y1, x0:x1] = False
    return (unsure & np.isin(labels, touching[touching > 0])) | beyond


def fringe_joins(unsure: np.ndarray, need: np.ndarray, face_height: float,
                 least: tuple[float, float] = FRINGE_NEED) -> np.ndarray:
    """(H, W) bool: the ``unsure`` pixels ((H, W) bool, ``unmatted``) that join the layer: where the coverage
    they need over the fill (``matting.coverage_need``, (H, W)) averages at least ``least[0]`` over the
    unsure pixels within a Gaussian of ``least[1]`` x ``face_height``. A part of the head (a scarf's end
    on a dark backdrop) needs more than the fill gives over most of it; the backdrop beside the head (a
    sofa's pattern) is near its fill. Decided per neighbourhood, not per pixel: the darker folds of a scarf
    need little over a dark fill, and left behind they speckled the backdrop once the head moved."""
    import cv2

    if not unsure.any():
        return unsure
    sigma = max(1.0, least[1] * face_height)
    weight = cv2.GaussianBlur(unsure.astype(np.float32), (0, 0), sigma)
    mean = cv2.GaussianBlur(np.where(unsure, need, 0).astype(np.float32), (0, 0), sigma) / np.maximum(weight, 1e-6)
    return unsure & (mean >= least[0])


def close_holes(mask: np.ndarray, landmarks: np.ndarray, most: float = HOLE_MOST) -> np.ndarray:
    """``mask`` (H, W) float32 with the holes it encloses (regions <= 0.5 that do not reach the image's edge)
    set to 1, up to ``most`` x the face hull's area each: a head has no holes, and one the segmentation leaves
    (an earring, a dark strand) stood still while the head moved and seeded the fill behind the head with
    its colour (lia_taylor's green earring smeared over the background)."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats((mask <= 0.5).astype(np.uint8), connectivity=4)
    enclosed = np.ones(n, bool)
    enclosed[0] = False
    enclosed[np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False
    enclosed &= stats[:, cv2.CC_STAT_AREA] <= most * face_hull_mask(landmarks, mask.shape, 1.0).sum()
    return np.where(enclosed[labels], 1.0, mask).astype(np.float32)


def build_head_layer(rt: Any, photo: np.ndarray, landmarks: np.ndarray, clean_plate: np.ndarray | None = None,
                     method: str = "auto") -> HeadLayer:
    """Segment, matte and split the photo into the moving head layer and the still background.

    Args:
        rt: Runtime (model resolution and cache; logs which path ran) or None (GrabCut path only).
        photo: (H, W, 3) uint8 RGB.
        landmarks: (68, 2) of the photo.
        clean_plate: (H, W, 3) uint8 background plate (optional; replaces inpainting).
        method: "auto" | "model" | "grabcut".
    Raises:
        BadInputError: wrong shapes, or a clean plate of another size.
    """
    photo, landmarks = _check(photo, landmarks, clean_plate)
    size = photo.shape[:2]
    neck = NeckLine.from_landmarks(landmarks)
    seg = segment_head(rt, photo, landmarks, method)
    mask = close_holes(connected_to_face(seg.mask, landmarks), landmarks)
    notes = _hair_note(mask, landmarks)
    try:
        from .matting import refine_alpha

        alpha, matte = refine_alpha(photo, mask, seg.box, neck.height), "matting"
    except ImportError:
        from .matting import feather

        alpha, matte = feather(mask, neck.height), "feather"
        notes.append("pymatting not installed: the matte edge is feathered, not matted")
    from .matting import coverage_need, despeckle, estimate_fb, least_alpha, split_layers

    area = picture_area(photo)
    bars = outside(area, size) if area != (0, 0, size[1], size[0]) else None
    alpha = despeckle(alpha, neck.height, FILL_FROM)
    if bars is not None:
        alpha[bars] = 0.0
    cut = neck_cut(landmarks, size)
    unsure = unmatted(seg.mask, mask, seg.box) & (alpha * cut <= FILL_FROM) & (cut > FILL_FROM)
    if bars is not None:
        unsure &= ~bars

    if clean_plate is not None:
        b0 = clean_plate.astype(np.float32)
    else:
        from .fill import inpaint_background

        b0 = inpaint_background(photo.astype(np.float32), (alpha * cut > FILL_FROM) | unsure, photo, bars)
    need = coverage_need(photo, b0)
    joins = fringe_joins(unsure, need, neck.height)
    alpha = (least_alpha(photo, alpha, b0, joins, need) * cut).astype(np.float32)   # the cut's fade is not raised
    alpha[alpha < 1 / 255] = 0
    f0, _ = estimate_fb(photo, alpha)
    fg, bg = split_layers(photo, alpha, f0, b0)
    premult = np.concatenate([fg * alpha[..., None], alpha[..., None]], -1).astype(np.float32)
    layer = HeadLayer(alpha, premult, bg, np.clip(bg + 0.5, 0, 255).astype(np.uint8), _box(alpha),
                      f"{seg.method}+{matte}", seg.reason, notes, None if bars is None else area)
    if rt is not None and hasattr(rt, "say_once"):
        import logging

        rt.say_once(f"head-layer-{layer.method}-{layer.reason}", layer.describe(),
                    logging.INFO if seg.method == "selfie-segmentation" else logging.WARNING)
    return layer


def _check(photo: np.ndarray, landmarks: np.ndarray, plate: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    photo, landmarks = np.asarray(photo), np.asarray(landmarks, np.float64)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise BadInputError(f"photo must be (H, W, 3) uint8, got {photo.shape} {photo.dtype}")
    if landmarks.shape != (68, 2) or not np.isfinite(landmarks).all():
        raise BadInputError(f"source landmarks must be finite (68, 2), got {landmarks.shape}")
    if plate is not None and np.shape(plate) != photo.shape:
        raise BadInputError(f"clean plate is {np.shape(plate)}, the photo {photo.shape}: they must match")
    return photo, landmarks


def _hair_note(mask: np.ndarray, landmarks: np.ndarray) -> list[str]:
    """'no hair found' when little of the mask lies above the brows outside the face hull."""
    neck = NeckLine.from_landmarks(landmarks)
    hull = face_hull_mask(landmarks, mask.shape, 1.0)
    h, w = mask.shape   # the depth is linear in x and y: a row's plus a column's, without an (H, W, 2) grid
    across = neck.depth(np.column_stack([np.arange(w), np.zeros(w)]))
    down = neck.depth(np.column_stack([np.zeros(h), np.arange(h)])) - neck.depth(np.zeros(2))
    above = (down[:, None] + across[None, :]) < -1.0
    hair = float((mask[above & ~hull] > 0.5).sum())
    if hair < HAIR_MIN * max(1, hull.sum()):
        return [(f"no hair found above the brows ({hair / max(1, hull.sum()):.0%} of the face area): "
                "bald head, hat or a tight crop; the layer is the face and what touches it")]
    return []


def _box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha > 0)
    if not len(ys):
        return 0, 0, 0, 0
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
