"""Runtime: the device, precision, weights, caches and hooks every node receives explicitly."""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import torch

from . import weights as weights_mod
from .cache import ModelCache
from .device import describe, pick_device
from .onnx import OnnxSessionCache
from .precision import Precision
from .progress import CancelToken, ProgressBar, ProgressReporter, default_reporter


class Runtime:
    """Shared GPU runtime passed to every node and host adapter (no globals).

    Args:
        device: "auto" (cuda > mps > cpu, ``TALKINGHEAD_DEVICE`` overrides), "cpu", "cuda:N", "mps".
        precision: "auto", "32-true", "16-mixed" or "bf16-mixed".
        models_dir: extra folder searched for weights (after ``$TALKINGHEAD_MODELS``).
        progress: reporter ``(total, desc) -> ProgressBar``; tqdm/log lines by default.
        cancel: cancellation token checked by long loops.
        cache_bytes: bound of the model cache.
        logger: where messages go (default logger "talkinghead").
    """

    def __init__(self, device: str = "auto", precision: str = "auto", models_dir: str | os.PathLike | None = None,
                 progress: ProgressReporter | None = None, cancel: CancelToken | None = None,
                 cache_bytes: int = 4 << 30, logger: logging.Logger | None = None):
        self.device: torch.device = pick_device(device)
        self.precision: Precision = Precision.resolve(precision, self.device)
        self.models_dir: Path | None = Path(models_dir) if models_dir else None
        self.reporter: ProgressReporter = progress or default_reporter
        self.cancel: CancelToken = cancel or CancelToken()
        self.cache = ModelCache(cache_bytes)
        self.sessions = OnnxSessionCache(self.device.type)
        self.log = logger or logging.getLogger("talkinghead")
        self._said: set[str] = set()

    # -- weights ---------------------------------------------------------------------------
    def resolve(self, spec: weights_mod.ModelSpec | str, explicit: str | os.PathLike | None = None,
                check_hash: bool = True) -> Path:
        """Local path of a weights file (never downloads); MissingWeightsError otherwise."""
        return weights_mod.resolve(spec, explicit=explicit, models_dir=self.models_dir, check_hash=check_hash)

    def has_weights(self, spec: weights_mod.ModelSpec | str) -> bool:
        try:
            self.resolve(spec, check_hash=False)
        except weights_mod.MissingWeightsError:
            return False
        return True

    def load_cached(self, key: Hashable, loader: Callable[[], Any], nbytes: int | None = None) -> Any:
        """Model cache lookup keyed by (key, device, precision)."""
        return self.cache.get_or_load((key, str(self.device), self.precision.name), loader, nbytes)

    # -- hooks -----------------------------------------------------------------------------
    def progress(self, total: int | None, desc: str) -> ProgressBar:
        return self.reporter(total, desc)

    def check_cancelled(self) -> None:
        """Raise Interrupted if the host or a signal cancelled the work."""
        self.cancel.check()

    def say_once(self, key: str, message: str, level: int = logging.WARNING) -> None:
        """Log ``message`` once per runtime (e.g. 'VGGFace weights absent, using ...')."""
        if key not in self._said:
            self._said.add(key)
            self.log.log(level, message)

    def describe(self) -> str:
        return f"device {describe(self.device)}, precision {self.precision}"

    def __repr__(self) -> str:
        return f"Runtime(device={self.device}, precision={self.precision.name}, models_dir={self.models_dir})"
