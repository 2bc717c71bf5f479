"""FineTune: few-shot fine-tuning of a base model on T photos of one person (Zakharov et al. 2019, §3.3).

psi' is initialised to psi_hat = P e_hat and w' to w0 + e_hat; G (without P, which is no longer
needed) with psi', and D with w', are trained on the T frames with the content and adversarial
losses (no L_MCH: there is no W_i). Geometric augmentation applied jointly to frame and landmarks
(``training.augment``) gives a single photo many views, which is what makes one-shot work.

Starting point: the base the caller passes (``person.load_base`` takes a meta-learned checkpoint when
one is present, else a seeded random initialisation, and says which). From a random base the
learning rates are raised (``FROM_SCRATCH_LR``): at the paper's 5e-5 a random G barely moves in the
few hundred steps a CPU allows. The choice is recorded in the PersonModel's ``info``.

Checkpoints (``checkpoint=PATH``) hold G, D, psi', w', both Adam states, the sampling RNG and the step,
written atomically every ``checkpoint_every`` steps and when the run is cancelled; ``resume=True``
continues from one and reproduces the uninterrupted run exactly (same device and thread count).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from ..runtime.errors import BadInputError, Interrupted, UsageError
from .base import Port
from .budget import DEFAULT_STEPS, Budget
from .training.augment import AugmentConfig
from .training.objective import Objective, ObjectiveConfig
from .types import Identity, PersonModel

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

PAPER_LR = (5e-5, 2e-4)  # G (and psi'), D (and w'): §3.4
FROM_SCRATCH_LR = (2e-4, 4e-4)
ADAM_BETAS = (0.5, 0.999)


@dataclass(frozen=True)
class FineTuneConfig:
    """Fine-tuning settings.

    Attributes:
        budget: how long it runs (``Budget``).
        batch_size: frames per step (sampled with replacement from the T augmented photos).
        lr_g, lr_d: Adam learning rates (None: the paper's for a meta-learned base, ``FROM_SCRATCH_LR``
            for a random one).
        objective: loss terms (default: the paper's L_CNT + L_ADV, plus pixel L1 with weight 1).
        augment: geometric augmentation ranges.
        seed: sampling / augmentation seed.
        checkpoint_every: steps between checkpoints (0: only when cancelled), when a path is given.
    """

    budget: Budget = field(default_factory=Budget)
    batch_size: int = 4
    lr_g: float | None = None
    lr_d: float | None = None
    objective: ObjectiveConfig = field(default_factory=lambda: ObjectiveConfig(l1=1.0))
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    checkpoint_every: int = 0


@dataclass
class _Run:
    """The trainable state of one fine-tuning run."""

    G: Any
    D: Any
    psi: torch.nn.Parameter
    w: torch.nn.Parameter
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    rng: np.random.Generator
    step: int = 0
    history: list = field(default_factory=list)

    def modules(self) -> dict:
        return {"G": self.G, "D": self.D, "psi": self.psi, "w": self.w}

    def optimizers(self) -> dict:
        return {"g": self.opt_g, "d": self.opt_d}


def _start(base: Any, identity: Identity, cfg: FineTuneConfig, device: torch.device) -> tuple[_Run, tuple]:
    G = copy.deepcopy(base.G).to(device).train()
    D = copy.deepcopy(base.D).to(device).train()
    e_hat = torch.as_tensor(np.asarray(identity.e_hat, np.float32), device=device).reshape(1, -1)
    if e_hat.shape[1] != base.cfg.embed_dim:
        raise UsageError(f"the Identity's e_hat has {e_hat.shape[1]} entries; the base expects {base.cfg.embed_dim}")
    with torch.no_grad():
        psi = torch.nn.Parameter(G.project(e_hat).detach().clone())  # psi' <- P e_hat
        w = torch.nn.Parameter((D.w0.detach() + e_hat[0]).clone())  # w' <- w0 + e_hat
    G.P.requires_grad_(False)
    D.W.requires_grad_(False)
    default = PAPER_LR if base.meta_learned else FROM_SCRATCH_LR
    lr = (cfg.lr_g or default[0], cfg.lr_d or default[1])
    g_params = [p for n, p in G.named_parameters() if not n.startswith("P.")] + [psi]
    d_params = [p for n, p in D.named_parameters() if not n.startswith("W.")] + [w]
    run = _Run(G, D, psi, w, torch.optim.Adam(g_params, lr[0], betas=ADAM_BETAS),
               torch.optim.Adam(d_params, lr[1], betas=ADAM_BETAS), np.random.default_rng(cfg.seed))
    return run, lr


@dataclass
class Photos:
    """The T source photos prepared once: originals, landmarks, crop matrices, un-augmented crops.

    Attributes:
        images: T uint8 RGB images; landmarks: (T, 68, 2) in their px; matrices: (T, 2, 3) image -> crop px.
        crops: (T, S, S, 3) uint8; crop_lms: (T, 68, 2) float32 in crop px.
        warper: the nearest-source warp for the warp-conditioned variant, else None.
    """

    images: list
    landmarks: np.ndarray
    matrices: np.ndarray
    crops: np.ndarray
    crop_lms: np.ndarray
    warper: Any = None

    @property
    def size(self) -> int:
        return int(self.crops.shape[1])


def prepare_photos(base: Any, images: Sequence[np.ndarray], landmarks: np.ndarray, names: Sequence[str] | None,
                   crop_matrices: np.ndarray | None = None) -> Photos:
    """Crop the photos as the base was trained (or with the given (T, 2, 3) ``crop_matrices``)."""
    from .embedding import check_images
    from .sketch import crop_image, face_crops, transform_landmarks

    images, names = check_images(images, names)
    crop = base.crop
    size = crop["size"]
    crops, crop_lms, matrices = face_crops(images, landmarks, size, crop["margin"], names)
    if crop_matrices is not None:
        matrices = np.asarray(crop_matrices, np.float64)
        if matrices.shape != (len(images), 2, 3):
            raise UsageError(f"crop_matrices must be ({len(images)}, 2, 3), got {matrices.shape}")
        crops = np.stack([crop_image(im, m, size) for im, m in zip(images, matrices)])
        crop_lms = np.stack([transform_landmarks(np.asarray(p, np.float32), m) for p, m in zip(landmarks, matrices)])
    warper = None
    if base.cfg.g_warp:
        from .warping.source_warp import SourceWarper

        warper = SourceWarper(crops, crop_lms)
    return Photos(images, np.asarray(landmarks, np.float32), matrices, crops, crop_lms.astype(np.float32), warper)


def sample_batch(rng: np.random.Generator, photos: Photos, batch: int, cfg_aug: AugmentConfig,
                 device: torch.device) -> tuple[torch.Tensor, ...]:
    """B augmented views drawn with replacement.

    Returns:
        x (B,3,S,S), y (B,3,S,S) in [-1,1], landmarks (B,68,2) crop px, and for the warp variant the
        OTHER sources warped to each view's landmarks (B,3,S,S; ``SourceWarper``), else None.
    """
    from .sketch import draw_sketches, sketch_to_tensor
    from .training.augment import apply_augment, random_crop_transform
    from .warping.region_warp import composite_warp

    crops, lms, warped = [], [], []
    index = rng.integers(0, len(photos.images), batch)
    for k in index:
        aug, flip = random_crop_transform(rng, photos.size, cfg_aug)
        crop, points = apply_augment(photos.images[k], photos.landmarks[k], photos.matrices[k], photos.size, aug, flip)
        crops.append(crop)
        lms.append(points)
        if photos.warper is not None:  # the other sources (base + regions), seen through the same augmentation
            layers = [(*apply_augment(photos.images[j], photos.landmarks[j], photos.matrices[j], photos.size, aug,
                                      flip), region) for j, region in photos.warper.layers(points, exclude=int(k))]
            warped.append(composite_warp(layers, points))
    lms = np.stack(lms)
    x = sketch_to_tensor(np.stack(crops)).to(device)
    y = sketch_to_tensor(draw_sketches(lms, (photos.size, photos.size))).to(device)
    w = sketch_to_tensor(np.stack(warped)).to(device) if warped else None
    return x, y, torch.from_numpy(lms).to(device), w


def train_step(rt: Runtime, run: _Run, objective: Objective, batch: tuple, scalers: tuple) -> dict[str, float]:
    """One G step then (with the adversarial term) one D step on ``sample_batch``'s output; the logged terms."""
    x, y, lms, warped = batch
    run.D.requires_grad_(False)
    with rt.precision.autocast():
        x_hat = run.G(y, psi=run.psi, warped=warped)
        g_loss, parts = objective.generator_loss(x_hat, x, y, lms, run.D, {"w": run.w.detach()[None]})
    run.opt_g.zero_grad(set_to_none=True)
    scalers[0].scale(g_loss).backward()
    scalers[0].step(run.opt_g)
    scalers[0].update()
    parts["g"] = float(g_loss.detach())
    if objective.cfg.adversarial:
        for n, p in run.D.named_parameters():
            p.requires_grad_(not n.startswith("W."))
        with rt.precision.autocast():
            d_loss, d_parts = objective.discriminator_loss(x_hat, x, y, run.D, {"w": run.w[None]})
        run.opt_d.zero_grad(set_to_none=True)
        scalers[1].scale(d_loss).backward()
        scalers[1].step(run.opt_d)
        scalers[1].update()
        parts.update(d_parts)
    return parts


def reconstruction_error(rt: Runtime, G: Any, psi: torch.Tensor, photos: Photos) -> float:
    """Mean |G(y_k; psi) - x_k| over the un-augmented source crops (0..2 scale): the fit to the T photos
    (warp variant: each from the other sources, as SourceWarper composes them)."""
    from .sketch import draw_sketches, sketch_to_tensor

    x = sketch_to_tensor(photos.crops).to(rt.device)
    y = sketch_to_tensor(draw_sketches(photos.crop_lms, (photos.size, photos.size))).to(rt.device)
    warped = None
    if photos.warper is not None:
        warped = photos.warper.tensor(photos.crop_lms, rt.device, exclude=np.arange(len(photos.crops)))
    was_training = G.training
    G.eval()
    with torch.no_grad(), rt.precision.autocast():
        err = float((G(y, psi=psi, warped=warped).float() - x).abs().mean())
    G.train(was_training)
    return err


def _save(path: Path | None, run: _Run, meta: dict) -> None:
    if path is not None:
        from .training.checkpoint import save_state

        save_state(path, run.modules(), run.optimizers(), {**meta, "step": run.step, "history": run.history},
                   {"sample": run.rng})


def _resume(rt: Runtime, run: _Run, checkpoint: Path, identity: Identity) -> None:
    from .training.checkpoint import load_state

    meta = load_state(checkpoint, run.modules(), run.optimizers(), {"sample": run.rng})
    if meta.get("identity") != identity.source_digests:
        raise BadInputError("this checkpoint was made from other source photos; remove it or pass "
                            "the same photos", checkpoint)
    run.step, run.history = int(meta["step"]), list(meta.get("history", []))
    rt.say_once(f"resume:{checkpoint}", f"fine-tuning resumes from {checkpoint} at step {run.step}", level=20)


def _loop(rt: Runtime, run: _Run, objective: Objective, photos: Photos, cfg: FineTuneConfig,
          checkpoint: Path | None, meta: dict) -> dict[str, float]:
    """Optimise until the budget's steps or time box; checkpoint every N steps and when cancelled."""
    steps, max_seconds = cfg.budget.step_limit, cfg.budget.max_seconds
    scalers = (rt.precision.scaler(), rt.precision.scaler())
    start, last = time.monotonic(), {}
    try:
        with rt.progress(steps, "fine-tune") as bar:
            while steps is None or run.step < steps:
                if max_seconds is not None and time.monotonic() - start >= max_seconds:
                    break
                rt.check_cancelled()
                batch = sample_batch(run.rng, photos, cfg.batch_size, cfg.augment, rt.device)
                last = train_step(rt, run, objective, batch, scalers)
                run.step += 1
                if run.step == 1 or run.step % 10 == 0:
                    run.history.append({"step": run.step, **{k: round(v, 5) for k, v in last.items()}})
                if cfg.checkpoint_every and run.step % cfg.checkpoint_every == 0:
                    _save(checkpoint, run, meta)
                bar.update(1)
    except Interrupted:
        _save(checkpoint, run, meta)
        raise
    return last


def fine_tune(rt: Runtime, base: Any, identity: Identity, images: Sequence[np.ndarray], landmarks: np.ndarray,
              cfg: FineTuneConfig = FineTuneConfig(), names: Sequence[str] | None = None,
              checkpoint: str | Path | None = None, resume: bool = False,
              crop_matrices: np.ndarray | None = None) -> PersonModel:
    """Fine-tune ``base`` on T photos (``images`` uint8 RGB, ``landmarks`` (T, 68, 2) in their px) -> PersonModel.

    ``crop_matrices`` (T, 2, 3), image px -> crop px: use these crops instead of each photo's own
    face-centred crop (the evaluation trains and generates in one fixed crop per clip).
    """
    photos = prepare_photos(base, images, landmarks, names, crop_matrices)
    if cfg.batch_size < 1:
        raise UsageError(f"fine-tuning needs a batch size >= 1, got {cfg.batch_size}")
    objective = Objective(rt, cfg.objective)
    run, lr = _start(base, identity, cfg, rt.device)
    checkpoint = Path(checkpoint) if checkpoint else None
    if resume and checkpoint is not None and checkpoint.is_file():
        _resume(rt, run, checkpoint, identity)
    before = reconstruction_error(rt, run.G, run.psi, photos)
    meta = {"identity": identity.source_digests}
    start = time.monotonic()
    last = _loop(rt, run, objective, photos, cfg, checkpoint, meta)
    seconds = time.monotonic() - start
    after = reconstruction_error(rt, run.G, run.psi, photos)
    _save(checkpoint, run, meta)
    info = {"kind": "fine-tuned", "base_model": base.model_id, "base_origin": base.origin,
            "meta_learned_base": base.meta_learned, "steps": run.step, "seconds": round(seconds, 2),
            "T": len(photos.images), "batch_size": cfg.batch_size, "lr_g": lr[0], "lr_d": lr[1],
            "loss_terms": objective.terms, "objective": cfg.objective.to_dict(), "augment": cfg.augment.to_dict(),
            "reconstruction_l1_before": round(before, 5), "reconstruction_l1_after": round(after, 5),
            "last": {k: round(v, 5) for k, v in last.items()}, "history": run.history, "crop": base.crop}
    G = copy.deepcopy(run.G).eval()
    return PersonModel(config=base.cfg.to_dict(), generator={k: v.detach().cpu() for k, v in G.state_dict().items()},
                       psi=run.psi.detach().cpu().clone(), identity=identity,
                       discriminator={k: v.detach().cpu() for k, v in run.D.state_dict().items()
                                      if not k.startswith("W.")},
                       w=run.w.detach().cpu().clone(), info=info, source_crops=torch.from_numpy(photos.crops.copy()),
                       source_crop_landmarks=torch.from_numpy(photos.crop_lms.copy()))


class FineTune:
    """Node: base model + Identity + the T photos (+ landmarks) -> {"person": PersonModel}.

    ``run(rt, base, identity, images, landmarks=None, steps=None, max_seconds=None, names=None,
    checkpoint=None, resume=False, config=None)``; ``landmarks`` default to the Identity's source
    landmarks when the photos are the ones it was embedded from.
    """

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("base", object, doc="the base model (LoadBase)"),
        Port("identity", Identity, doc="the person's Identity (EmbedIdentity)"),
        Port("images", (list, tuple, np.ndarray), doc="the T photos to fine-tune on, uint8 RGB"),
        Port("landmarks", np.ndarray, None, "(T, 68, 2) landmarks (default: the Identity's, for its own photos)"),
        Port("steps", int, None, f"optimisation steps (default {DEFAULT_STEPS}, or the time box)", min=0),
        Port("max_seconds", (int, float), None, "time box in seconds (default: none)", min=0),
        Port("names", (list, tuple), None, "a name per photo, for messages"),
        Port("checkpoint", (str, Path), None, "resumable training state file", path=True),
        Port("resume", bool, False, "continue from the checkpoint when present"),
        Port("config", FineTuneConfig, None, "batch size, learning rates, losses, augmentation, seed"))
    outputs: ClassVar[tuple[Port, ...]] = (Port("person", PersonModel),)
    models: ClassVar[tuple[str, ...]] = ("base-small-128", "base-paper-256", "vgg19", "vggface", "dlib-face-resnet")

    def run(self, rt: Runtime, base: Any, identity: Identity, images: Sequence[np.ndarray],
            landmarks: np.ndarray | None = None, steps: int | None = None, max_seconds: float | None = None,
            names: Sequence[str] | None = None, checkpoint: str | Path | None = None, resume: bool = False,
            config: FineTuneConfig | None = None) -> dict[str, PersonModel]:
        if landmarks is None:
            if len(images) != identity.k:
                raise UsageError("FineTune: give landmarks for photos that are not the Identity's own sources")
            landmarks = identity.source_landmarks
        cfg = config or FineTuneConfig()
        if steps is not None or max_seconds is not None:
            cfg = replace(cfg, budget=Budget(steps, max_seconds))
        person = fine_tune(rt, base, identity, images, np.asarray(landmarks, np.float32), cfg, names,
                           checkpoint, resume)
        rt.say_once(f"finetuned:{id(person)}", f"fine-tuned {person.info['steps']} steps in "
                    f"{person.info['seconds']:.0f} s from {base.origin}; reconstruction L1 "
                    f"{person.info['reconstruction_l1_before']:.3f} -> {person.info['reconstruction_l1_after']:.3f}",
                    level=20)
        return {"person": person}
