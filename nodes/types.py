"""Wire types that flow between nodes (DESIGN §2), with save/load in open formats (never pickle).

Shapes: N frames, 68 iBUG/300-W landmarks, images (N, H, W, 3) RGB.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..runtime.atomic import atomic_path
from ..runtime.errors import BadInputError

N_LANDMARKS = 68
FACETRACK_FORMAT = "talkinghead.facetrack/1"


@dataclass
class Frames:
    """A clip or a set of stills.

    Attributes:
        images: (N, H, W, 3) uint8 RGB, or float32 in [0, 1] (or scene-linear for colour "linear"/"acescg").
        fps: frames per second (0 for stills).
        colour: "srgb" | "linear" | "acescg".
        frame_numbers: (N,) int64 frame numbers (e.g. 1001..).
        source: where they came from (file, pattern), for error messages.
    """

    images: np.ndarray
    fps: float = 0.0
    colour: str = "srgb"
    frame_numbers: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise BadInputError(f"Frames.images must be (N, H, W, 3), got {self.images.shape}", self.source or None)
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(len(self.images), dtype=np.int64)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int64)
        if len(self.frame_numbers) != len(self.images):
            raise BadInputError("frame_numbers and images differ in length", self.source or None)

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class FaceTrack:
    """Per-frame 68-point landmarks of one face through a clip.

    Attributes:
        landmarks: (N, 68, 2) float32, x/y in image pixels (0-based, pixel centres at integers).
        boxes: (N, 4) float32 face boxes x0, y0, x1, y1 in pixels.
        valid: (N,) bool; False where no face was found (landmarks there are NaN unless filled).
        score: (N,) float32 detection/landmark confidence (0 where invalid).
        image_size: (H, W) of the frames.
        frame_numbers: (N,) int64.
        fps: frames per second of the source (0 for stills).
        backend: "fan" | "dlib" | ...; backend_version: its version string.
        source: the media file the track was extracted from.
        filled: (N,) bool; True where landmarks were interpolated (``--fill``), never silently.
        smoothed: whether temporal smoothing was applied.
    """

    landmarks: np.ndarray
    boxes: np.ndarray
    valid: np.ndarray
    score: np.ndarray
    image_size: tuple[int, int]
    frame_numbers: np.ndarray | None = None
    fps: float = 0.0
    backend: str = ""
    backend_version: str = ""
    source: str = ""
    filled: np.ndarray | None = None
    smoothed: bool = False
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.landmarks)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.boxes = np.asarray(self.boxes, dtype=np.float32)
        self.valid = np.asarray(self.valid, dtype=bool)
        self.score = np.asarray(self.score, dtype=np.float32)
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(n, dtype=np.int64)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int64)
        self.filled = np.zeros(n, bool) if self.filled is None else np.asarray(self.filled, dtype=bool)
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        where = self.source or None
        if self.landmarks.shape != (n, N_LANDMARKS, 2):
            raise BadInputError(f"FaceTrack.landmarks must be (N, 68, 2), got {self.landmarks.shape}", where)
        for name, shape in (("boxes", (n, 4)), ("valid", (n,)), ("score", (n,)),
                            ("frame_numbers", (n,)), ("filled", (n,))):
            if getattr(self, name).shape != shape:
                raise BadInputError(f"FaceTrack.{name} must be {shape}, got {getattr(self, name).shape}", where)

    def __len__(self) -> int:
        return len(self.landmarks)

    def select(self, index: np.ndarray | slice) -> FaceTrack:
        """A new track holding only the frames at ``index``."""
        return FaceTrack(self.landmarks[index], self.boxes[index], self.valid[index], self.score[index],
                         self.image_size, self.frame_numbers[index], self.fps, self.backend,
                         self.backend_version, self.source, self.filled[index], self.smoothed, dict(self.extra))

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` (no pickled objects) atomically."""
        meta = {"format": FACETRACK_FORMAT, "image_size": list(self.image_size), "fps": self.fps,
                "backend": self.backend, "backend_version": self.backend_version, "source": self.source,
                "smoothed": self.smoothed, "extra": self.extra}
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, landmarks=self.landmarks, boxes=self.boxes, valid=self.valid,
                                    score=self.score, frame_numbers=self.frame_numbers, filled=self.filled,
                                    meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> FaceTrack:
        """Read a track written by ``save``; BadInputError naming the file otherwise."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FACETRACK_FORMAT:
                    raise BadInputError(f"not a talkinghead FaceTrack (format {meta.get('format')!r})", path)
                arrays = {f.name: data[f.name] for f in fields(cls)
                          if f.name in ("landmarks", "boxes", "valid", "score", "frame_numbers", "filled")}
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
            raise BadInputError(f"cannot read FaceTrack ({exc})", path) from exc
        return cls(image_size=tuple(meta["image_size"]), fps=meta["fps"], backend=meta["backend"],
                   backend_version=meta["backend_version"], source=meta["source"], smoothed=meta["smoothed"],
                   extra=meta.get("extra", {}), **arrays)
