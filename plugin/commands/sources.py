"""Source photos for `embed` and `finetune`: image files, or K frames spread over a video / sequence.

Not a subcommand (no ``add_arguments``): shared by the commands that take source photos.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...nodes.networks.presets import DEFAULT_PRESET
from ...runtime.errors import BadInputError, UsageError

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".exr", ".webp")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """INPUT... and the options that pick frames and landmarks from them."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="photos of the person (a video or #### sequence gives --per-video frames)")
    parser.add_argument("--per-video", type=int, default=8, help="frames taken from each video input (default 8)")
    parser.add_argument("--backend", default="auto", choices=["auto", "fan", "dlib"], help="landmark backend")
    parser.add_argument("--face", default="largest",
                        help="largest | INDEX (0 = leftmost face): the face taken from photos with several")
    parser.add_argument("--strict", action="store_true",
                        help="stop (exit 3) when a video holds fewer frames than its container says (a truncated "
                             "file); default: a warning")
    parser.add_argument("--model", default=None, help="base model file (default: the best base-<preset> present)")
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"network preset of the base (default {DEFAULT_PRESET})")


def _video_frames(path: Path, k: int, strict: bool = False) -> list[tuple[str, np.ndarray]]:
    from ...nodes.media.io import iter_frames, probe

    info = probe(path)
    if info.n_frames < 1:
        raise BadInputError("the video has no frames", path)
    wanted = {round(v) for v in np.linspace(0, info.n_frames - 1, min(k, info.n_frames))}
    out = [(f"{path} frame {n}", image) for i, (n, image) in enumerate(iter_frames(path, strict)) if i in wanted]
    if not out:
        raise BadInputError("no frame could be decoded", path)
    return out


def read_sources(inputs: list[str], per_video: int, strict: bool = False) -> tuple[list[np.ndarray], list[str]]:
    """uint8 RGB images and a name each (file, or 'file frame N'); ``strict``: see ``io.iter_frames``."""
    from ...nodes.media.io import is_pattern, read_image

    if per_video < 1:
        raise UsageError("--per-video must be >= 1")
    images, names = [], []
    for source in inputs:
        path = Path(source)
        if path.suffix.lower() in IMAGE_SUFFIXES and not is_pattern(path):
            images.append(read_image(path))
            names.append(str(path))
            continue
        if not is_pattern(path) and not path.exists():
            raise BadInputError("no such file", path)
        for name, image in _video_frames(path, per_video, strict):
            images.append(image)
            names.append(name)
    return images, names


def load_sources(rt: Runtime, args: argparse.Namespace) -> dict[str, Any]:
    """{"base", "images", "names", "landmarks"} for the command's inputs (landmarks detected once)."""
    from ...nodes.embedding import source_landmarks
    from ...nodes.landmarks.extract import parse_face
    from ...nodes.person import load_base

    face = parse_face(args.face)
    if face == "track":
        raise UsageError("--face track follows a face through a clip; for photos use largest or an index")
    images, names = read_sources(args.inputs, args.per_video, args.strict)
    base = load_base(rt, preset=args.preset, path=args.model)
    print(f"base model: preset {base.cfg.name}, {base.origin}")
    landmarks = source_landmarks(rt, images, None, names, args.backend, face)
    return {"base": base, "images": images, "names": names, "landmarks": landmarks}
