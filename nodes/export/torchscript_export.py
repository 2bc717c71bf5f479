"""TorchScript export of a person generator for Nuke's CatFileCreator / Inference node.

Nuke passes one image tensor 1 x C x H x W (C = the channels chosen on CatFileCreator) and expects one
tensor back; with "Optimize for Speed and Memory" it runs the model in fp16 on the GPU. So the file
holds ``NukeGenerator``: it maps the sketch from [0, 1] (the sRGB-encoded sketch image as read with
"raw data") to G's [-1, 1], runs G(y; psi') (paper §3.3, psi' folded in), and maps the result back to
[0, 1] sRGB-encoded RGB. Every tensor in forward is derived from the input, so the module follows the
input's device and dtype; ``check_agnostic`` proves it (meta device, bf16/fp16 runs).
"""
from __future__ import annotations

import copy
import io
import os
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ...runtime.atomic import atomic_path
from .onnx_export import ExportError, check_exportable, example_sketch


class NukeGenerator(nn.Module):
    """1 x C x H x W sketch in [0, 1] -> 1 x 3 x H x W RGB in [0, 1] (sRGB-encoded, display-referred).

    Args:
        generator: G with psi' folded in: (N,3,S,S) [-1,1] -> (N,3,S,S) [-1,1] (scripted or traced).
        size: S; other input sizes are resized to S x S (bilinear) and the result back to H x W.
    """

    def __init__(self, generator: nn.Module, size: int):
        super().__init__()
        self.generator = generator
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        y = x[:, :3] * 2.0 - 1.0
        resize = h != self.size or w != self.size
        if resize:
            y = F.interpolate(y, size=[self.size, self.size], mode="bilinear", align_corners=False)
        out = self.generator(y)
        if resize:
            out = F.interpolate(out, size=[h, w], mode="bilinear", align_corners=False)
        return ((out + 1.0) * 0.5).clamp(0.0, 1.0)


def compile_generator(model: nn.Module, size: int) -> tuple[torch.jit.ScriptModule, str]:
    """Script G if TorchScript can compile its code, else trace it at (1, 3, size, size).

    Returns:
        (module, "script" | "trace"). The model is deep-copied first: traced modules share parameters
        with their source, and converting them (``.half()``) must not touch the caller's model.
    """
    model = copy.deepcopy(model).eval().cpu()
    try:
        return torch.jit.script(model), "script"
    except Exception:  # noqa: BLE001 - TorchScript raises many error types for unsupported Python
        with torch.no_grad():
            return torch.jit.trace(model, example_sketch(1, size), check_trace=False), "trace"


def build_nuke_module(model: nn.Module, size: int) -> tuple[torch.jit.ScriptModule, str]:
    """The scripted ``NukeGenerator`` around G; returns (module, how G was compiled)."""
    check_exportable(model)
    with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript; Nuke still needs it
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        inner, how = compile_generator(model, size)
        return torch.jit.script(NukeGenerator(inner, size).eval()), how


def _copy(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """An independent copy (save/load round trip: deepcopy of ScriptModules cannot change dtype safely)."""
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer, map_location="cpu")


def _nodes(block) -> list:
    found = []
    for node in block.nodes():
        found.append(node)
        for sub in node.blocks():
            found.extend(_nodes(sub))
    return found


def fixed_device_ops(module: torch.jit.ScriptModule) -> list[str]:
    """Ops in ``module``'s graph that create a tensor on a fixed device (a constant device, or none).

    A traced ``torch.ones(n, device=x.device)`` records the device as a constant; a scripted
    ``torch.ones(n)`` always lands on the CPU. Both break in Nuke on the GPU.
    """
    leaks = []
    for node in _nodes(module.inlined_graph):
        schema = node.schema()
        if not node.kind().startswith("aten::") or schema == "(no schema)":
            continue
        names = [a.name for a in torch._C.parse_schema(schema).arguments]
        inputs = list(node.inputs())
        if "device" not in names or names.index("device") >= len(inputs):
            continue
        device = inputs[names.index("device")]
        factory = not inputs or inputs[0].type().kind() != "TensorType"
        if device.node().kind() == "prim::Constant" and (device.type().kind() == "DeviceObjType" or factory):
            where = node.sourceRange().strip().splitlines()
            leaks.append(f"{node.kind()} ({where[0] if where else 'unknown source'})")
    return leaks


def check_agnostic(module: torch.jit.ScriptModule, size: int, dtypes: tuple[torch.dtype, ...] = ()) -> dict:
    """Prove that ``module`` creates no tensor with a fixed device or dtype.

    The graph is searched for ops creating tensors on a fixed device (``fixed_device_ops``), and for
    each of ``dtypes`` a converted copy must return that dtype (a constant fp32 tensor would promote it).

    Returns:
        dtype name -> {"max", "mean"} abs difference to the fp32 result (0..1 output units), per dtype.

    Raises:
        ExportError: on a device or dtype leak.
    """
    leaks = fixed_device_ops(module)
    if leaks:
        raise ExportError(f"the TorchScript module creates tensors on a fixed device: {'; '.join(leaks)}")
    x = (example_sketch(1, size, seed=2) + 1) * 0.5
    errors = {}
    with torch.no_grad():
        reference = module(x)
        for dtype in dtypes:
            out = _copy(module).to(dtype)(x.to(dtype))
            if out.dtype != dtype:
                raise ExportError(f"the TorchScript module returns {out.dtype} for {dtype} input: a tensor in "
                                  "forward has a fixed dtype")
            diff = (out.float() - reference).abs()
            errors[str(dtype).removeprefix("torch.")] = {"max": float(diff.max()), "mean": float(diff.mean())}
    return errors


def export_torchscript(model: nn.Module, size: int, path: str | os.PathLike, tol: float = 1e-3) -> dict:
    """Write the Nuke TorchScript file (atomically) after parity and device/dtype checks.

    Args:
        model: G with psi' folded in (``person_generator(person, "cpu")``).
        size: S, the crop size G was trained at.
        path: destination ``.pt`` (turn it into a ``.cat`` with Nuke's CatFileCreator).
        tol: max abs error allowed between the reloaded file and ``model`` (fp32, in G's [-1, 1] units).

    Returns:
        {"compiled": "script"|"trace", "parity_max_abs_error": float, "torch": version}.
    """
    module, how = build_nuke_module(model, size)
    check_agnostic(module, size)
    x = (example_sketch(2, size, seed=3) + 1) * 0.5
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        module.save(str(tmp))
        loaded = torch.jit.load(str(tmp), map_location="cpu")
        with torch.no_grad():
            expected = model.eval()(x * 2 - 1)
            error = float((loaded(x) * 2 - 1 - expected.clamp(-1, 1)).abs().max())
        if not error <= tol:
            raise ExportError(f"{path}: TorchScript differs from torch by {error:.2e} (max abs) > {tol:.0e}")
    return {"compiled": how, "parity_max_abs_error": error, "torch": torch.__version__}
