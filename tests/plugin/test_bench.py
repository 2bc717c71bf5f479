"""`talkinghead bench`: JSON layout, targets arithmetic, timing primitives."""
import json
import time

import torch
from talkinghead.plugin.bench.benchmark import paired_speedup, throughput, time_callable
from talkinghead.plugin.cli import main
from talkinghead.plugin.commands.bench import targets


def test_time_callable_measures_the_work():
    result = time_callable(lambda: time.sleep(0.02), warmup=1, repeats=3)
    assert result["repeats"] == 3
    assert 19.0 <= result["median_ms"] < 200.0 and result["min_ms"] <= result["median_ms"] <= result["max_ms"]
    slow = paired_speedup(lambda: time.sleep(0.03), lambda: time.sleep(0.01), repeats=3)
    assert 1.8 < slow["speedup"] < 3.5 and slow["repeats"] == 3
    row = throughput(result, 8)
    assert abs(row["frames_per_s"] - 8e3 / result["median_ms"]) < 0.01


def test_targets_speedup():
    rows = {"1": {"torch_eager_fp32": {"median_ms": 30.0}, "ort_cpu": {"median_ms": 10.0}},
            "8": {"torch_eager_fp32": {"median_ms": 100.0}, "ort_cpu": {"median_ms": 80.0}}}
    rows["8"]["paired_ort_cpu_vs_torch_fp32"] = {"speedup": 1.6}  # the alternated measurement wins
    out = targets({"batches": rows}, "cpu")
    assert out["ort_cpu_vs_torch_fp32_batch1"] == {"speedup": 3.0, "target": 1.5, "met": True,
                                                   "measured": "separate medians"}
    assert out["ort_cpu_vs_torch_fp32_batch8"]["met"] is True
    assert out["ort_cpu_vs_torch_fp32_batch8"]["measured"].startswith("paired")
    assert "no GPU" in out["gpu_targets"]


def test_bench_command_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    code = main(["--device", "cpu", "bench", "--out", str(out), "--presets", "tiny-64", "--batches", "1,2",
                 "--quick", "--skip", "ort-variants,landmarks,face-features,animate"])
    assert code == 0
    report = json.loads(out.read_text())
    gen = report["generator"]["tiny-64"]
    assert gen["onnx_parity_max_abs_error"] <= 1e-3
    for batch in ("1", "2"):
        rows = gen["batches"][batch]
        for name in ("torch_eager_fp32", "ort_cpu"):
            assert rows[name]["frames_per_s"] > 0 and rows[name]["batch"] == int(batch)
        if not torch.cuda.is_available():
            assert rows["ort_tensorrt_fp16"] == {"measured": False, "reason": "not measured: no GPU"}
            assert rows["torch_compile"]["measured"] is False
    assert report["embedder"]["tiny-64"]["frames_per_s"] > 0
    assert rows["paired_ort_cpu_vs_torch_fp32"]["speedup"] > 0
    assert "ort_cpu_vs_torch_fp32_batch1" in report["targets"]["tiny-64"]
    assert report["machine"]["cpu_count"] >= 1


def test_bench_animate_section(tmp_path, monkeypatch):
    import talkinghead.plugin.bench.bench_animate as section

    monkeypatch.setattr(section, "SIDE", 512)  # the section's work at a smaller size (speed is not asserted)
    out = tmp_path / "bench.json"
    code = main(["--device", "cpu", "bench", "--out", str(out), "--quick",
                 "--skip", "generator,embedder,landmarks,face-features"])
    assert code == 0
    animate = json.loads(out.read_text())["animate"]
    assert animate["photo"] == "512x512" and animate["frames"] == 60
    assert animate["motion_warp_composite"]["frames_per_s"] > 0
    assert animate["head_layer"].startswith("head layer: ") and animate["head_layer_s"] > 0
    assert animate["target"]["frames_per_s"] == 15.0 and isinstance(animate["target"]["met"], bool)
