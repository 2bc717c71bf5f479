"""Read and write media: videos (PyAV), images (png/jpg/tif/exr) and image sequences (``name.####.ext``).

Reading is streaming: ``iter_frames`` holds one decoded frame at a time, so memory does not grow
with clip length. Every frame comes out as uint8 RGB (H, W, 3), whatever the file held (gray, RGBA,
16-bit, float EXR). Every write is atomic (temp name, then rename). Bad media raise BadInputError
naming the file and frame (exit code 3).
"""
from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.atomic import atomic_path
from ...runtime.errors import BadInputError, UsageError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".exr", ".tif", ".tiff", ".bmp", ".webp")
VIDEO_EXTS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass
class MediaInfo:
    """What ``probe`` learns about a source without decoding it all.

    Attributes:
        n_frames: number of frames (for video, the container's count or a duration estimate).
        fps: frames per second (0 for a single image; sequences report 0, i.e. unknown).
        width, height: frame size in pixels.
        kind: "video" | "image" | "sequence".
    """

    n_frames: int
    fps: float
    width: int
    height: int
    kind: str


# --------------------------------------------------------------------------- patterns and sequences

def _sequence(source: str | Path) -> Any:
    """fileseq's FileSequence of a file name with a frame placeholder, or None for a plain name.

    Placeholders (one ``#`` or ``@`` per digit; fileseq's HASH1 style): ``####`` / ``@@@@`` (4 digits),
    ``@`` (unpadded), ``%04d`` (printf), ``$F4`` (Houdini). A range in the name (``shot.1001-1100x2#.exr``)
    limits the frames a read takes.
    """
    import fileseq

    try:
        seq = fileseq.FileSequence(Path(source).name, pad_style=fileseq.PAD_STYLE_HASH1, allow_subframes=False)
    except (fileseq.ParseException, ValueError):
        return None
    # a placeholder written in the name (fileseq also reads "shot.1001.exr" as a one-frame sequence: not a pattern)
    return seq if seq.padding() and seq.padding() in Path(source).name else None


def is_pattern(source: str | Path) -> bool:
    """True for ``name.####.ext``, ``name.%04d.ext``, ``name.@.ext`` (and fileseq's other) patterns."""
    return _sequence(source) is not None


def expand_pattern(pattern: str | Path, frame: int) -> Path:
    """``shot.####.exr``, 12 -> ``shot.0012.exr``; ``shot.%04d.png`` likewise; ``shot.@.png``, 12 -> ``shot.12.png``."""
    pattern = Path(pattern)
    seq = _sequence(pattern)
    if seq is None:
        raise UsageError(f"{pattern}: not a frame pattern (use name.####.ext, name.%04d.ext or name.@.ext)")
    return pattern.with_name(seq.frame(int(frame)))


def sequence_files(source: str | Path) -> list[tuple[int, Path]]:
    """(frame number, path) of every file matching a pattern, or of every image in a folder (numbered 0..).

    Raises:
        BadInputError: when nothing matches.
    """
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith("."))
        found = list(enumerate(files))
    else:
        seq = _sequence(source)
        if seq is None:
            raise UsageError(f"{source}: not a frame pattern (use name.####.ext, name.%04d.ext or name.@.ext)")
        regex = re.compile(f"^{re.escape(seq.basename())}(-?\\d+){re.escape(seq.extension())}$")
        wanted = set(seq.frameSet()) if seq.frameSet() else None
        folder = source.parent
        found = sorted((int(m.group(1)), p) for p in (folder.iterdir() if folder.is_dir() else [])
                       if (m := regex.match(p.name)) and (wanted is None or int(m.group(1)) in wanted))
    if not found:
        raise BadInputError("no image files match this sequence", source)
    return found


def source_kind(source: str | Path) -> str:
    """'video' | 'image' | 'sequence' for a path, pattern or folder; BadInputError when it does not exist."""
    path = Path(source)
    if is_pattern(path) or path.is_dir():
        return "sequence"
    if not path.exists():
        raise BadInputError("file does not exist", path)
    if path.suffix.lower() in VIDEO_EXTS:
        return "video"
    if path.suffix.lower() in IMAGE_EXTS:
        return "image"
    raise BadInputError(f"unknown media type '{path.suffix}' (images: {', '.join(IMAGE_EXTS)}; "
                        f"videos: {', '.join(VIDEO_EXTS)})", path)


# --------------------------------------------------------------------------- images

def to_rgb_uint8(image: np.ndarray, path: str | Path | None = None, frame: int | None = None) -> np.ndarray:
    """Gray / RGB / RGBA, uint8 / uint16 / float [0, 1] -> uint8 RGB (H, W, 3). Alpha is dropped."""
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4) or min(image.shape[:2]) < 1:
        raise BadInputError(f"unsupported image shape {image.shape}", path, frame)
    channels = image.shape[2]
    image = image[..., :1] if channels in (1, 2) else image[..., :3]
    if image.dtype == np.uint8:
        out = image
    elif image.dtype == np.uint16:
        out = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        out = np.clip(np.rint(np.nan_to_num(image.astype(np.float32)) * 255.0), 0, 255).astype(np.uint8)
    else:
        raise BadInputError(f"unsupported pixel type {image.dtype}", path, frame)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out)


def read_image(path: str | Path, frame: int | None = None) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3): gray, RGBA, 16-bit and EXR (converted to sRGB) included.

    Raises:
        BadInputError: missing, unreadable or corrupt file (naming it and ``frame``).
    """
    import cv2

    path = Path(path)
    if path.suffix.lower() == ".exr":
        from .colour import convert_colour
        from .exr import read_exr

        try:
            pixels, colour = read_exr(path)
        except ImportError as exc:
            raise BadInputError("EXR needs the OpenEXR package (pip install OpenEXR)", path, frame) from exc
        return to_rgb_uint8(convert_colour(pixels[..., :3], colour, "srgb"), path, frame)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise BadInputError(f"cannot read file ({exc.strerror or exc})", path, frame) from exc
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise BadInputError("cannot decode image (empty, corrupt or not an image)", path, frame)
    if image.ndim == 3 and image.shape[2] >= 3:  # OpenCV gives BGR(A)
        image = image[..., [2, 1, 0] + ([3] if image.shape[2] == 4 else [])]
    return to_rgb_uint8(image, path, frame)


def write_image(path: str | Path, image: np.ndarray, colour: str = "srgb") -> None:
    """Write uint8 or float [0, 1] RGB (H, W, 3) atomically: png/jpg/tif/bmp; EXR (half float) when OpenEXR is installed.

    For EXR, uint8 input is converted from sRGB to scene-linear and tagged "linear"; float input is
    written as given with tag ``colour``.
    """
    import cv2

    path = Path(path)
    if image.ndim != 3 or image.shape[2] != 3:
        raise BadInputError(f"write_image expects (H, W, 3), got {image.shape}", path)
    if path.suffix.lower() == ".exr":
        from .colour import convert_colour
        from .exr import write_exr

        pixels = image
        if image.dtype == np.uint8:
            pixels, colour = convert_colour(image, "srgb", "linear"), "linear"
        write_exr(path, pixels.astype(np.float32), colour=colour)
        return
    rgb = to_rgb_uint8(image, path)
    ok, encoded = cv2.imencode(path.suffix.lower() or ".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise UsageError(f"{path}: cannot encode an image of type '{path.suffix}'")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())


# --------------------------------------------------------------------------- video

def _open_video(path: Path):
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise BadInputError(f"cannot open video ({exc})", path) from exc
    if not container.streams.video:
        container.close()
        raise BadInputError("file has no video stream", path)
    return container


def _iter_video(path: Path, strict: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    import av

    container = _open_video(path)
    index = expected = 0
    try:
        stream = container.streams.video[0]
        expected = int(stream.frames or 0)
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield index, frame.to_ndarray(format="rgb24")
                index += 1
        except av.error.FFmpegError as exc:
            raise BadInputError(f"corrupt video data ({exc})", path, index) from exc
    finally:
        container.close()
    if index == 0:
        raise BadInputError("video has no decodable frames (zero-length or corrupt)", path)
    if index < expected:
        short_clip(path, index, expected, strict)


def short_clip(path: Path, read: int, expected: int, strict: bool) -> None:
    """A video whose decoding ended before its container's frame count (truncated or damaged file):
    a warning naming the file and both counts, or with ``strict`` a BadInputError (exit 3)."""
    message = (f"only {read} of the {expected} frames the container lists could be read "
               "(the file is truncated or damaged)")
    if strict:
        raise BadInputError(message, path, read)
    import logging

    logging.getLogger(__name__).warning("%s: %s; going on with %d frames (--strict makes this an error)",
                                        path, message, read)


def iter_frames(source: str | Path, strict: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame number, uint8 RGB (H, W, 3)) from a video, an image, a sequence pattern or a folder.

    Streaming: one frame is decoded at a time. Video frames are numbered 0..; sequences keep the
    numbers in their file names; a folder's images are numbered 0.. in name order. A video read to its
    end that gave fewer frames than its container lists logs a warning naming the file and both
    counts (``strict``: raises BadInputError instead).

    Raises:
        BadInputError: naming the file and frame of anything unreadable.
    """
    kind = source_kind(source)
    if kind == "video":
        yield from _iter_video(Path(source), strict)
    elif kind == "image":
        yield 0, read_image(source)
    else:
        for number, path in sequence_files(source):
            yield number, read_image(path, frame=number)


def probe(source: str | Path) -> MediaInfo:
    """Frame count, fps and size of a source (decodes at most one frame)."""
    kind = source_kind(source)
    if kind == "video":
        container = _open_video(Path(source))
        try:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 0)
            n = stream.frames
            if not n and stream.duration and stream.time_base:
                n = round(float(stream.duration * stream.time_base) * fps)
            if not n and container.duration:
                n = round(container.duration / 1e6 * fps)
            return MediaInfo(int(n or 0), fps, stream.codec_context.width, stream.codec_context.height, kind)
        finally:
            container.close()
    if kind == "image":
        height, width = read_image(source).shape[:2]
        return MediaInfo(1, 0.0, width, height, kind)
    files = sequence_files(source)
    height, width = read_image(files[0][1], frame=files[0][0]).shape[:2]
    return MediaInfo(len(files), 0.0, width, height, kind)


class VideoWriter:
    """H.264 yuv420p video writer (PyAV) that writes to a temp name and renames on ``close()``.

    Example:
        >>> with VideoWriter("out.mp4", 25, 256, 256) as writer:
        ...     writer.write(rgb_uint8)

    An exception inside the ``with`` block removes the temp file and leaves ``path`` untouched.
    """

    def __init__(self, path: str | Path, fps: float, width: int, height: int, crf: int = 18,
                 metadata: dict[str, str] | None = None):
        import av

        if width % 2 or height % 2 or width < 2 or height < 2:
            raise UsageError(f"{path}: H.264 yuv420p needs even width and height, got {width}x{height}")
        self.path, self.width, self.height = Path(path), int(width), int(height)
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(self.path))
        self._container = av.open(str(tmp), mode="w")
        self._container.metadata.update(metadata or {})  # container tags, e.g. {"comment": ...}
        codec = "libx264" if "libx264" in av.codecs_available else "h264"
        self._stream = self._container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self._stream.width, self._stream.height, self._stream.pix_fmt = self.width, self.height, "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": str(crf)}
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        """Append one uint8 (or float [0, 1]) RGB (H, W, 3) frame of the writer's size."""
        import av

        if rgb.shape != (self.height, self.width, 3):
            raise BadInputError(f"frame is {rgb.shape}, writer expects {(self.height, self.width, 3)}",
                                self.path, self.frames)
        frame = av.VideoFrame.from_ndarray(to_rgb_uint8(rgb, self.path, self.frames), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush, close and rename the temp file onto ``path``."""
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
        self._stack.close()

    def abort(self, exc: BaseException | None = None) -> None:
        """Close without publishing: the temp file is removed, ``path`` is left as it was."""
        if self._container is None:
            return
        with contextlib.suppress(Exception):
            self._container.close()
        self._container = None
        error = exc or RuntimeError("VideoWriter aborted")
        with contextlib.suppress(BaseException):
            self._stack.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> VideoWriter:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)
