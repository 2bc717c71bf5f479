"""Meta-learning of E, G and D on episodes of K + 1 frames (Zakharov et al. 2019, §3.2).

Per step and episode of video i: e_hat = mean_k E(x_i(s_k), y_i(s_k)) over K source frames;
x_hat = G(y_i(t), psi = P e_hat) for the target frame t; then

- E, G (Adam, lr 5e-5): L_CNT + L_ADV (realism -D(x_hat, y, i) + 10 L_FM) [+ 10 L_MCH = |W_i - e_hat|_1
  in the FT variant, which makes W_i ~ e_hat so that fine-tuning may start from w' = w0 + e_hat];
- D (Adam, lr 2e-4): hinge loss with the projection W_i + w0 (real and fake in one forward pass);
- W_i: SparseAdam on the gathered row gradients (``table.py``), out of the dense optimizers.

``Objective`` (``objective.py``) supplies L_CNT/L_ADV (with the content networks present; offline the
dlib face ResNet stands in for VGGFace). Mixed precision through ``rt.precision`` (one GradScaler for
the iteration). With several processes (torchrun) E, G and D are wrapped in DDP; D is called through
its plain module in the E/G step (D frozen there), through DDP in its own step. The loop lives in
``loop.py``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from ...runtime.errors import UsageError
from ..networks.discriminator import Discriminator
from ..networks.embedder import Embedder
from ..networks.generator import Generator
from ..networks.losses import embedding_match_loss, hinge_d_loss
from ..networks.presets import NetworkConfig, get_preset
from .augment import NO_AUGMENT, AugmentConfig
from .dataset import Episode
from .memory import warm_parametrizations
from .objective import Objective
from .table import gather_rows, make_table_optimizer, table_step

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

VARIANTS = ("ft", "ff")


@dataclass(frozen=True)
class MetaConfig:
    """Settings of a meta-learning run (stored in its checkpoints).

    Attributes:
        preset: network preset (``presets.PRESETS``).
        k: source frames per episode (K; the paper's 8).
        batch_size: episodes per process and step.
        variant: "ft" (with L_MCH, the paper's fine-tuning model) or "ff" (feed-forward, without L_MCH).
        lr_eg, lr_d: Adam learning rates of E + G and of D (and W) (§3.4).
        betas: Adam betas.
        loss: ``objective.VARIANTS`` key: "paper" (L_CNT + L_ADV) or "full" (+ pixel L1, useful when
            VGG19 weights are absent and only the face network measures content).
        augment_video, augment_still: augmentation of video frames and of stills.
        video_fraction: share of episodes drawn from videos (None: uniform over sequences).
        seed: initialisation and sampling seed.
        checkpoint_every, sample_every, log_every: steps between checkpoints (+ base model), sample
            grids and JSONL lines (0: never, except at the end).
        grad_checkpointing: recompute blocks in backward (``memory.py``) to save activation memory.
    """

    preset: str = "small-128"
    k: int = 8
    batch_size: int = 2
    variant: str = "ft"
    lr_eg: float = 5e-5
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = "full"
    augment_video: AugmentConfig = NO_AUGMENT
    augment_still: AugmentConfig = field(default_factory=AugmentConfig)
    video_fraction: float | None = None
    seed: int = 0
    checkpoint_every: int = 500
    sample_every: int = 500
    log_every: int = 10
    grad_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise UsageError(f"unknown meta-learning variant {self.variant!r} (use {', '.join(VARIANTS)})")
        if self.k < 1 or self.batch_size < 1:
            raise UsageError("meta-learning needs K >= 1 and a batch size >= 1")
        if self.video_fraction is not None and not 0.0 <= self.video_fraction <= 1.0:
            raise UsageError("--video-fraction must lie in [0, 1]")
        get_preset(self.preset)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetaConfig:
        d = dict(d)
        for key in ("augment_video", "augment_still"):
            if isinstance(d.get(key), Mapping):
                d[key] = AugmentConfig(**d[key])
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)


@dataclass
class MetaState:
    """Everything a step changes: networks, optimizers, the loss scaler and the step count."""

    net: NetworkConfig
    E: Embedder
    G: Generator
    D: Discriminator
    opt_eg: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    opt_w: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    step: int = 0

    def modules(self) -> dict[str, nn.Module]:
        return {"E": self.E, "G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"eg": self.opt_eg, "d": self.opt_d, "w": self.opt_w}


def build_state(rt: Runtime, cfg: MetaConfig, num_videos: int) -> MetaState:
    """Fresh E, G, D (seeded by ``cfg.seed``; the global RNG is left as it was) and their optimizers."""
    net = get_preset(cfg.preset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        E, G, D = Embedder(net), Generator(net), Discriminator(net, max(1, num_videos), sparse=True)
    E, G, D = (m.to(rt.device).train() for m in (E, G, D))
    opt_w = make_table_optimizer(D, cfg.lr_d, cfg.betas)
    opt_eg = torch.optim.Adam([*E.parameters(), *G.parameters()], lr=cfg.lr_eg, betas=cfg.betas)
    opt_d = torch.optim.Adam([p for n, p in D.named_parameters() if not n.startswith("W.")], lr=cfg.lr_d,
                             betas=cfg.betas)
    if cfg.grad_checkpointing:
        from .memory import enable_checkpointing

        enable_checkpointing(E, G, D)
    return MetaState(net, E, G, D, opt_eg, opt_d, opt_w, rt.precision.scaler())


def _set_d_trainable(D: Discriminator, on: bool) -> None:
    for name, p in D.named_parameters():
        p.requires_grad_(on and not name.startswith("W."))


def generator_step(rt: Runtime, st: MetaState, nets: tuple, objective: Objective, ep: Episode, rows: torch.Tensor,
                   mch: bool) -> tuple[torch.Tensor, dict[str, float]]:
    """E/G update on L_CNT + L_ADV (+ 10 L_MCH); returns x_hat (B,3,S,S), detached, and the terms."""
    E, G, _ = nets
    b, k1 = ep.x.shape[:2]
    xs, ys = ep.x[:, :-1].flatten(0, 1), ep.y[:, :-1].flatten(0, 1)
    xt, yt, lt = ep.x[:, -1], ep.y[:, -1], ep.landmarks[:, -1]
    _set_d_trainable(st.D, False)
    adversarial = objective.cfg.adversarial
    with parametrize.cached():
        warm_parametrizations(st.E, st.G, st.D)
        with rt.precision.autocast():
            e_hat = E(xs, ys).float().view(b, k1 - 1, -1).mean(1)  # (B, N): e_hat_i
            x_hat = G(yt, e_hat=e_hat)
            w = (rows + st.D.w0).detach()  # D and W_i are fixed in this step
            loss, parts = objective.generator_loss(x_hat, xt, yt, lt, st.D if adversarial else None, {"w": w})
        if mch:
            l_mch = embedding_match_loss(rows, e_hat)
            loss = loss + objective.cfg.weights.mch * l_mch
            parts["mch"] = float(l_mch.detach())
        st.opt_eg.zero_grad(set_to_none=True)
        st.scaler.scale(loss).backward()
    st.scaler.step(st.opt_eg)
    parts["g"] = float(loss.detach())
    return x_hat.detach(), parts


def discriminator_step(rt: Runtime, st: MetaState, D: nn.Module, ep: Episode, x_hat: torch.Tensor,
                       rows: torch.Tensor) -> dict[str, float]:
    """D update on the hinge loss, real x_t and generated x_hat in one forward pass; W_i gets row grads."""
    b = ep.x.shape[0]
    xt, yt = ep.x[:, -1], ep.y[:, -1]
    _set_d_trainable(st.D, True)
    with parametrize.cached():
        warm_parametrizations(st.D)
        with rt.precision.autocast():
            w = rows + st.D.w0
            scores, _ = D(torch.cat([xt, x_hat.to(xt.dtype)]), torch.cat([yt, yt]), w=torch.cat([w, w]))
            real, fake = scores.float().split(b)
            loss = hinge_d_loss(real, fake)
        st.opt_d.zero_grad(set_to_none=True)
        st.scaler.scale(loss).backward()
    st.scaler.step(st.opt_d)
    return {"d": float(loss.detach()), "d_real": float(real.detach().mean()), "d_fake": float(fake.detach().mean())}


def meta_step(rt: Runtime, st: MetaState, objective: Objective, ep: Episode, cfg: MetaConfig,
              nets: tuple | None = None) -> dict[str, float]:
    """One meta-learning iteration on a batch of episodes (this rank's share under DDP).

    Args:
        rt: Runtime (device, precision).
        st: the training state (updated in place; ``st.step`` is not incremented here).
        objective: L_CNT / L_ADV terms.
        ep: Episode with x, y (B, K+1, 3, S, S), landmarks (B, K+1, 68, 2), i (B,), on ``rt.device``.
        cfg: the run's config (variant).
        nets: (E, G, D) callables, the DDP wrappers when distributed (default: the modules).
    Returns:
        the loss terms of this step ({"g", "mch", "adv", "fm", "l1", "cnt_*", "d", "d_real", "d_fake"}).
    """
    nets = nets or (st.E, st.G, st.D)
    rows = gather_rows(st.D, ep.i)  # (B, N) W_i
    x_hat, parts = generator_step(rt, st, nets, objective, ep, rows, cfg.variant == "ft")
    if objective.cfg.adversarial:
        parts.update(discriminator_step(rt, st, nets[2], ep, x_hat, rows))
    _set_d_trainable(st.D, True)
    table_step(st.D, st.opt_w, ep.i, rows, st.scaler.get_scale() if st.scaler.is_enabled() else 1.0)
    st.scaler.update()
    return parts
