"""One Precision object owns autocast, the GradScaler and every capability fallback.

Policies: "32-true", "16-mixed", "bf16-mixed"; "auto" = bf16 on CUDA compute capability >= 8
(Ampere and newer), fp16 on older CUDA, fp32 on CPU and MPS.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .errors import UsageError

POLICIES = ("32-true", "16-mixed", "bf16-mixed")
_DTYPES = {"32-true": torch.float32, "16-mixed": torch.float16, "bf16-mixed": torch.bfloat16}


@dataclass(frozen=True)
class Precision:
    """A resolved precision policy for one device.

    Attributes:
        name: one of POLICIES (after fallback).
        device_type: "cpu", "cuda" or "mps".
        requested: what the caller asked for, kept so ``doctor`` can explain a fallback.
    """

    name: str
    device_type: str
    requested: str = "auto"

    @classmethod
    def resolve(cls, request: str, device: torch.device) -> Precision:
        """Resolve ``request`` for ``device``, falling back where the hardware cannot do it."""
        if request not in ("auto", *POLICIES):
            raise UsageError(f"unknown precision '{request}' (use auto, {', '.join(POLICIES)})")
        kind = device.type
        if request == "auto":
            if kind == "cuda":
                major, _ = torch.cuda.get_device_capability(device)
                name = "bf16-mixed" if major >= 8 else "16-mixed"
            else:
                name = "32-true"
            return cls(name, kind, request)
        name = request
        if kind == "cpu" and name == "16-mixed":
            logging.getLogger("talkinghead").warning(
                "precision 16-mixed is not supported on CPU; falling back to 32-true")
            name = "32-true"
        if kind == "cuda" and name == "bf16-mixed" and not torch.cuda.is_bf16_supported():
            logging.getLogger("talkinghead").warning(
                "this GPU has no bf16 support; falling back to 16-mixed")
            name = "16-mixed"
        if kind == "mps" and name == "bf16-mixed":
            name = "16-mixed"
        return cls(name, kind, request)

    @property
    def dtype(self) -> torch.dtype:
        """Compute dtype inside autocast (parameters stay fp32)."""
        return _DTYPES[self.name]

    @property
    def mixed(self) -> bool:
        return self.name != "32-true"

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Autocast context for this policy (a no-op for 32-true)."""
        if not self.mixed:
            yield
            return
        with torch.autocast(device_type=self.device_type, dtype=self.dtype):
            yield

    def scaler(self) -> torch.amp.GradScaler:
        """GradScaler: enabled only for fp16 on CUDA (bf16 and fp32 need no loss scaling)."""
        enabled = self.name == "16-mixed" and self.device_type == "cuda"
        return torch.amp.GradScaler(self.device_type if self.device_type != "mps" else "cpu", enabled=enabled)

    def __str__(self) -> str:
        note = "" if self.requested in ("auto", self.name) else f" (requested {self.requested})"
        return f"{self.name}{note}"
