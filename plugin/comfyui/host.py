"""ComfyUI host services for the talkinghead nodes: device, precision, folders, progress bar, interrupt.

Everything here imports ComfyUI's modules (``comfy.model_management``, ``comfy.utils``, ``folder_paths``)
lazily, inside the functions, so the package imports without ComfyUI and the tests can inject stubs.
The Runtime is built per node execution with ComfyUI's device and precision, ComfyUI's progress bar as
the reporter and ComfyUI's interrupt polled by the cancel token; weights are found under ComfyUI's
``models/talkinghead`` (``runtime.weights`` searches it when ``folder_paths`` is loaded).
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PRECISIONS = ("auto", "fp32", "fp16", "bf16")  # auto: what ComfyUI's flags and device ask for
RUNTIME_PRECISION = {"fp32": "32-true", "fp16": "16-mixed", "bf16": "bf16-mixed"}
DEVICES = ("comfyui", "cpu", "auto")
MODELS_SUBDIR = "talkinghead"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]

log = logging.getLogger("talkinghead.comfyui")


def comfy_device() -> str:
    """ComfyUI's torch device (``comfy.model_management.get_torch_device``) as a device string."""
    import comfy.model_management as mm

    return str(mm.get_torch_device())


def comfy_precision(device: str) -> str:
    """The precision ComfyUI's flags and device ask for: --force-fp32 or CPU -> 32-true, else bf16/fp16 mixed
    where ``comfy.model_management`` says the device should use them."""
    import comfy.model_management as mm

    try:
        from comfy.cli_args import args
    except ImportError:  # a host without cli_args
        args = None
    if str(device).startswith("cpu") or getattr(args, "force_fp32", False):
        return "32-true"
    import torch

    dev = torch.device(device)
    if getattr(mm, "should_use_bf16", None) and mm.should_use_bf16(dev):
        return "bf16-mixed"
    if getattr(mm, "should_use_fp16", None) and mm.should_use_fp16(dev):
        return "16-mixed"
    return "32-true"


def precision_name(choice: str, device: str) -> str:
    """The runtime's precision name for a node's choice: auto (ComfyUI's), fp32, fp16, bf16; the runtime's
    own names ("32-true", ...) pass through."""
    if choice in ("auto", "comfyui"):
        return comfy_precision(device)
    return RUNTIME_PRECISION.get(choice, choice)


def register_models_folder() -> None:
    """Register ``models/talkinghead`` with ComfyUI's ``folder_paths`` (listed by GET /models; the sidebar;
    ``extra_model_paths.yaml`` entries under ``talkinghead:`` add more folders). Called when ComfyUI loads
    the pack; nothing outside ComfyUI."""
    try:
        import folder_paths
    except ImportError:
        return
    root = getattr(folder_paths, "models_dir", None)
    if root is not None and hasattr(folder_paths, "add_model_folder_path"):
        folder_paths.add_model_folder_path(MODELS_SUBDIR, str(Path(root) / MODELS_SUBDIR), is_default=True)


def models_dirs() -> list[Path]:
    """Every folder ComfyUI lists for ``talkinghead`` (its own first, then extra_model_paths.yaml's)."""
    try:
        import folder_paths
    except ImportError:
        return []
    try:
        return [Path(p) for p in folder_paths.get_folder_paths(MODELS_SUBDIR)]
    except (KeyError, AttributeError):
        root = getattr(folder_paths, "models_dir", None)
        return [] if root is None else [Path(root) / MODELS_SUBDIR]


def models_dir() -> Path | None:
    """``<ComfyUI>/models/talkinghead`` (the first registered folder); None outside ComfyUI."""
    folders = models_dirs()
    return folders[0] if folders else None


def model_file(name: str) -> Path:
    """A file in any registered ``talkinghead`` folder; BadInputError naming them when absent."""
    from ...runtime.errors import BadInputError

    for folder in models_dirs():
        if (folder / name).is_file():
            return folder / name
    raise BadInputError(f"not in any of {', '.join(str(f) for f in models_dirs())}", name)


def output_dir() -> Path:
    import folder_paths

    return Path(folder_paths.get_output_directory())


def input_dir() -> Path:
    import folder_paths

    return Path(folder_paths.get_input_directory())


def resolve_path(text: str, *, outputs: bool = False) -> Path:
    """A file named by a node's path widget: absolute, else under ComfyUI's input folder (and output and
    models/talkinghead folders when ``outputs``), else relative to the talkinghead checkout (its examples).

    Raises:
        BadInputError naming every place looked at.
    """
    from ...nodes.media.io import is_pattern
    from ...runtime.errors import BadInputError

    path = Path(os.path.expanduser(str(text).strip()))
    if path.is_absolute():
        if path.exists() or is_pattern(path):
            return path
        raise BadInputError("no such file", path)
    roots = [input_dir()]
    if outputs:
        roots += [output_dir(), *models_dirs()]
    roots.append(PACKAGE_ROOT)
    for root in roots:
        candidate = root / path
        if candidate.exists() or (is_pattern(candidate) and candidate.parent.is_dir()):
            return candidate
    raise BadInputError(f"not found in any of {', '.join(str(r) for r in roots)}", path)


class ComfyProgress:
    """The runtime's ProgressBar protocol on ComfyUI's ``comfy.utils.ProgressBar`` (the node's bar in the UI)."""

    def __init__(self, total: int | None, desc: str):
        import comfy.utils

        self.total, self.desc, self.count = total, desc, 0
        self._bar = comfy.utils.ProgressBar(max(1, total or 1))
        log.info("%s: started%s", desc, f" (0/{total})" if total else "")

    def update(self, n: int = 1) -> None:
        self.count += n
        total = self.total if self.total else self.count + 1  # unknown length: never shows as finished
        self._bar.update_absolute(min(self.count, total), total)

    def close(self) -> None:
        log.info("%s: done (%d)", self.desc, self.count)

    def __enter__(self) -> ComfyProgress:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def interrupt_requested() -> bool:
    """True when the user pressed Cancel: ComfyUI's ``throw_exception_if_processing_interrupted`` raised."""
    import comfy.model_management as mm

    try:
        mm.throw_exception_if_processing_interrupted()
    except mm.InterruptProcessingException:
        return True
    return False


def make_runtime(device: str = "comfyui", precision: str = "auto") -> Any:
    """A Runtime on ComfyUI's device/precision (or the ones chosen), its progress bar and interrupt; its models
    are cached across runs and loaded/offloaded through ComfyUI's model management (``memory.py``)."""
    from ...runtime.progress import CancelToken
    from ...runtime.runtime import Runtime
    from .memory import shared_cache

    dev = comfy_device() if device == "comfyui" else device
    prec = precision_name(precision, dev)
    # models_dir stays None: runtime.weights searches every registered models/talkinghead folder itself
    rt = Runtime(device=dev, precision=prec, models_dir=None, progress=ComfyProgress,
                 cancel=CancelToken(poll=interrupt_requested))
    rt.cache = shared_cache()
    return rt


@contextlib.contextmanager
def autograd() -> Iterator[None]:
    """Leave ComfyUI's ``torch.inference_mode()`` (it executes every node inside one) for nodes that train
    or build modules that will be trained: inference tensors cannot take part in autograd."""
    import torch

    with torch.inference_mode(False), torch.enable_grad():
        yield


@contextlib.contextmanager
def host_errors() -> Iterator[None]:
    """Turn the runtime's Interrupted into ComfyUI's InterruptProcessingException (the prompt shows as
    interrupted, not failed); other errors pass through with their messages naming file and frame."""
    from ...runtime.errors import Interrupted

    try:
        yield
    except Interrupted as exc:
        import comfy.model_management as mm

        raise mm.InterruptProcessingException() from exc
