"""Base models (E, G, D after meta-learning, §3.2) and person generators (G with psi' bound, §3.3).

A *base model* file (``talkinghead-<preset>.safetensors``, written by ``talkinghead train`` or
``save_base``) holds E, G and D (without the per-video table W: fine-tuning starts from w0) and the
network config as JSON, so one file rebuilds the networks. ``load_base`` takes the best base present:
an explicit file, else the meta-learned ``base-<preset>`` found by the runtime's weight resolution,
else a seeded random initialisation (so everything works offline); ``BaseModel.origin`` says which.

A *person generator* is G(y; psi') with psi' folded in as a buffer and spectral norm removed: a plain
image-to-image module ``(B, 3, S, S) sketch -> (B, 3, S, S) RGB``, both in [-1, 1], that the torch and
ONNX backends, the exports and the benchmarks share.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ..runtime.errors import BadInputError, MissingWeightsError, UsageError
from .networks.blocks import remove_spectral_norm
from .networks.discriminator import Discriminator
from .networks.embedder import Embedder
from .networks.generator import Generator
from .networks.presets import DEFAULT_PRESET, NetworkConfig, get_preset
from .types import Identity, PersonModel

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

BASE_FORMAT = "talkinghead.base/1"
DEFAULT_MARGIN = 0.4  # sketch.face_crop_matrix's default: the crop used in training and generation
RANDOM_SEED = 0


@dataclass
class BaseModel:
    """E, G and D of one preset, on the runtime's device, with where they came from.

    Attributes:
        cfg: the network config.
        E, G, D: embedder, generator, discriminator (D has a 1-row W: fine-tuning uses w' = w0 + e_hat).
        origin: human-readable provenance ("meta-learned checkpoint PATH (...)" or "random initialisation ...").
        model_id: short id recorded in Identity/PersonModel files (file name + sha256 prefix, or random-<preset>).
        meta_learned: False for the random initialisation.
        info: metadata stored with the checkpoint (training steps, data, losses ...).
    """

    cfg: NetworkConfig
    E: Embedder
    G: Generator
    D: Discriminator
    origin: str
    model_id: str
    meta_learned: bool
    info: dict

    @property
    def crop(self) -> dict:
        """The crop the base was trained on: {"size": S, "margin": m}."""
        crop = dict(self.info.get("crop") or {})
        return {"size": int(crop.get("size", self.cfg.image_size)), "margin": float(crop.get("margin", DEFAULT_MARGIN))}


def _split(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def base_tensors(E: nn.Module, G: nn.Module, D: nn.Module) -> dict[str, torch.Tensor]:
    """``E.*``, ``G.*``, ``D.*`` state (D without its per-video table W)."""
    tensors = {f"E.{k}": v for k, v in E.state_dict().items()}
    tensors.update({f"G.{k}": v for k, v in G.state_dict().items()})
    tensors.update({f"D.{k}": v for k, v in D.state_dict().items() if not k.startswith("W.")})
    return tensors


def save_base(path: str | os.PathLike, cfg: NetworkConfig, E: nn.Module, G: nn.Module, D: nn.Module,
              info: dict | None = None) -> None:
    """Write a base model file atomically (safetensors + JSON config; never a pickle)."""
    from ..runtime.weights import save_safetensors

    save_safetensors(path, base_tensors(E, G, D), {"format": BASE_FORMAT, "config": cfg.to_dict(),
                                                   "info": dict(info or {})})


def build_networks(cfg: NetworkConfig, num_videos: int = 1) -> tuple[Embedder, Generator, Discriminator]:
    """Fresh E, G, D for ``cfg`` (initialised from torch's current RNG)."""
    return Embedder(cfg), Generator(cfg), Discriminator(cfg, max(1, num_videos))


def _load_strict(module: nn.Module, state: dict[str, torch.Tensor], name: str, path: Path) -> None:
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("W.")]
    if missing or unexpected:
        raise BadInputError(f"{name} weights do not match the stored config (missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]})", path)


def read_base(path: str | os.PathLike, device: torch.device | str = "cpu") -> BaseModel:
    """Rebuild a BaseModel from a file written by ``save_base`` (or a trainer checkpoint's base part)."""
    from ..runtime.weights import load_safetensors, sha256_file

    path = Path(path)
    tensors, meta = load_safetensors(path)
    if meta.get("format") != BASE_FORMAT:
        raise BadInputError(f"not a talkinghead base model (format {meta.get('format')!r})", path)
    try:
        cfg = NetworkConfig.from_dict(meta["config"])
    except (KeyError, ValueError, TypeError) as exc:
        raise BadInputError(f"bad network config in the base model ({exc})", path) from exc
    E, G, D = build_networks(cfg)
    for name, module in (("E", E), ("G", G), ("D", D)):
        _load_strict(module, _split(tensors, f"{name}."), name, path)
    info = dict(meta.get("info") or {})
    model_id = f"{path.name}:{sha256_file(path)[:12]}"
    steps = info.get("step")
    origin = f"meta-learned checkpoint {path}" + (f" ({steps} steps)" if steps is not None else "")
    return BaseModel(cfg, E.to(device), G.to(device), D.to(device), origin, model_id, True, info)


def random_base(cfg: NetworkConfig, device: torch.device | str = "cpu", seed: int = RANDOM_SEED,
                reason: str = "") -> BaseModel:
    """A seeded random initialisation of ``cfg`` (deterministic; the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        E, G, D = build_networks(cfg)
    origin = f"random initialisation of {cfg.name} (seed {seed})" + (f": {reason}" if reason else "")
    return BaseModel(cfg, E.to(device), G.to(device), D.to(device), origin, f"random-{cfg.name}-seed{seed}",
                     False, {"crop": {"size": cfg.image_size, "margin": DEFAULT_MARGIN}})


def meta_learned_base_present(rt: Runtime, preset: str = DEFAULT_PRESET, path: str | os.PathLike | None = None
                              ) -> bool:
    """Is there a meta-learned base for ``preset`` (an explicit ``path``, or ``base-<preset>`` found through the
    runtime's weight resolution), without loading it?"""
    from ..runtime.weights import get_spec

    if path is not None:
        return True
    try:
        get_spec(f"base-{preset}")
        rt.resolve(f"base-{preset}", check_hash=False)
    except MissingWeightsError:
        return False
    return True


def load_base(rt: Runtime, preset: str = DEFAULT_PRESET, path: str | os.PathLike | None = None) -> BaseModel:
    """The best base model present for ``preset``, cached in the runtime.

    Order: ``path`` (an explicit file: it must exist), then ``base-<preset>`` through the runtime's
    weight resolution, then the seeded random initialisation (said once, with every place looked at).
    The returned modules are shared through the runtime's cache: callers that train must copy them.
    """
    from ..runtime.weights import get_spec

    if path is not None:
        resolved = Path(path)
        if not resolved.is_file():
            raise MissingWeightsError(f"{resolved}: base model file does not exist")
    else:
        cfg = get_preset(preset)
        spec_name = f"base-{preset}"
        try:
            get_spec(spec_name)
        except MissingWeightsError:
            reason = f"preset {preset} has no base-model file (a test preset)"
            return rt.load_cached(("base", preset, "random"), lambda: random_base(cfg, rt.device, reason=reason))
        try:
            resolved = rt.resolve(spec_name, check_hash=False)
        except MissingWeightsError as exc:
            reason = f"no meta-learned {spec_name} found"
            places = [line.strip() for line in str(exc).splitlines()[1:] if line.startswith("  ")]
            rt.say_once(f"base-random:{preset}", f"base model {preset}: {reason} (looked in {', '.join(places)}); "
                        "using a seeded random initialisation (train one with `talkinghead train`)")
            return rt.load_cached(("base", preset, "random"), lambda: random_base(cfg, rt.device, reason=reason))
    stat = resolved.stat()
    base = rt.load_cached(("base", str(resolved.resolve()), stat.st_mtime_ns, stat.st_size),
                          lambda: read_base(resolved, rt.device))
    if path is None and base.cfg.name != preset:
        raise BadInputError(f"holds preset {base.cfg.name!r}, expected {preset!r}", resolved)
    return base


def feed_forward_person(base: BaseModel, identity: Identity, source_crops: np.ndarray | None = None,
                        source_crop_landmarks: np.ndarray | None = None) -> PersonModel:
    """The feed-forward person (no fine-tuning, §3.1): psi = P e_hat, w = w0 + e_hat, base G and D.

    The warp-conditioned variant also needs the source crops (T, S, S, 3) uint8 and their (T, 68, 2)
    crop landmarks (``sketch.face_crops`` of the photos the Identity was embedded from).
    """
    if base.cfg.g_warp and source_crops is None:
        raise UsageError(f"the warp-conditioned base {base.model_id} needs the source crops to generate "
                         "(feed_forward_person(..., source_crops, source_crop_landmarks))")
    dim = base.cfg.embed_dim
    e_hat = torch.as_tensor(np.asarray(identity.e_hat, np.float32)).reshape(-1)
    if e_hat.numel() != dim:
        raise UsageError(f"the Identity's e_hat has {e_hat.numel()} entries; base {base.model_id} expects {dim}")
    device = next(base.G.parameters()).device
    with torch.no_grad():
        psi = base.G.project(e_hat[None].to(device)).cpu()
        w = (base.D.w0.detach().cpu() + e_hat)
    state = {k: v.detach().cpu().clone() for k, v in base.G.state_dict().items()}
    d_state = {k: v.detach().cpu().clone() for k, v in base.D.state_dict().items() if not k.startswith("W.")}
    info = {"base_model": base.model_id, "base_origin": base.origin, "kind": "feed-forward", "steps": 0,
            "crop": base.crop}
    sources = {}
    if source_crops is not None:
        sources = {"source_crops": torch.from_numpy(np.ascontiguousarray(source_crops, np.uint8)),
                   "source_crop_landmarks": torch.from_numpy(np.asarray(source_crop_landmarks, np.float32))}
    return PersonModel(config=base.cfg.to_dict(), generator=state, psi=psi, identity=identity,
                       discriminator=d_state, w=w, info=info, **sources)


class PersonGenerator(nn.Module):
    """G(y; psi') with psi' bound as a buffer: (B, 3, S, S) sketch in [-1, 1] -> (B, 3, S, S) RGB in [-1, 1].

    The warp-conditioned variant takes the warped source (B, 3, S, S) as a second input; its ``warper``
    (``source_warp.SourceWarper``, a plain attribute) makes it from target landmarks in crop px.
    """

    def __init__(self, G: Generator, psi: torch.Tensor, warper: Any = None):
        super().__init__()
        self.G = G
        self.register_buffer("psi", psi.detach().reshape(1, -1).float().clone())
        self.warper = warper

    def forward(self, y: torch.Tensor, warped: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(y, psi=self.psi.to(y.dtype), warped=warped)


def check_state_shapes(module: nn.Module, state: dict[str, torch.Tensor], prefix: str,
                       where: str | os.PathLike | None) -> None:
    """BadInputError naming the file and the first tensor of ``state`` missing, unexpected or of another
    shape than ``module`` (built from the stored config) has: a damaged or hand-edited model file."""
    expected = module.state_dict()
    for name, tensor in state.items():
        if name not in expected:
            raise BadInputError(f"unexpected tensor {prefix}{name}: the stored network config has no such weight", where)
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise BadInputError(f"tensor {prefix}{name} has shape {tuple(tensor.shape)}; the stored network config "
                                f"needs {tuple(expected[name].shape)}", where)
    missing = [name for name in expected if name not in state]
    if missing:
        raise BadInputError(f"missing tensor(s) {', '.join(prefix + n for n in missing[:3])}"
                            f"{' ...' if len(missing) > 3 else ''} that the stored network config needs", where)


def person_generator(person: PersonModel, device: torch.device | str = "cpu") -> PersonGenerator:
    """Rebuild the person's G (spectral norm folded into plain weights) with psi' bound, in eval mode.

    Raises:
        BadInputError: naming the person's file (when read from one) and the tensor that does not fit.
    """
    where = getattr(person, "path", "") or None
    try:
        cfg = NetworkConfig.from_dict(person.config)
    except (ValueError, TypeError) as exc:
        raise BadInputError(f"the PersonModel's network config is unusable ({exc})", where) from exc
    G = Generator(cfg)
    check_state_shapes(G, person.generator, "G.", where)
    G.load_state_dict(person.generator)
    psi = torch.as_tensor(person.psi)
    if psi.numel() != G.psi_dim:
        raise BadInputError(f"tensor psi has {psi.numel()} entries, G expects {G.psi_dim}", where)
    warper = None
    if cfg.g_warp:
        from .warping.source_warp import SourceWarper

        if person.source_crops is None:
            raise BadInputError("this warp-conditioned PersonModel holds no source crops to warp", where)
        warper = SourceWarper(torch.as_tensor(person.source_crops).numpy(),
                              torch.as_tensor(person.source_crop_landmarks).numpy())
    remove_spectral_norm(G.eval())
    return PersonGenerator(G, psi, warper).to(device).eval().requires_grad_(False)


__all__ = ["BASE_FORMAT", "BaseModel", "PersonGenerator", "base_tensors", "build_networks", "check_state_shapes",
           "feed_forward_person", "load_base", "meta_learned_base_present", "person_generator", "random_base", "read_base", "save_base"]
