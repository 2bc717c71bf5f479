"""Still photos with 68-point ground truth (``.pts``) as one-frame identities for meta-learning (§3.2).

Real talking-head video is scarce; identity diversity is what meta-learning feeds on. A folder of
``name.jpg`` + ``name.pts`` (300-W format, 1-based coordinates) becomes sequences of kind "still":
one per identity, whose episodes are made by joint frame + landmark augmentation
(``training.augment``). When the folder has an ``index.json`` with ``images`` records, their
``identity_group`` is the identity (faces of one person become one sequence) and ``duplicate_of``
entries are dropped; otherwise every photo is its own identity.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...runtime.errors import BadInputError
from ..media.io import IMAGE_EXTS


def read_pts(path: str | Path) -> np.ndarray:
    """A 300-W ``.pts`` file -> (68, 2) float32 landmarks, 0-based (the file's 1-based coordinates - 1).

    Raises:
        BadInputError: naming the file when it is not 68 points between braces.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise BadInputError(f"cannot read landmarks ({exc.strerror or exc})", path) from exc
    try:
        body = text[text.index("{") + 1:text.index("}")]
        points = np.array([[float(v) for v in line.split()] for line in body.splitlines() if line.strip()],
                          np.float32)
    except ValueError as exc:
        raise BadInputError(f"not a .pts landmark file ({exc})", path) from exc
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise BadInputError(f"expected 68 finite (x, y) points, got {points.shape}", path)
    return points - 1.0


@dataclass(frozen=True)
class Still:
    """One annotated photo: image file, ``.pts`` file, identity."""

    image: Path
    pts: Path
    identity: str


def _from_index(folder: Path, index: dict) -> list[Still]:
    stills = []
    for rec in index["images"]:
        if rec.get("duplicate_of"):
            continue
        image = folder / rec["image"]
        pts = folder / rec.get("pts", Path(rec["image"]).with_suffix(".pts").name)
        stills.append(Still(image, pts, str(rec.get("identity_group") or rec.get("name") or image.stem)))
    return stills


def discover_stills(folder: str | Path) -> list[Still]:
    """Every annotated photo of ``folder`` (see the module docstring), sorted by identity then file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError("stills folder does not exist", folder)
    index_path = folder / "index.json"
    stills: list[Still] = []
    if index_path.is_file():
        try:
            index = json.loads(index_path.read_text())
        except json.JSONDecodeError as exc:
            raise BadInputError(f"corrupt index ({exc})", index_path) from exc
        if isinstance(index, dict) and isinstance(index.get("images"), list):
            stills = _from_index(folder, index)
    if not stills:
        stills = [Still(p, p.with_suffix(".pts"), p.stem) for p in sorted(folder.rglob("*"))
                  if p.suffix.lower() in IMAGE_EXTS and p.with_suffix(".pts").is_file()]
    if not stills:
        raise BadInputError("no photos with .pts landmarks found", folder)
    return sorted(stills, key=lambda s: (s.identity, str(s.image)))


def group_stills(stills: list[Still], per_shard: int) -> list[list[list[Still]]]:
    """Identities (lists of stills) packed into shards of about ``per_shard`` photos, deterministically."""
    identities: dict[str, list[Still]] = {}
    for still in stills:
        identities.setdefault(still.identity, []).append(still)
    shards, current, count = [], [], 0
    for name in sorted(identities):
        current.append(identities[name])
        count += len(identities[name])
        if count >= per_shard:
            shards.append(current)
            current, count = [], 0
    if current:
        shards.append(current)
    return shards
