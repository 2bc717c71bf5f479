"""The meta-learning step and run (§3.2) on tiny-64, CPU: shapes, gradients, updates, falling loss, resume."""
import json
import threading
from dataclasses import replace

import numpy as np
import pytest
import torch
from talkinghead.nodes.networks.blocks import SelfAttention
from talkinghead.nodes.training.dataset import EpisodeDataset
from talkinghead.nodes.training.loop import CHECKPOINT, SCALARS, base_path, train
from talkinghead.nodes.training.meta import MetaConfig, build_state, meta_step
from talkinghead.nodes.training.objective import VARIANTS, Objective
from talkinghead.nodes.training.samples import sample_grid
from talkinghead.runtime.errors import BadInputError, Interrupted, UsageError
from talkinghead.runtime.runtime import Runtime

CFG = MetaConfig(preset="tiny-64", k=2, batch_size=2, loss="l1+adv", log_every=1, checkpoint_every=0,
                 sample_every=0)


@pytest.fixture()
def rt():
    return Runtime(device="cpu", precision="32-true")


@pytest.fixture()
def data(tiny_dataset):
    return EpisodeDataset(tiny_dataset, 64)


@pytest.fixture()
def episode(data):
    return data.sample(np.random.default_rng(1), 2, CFG.k, i=np.array([0, 3]))  # a video and a still


def _open_attention(*nets):
    for m in (m for net in nets for m in net.modules()):
        if isinstance(m, SelfAttention):  # gamma starts at 0 (SAGAN), which blocks q/k/v gradients at init
            m.gamma.data.fill_(0.5)


def test_step_terms_and_sample_grid_shapes(rt, data, episode):
    st = build_state(rt, CFG, len(data))
    parts = meta_step(rt, st, Objective(rt, VARIANTS[CFG.loss]), episode, CFG)
    assert {"g", "l1", "adv", "fm", "mch", "d", "d_real", "d_fake"} <= set(parts)
    assert all(np.isfinite(v) for v in parts.values())
    grid = sample_grid(st.E, st.G, episode)
    assert grid.shape == (2 * 64, (CFG.k + 3) * 64, 3) and grid.dtype == np.uint8
    assert np.array_equal(grid[:64, -64:], ((episode.x[0, -1].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy())


def test_gradients_reach_every_parameter(rt, data, episode):
    st = build_state(rt, CFG, len(data))
    _open_attention(st.E, st.G, st.D)
    meta_step(rt, st, Objective(rt, VARIANTS[CFG.loss]), episode, CFG)
    for prefix, net in st.modules().items():
        for name, p in net.named_parameters():
            if name == "W.weight":
                rows = p.grad.to_dense().abs().sum(1)
                assert rows[[0, 3]].min() > 0 and rows.sum() == rows[[0, 3]].sum(), "W: gradient outside the batch rows"
                continue
            assert p.grad is not None and torch.isfinite(p.grad).all(), f"{prefix}.{name}: no gradient"
            if prefix == "D" and name == "b":  # hinge inside the margin: d/db = -mean[1] + mean[1] = 0 exactly
                continue
            assert p.grad.abs().sum() > 0, f"{prefix}.{name}: zero gradient"


def test_one_step_changes_E_G_D_and_only_the_batch_rows_of_W(rt, data, episode):
    st = build_state(rt, CFG, len(data))
    before = {k: {n: p.detach().clone() for n, p in m.named_parameters()} for k, m in st.modules().items()}
    meta_step(rt, st, Objective(rt, VARIANTS[CFG.loss]), episode, CFG)
    for key, module in st.modules().items():
        changed = [not torch.equal(p, before[key][n]) for n, p in module.named_parameters()]
        assert sum(changed) > 0.5 * len(changed), f"{key}: only {sum(changed)}/{len(changed)} tensors changed"
    moved = (st.D.W.weight - before["D"]["W.weight"]).abs().sum(1) > 0
    assert moved.tolist() == [i in (0, 3) for i in range(len(data))]


def test_ff_variant_has_no_match_loss(rt, data, episode):
    cfg = replace(CFG, variant="ff")
    st = build_state(rt, cfg, len(data))
    parts = meta_step(rt, st, Objective(rt, VARIANTS[cfg.loss]), episode, cfg)
    assert "mch" not in parts and "d" in parts
    with pytest.raises(UsageError):
        MetaConfig(variant="xx")


def test_mixed_precision_step_runs_through_the_runtime_precision(data, episode):
    rt = Runtime(device="cpu", precision="bf16-mixed")  # CPU autocast (bf16); fp16 + GradScaler is CUDA only
    assert rt.precision.mixed
    st = build_state(rt, CFG, len(data))
    before = st.G.out_conv.parametrizations.weight.original.detach().clone()
    parts = meta_step(rt, st, Objective(rt, VARIANTS[CFG.loss]), episode, CFG)
    assert all(np.isfinite(v) for v in parts.values())
    assert st.G.out_conv.parametrizations.weight.original.dtype == torch.float32  # master weights stay fp32
    assert not torch.equal(before, st.G.out_conv.parametrizations.weight.original)


def test_generator_loss_falls_over_30_steps_on_a_fixed_episode(rt, data, episode):
    cfg = replace(CFG, lr_eg=5e-4)
    st = build_state(rt, cfg, len(data))
    objective = Objective(rt, VARIANTS[cfg.loss])
    history = [meta_step(rt, st, objective, episode, cfg) for _ in range(30)]
    g = [h["g"] for h in history]
    print("G loss", [round(v, 3) for v in g])
    assert np.mean(g[-3:]) < 0.7 * np.mean(g[:3]), f"generator loss did not fall: {g[:3]} -> {g[-3:]}"
    assert history[-1]["l1"] < 0.8 * history[0]["l1"]  # the pixels got closer to the target
    assert history[-1]["mch"] < history[0]["mch"]  # W_i and e_hat moved together (L_MCH)


def test_gradient_checkpointing_gives_the_same_gradients_with_less_saved_memory(rt, data, episode):
    from talkinghead.nodes.training.memory import SavedTensorMeter

    grads, peaks = [], []
    for checkpointing in (False, True):
        cfg = replace(CFG, grad_checkpointing=checkpointing)
        st = build_state(rt, cfg, len(data))
        params = [p for m in st.modules().values() for p in m.parameters()]
        with SavedTensorMeter(exclude=params) as meter:
            meta_step(rt, st, Objective(rt, VARIANTS[cfg.loss]), episode, cfg)
        peaks.append(meter.peak)
        grads.append({f"{k}.{n}": p.grad for k, m in st.modules().items() for n, p in m.named_parameters()
                      if n != "W.weight"})
    for key, g in grads[0].items():
        assert torch.allclose(g, grads[1][key], rtol=1e-4, atol=1e-7), key
    assert peaks[1] < 0.6 * peaks[0], f"saved activations {peaks[0]} -> {peaks[1]} bytes"


class _StopAfter:
    """Progress reporter that sets ``event`` after ``n`` steps (as the SIGTERM handler would)."""

    def __init__(self, event, n):
        self.event, self.n, self.count = event, n, 0

    def __call__(self, total, desc):
        return self

    def update(self, n=1):
        self.count += n
        if self.count == self.n:
            self.event.set()

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _losses(run):
    lines = (run / SCALARS).read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "sec_per_step"} for line in lines]


def test_resume_after_interruption_reproduces_the_uninterrupted_run(rt, tiny_dataset, tmp_path):
    cfg = replace(CFG, sample_every=3, checkpoint_every=4)
    data = EpisodeDataset(tiny_dataset, 64)
    objective = Objective(rt, VARIANTS[cfg.loss])
    whole = train(rt, data, cfg, tmp_path / "a", 6, objective)
    stop = threading.Event()
    with pytest.raises(Interrupted):
        train(Runtime(device="cpu", progress=_StopAfter(stop, 3)), data, cfg, tmp_path / "b", 6, objective, stop=stop)
    assert len(_losses(tmp_path / "b")) == 3
    with pytest.raises(UsageError):  # an existing run is only continued on request
        train(rt, data, cfg, tmp_path / "b", 6, objective)
    resumed = train(rt, data, cfg, tmp_path / "b", 6, objective, resume=True)
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b") and len(_losses(tmp_path / "a")) == 6
    for key, module in whole.modules().items():
        other = resumed.modules()[key].state_dict()
        assert all(torch.equal(v, other[k]) for k, v in module.state_dict().items()), key
    assert sorted(p.name for p in (tmp_path / "b" / "samples").iterdir()) == ["step-0000003.png", "step-0000006.png"]


def test_run_writes_a_base_model_and_resumes_only_on_its_dataset(rt, tiny_dataset, tmp_path):
    from talkinghead.nodes.person import load_base

    cfg = replace(CFG, preset="tiny-64")
    data = EpisodeDataset(tiny_dataset, 64)
    st = train(rt, data, cfg, tmp_path / "run", 2, Objective(rt, VARIANTS[cfg.loss]))
    assert base_path(tmp_path / "run", "tiny-64").is_file() and (tmp_path / "run" / CHECKPOINT).is_file()
    base = load_base(Runtime(device="cpu"), "tiny-64", path=base_path(tmp_path / "run", "tiny-64"))
    assert base.meta_learned and base.info["step"] == 2 and base.crop == {"size": 64, "margin": 0.4}
    assert all(torch.equal(v, st.G.state_dict()[k]) for k, v in base.G.state_dict().items())
    other = tmp_path / "other"
    (other / "shards").mkdir(parents=True)
    for shard in (tiny_dataset / "shards").glob("vids*"):  # a dataset with other sequences
        (other / "shards" / shard.name).write_bytes(shard.read_bytes())
    from talkinghead.nodes.training.shards import write_index

    write_index(other)
    with pytest.raises(BadInputError, match="another dataset"):
        train(rt, EpisodeDataset(other, 64), cfg, tmp_path / "run", 4, Objective(rt, VARIANTS[cfg.loss]), resume=True)
