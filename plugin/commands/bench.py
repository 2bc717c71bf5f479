"""Benchmark generator, embedder, landmark, face-feature-loss and animation-path throughput; write BENCH.json.

Generator backends per preset and batch: torch eager fp32; torch bf16/fp16 autocast and torch.compile
(GPU only); ONNX Runtime CPU (with the graph-optimisation and thread variants tried); ONNX Runtime CUDA and
TensorRT fp16 (GPU only). Latency is the median over repeats after warm-up; memory is the peak RSS delta on
the CPU, the peak allocated memory on the GPU. Backends that cannot run here are recorded as "not measured"
with the reason. The "animate" section times
the default animation path at 1024x1024 (target >= 15 frames/s on a 2-core CPU).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from ...runtime.atomic import atomic_write_text
from ...runtime.errors import UsageError

EXAMPLE = """\
  talkinghead bench --out bench.json --quick
"""


TARGET_ORT_SPEEDUP = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="BENCH.json (written atomically)")
    parser.add_argument("--presets", default="small-128,paper-256", help="comma-separated presets")
    parser.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, noisy figures)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 7; 2 with --quick)")
    parser.add_argument("--skip", default="", help="comma-separated sections to skip: "
                        "ort-variants,embedder,landmarks,face-features,animate,portrait,demo,generator")


def _csv(text: str, kind=str) -> list:
    try:
        return [kind(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise UsageError(f"cannot parse {text!r}: {exc}") from exc


def machine() -> dict:
    """What ran the benchmark."""
    import onnxruntime
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "onnxruntime": onnxruntime.__version__, "gpu": gpu,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def run(args: argparse.Namespace) -> int:
    from ...runtime.preflight import check_output_file
    from ..bench.bench_sections import (
        bench_embedder,
        bench_face_features,
        bench_generator,
        bench_landmarks,
        build_models,
    )

    presets, batches = _csv(args.presets), _csv(args.batches, int)
    if not presets or not batches or min(batches) < 1:
        raise UsageError("--presets and --batches must name at least one preset and positive batch sizes")
    check_output_file(args.out, "--out")  # before any work
    rt = args.runtime()
    repeats = args.repeats or (2 if args.quick else 7)
    skip = set(_csv(args.skip))
    report: dict = {"machine": machine(), "device": rt.describe(),
                    "settings": {"presets": presets, "batches": batches, "repeats": repeats, "quick": args.quick},
                    "generator": {}, "embedder": {}, "targets": {}}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="talkinghead-bench-") as tmp:
        for preset in presets if "generator" not in skip else []:
            rt.check_cancelled()
            models = build_models(rt, preset)
            report["generator"][preset] = bench_generator(rt, models["G"], models["size"], preset, batches, repeats,
                                                          Path(tmp), variants="ort-variants" not in skip)
            report["generator"][preset]["base_model"] = models["origin"]
            if "embedder" not in skip:
                report["embedder"][preset] = bench_embedder(rt, models["E"], models["size"], repeats)
            report["targets"][preset] = targets(report["generator"][preset], rt.device.type)
            _write(args.out, report)  # partial results survive an interrupted run
    if "landmarks" not in skip:
        report["landmarks"] = bench_landmarks(rt, repeats)
    if "face-features" not in skip:
        report["face_features"] = bench_face_features(rt, repeats)
    if "animate" not in skip:
        from ..bench.bench_animate import bench_animate

        report["animate"] = bench_animate(rt, repeats)
        _write(args.out, report)
    if "portrait" not in skip:
        from ..bench.bench_animate import bench_portrait

        report["portrait"] = {str(side): bench_portrait(rt, side) for side in (512, 1024)}
        _write(args.out, report)
    if "demo" not in skip:
        from ..bench.bench_animate import bench_demo

        report["demo"] = bench_demo(rt)
        _write(args.out, report)
    report["seconds"] = round(time.time() - started, 1)
    _write(args.out, report)
    _print_summary(report)
    return 0


def targets(generator: dict, device_type: str) -> dict:
    """ORT CPU >= 1.5x torch eager fp32 (per batch) on the CPU; the GPU targets are only checked on a GPU."""
    out = {}
    for batch, rows in generator["batches"].items():
        torch_row, ort_row = rows.get("torch_eager_fp32", {}), rows.get("ort_cpu", {})
        paired = rows.get("paired_ort_cpu_vs_torch_fp32")
        if paired:  # alternated timing: the fair ratio on a shared machine
            speedup, how = paired["speedup"], "paired (alternating torch / ORT calls)"
        elif "median_ms" in torch_row and "median_ms" in ort_row:
            speedup, how = torch_row["median_ms"] / ort_row["median_ms"], "separate medians"
        else:
            continue
        out[f"ort_cpu_vs_torch_fp32_batch{batch}"] = {
            "speedup": round(speedup, 2), "target": TARGET_ORT_SPEEDUP, "met": speedup >= TARGET_ORT_SPEEDUP,
            "measured": how}
    if device_type != "cuda":
        out["gpu_targets"] = "not measured: no GPU (paper-256 batch 1 <= 8 ms/frame, >= 400 frames/s batched)"
    return out


def _write(path: str, report: dict) -> None:
    atomic_write_text(path, json.dumps(report, indent=2) + "\n")


def _print_summary(report: dict) -> None:
    animate = report.get("animate", {})
    if "motion_warp_composite" in animate:
        row = animate["motion_warp_composite"]
        print(f"animate {animate['photo']}: {row['frames_per_s']:.1f} frames/s (motion + warp + composite; "
              f"target {animate['target']['frames_per_s']:.0f}, met: {animate['target']['met']}); "
              f"head layer {animate['head_layer_s']} s, {animate['head_layer']}")
    for row in report.get("portrait", {}).values():
        if "frames_per_s" in row:
            print(f"portrait {row['photo']}: {row['frames_per_s']:.1f} frames/s ({row['ms_per_frame']} ms/frame, the "
                  f"whole per-frame path); prepare {row['prepare_s']} s")
    demo = report.get("demo", {})
    if "seconds" in demo:
        print(f"demo: {demo['frames']} frames end to end in {demo['seconds']} s (target {demo['target']['seconds']:.0f}"
              f" s, met: {demo['target']['met']}); stages {demo['stages_s']}")
    for preset, gen in report["generator"].items():
        for batch, rows in gen["batches"].items():
            cells = [f"{name} {row['frames_per_s']:.2f} fps ({row['median_ms']:.0f} ms)"
                     for name, row in rows.items() if "frames_per_s" in row]
            print(f"{preset} batch {batch}: " + "; ".join(cells))
        for name, target in report["targets"].get(preset, {}).items():
            print(f"  {name}: {target}")
