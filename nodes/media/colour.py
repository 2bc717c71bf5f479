"""Colour conversion between the tags the package uses, via OpenColorIO's built-in ACES studio config.

Tags: "srgb" (sRGB-encoded Rec.709, display-referred: what the networks see), "linear" (scene-linear
Rec.709) and "acescg" (scene-linear AP1). Images are float32 (..., 3); alpha is passed through.
"""
from __future__ import annotations

import numpy as np

from ...runtime.errors import UsageError

COLOUR_TAGS = ("srgb", "linear", "acescg")
_OCIO_NAMES = {"srgb": "sRGB Encoded Rec.709 (sRGB)", "linear": "Linear Rec.709 (sRGB)", "acescg": "ACEScg"}
_BUILTIN_CONFIG = "studio-config-latest"


def _processor(src: str, dst: str):
    import PyOpenColorIO as ocio

    config = ocio.Config.CreateFromBuiltinConfig(_BUILTIN_CONFIG)
    return config.getProcessor(_OCIO_NAMES[src], _OCIO_NAMES[dst]).getDefaultCPUProcessor()


def convert_colour(image: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert ``image`` (..., 3 or 4) float from colour tag ``src`` to ``dst`` (a new float32 array).

    uint8 input is read as 0..255 sRGB-encoded values.
    """
    for tag in (src, dst):
        if tag not in COLOUR_TAGS:
            raise UsageError(f"unknown colour space '{tag}' (use {', '.join(COLOUR_TAGS)})")
    out = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    out = np.ascontiguousarray(out)
    if src == dst:
        return out
    rgb = np.ascontiguousarray(out[..., :3])
    _processor(src, dst).applyRGB(rgb)
    out[..., :3] = rgb
    return out


def float_to_uint8(image: np.ndarray) -> np.ndarray:
    """Float sRGB-encoded [0, 1] -> uint8 with rounding and clipping."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
