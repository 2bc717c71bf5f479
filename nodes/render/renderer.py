"""The shot renderer: a PersonModel driven by a FaceTrack, written frame by frame (resumable, chunkable,
composited into a plate, watermarked and signed); every host renders through it."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...runtime.errors import BadInputError
from .frames_on_disk import frame_is_valid, frame_path, read_frame, remove_stale_temps

if TYPE_CHECKING:
    from ..pipeline import Pipeline

def render(pipeline: Pipeline, person: Any, driver: Any, out: str | os.PathLike,
           frames: Sequence[int] | None = None, plate: Any = None, plate_where: str | None = None,
           mp4: str | os.PathLike | None = None, alpha: bool = False, overwrite: bool = False,
           observe: Callable[[Any], None] | None = None, *, marker: Any, colour: str = "linear",
           clean_plate: np.ndarray | None = None, driver_media: Callable[[int], np.ndarray] | None = None
           ) -> dict[str, Any]:
    """Render ``frames`` (driver frame numbers, e.g. ``shot.parse_frames('1001-1100x2')``) of ``person`` driven by
    ``driver``.

    Args:
        pipeline: the chain (``nodes.pipeline.Pipeline``: its runtime and settings).
        person: PersonModel.
        driver: FaceTrack (full track; ``frames`` selects from it).
        out: pattern with ``####``.
        plate: None (the photo's own filled background), an (H, W, 3) image, or frame_number -> image.
        mp4: optional MP4 path covering the rendered range (existing valid frames are read back).
        alpha: RGBA output (the moved head's alpha).
        colour: colour space of EXR frames ("linear", "acescg", "srgb"; ignored for other formats).
        observe: called with every ``RenderedFrame`` rendered now (its image as written, watermarked).
        marker: ``nodes.provenance.mark.Marker``: watermarks each frame, signs each file (required).
        clean_plate: the background behind the head (default: inpainted from the photo).
        driver_media: frame number -> the driver's frame (its mouth interior is used).

    Returns:
        {"rendered": [...], "skipped": [...], "held": [...], "size": (H, W), "paths": [...], "report": counts}.
    """
    from ..animate.features import summarise
    from ..composite import check_plate, with_alpha
    from ..generate import frame_positions
    from ..provenance.manifest import sidecar_path

    rt = pipeline.rt
    numbers = driver.frame_numbers
    if len(numbers) == 0:
        raise BadInputError("the driving track is empty", driver.where)
    wanted = [int(numbers[i]) for i in frame_positions(driver, frames)]
    size = tuple(int(v) for v in person.identity.source_sizes[0])
    if plate is not None:
        check_plate(plate(wanted[0]) if callable(plate) else plate, size, plate_where, wanted[0])
    channels = 4 if alpha else 3
    paths = {n: frame_path(out, n) for n in wanted}
    todo = [n for n in wanted if overwrite or not frame_is_valid(paths[n], size[1], size[0], channels)]
    for n in todo:
        remove_stale_temps(paths[n])
        remove_stale_temps(sidecar_path(paths[n]))
    stream: Iterator[Any] = pipeline.frames(person, driver, todo, plate, clean_plate, driver_media) if todo else iter(())
    writer = _mp4_writer(marker, mp4, driver.fps, size) if mp4 else None
    held, reports, todo_set = [], [], set(todo)
    bar = rt.progress(len(wanted), "render")
    try:
        for n in wanted:
            if n in todo_set:
                item = next(stream)
                assert item.frame_number == n, (item.frame_number, n)
                held += [] if item.valid else [n]
                reports.append(item.report)
                item.image = rgb = marker.watermark(item.image)
                marker.write_image(paths[n], with_alpha(rgb, item.alpha) if alpha else rgb, frame=n, colour=colour)
                if observe:
                    observe(item)
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
            "size": size, "paths": [paths[n] for n in wanted], "report": summarise(reports)}


def _mp4_writer(marker: Any, path: str | os.PathLike, fps: float, size: tuple[int, int]) -> Any:
    """Signed H.264 writer (``Marker.video_writer``: atomic, signed on close) of an even size
    (odd sizes are edge-padded by one)."""
    return marker.video_writer(path, fps or 25.0, size[1] + size[1] % 2, size[0] + size[0] % 2)


def _even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") if h % 2 or w % 2 else image


def render_marker(person: Any, person_path: Path, cert: str | None, key: str | None,
                  no_consent_check: bool = False) -> Any:
    """The Marker of a render (``provenance.output.output_marker``, signature required): consent checked (or
    its skip recorded), signing credentials loaded.

    Raises:
        BadInputError: no / expired / edited consent record, naming ``person_path``.
        UsageError: no signing certificate (or only half of cert + key).
    """
    from ..provenance.output import output_marker, signing_credentials

    return output_marker(person, credentials=signing_credentials(cert, key), require_signature=True,
                         override="--no-consent-check" if no_consent_check else "", where=person_path,
                         person_file=person_path.name)
