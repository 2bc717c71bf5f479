"""Export a PersonModel file: build G(y; psi') with ``nodes.person.person_generator`` and hand it on.

Thin glue between the wire type and the format writers; the network code lives in nodes/ only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...runtime.errors import UsageError
from .onnx_export import DEFAULT_OPSET, export_onnx
from .torchscript_export import export_torchscript

FORMATS = ("onnx", "torchscript")


def person_size(person: Any) -> int:
    """S: the crop size the person was fine-tuned at (``info["crop"]["size"]``), else the preset's size."""
    crop = (person.info or {}).get("crop") or {}
    if crop.get("size"):
        return int(crop["size"])
    for key in ("image_size", "size", "resolution"):
        if person.config.get(key):
            return int(person.config[key])
    raise UsageError("the PersonModel records no crop size; pass --size")


def person_metadata(person: Any, size: int, source: str = "") -> dict:
    """String metadata stored in exported files (what produced them and how to feed them)."""
    from ... import __version__

    return {"talkinghead_version": __version__, "source": source, "size": str(size),
            "preset": str(person.config.get("name", person.config.get("preset", ""))),
            "base_model": person.identity.base_model, "consent_id": person.identity.consent_id,
            "input": f"sketch (N,3,{size},{size}) float32 landmark image in [-1,1] (0..255 -> -1..1)",
            "output": f"image (N,3,{size},{size}) float32 RGB in [-1,1], sRGB-encoded (display-referred)"}


def _generator(person: Any):
    from ..person import person_generator

    if person.config.get("g_warp"):
        raise UsageError("this PersonModel is the warp-conditioned variant (preset *-warp): its generator also "
                         "takes the source frame warped to each pose, which ONNX/TorchScript exports do not carry "
                         "yet; export a person fine-tuned from a paper-faithful preset, or render with --backend torch")
    return person_generator(person, "cpu")


def export_person_onnx(person: Any, path: str | os.PathLike, size: int | None = None,
                       opset: int = DEFAULT_OPSET, source: str = "") -> dict:
    """ONNX file of ``person``'s generator (+ ``PATH.ops.json``/``.txt``); returns the operator report."""
    size = size or person_size(person)
    return export_onnx(_generator(person), size, path, opset, person_metadata(person, size, source))


def export_person_torchscript(person: Any, path: str | os.PathLike, size: int | None = None) -> dict:
    """Nuke TorchScript file of ``person``'s generator; returns the check record."""
    size = size or person_size(person)
    return export_torchscript(_generator(person), size, path)


def export_person_file(person_path: str | os.PathLike, fmt: str, out: str | os.PathLike,
                       size: int | None = None, opset: int = DEFAULT_OPSET) -> dict:
    """Load ``person_path`` (a PersonModel .safetensors) and export it as ``fmt`` to ``out``."""
    from ..types import PersonModel

    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    person = PersonModel.load(person_path)
    if fmt == "onnx":
        return export_person_onnx(person, out, size, opset, source=Path(person_path).name)
    return export_person_torchscript(person, out, size)
