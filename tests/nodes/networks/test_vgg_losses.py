"""VGG loading (torchvision and conv-named formats), Caffe preprocessing, ContentLoss term selection, GAN losses."""
import dataclasses
import logging

import pytest
import torch
import torch.nn.functional as F
from talkinghead.nodes.networks import vgg
from talkinghead.nodes.networks.losses import (
    ContentLoss,
    LossWeights,
    adversarial_g_loss,
    embedding_match_loss,
    feature_matching_loss,
    hinge_d_loss,
)
from talkinghead.runtime import weights as w
from talkinghead.runtime.errors import BadInputError, MissingWeightsError
from talkinghead.runtime.runtime import Runtime


def _torchvision_state(layout, seed=0):
    """Random state dict with torchvision's key names (features.N.*, plus classifier.* as in the real file)."""
    g = torch.Generator().manual_seed(seed)
    state, idx, c = {}, 0, 3
    for v in layout:
        if v == "M":
            idx += 1
            continue
        state[f"features.{idx}.weight"] = torch.randn(v, c, 3, 3, generator=g) * (2 / (9 * c)) ** 0.5
        state[f"features.{idx}.bias"] = torch.randn(v, generator=g) * 0.01
        idx, c = idx + 2, v
    state["classifier.0.weight"] = torch.zeros(4, 8)
    return state


@pytest.fixture()
def no_weights(tmp_path, monkeypatch):
    """An environment where no weights can be found (empty models folder and torch hub cache)."""
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


def test_vgg19_loads_torchvision_keys_from_safetensors(tmp_path):
    state = _torchvision_state(vgg.VGG19_LAYOUT)
    path = tmp_path / "vgg19.safetensors"
    w.save_safetensors(path, state, {"input_style": "caffe-vgg19"})
    net = vgg.build_vgg(path, "vgg19")
    assert net.style.name == "caffe-vgg19"
    assert torch.equal(net.features[28].weight, state["features.28.weight"])  # conv5_1
    assert len(net.features) == 30  # truncated after relu5_1 (index 29)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    feats = net(x)
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    first = F.relu(F.conv2d(net.style.apply(x), state["features.0.weight"], state["features.0.bias"], padding=1))
    assert torch.allclose(feats[0], first, atol=1e-4)
    assert all(not p.requires_grad for p in net.parameters())


def test_vggface_loads_conv_named_keys(tmp_path):
    tv = _torchvision_state(vgg.VGG16_LAYOUT, seed=3)
    names = [f"conv{b}_{c}" for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for c in range(1, n + 1)]
    convs = [k[:-len(".weight")] for k in tv if k.startswith("features.") and k.endswith(".weight")]
    named = {f"{n}.{kind}": tv[f"{c}.{kind}"] for n, c in zip(names, convs) for kind in ("weight", "bias")}
    path = tmp_path / "vggface.safetensors"
    w.save_safetensors(path, named)
    net = vgg.build_vgg(path, "vggface")
    assert net.style.name == "caffe-vggface" and net.layers == (1, 6, 11, 18, 25)
    assert torch.equal(net.features[24].weight, tv["features.24.weight"])  # conv5_1


def test_wrong_layout_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "vgg19.safetensors"
    w.save_safetensors(path, _torchvision_state(vgg.VGG16_LAYOUT))  # VGG16 where VGG19 is expected
    with pytest.raises(BadInputError, match="vgg19.safetensors.*(missing|shapes)"):
        vgg.build_vgg(path, "vgg19")


def test_torchvision_pth_is_read_only_after_its_digest_check(tmp_path, monkeypatch):
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(_torchvision_state(vgg.VGG19_LAYOUT), path)
    with pytest.raises(MissingWeightsError, match="does not match"):  # random file != torchvision's digest
        vgg.build_vgg(path, "vgg19")
    real_spec = w.get_spec("vgg19")
    monkeypatch.setattr(w, "get_spec", lambda name: dataclasses.replace(real_spec, sha256=w.sha256_file(path)))
    net = vgg.build_vgg(path, "vgg19")
    assert net.style.name == "torchvision"  # the registered file is torchvision's ImageNet model


def test_vggface_pth_without_a_digest_is_refused(tmp_path):
    path = tmp_path / "vggface.pth"
    torch.save(_torchvision_state(vgg.VGG16_LAYOUT), path)
    with pytest.raises(BadInputError, match="only .safetensors"):
        vgg.build_vgg(path, "vggface")


def test_caffe_preprocessing():
    """Caffe models: BGR order, 0..255, minus the BGR mean (VGG19: ImageNet; VGG-Face: its own)."""
    r, g, b = 0.2, 0.6, 1.0  # in 0..1
    x = torch.tensor([r, g, b]).view(1, 3, 1, 1).expand(1, 3, 2, 2) * 2 - 1
    out = vgg.INPUT_STYLES["caffe-vgg19"].apply(x)[0, :, 0, 0]
    assert torch.allclose(out, torch.tensor([b * 255 - 103.939, g * 255 - 116.779, r * 255 - 123.68]), atol=1e-3)
    out = vgg.INPUT_STYLES["caffe-vggface"].apply(x)[0, :, 0, 0]
    assert torch.allclose(out, torch.tensor([b * 255 - 93.5940, g * 255 - 104.7624, r * 255 - 129.1863]), atol=1e-3)
    out = vgg.INPUT_STYLES["torchvision"].apply(x)[0, :, 0, 0]
    expect = (torch.tensor([r, g, b]) - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(out, expect, atol=1e-5)


def test_missing_weights_skip_terms_and_say_so_once(no_weights, caplog):
    rt = Runtime(device="cpu")
    with caplog.at_level(logging.WARNING, logger="talkinghead"):
        first = ContentLoss(rt)
        ContentLoss(rt)
    assert first.active_terms == []
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("content loss L_CNT uses")]
    assert summary == ["content loss L_CNT uses: none (pixel losses only); skipped for lack of weights: VGG19, VGGFace"]
    assert sum("vggface weights not found" in r.getMessage() for r in caplog.records) == 1
    x = torch.zeros(1, 3, 16, 16, requires_grad=True)
    total, parts = first(x, torch.ones(1, 3, 16, 16))
    assert parts == {} and total.item() == 0


class _RecordingFaceLoss(torch.nn.Module):
    """Test double standing in for FaceFeatureLoss: mean |fake - real|, remembers the landmarks it got."""

    def forward(self, fake, real, landmarks):
        self.landmarks = landmarks
        return (fake - real).abs().mean()


def test_content_loss_terms_and_face_feature_stand_in(no_weights, caplog):
    state = _torchvision_state(vgg.VGG19_LAYOUT)
    path = no_weights / "vgg19.safetensors"
    w.save_safetensors(path, state, {"input_style": "caffe-vgg19"})
    rt = Runtime(device="cpu")
    face = _RecordingFaceLoss()
    weights = LossWeights(cnt_face=0.5)
    with caplog.at_level(logging.WARNING, logger="talkinghead"):
        loss = ContentLoss(rt, vgg19_path=path, face_feature_loss=face, weights=weights)
    assert loss.active_terms == ["vgg19", "face_resnet"]
    assert any("dlib face-feature loss replaces VGGFace" in r.getMessage() for r in caplog.records)
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    fake = (real + 0.3 * torch.randn_like(real)).clamp(-1, 1).requires_grad_()
    lm = torch.rand(2, 68, 2) * 32
    with pytest.raises(ValueError, match="needs landmarks"):
        loss(fake, real)
    total, parts = loss(fake, real, lm)
    assert set(parts) == {"cnt_vgg19", "cnt_face"} and parts["cnt_vgg19"] > 0
    assert torch.allclose(total, 0.15 * parts["cnt_vgg19"] + 0.5 * parts["cnt_face"])
    assert face.landmarks is lm
    total.backward()
    assert fake.grad.abs().sum() > 0
    zero, _ = loss(real, real, lm)
    assert zero.item() == pytest.approx(0.0, abs=1e-6)


def test_gan_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert hinge_d_loss(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert adversarial_g_loss(fake).item() == pytest.approx(1.0)
    r = [torch.ones(1, 2, 2, 2, requires_grad=True), torch.zeros(1, 3)]
    f = [torch.zeros(1, 2, 2, 2, requires_grad=True), torch.full((1, 3), 2.0)]
    fm = feature_matching_loss(r, f)
    assert fm.item() == pytest.approx(3.0)
    fm.backward()
    assert r[0].grad is None and f[0].grad is not None  # real activations are targets
    assert embedding_match_loss(torch.zeros(2, 4), torch.ones(2, 4)).item() == pytest.approx(1.0)
    assert LossWeights() == LossWeights(cnt_vgg19=0.15, cnt_vggface=0.025, fm=10, mch=10)


def test_content_loss_networks_are_loaded_once_per_runtime(no_weights):
    path = no_weights / "vgg19.safetensors"
    w.save_safetensors(path, _torchvision_state(vgg.VGG19_LAYOUT), {"input_style": "caffe-vgg19"})
    rt = Runtime(device="cpu")
    a, b = ContentLoss(rt, vgg19_path=path), ContentLoss(rt, vgg19_path=path)
    assert a.vgg19 is b.vgg19
    assert ContentLoss(rt, vgg19_path=path, vgg19_style="torchvision").vgg19 is not a.vgg19
