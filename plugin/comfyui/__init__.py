"""ComfyUI adapter: one thin node per talkinghead node, V3 schema where the host has it, classic otherwise.

ComfyUI reads ``NODE_CLASS_MAPPINGS`` first and ``comfy_entrypoint`` only when that is absent or None, so:
on a host with ``comfy_api.latest`` (V3) ``NODE_CLASS_MAPPINGS`` is None and ``comfy_entrypoint`` returns
the extension; on an older host ``NODE_CLASS_MAPPINGS`` holds the classic classes. Everything is built on
first access (no import-time side effects, no torch at import); that access (ComfyUI loading the pack) also
registers ``models/talkinghead`` with ``folder_paths`` and logs an ONNX Runtime clash (``on_load``).

Sockets: TALKINGHEAD_FACETRACK / _IDENTITY / _PERSON carry the package's wire types, TALKINGHEAD_BASE a
loaded base model, TALKINGHEAD_FRAMES generated frames for Composite; IMAGE (B, H, W, C) and MASK (B, H, W)
are float32 in [0, 1] as in ComfyUI. Weights are looked up under ComfyUI's ``models/talkinghead``.
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "comfy_entrypoint", "host_has_v3", "node_specs"]


def node_specs() -> tuple:
    """Every node's spec, in menu order."""
    from .definitions_media import SPECS as MEDIA
    from .definitions_models import SPECS as MODELS
    from .definitions_pipeline import SPECS as PIPELINE
    from .definitions_save import SPECS as SAVE

    return (*MEDIA, *PIPELINE, *SAVE, *MODELS)


def on_load() -> None:
    """What ComfyUI loading the pack does besides listing nodes: register models/talkinghead with
    ``folder_paths`` and warn (in the server log) about a clashing ONNX Runtime install."""
    from ...runtime.packages import onnxruntime_clash
    from .host import log, register_models_folder

    register_models_folder()
    clash = onnxruntime_clash()
    if clash:
        log.warning("talkinghead: %s", clash)


def host_has_v3() -> bool:
    """Does the running ComfyUI offer the V3 node schema (``comfy_api.latest`` with ``io.ComfyNode``)?"""
    try:
        latest = importlib.import_module("comfy_api.latest")
    except ImportError:
        return False
    return hasattr(latest, "ComfyExtension") and hasattr(getattr(latest, "io", None), "ComfyNode")


async def _entrypoint() -> Any:
    """ComfyUI's V3 entry point: the extension listing the V3 node classes."""
    from .v3 import build_extension

    return build_extension(node_specs())


def __getattr__(name: str) -> Any:
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "comfy_entrypoint"):
        on_load()
    if name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"):
        if host_has_v3():
            return None
        from .classic import class_mappings

        mappings = class_mappings(node_specs())
        return mappings[0] if name == "NODE_CLASS_MAPPINGS" else mappings[1]
    if name == "comfy_entrypoint":
        if not host_has_v3():
            raise AttributeError("comfy_entrypoint: this ComfyUI has no V3 node schema; use NODE_CLASS_MAPPINGS")
        return _entrypoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
