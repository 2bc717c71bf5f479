"""Show the device, precision, ONNX Runtime providers that really work, and which weights are present."""
from __future__ import annotations

import argparse
import platform

from ...runtime import weights as w


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    import onnxruntime
    import torch

    from ...runtime.onnx import working_providers

    rt = args.runtime()
    print(f"talkinghead doctor  (python {platform.python_version()}, torch {torch.__version__}, "
          f"onnxruntime {onnxruntime.__version__})")
    print(f"device:     {rt.describe()}")
    print(f"onnx:       providers that work here: {', '.join(working_providers(rt.device.type))}")
    print(f"            (listed by onnxruntime: {', '.join(onnxruntime.get_available_providers())})")
    print("weights:")
    for name, spec in w.model_specs().items():
        try:
            where = f"present  {rt.resolve(spec, check_hash=False)}"
        except w.MissingWeightsError:
            where = "missing  (" + ("`talkinghead weights fetch " + name + "`" if spec.url else "no download") + ")"
        flag = "  NON-COMMERCIAL: " + spec.licence if not spec.commercial_use else ""
        print(f"  {name:20s} {where}{flag}")
    return 0
