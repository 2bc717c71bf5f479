"""E, G, D on tiny-64 (CPU): shapes, bad input, gradients, one optimiser step, spectral-norm removal."""
import dataclasses

import pytest
import torch
from talkinghead.nodes.networks.blocks import AdaIN, SelfAttention, adain, remove_spectral_norm
from talkinghead.nodes.networks.discriminator import Discriminator
from talkinghead.nodes.networks.embedder import Embedder
from talkinghead.nodes.networks.generator import Generator
from talkinghead.nodes.networks.losses import (
    adversarial_g_loss,
    embedding_match_loss,
    feature_matching_loss,
    hinge_d_loss,
)
from talkinghead.nodes.networks.presets import PRESETS, get_preset
from torch.nn.utils import parametrize

CFG = get_preset("tiny-64")


def _nets(seed=0, videos=3, train=True):
    """tiny-64 E, G, D; eval mode (train=False) freezes spectral norm's power iteration between calls."""
    torch.manual_seed(seed)
    return tuple(net.train(train) for net in (Embedder(CFG), Generator(CFG), Discriminator(CFG, videos)))


def _batch(b=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(b, 3, 64, 64, generator=g) * 2 - 1, torch.rand(b, 3, 64, 64, generator=g) * 2 - 1)


@pytest.mark.parametrize("name", ["tiny-64", "small-128"])
def test_shapes(name):
    cfg = PRESETS[name]
    E, G, D = Embedder(cfg).eval(), Generator(cfg).eval(), Discriminator(cfg, 5).eval()
    s = cfg.image_size
    x, y = torch.rand(2, 3, s, s) * 2 - 1, torch.rand(2, 3, s, s) * 2 - 1
    e = E(x, y)
    assert e.shape == (2, cfg.embed_dim) and (e >= 0).all()
    psi = G.project(e)
    assert psi.shape == (2, G.psi_dim)
    x_hat = G(y, e_hat=e)
    assert x_hat.shape == x.shape and x_hat.abs().max() <= 1
    assert torch.allclose(G(y, psi=psi), x_hat)
    score, feats = D(x_hat, y, torch.tensor([0, 4]))
    assert score.shape == (2,)
    assert len(feats) == cfg.num_down + 1  # one per residual block (incl. the extra 4x4 block)
    assert feats[-1].shape == (2, cfg.embed_dim, 4, 4)
    assert D.W.weight.shape == (5, cfg.embed_dim) and D.w0.shape == (cfg.embed_dim,) and D.b.shape == (1,)


def test_paper_256_builds():
    cfg = PRESETS["paper-256"]
    with torch.device("meta"):
        G = Generator(dataclasses.replace(cfg, spectral_norm=False))
    assert G.psi_dim == 13312  # 5 res blocks x 4 x 512 + up blocks + output AdaIN


def test_psi_broadcast_matches_repeated_psi():
    E, G, _ = _nets(train=False)
    x, y = _batch(3)
    psi = G.project(E(x[:1], y[:1]))  # (1, psi_dim), as fine-tuning's psi'
    assert torch.allclose(G(y, psi=psi), G(y, psi=psi.expand(3, -1)), atol=1e-6)


def test_discriminator_projection():
    """score = V^T (W_i + w0) + b; w replaces W_i + w0; neither gives w0 alone."""
    _, _, D = _nets(train=False)
    x, y = _batch()
    v, _ = D.features(x, y)
    i = torch.tensor([2, 1])
    score, _ = D(x, y, i)
    assert torch.allclose(score, (v * (D.W.weight[i] + D.w0)).sum(1) + D.b, atol=1e-5)
    w = torch.randn(2, CFG.embed_dim)
    assert torch.allclose(D(x, y, w=w)[0], (v * w).sum(1) + D.b, atol=1e-5)
    assert torch.allclose(D(x, y)[0], v @ D.w0 + D.b, atol=1e-5)


def test_bad_inputs_are_named():
    E, G, D = _nets()
    x, y = _batch()
    with pytest.raises(ValueError, match="E: x must be"):
        E(x[:, :1], y)
    with pytest.raises(ValueError, match="multiples of 8"):
        G(y[..., :60], e_hat=torch.zeros(2, CFG.embed_dim))
    with pytest.raises(ValueError, match="exactly one of e_hat and psi"):
        G(y)
    with pytest.raises(ValueError, match="psi must be"):
        G(y, psi=torch.zeros(2, G.psi_dim + 1))
    with pytest.raises(ValueError, match="i must be"):
        D(x, y, torch.tensor([0]))
    with pytest.raises(ValueError, match="psi must be"):
        adain(x, torch.zeros(2, 5))


def test_adain_sets_statistics():
    x = torch.randn(2, 4, 8, 8) * 3 + 5
    scale, bias = torch.randn(2, 4), torch.randn(2, 4)
    out = adain(x, torch.cat([scale, bias], 1))
    assert torch.equal(AdaIN(4)(x, torch.cat([scale, bias], 1)), out)
    assert torch.allclose(out.mean((2, 3)), bias, atol=1e-4)
    assert torch.allclose(out.std((2, 3), unbiased=False), (1 + scale).abs(), atol=1e-3)


def _meta_losses(E, G, D, x, y, i):
    """One meta-learning episode's losses (§3.2): G/E loss and D hinge loss."""
    e = E(x[:-1], y[:-1])
    e_hat = e.mean(0, keepdim=True)
    x_hat = G(y[-1:], e_hat=e_hat)
    fake, fake_feats = D(x_hat, y[-1:], i[-1:])
    _, real_feats = D(x[-1:], y[-1:], i[-1:])
    g_loss = ((x_hat - x[-1:]).abs().mean() + adversarial_g_loss(fake) + 10 * feature_matching_loss(real_feats, fake_feats)
              + 10 * embedding_match_loss(D.W(i[:-1]), e))
    real, _ = D(x[-1:], y[-1:], i[-1:])
    d_loss = hinge_d_loss(real, D(x_hat.detach(), y[-1:], i[-1:])[0])
    return g_loss, d_loss


def test_gradients_reach_every_parameter():
    E, G, D = _nets()
    for m in [*E.modules(), *G.modules(), *D.modules()]:
        if isinstance(m, SelfAttention):  # gamma starts at 0 (SAGAN), which blocks q/k/v gradients at init
            m.gamma.data.fill_(0.5)
    x, y = _batch(3)
    i = torch.tensor([1, 1, 1])
    g_loss, d_loss = _meta_losses(E, G, D, x, y, i)
    (g_loss + d_loss).backward()
    for prefix, net in (("E", E), ("G", G), ("D", D)):
        for name, p in net.named_parameters():
            if prefix == "D" and name == "W.weight":
                assert p.grad[1].abs().sum() > 0 and p.grad[[0, 2]].abs().sum() == 0
                continue
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{prefix}.{name}: no gradient"
            assert p.grad.abs().sum() > 0, f"{prefix}.{name}: zero gradient"


def test_one_step_changes_e_g_and_d():
    E, G, D = _nets()
    x, y = _batch(3)
    i = torch.tensor([0, 0, 0])
    before = {k: {n: p.detach().clone() for n, p in m.named_parameters()} for k, m in (("E", E), ("G", G), ("D", D))}
    opt_g = torch.optim.Adam([*E.parameters(), *G.parameters()], lr=5e-5)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4)
    g_loss, d_loss = _meta_losses(E, G, D, x, y, i)
    opt_g.zero_grad()
    opt_d.zero_grad()
    g_loss.backward(inputs=[*E.parameters(), *G.parameters(), D.W.weight])
    d_loss.backward(inputs=list(D.parameters()))
    opt_g.step()
    opt_d.step()
    for k, m in (("E", E), ("G", G), ("D", D)):
        changed = [n for n, p in m.named_parameters() if not torch.equal(p, before[k][n])]
        assert len(changed) > 0.8 * len(before[k]), f"{k}: only {len(changed)} of {len(before[k])} changed"
        assert any("conv" in n for n in changed)


def test_spectral_norm_on_and_removed_gives_identical_outputs():
    E, G, D = _nets()
    x, y = _batch()
    for net in (E, G, D):  # a few training-mode passes so u, v are not at their initial values
        net.train()
    for _ in range(3):
        _meta_losses(E, G, D, torch.cat([x, x[:1]]), torch.cat([y, y[:1]]), torch.tensor([0, 0, 0]))
    convs = [m for m in G.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert parametrize.is_parametrized(G.P, "weight")
    with torch.no_grad():
        for net in (E, G, D):
            net.eval()
        e = E(x, y)
        ref = (e, G(y, e_hat=e), D(x, y, torch.tensor([0, 1]))[0])
        for net in (E, G, D):  # removed in training mode: must still fold the stored u, v (no extra iteration)
            remove_spectral_norm(net.train())
            net.eval()
        e2 = E(x, y)
        out = (e2, G(y, e_hat=e2), D(x, y, torch.tensor([0, 1]))[0])
    assert not any(parametrize.is_parametrized(m) for net in (E, G, D) for m in net.modules())
    assert "P.weight" in G.state_dict()
    for a, b in zip(ref, out):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-5)
    assert E(x, y).requires_grad  # plain weights stay trainable after removal


def test_generator_with_folded_psi_exports_to_onnx(tmp_path):
    """After spectral-norm removal, G with a fixed psi' traces to ONNX (dynamic batch) and matches torch."""
    pytest.importorskip("onnxruntime", reason="onnxruntime checks the exported graph")
    from talkinghead.nodes.export.onnx_export import export_onnx

    _, G, _ = _nets(train=False)
    remove_spectral_norm(G)
    for m in G.modules():
        if isinstance(m, SelfAttention):
            m.gamma.data.fill_(0.3)  # make the attention paths count in the parity check
    psi = torch.nn.Parameter(G.project(torch.rand(1, CFG.embed_dim)).detach())

    class PersonG(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.G, self.psi = G, psi

        def forward(self, y):
            return self.G(y, psi=self.psi)

    report = export_onnx(PersonG().eval(), 64, tmp_path / "g.onnx")
    assert report["parity_max_abs_error"] < 1e-4


def test_paper_256_layout():
    """§3.4: no normalisation in E and D, instance norm in G's down path, AdaIN after it; self-attention at
    32x32 in every down path and at 64x64 in G's up path; D has one extra residual block at 4x4."""
    cfg = dataclasses.replace(PRESETS["paper-256"], spectral_norm=False)
    with torch.device("meta"):
        E, G, D = Embedder(cfg), Generator(cfg), Discriminator(cfg, 2)
        x = torch.empty(1, 3, 256, 256)
    seen = []
    for tag, net in (("E", E), ("G", G), ("D", D)):
        assert not any(isinstance(m, torch.nn.InstanceNorm2d) for m in (G.up if tag == "G" else net).modules())
        for m in net.modules():
            if isinstance(m, SelfAttention):
                m.register_forward_hook(lambda mod, inp, out, tag=tag: seen.append((tag, inp[0].shape[-1])))
    assert sum(isinstance(m, torch.nn.InstanceNorm2d) for m in G.down.modules()) == 2 * cfg.g_num_down
    with torch.device("meta"):
        E(x, x)
        G(x, e_hat=torch.empty(1, 512))
        _, feats = D(x, x, torch.tensor([1]))
    assert seen == [("E", 32), ("G", 32), ("G", 64), ("D", 32)]
    assert [f.shape[1:] for f in feats[-2:]] == [(512, 4, 4), (512, 4, 4)]
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512, 512, 512]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch deprecates TorchScript; Nuke still needs it
def test_generator_scripts_with_torchscript():
    """G (spectral norm removed, psi' folded) compiles with torch.jit.script (Nuke), at any valid size."""
    _, G, _ = _nets(train=False)
    remove_spectral_norm(G)
    for m in G.modules():
        if isinstance(m, SelfAttention):
            m.gamma.data.fill_(0.3)

    class PersonG(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.G, self.psi = G, torch.nn.Parameter(G.project(torch.rand(1, CFG.embed_dim)).detach())

        def forward(self, y):
            return self.G(y, psi=self.psi)

    eager = PersonG().eval()
    scripted = torch.jit.script(eager)
    with torch.no_grad():
        for size in (64, 96):
            y = torch.rand(2, 3, size, size) * 2 - 1
            assert torch.allclose(scripted(y), eager(y), atol=1e-5)
    with pytest.raises(Exception, match="multiples of 8"):
        scripted(torch.zeros(1, 3, 60, 60))
