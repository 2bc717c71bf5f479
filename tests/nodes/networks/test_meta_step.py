"""Meta-learning on one fixed episode (tiny-64, CPU): the generator loss falls over 30 steps (§3.2)."""
import pytest
import torch
import torch.nn.functional as F
from talkinghead.nodes.networks import vgg
from talkinghead.nodes.networks.discriminator import Discriminator
from talkinghead.nodes.networks.embedder import Embedder
from talkinghead.nodes.networks.generator import Generator
from talkinghead.nodes.networks.losses import (
    ContentLoss,
    LossWeights,
    adversarial_g_loss,
    embedding_match_loss,
    feature_matching_loss,
    hinge_d_loss,
)
from talkinghead.nodes.networks.presets import get_preset
from talkinghead.runtime import weights as w
from talkinghead.runtime.runtime import Runtime

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the test photo")


def _episode(k=2):
    """K+1 frames (1,3,64,64) of the astronaut's face with small shifts, and edge-map sketches of them."""
    img = torch.from_numpy(skimage_data.astronaut()[20:220, 140:340].copy()).permute(2, 0, 1)[None].float()
    frames = []
    for dx in range(k + 1):
        crop = img[..., 8:192, 8 + 6 * dx:192 + 6 * dx]
        frames.append(F.interpolate(crop, size=(64, 64), mode="area") / 127.5 - 1)
    x = torch.cat(frames)
    gray = x.mean(1, keepdim=True)
    edges = (gray[..., 1:, :-1] - gray[..., :-1, :-1]).abs() + (gray[..., :-1, 1:] - gray[..., :-1, :-1]).abs()
    y = F.pad((edges * 4).clamp(0, 1), (0, 1, 0, 1)).expand(-1, 3, -1, -1) * 2 - 1
    return x, y.contiguous()


def _random_vgg19(tmp_path):
    """A randomly initialised VGG19 in torchvision key format, loaded through the runtime's resolution."""
    g = torch.Generator().manual_seed(0)
    state, idx, c = {}, 0, 3
    for v in vgg.VGG19_LAYOUT:
        if v == "M":
            idx += 1
            continue
        state[f"features.{idx}.weight"] = torch.randn(v, c, 3, 3, generator=g) * (2 / (9 * c)) ** 0.5
        state[f"features.{idx}.bias"] = torch.zeros(v)
        idx, c = idx + 2, v
    path = tmp_path / "vgg19.safetensors"
    w.save_safetensors(path, state, {"input_style": "caffe-vgg19"})
    return path


def test_generator_loss_falls_on_a_fixed_episode(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(0)
    cfg = get_preset("tiny-64")
    E, G, D = Embedder(cfg), Generator(cfg), Discriminator(cfg, 1)
    cnt = ContentLoss(Runtime(device="cpu"), vgg19_path=_random_vgg19(tmp_path))
    assert cnt.active_terms == ["vgg19"]
    lw = LossWeights()
    x, y = _episode()
    i = torch.zeros(len(x), dtype=torch.long)
    opt_g = torch.optim.Adam([*E.parameters(), *G.parameters()], lr=5e-4)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4)
    history, recon = [], []
    for _ in range(30):
        e = E(x[:-1], y[:-1])
        x_hat = G(y[-1:], e_hat=e.mean(0, keepdim=True))
        fake, fake_feats = D(x_hat, y[-1:], i[-1:])
        _, real_feats = D(x[-1:], y[-1:], i[-1:])
        l_cnt, _ = cnt(x_hat, x[-1:])
        g_loss = (l_cnt + lw.adv * adversarial_g_loss(fake) + lw.fm * feature_matching_loss(real_feats, fake_feats)
                  + lw.mch * embedding_match_loss(D.W(i[:-1]), e))
        opt_g.zero_grad()
        g_loss.backward(inputs=[*E.parameters(), *G.parameters()])
        opt_g.step()
        d_loss = hinge_d_loss(D(x[-1:], y[-1:], i[-1:])[0], D(x_hat.detach(), y[-1:], i[-1:])[0])
        opt_d.zero_grad()
        (d_loss + lw.mch * embedding_match_loss(D.W(i[:-1]), e.detach())).backward()
        opt_d.step()
        history.append(g_loss.item())
        recon.append((l_cnt.item(), (x_hat - x[-1:]).abs().mean().item()))
    print("G loss", [round(h, 3) for h in history])
    print("cnt, L1", [tuple(round(v, 3) for v in r) for r in recon])
    first, last = sum(history[:3]) / 3, sum(history[-3:]) / 3
    assert last < 0.7 * first, f"generator loss did not fall: {first:.3f} -> {last:.3f}"
    assert recon[-1][0] < 0.7 * recon[0][0]  # content term
    assert recon[-1][1] < recon[0][1]  # and the pixels got closer to the frame
