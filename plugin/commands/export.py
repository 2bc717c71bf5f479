"""Export a PersonModel's generator (psi' folded in, spectral norm removed) to ONNX or TorchScript.

onnx: one input "sketch" (N,3,S,S) float32 in [-1,1], one output "image" RGB (N,3,S,S) in [-1,1]; opset 17,
dynamic batch; checked with onnx.checker and against torch (max abs error <= 1e-3). FILE.ops.json and
FILE.ops.txt list the operators, for Unreal NNE, Unity Inference Engine and Houdini.
torchscript: for Nuke's CatFileCreator / Inference node: 1 x C x H x W sketch in [0,1] -> RGB in [0,1]
(sRGB-encoded); see examples/nuke/README.md.
"""
from __future__ import annotations

import argparse
import json

EXAMPLE = """\
  talkinghead export --person jane.person.safetensors --format onnx --out jane.onnx
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--person", required=True, help="PersonModel .safetensors (from `talkinghead finetune`)")
    parser.add_argument("--format", required=True, choices=["onnx", "torchscript"])
    parser.add_argument("--out", required=True, help="output file (.onnx, or .pt for torchscript)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--size", type=int, default=None, help="sketch size S (default: the person's crop size)")


def run(args: argparse.Namespace) -> int:
    from ...runtime.packages import require_extra
    from ...runtime.preflight import check_output_file

    if args.format == "onnx":  # onnx + onnxscript are the [export] extra, not core dependencies
        require_extra("export", ("onnx", "onnxscript"), "export --format onnx")
    from ...nodes.export.person_export import export_person_file

    check_output_file(args.out, "--out")  # before any work
    report = export_person_file(args.person, args.format, args.out, size=args.size, opset=args.opset)
    if args.format == "onnx":
        ops = ", ".join(f"{op} {n}" for op, n in report["operators"].items())
        print(f"{args.out}: opset {report['opset']}, inputs {report['inputs'][0]['shape']}, "
              f"parity {report['parity_max_abs_error']:.2e} (max abs vs torch)")
        print(f"operators: {ops}")
        print(f"operator list: {args.out}.ops.json, {args.out}.ops.txt")
    else:
        print(f"{args.out}: {json.dumps(report)}")
    return 0
