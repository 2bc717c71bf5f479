"""The default animation path for one photo, as three calls the pipeline makes (Averbuch-Elor et al. 2017):

- ``prepare`` (once per shot): the head layer (``head_layer.build_head_layer``: matte + filled background)
  and the face features (``features.prepare``: closed-aperture plate, mouth, eyes, irises);
- ``perform`` (once per driving track): the retargeted landmarks of every frame with each eye's lids and the
  lips following the driver (``targets``), the driver's gaze (its FaceTrack's irises, stabilised) and which
  frames hold no face (the previous pose is held). Everything that looks across frames happens here, on the
  full track, so any frame can be rendered alone (chunked renders equal a full render);
- ``render`` (per frame): the head layer warped by the fold-free map (``animate.animate_frame``), then the
  mouth interior and the eyes drawn in the target's openings (``features.animate_frame``).

Shapes: photo (H, W, 3) uint8 RGB; landmarks (68, 2) px; tracks (N, 68, 2).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...runtime.errors import BadInputError
from .animate import animate_frame, blas_single_thread
from .features import FaceFeatures, FrameReport
from .head_layer import HeadLayer
from .motion import NeckLine

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime
    from ..types import FaceTrack


@dataclass
class Portrait:
    """A photo prepared for animation (see module docstring)."""

    photo: np.ndarray
    landmarks: np.ndarray
    head: HeadLayer
    features: FaceFeatures
    neck: NeckLine
    one_thread: Callable[[], AbstractContextManager]

    @property
    def size(self) -> tuple[int, int]:
        return self.photo.shape[0], self.photo.shape[1]

    def describe(self) -> str:
        return self.head.describe()


@dataclass
class Performance:
    """A driving track prepared for one portrait.

    Attributes:
        targets: (N, 68, 2) float64 target landmarks in the photo's px (held where the driver has no face).
        valid: (N,) bool: the driver had a face.
        gaze: (N, 2, 2) iris offsets in eye widths per eye, or None (the photo keeps its gaze).
        frame_numbers: (N,) the driver's frame numbers.
        neutral: index of the driver frame matched to the photo's expression.
    """

    targets: np.ndarray
    valid: np.ndarray
    gaze: np.ndarray | None
    frame_numbers: np.ndarray
    neutral: int

    def __len__(self) -> int:
        return len(self.targets)


@dataclass
class PortraitFrame:
    """One rendered frame: image (H, W, 3) uint8, the moved head's alpha (H, W) float32, what it used."""

    image: np.ndarray
    alpha: np.ndarray
    report: FrameReport
    folds_repaired: int


def prepare(rt: Runtime | None, photo: np.ndarray, landmarks: np.ndarray, clean_plate: np.ndarray | None = None,
            own: list[tuple[np.ndarray, np.ndarray]] | None = None) -> Portrait:
    """Prepare ``photo`` with its (68, 2) ``landmarks``; ``clean_plate`` replaces the inpainted background;
    ``own``: the person's other photos as (image, landmarks) (mouth interiors to choose from)."""
    from .features import prepare as prepare_features
    from .head_layer import build_head_layer
    from .iris import iris_runner

    lms = np.asarray(landmarks, np.float64)
    head = build_head_layer(rt, photo, lms, clean_plate)
    features = prepare_features(photo, lms, iris_runner(rt) if rt is not None else None, own)
    return Portrait(np.asarray(photo), lms, head, features, NeckLine.from_landmarks(lms), blas_single_thread())


def perform(portrait: Portrait, driver: FaceTrack, mode: str = "relative") -> Performance:
    """Targets for every frame of ``driver`` (``mode``: "relative" | "absolute" retargeting)."""
    from ..landmarks.retarget import retarget
    from .features import gaze_track
    from .targets import eyelid_targets, mouth_targets

    if len(driver) == 0 or not driver.valid.any():
        raise BadInputError("the driving track has no frame with a valid face", driver.where,
                            int(driver.frame_numbers[0]) if len(driver) else None)
    moved = retarget(driver, portrait.landmarks, mode, image_size=portrait.size)
    neutral = int(moved.extra["retarget"]["neutral"])
    drv = np.asarray(driver.landmarks, np.float64)
    valid = moved.valid.copy()
    targets = np.empty((len(driver), 68, 2))
    current = portrait.landmarks
    for t in range(len(driver)):
        if valid[t]:
            pose = eyelid_targets(moved.landmarks[t], portrait.landmarks, drv[t], drv[neutral])
            current = mouth_targets(pose, portrait.landmarks, drv[t], drv[neutral])
        targets[t] = current
    gaze = None
    if driver.iris is not None:
        gaze, _ = gaze_track([], drv, valid, driver.fps or 25.0, iris=driver.iris)
    return Performance(targets, valid, gaze, np.asarray(driver.frame_numbers), neutral)


def render(portrait: Portrait, performance: Performance, index: int,
           interior: tuple[np.ndarray, np.ndarray] | None = None) -> PortraitFrame:
    """Frame ``index`` of the performance; ``interior``: (image, landmarks) whose mouth interior to use (the
    driver's frame; in self-reenactment a frame of another clip), None: the interior is synthesised."""
    from .features import animate_frame as animate_features

    target = performance.targets[index]
    with portrait.one_thread():
        moved = animate_frame(portrait.size, portrait.landmarks, target, portrait.head, portrait.neck)
    gaze = None if performance.gaze is None else performance.gaze[index]
    image, report = animate_features(portrait.features, moved.image, target, moved.full_maps(), gaze, interior)
    return PortraitFrame(image, moved.alpha, report, moved.folds_repaired)
