"""FineTune (§3.3) on a real photo (tiny-64, CPU): initialisation, the fit improves, exact resume, cancellation."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from talkinghead.nodes.embedding import EmbedIdentity
from talkinghead.nodes.finetune import FineTune, FineTuneConfig
from talkinghead.nodes.person import feed_forward_person, load_base
from talkinghead.nodes.training.objective import VARIANTS
from talkinghead.runtime.errors import BadInputError, Interrupted, UsageError
from talkinghead.runtime.runtime import Runtime

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "astronaut_dlib_landmarks.npy"
CFG = FineTuneConfig(batch_size=2, objective=VARIANTS["full"])


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime(device="cpu", precision="32-true")


@pytest.fixture(scope="module")
def setup(rt):
    base = load_base(rt, preset="tiny-64")
    image, lms = skimage.data.astronaut(), np.load(GOLDEN).astype(np.float32)[None]
    identity = EmbedIdentity().run(rt, base=base, images=[image], landmarks=lms)["identity"]
    return base, identity, [image], lms


def tune(rt, setup, **kw):
    base, identity, images, lms = setup
    config = kw.pop("config", CFG)
    return FineTune().run(rt, base=base, identity=identity, images=images, landmarks=lms, config=config, **kw)["person"]


def test_zero_steps_is_the_paper_initialisation(rt, setup):
    base, identity = setup[:2]
    person = tune(rt, setup, steps=0)
    ff = feed_forward_person(base, identity)
    torch.testing.assert_close(person.psi, ff.psi)  # psi' <- P e_hat
    torch.testing.assert_close(person.w, ff.w)  # w' <- w0 + e_hat
    assert person.info["steps"] == 0 and person.info["crop"] == {"size": 64, "margin": 0.4}


def test_fine_tuning_fits_the_photo_and_leaves_the_base_alone(rt, setup):
    base = setup[0]
    before = {k: v.clone() for k, v in base.G.state_dict().items()}
    person = tune(rt, setup, steps=25)
    info = person.info
    assert info["steps"] == 25 and info["loss_terms"][:2] == ["l1", "face_resnet"] and "adv" in info["loss_terms"]
    assert info["reconstruction_l1_after"] < 0.7 * info["reconstruction_l1_before"], info
    assert info["meta_learned_base"] is False and "random initialisation" in info["base_origin"]
    for k, v in base.G.state_dict().items():
        assert torch.equal(v, before[k]), f"fine-tuning changed the shared base's {k}"
    assert not torch.equal(person.psi, feed_forward_person(base, setup[1]).psi)


def test_resume_reproduces_the_uninterrupted_run(tmp_path, rt, setup):
    straight = tune(rt, setup, steps=6)
    tune(rt, setup, steps=3, checkpoint=tmp_path / "state.safetensors")
    resumed = tune(rt, setup, steps=6, checkpoint=tmp_path / "state.safetensors", resume=True)
    assert resumed.info["steps"] == 6
    torch.testing.assert_close(resumed.psi, straight.psi, rtol=0, atol=0)
    for k, v in straight.generator.items():
        torch.testing.assert_close(resumed.generator[k], v, rtol=0, atol=0, msg=k)
    torch.testing.assert_close(resumed.w, straight.w, rtol=0, atol=0)


def test_cancellation_saves_a_checkpoint_at_a_step_boundary(tmp_path, setup):
    from talkinghead.runtime.progress import CancelToken

    token = CancelToken()

    class Bar:
        count = 0

        def update(self, n=1):
            Bar.count += n
            if Bar.count == 2:
                token.cancel()

        def close(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    local = Runtime(device="cpu", precision="32-true", progress=lambda total, desc: Bar(), cancel=token)
    base, identity, images, lms = setup
    with pytest.raises(Interrupted):
        FineTune().run(local, base=base, identity=identity, images=images, landmarks=lms, steps=10, config=CFG,
                       checkpoint=tmp_path / "s.safetensors")
    from talkinghead.runtime.weights import load_safetensors

    assert load_safetensors(tmp_path / "s.safetensors")[1]["meta"]["step"] == 2


def test_time_box_and_bad_input(tmp_path, rt, setup):
    assert tune(rt, setup, max_seconds=0).info["steps"] == 0
    base, identity, images, lms = setup
    with pytest.raises(BadInputError, match=r"\(1, 68, 2\)"):
        FineTune().run(rt, base=base, identity=identity, images=images, landmarks=lms[:, :60])
    with pytest.raises(UsageError):
        FineTune().run(rt, base=base, identity=identity, images=images * 2)  # landmarks needed for other photos
    with pytest.raises(UsageError):
        tune(rt, setup, steps=1, config=replace(CFG, batch_size=0))
    tune(rt, setup, steps=1, checkpoint=tmp_path / "other.safetensors")
    other = setup[1].__class__(**{**setup[1].__dict__, "source_digests": ["f" * 64]})
    with pytest.raises(BadInputError, match="other source photos"):
        FineTune().run(rt, base=base, identity=other, images=images, landmarks=lms, steps=2, config=CFG,
                       checkpoint=tmp_path / "other.safetensors", resume=True)
