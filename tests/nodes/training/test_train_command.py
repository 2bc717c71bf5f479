"""talkinghead train: SIGTERM checkpoints at a step boundary (exit 5) and --resume continues; --base-out."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from talkinghead.nodes.training.loop import CHECKPOINT, SCALARS, _state_meta, base_path
from talkinghead.plugin.cli import main


def _lines(run):
    path = run / SCALARS
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_sigterm_saves_at_a_step_boundary_and_resume_continues(tiny_dataset, tmp_path):
    run = tmp_path / "run"
    args = ["train", "--preset", "tiny-64", "--data", str(tiny_dataset), "--out", str(run), "--k", "2", "--batch", "1",
            "--loss", "l1+adv", "--log-every", "1", "--checkpoint-every", "0", "--sample-every", "0"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    proc = subprocess.Popen([sys.executable, "-m", "talkinghead.plugin.cli", *args, "--threads", "1", "--steps", "100000"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while len(_lines(run)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 5, err[-3000:]
    assert "stopped at step" in err
    step = int(_state_meta(run / CHECKPOINT)["step"])
    assert step >= 2 and [r["step"] for r in _lines(run)] == list(range(1, step + 1))
    # in this process (no --threads): its thread count is left alone
    assert main([*args, "--steps", str(step + 2), "--resume"]) == 0
    assert [r["step"] for r in _lines(run)] == list(range(1, step + 3))
    assert main([*args, "--steps", str(step + 2)]) == 2  # an existing run needs --resume


@pytest.mark.parametrize("preset", ["small-128"])
def test_base_out_is_what_load_base_resolves(tiny_dataset, tmp_path, monkeypatch, preset):
    from talkinghead.nodes.person import load_base
    from talkinghead.runtime.runtime import Runtime

    models = tmp_path / "models"
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(models))
    run = tmp_path / "run"
    args = ["train", "--preset", preset, "--data", str(tiny_dataset), "--out", str(run), "--k", "1", "--batch", "1",
            "--loss", "l1", "--base-out", str(models / f"talkinghead-{preset}.safetensors")]
    assert main([*args, "--steps", "1"]) == 0
    base_path(run, preset).unlink()
    assert main([*args, "--steps", "0", "--resume"]) == 0  # rewrites the base from the checkpoint
    assert base_path(run, preset).is_file()
    base = load_base(Runtime(device="cpu"), preset)
    assert base.meta_learned and base.info["step"] == 1 and str(models) in base.origin
    assert base.info["dataset"]["sequences"] == 5 and base.info["variant"] == "ft"
