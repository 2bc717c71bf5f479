"""OpenEXR image files: half-float, ZIP-compressed, colour tag in the header; written atomically."""
from __future__ import annotations

import os

import numpy as np

from ...runtime.atomic import atomic_path
from ...runtime.errors import BadInputError

COLOUR_ATTRIBUTE = "talkinghead.colour"


def write_exr(path: str | os.PathLike, image: np.ndarray, colour: str = "linear") -> None:
    """Write (H, W, 3|4) float image as half-float ZIP EXR; ``colour`` is stored in the header.

    EXR is scene-linear by convention: convert sRGB frames first (nodes.media.colour.convert_colour).
    """
    import OpenEXR

    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BadInputError(f"EXR image must be (H, W, 3|4), got {image.shape}", path)
    channels = {"RGBA" if image.shape[2] == 4 else "RGB": np.ascontiguousarray(image.astype(np.float16))}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, COLOUR_ATTRIBUTE: colour}
    with atomic_path(path) as tmp, OpenEXR.File(header, channels) as handle:
        handle.write(str(tmp))


def read_exr(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Read an EXR's RGB(A) as float32 (H, W, 3|4) and its colour tag ("linear" when untagged)."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path)) as handle:
            # read what we need inside the block: the header dict is emptied when the file closes
            colour = str(handle.header().get(COLOUR_ATTRIBUTE, "linear"))
            channels = handle.channels()
            if "RGBA" in channels or "RGB" in channels:
                pixels = channels["RGBA" if "RGBA" in channels else "RGB"].pixels
            elif all(c in channels for c in "RGB"):
                pixels = np.stack([channels[c].pixels for c in "RGB"], axis=-1)
            elif "Y" in channels:
                pixels = np.repeat(channels["Y"].pixels[..., None], 3, axis=-1)
            else:
                raise BadInputError(f"EXR has no RGB or Y channels (has {sorted(channels)})", path)
            pixels = np.array(pixels, dtype=np.float32)
    except BadInputError:
        raise
    except Exception as exc:
        raise BadInputError(f"cannot read EXR ({exc})", path) from exc
    return pixels, colour
