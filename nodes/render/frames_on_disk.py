"""Frames already on disk: where a frame goes, whether a finished one is there (resume), reading it back, and
the leftovers of a killed write."""
from __future__ import annotations

import os
import re
import struct
from pathlib import Path

import numpy as np

from ...runtime.errors import BadInputError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
def frame_path(pattern: str | os.PathLike, number: int) -> Path:
    """'out/a.####.png', 12 -> 'out/a.0012.png' (``nodes.media.io.expand_pattern``; UsageError without ####)."""
    from ..media.io import expand_pattern

    return expand_pattern(pattern, number)


def png_is_valid(path: Path, width: int, height: int, channels: int) -> bool:
    """Cheap check of a finished PNG: signature, IHDR size and colour type, and a trailing IEND chunk."""
    colour_type = {3: 2, 4: 6}[channels]
    try:
        with open(path, "rb") as handle:
            head = handle.read(29)
            handle.seek(-12, os.SEEK_END)
            tail = handle.read(12)
    except OSError:
        return False
    if len(head) < 29 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR" or tail != PNG_IEND:
        return False
    w, h, depth, ctype = struct.unpack(">IIBB", head[16:26])
    return (w, h, depth, ctype) == (width, height, 8, colour_type)


def frame_is_valid(path: Path, width: int, height: int, channels: int) -> bool:
    """Is ``path`` a complete, signed frame of the expected size (PNG: header + IEND; others: decoded)?"""
    from ..provenance.mark import has_provenance

    if not path.is_file() or path.stat().st_size == 0 or not has_provenance(path):
        return False
    if path.suffix.lower() == ".png":
        return png_is_valid(path, width, height, channels)
    try:
        image = read_frame(path)
    except BadInputError:
        return False
    return image.shape == (height, width, channels)


def read_frame(path: Path) -> np.ndarray:
    """Read a written frame back as uint8 (H, W, C) (EXR: linear -> sRGB uint8)."""
    if path.suffix.lower() == ".exr":
        from ..media.colour import convert_colour, float_to_uint8
        from ..media.exr import read_exr

        pixels, colour = read_exr(path)
        return float_to_uint8(convert_colour(pixels, colour, "srgb"))
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise BadInputError("cannot decode frame", path)
    code = cv2.COLOR_BGRA2RGBA if image.ndim == 3 and image.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(image, code)


def remove_stale_temps(path: Path) -> int:
    """Delete leftovers of a killed atomic write of ``path`` (``.<stem>.*.tmp<suffix>``)."""
    count = 0
    for tmp in path.parent.glob(f".{glob_escape(path.stem)}.*.tmp{path.suffix}"):
        tmp.unlink(missing_ok=True)
        count += 1
    return count


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", text)
