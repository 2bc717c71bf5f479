"""Where the save nodes write files: one small function per file kind, so that marking saved outputs
(provenance: consent record, C2PA, watermark; issue 9) plugs in at exactly one place."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def next_path(folder: Path, prefix: str, suffix: str) -> Path:
    """``folder/<prefix>_00001<suffix>``, the first counter not taken (ComfyUI's naming)."""
    stem = Path(prefix)
    target = folder / stem.parent
    counter = 1
    while (target / f"{stem.name}_{counter:05d}{suffix}").exists():
        counter += 1
    return target / f"{stem.name}_{counter:05d}{suffix}"


def write_person(person: Any, path: str | os.PathLike) -> Path:
    """Write a PersonModel (atomic safetensors); the hook point for provenance marking of saved outputs."""
    path = Path(path)
    person.save(path)
    return path
