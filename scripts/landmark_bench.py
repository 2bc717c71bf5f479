"""Landmark speed per backend (frames/s at 256 px and 1080p) and smoothing jitter on a real clip -> JSON.

Speed: a real talking-head clip is decoded once; its frames are fed at their own size (256 px) and
resized into a 1920x1080 frame (face ~1000 px high). "track" is the video path (detect once, then
follow the face); "detect" runs full detection on every frame (what single photos cost). FAN is timed
with its real network; when its weights are absent it runs with randomly initialised weights (the
cost of a forward pass does not depend on the weight values; tracking, whose cost depends on the
network's confidence, is then not timed) and the JSON says so. The load average is recorded: other
processes on the machine make the figures slower.

Smoothing: the clip's raw track vs the One Euro (zero phase) track: jitter (mean second difference,
face-size units) overall and on the stillest half of the frames, and the error on the fastest 10%
of frames (smoothing that lags shows up there).

Usage:
    python scripts/landmark_bench.py --clip ../shared/data/clips/lia_vox3.mp4 --out bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np


def _frames(clip: str, limit: int) -> list[tuple[int, np.ndarray]]:
    from talkinghead.nodes.media.io import iter_frames

    frames = []
    for number, image in iter_frames(clip):
        frames.append((number, image))
        if len(frames) == limit:
            break
    return frames


def _to_1080p(image: np.ndarray) -> np.ndarray:
    import cv2

    canvas = np.zeros((1080, 1920, 3), np.uint8)
    canvas[:, 420:1500] = cv2.resize(image, (1080, 1080), interpolation=cv2.INTER_LINEAR)
    return canvas


def _time(rt, engine, frames, mode: str) -> float:
    from talkinghead.nodes.landmarks.extract import extract_landmarks

    start = time.perf_counter()
    if mode == "track":
        extract_landmarks(rt, frames, engine)
    else:
        for item in frames:
            extract_landmarks(rt, [item], engine)
    return len(frames) / (time.perf_counter() - start)


def _fan_engine(rt):
    from talkinghead.nodes.landmarks.fan_backend import FanBackend

    if rt.has_weights("fan-2d"):
        return FanBackend(rt), "real weights"
    import torch
    from face_alignment.models import FAN

    home = tempfile.mkdtemp(prefix="fan-bench-")
    folder = Path(home) / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.save(FAN(4).state_dict(), folder / "2DFAN4-11f355bf06.pth.tar")
    os.environ["TORCH_HOME"] = home
    return FanBackend(rt, check_hash=False), "random weights (speed only; fan-2d weights absent)"


def speed(rt, frames: list, n: int) -> dict:
    from talkinghead.nodes.landmarks.extract import make_backend

    results = {}
    small = frames[:n]
    large = [(i, _to_1080p(img)) for i, img in frames[: max(4, n // 4)]]
    for name in ("dlib", "fan"):
        engine, note = (make_backend(rt, "dlib"), "") if name == "dlib" else _fan_engine(rt)
        real = not note.startswith("random")
        count = None if name == "dlib" else 4
        entry = {"weights": note} if note else {}
        for label, data in (("256px", small[:count]), ("1080p", large[:count])):
            _time(rt, engine, data[:1], "detect")  # warm-up (caches, first-call costs)
            entry[label] = {"detect_every_frame_fps": _time(rt, engine, data, "detect"), "frames": len(data)}
            if real:  # tracking cost depends on the network's confidence: meaningless with random weights
                entry[label]["track_fps"] = _time(rt, engine, data, "track")
        entry["load_average_after"] = os.getloadavg()[0]
        results[name] = entry
        print(name, json.dumps(entry))
    return results


def smoothing(rt, clip: str) -> dict:
    from talkinghead.nodes.landmarks.extract import extract_landmarks
    from talkinghead.nodes.landmarks.smoothing import face_scale, jitter, smooth_landmarks
    from talkinghead.nodes.media.io import iter_frames, probe

    raw = extract_landmarks(rt, iter_frames(clip), "dlib", fps=probe(clip).fps)
    lms = raw.landmarks
    smooth = smooth_landmarks(lms, raw.fps)
    scale = face_scale(lms)
    speed = np.linalg.norm(np.diff(smooth, axis=0), axis=-1).mean(axis=1) / scale  # (T-1,)
    still = np.flatnonzero(speed <= np.nanmedian(speed))
    fast = np.flatnonzero(speed >= np.nanquantile(speed, 0.9)) + 1
    still = still[(still >= 1) & (still < len(lms) - 2)]

    def at(x, index):  # second differences centred on the given frames, face-size units
        acc = (x[index + 1] - 2 * x[index] + x[index - 1]) / scale
        return float(np.nanmean(np.linalg.norm(acc, axis=-1)))

    return {"clip": str(clip), "frames": len(lms), "valid": int(raw.valid.sum()), "fps": raw.fps,
            "filter": "One Euro, zero phase, min_cutoff 1 Hz, beta 10 (face sizes)",
            "jitter_raw": jitter(lms), "jitter_smoothed": jitter(smooth),
            "jitter_reduction": 1 - jitter(smooth) / jitter(lms),
            "still_half_jitter_raw": at(lms, still), "still_half_jitter_smoothed": at(smooth, still),
            "still_half_jitter_reduction": 1 - at(smooth, still) / at(lms, still),
            "fastest_10pct_mean_error_vs_raw_face_units": float(np.nanmean(
                np.linalg.norm(smooth[fast] - lms[fast], axis=-1)) / scale),
            "all_frames_mean_error_vs_raw_face_units": float(np.nanmean(np.linalg.norm(smooth - lms, axis=-1)) / scale)}


def main(argv: list[str] | None = None) -> int:
    import torch
    from talkinghead.runtime.atomic import atomic_write_text
    from talkinghead.runtime.runtime import Runtime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default=str(Path(__file__).resolve().parents[1] / "../shared/data/clips/lia_vox3.mp4"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-speed", action="store_true", help="only the smoothing measurement")
    args = parser.parse_args(argv)
    rt = Runtime(device=args.device)
    report = {"device": str(rt.device), "cpu": platform.processor() or platform.machine(),
              "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
              "gpu": torch.cuda.is_available(), "clip": args.clip}
    report["smoothing"] = smoothing(rt, args.clip)
    print("smoothing", json.dumps(report["smoothing"]))
    if not args.no_speed:
        report["speed"] = speed(rt, _frames(args.clip, args.frames), args.frames)
    atomic_write_text(args.out, json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
