"""ONNX Runtime sessions: TensorRT > CUDA > CPU, using only providers that really work; cached.

onnxruntime-gpu lists the CUDA and TensorRT providers even on machines without a GPU, so a
provider is offered only when torch sees a CUDA device, and the providers a session actually
took are read back from the session (ORT silently falls back when a provider fails to load).

Sessions treat denormal floats as zero (``session.set_denormal_as_zero``): the generators'
attention softmax produces many weights below 1.2e-38, and x86 arithmetic on such denormals
is 10-100x slower; on small-128 at batch 8 this alone takes ORT CPU from ~470 to ~240 ms.
Their contribution is below fp32 resolution of the outputs (parity with torch is unchanged).
ORT also sets that mode on the thread that creates the session, and never clears it; ``new_session``
puts the caller's mode back, so numpy and torch in the host process keep IEEE denormals.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

DENORMAL_AS_ZERO = "session.set_denormal_as_zero"


def candidate_providers(device_type: str, trt_cache_dir: str | None = None, fp16: bool = True) -> list:
    """Provider list to try, best first, for ``device_type`` ("cuda" or "cpu")."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    providers: list[Any] = []
    if device_type == "cuda" and _cuda_usable():
        if "TensorrtExecutionProvider" in available:
            options = {"trt_fp16_enable": fp16}
            if trt_cache_dir:
                options.update(trt_engine_cache_enable=True, trt_engine_cache_path=trt_cache_dir)
            providers.append(("TensorrtExecutionProvider", options))
        if "CUDAExecutionProvider" in available:
            providers.append("CUDAExecutionProvider")
    providers.append("CPUExecutionProvider")
    return providers


def _cuda_usable() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return torch.cuda.is_available()


def working_providers(device_type: str = "cuda") -> list[str]:
    """Providers that create a real session on this machine (tested on a one-node model)."""
    import onnxruntime as ort

    model = _identity_model_bytes()
    working = []
    for provider in candidate_providers(device_type, fp16=False):
        try:
            session = ort.InferenceSession(model, providers=[provider])
        except Exception:  # noqa: BLE001, S112 - ORT raises generic errors for missing libraries
            continue
        name = provider[0] if isinstance(provider, tuple) else provider
        if name in session.get_providers():
            working.append(name)
    return working


def _identity_model_bytes() -> bytes:
    """A serialized one-node ONNX model (Identity), built without the onnx package.

    The bytes are a hand-checked protobuf ModelProto: ir_version 8, opset 13, one float input
    'x' of shape [1] passed to output 'y'.
    """
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def field(num: int, payload: bytes) -> bytes:
        return varint(num << 3 | 2) + varint(len(payload)) + payload

    def vint(num: int, value: int) -> bytes:
        return varint(num << 3) + varint(value)

    dim = field(1, vint(1, 1))  # TensorShapeProto.dim { dim_value: 1 }
    tensor_type = vint(1, 1) + field(2, dim)  # elem_type FLOAT, shape
    type_proto = field(1, tensor_type)
    value_x = field(1, b"x") + field(2, type_proto)
    value_y = field(1, b"y") + field(2, type_proto)
    node = field(1, b"x") + field(2, b"y") + field(4, b"Identity")
    graph = field(1, node) + field(2, b"g") + field(11, value_x) + field(12, value_y)
    opset = field(1, b"") + vint(2, 13)
    return vint(1, 8) + field(7, graph) + field(8, opset)


def _thread_flushes_denormals() -> bool:
    """Whether this thread's FPU flushes denormals (FTZ/DAZ): 1e-40 * 2 comes out 0."""
    import numpy as np

    return float(np.float32(1e-40) * np.float32(2)) == 0.0


def new_session(model: str | os.PathLike | bytes, options: Any, providers: list) -> Any:
    """``ort.InferenceSession`` that leaves the calling thread's denormal mode as it found it."""
    import onnxruntime as ort

    flushed_before = _thread_flushes_denormals()
    try:
        return ort.InferenceSession(model if isinstance(model, bytes) else str(model), sess_options=options,
                                    providers=providers)
    finally:
        if not flushed_before and _thread_flushes_denormals():
            import torch

            torch.set_flush_denormal(False)  # clears FTZ and DAZ on this thread


class OnnxSessionCache:
    """Thread-safe cache of InferenceSessions keyed by (model path, mtime, device type)."""

    def __init__(self, device_type: str = "cpu", trt_cache_dir: str | None = None, threads: int | None = None):
        self.device_type = device_type
        self.trt_cache_dir = trt_cache_dir
        self.threads = threads
        self._sessions: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def get(self, model_path: str | os.PathLike, fp16: bool = True):
        """Return a cached session for ``model_path``; ``session.get_providers()`` says what it uses."""
        import onnxruntime as ort

        path = Path(model_path)
        key = (str(path.resolve()), path.stat().st_mtime_ns, self.device_type, fp16)
        with self._lock:
            if key in self._sessions:
                return self._sessions[key]
            options = ort.SessionOptions()
            options.add_session_config_entry(DENORMAL_AS_ZERO, "1")
            if self.threads:
                options.intra_op_num_threads = self.threads
            session = new_session(path, options, candidate_providers(self.device_type, self.trt_cache_dir, fp16))
            self._sessions[key] = session
            return session
