"""Show the device, precision, ONNX Runtime providers that really work, and which weights are present."""
from __future__ import annotations

import argparse
import platform
from typing import TYPE_CHECKING

from ...runtime import weights as w

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime
EXAMPLE = """\
  talkinghead doctor
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from ...runtime.packages import onnxruntime_clash

    clash = onnxruntime_clash()  # before importing onnxruntime: a broken mix may not import at all
    if clash:
        print(f"WARNING: {clash}")
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
    for line in content_loss_lines(rt):
        print(line)
    return 0


def content_loss_lines(rt: Runtime) -> list[str]:
    """What L_CNT and fine-tuning will use with the weights present (paper §3.2, offline stand-ins)."""
    has = {name: rt.has_weights(name) for name in ("vgg19", "vggface", "dlib-face-resnet")}
    terms = ["VGG19" if has["vgg19"] else "no VGG19 term (weights missing)"]
    if has["vggface"]:
        terms.append("VGGFace")
    elif has["dlib-face-resnet"]:
        terms.append("dlib face-ResNet feature matching in VGGFace's place")
    else:
        terms.append("no face term (VGGFace and dlib face ResNet missing)")
    bases = [f"{p}: {'meta-learned' if rt.has_weights(f'base-{p}') else 'seeded random initialisation'}"
             for p in ("small-128", "paper-256", "small-128-warp", "paper-256-warp")]
    return [f"losses:     L_CNT = {' + '.join(terms)}", f"base:       {'; '.join(bases)}"]
