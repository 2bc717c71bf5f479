"""ComfyUI tensor layouts <-> the package's numpy images.

IMAGE: torch float32 (B, H, W, C) in [0, 1], C = 3 (an alpha channel, C = 4, is dropped).
MASK: torch float32 (B, H, W) in [0, 1].
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...runtime.errors import BadInputError


def image_to_uint8(image: Any, what: str = "IMAGE") -> np.ndarray:
    """IMAGE (B, H, W, C) float 0..1 -> (B, H, W, 3) uint8 RGB (rounded, clipped)."""
    array = image.detach().float().cpu().numpy() if hasattr(image, "detach") else np.asarray(image, np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise BadInputError(f"{what} must be (B, H, W, C) with C in 1, 3, 4; got {array.shape}")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.clip(np.rint(array[..., :3] * 255.0), 0, 255).astype(np.uint8)


def uint8_to_image(frames: Sequence[np.ndarray] | np.ndarray) -> Any:
    """(B, H, W, 3) uint8 (or a list of same-size images) -> IMAGE float32 (B, H, W, 3) in [0, 1]."""
    import torch

    stack = np.ascontiguousarray(np.stack(list(frames)) if not isinstance(frames, np.ndarray) else frames)
    if stack.ndim != 4 or stack.shape[-1] != 3:
        raise BadInputError(f"frames must be (B, H, W, 3), got {stack.shape}")
    return torch.from_numpy(stack).float().div_(255.0)


def to_mask(alphas: Sequence[np.ndarray] | np.ndarray) -> Any:
    """(B, H, W) float alphas -> MASK float32 (B, H, W) in [0, 1]."""
    import torch

    stack = np.stack(list(alphas)) if not isinstance(alphas, np.ndarray) else alphas
    if stack.ndim != 3:
        raise BadInputError(f"mattes must be (B, H, W), got {stack.shape}")
    return torch.from_numpy(np.clip(np.ascontiguousarray(stack, np.float32), 0.0, 1.0))
