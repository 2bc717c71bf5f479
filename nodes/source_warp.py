"""The warped source frame the warp-conditioned generator sees (``NetworkConfig.g_warp``).

For a target pose (68 landmarks in crop px) the nearest of the person's T source crops, by landmark
distance after similarity alignment (pose and expression, not position), is warped piecewise-affinely
to the target landmarks (``warp.warp_face``, the X2Face-like floor). During fine-tuning a
frame is never its own source when T > 1, as at generation time, where the target is a new pose.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime.errors import BadInputError
from .warp import nearest_source, warp_face


class SourceWarper:
    """Nearest-source piecewise-affine warps.

    Args:
        crops: (T, S, S, 3) uint8 source crops.
        landmarks: (T, 68, 2) their landmarks in crop px.
    """

    def __init__(self, crops: np.ndarray, landmarks: np.ndarray):
        crops, landmarks = np.asarray(crops), np.asarray(landmarks, np.float32)
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8 or landmarks.shape != (len(crops), 68, 2):
            raise BadInputError(f"source crops (T,S,S,3) uint8 and landmarks (T,68,2) expected, got {crops.shape} "
                                f"{crops.dtype} and {landmarks.shape}")
        if not len(crops) or not np.isfinite(landmarks).all():
            raise BadInputError("the warp needs at least one source crop with finite landmarks")
        self.crops, self.landmarks = crops, landmarks

    def nearest(self, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """(B,) index of the nearest source for each (B, 68, 2) target; ``exclude`` (B,) bars one source each
        (ignored when there is only one)."""
        return nearest_source(self.landmarks, targets, exclude)

    @staticmethod
    def warp(crop: np.ndarray, landmarks: np.ndarray, target: np.ndarray) -> np.ndarray:
        """One (S, S, 3) uint8 crop with (68, 2) ``landmarks`` warped to ``target`` (68, 2)."""
        return warp_face(crop, landmarks, target)

    def __call__(self, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """(B, S, S, 3) uint8: the nearest source crop warped to each target's landmarks."""
        targets = np.asarray(targets, np.float32).reshape(-1, 68, 2)
        index = self.nearest(targets, exclude)
        return np.stack([self.warp(self.crops[k], self.landmarks[k], t) for k, t in zip(index, targets)])

    def tensor(self, targets: np.ndarray, device: Any, exclude: np.ndarray | None = None) -> Any:
        """``__call__`` as a (B, 3, S, S) float32 tensor in [-1, 1] on ``device``."""
        from .sketch import sketch_to_tensor

        return sketch_to_tensor(self(targets, exclude)).to(device)
