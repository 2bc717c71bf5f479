"""ONNX export of a person-specific generator G(y; psi') (paper §3.3) for game engines and Houdini.

The exported graph is a plain image-to-image network: psi' is folded into constants by
``nodes.person.person_generator``, spectral norm is removed, so the file has one input "sketch"
(N, 3, S, S) float32 landmark sketch in [-1, 1] and one output "image" (N, 3, S, S) RGB in [-1, 1]
(sRGB-encoded, display-referred). The batch dimension N is dynamic.

The TorchScript-based exporter (``dynamo=False``) is used: it writes opset 17 directly, while the
dynamo exporter only writes opset >= 18 and its down-conversion to 17 fails on Reduce* ops.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...runtime.atomic import atomic_path
from ...runtime.errors import TalkingheadError
from .ops_report import write_ops_report

INPUT_NAME = "sketch"
OUTPUT_NAME = "image"
DEFAULT_OPSET = 17
PARITY_TOL = 1e-3


class ExportError(TalkingheadError):
    """The exported file failed a check (spectral norm left in, checker, parity)."""

    exit_code = 1


class ImageToImage(nn.Module):
    """Traced wrapper: one tensor in, one tensor out (hides any keyword arguments of G).

    Args:
        generator: module with ``forward(y (N,3,S,S)) -> (N,3,S,S)`` (psi' already folded in).
    """

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, sketch: torch.Tensor) -> torch.Tensor:
        return self.generator(sketch)


def check_exportable(model: nn.Module) -> None:
    """Raise ExportError if spectral norm (hooks or parametrisations) is still attached to ``model``."""
    from torch.nn.utils import parametrize

    for name, module in model.named_modules():
        has_hook = any(type(h).__name__ == "SpectralNorm" for h in module._forward_pre_hooks.values())
        if has_hook or parametrize.is_parametrized(module) or hasattr(module, "weight_orig"):
            raise ExportError(f"module '{name or type(model).__name__}' still carries spectral norm or a "
                              "parametrisation; remove it before export (nodes.person.person_generator does)")


def example_sketch(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """A deterministic test input (batch, 3, size, size) in [-1, 1]: background -1 with random strokes.

    Plain uniform noise would drive instance-norm statistics far from real sketches; this keeps the
    parity check on inputs shaped like the rasterised landmark images (mostly background, thin lines).
    """
    g = torch.Generator().manual_seed(seed)
    sketch = -torch.ones(batch, 3, size, size)
    strokes = torch.rand(batch, 1, size, size, generator=g) < 0.08
    colours = torch.rand(batch, 3, 1, 1, generator=g) * 2 - 1
    return torch.where(strokes, colours.expand_as(sketch), sketch)


def _instance_norm_two_pass(g, x, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                            cudnn_enabled):
    """ONNX symbolic for aten::instance_norm: two-level mean, centre, variance of the centred values, scale.

    ONNX Runtime's CPU InstanceNormalization (and a flat ReduceMean over H*W) sums H*W values in one
    fp32 run; on paper-256 (65,536 values per channel at the first block) that put ORT 1.3e-3 (max abs)
    away from torch and from float64. Averaging rows first, then the row means, and computing the
    variance of the centred values brings it to ~3e-5. Only ReduceMean/Sub/Mul/Add/Sqrt/Div are used,
    which every engine runtime supports. G's IN always uses input statistics (no running stats).
    """
    from torch.onnx import symbolic_helper as sh

    eps = sh._parse_arg(eps, "f")
    def spatial_mean(t):  # rows, then columns: two short fp32 sums instead of one of H*W terms
        return g.op("ReduceMean", g.op("ReduceMean", t, axes_i=[3], keepdims_i=1), axes_i=[2], keepdims_i=1)

    mean = spatial_mean(x)
    centred = g.op("Sub", x, mean)
    var = spatial_mean(g.op("Mul", centred, centred))
    std = g.op("Sqrt", g.op("Add", var, g.op("Constant", value_t=torch.tensor(eps, dtype=torch.float32))))
    out = g.op("Div", centred, std)
    axes = g.op("Constant", value_t=torch.tensor([0, 2, 3], dtype=torch.int64))
    if not sh._is_none(weight):
        out = g.op("Mul", out, g.op("Unsqueeze", weight, axes))
    if not sh._is_none(bias):
        out = g.op("Add", out, g.op("Unsqueeze", bias, axes))
    return out


def torch_to_onnx(model: nn.Module, size: int, path: str | os.PathLike, opset: int = DEFAULT_OPSET,
                  metadata: dict | None = None) -> None:
    """Trace ``model`` at (1, 3, size, size) and write ONNX with a dynamic batch axis (no checks).

    Args:
        model: image-to-image module in eval mode on the CPU, spectral norm removed.
        size: spatial size S the graph is traced at (fixed in the file).
        path: destination ``.onnx``; written atomically.
        opset: ONNX opset (17 by default).
        metadata: string key/values stored in the model's ``metadata_props``.
    """
    import onnx

    wrapper = ImageToImage(model).eval()
    dummy = example_sketch(1, size)
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        torch.onnx.register_custom_op_symbolic("aten::instance_norm", _instance_norm_two_pass, opset)
        try:
            torch.onnx.export(wrapper, (dummy,), str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              opset_version=opset, do_constant_folding=True, dynamo=False,
                              dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}})
        finally:
            torch.onnx.unregister_custom_op_symbolic("aten::instance_norm", opset)
        proto = onnx.load(str(tmp))
        for key, value in (metadata or {}).items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = str(key), str(value)
        proto.doc_string = "talkinghead person generator: sketch (N,3,S,S) [-1,1] -> image RGB (N,3,S,S) [-1,1]"
        onnx.save(proto, str(tmp))


def onnx_parity(model: nn.Module, path: str | os.PathLike, batch: int = 2, size: int | None = None) -> float:
    """Max absolute difference between torch and ONNX Runtime (CPU, fp32) on ``batch`` example sketches."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if size is None:
        size = int(session.get_inputs()[0].shape[-1])
    sketch = example_sketch(batch, size, seed=1)
    with torch.no_grad():
        expected = model(sketch).numpy()
    got = session.run([OUTPUT_NAME], {INPUT_NAME: sketch.numpy()})[0]
    if got.shape != expected.shape:
        raise ExportError(f"ONNX output shape {got.shape} != torch {expected.shape}", path)
    return float(np.abs(got - expected).max())


def export_onnx(model: nn.Module, size: int, path: str | os.PathLike, opset: int = DEFAULT_OPSET,
                metadata: dict | None = None, tol: float = PARITY_TOL) -> dict:
    """Export, check with onnx.checker, verify parity, and write the operator list next to the file.

    Args:
        model: the person generator (``person_generator(person, "cpu")``): (N,3,S,S) -> (N,3,S,S).
        size: S.
        path: destination ``.onnx``.
        opset: ONNX opset.
        metadata: stored in the file (preset, person file, ...).
        tol: maximum allowed absolute error between torch and ONNX Runtime (fp32).

    Returns:
        The operator report (see ``ops_report.operator_report``) with "parity_max_abs_error" added.

    Raises:
        ExportError: spectral norm still attached, checker failure, or parity above ``tol``; a file
            that fails a check is removed (nothing half-right is left behind).
    """
    import onnx

    model = model.eval().cpu()
    check_exportable(model)
    path = Path(path)
    torch_to_onnx(model, size, path, opset, metadata)
    try:
        onnx.checker.check_model(str(path), full_check=True)
        error = onnx_parity(model, path, batch=2, size=size)
        if not error <= tol:
            raise ExportError(f"{path}: ONNX Runtime differs from torch by {error:.2e} (max abs) > {tol:.0e}")
    except Exception:
        path.unlink(missing_ok=True)
        raise
    report = write_ops_report(path, extra={"parity_max_abs_error": error, "parity_tolerance": tol})
    return report
