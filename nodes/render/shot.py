"""Shot descriptions (YAML): what pyblish publishing and render-farm jobs work from.

Example::

    shot: sh010
    sources: [portraits/alice_01.png, portraits/alice_02.png]   # K source photos of the person
    driver: plates/sh010_performance.mov                        # driving clip or FaceTrack .npz
    plate: plates/sh010_bg.####.exr                              # optional: composite target
    frames: 1001-1100                                            # optional driver frames (1001-1100x2: every 2nd)
    output: renders/sh010                                        # render root
    pattern: sh010.####.png                                      # file pattern inside output
    preset: small-128-warp                                       # optional (the default preset)
    model: null                                                  # base model path (else best present)
    residual: auto                                               # network residual: auto (meta-learned base present) | on | off
    finetune: {steps: 300, max_seconds: 1200}                    # optional (default: the fine-tuning default)
    consent: consent/alice.json                                  # consent record (provenance)
    min_track_coverage: 0.9

Relative paths are relative to the YAML file's folder.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ...runtime.errors import BadInputError, TalkingheadError, UsageError
from ..budget import Budget
from ..networks.presets import DEFAULT_PRESET


@dataclass(frozen=True)
class Shot:
    """A validated shot description; paths are absolute."""

    name: str
    sources: tuple[Path, ...]
    driver: Path
    output: Path
    pattern: str = "frame.####.png"
    plate: Path | None = None
    frames: tuple[int, ...] | None = None  # driver frame numbers (parse_frames); None: all
    preset: str = DEFAULT_PRESET
    model: Path | None = None
    finetune: Budget = field(default_factory=Budget)
    residual: str = "auto"
    consent: Path | None = None
    min_track_coverage: float = 0.9
    min_resolution: int = 128
    path: Path = field(default=Path("."))

    @property
    def person_path(self) -> Path:
        return self.output / f"{self.name}.person.safetensors"

    @property
    def out_pattern(self) -> Path:
        return self.output / self.pattern


def parse_frames(text: str | int, where: str | os.PathLike | None = None) -> tuple[int, ...]:
    """A frame range in the VFX notation ``fileseq`` reads -> the frame numbers, increasing.

    '1001-1100' (inclusive), '1001', '1001-1100x2' (every 2nd), '1-10,20-30', '1001-1100y10' (all but every
    10th); negative numbers are allowed ('-5--1').

    Raises:
        UsageError: a malformed, empty or decreasing range given directly (a flag, a node input; ``where`` None).
        BadInputError: the same read from the file ``where`` (a shot description), naming it.
    """
    import fileseq

    try:
        numbers = [int(n) for n in fileseq.FrameSet(str(text).strip())]
        error = "" if numbers else "no frames"
    except (fileseq.ParseException, ValueError) as exc:
        numbers, error = [], f"expected A-B, A-BxN or a list of them: {str(exc).splitlines()[0]}"
    if not error and numbers != sorted(set(numbers)):
        error = f"frames must increase: the end {numbers[-1]} comes before the start {numbers[0]}"
    if error:
        message = f"bad frame range {str(text)!r} ({error})"
        raise UsageError(message) if where is None else BadInputError(message, where)
    return tuple(numbers)


def frames_text(numbers: Sequence[int]) -> str:
    """The compact range of frame numbers: (1001, 1003, 1005) -> '1001-1005x2' (fileseq's notation)."""
    import fileseq

    return fileseq.FrameSet.from_iterable([int(n) for n in numbers], sort=True).frameRange()


def load_shot(path: str | os.PathLike) -> Shot:
    """Read and validate a shot YAML; BadInputError naming the file and key when something is wrong."""
    import yaml

    path = Path(path).resolve()
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"cannot read shot description ({exc})", path) from exc
    if not isinstance(data, dict):
        raise BadInputError("shot description must be a mapping", path)
    base = path.parent

    def p(value: str | None) -> Path | None:
        return None if value in (None, "") else (base / str(value)).resolve()

    for key in ("shot", "sources", "driver", "output"):
        if not data.get(key):
            raise BadInputError(f"missing required key '{key}'", path)
    sources = data["sources"] if isinstance(data["sources"], list) else [data["sources"]]
    finetune = data.get("finetune") or {}
    try:
        return Shot(
            name=str(data["shot"]), sources=tuple(p(s) for s in sources), driver=p(data["driver"]),
            output=p(data["output"]), pattern=str(data.get("pattern", f"{data['shot']}.####.png")),
            plate=p(data.get("plate")),
            frames=parse_frames(data["frames"], path) if data.get("frames") is not None else None,
            preset=str(data.get("preset", DEFAULT_PRESET)), model=p(data.get("model")),
            residual=str(data.get("residual", "auto")),
            finetune=Budget(*(None if finetune.get(k) is None else kind(finetune[k])
                              for k, kind in (("steps", int), ("max_seconds", float)))),
            consent=p(data.get("consent")), min_track_coverage=float(data.get("min_track_coverage", 0.9)),
            min_resolution=int(data.get("min_resolution", 128)), path=path)
    except (TypeError, ValueError, TalkingheadError) as exc:
        raise BadInputError(f"bad value in shot description ({exc})", path) from exc
