"""The plate frames of a shot: one image, a video or a #### sequence, looked up by driver frame number."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.errors import BadInputError
from .frames_on_disk import frame_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".exr", ".webp")
def plate_source(plate: str | os.PathLike | None, first_number: int, strict: bool = False) -> tuple[Any, str | None]:
    """(plate, where): None, one (H, W, 3) uint8 image, or a callable frame_number -> image."""
    if plate is None:
        return None, None
    from ..media import io

    path = Path(plate)
    if io.is_pattern(path):
        return (lambda n: io.read_image(frame_path(path, n))), str(path)
    if not path.exists():
        raise BadInputError("no such plate file", path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return io.read_image(path), str(path)
    return plate_video(path, first_number, strict), str(path)


def plate_video(path: Path, first_number: int, strict: bool = False) -> Callable[[int], np.ndarray]:
    """frame_number -> plate frame: the video's i-th frame goes with the driver track's i-th frame
    (index = frame_number - first driver frame number); decoded forward, restarted only to go back."""
    from ..media.io import iter_frames

    state: dict[str, Any] = {"it": None, "index": -1, "frame": None}

    def get(number: int) -> np.ndarray:
        target = number - first_number
        if state["it"] is None or target < state["index"]:
            state["it"], state["index"] = iter(iter_frames(path, strict=strict)), -1
        while state["index"] < target:
            item = next(state["it"], None)
            if item is None:
                raise BadInputError(f"plate video has only {state['index'] + 1} frames", path, number)
            state["frame"] = item[1]
            state["index"] += 1
        return state["frame"]

    return get
