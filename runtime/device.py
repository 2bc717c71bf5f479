"""Pick and describe the compute device: cuda > mps > cpu; ``TALKINGHEAD_DEVICE`` overrides."""
from __future__ import annotations

import os

import torch

from .errors import UsageError


def pick_device(request: str | None = "auto") -> torch.device:
    """Resolve a device request ("auto", "cpu", "cuda", "cuda:1", "mps").

    ``TALKINGHEAD_DEVICE`` replaces an "auto" request. Raises UsageError for a device this
    machine cannot use, naming what is available.
    """
    if request in (None, "auto"):
        request = os.environ.get("TALKINGHEAD_DEVICE", "auto")
    if request == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(request)
    except (RuntimeError, TypeError) as exc:
        raise UsageError(f"unknown device '{request}' (use auto, cpu, cuda, cuda:N or mps)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"device '{request}' requested but CUDA is not available here; {describe_available()}")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device '{request}' requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise UsageError(f"device 'mps' requested but MPS is not available here; {describe_available()}")
    elif device.type != "cpu":
        raise UsageError(f"device type '{device.type}' is not supported (use cpu, cuda or mps)")
    return device


def describe_available() -> str:
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return "available: " + ", ".join(names)


def describe(device: torch.device) -> str:
    """Human-readable description: name, memory, capability."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return (f"{device} ({props.name}, {props.total_memory / 2**30:.1f} GiB, "
                f"compute capability {props.major}.{props.minor})")
    if device.type == "cpu":
        return f"cpu ({os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads)"
    return str(device)
