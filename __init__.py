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

# Relative to this package's own name: a checkout cloned into ComfyUI/custom_nodes is loaded under a
# path-derived module name, not as ``talkinghead``.
_LAZY = {
    "Runtime": ".runtime.runtime",
    "Precision": ".runtime.precision",
    "FaceTrack": ".nodes.types",
    "Frames": ".nodes.types",
    "Identity": ".nodes.types",
    "PersonModel": ".nodes.types",
}

__all__ = ["__version__", *_LAZY]  # noqa: PLE0604 - _LAZY maps names (str) to modules


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "comfy_entrypoint"):
        module = importlib.import_module(".plugin.comfyui", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'talkinghead' has no attribute {name!r}")
