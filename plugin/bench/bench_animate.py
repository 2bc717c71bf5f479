"""`talkinghead bench` section "animate": the default animation path (nodes/animate) at 1024x1024.

Measures, on scikit-image's astronaut photo scaled to 1024x1024 (a drawn head when scikit-image is absent):
- the head layer, once per shot (segmentation + matting + background fill), and which path it took;
- motion + warp + composite per frame (``animate_frames``) over a sequence of poses made from the photo's
  own landmarks: roll up to +-20 degrees, a nod, a translation and an opening mouth.
Target: >= 15 frames/s for motion + warp + composite on a 2-core CPU (issue 18).

Section "portrait": the whole per-frame path (mouth and eyes too) at 512 and 1024 px. Section "demo": the
demo end to end (target <= 60 s for its 120 frames).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .benchmark import not_measured, throughput, time_callable

TARGET_FPS = 15.0
SIDE = 1024
DEMO_TARGET_S = 60.0


def example_photo() -> np.ndarray:
    """(SIDE, SIDE, 3) uint8: the astronaut photo scaled up, or a drawn head without scikit-image."""
    import cv2

    try:
        from skimage import data
    except ImportError:
        photo = np.full((SIDE, SIDE, 3), (90, 120, 170), np.uint8)
        cv2.ellipse(photo, (512, 400), (230, 300), 0, 0, 360, (60, 40, 20), -1)
        cv2.ellipse(photo, (512, 470), (170, 230), 0, 0, 360, (225, 180, 150), -1)
        return photo
    return cv2.resize(np.ascontiguousarray(data.astronaut()), (SIDE, SIDE), interpolation=cv2.INTER_CUBIC)


def example_poses(source: np.ndarray, n: int = 60) -> np.ndarray:
    """(n, 68, 2) target landmarks: the source rolled, nodded, moved and with the jaw dropped, smoothly."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    centre = source[27:36].mean(0)
    height = float(np.linalg.norm(source[8] - source[17:27].mean(0)))
    out = []
    for k in range(n):
        angle = np.radians(20 * np.sin(t[k]))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        pose = (source - centre) @ rot.T + centre
        pose = pose + [0.08 * height * np.sin(2 * t[k]), 0.05 * height * np.cos(t[k])]
        jaw = 0.12 * height * max(0.0, np.sin(3 * t[k]))
        pose[[*range(5, 12), 56, 57, 58, 65, 66, 67]] += [0.0, jaw]
        out.append(pose)
    return np.stack(out)


def bench_animate(rt: Any, repeats: int) -> dict:
    """Head layer build time and animate frames/s at 1024x1024; see the module docstring."""
    from ...nodes.animate.animate import animate_frames
    from ...nodes.animate.head_layer import build_head_layer
    from ...nodes.landmarks.extract import detect_landmarks_image
    from ...runtime.errors import BadInputError

    photo = example_photo()
    try:
        source, _, _ = detect_landmarks_image(rt, photo, backend="dlib")
    except BadInputError as exc:
        return not_measured(f"no face found in the example photo ({exc})")
    source = np.asarray(source, np.float64)
    started = time.perf_counter()
    layer = build_head_layer(rt, photo, source)
    layer_s = time.perf_counter() - started
    poses = example_poses(source)

    def run() -> None:
        for _ in animate_frames(photo, source, poses, layer, warn=lambda message: None):
            pass

    result = throughput(time_callable(run, 1, max(2, repeats), None, "cpu", 60.0), len(poses))
    fps = result["frames_per_s"]
    return {"photo": f"{SIDE}x{SIDE}", "frames": len(poses), "head_layer_s": round(layer_s, 2),
            "head_layer": layer.describe(), "motion_warp_composite": result,
            "target": {"frames_per_s": TARGET_FPS, "met": fps >= TARGET_FPS}}


def bench_portrait(rt: Any, side: int) -> dict:
    """Frames/s of the whole per-frame path at ``side`` x ``side`` (``Pipeline.frames``: head motion, warp,
    composite, mouth interior, eyes), the example poses driving the example photo; no network."""
    import cv2

    from ...nodes.landmarks.extract import detect_landmarks_image
    from ...nodes.pipeline import Pipeline, PipelineConfig
    from ...nodes.types import FaceTrack
    from ...runtime.errors import BadInputError

    photo = cv2.resize(example_photo(), (side, side), interpolation=cv2.INTER_AREA)
    try:
        source = np.asarray(detect_landmarks_image(rt, photo, backend="dlib")[0], np.float64)
    except BadInputError as exc:
        return not_measured(f"no face found in the example photo ({exc})")
    poses = example_poses(source, 30).astype(np.float32)
    n = len(poses)
    track = FaceTrack(poses, np.zeros((n, 4)), np.ones(n, bool), np.ones(n), (side, side), fps=25.0, source="poses")
    pipeline = Pipeline(rt, PipelineConfig(residual="off"))
    started = time.perf_counter()
    person = pipeline.person([photo], ["example"], source[None].astype(np.float32))
    portrait = pipeline.portrait(person)
    prepare_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in pipeline.frames(person, track, portrait=portrait):
        pass
    seconds = time.perf_counter() - started
    return {"photo": f"{side}x{side}", "frames": n, "prepare_s": round(prepare_s, 2),
            "ms_per_frame": round(1000 * seconds / n, 1), "frames_per_s": round(n / seconds, 2)}


def bench_demo(rt: Any) -> dict:
    """`talkinghead demo` end to end (driver landmarks + irises, person, 120 frames animated, written as
    signed PNGs and MP4, verified) in a temporary folder: seconds per stage and in all. Target <= 60 s."""
    import argparse
    import json
    import tempfile

    from ..commands import demo

    with tempfile.TemporaryDirectory(prefix="talkinghead-bench-demo-") as tmp:
        args = argparse.Namespace(out=tmp, frames=None, residual="auto", preset=demo.DEFAULT_PRESET, steps=None,
                                  max_seconds=demo.FINETUNE_SECONDS, batch=8, runtime=lambda: rt)
        started = time.perf_counter()
        try:
            demo.run(args)
        except Exception as exc:  # noqa: BLE001 - a bench records what could not be measured
            return not_measured(f"the demo failed: {exc}")
        seconds = time.perf_counter() - started
        summary = json.loads((Path(tmp) / "demo.json").read_text())
    return {"frames": summary["frames"], "seconds": round(seconds, 1), "stages_s": summary["stages_s"],
            "person": summary["person"].get("kind"), "target": {"seconds": DEMO_TARGET_S, "met": seconds <= DEMO_TARGET_S}}
