"""Publish manifests and the atomic version rename (not a plugin: pyblish skips files starting with "_")."""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "talkinghead.publish/1"
VERSION = re.compile(r"^v(\d{3,})$")


def next_version(root: Path) -> int:
    """1 + the highest ``vNNN`` under ``root`` (1 when there is none)."""
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := VERSION.match(p.name))] if root.is_dir() else []
    return max(numbers, default=0) + 1


def build_manifest(folder: Path, shot: Any, version: int, consent: dict | None = None) -> dict:
    """Every file under ``folder`` (relative path, bytes, sha256), the shot and the package version."""
    from talkinghead import __version__
    from talkinghead.nodes.render.shot import frames_text
    from talkinghead.runtime.weights import sha256_file

    files = [{"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST]
    return {"format": MANIFEST_FORMAT, "shot": shot.name, "version": version, "shot_file": str(shot.path),
            "frames": frames_text(shot.frames) if shot.frames else None, "preset": shot.preset,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "talkinghead": __version__, "consent": consent, "files": files}


def promote(folder: Path, root: Path, manifest: dict, attempts: int = 100) -> Path:
    """Write the manifest into ``folder`` and rename it to ``root/vNNN`` (the next free number if another
    publish took the one in the manifest)."""
    from talkinghead.runtime.atomic import atomic_write_text

    for _ in range(attempts):
        target = root / f"v{manifest['version']:03d}"
        atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        try:
            os.rename(folder, target)  # atomic; fails if target exists (non-empty on POSIX)
        except OSError:
            if not target.exists():
                raise
            manifest["version"] = next_version(root)
            continue
        return target
    raise RuntimeError(f"{root}: no free version folder after {attempts} attempts")


def verify_manifest(folder: Path) -> list[str]:
    """Problems with a published version: files missing, changed, or not listed ([] when intact)."""
    from talkinghead.runtime.weights import sha256_file

    manifest = json.loads((folder / MANIFEST).read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    problems = [f"{p}: missing" for p in listed if not (folder / p).is_file()]
    problems += [f"{p}: sha256 differs" for p, f in listed.items()
                 if (folder / p).is_file() and sha256_file(folder / p) != f["sha256"]]
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    problems += [f"{p}: not in the manifest" for p in sorted(present - set(listed))]
    return problems
