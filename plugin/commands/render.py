"""Render frames of a PersonModel driven by a video or a FaceTrack, as an image sequence and/or MP4.

Frames are written atomically under --out ('####' = the driver frame number, zero-padded to the number of
#s). --frames A-B renders part of the shot: the pixels are bit-identical to the same frames of a full
render. A re-run skips frames already on disk that are complete and renders only the rest, so a killed
render resumes where it stopped; a killed render leaves at most a hidden temporary file, never a partial
frame under the final name. Where --out and --mp4 go is checked before any work.

Without --plate the generated face crops are written (S x S); with --plate (the source photo, or a plate
video / '####' sequence of the source's size) they are composited into it with a feathered matte; --alpha
writes the matte as an alpha channel.

Provenance: the PersonModel must carry a current, unedited consent record (embedded by embed / finetune
--consent CONSENT.json) that is bound to its weights, else render refuses (exit 3, naming the file) unless
--no-consent-check is given, which each output's manifest records. A model file whose weights changed after
it was saved is always refused. Every frame gets an invisible watermark (a deterministic function of the
frame, so chunks still equal a full render pixel for pixel) and every file a C2PA manifest (AI-generated
media; EXR: a .c2pa sidecar file) signed with --sign-cert/--sign-key (default $TALKINGHEAD_SIGN_CERT /
$TALKINGHEAD_SIGN_KEY). A frame on disk counts as complete only when it carries its manifest.
"""
# Provenance: nodes/provenance (consent, seal, mark, manifest, watermark).
from __future__ import annotations

import argparse
import hashlib
import os
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...runtime.errors import BadInputError, UsageError

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime
EXAMPLE = """\
  talkinghead render --person jane.person.safetensors --driver performance.npz --out 'renders/sh010.####.png' \\
      --plate plate.####.exr --alpha --frames 1001-1100 --sign-cert studio.pem --sign-key studio.key
"""


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".exr", ".webp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--person", required=True, help="PersonModel .safetensors (talkinghead finetune)")
    parser.add_argument("--driver", required=True, help="driving video, image sequence or FaceTrack .npz")
    parser.add_argument("--out", required=True, help="image sequence pattern, e.g. 'renders/sh010.####.png' (or .exr)")
    parser.add_argument("--frames", default=None, help="driver frame range A-B (default: all)")
    parser.add_argument("--plate", default=None, help="composite into this image, video or #### sequence")
    parser.add_argument("--mp4", default=None, help="also write this MP4 (H.264) of the rendered range")
    parser.add_argument("--alpha", action="store_true", help="write RGBA frames (alpha = the feathered matte)")
    parser.add_argument("--batch", type=int, default=8, help="generator batch size (default 8)")
    parser.add_argument("--retarget", default="relative", choices=("relative", "absolute", "none"),
                        help="how driver landmarks are mapped onto the source face (default relative)")
    parser.add_argument("--matte", default="hull", choices=("hull", "square"), help="composite matte shape")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"), help="generator backend")
    parser.add_argument("--overwrite", action="store_true", help="re-render frames that already exist")
    parser.add_argument("--colorspace", default=None, choices=("linear", "acescg", "srgb"),
                        help="colour space of EXR frames (OpenColorIO built-in config; tagged in the header): "
                             "scene-linear Rec.709 (default), ACEScg, or sRGB-encoded; PNG/JPEG are always sRGB")
    parser.add_argument("--sign-cert", default=None,
                        help="C2PA signing certificate chain PEM (default $TALKINGHEAD_SIGN_CERT; a local test CA: "
                             "talkinghead verify --make-test-ca DIR)")
    parser.add_argument("--sign-key", default=None, help="its private key PEM (default $TALKINGHEAD_SIGN_KEY)")
    parser.add_argument("--no-consent-check", action="store_true",
                        help="render without a valid consent record (recorded in every output's manifest)")
    parser.add_argument("--strict", action="store_true",
                        help="stop (exit 3) when a driver or plate video holds fewer frames than its container "
                             "says (a truncated file); default: a warning")


def frame_path(pattern: str | os.PathLike, number: int) -> Path:
    """'out/a.####.png', 12 -> 'out/a.0012.png' (``nodes.media.io.expand_pattern``; UsageError without ####)."""
    from ...nodes.media.io import expand_pattern

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
    from ...nodes.provenance.mark import has_provenance

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
        from ...nodes.media.colour import convert_colour, float_to_uint8
        from ...nodes.media.exr import read_exr

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


def load_driver(rt: Runtime, driver: str | os.PathLike, cache_dir: Path, strict: bool = False) -> Any:
    """FaceTrack of the driver: a ``.npz`` as is; media -> landmarks over the full clip, cached.

    The cache (``cache_dir/.driver-<digest>.track.npz``, keyed by path, size and mtime) makes every
    chunk of a shot use the very same track (landmark tracking is stateful over the clip). Messages
    about a track from media name the media (the cache file is an implementation detail).
    ``strict``: a video that holds fewer frames than its container says is an error, not a warning.
    """
    from ...nodes.types import FaceTrack

    path = Path(driver)
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise BadInputError("no such FaceTrack file", path)
        return FaceTrack.load(path)
    from ...nodes.media.io import is_pattern, sequence_files

    if is_pattern(path) or path.is_dir():
        files = [p for _, p in sequence_files(path)]
    elif path.exists():
        files = [path]
    else:
        raise BadInputError("no such driver video or image sequence", path)
    key = f"{path.resolve()}:" + ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    cached = cache_dir / f".driver-{hashlib.sha256(key.encode()).hexdigest()[:16]}.track.npz"
    if cached.is_file():
        track = FaceTrack.load(cached)
        track.path = ""
        return track
    from ...nodes.landmarks.extract import ExtractLandmarks

    track = ExtractLandmarks().run(rt, source=str(path), strict=strict)["track"]
    track.save(cached)
    return track


def plate_source(plate: str | os.PathLike | None, first_number: int, strict: bool = False) -> tuple[Any, str | None]:
    """(plate, where): None, one (H, W, 3) uint8 image, or a callable frame_number -> image."""
    if plate is None:
        return None, None
    from ...nodes.media import io

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
    from ...nodes.media.io import iter_frames

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


def render(rt: Runtime, person: Any, driver: Any, out: str | os.PathLike, frames: tuple[int, int] | None = None,
           plate: Any = None, plate_where: str | None = None, mp4: str | os.PathLike | None = None,
           alpha: bool = False, batch_size: int = 8, retarget: str = "relative", matte: str = "hull",
           backend: str = "torch", overwrite: bool = False,
           observe: Callable[[Any, np.ndarray], None] | None = None, *, marker: Any,
           colour: str = "linear") -> dict[str, Any]:
    """Render ``frames`` (driver frame numbers A..B, inclusive) of ``person`` driven by ``driver``.

    Args:
        rt: Runtime.
        person: PersonModel.
        driver: FaceTrack (full track; ``frames`` selects from it).
        out: pattern with ``####``.
        plate: None (write crops), an (H, W, 3) image, or frame_number -> image.
        mp4: optional MP4 path covering the rendered range (existing valid frames are read back).
        alpha: RGBA output (matte as alpha).
        colour: colour space of EXR frames ("linear", "acescg", "srgb"; ignored for other formats).
        observe: called with (GeneratedFrame, written RGB image) for every frame rendered now.
        marker: ``nodes.provenance.mark.Marker``: watermarks each frame, signs each file (required).

    Returns:
        {"rendered": [...], "skipped": [...], "held": [...], "size": (H, W), "paths": [...]}.
    """
    from ...nodes.composite import check_plate, face_matte, matte_faces, paste, with_alpha
    from ...nodes.generate import GenerateFrames, frame_positions

    numbers = driver.frame_numbers
    if len(numbers) == 0:
        raise BadInputError("the driving track is empty", driver.where)
    wanted = [int(numbers[i]) for i in frame_positions(driver, _range(frames))]
    source_hw = tuple(int(v) for v in person.identity.source_sizes[0])
    size = _output_size(person, plate, plate_where, source_hw, wanted[0])
    channels = 4 if alpha else 3
    paths = {n: frame_path(out, n) for n in wanted}
    todo = [n for n in wanted if overwrite or not frame_is_valid(paths[n], size[1], size[0], channels)]
    from ...nodes.provenance.manifest import sidecar_path

    for n in todo:
        remove_stale_temps(paths[n])
        remove_stale_temps(sidecar_path(paths[n]))
    gen = GenerateFrames().run(rt, person=person, driver=driver, retarget=retarget, batch_size=batch_size,
                               frames=todo, backend=backend) if todo else {"frames": iter(())}
    stream: Iterator[Any] = gen["frames"]
    writer = _mp4_writer(marker, mp4, driver.fps, size) if mp4 else None
    held, todo_set = [], set(todo)
    bar = rt.progress(len(wanted), "render")
    try:
        for n in wanted:
            if n in todo_set:
                item = next(stream)
                assert item.frame_number == n, (item.frame_number, n)
                held += [] if item.valid else [n]
                faces = matte_faces(item, person.identity.source_landmarks[0])
                face_alpha = face_matte(item.crop.shape[0], faces, matte)
                if plate is None:
                    image, a = item.crop, face_alpha
                else:
                    frame_plate = plate(n) if callable(plate) else plate
                    check_plate(frame_plate, source_hw, plate_where, n)
                    image, a = paste(frame_plate, item.crop, item.matrix, face_alpha, plate_where, n)
                image = marker.watermark(image)
                marker.write_image(paths[n], with_alpha(image, a) if alpha else image, frame=n, colour=colour)
                rgb = image
                if observe:
                    observe(item, image)
            else:
                rgb = read_frame(paths[n])[..., :3] if writer else None
            if writer:
                writer.write(_even(rgb))
            bar.update(1)
    except BaseException as exc:
        if writer:
            writer.abort(exc)
        raise
    else:
        if writer:
            writer.close()
    finally:
        bar.close()
    return {"rendered": todo, "skipped": [n for n in wanted if n not in todo_set], "held": held,
            "size": size, "paths": [paths[n] for n in wanted]}


def _range(frames: tuple[int, int] | None) -> range | None:
    return None if frames is None else range(frames[0], frames[1] + 1)


def _output_size(person: Any, plate: Any, where: str | None, source_hw: tuple[int, int],
                 first: int) -> tuple[int, int]:
    from ...nodes.composite import check_plate
    from ...nodes.generate import crop_spec

    if plate is None:
        s = crop_spec(person)[0]
        return s, s
    image = plate(first) if callable(plate) else plate
    check_plate(image, source_hw, where, first)
    return source_hw


def _mp4_writer(marker: Any, path: str | os.PathLike, fps: float, size: tuple[int, int]) -> Any:
    """Signed H.264 writer (``Marker.video_writer``: atomic, signed on close) of an even size
    (odd sizes are edge-padded by one)."""
    return marker.video_writer(path, fps or 25.0, size[1] + size[1] % 2, size[0] + size[0] % 2)


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else image


def render_marker(person: Any, person_path: Path, cert: str | None, key: str | None,
                  no_consent_check: bool = False) -> Any:
    """The Marker of a render: consent checked (or its skip recorded), signing credentials loaded.

    Raises:
        BadInputError: no / expired / edited consent record, naming ``person_path``.
        UsageError: no signing certificate (or only half of cert + key).
    """
    from ...nodes.provenance.certs import ENV_CERT, ENV_KEY, SigningCredentials
    from ...nodes.provenance.mark import Marker, describe_person, resolve_consent

    consent = resolve_consent(person, None, check=not no_consent_check, where=person_path)
    if bool(cert) != bool(key):
        raise UsageError("--sign-cert and --sign-key go together")
    credentials = SigningCredentials.load(cert, key) if cert else SigningCredentials.from_env()
    if credentials is None:
        raise UsageError(f"no signing certificate for the C2PA manifests: pass --sign-cert/--sign-key or set "
                         f"{ENV_CERT}/{ENV_KEY} (a studio certificate; for tests, a local test CA from "
                         "'talkinghead verify --make-test-ca DIR')")
    return Marker.create(credentials, consent, {**describe_person(person), "file": person_path.name})


def run(args: argparse.Namespace) -> int:
    from ...nodes.render.shot import parse_frame_range
    from ...nodes.types import PersonModel
    from ...runtime.preflight import check_output_dir, check_output_file

    if args.batch < 1:
        raise UsageError("--batch must be >= 1")
    frame_path(args.out, 0)  # usage error early when the pattern has no ####
    if args.alpha and args.mp4 and not args.out:
        raise UsageError("--alpha applies to the image sequence; MP4 has no alpha")
    if args.colorspace not in (None, "srgb") and Path(args.out).suffix.lower() != ".exr":
        raise UsageError(f"--colorspace {args.colorspace} applies to EXR frames; {Path(args.out).suffix} is sRGB")
    frames = parse_frame_range(args.frames) if args.frames else None
    check_output_dir(Path(args.out).parent, "--out")  # before any work: never render all, then fail to write
    if args.mp4:
        check_output_file(args.mp4, "--mp4")
    person_path = Path(args.person)
    if not person_path.is_file():
        raise BadInputError("no such PersonModel file", person_path)
    person = PersonModel.load(person_path)
    marker = render_marker(person, person_path, args.sign_cert, args.sign_key, args.no_consent_check)
    rt = args.runtime()
    driver = load_driver(rt, args.driver, Path(args.out).parent, strict=args.strict)
    numbers = driver.frame_numbers
    plate, where = plate_source(args.plate, int(numbers[0]) if len(numbers) else 0, strict=args.strict)
    result = render(rt, person, driver, args.out, frames, plate, where, args.mp4, args.alpha, args.batch,
                    args.retarget, args.matte, args.backend, args.overwrite, marker=marker,
                    colour=args.colorspace or "linear")
    held = f", {len(result['held'])} without a driver face (pose held)" if result["held"] else ""
    print(f"{args.out}: rendered {len(result['rendered'])} frame(s), kept {len(result['skipped'])} "
          f"valid existing frame(s){held}; preset {person.config.get('name', '?')}"
          + (f"; {args.mp4}" if args.mp4 else ""))
    return 0
