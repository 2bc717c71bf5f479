"""Pre-flight checks of output locations: run before any work, so a render or a long extraction never
computes everything and then fails on its first write.

Every command that writes files calls ``check_output_file`` (a file it will write) or
``check_output_dir`` (a folder it will write into) on its outputs first. Nothing is created here:
a folder that does not exist yet is accepted when its nearest existing parent is a writable folder
(the writers create it, ``atomic.atomic_path``).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import BadInputError


def _nearest_existing(folder: Path) -> Path:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_output_dir(folder: str | os.PathLike, option: str = "--out") -> Path:
    """Check that files can be written into ``folder`` (existing or to be created); returns it as a Path.

    Raises:
        BadInputError: a part of the path is a regular file, or the folder (or, when it does not exist
            yet, its nearest existing parent) cannot be written; the message names ``option`` and the path.
    """
    folder = Path(folder) if str(folder) else Path(".")
    existing = _nearest_existing(folder.absolute())
    if not existing.is_dir():
        raise BadInputError(f"is a file, not a folder: {option} cannot write under it ({folder})", existing)
    if existing != folder.absolute():
        if not os.access(existing, os.W_OK | os.X_OK):
            raise BadInputError(f"the folder is not writable: {option} cannot create {folder} in it", existing)
        return folder
    try:
        fd, name = tempfile.mkstemp(prefix=".talkinghead-write-check.", dir=folder)
    except OSError as exc:
        raise BadInputError(f"the folder is not writable ({exc.strerror or exc}): {option} cannot write in it",
                            folder) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return folder


def check_output_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check that the file ``path`` can be written (its folder, see ``check_output_dir``; not a folder itself)."""
    path = Path(path)
    if path.is_dir():
        raise BadInputError(f"is a folder: {option} needs a file name", path)
    check_output_dir(path.parent, option)
    return path
