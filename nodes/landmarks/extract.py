"""ExtractLandmarks: 68-point FaceTracks from videos, images and sequences (paper §4: the generator is
conditioned on landmarks from the face-alignment tracker, rasterised by ``sketch.draw_sketch``).

Backends: "fan" (face-alignment 2D-FAN-4, the paper's tracker; cached weights only), "dlib" (HOG +
68-point shape predictor, fully offline; its predictor is trained on iBUG 300-W, non-commercial) and
"auto" (fan when its weights are present, else dlib; the runtime says which). Streaming: frames are
decoded and processed a batch at a time, only the landmarks are kept.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...runtime.errors import BadInputError, UsageError
from ..base import Port
from ..types import FaceTrack, Frames
from .tracking import track as track_faces

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

BACKENDS = ("auto", "fan", "dlib")
MIN_IMAGE_SIDE = 32  # px: no backend finds a face in a smaller image (dlib's HOG needs ~40 px faces)


def make_backend(rt: Runtime, backend: str = "auto"):
    """Build the landmark backend ``backend`` ("auto" | "fan" | "dlib"); "auto" says which it chose."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown landmark backend {backend!r} (use {', '.join(BACKENDS)})")
    if backend == "auto":
        backend = "fan" if rt.has_weights("fan-2d") else "dlib"
        rt.say_once(f"landmarks-auto-{backend}", "landmarks: backend auto -> " + (
            "fan (face-alignment 2D-FAN-4 weights found)" if backend == "fan"
            else "dlib (FAN weights absent; `talkinghead weights fetch fan-2d` to use the paper's tracker)"),
            level=logging.INFO)
    if backend == "fan":
        from .fan_backend import FanBackend

        return FanBackend(rt)
    from .dlib_backend import DlibBackend

    return DlibBackend(rt)


def parse_face(face: str | int) -> str | int:
    """'largest' | 'track' | a face index (0 = leftmost face on the first frame with faces)."""
    if isinstance(face, int) or (isinstance(face, str) and face.isdigit()):
        return int(face)
    if face not in ("largest", "track"):
        raise UsageError(f"--face must be 'largest', 'track' or a face index, got {face!r}")
    return face


def pick_face(dets: np.ndarray, previous: np.ndarray | None, mode: str | int) -> int | None:
    """Choose one detection (K, 5) and keep the identity: prefer the face at the previous face's place.

    Without a previous face: 'largest' and 'track' take the largest, an index counts from the left.
    With one: the detection whose centre is within one face width of it; failing that, 'largest' takes
    the largest and 'track'/index the nearest.
    """
    if not len(dets):
        return None
    areas = (dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1])
    if previous is None or not np.isfinite(previous).all():
        if isinstance(mode, int):
            order = np.argsort(dets[:, 0])
            return int(order[mode]) if mode < len(order) else None
        return int(np.argmax(areas))
    centres = (dets[:, :2] + dets[:, 2:4]) / 2
    distance = np.linalg.norm(centres - (previous[:2] + previous[2:4]) / 2, axis=1)
    nearest = int(np.argmin(distance))
    if distance[nearest] <= previous[2] - previous[0] or mode != "largest":
        return nearest
    return int(np.argmax(areas))


def face_choice_message(dets: np.ndarray, k: int, mode: str | int) -> str:
    """Which of several faces (K, 5) was taken (``pick_face``'s ``k``), and how to choose another."""
    order = [int(i) for i in np.argsort(dets[:, 0])]
    x0, y0, x1, y1 = (round(float(v)) for v in dets[k, :4])
    how = f"face {mode} from the left, as asked" if isinstance(mode, int) else "the largest"
    return (f"{len(dets)} faces found; took face {order.index(k)} (counting from the left from 0: {how}; box "
            f"x {x0}-{x1}, y {y0}-{y1}); choose another with --face INDEX (0 = leftmost)")


def check_image_size(size: tuple[int, int], source: str, frame: int) -> None:
    """BadInputError naming the file when an image is too small to hold a face (``MIN_IMAGE_SIDE``)."""
    if min(size) < MIN_IMAGE_SIDE:
        raise BadInputError(f"the image is {size[1]}x{size[0]} px: too small to hold a face (a face needs at "
                            f"least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} px)", source or None, frame)


def fill_gaps(track: FaceTrack) -> FaceTrack:
    """Interpolate landmarks (and boxes) linearly over invalid frames; ends hold the nearest valid frame.

    Filled frames keep ``valid`` False and get ``filled`` True (never silent).
    """
    out = track.select(slice(None))
    good = np.flatnonzero(track.valid)
    missing = np.flatnonzero(~track.valid)
    if not len(good) or not len(missing):
        return out
    lms, boxes = out.landmarks.reshape(len(out), -1).copy(), out.boxes.copy()
    for column in range(lms.shape[1]):
        lms[missing, column] = np.interp(missing, good, lms[good, column])
    for column in range(4):
        boxes[missing, column] = np.interp(missing, good, boxes[good, column])
    out.landmarks, out.boxes = lms.reshape(-1, 68, 2), boxes
    out.filled = ~track.valid
    return out


def _chunks(frames: Iterable[tuple[int, np.ndarray]], size: int) -> Iterator[list[tuple[int, np.ndarray]]]:
    chunk = []
    for item in frames:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def extract_landmarks(rt: Runtime, frames: Iterable[tuple[int, np.ndarray]], backend: str = "auto",
                      face: str | int = "largest", smooth: bool = False, fill: bool = False,
                      fps: float = 0.0, source: str = "", total: int | None = None, iris: bool = False) -> FaceTrack:
    """Track one face through (frame number, uint8 RGB (H, W, 3)) frames.

    Args:
        rt: Runtime.
        frames: iterable of (frame number, image); consumed streaming, a batch at a time.
        backend: "auto" | "fan" | "dlib", or a backend object from ``make_backend`` (reused across calls).
        face: "largest" | "track" | index (see ``pick_face``).
        smooth: One Euro smoothing (``smoothing.smooth_track``).
        fill: interpolate frames without a face (marked ``filled``).
        fps, source: recorded in the track. total: frame count for the progress bar.
        iris: also locate both irises on every frame with a face (``FaceTrack.iris``): MediaPipe's iris
            model when its file and ai-edge-litert are present, else the classical locator (off by default:
            it costs about a millisecond per eye).

    Returns:
        FaceTrack (N, 68, 2); frames with no face are invalid (NaN landmarks unless filled).

    When the first face is chosen among several, the runtime's log says which was taken and how to
    choose another (``--face``).

    Raises:
        BadInputError: no frames, an image too small to hold a face, no face in any frame, or frames of
            changing size (naming the source and frame).
    """
    engine = make_backend(rt, backend) if isinstance(backend, str) else backend
    mode = parse_face(face)
    state: dict[str, Any] = {"box": None, "tracking": False}
    numbers, lms, boxes, scores, irises, size = [], [], [], [], [], None
    locate = _iris_locator(rt) if iris else None

    def pick(dets, previous):
        k = pick_face(dets, previous, mode)
        if k is not None and len(dets) > 1 and previous is None and not state.get("told"):
            state["told"] = True
            rt.log.log(logging.INFO if isinstance(mode, int) else logging.WARNING, "%s: %s",
                       source or "image", face_choice_message(dets, k, mode))
        return k

    with rt.progress(total, f"landmarks ({engine.name})") as bar:
        for chunk in _chunks(frames, engine.batch_size):
            rt.check_cancelled()
            for number, image in chunk:
                if size is None:
                    size = image.shape[:2]
                    check_image_size(size, source, number)
                if image.shape != (*size, 3) or image.dtype != np.uint8:
                    raise BadInputError(f"frame is {image.shape} {image.dtype}, expected uint8 {(*size, 3)} "
                                        "(all frames must have the first frame's size)", source or None, number)
            out = track_faces(engine, [image for _, image in chunk], state, pick)
            numbers += [n for n, _ in chunk]
            lms.append(out[0])
            boxes.append(out[1])
            scores.append(out[2])
            if locate is not None:
                irises += [locate(image, lm) for (_, image), lm in zip(chunk, out[0])]
            bar.update(len(chunk))
    if size is None:
        raise BadInputError("no frames to extract landmarks from", source or None)
    lms = np.concatenate(lms)
    valid = np.isfinite(lms).all(axis=(1, 2))
    track = FaceTrack(lms, np.concatenate(boxes), valid, np.concatenate(scores), size, np.array(numbers),
                      fps, engine.name, engine.version, str(source),
                      iris=np.array(irises, np.float32).reshape(-1, 2, 3) if locate is not None else None)
    if not valid.any():
        raise BadInputError(f"no face found in any of the {len(lms)} frame(s)", source or None,
                            numbers[0] if len(numbers) == 1 else None)
    if fill:
        track = fill_gaps(track)
    if smooth:
        from .smoothing import smooth_track

        track = smooth_track(track)
    return track


def _iris_locator(rt: Runtime):
    """(image, (68, 2) landmarks) -> (2, 3) iris x, y, r per eye (NaN rows where not found or no face)."""
    from ..animate.features import locate_both
    from ..animate.iris import iris_runner

    run = iris_runner(rt)

    def locate(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        if not np.isfinite(landmarks).all():
            return np.full((2, 3), np.nan, np.float32)
        return np.stack([est.as_array() for est in locate_both(image, landmarks, run)])

    return locate


def detect_landmarks_image(rt: Runtime, rgb: np.ndarray, backend: str = "auto", face: str | int = "largest",
                           path: str | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Landmarks of one photo: ((68, 2) float32 px, box (4,), score). BadInputError when no face."""
    track = extract_landmarks(rt, [(0, rgb)], backend, face, source=path or "")
    return track.landmarks[0], track.boxes[0], float(track.score[0])


def _frames_iter(frames: Frames) -> Iterator[tuple[int, np.ndarray]]:
    from ..media.io import to_rgb_uint8

    for number, image in zip(frames.frame_numbers, frames.images):
        if image.dtype != np.uint8 and frames.colour != "srgb":
            from ..media.colour import convert_colour

            image = convert_colour(image, frames.colour, "srgb")
        yield int(number), to_rgb_uint8(image, frames.source or None, int(number))


class ExtractLandmarks:
    """Node: media (path, pattern, folder or Frames) -> {"track": FaceTrack} (see ``extract_landmarks``)."""

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("source", (str, Path, Frames), doc="a video, image, #### sequence or folder, or Frames", path=True),
        Port("backend", str, "auto", "fan (the paper's tracker), dlib (offline), auto: fan when its weights "
                                     "are present", choices=BACKENDS),
        Port("face", (str, int), "largest", "largest | track | an index from the left"),
        Port("smooth", bool, False, "One Euro temporal smoothing"),
        Port("fill", bool, False, "interpolate frames where no face was found (marked filled)"),
        Port("strict", bool, False, "a video holding fewer frames than its container lists is an error"),
        Port("iris", bool, False, "also locate both irises on every frame (gaze)"))
    outputs: ClassVar[tuple[Port, ...]] = (Port("track", FaceTrack),)
    models: ClassVar[tuple[str, ...]] = ("fan-2d", "s3fd", "dlib-landmarks-68")

    def run(self, rt: Runtime, source: str | Path | Frames, backend: str = "auto", face: str | int = "largest",
            smooth: bool = False, fill: bool = False, strict: bool = False, iris: bool = False
            ) -> dict[str, FaceTrack]:
        """``strict``: a video holding fewer frames than its container lists is an error, not a warning;
        ``iris``: also locate both irises on every frame (``FaceTrack.iris``)."""
        if isinstance(source, Frames):
            track = extract_landmarks(rt, _frames_iter(source), backend, face, smooth, fill, source.fps,
                                      source.source, len(source), iris=iris)
        else:
            from ..media.io import iter_frames, probe

            info = probe(source)
            track = extract_landmarks(rt, iter_frames(source, strict), backend, face, smooth, fill, info.fps,
                                      str(source), info.n_frames or None, iris=iris)
        return {"track": track}
