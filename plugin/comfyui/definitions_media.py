"""ComfyUI nodes for media and landmarks: load media, load a FaceTrack, extract landmarks, landmark
preview (the sketch image the generator sees) and retarget. Adapters only: the work is in ``nodes/``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...nodes.landmarks.extract import ExtractLandmarks
from . import host
from .files import fingerprint_path, input_files, uploaded_path
from .spec import FACETRACK, NodeSpec, Port, from_port
from .tensors import image_to_uint8, uint8_to_image


def load_media(path: str, start: int = 0, max_frames: int = 0) -> tuple:
    """An image, video, ``####`` sequence or folder -> (IMAGE, fps)."""
    return read_media(host.resolve_path(path), start, max_frames)


def load_upload(file: str, start: int = 0, max_frames: int = 0) -> tuple:
    """A file picked (or uploaded) in ComfyUI's input folder -> (IMAGE, fps)."""
    return read_media(uploaded_path(file), start, max_frames)


def read_media(source: Any, start: int = 0, max_frames: int = 0) -> tuple:
    """(IMAGE batch of frames ``start``.. (at most ``max_frames``; 0 all), fps) of a resolved source."""
    from ...nodes.media.io import iter_frames, probe
    from ...runtime.errors import BadInputError

    frames = []
    for index, (_, image) in enumerate(iter_frames(source)):
        if index < start:
            continue
        if max_frames and len(frames) >= max_frames:
            break
        if frames and image.shape != frames[0].shape:
            raise BadInputError(f"frame is {image.shape}, the first was {frames[0].shape}: an IMAGE batch "
                                "needs one size", source, index)
        frames.append(image)
    if not frames:
        raise BadInputError(f"no frames from index {start}", source)
    return uint8_to_image(frames), float(probe(source).fps)


def load_facetrack(path: str) -> tuple:
    """A ``.npz`` FaceTrack (``talkinghead landmarks``) -> FACETRACK."""
    from ...nodes.types import FaceTrack

    return (FaceTrack.load(host.resolve_path(path, outputs=True)),)


def extract_landmarks(images: Any, backend: str = "auto", face: str = "largest", smooth: bool = False,
                      fill: bool = False, fps: float = 0.0, first_frame: int = 0) -> tuple:
    """IMAGE (B frames) -> FACETRACK (frame numbers first_frame..)."""
    from ...nodes.landmarks.extract import ExtractLandmarks
    from ...nodes.types import Frames

    pixels = image_to_uint8(images)
    frames = Frames(pixels, fps=float(fps), frame_numbers=np.arange(first_frame, first_frame + len(pixels)),
                    source="ComfyUI IMAGE")
    rt = host.make_runtime()
    with host.host_errors():
        track = ExtractLandmarks().run(rt, source=frames, backend=backend, face=face, smooth=smooth, fill=fill)
    return (track["track"],)


def landmark_preview(track: Any, images: Any = None) -> tuple:
    """FACETRACK -> IMAGE of the coloured line-segment sketches (paper §3), over ``images`` when given."""
    from ...nodes.sketch import draw_sketches
    from ...runtime.errors import BadInputError

    sketches = draw_sketches(track.landmarks, track.image_size)
    if images is not None:
        under = image_to_uint8(images)
        if under.shape[1:3] != sketches.shape[1:3] or len(under) not in (1, len(sketches)):
            raise BadInputError(f"images {under.shape} do not match the track ({len(sketches)} frames of "
                                f"{track.image_size})")
        drawn = sketches.any(axis=-1, keepdims=True)
        sketches = np.where(drawn, sketches, np.broadcast_to(under, sketches.shape))
    return (uint8_to_image(sketches),)


def retarget_track(driver: Any, source: Any, mode: str = "relative", neutral: int = -1,
                   source_frame: int = 0) -> tuple:
    """Drive the source face (frame ``source_frame`` of ``source``) with ``driver``'s motion -> FACETRACK
    in source pixels (feed GenerateFrames with retarget 'none')."""
    from ...nodes.landmarks.retarget import retarget
    from ...runtime.errors import BadInputError

    if not 0 <= source_frame < len(source) or not source.valid[source_frame]:
        raise BadInputError(f"source frame index {source_frame} has no valid face", source.where)
    out = retarget(driver, source.landmarks[source_frame], mode, None if neutral < 0 else neutral,
                   source.image_size)
    return (out,)


def _frame_ports() -> list[Port]:
    return [Port("start", "INT", 0, min=0), Port("max_frames", "INT", 0, min=0, tooltip="0: all")]


def _upload_spec(kind: str) -> NodeSpec:
    """Load Image / Load Video with ComfyUI's upload button (files in the input folder)."""
    title = kind.capitalize()
    return NodeSpec(f"TalkingheadLoad{title}", f"Load {title} (talkinghead)",
                    f"A{'n' if kind == 'image' else ''} {kind} from ComfyUI's input folder (upload one with the "
                    "button) as an IMAGE batch; re-read when the file changes.",
                    lambda: [Port("file", "COMBO", None, lambda: input_files(kind), upload=kind), *_frame_ports()],
                    [Port("images", "IMAGE"), Port("fps", "FLOAT")], load_upload,
                    fingerprint=lambda file="", **_: fingerprint_path(str(uploaded_path(file))) if file else "")


SPECS = (
    NodeSpec("TalkingheadLoadMedia", "Load Media (talkinghead)",
             "Image, video, name.####.ext sequence or folder as an IMAGE batch. Relative paths: ComfyUI's "
             "input folder, then the talkinghead package (its examples). Re-read when the files change.",
             [Port("path", "STRING", "examples/media/astronaut.png"), *_frame_ports()],
             [Port("images", "IMAGE"), Port("fps", "FLOAT")], load_media,
             fingerprint=lambda path="", **_: fingerprint_path(path)),
    _upload_spec("image"),
    _upload_spec("video"),
    NodeSpec("TalkingheadLoadFaceTrack", "Load FaceTrack", "A .npz FaceTrack written by `talkinghead landmarks`.",
             [Port("path", "STRING", "examples/media/driver.track.npz")], [Port("track", FACETRACK)],
             load_facetrack, fingerprint=lambda path="", **_: fingerprint_path(path, outputs=True)),
    NodeSpec("TalkingheadExtractLandmarks", "Extract Landmarks",
             "68-point landmarks of one face through the IMAGE batch (FAN when its weights are present, else dlib).",
             [Port("images", "IMAGE"), from_port(ExtractLandmarks, "backend"),
              from_port(ExtractLandmarks, "face", kind="STRING"), from_port(ExtractLandmarks, "smooth"),
              from_port(ExtractLandmarks, "fill"),
              Port("fps", "FLOAT", 25.0, min=0.0, max=1000.0), Port("first_frame", "INT", 0, min=0)],
             [Port("track", FACETRACK)], extract_landmarks),
    NodeSpec("TalkingheadLandmarkPreview", "Landmark Preview",
             "The landmark sketch images the generator is conditioned on, optionally over the frames.",
             [Port("track", FACETRACK), Port("images", "IMAGE", optional=True)], [Port("sketches", "IMAGE")],
             landmark_preview),
    NodeSpec("TalkingheadRetarget", "Retarget Landmarks",
             "Drive the source face with another performance (relative: the source keeps its face shape).",
             [Port("driver", FACETRACK), Port("source", FACETRACK),
              Port("mode", "COMBO", "relative", ("relative", "absolute")),
              Port("neutral", "INT", -1, min=-1, tooltip="driver frame index matching the source's expression; -1 auto"),
              Port("source_frame", "INT", 0, min=0)],
             [Port("track", FACETRACK)], retarget_track),
)
