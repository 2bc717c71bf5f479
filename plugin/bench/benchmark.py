"""Timing and memory primitives for `talkinghead bench` (latency medians, RSS / CUDA peaks, ORT variants).

Pure helpers: each takes a callable or a model file and returns a JSON-ready dict, so the command
only decides what to measure.
"""
from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...runtime.onnx import DENORMAL_AS_ZERO, new_session


def _rss_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:  # pragma: no cover - non-Linux
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:  # pragma: no cover - non-Linux or restricted /proc
        return False


def time_callable(fn: Callable[[], Any], warmup: int = 1, repeats: int = 5, sync: Callable[[], None] | None = None,
                  device: str = "cpu", max_seconds: float | None = None) -> dict:
    """Median latency of ``fn()`` after ``warmup`` calls, and its peak memory.

    Args:
        fn: the work (one generator call on a batch, ...).
        warmup: untimed calls first (allocations, ORT/TensorRT graph building, torch.compile).
        repeats: timed calls (fewer if ``max_seconds`` runs out, at least 1).
        sync: called after each call before reading the clock (``torch.cuda.synchronize`` on GPU).
        device: "cpu": peak RSS above the RSS before the calls; "cuda": torch.cuda.max_memory_allocated.
        max_seconds: stop repeating once this much time was spent timing.

    Returns:
        {"median_ms", "min_ms", "max_ms", "repeats", "peak_mem_mib", "mem_kind"}.
    """
    sync = sync or (lambda: None)
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        reset = _reset_peak_rss()
        before = _rss_kib("VmRSS") if reset else None
    for _ in range(warmup):
        fn()
        sync()
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    if device == "cuda":
        import torch

        peak, kind = (torch.cuda.max_memory_allocated() - before) / 2**20, "cuda max_memory_allocated delta"
    else:
        hwm = _rss_kib("VmHWM")
        peak = None if before is None or hwm is None else (hwm - before) / 1024
        kind = "peak RSS delta (VmHWM after reset - VmRSS before)"
    return {"median_ms": round(statistics.median(times), 3), "min_ms": round(min(times), 3),
            "max_ms": round(max(times), 3), "repeats": len(times),
            "peak_mem_mib": None if peak is None else round(peak, 1), "mem_kind": kind}


def paired_speedup(baseline: Callable[[], Any], candidate: Callable[[], Any], repeats: int = 5,
                   sync: Callable[[], None] | None = None) -> dict:
    """Speed-up of ``candidate`` over ``baseline``, timed alternately (A B A B ...) after one warm-up each.

    On a machine shared with other work, load drifts between two separate measurements; alternating
    exposes both to the same load, so the ratio of the medians is the fairer comparison.
    """
    sync = sync or (lambda: None)
    times: dict[str, list[float]] = {"baseline": [], "candidate": []}
    for fn in (baseline, candidate):
        fn()
        sync()
    for _ in range(max(1, repeats)):
        for name, fn in (("baseline", baseline), ("candidate", candidate)):
            t0 = time.perf_counter()
            fn()
            sync()
            times[name].append((time.perf_counter() - t0) * 1e3)
    base, cand = statistics.median(times["baseline"]), statistics.median(times["candidate"])
    return {"baseline_median_ms": round(base, 3), "candidate_median_ms": round(cand, 3),
            "speedup": round(base / cand, 3), "repeats": max(1, repeats)}


def throughput(result: dict, batch: int) -> dict:
    """Add frames/s and ms per frame to a ``time_callable`` result for a batch of ``batch``."""
    result = dict(result)
    result["batch"] = batch
    result["frames_per_s"] = round(batch * 1e3 / result["median_ms"], 3)
    result["ms_per_frame"] = round(result["median_ms"] / batch, 3)
    return result


def ort_session(path: str | os.PathLike, level: str = "all", threads: int = 0,
                optimized_path: str | os.PathLike | None = None, providers: list | None = None,
                spinning: bool = True, denormal_as_zero: bool = True) -> Any:
    """An ONNX Runtime session with explicit options (the bench tries several).

    Args:
        path: model file.
        level: graph optimisation "disable" | "basic" | "extended" | "all".
        threads: intra-op threads (0 = ORT default: one per physical core).
        optimized_path: if given, ORT writes the optimised graph there (an "optimised fp32 model").
        providers: default CPU only.
        spinning: let idle intra-op threads spin (ORT's default); off helps on a CPU shared with other work.
        denormal_as_zero: flush denormals, as the generation backend's sessions do (runtime.onnx).
    """
    import onnxruntime as ort

    levels = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
              "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    options = ort.SessionOptions()
    options.graph_optimization_level = levels[level]
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if denormal_as_zero:
        options.add_session_config_entry(DENORMAL_AS_ZERO, "1")
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if optimized_path:
        options.optimized_model_filepath = str(optimized_path)
    return new_session(path, options, providers or ["CPUExecutionProvider"])


def not_measured(reason: str) -> dict:
    """The record for a backend that could not run here."""
    return {"measured": False, "reason": reason}
