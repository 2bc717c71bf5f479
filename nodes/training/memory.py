"""Activation memory: optional gradient checkpointing of E, G and D blocks, and a saved-tensor meter.

``enable_checkpointing`` recomputes every residual / attention block in backward instead of keeping
its activations (``torch.utils.checkpoint``, non-reentrant), trading about one extra forward for
most of the activation memory. The networks are not changed: the blocks' ``forward`` is rebound
per instance, so state dicts, DDP and export are unaffected. The meta-learning step runs inside
``torch.nn.utils.parametrize.cached()`` with the weights computed up front (``warm_parametrizations``)
so that the recomputation sees the same spectrally normalised weights as the forward pass.

``SavedTensorMeter`` counts the bytes autograd keeps for backward (unique storages, parameters
excluded) and their peak over a step: the activation part of training memory, measurable on a CPU.
"""
from __future__ import annotations

import types
from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint


def _checkpointed_forward(self: nn.Module, *args: object) -> object:
    forward = type(self).forward
    if torch.is_grad_enabled():
        return checkpoint(forward, self, *args, use_reentrant=False)
    return forward(self, *args)


def warm_parametrizations(*modules: nn.Module) -> None:
    """Compute every parametrized (spectrally normalised) weight once, inside ``parametrize.cached()``.

    Called at the start of a step's cached context and outside autocast: the weights are then fp32
    and computed before any checkpointed block, so recomputation finds them cached.
    """
    from torch.nn.utils import parametrize

    for module in modules:
        for m in module.modules():
            if parametrize.is_parametrized(m):
                for name in m.parametrizations:
                    getattr(m, name)


def _blocks(module: nn.Module) -> Iterable[nn.Module]:
    for name in ("blocks", "down", "up"):
        yield from getattr(module, name, ())


def enable_checkpointing(*modules: nn.Module) -> int:
    """Checkpoint every block of E (``blocks``), G (``down``, ``up``) and D (``blocks``); returns how many."""
    count = 0
    for module in modules:
        for block in _blocks(module):
            block.forward = types.MethodType(_checkpointed_forward, block)
            count += 1
    return count


def disable_checkpointing(*modules: nn.Module) -> None:
    """Undo ``enable_checkpointing``."""
    for module in modules:
        for block in _blocks(module):
            block.__dict__.pop("forward", None)


class _Held:
    """What autograd stores instead of a tensor: releases its bytes from the meter when freed."""

    __slots__ = ("key", "meter", "tensor")

    def __init__(self, tensor: torch.Tensor, meter: SavedTensorMeter, key: int | None):
        self.tensor, self.meter, self.key = tensor, meter, key

    def __del__(self) -> None:
        if self.key is not None:
            self.meter.release(self.key)


class SavedTensorMeter:
    """Context manager: live and peak bytes of tensors saved for backward.

    Args:
        exclude: tensors whose storage is not counted (the parameters: they live anyway).

    Attributes:
        live: bytes currently held by autograd graphs created inside the context.
        peak: the maximum of ``live``.
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()):
        self.exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.live = self.peak = 0
        self._refs: dict[int, list[int]] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)

    def _pack(self, t: torch.Tensor) -> _Held:
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key in self.exclude or t.device.type == "meta":
            return _Held(t, self, None)
        entry = self._refs.setdefault(key, [0, storage.nbytes()])
        if entry[0] == 0:
            self.live += entry[1]
            self.peak = max(self.peak, self.live)
        entry[0] += 1
        return _Held(t, self, key)

    @staticmethod
    def _unpack(held: _Held) -> torch.Tensor:
        return held.tensor

    def release(self, key: int) -> None:
        entry = self._refs.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self.live -= entry[1]
            del self._refs[key]

    def __enter__(self) -> SavedTensorMeter:  # noqa: PYI034 - Python 3.10 has no typing.Self
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)
