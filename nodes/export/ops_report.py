"""Operator list of an exported ONNX file, with notes for game engines and DCC hosts.

Written next to the model as ``FILE.ops.json`` and ``FILE.ops.txt`` so an engine team can check,
before importing, that Unreal NNE, Unity Inference Engine (Sentis) or Houdini's ONNX Inference
support every operator. The notes are cautions to verify against the engine version in use, not
claims of support: operator tables change between engine releases.
"""
from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path

from ...runtime.atomic import atomic_write_text

# Operators worth a look in engines that do not run ONNX Runtime underneath (Unreal NNE's RDG/HLSL
# runtime, Unity Inference Engine GPU backends). Operator -> what to check.
WATCH = {
    "InstanceNormalization": "per-sample normalisation over H, W (the paper's IN in G's down path, §3.2); "
                             "ORT-based runtimes run it; check GPU shader backends of your engine version",
    "Resize": "upsampling in G's up blocks; engines differ in the supported mode / "
              "coordinate_transformation_mode combinations (see the attributes listed below)",
    "MatMul": "self-attention (§3.2); fine everywhere, listed because batched 3-D MatMul is slow on some GPU "
              "shader backends",
    "Softmax": "self-attention weights; opset >= 13 semantics (single axis)",
    "Shape": "shape arithmetic at run time (from the dynamic batch axis); static-shape engines may need a "
             "fixed batch (export or import with N = 1)",
    "Gather": "shape arithmetic at run time",
    "ConstantOfShape": "shape arithmetic at run time", "Expand": "broadcast with a run-time shape",
    "Loop": "control flow: unsupported in most engine runtimes", "If": "control flow: unsupported in most "
    "engine runtimes", "NonZero": "data-dependent output shape", "ScatterND": "poorly supported on GPU "
    "backends", "Einsum": "poorly supported outside ORT",
}
ENGINES = {
    "Unreal NNE": "NNERuntimeORTCpu / NNERuntimeORTDml run ONNX Runtime (full opset); NNERuntimeRDGHlsl "
                  "supports a subset: check the operators above against its list",
    "Unity Inference Engine (Sentis)": "older Sentis releases document opsets 7-15; newer Inference Engine "
                                       "releases accept newer opsets; check the operator table of your version",
    "Houdini ONNX Inference": "runs ONNX Runtime; any opset its bundled ORT knows (opset 17: ORT >= 1.12)",
}


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def _resize_modes(graph) -> list[dict]:
    modes = set()
    for node in graph.node:
        if node.op_type == "Resize":
            attrs = {a.name: (a.s.decode() if a.s else a.i) for a in node.attribute}
            modes.add(tuple(sorted(attrs.items())))
    return [dict(m) for m in sorted(modes)]


def operator_report(path: str | os.PathLike) -> dict:
    """Operators (with counts), opsets, inputs/outputs, parameter count and engine notes of an ONNX file."""
    import onnx

    proto = onnx.load(str(path))
    graph = proto.graph
    counts = Counter((n.domain or "ai.onnx", n.op_type) for n in graph.node)
    initializer_names = {t.name for t in graph.initializer}
    params = int(sum(math.prod(t.dims) for t in graph.initializer))
    ops = {op: n for (_, op), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1]))}
    domains = sorted({d for d, _ in counts})
    watch = {op: note for op, note in WATCH.items() if op in ops and note}
    dynamic = [v.name for v in graph.input if v.name not in initializer_names
               and any(isinstance(d, str) for d in _dims(v))]
    notes = []
    if domains != ["ai.onnx"]:
        notes.append(f"non-standard operator domains {domains}: engines other than ONNX Runtime will reject them")
    if dynamic:
        notes.append(f"inputs {dynamic} have a symbolic batch axis 'N'; TensorRT needs an optimisation profile and "
                     "static-shape engine runtimes a fixed N (1 for real-time use)")
    return {
        "model": Path(path).name,
        "opset": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
        "ir_version": proto.ir_version,
        "producer": f"{proto.producer_name} {proto.producer_version}",
        "inputs": [{"name": v.name, "shape": _dims(v), "dtype": "float32"} for v in graph.input
                   if v.name not in initializer_names],
        "outputs": [{"name": v.name, "shape": _dims(v), "dtype": "float32"} for v in graph.output],
        "nodes": len(graph.node), "parameters": params,
        "operators": ops, "domains": domains,
        "resize_attributes": _resize_modes(graph),
        "watch": watch, "notes": notes, "engines": ENGINES,
        "metadata": {p.key: p.value for p in proto.metadata_props},
    }


def format_report(report: dict) -> str:
    """Human-readable text version of ``operator_report``."""
    lines = [(f"{report['model']}: opset {report['opset']}, IR {report['ir_version']}, {report['nodes']} nodes, "
              f"{report['parameters']:,} parameters"),
             *(f"input  {v['name']} {v['shape']} {v['dtype']}" for v in report["inputs"]),
             *(f"output {v['name']} {v['shape']} {v['dtype']}" for v in report["outputs"]),
             "", "operators (count):", *(f"  {op:24s} {n}" for op, n in report["operators"].items())]
    if report["resize_attributes"]:
        lines += ["", "Resize attributes:", *(f"  {m}" for m in report["resize_attributes"])]
    lines += ["", "to check in your engine:", *(f"  {op}: {note}" for op, note in report["watch"].items())]
    lines += [f"  {note}" for note in report["notes"]]
    lines += ["", "engines:", *(f"  {name}: {note}" for name, note in report["engines"].items())]
    return "\n".join(lines) + "\n"


def write_ops_report(path: str | os.PathLike, extra: dict | None = None) -> dict:
    """Write ``PATH.ops.json`` and ``PATH.ops.txt`` next to the ONNX file (atomically); return the report."""
    report = operator_report(path)
    report.update(extra or {})
    atomic_write_text(f"{path}.ops.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(f"{path}.ops.txt", format_report(report))
    return report
