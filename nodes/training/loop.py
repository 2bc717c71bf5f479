"""The meta-learning run: sampling, DDP, checkpoints, JSONL scalars, sample grids, the base model.

A run folder holds ``config.json``, ``checkpoint.safetensors`` (``checkpoint.save_state``: E, G, D with
W, the three optimizers, the loss scaler; written atomically every ``checkpoint_every`` steps, at the
end, and at the first step boundary after a stop request: SIGTERM sets a flag, see
``plugin/commands/train.py``), ``talkinghead-<preset>.safetensors`` (the base model,
``person.save_base``, rewritten with every checkpoint), ``scalars.jsonl`` and ``samples/step-NNNNNNN.png``.

Exact resume: the episodes of step s on rank r are drawn from ``numpy.random.default_rng([seed, s, r])``
and nothing else in a step is random, so a resumed run repeats the uninterrupted one (same device,
thread count and world size). Only rank 0 writes; every rank holds the same state (DDP).
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ...runtime import distributed as ddp_env
from ...runtime.atomic import atomic_write_text
from ...runtime.errors import BadInputError, Interrupted, UsageError
from ..networks.presets import get_preset
from .dataset import EpisodeDataset
from .meta import MetaConfig, MetaState, build_state, meta_step
from .objective import Objective

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

CHECKPOINT = "checkpoint.safetensors"
SCALARS = "scalars.jsonl"
PREVIEW_EPISODES = 4


def episode_rng(seed: int, step: int, rank: int) -> np.random.Generator:
    """The sampler of step ``step`` on rank ``rank`` (stateless: resumable and world-size explicit)."""
    return np.random.default_rng([seed, step, rank])


def base_path(run: str | Path, preset: str) -> Path:
    """RUN/talkinghead-<preset>.safetensors: the file ``load_base`` resolves as ``base-<preset>``."""
    return Path(run) / f"talkinghead-{preset}.safetensors"


def preview_episodes(data: EpisodeDataset, k: int, seed: int, n: int = PREVIEW_EPISODES):
    """Fixed episodes for the sample grids: half from videos, half from stills where both exist."""
    pools = [p for p in (data.indices("video"), data.indices("still")) if len(p)]
    per_pool = -(-n // len(pools))
    picks = []
    for m in range(n):
        pool = pools[m % len(pools)]
        picks.append(int(pool[int(np.linspace(0, len(pool) - 1, per_pool).round()[m // len(pools)])]))
    return data.sample(np.random.default_rng([seed, 2**31]), n, k, i=np.array(picks))


def wrap_ddp(rt: Runtime, st: MetaState) -> tuple:
    """(E, G, D) wrapped in DistributedDataParallel when a process group is up, else the modules."""
    if not ddp_env.is_distributed() or ddp_env.world_size() < 2:
        return st.E, st.G, st.D
    from torch.nn.parallel import DistributedDataParallel as DDP

    kw = {"device_ids": [rt.device.index]} if rt.device.type == "cuda" else {}
    return tuple(DDP(m, **kw) for m in (st.E, st.G, st.D))


def _stop_requested(rt: Runtime, stop: threading.Event | None) -> bool:
    try:
        rt.check_cancelled()
        flag = bool(stop is not None and stop.is_set())
    except Interrupted:
        flag = True
    if ddp_env.is_distributed():
        t = torch.tensor([int(flag)], device=rt.device if rt.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        flag = bool(t.item())
    return flag


def _mean_parts(rt: Runtime, parts: dict[str, float]) -> dict[str, float]:
    """Loss terms averaged over ranks (every rank calls this at the same steps)."""
    if not ddp_env.is_distributed():
        return parts
    keys = sorted(parts)
    t = torch.tensor([parts[k] for k in keys], dtype=torch.float64,
                     device=rt.device if rt.device.type == "cuda" else "cpu")
    torch.distributed.all_reduce(t)
    return dict(zip(keys, (t / ddp_env.world_size()).tolist()))


def trim_scalars(path: Path, step: int) -> None:
    """Drop JSONL lines after ``step`` (a resumed run writes them again)."""
    if path.is_file():
        lines = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
        atomic_write_text(path, "".join(ln + "\n" for ln in lines))


class RunWriter:
    """Rank 0's files of a run (the other ranks get a writer that writes nothing)."""

    def __init__(self, run: Path, cfg: MetaConfig, data: EpisodeDataset, objective: Objective, enabled: bool):
        self.run, self.cfg, self.data, self.objective, self.enabled = run, cfg, data, objective, enabled

    def info(self, st: MetaState, last: dict) -> dict:
        d = self.data
        return {"step": st.step, "crop": {"size": st.net.image_size, "margin": d.margin}, "variant": self.cfg.variant,
                "loss_terms": self.objective.terms, "meta_config": self.cfg.to_dict(), "trained_by": "talkinghead train",
                "dataset": {"path": str(d.root), "digest": d.digest, "sequences": len(d), "frames": d.index["frames"],
                            "kinds": d.index["kinds"]}, "last": {k: round(v, 5) for k, v in last.items()}}

    def scalars(self, record: dict) -> None:
        if self.enabled:
            with open(self.run / SCALARS, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def checkpoint(self, st: MetaState, last: dict) -> None:
        from ..person import save_base
        from .checkpoint import save_state

        if self.enabled:
            meta = {"step": st.step, "config": self.cfg.to_dict(), "dataset_digest": self.data.digest,
                    "num_videos": len(self.data), "scaler": st.scaler.state_dict(), "last": last}
            save_state(self.run / CHECKPOINT, st.modules(), st.optimizers(), meta)
            save_base(base_path(self.run, self.cfg.preset), st.net, st.E, st.G, st.D, self.info(st, last))
        ddp_env.barrier()

    def samples(self, st: MetaState, episodes) -> None:
        from .samples import write_sample_grid

        if self.enabled:
            write_sample_grid(self.run / "samples" / f"step-{st.step:07d}.png", st.E, st.G, episodes)


def _state_meta(path: Path) -> dict:
    """The ``meta`` a checkpoint was saved with, read from its header only."""
    from safetensors.torch import safe_open

    from ...runtime.weights import METADATA_KEY

    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {}).get(METADATA_KEY, "{}")).get("meta", {})
    except Exception as exc:  # safetensors raises several types for foreign/corrupt files
        raise BadInputError(f"unreadable checkpoint ({exc})", path) from exc


def restore(path: Path, st: MetaState, cfg: MetaConfig, data: EpisodeDataset) -> None:
    """Load a checkpoint into ``st``; BadInputError when it belongs to another dataset or preset."""
    from .checkpoint import load_state

    meta = _state_meta(path)
    if meta.get("dataset_digest") != data.digest:
        raise BadInputError(f"checkpoint was trained on another dataset (digest {meta.get('dataset_digest')}, "
                            f"this one {data.digest}); W_i rows would not match", path)
    if meta.get("config", {}).get("preset") != cfg.preset:
        raise BadInputError(f"checkpoint holds preset {meta.get('config', {}).get('preset')}, not {cfg.preset}", path)
    meta = load_state(path, st.modules(), st.optimizers())
    st.step = int(meta["step"])
    if meta.get("scaler"):
        st.scaler.load_state_dict(meta["scaler"])


def _prepare(rt: Runtime, data: EpisodeDataset, cfg: MetaConfig, run: Path, resume: bool) -> MetaState:
    if data.size != get_preset(cfg.preset).image_size:
        raise UsageError(f"the episodes are {data.size} px, preset {cfg.preset} needs its own image size")
    st = build_state(rt, cfg, len(data))
    checkpoint = run / CHECKPOINT
    if checkpoint.is_file():
        if not resume:
            raise UsageError(f"{run} already holds a training run; pass --resume to continue it or choose another --out")
        restore(checkpoint, st, cfg, data)
        rt.say_once(f"meta-resume:{run}", f"meta-learning resumes from {checkpoint} at step {st.step}", level=20)
    if ddp_env.is_rank0():
        run.mkdir(parents=True, exist_ok=True)
        trim_scalars(run / SCALARS, st.step)
        atomic_write_text(run / "config.json", json.dumps({"config": cfg.to_dict(), "dataset": str(data.root),
                                                           "world_size": ddp_env.world_size()}, indent=1))
    ddp_env.barrier()
    return st


def train(rt: Runtime, data: EpisodeDataset, cfg: MetaConfig, run: str | Path, steps: int, objective: Objective,
          resume: bool = False, stop: threading.Event | None = None) -> MetaState:
    """Meta-learn until ``steps`` (total, counting resumed ones); returns the final state.

    Args:
        rt: Runtime (device, precision, progress, cancellation).
        data: the episodes (``EpisodeDataset`` at the preset's size).
        cfg: run settings; run: the run folder.
        steps: total steps of the run.
        objective: L_CNT / L_ADV terms.
        resume: continue from ``run/checkpoint.safetensors`` when present.
        stop: set (e.g. by a SIGTERM handler) to checkpoint at the next step boundary and raise Interrupted.
    """
    run = Path(run)
    st = _prepare(rt, data, cfg, run, resume)
    nets = wrap_ddp(rt, st)
    writer = RunWriter(run, cfg, data, objective, ddp_env.is_rank0())
    preview = preview_episodes(data, cfg.k, cfg.seed).to(rt.device)
    rank, last, clock = ddp_env.rank(), {}, time.monotonic()
    with rt.progress(max(steps - st.step, 0), "meta-learning") as bar:
        while st.step < steps:
            if _stop_requested(rt, stop):
                writer.checkpoint(st, last)
                raise Interrupted(f"meta-learning stopped at step {st.step}; checkpoint {run / CHECKPOINT}")
            ep = data.sample(episode_rng(cfg.seed, st.step, rank), cfg.batch_size, cfg.k).to(rt.device)
            last = meta_step(rt, st, objective, ep, cfg, nets)
            st.step += 1
            if st.step == 1 or (cfg.log_every and st.step % cfg.log_every == 0):
                now = time.monotonic()
                record = {"step": st.step, **{k: round(v, 6) for k, v in _mean_parts(rt, last).items()}}
                writer.scalars({**record, "sec_per_step": round((now - clock) / (cfg.log_every or 1), 3)})
                clock = now
            if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0:
                writer.checkpoint(st, last)
            if cfg.sample_every and st.step % cfg.sample_every == 0:
                writer.samples(st, preview)
            bar.update(1)
    writer.checkpoint(st, last)
    writer.samples(st, preview)
    return st
