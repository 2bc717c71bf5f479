"""How long fine-tuning runs: the one form, check and default of steps and a time box (no heavy imports:
the commands' --help and shot descriptions use it)."""
from __future__ import annotations

from dataclasses import dataclass

from ..runtime.errors import UsageError

DEFAULT_STEPS = 200  # without a time box; with one, the time box alone bounds the run


@dataclass(frozen=True)
class Budget:
    """How long fine-tuning runs: the one form, check and default of ``steps`` and ``max_seconds``.

    Attributes:
        steps: optimisation steps (None: ``DEFAULT_STEPS`` unless ``max_seconds`` bounds the run).
        max_seconds: wall-clock time box of one call (None: none).

    Raises:
        UsageError: a negative value.
    """

    steps: int | None = None
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.steps is not None and self.steps < 0) or (self.max_seconds is not None and self.max_seconds < 0):
            raise UsageError(f"fine-tuning needs steps >= 0 and max seconds >= 0, got {self.steps} and "
                             f"{self.max_seconds}")

    @property
    def step_limit(self) -> int | None:
        """Steps to stop at: ``steps``, else ``DEFAULT_STEPS`` when no time box is set, else None (time only)."""
        if self.steps is not None:
            return self.steps
        return None if self.max_seconds is not None else DEFAULT_STEPS

    def __str__(self) -> str:
        parts = [f"{self.step_limit} steps"] if self.step_limit is not None else []
        return " / ".join(parts + ([f"{self.max_seconds:g} s"] if self.max_seconds is not None else []))
