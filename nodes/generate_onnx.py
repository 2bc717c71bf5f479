"""ONNX Runtime backend of GenerateFrames: G(y; psi') from an exported file (paper §3.3).

``onnx_person_generator(rt, person)`` exports the person's generator once (cached by content hash)
and returns an ``OnnxGenerator``; ``onnx_generator(rt, path)`` opens an already exported file. Both
are called like ``person_generator(person, device)``: ``gen(y)`` with y (B, 3, S, S) in [-1, 1], numpy or
torch, returns the same kind (and, for torch, the same device and dtype).

Sessions come from the runtime's cache (TensorRT with fp16 and an engine cache > CUDA > CPU, only the
providers that work). On the GPU, torch CUDA tensors are passed with IO binding (no host copies).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..runtime.errors import UsageError

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


class OnnxGenerator:
    """An exported person generator run by ONNX Runtime.

    Args:
        session: an ``onnxruntime.InferenceSession`` of a file written by ``nodes.export.onnx_export``.
        source: the file, for messages.
    """

    def __init__(self, session: Any, source: str = ""):
        self.session = session
        self.source = source
        self.input = session.get_inputs()[0]
        self.output = session.get_outputs()[0]
        self.size = int(self.input.shape[-1])
        self.providers = session.get_providers()
        self.on_gpu = self.providers[0] in GPU_PROVIDERS

    def __repr__(self) -> str:
        return f"OnnxGenerator({self.source!r}, size={self.size}, providers={self.providers})"

    def _check(self, shape: tuple) -> None:
        if len(shape) != 4 or tuple(shape[1:]) != (3, self.size, self.size):
            raise UsageError(f"{self.source}: the generator takes sketches (B, 3, {self.size}, {self.size}), "
                             f"got {tuple(shape)}")

    def __call__(self, y: Any) -> Any:
        """G(y): y (B, 3, S, S) float in [-1, 1] -> (B, 3, S, S) RGB in [-1, 1]; numpy in -> numpy out,
        torch in -> torch out on y's device and dtype."""
        self._check(tuple(y.shape))
        if isinstance(y, np.ndarray):
            return self._run_numpy(np.ascontiguousarray(y, dtype=np.float32))
        import torch

        if self.on_gpu and y.is_cuda:
            return self._run_bound(y).to(y.dtype)
        out = self._run_numpy(y.detach().to("cpu", torch.float32).contiguous().numpy())
        return torch.from_numpy(out).to(y.device, y.dtype)

    forward = __call__

    def _run_numpy(self, y: np.ndarray) -> np.ndarray:
        return self.session.run([self.output.name], {self.input.name: y})[0]

    def _run_bound(self, y: Any) -> Any:
        """IO binding: ORT reads y's CUDA memory and writes into a torch CUDA tensor (no host round trip)."""
        import torch

        y = y.detach().to(torch.float32).contiguous()
        out = torch.empty((y.shape[0], 3, self.size, self.size), device=y.device, dtype=torch.float32)
        binding = self.session.io_binding()
        index = y.device.index or 0
        binding.bind_input(self.input.name, "cuda", index, np.float32, tuple(y.shape), y.data_ptr())
        binding.bind_output(self.output.name, "cuda", index, np.float32, tuple(out.shape), out.data_ptr())
        torch.cuda.current_stream(y.device).synchronize()  # ORT runs on its own stream
        self.session.run_with_iobinding(binding)
        binding.synchronize_outputs()
        return out


def default_cache_dir() -> Path:
    """Where exported ONNX files and TensorRT engines are kept: ``$TALKINGHEAD_CACHE`` or ~/.cache/talkinghead."""
    return Path(os.environ.get("TALKINGHEAD_CACHE") or Path.home() / ".cache" / "talkinghead")


def onnx_generator(rt: Runtime, path: str | os.PathLike, fp16: bool = True) -> OnnxGenerator:
    """Open an exported generator through ``rt.sessions`` (cached per file, mtime and device).

    Args:
        rt: the Runtime; on CUDA, a TensorRT engine cache folder is set when the runtime has none.
        path: the ``.onnx`` file.
        fp16: let TensorRT build fp16 engines (ignored by the CUDA and CPU providers).
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such ONNX file")
    if rt.device.type == "cuda" and getattr(rt.sessions, "trt_cache_dir", None) is None:
        rt.sessions.trt_cache_dir = str(default_cache_dir() / "tensorrt")
        Path(rt.sessions.trt_cache_dir).mkdir(parents=True, exist_ok=True)
    generator = OnnxGenerator(rt.sessions.get(path, fp16=fp16), str(path))
    rt.say_once(f"onnx:{path}", f"ONNX generator {path.name}: providers {', '.join(generator.providers)}",
                level=20)
    return generator


def person_digest(person: Any, size: int, opset: int) -> str:
    """Content hash of a PersonModel's generator and psi' (the cache key of its ONNX export)."""
    import torch

    digest = hashlib.sha256(f"{size}:{opset}:{torch.__version__}:{sorted(person.config.items())}".encode())
    for name in sorted(person.generator):
        digest.update(name.encode())
        digest.update(person.generator[name].detach().cpu().contiguous().numpy().tobytes())
    digest.update(torch.as_tensor(person.psi).detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:24]


def onnx_person_generator(rt: Runtime, person: Any, cache_dir: str | os.PathLike | None = None,
                          size: int | None = None, fp16: bool = True) -> OnnxGenerator:
    """The ONNX backend for ``person`` (a PersonModel): export once into the cache, then open it.

    The export is checked (onnx.checker, parity <= 1e-3 with torch) before it enters the cache, and
    is written atomically, so a cached file is always complete.

    Args:
        rt: the Runtime.
        person: ``nodes.types.PersonModel``.
        cache_dir: folder of exported files (default ``default_cache_dir() / "onnx"``).
        size: S (default: the person's fine-tuning crop size).
        fp16: TensorRT fp16 engines.
    """
    from .export.onnx_export import DEFAULT_OPSET
    from .export.person_export import export_person_onnx, person_size

    size = size or person_size(person)
    folder = Path(cache_dir) if cache_dir else default_cache_dir() / "onnx"
    path = folder / f"person-{person_digest(person, size, DEFAULT_OPSET)}-{size}.onnx"
    if not path.is_file():
        rt.say_once(f"export:{path}", f"exporting the person generator to {path}", level=20)
        export_person_onnx(person, path, size=size)
    return onnx_generator(rt, path, fp16=fp16)
