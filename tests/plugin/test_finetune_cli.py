"""`talkinghead embed` / `finetune`: files written, SIGTERM stops at a step boundary (exit 5), --resume continues."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import skimage.data
from talkinghead.nodes.types import Identity, PersonModel
from talkinghead.plugin.cli import main
from talkinghead.runtime.weights import load_safetensors


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "astronaut.png"
    cv2.imwrite(str(path), skimage.data.astronaut()[..., ::-1])
    return path


def test_embed_and_finetune_write_their_files(tmp_path, photo, capsys):
    assert main(["--device", "cpu", "embed", str(photo), "--out", str(tmp_path / "id.safetensors"),
                 "--preset", "tiny-64", "--backend", "dlib"]) == 0
    identity = Identity.load(tmp_path / "id.safetensors")
    assert identity.k == 1 and identity.e_hat.shape == (64,)
    assert main(["--device", "cpu", "finetune", str(photo), "--out", str(tmp_path / "p.safetensors"),
                 "--preset", "tiny-64", "--steps", "3", "--batch", "2", "--backend", "dlib", "--residual", "on"]) == 0
    person = PersonModel.load(tmp_path / "p.safetensors")
    assert person.info["steps"] == 3 and person.identity.source_digests == identity.source_digests
    assert person.has_network and len(person.photos) == 1 and tuple(person.photos[0].shape) == (512, 512, 3)
    assert "random initialisation" in capsys.readouterr().out  # says which base it started from
    # without a meta-learned base (and no --residual on) nothing is fine-tuned, and it says why
    assert main(["--device", "cpu", "finetune", str(photo), "--out", str(tmp_path / "plain.safetensors"),
                 "--preset", "tiny-64", "--backend", "dlib"]) == 0
    plain = PersonModel.load(tmp_path / "plain.safetensors")
    assert not plain.has_network and plain.info["kind"] == "portrait" and len(plain.photos) == 1
    assert "no meta-learned base-tiny-64" in capsys.readouterr().out
    assert main(["--device", "cpu", "finetune", str(tmp_path / "missing.png"), "--out",
                 str(tmp_path / "q.safetensors"), "--preset", "tiny-64"]) == 3
    assert main(["--device", "cpu", "finetune", str(photo), "--out", str(tmp_path / "q.npz")]) == 2


def test_sigterm_checkpoints_and_resume_finishes(tmp_path, photo):
    out, state = tmp_path / "p.safetensors", tmp_path / "p.state.safetensors"
    cmd = [sys.executable, "-m", "talkinghead.plugin.cli", "--device", "cpu", "finetune", str(photo), "--out",
           str(out), "--preset", "tiny-64", "--steps", "400", "--batch", "2", "--checkpoint-every", "1",
           "--backend", "dlib", "--residual", "on"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not state.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert state.exists(), proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 5, err[-2000:]
    assert not out.exists()  # no PersonModel pretends to be finished
    step = load_safetensors(state)[1]["meta"]["step"]
    assert 1 <= step < 400
    done = subprocess.run([*cmd[:cmd.index("--steps") + 1], str(step + 2), *cmd[cmd.index("--steps") + 2:],
                           "--resume"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert PersonModel.load(out).info["steps"] == step + 2
    assert np.isfinite(PersonModel.load(out).psi.numpy()).all()


def test_cli_lists_every_loss_variant():
    from talkinghead.nodes.training.objective import VARIANTS
    from talkinghead.plugin.commands.finetune import LOSS_VARIANTS

    assert sorted(LOSS_VARIANTS) == sorted(VARIANTS)
