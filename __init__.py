"""talkinghead: few-shot neural talking-head animation as composable pipeline nodes.

Zakharov et al., "Few-Shot Adversarial Learning of Realistic Neural Talking Head Models",
ICCV 2019 (arXiv 1905.08233).

Importing this package imports neither torch nor onnxruntime nor any host; the public API is
loaded lazily on first attribute access.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Runtime": "talkinghead.runtime.runtime",
    "Precision": "talkinghead.runtime.precision",
    "FaceTrack": "talkinghead.nodes.types",
    "Frames": "talkinghead.nodes.types",
    "Identity": "talkinghead.nodes.types",
    "PersonModel": "talkinghead.nodes.types",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "comfy_entrypoint"):
        module = importlib.import_module("talkinghead.plugin.comfyui")
        return getattr(module, name)
    raise AttributeError(f"module 'talkinghead' has no attribute {name!r}")
