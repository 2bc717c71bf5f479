"""The entry of the default animation path: the photo's head layer driven by retargeted landmarks.

``animate_frames`` yields one full-resolution frame per target pose: the backward map of the head layer
(``motion.backward_map`` on a coarse lattice over the region the head can reach, folds repaired), the
warp (``compose.upsample_map`` + ``compose.warp_layer``) and the composite over the filled background
(``compose.composite``). Frames where the target equals the source are the photo, bit for bit.

Shapes: photo (H, W, 3) uint8 RGB; landmarks (68, 2); poses (N, 68, 2) in the photo's pixels
(``nodes.retarget.retarget``; NaN rows = no target: the previous pose is held).
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ...runtime.errors import BadInputError
from .compose import composite, snap_roi, upsample_map, warp_layer
from .head_layer import HeadLayer
from .lid_skin import smooth_shut_lid
from .motion import (
    TPS_SMOOTH,
    NeckLine,
    apply_affine,
    frame_motion,
    head_similarity,
    in_layer,
    lattice,
    opening_cells,
    repair_folds,
)
from .pose import range_warnings
from .refine import refine_features

STEP = 8   # coarse lattice spacing, px (the map is smooth; 8 px keeps 1024x1024 above 15 frames/s)


@dataclass
class AnimatedFrame:
    """One output frame.

    Attributes:
        image: (H, W, 3) uint8; alpha: (H, W) float32 warped head alpha; folds_repaired: repair rounds used.
        roi: (x0, y0, x1, y1) where the map was computed (cropped to the image), or None when nothing moved.
        maps: the backward map inside ``roi``: (map_x, map_y) (h, w) float32 photo px, or None.
    """

    image: np.ndarray
    alpha: np.ndarray
    folds_repaired: int
    roi: tuple[int, int, int, int] | None = None
    maps: tuple[np.ndarray, np.ndarray] | None = None

    def full_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """The backward map over the whole frame: (H, W) float32 each, the identity outside ``roi``."""
        h, w = self.alpha.shape
        map_x = np.broadcast_to(np.arange(w, dtype=np.float32)[None], (h, w)).copy()
        map_y = np.broadcast_to(np.arange(h, dtype=np.float32)[:, None], (h, w)).copy()
        if self.maps is not None:
            x0, y0 = self.roi[:2]
            mh, mw = self.maps[0].shape
            map_x[y0:y0 + mh, x0:x0 + mw], map_y[y0:y0 + mh, x0:x0 + mw] = self.maps
        return map_x, map_y


def frame_roi(layer: HeadLayer, similarity: np.ndarray, size: tuple[int, int], step: int) -> tuple:
    """The lattice's region: the layer's box and its image under the head's similarity, padded, snapped."""
    x0, y0, x1, y1 = layer.box
    if x1 <= x0:
        return 0, 0, 0, 0
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64)
    moved = np.concatenate([corners, apply_affine(similarity, corners)])
    pad = 2 * step
    lo, hi = moved.min(0) - pad, moved.max(0) + pad
    return snap_roi((lo[0], lo[1], hi[0], hi[1]), size, step)


def animate_frame(photo_size: tuple[int, int], source: np.ndarray, target: np.ndarray, layer: HeadLayer,
                  neck: NeckLine, step: int = STEP, fine: bool = True, smooth: float = TPS_SMOOTH) -> AnimatedFrame:
    """One frame: motion + warp + composite, and the skin of a shut upper lid smoothed along the eye
    (``lid_skin``). ``target`` (68, 2) finite.

    ``fine``: the map is evaluated finely around the target's eyes and lips (``refine.refine_features``),
    where the lattice is too coarse for lids and lips a few pixels thick. ``smooth``: the spline's
    regulariser away from the eyes and lips (``motion.fit_head_motion``)."""
    roi = frame_roi(layer, head_similarity(source, target), photo_size, step)
    if roi[2] <= roi[0]:
        return AnimatedFrame(layer.base.copy(), np.zeros(photo_size, np.float32), 0)
    points = lattice(roi, step)
    motion = frame_motion(source, target, points, neck, smooth)
    coarse = motion.backward(points)
    coarse, rounds = repair_folds(coarse, points, float(step), where=in_layer(layer.alpha, coarse),
                                  ignore=opening_cells(points, target, step))
    map_x, map_y = upsample_map(coarse, points, roi, photo_size)
    if fine:
        rounds += refine_features(map_x, map_y, roi, motion, target, neck.height, layer.alpha)
    image, alpha = composite(layer.base, layer.background, warp_in_area(layer, map_x, map_y), roi)
    if layer.area is not None:                      # the bars stay as they are, over the moving head
        x0, y0, x1, y1 = layer.area
        for bar in (np.s_[:y0], np.s_[y1:], np.s_[:, :x0], np.s_[:, x1:]):
            image[bar], alpha[bar] = layer.base[bar], 0.0
    for strip in motion.strips:
        image = smooth_shut_lid(image, strip)
    return AnimatedFrame(image, alpha, rounds, roi, (map_x, map_y))


def warp_in_area(layer: HeadLayer, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """``compose.warp_layer`` of the head layer, with the edges of its picture (``HeadLayer.area``: inside
    black bars) taken as the photo's: hair cut by a bar carries on past it as hair cut by the frame does."""
    if layer.area is None:
        return warp_layer(layer.premult, map_x, map_y)
    x0, y0, x1, y1 = layer.area
    return warp_layer(layer.premult[y0:y1, x0:x1], map_x - np.float32(x0), map_y - np.float32(y0))


def blas_single_thread() -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of contexts that run numpy's BLAS on one thread (threadpoolctl), or no-ops without it.

    The per-frame linear algebra is tiny (a ~110x110 solve): on a busy 2-core machine OpenBLAS's
    thread wake-ups cost ~35 ms per call, single-threaded it is ~0.1 ms. The limit is taken per frame,
    never across a ``yield``, so the caller's own numpy keeps its threads.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1, user_api="blas")


def animate_frames(photo: np.ndarray, source_landmarks: np.ndarray, poses: np.ndarray, head: HeadLayer,
                   step: int = STEP, frame_numbers: np.ndarray | None = None,
                   warn: Callable[[str], None] | None = None) -> Iterator[AnimatedFrame]:
    """Animate the photo's head layer through ``poses``.

    Args:
        photo: (H, W, 3) uint8 (its size fixes the output size; the layer was built from it).
        source_landmarks: (68, 2) landmarks of the photo.
        poses: (N, 68, 2) retargeted target landmarks in photo px; NaN rows hold the previous pose.
        head: ``head_layer.build_head_layer(...)`` of this photo.
        step: lattice spacing of the map, px.
        frame_numbers: (N,) numbers used in warnings (default 0..N-1).
        warn: receives each warning (default: the "talkinghead" logger); called before the first frame.
    Yields:
        AnimatedFrame per pose, in order.
    Raises:
        BadInputError: shapes that do not match.
    """
    source = np.asarray(source_landmarks, np.float64)
    targets = np.asarray(poses, np.float64)
    size = tuple(np.asarray(photo).shape[:2])
    if targets.ndim != 3 or targets.shape[1:] != (68, 2):
        raise BadInputError(f"poses must be (N, 68, 2), got {targets.shape}")
    if head.alpha.shape != size:
        raise BadInputError(f"head layer is {head.alpha.shape}, the photo {size}: build it from this photo")
    say = warn or logging.getLogger("talkinghead").warning
    for message in range_warnings(source, targets, size, frame_numbers):
        say(message)
    neck = NeckLine.from_landmarks(source)
    single = blas_single_thread()
    current = source
    for target in targets:
        if np.isfinite(target).all():
            current = target
        with single():
            frame = animate_frame(size, source, current, head, neck, step)
        yield frame
