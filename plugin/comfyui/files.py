"""Files the ComfyUI nodes read: content fingerprints (so ComfyUI re-runs a loader whose file changed at the
same path) and the input folder's images and videos (the upload widgets' choices).

ComfyUI caches a node's outputs by its inputs; a typed path that names a file overwritten since is the same
input. Each loader therefore declares a fingerprint (classic ``IS_CHANGED``, V3 ``fingerprint_inputs``):
the sha256 of the files' bytes (a sequence or folder: of each file's name and bytes). Files over
``HASH_LIMIT`` are fingerprinted by size, modification time and their first and last MiB instead, so a
multi-GB plate is not read twice per queue.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from . import host

HASH_LIMIT = 256 << 20
CHUNK = 1 << 20
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")


def file_digest(path: Path, digest: hashlib._Hash) -> None:
    """Feed ``path``'s content (or, past HASH_LIMIT, its size, mtime and first/last MiB) into ``digest``."""
    stat = path.stat()
    with open(path, "rb") as handle:
        if stat.st_size <= HASH_LIMIT:
            while block := handle.read(CHUNK):
                digest.update(block)
            return
        digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        digest.update(handle.read(CHUNK))
        handle.seek(-CHUNK, os.SEEK_END)
        digest.update(handle.read(CHUNK))


def fingerprint_path(text: str, *, outputs: bool = False) -> str:
    """A digest of what a path widget names now: a file, a ``####`` sequence or a folder. A path that does not
    resolve gives its text (the node then fails with the message naming every place looked at)."""
    from ...nodes.media.io import is_pattern, sequence_files
    from ...runtime.errors import TalkingheadError

    if not str(text).strip():
        return ""
    try:
        path = host.resolve_path(text, outputs=outputs)
        files = [p for _, p in sequence_files(path)] if is_pattern(path) or path.is_dir() else [path]
    except TalkingheadError:
        return f"unresolved:{text}"
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0")
        file_digest(file, digest)
    return digest.hexdigest()


def input_files(kind: str) -> list[str]:
    """The input folder's images (``kind`` "image") or videos ("video"), sorted, as upload widgets list them."""
    suffixes = IMAGE_SUFFIXES if kind == "image" else VIDEO_SUFFIXES
    try:
        folder = host.input_dir()
    except ImportError:  # outside ComfyUI
        return []
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def uploaded_path(name: str) -> Path:
    """The file an upload widget names (``photo.png`` or ComfyUI's annotated ``photo.png [input]``)."""
    import folder_paths

    getter = getattr(folder_paths, "get_annotated_filepath", None)
    return Path(getter(name)) if getter else host.input_dir() / name
