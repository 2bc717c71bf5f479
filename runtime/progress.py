"""Progress and cancellation hooks that hosts plug into.

A *reporter* is any callable ``reporter(total, desc) -> ProgressBar``. The default uses tqdm on a
TTY and plain log lines otherwise; ComfyUI, pyblish and farm adapters pass their own.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Protocol

from .errors import Interrupted


class ProgressBar(Protocol):
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


class ProgressReporter(Protocol):
    def __call__(self, total: int | None, desc: str) -> ProgressBar: ...


class LogProgress:
    """Progress as log lines, at most one every ``interval`` seconds (farm logs, pipes)."""

    def __init__(self, total: int | None, desc: str, logger: logging.Logger | None = None,
                 interval: float = 5.0):
        self.total, self.desc, self.count = total, desc, 0
        self.log = logger or logging.getLogger("talkinghead")
        self.interval = interval
        self._last = 0.0
        self.log.info("%s: started%s", desc, f" (0/{total})" if total else "")

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.log.info("%s: %d%s", self.desc, self.count, f"/{self.total}" if self.total else "")

    def close(self) -> None:
        self.log.info("%s: done (%d)", self.desc, self.count)

    def __enter__(self) -> LogProgress:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TqdmProgress:
    """tqdm progress bar on a terminal (stderr)."""

    def __init__(self, total: int | None, desc: str):
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=desc, file=sys.stderr, dynamic_ncols=True, leave=True)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> TqdmProgress:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SilentProgress:
    """No progress output at all (``talkinghead --quiet``, batch jobs that log elsewhere)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> SilentProgress:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def default_reporter(total: int | None, desc: str) -> ProgressBar:
    """tqdm when stderr is a terminal, log lines otherwise."""
    if sys.stderr.isatty():
        return TqdmProgress(total, desc)
    return LogProgress(total, desc)


class CancelToken:
    """Thread-safe cancellation flag; ``check()`` raises Interrupted once cancelled.

    Hosts either call ``cancel()`` or supply ``poll``, a callable that raises (ComfyUI's
    ``throw_exception_if_processing_interrupted``) or returns True when the user cancelled.
    """

    def __init__(self, poll=None):
        self._event = threading.Event()
        self._poll = poll

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._poll is not None and self._poll():
            self._event.set()
        if self._event.is_set():
            raise Interrupted("cancelled")
