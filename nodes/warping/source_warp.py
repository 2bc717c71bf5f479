"""The warped source frame the warp-conditioned generator sees (``NetworkConfig.g_warp``).

For a target pose (68 landmarks in crop px) the nearest of the person's T source crops, by landmark
distance after similarity alignment (pose and expression, not position), is warped piecewise-affinely
to the target landmarks (``warp.warp_face``, the X2Face-like floor), and the mouth and eyes are taken
from the source whose mouth / eyes best match the target's (``region_warp``: a warp cannot open a
closed mouth, but another of the T frames may show it open). During fine-tuning a frame is never its
own source (for any region) when T > 1, as at generation time, where the target is a new pose.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...runtime.errors import BadInputError
from .region_warp import choose_layers, composite_warp


class SourceWarper:
    """Nearest-source piecewise-affine warps with region-wise mouth and eye sources.

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

    def layers(self, target: np.ndarray, exclude: int | None = None) -> list[tuple[int, str | None]]:
        """(source index, region) pairs for one (68, 2) target: the nearest source (region None) first, then
        each region taken from another source; ``exclude`` bars one source (ignored when T = 1)."""
        return choose_layers(self.landmarks, np.asarray(target, np.float32), exclude)

    def __call__(self, targets: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """(B, S, S, 3) uint8: the sources warped to each target's landmarks and composited."""
        targets = np.asarray(targets, np.float32).reshape(-1, 68, 2)
        bar = [None] * len(targets) if exclude is None else [int(e) for e in np.asarray(exclude).reshape(-1)]
        return np.stack([composite_warp([(self.crops[k], self.landmarks[k], r) for k, r in self.layers(t, e)], t)
                         for t, e in zip(targets, bar)])

    def tensor(self, targets: np.ndarray, device: Any, exclude: np.ndarray | None = None) -> Any:
        """``__call__`` as a (B, 3, S, S) float32 tensor in [-1, 1] on ``device``."""
        from ..sketch import sketch_to_tensor

        return sketch_to_tensor(self(targets, exclude)).to(device)
