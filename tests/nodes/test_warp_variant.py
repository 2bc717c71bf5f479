"""The warp-conditioned variant (preset *-warp): an untrained G returns the warp floor exactly, fine-tuning
learns a residual on top of it, the person file keeps its source crops, generation uses them, exports refuse
it (tiny-64). Whether the residual beats the warp on held-out frames is the evaluation's job (real clips)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from talkinghead.nodes.embedding import EmbedIdentity
from talkinghead.nodes.finetune import FineTune, FineTuneConfig
from talkinghead.nodes.networks.generator import Generator
from talkinghead.nodes.networks.presets import get_preset
from talkinghead.nodes.person import feed_forward_person, load_base, person_generator
from talkinghead.nodes.sketch import draw_sketches, face_crops, sketch_to_tensor
from talkinghead.nodes.training.objective import VARIANTS
from talkinghead.nodes.types import PersonModel
from talkinghead.nodes.warping.warp import warp_face
from talkinghead.runtime.errors import UsageError
from talkinghead.runtime.runtime import Runtime

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "astronaut_dlib_landmarks.npy"


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime(device="cpu", precision="32-true")


@pytest.fixture(scope="module")
def photos():
    """Two views of the astronaut: the photo, and one with the mouth region pulled down (a second expression)."""
    import cv2

    image, lms = skimage.data.astronaut(), np.load(GOLDEN).astype(np.float32)
    opened = lms.copy()
    opened[[56, 57, 58, 65, 66, 67, 6, 7, 8, 9, 10]] += [0, 9]
    from talkinghead.nodes.warping.warp import warp_face as warp

    second = warp(image, lms, opened)
    return [image, second], np.stack([lms, opened]), cv2


def test_untrained_warp_generator_is_the_identity_on_the_warp():
    G = Generator(get_preset("tiny-64-warp"))
    y, warped = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    out = G(y, e_hat=torch.rand(2, 64), warped=warped)
    assert torch.equal(out, warped)
    out.sum().backward()
    assert G.out_conv.weight.grad.abs().sum().item() > 0  # it can learn a residual
    with pytest.raises(ValueError, match="warped"):
        G(y, e_hat=torch.rand(2, 64))
    with pytest.raises(ValueError, match="only taken by the warp"):
        Generator(get_preset("tiny-64"))(y, e_hat=torch.rand(2, 64), warped=warped)


def test_zero_steps_generate_the_warp_floor_and_fine_tuning_learns_a_residual(rt, photos, tmp_path):
    images, lms, _ = photos
    base = load_base(rt, preset="tiny-64-warp")
    identity = EmbedIdentity().run(rt, base=base, images=images, landmarks=lms)["identity"]
    cfg = FineTuneConfig(batch_size=2, objective=VARIANTS["full"])
    person0 = FineTune().run(rt, base=base, identity=identity, images=images, landmarks=lms, steps=0,
                             config=cfg)["person"]
    crops, crop_lms, _ = face_crops(images, lms, 64)
    np.testing.assert_array_equal(person0.source_crops.numpy(), crops)
    # a new pose between the two: the untrained person is exactly the warp of the nearest source
    target = (0.3 * crop_lms[0] + 0.7 * crop_lms[1])[None]
    G0 = person_generator(person0)
    with torch.no_grad():
        out = G0(sketch_to_tensor(draw_sketches(target, (64, 64))), G0.warper.tensor(target, "cpu"))
    expected = sketch_to_tensor(warp_face(crops[1], crop_lms[1], target[0])[None])
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)

    person = FineTune().run(rt, base=base, identity=identity, images=images, landmarks=lms, steps=20,
                            config=cfg)["person"]
    before, after = person.info["reconstruction_l1_before"], person.info["reconstruction_l1_after"]
    assert after != before and after < 1.1 * before, person.info  # it moved, and did not wreck the warp
    person.save(tmp_path / "p.safetensors")
    back = PersonModel.load(tmp_path / "p.safetensors")
    assert torch.equal(back.source_crops, person.source_crops) and back.config["g_warp"] is True
    G = person_generator(back)
    with torch.no_grad():
        moved = G(sketch_to_tensor(draw_sketches(target, (64, 64))), G.warper.tensor(target, "cpu"))
    assert not torch.equal(moved, out)  # the learned residual is used


def test_generate_frames_and_export_with_the_warp_variant(rt, photos, tmp_path):
    from talkinghead.nodes.export.person_export import export_person_onnx
    from talkinghead.nodes.generate import GenerateFrames
    from talkinghead.nodes.types import FaceTrack

    images, lms, _ = photos
    base = load_base(rt, preset="tiny-64-warp")
    identity = EmbedIdentity().run(rt, base=base, images=images, landmarks=lms)["identity"]
    with pytest.raises(UsageError, match="source crops"):
        feed_forward_person(base, identity)
    crops, crop_lms, _ = face_crops(images, lms, 64)
    person = feed_forward_person(base, identity, crops, crop_lms)
    n = 4
    track = FaceTrack(np.stack([lms[0] + [3 * i, 0] for i in range(n)]), np.zeros((n, 4)), np.ones(n, bool),
                      np.ones(n), (512, 512), np.arange(n), 25.0, "synthetic", "0", "drv")
    runs = [[f.crop for f in GenerateFrames().run(rt, person=person, driver=track, batch_size=2)["frames"]]
            for _ in range(2)]
    assert len(runs[0]) == n and all(np.array_equal(a, b) for a, b in zip(*runs))
    assert runs[0][0].std() > 10  # a face, not a flat image
    with pytest.raises(UsageError, match="warp-conditioned"):
        export_person_onnx(person, tmp_path / "p.onnx")
