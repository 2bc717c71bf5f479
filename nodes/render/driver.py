"""The driver of a shot as a FaceTrack: a .npz as is, media tracked once and cached beside the output."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...runtime.errors import BadInputError

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime


def load_driver(rt: Runtime, driver: str | os.PathLike, cache_dir: Path, strict: bool = False) -> Any:
    """FaceTrack of the driver: a ``.npz`` as is; media -> landmarks over the full clip, cached.

    The cache (``cache_dir/.driver-<digest>.track.npz``, keyed by path, size and mtime) makes every
    chunk of a shot use the very same track (landmark tracking is stateful over the clip). Messages
    about a track from media name the media (the cache file is an implementation detail).
    ``strict``: a video that holds fewer frames than its container says is an error, not a warning.
    Media are tracked with the irises (the output's gaze follows the driver's).
    """
    from ..types import FaceTrack

    path = Path(driver)
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise BadInputError("no such FaceTrack file", path)
        return FaceTrack.load(path)
    from ..media.io import is_pattern, sequence_files

    if is_pattern(path) or path.is_dir():
        files = [p for _, p in sequence_files(path)]
    elif path.exists():
        files = [path]
    else:
        raise BadInputError("no such driver video or image sequence", path)
    key = f"iris:{path.resolve()}:" + ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    cached = cache_dir / f".driver-{hashlib.sha256(key.encode()).hexdigest()[:16]}.track.npz"
    if cached.is_file():
        track = FaceTrack.load(cached)
        track.path = ""
        return track
    from ..landmarks.extract import ExtractLandmarks

    track = ExtractLandmarks().run(rt, source=str(path), strict=strict, iris=True)["track"]
    track.save(cached)
    return track


def driver_media(driver: str | os.PathLike, first_number: int, strict: bool = False) -> Any:
    """frame number -> the driver's own frame, when the driver is media (its mouth interior is used), else
    None (a ``.npz`` track: the interior is synthesised)."""
    path = Path(driver)
    if path.suffix.lower() == ".npz" or path.is_dir():
        return None
    from .plate import plate_source

    frames = plate_source(path, first_number, strict=strict)[0]
    return frames if callable(frames) else (lambda number: frames)
