"""The one face-tracking loop every landmark backend runs (``extract.extract_landmarks`` calls it per batch).

A backend supplies the parts (duck-typed, see ``LandmarkBackend``): ``follow`` re-finds the face near the
previous frame's box (cheap), ``detect`` finds every face in a frame (full search) and ``align`` fits the
68 points to detector boxes. Per batch of consecutive frames: follow while the face is being tracked; each
frame where that fails is searched in full, and ``pick`` chooses the face that keeps the identity.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np


class LandmarkBackend(Protocol):
    """What ``track`` needs from a backend (``dlib_backend.DlibBackend``, ``fan_backend.FanBackend``)."""

    name: str
    version: str
    batch_size: int

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """All faces in one (H, W, 3) uint8 frame: (K, 5+) boxes x0, y0, x1, y1 + detector score (+ what the
        backend's ``align`` reads besides, e.g. dlib's turn)."""

    def align(self, images: list[np.ndarray], dets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """68 points for each image from its detection (B, 5): (B, 68, 2) float32 px and (B,) scores."""

    def follow(self, images: list[np.ndarray], box: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Re-find the face near ``box`` (4,): landmarks (B, 68, 2), boxes (B, 4), scores (B,), found (B,)."""

    def follow_box(self, landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The box the next batch follows, from the last frame's (68, 2) landmarks and its (4,) box."""


def track(backend: LandmarkBackend, images: list[np.ndarray], state: dict,
          pick: Callable[[np.ndarray, np.ndarray | None], int | None]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Landmarks for consecutive frames, following the face in ``state`` ({"box", "tracking"}, updated).

    Returns:
        landmarks (B, 68, 2) float32 (NaN where no face), boxes (B, 4), scores (B,) (0 where no face).
    """
    n = len(images)
    lms, boxes, scores = np.full((n, 68, 2), np.nan, np.float32), np.full((n, 4), np.nan), np.zeros(n)
    found = np.zeros(n, bool)
    if state.get("tracking"):
        lms[:], boxes[:], scores[:], found[:] = backend.follow(images, state["box"])
    for i in np.flatnonzero(~found):
        dets = backend.detect(images[i])
        k = pick(dets, state.get("box"))
        if k is None:
            lms[i], boxes[i], scores[i] = np.nan, np.nan, 0.0
            continue
        lm, score = backend.align([images[i]], dets[k:k + 1])
        lms[i], boxes[i], scores[i], found[i] = lm[0], dets[k, :4], score[0], True
        state["box"] = dets[k, :4]
    state["tracking"] = bool(found[-1])
    if found[-1]:
        state["box"] = backend.follow_box(lms[-1], boxes[-1])
    return lms, boxes, scores
