"""Training state in one safetensors file (no pickle): modules, optimizers, RNG states, step.

Optimizer state dicts are flattened to tensors ``opt.<name>.<param index>.<key>`` plus JSON
``param_groups``; the RNG states (torch CPU, CUDA, numpy Generators) are stored so that a resumed
run reproduces the uninterrupted one exactly. Files are written atomically (temporary name, fsync,
rename): a run killed while saving keeps its previous checkpoint.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ...runtime.errors import BadInputError
from ...runtime.weights import load_safetensors, save_safetensors

STATE_FORMAT = "talkinghead.train-state/1"


def optimizer_tensors(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Flatten ``optimizer.state_dict()``: tensors by ``opt.<name>.<index>.<key>`` and JSON metadata."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"opt.{name}.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def load_optimizer(name: str, optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor],
                   meta: dict) -> None:
    """Inverse of ``optimizer_tensors`` (tensors moved to the optimizer's parameter devices)."""
    prefix = f"opt.{name}."
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, field = key[len(prefix):].split(".", 1)
            state.setdefault(int(index), {})[field] = value
    for key, value in meta.get("scalars", {}).items():
        index, field = key.split(".", 1)
        state.setdefault(int(index), {})[field] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_state(generators: Mapping[str, np.random.Generator] | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """torch CPU (+ CUDA) RNG states as tensors, numpy Generator states as JSON."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    meta = {name: g.bit_generator.state for name, g in (generators or {}).items()}
    return tensors, meta


def set_rng_state(tensors: Mapping[str, torch.Tensor], meta: dict,
                  generators: Mapping[str, np.random.Generator] | None = None) -> None:
    """Restore what ``rng_state`` saved."""
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"].to(torch.uint8).cpu())
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k].to(torch.uint8).cpu() for k in cuda])
    for name, g in (generators or {}).items():
        if name in meta:
            g.bit_generator.state = meta[name]


def save_state(path: str | os.PathLike, modules: Mapping[str, nn.Module | torch.Tensor],
               optimizers: Mapping[str, torch.optim.Optimizer], meta: Mapping[str, Any],
               generators: Mapping[str, np.random.Generator] | None = None) -> None:
    """Write modules (state dicts or bare tensors), optimizers, RNG states and ``meta`` atomically."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        if torch.is_tensor(module):
            tensors[f"mod.{name}"] = module.detach()
        else:
            tensors.update({f"mod.{name}.{k}": v for k, v in module.state_dict().items()})
    opt_meta = {}
    for name, opt in optimizers.items():
        t, m = optimizer_tensors(name, opt)
        tensors.update(t)
        opt_meta[name] = m
    t, rng_meta = rng_state(generators)
    tensors.update(t)
    save_safetensors(path, tensors, {"format": STATE_FORMAT, "optimizers": opt_meta, "rng": rng_meta,
                                     "meta": dict(meta)})


def load_state(path: str | os.PathLike, modules: Mapping[str, nn.Module | torch.Tensor],
               optimizers: Mapping[str, torch.optim.Optimizer],
               generators: Mapping[str, np.random.Generator] | None = None) -> dict:
    """Restore a file written by ``save_state`` into the given objects; returns its ``meta``.

    Bare tensors in ``modules`` (e.g. psi') are copied into in place. Raises BadInputError naming the
    file when it is not a training state or does not fit the modules.
    """
    tensors, meta = load_safetensors(path)
    if meta.get("format") != STATE_FORMAT:
        raise BadInputError(f"not a talkinghead training state (format {meta.get('format')!r})", path)
    try:
        for name, module in modules.items():
            if torch.is_tensor(module):
                with torch.no_grad():
                    module.copy_(tensors[f"mod.{name}"])
                continue
            prefix = f"mod.{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        for name, opt in optimizers.items():
            load_optimizer(name, opt, tensors, meta["optimizers"][name])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise BadInputError(f"training state does not fit this run ({exc})", path) from exc
    set_rng_state(tensors, meta.get("rng", {}), generators)
    return dict(meta.get("meta", {}))
