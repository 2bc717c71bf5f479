"""The shot renderer: a PersonModel driven by a FaceTrack, written frame by frame (resumable, chunkable,
composited into a plate, watermarked and signed); every host renders through it."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...runtime.errors import BadInputError, UsageError
from .frames_on_disk import frame_is_valid, frame_path, read_frame, remove_stale_temps

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

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
    from ..composite import check_plate, face_matte, matte_faces, paste, with_alpha
    from ..generate import GenerateFrames, frame_positions

    numbers = driver.frame_numbers
    if len(numbers) == 0:
        raise BadInputError("the driving track is empty", driver.where)
    wanted = [int(numbers[i]) for i in frame_positions(driver, _range(frames))]
    source_hw = tuple(int(v) for v in person.identity.source_sizes[0])
    size = _output_size(person, plate, plate_where, source_hw, wanted[0])
    channels = 4 if alpha else 3
    paths = {n: frame_path(out, n) for n in wanted}
    todo = [n for n in wanted if overwrite or not frame_is_valid(paths[n], size[1], size[0], channels)]
    from ..provenance.manifest import sidecar_path

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
    from ..composite import check_plate
    from ..generate import crop_spec

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
    from ..provenance.certs import ENV_CERT, ENV_KEY, SigningCredentials
    from ..provenance.mark import Marker, describe_person, resolve_consent

    consent = resolve_consent(person, None, check=not no_consent_check, where=person_path)
    if bool(cert) != bool(key):
        raise UsageError("--sign-cert and --sign-key go together")
    credentials = SigningCredentials.load(cert, key) if cert else SigningCredentials.from_env()
    if credentials is None:
        raise UsageError(f"no signing certificate for the C2PA manifests: pass --sign-cert/--sign-key or set "
                         f"{ENV_CERT}/{ENV_KEY} (a studio certificate; for tests, a local test CA from "
                         "'talkinghead verify --make-test-ca DIR')")
    return Marker.create(credentials, consent, {**describe_person(person), "file": person_path.name})
