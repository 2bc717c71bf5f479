"""Clips for the evaluation: the dlib landmark track of a whole clip (computed once, cached outside the
repository) and the decoded frames the protocol needs.

The cache key is the clip's content hash and the landmark backend's version, so an edited clip or a
new dlib is tracked again. Tracks are ``FaceTrack`` ``.npz`` files (no pickle), written atomically.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...runtime.errors import BadInputError
from ..types import FaceTrack

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

BACKEND = "dlib"


def default_cache_dir() -> Path:
    """``$TALKINGHEAD_EVAL_CACHE`` or ``$XDG_CACHE_HOME/talkinghead/eval-landmarks`` (~/.cache/...)."""
    if os.environ.get("TALKINGHEAD_EVAL_CACHE"):
        return Path(os.environ["TALKINGHEAD_EVAL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
    return Path(base) / "talkinghead" / "eval-landmarks"


def file_digest(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def clip_track(rt: Runtime, clip: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> FaceTrack:
    """68-point dlib track of every frame of ``clip``, from the cache when present.

    Args:
        rt: Runtime.
        clip: video file (or image sequence).
        cache_dir: where tracks are kept (default ``default_cache_dir()``).
    Returns:
        FaceTrack (N, 68, 2) in frame px; frames without a face are invalid (NaN).
    """
    from ..landmarks.extract import extract_landmarks, make_backend
    from ..media.io import iter_frames, probe

    clip = Path(clip)
    if not clip.exists():
        raise BadInputError("clip does not exist", clip)
    backend = make_backend(rt, BACKEND)
    tag = "".join(c if c.isalnum() or c in "._-" else "_" for c in backend.version)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    path = cache / f"{clip.stem}-{file_digest(clip)[:16]}-{tag}.npz"
    if path.is_file():
        return FaceTrack.load(path)
    info = probe(clip)
    track = extract_landmarks(rt, iter_frames(clip), backend, source=str(clip), total=info.n_frames, fps=info.fps)
    track.save(path)
    return track


def read_frames(clip: str | os.PathLike, indices: Iterable[int]) -> dict[int, np.ndarray]:
    """Decode ``clip`` once and keep only the frames at ``indices`` (positions in decode order).

    Returns:
        {index: (H, W, 3) uint8 RGB}.
    Raises:
        BadInputError: an index past the clip's end (naming the clip and frame).
    """
    from ..media.io import iter_frames

    wanted = {int(i) for i in indices}
    out: dict[int, np.ndarray] = {}
    for position, (_number, image) in enumerate(iter_frames(clip)):
        if position in wanted:
            out[position] = image
        if len(out) == len(wanted):
            break
    missing = sorted(wanted - set(out))
    if missing:
        raise BadInputError(f"the clip ended before frame {missing[0]}", clip, missing[0])
    return out


def list_clips(folder: str | os.PathLike, only: Iterable[str] | None = None) -> list[Path]:
    """Video files in ``folder`` (sorted by name), restricted to the stems in ``only`` when given."""
    from ..media.io import VIDEO_EXTS

    folder = Path(folder)
    if not folder.is_dir():
        raise BadInputError("--clips must be a folder of videos", folder)
    clips = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTS and not p.name.startswith("."))
    if only:
        wanted = set(only)
        unknown = wanted - {p.stem for p in clips}
        if unknown:
            raise BadInputError(f"no clip named {', '.join(sorted(unknown))} in this folder", folder)
        clips = [p for p in clips if p.stem in wanted]
    if not clips:
        raise BadInputError("no video clips in this folder", folder)
    return clips


__all__ = ["BACKEND", "clip_track", "default_cache_dir", "file_digest", "list_clips", "read_frames"]
