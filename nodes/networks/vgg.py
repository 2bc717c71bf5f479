"""VGG19 and VGG16 / VGG-Face feature extractors for the content loss L_CNT (Zakharov et al. 2019, §3.2, §3.4).

Our own definitions with torchvision's layer indices (``features.N.weight``), so torchvision-format
state dicts load directly. ``features(x)`` returns the activations the paper compares: VGG19
"Conv1,6,11,20,29" and VGGFace "Conv1,6,11,18,25", i.e. the indices of ``features`` that are the
ReLU outputs relu1_1 .. relu5_1.

Inputs are preprocessed as the weights were trained (``InputStyle``): the paper uses Caffe-trained
networks, which expect BGR in 0..255 minus the per-channel mean; torchvision's ImageNet VGG19 expects
RGB in 0..1 normalised by mean/std. Feeding either the other's format degrades the loss.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ...runtime.errors import BadInputError

# "M" = 2x2 max pool (torchvision's cfgs "E" = VGG19 and "D" = VGG16)
VGG19_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
VGG19_LAYERS = (1, 6, 11, 20, 29)  # §3.4 "Conv1,6,11,20,29" (relu1_1 .. relu5_1)
VGGFACE_LAYERS = (1, 6, 11, 18, 25)  # §3.4 "Conv1,6,11,18,25" (relu1_1 .. relu5_1)


@dataclass(frozen=True)
class InputStyle:
    """How a VGG's weights expect their input (from RGB in [-1,1]).

    Attributes:
        name: style name (stored in a weights file's metadata as ``input_style``).
        bgr: reverse the channel order to BGR.
        scale: 255 for Caffe models (0..255 input), 1 for torchvision (0..1).
        mean, std: per channel, in the network's channel order and input scale.
    """

    name: str
    bgr: bool
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) RGB in [-1,1] -> the network's input (B,3,H,W)."""
        x = (x + 1) * (0.5 * self.scale)
        if self.bgr:
            x = x.flip(1)
        mean = x.new_tensor(self.mean)[None, :, None, None]
        std = x.new_tensor(self.std)[None, :, None, None]
        return (x - mean) / std


INPUT_STYLES = {
    # Caffe VGG19 (ILSVRC, Simonyan & Zisserman): BGR, 0..255, ImageNet mean in BGR order.
    "caffe-vgg19": InputStyle("caffe-vgg19", True, 255.0, (103.939, 116.779, 123.68)),
    # Caffe VGG-Face (Parkhi et al.): BGR, 0..255, VGG-Face training-set mean in BGR order.
    "caffe-vggface": InputStyle("caffe-vggface", True, 255.0, (93.5940, 104.7624, 129.1863)),
    # torchvision ImageNet models: RGB, 0..1, mean/std normalised.
    "torchvision": InputStyle("torchvision", False, 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def _build(layout: tuple, last: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = 3
    for v in layout:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
            c = v
    return nn.Sequential(*layers[:last + 1])


class VGGFeatures(nn.Module):
    """Frozen VGG trunk returning the activations at ``layers`` (indices into ``features``).

    Args:
        layout: ``VGG19_LAYOUT`` or ``VGG16_LAYOUT``.
        layers: indices of ``features`` whose outputs are returned.
        style: input preprocessing.
    """

    def __init__(self, layout: tuple, layers: tuple[int, ...], style: InputStyle):
        super().__init__()
        self.layers, self.style = tuple(layers), style
        self.features = _build(layout, max(layers))
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> VGGFeatures:
        """Always eval: the loss network is frozen."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B,3,H,W) RGB in [-1,1] -> activations at ``layers``."""
        h, out = self.style.apply(x), []
        for idx, layer in enumerate(self.features):
            h = layer(h)
            if idx in self.layers:
                out.append(h)
        return out


def _named_to_torchvision(state: dict[str, torch.Tensor], layout: tuple) -> dict[str, torch.Tensor]:
    """Map ``conv1_1.weight`` style keys (common VGG-Face conversions) to ``features.N.weight``."""
    mapped, idx, block, conv = {}, 0, 1, 1
    for v in layout:
        if v == "M":
            idx, block, conv = idx + 1, block + 1, 1
            continue
        for kind in ("weight", "bias"):
            key = f"conv{block}_{conv}.{kind}"
            if key in state:
                mapped[f"features.{idx}.{kind}"] = state[key]
        idx, conv = idx + 2, conv + 1
    return mapped


def load_vgg_state(module: VGGFeatures, state: dict[str, torch.Tensor], layout: tuple, path: str | os.PathLike) -> None:
    """Load a torchvision-format (``features.N.*``) or ``convB_C.*`` state dict into ``module``.

    Raises:
        BadInputError: naming the file and the missing or mis-shaped keys.
    """
    if not any(k.startswith("features.") for k in state):
        state = _named_to_torchvision(state, layout)
    wanted = module.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise BadInputError(f"not a VGG state dict of this layout: missing {missing[:4]}"
                            f"{' ...' if len(missing) > 4 else ''}", path)
    bad = [k for k in wanted if tuple(state[k].shape) != tuple(wanted[k].shape)]
    if bad:
        raise BadInputError(f"wrong tensor shapes for {bad[:4]} (expected e.g. {tuple(wanted[bad[0]].shape)}, "
                            f"got {tuple(state[bad[0]].shape)})", path)
    module.load_state_dict({k: state[k].float() for k in wanted})


def read_state_dict(path: Path, spec_name: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a VGG state dict: safetensors directly; a torch.save file only after its sha256 check.

    Returns:
        (tensors, metadata); metadata may carry ``input_style``.
    """
    from ...runtime import weights as w

    if path.suffix == ".safetensors":
        return w.load_safetensors(path)
    spec = w.get_spec(spec_name)
    if not spec.sha256:
        raise BadInputError(f"'{spec_name}' has no pinned digest, so only .safetensors files are read; convert "
                            "a trusted checkpoint with `talkinghead weights convert IN.pth OUT.safetensors`", path)
    w.verify(spec, path)  # trusted file only (a pinned digest) before weights_only unpickling
    return w.load_pickled_state_dict(path), {}


def build_vgg(path: Path, spec_name: str, style: str | None = None) -> VGGFeatures:
    """VGG19 (spec "vgg19") or VGG-Face (spec "vggface") from a weights file.

    Args:
        path: weights file (.safetensors, or the spec's torch.save file).
        spec_name: "vgg19" or "vggface".
        style: an ``INPUT_STYLES`` key; None: the file's ``input_style`` metadata, else the default for the
            spec ("torchvision" for the registered torchvision VGG19, "caffe-vggface" for VGG-Face).
    """
    tensors, meta = read_state_dict(path, spec_name)
    default = "torchvision" if spec_name == "vgg19" else "caffe-vggface"
    style = style or meta.get("input_style") or default
    if style not in INPUT_STYLES:
        raise BadInputError(f"unknown VGG input_style {style!r}; known: {', '.join(INPUT_STYLES)}", path)
    layout, layers = (VGG19_LAYOUT, VGG19_LAYERS) if spec_name == "vgg19" else (VGG16_LAYOUT, VGGFACE_LAYERS)
    net = VGGFeatures(layout, layers, INPUT_STYLES[style])
    load_vgg_state(net, tensors, layout, path)
    return net
