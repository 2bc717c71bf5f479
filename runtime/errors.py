"""Errors with the command-line exit codes of DESIGN §4.

0 success; 2 usage error; 3 bad input; 4 missing weights (or an optional package); 5 interrupted.
Every error that concerns a file names it, and the frame where there is one.
"""
from __future__ import annotations

from os import PathLike


class TalkingheadError(Exception):
    """Base class: carries the process exit code the CLI returns for it."""

    exit_code: int = 1


class UsageError(TalkingheadError):
    """The request itself is wrong (bad flag combination, unknown device, ...)."""

    exit_code = 2


class BadInputError(TalkingheadError):
    """Unreadable media, no face, mismatched sizes, ...: names the file and frame.

    Args:
        message: what is wrong.
        path: the offending file, if any.
        frame: the offending frame number, if any.
    """

    exit_code = 3

    def __init__(self, message: str, path: str | PathLike | None = None, frame: int | None = None):
        self.path = None if path is None else str(path)
        self.frame = frame
        where = []
        if self.path is not None:
            where.append(self.path)
        if frame is not None:
            where.append(f"frame {frame}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class MissingWeightsError(TalkingheadError):
    """A weights file was not found (or failed its checksum) in any of the places looked at."""

    exit_code = 4


class MissingDependencyError(TalkingheadError):
    """An optional package a command needs is not installed (the message names the extra to install);
    exit 4 like missing weights: something to install, not a wrong request."""

    exit_code = 4


class Interrupted(TalkingheadError):
    """The work was cancelled by the host or by a signal."""

    exit_code = 5
