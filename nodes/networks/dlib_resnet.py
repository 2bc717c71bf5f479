"""dlib's 128-d face-recognition ResNet, read from its shipped ``.dat`` file and run in PyTorch.

The weights (``dlib_face_recognition_resnet_model_v1.dat``, CC0 as stated by face-recognition-models)
ship offline, so this network takes VGGFace's place in the content loss L_CNT (paper §3.2) when VGGFace
weights are absent, and gives the identity metric (CSIM) without dlib.

The reader is pure Python: it parses dlib's serialisation format field by field (``dlib/serialize.h``,
``dlib/dnn/core.h``, ``layers.h``, ``input.h``, ``loss.h``) against the known topology and never
executes or unpickles anything. The topology is not in the file; it is ``anet_type`` of
``tools/python/src/face_recognition.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<
      ares_down<256, ares<256, ares<256, ares_down<256, ares<128, ares<128, ares_down<128,
      ares<64, ares<64, ares<64, ares_down<64, ares<32, ares<32, ares<32,
      max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>...

dlib semantics reproduced here: convolution padding is 0 whenever the stride is not 1 (else k//2);
the down block's skip path is a 2x2/2 average pool; ``add_prev`` zero-pads both operands, top-left
aligned, to the larger channel count and spatial size (3x3 meets 4x4 at 150 px); inputs are RGB
0..255 minus the per-channel means stored in the file, divided by 256.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...runtime.errors import BadInputError

if TYPE_CHECKING:  # pragma: no cover
    from ...runtime.runtime import Runtime

CHIP_SIZE = 150
SPEC_NAME = "dlib-face-resnet"
# (channels, number of plain residual blocks, starts with a down block), input to output (alevel4..0)
STAGES = ((32, 3, False), (64, 3, True), (128, 2, True), (256, 2, True), (256, 0, True))


# -- reader ---------------------------------------------------------------------------------------

class _Stream:
    """Cursor over the file's bytes; every read is bounds-checked and errors name the file."""

    def __init__(self, data: bytes, path: str):
        self.data, self.pos, self.path = data, 0, path

    def fail(self, what: str) -> BadInputError:
        return BadInputError(f"not a readable dlib face-recognition ResNet: {what} at byte {self.pos}", self.path)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"file truncated (needed {n} more bytes)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int_(self) -> int:
        ctrl = self.take(1)[0]
        size = ctrl & 0x0F
        if size == 0 or size > 8 or ctrl & 0x70:
            raise self.fail(f"bad integer control byte 0x{ctrl:02x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if ctrl & 0x80 else value

    def float_(self) -> float:
        mantissa, exponent = self.int_(), self.int_()
        if exponent >= 32000:  # dlib float_details: 32000 inf, 32001 -inf, 32002 nan
            raise self.fail("non-finite number")
        return float(mantissa) * 2.0 ** exponent

    def string(self) -> str:
        n = self.int_()
        if not 0 <= n <= 64:
            raise self.fail(f"implausible string length {n}")
        return self.take(n).decode("latin-1")

    def bool_(self) -> bool:
        ch = self.take(1)
        if ch not in (b"0", b"1"):
            raise self.fail(f"bad bool byte {ch!r}")
        return ch == b"1"

    def expect(self, value: int, what: str) -> None:
        got = self.int_()
        if got != value:
            raise self.fail(f"{what} is {got}, expected {value}")

    def dims(self) -> tuple[int, int, int, int]:
        dims = tuple(self.int_() for _ in range(4))
        if min(dims) < 0:
            raise self.fail(f"negative tensor size {dims}")
        return dims  # type: ignore[return-value]

    def tensor(self) -> np.ndarray:
        """dlib resizable_tensor: version 2, n, k, nr, nc, then little-endian float32 data."""
        self.expect(2, "tensor version")
        dims = self.dims()
        raw = self.take(4 * math.prod(dims))  # Python ints: no overflow on forged sizes
        return np.frombuffer(raw, dtype="<f4").reshape(dims).astype(np.float32)

    def alias(self) -> tuple[int, int, int, int]:
        """dlib alias_tensor: version 1, n, k, nr, nc (shape only)."""
        self.expect(1, "alias tensor version")
        return self.dims()


@dataclass
class _Layer:
    """One computational layer of the topology and, after reading, its parameters."""

    kind: str  # con | affine | relu | max_pool | avg_pool | add_prev | fc
    attrs: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    version: int = 0


def _topology() -> list[_Layer | str]:
    """anet_type from the input side to the output side; ``"tag"``/``"skip"`` are the wrappers."""
    def con(n: int, k: int, s: int) -> _Layer:
        return _Layer("con", {"filters": n, "kernel": k, "stride": s, "pad": 0 if s != 1 else k // 2})

    out: list[_Layer | str] = [con(32, 7, 2), _Layer("affine"), _Layer("relu"),
                               _Layer("max_pool", {"size": 3, "stride": 2})]
    for n, blocks, down in STAGES:
        kinds = [True] * down + [False] * blocks
        for is_down in kinds:
            body = ["tag", con(n, 3, 2 if is_down else 1), _Layer("affine"), _Layer("relu"),
                    con(n, 3, 1), _Layer("affine")]
            tail = ["tag", "skip", _Layer("avg_pool", {"size": 2, "stride": 2})] if is_down else []
            out += body + tail + [_Layer("add_prev"), _Layer("relu")]
    return out + [_Layer("avg_pool", {"size": 0, "stride": 1}), _Layer("fc", {"outputs": 128, "inputs": 256})]


def _read_details(s: _Stream, layer: _Layer) -> None:
    """Read one layer's ``details`` record and check it against the topology."""
    name = s.string()
    kind, a = layer.kind, layer.attrs
    if kind == "con" and name in ("con_4", "con_5", "con_6"):
        params = s.tensor()
        got = [s.int_() for _ in range(7)]  # num_filters, nr, nc, stride_y, stride_x, pad_y, pad_x
        want = [a["filters"], a["kernel"], a["kernel"], a["stride"], a["stride"], a["pad"], a["pad"]]
        if got != want:
            raise s.fail(f"convolution {got} where {want} was expected")
        fshape, bshape = s.alias(), s.alias()
        [s.float_() for _ in range(4)]  # learning-rate and weight-decay multipliers
        use_bias = s.bool_() if name in ("con_5", "con_6") else True
        if name == "con_6":
            s.bool_()  # use_relu (a fused-relu flag, false in this model)
        nf = math.prod(fshape)
        if params.size != nf + (math.prod(bshape) if use_bias else 0) or fshape[0] != a["filters"]:
            raise s.fail(f"convolution parameters have {params.size} values for filters {fshape}")
        layer.arrays["weight"] = params.reshape(-1)[:nf].reshape(fshape)
        layer.arrays["bias"] = params.reshape(-1)[nf:] if use_bias else np.zeros(fshape[0], np.float32)
    elif kind == "affine" and name in ("affine_", "affine_2"):
        params, g, b = s.tensor(), s.alias(), s.alias()
        s.int_()  # mode (conv / fc)
        if name == "affine_2" and s.bool_():
            raise s.fail("disabled affine layer")
        ng = math.prod(g)
        if params.size != ng + math.prod(b):
            raise s.fail("affine parameters do not match gamma and beta")
        layer.arrays["gamma"], layer.arrays["beta"] = params.reshape(-1)[:ng], params.reshape(-1)[ng:]
    elif kind == "relu" and name in ("relu_", "relu_2"):
        if name == "relu_2" and s.bool_():
            raise s.fail("disabled relu layer")
    elif kind in ("max_pool", "avg_pool") and name == f"{kind}_2":
        got = [s.int_() for _ in range(6)]
        size, st = a["size"], a["stride"]
        pad = 0 if st != 1 else size // 2
        if got != [size, size, st, st, pad, pad]:
            raise s.fail(f"{kind} {got} where {[size, size, st, st, pad, pad]} was expected")
    elif kind == "add_prev" and name == "add_prev_":
        pass
    elif kind == "fc" and name in ("fc_2", "fc_3"):
        n_out, n_in, params = s.int_(), s.int_(), s.tensor()
        s.alias(), s.alias()  # weights, biases (shapes only)
        if s.int_() != 1:  # fc_bias_mode: FC_NO_BIAS
            raise s.fail("fully connected layer with a bias")
        [s.float_() for _ in range(4)]
        if name == "fc_3":
            s.bool_()
        if (n_out, n_in) != (a["outputs"], a["inputs"]) or params.size != n_in * n_out:
            raise s.fail(f"fully connected layer {n_in}x{n_out}, expected {a['inputs']}x{a['outputs']}")
        layer.arrays["weight"] = params.reshape(n_in, n_out)  # stored input-by-output
    else:
        raise s.fail(f"layer record {name!r} where a {kind} layer was expected")


@dataclass
class DlibResNetFile:
    """What the reader got from the file: input means, loss header and layers (input to output)."""

    means: tuple[float, float, float]
    margin: float
    distance_threshold: float
    layers: list[_Layer]


def read_dlib_face_resnet(path: str | PathLike) -> DlibResNetFile:
    """Parse ``dlib_face_recognition_resnet_model_v1.dat`` without executing anything from it.

    Raises:
        BadInputError: the file is unreadable, truncated, foreign or has another topology.
    """
    try:
        s = _Stream(Path(path).read_bytes(), str(path))
    except OSError as exc:
        raise BadInputError(f"cannot read dlib face-recognition model: {exc}", path) from exc
    s.expect(1, "loss layer version")
    name = s.string()
    if name not in ("loss_metric_", "loss_metric_2"):
        raise s.fail(f"loss record {name!r}, expected 'loss_metric_2'")
    margin, thresh = (s.float_(), s.float_()) if name == "loss_metric_2" else (0.1, 0.75)
    topo = _topology()
    for item in reversed(topo):  # headers, output side first: each record carries its subnet first
        if isinstance(item, _Layer):
            item.version = s.int_()
            if item.version not in ((2, 3) if item is topo[0] else (1, 2)):
                raise s.fail(f"layer record version {item.version}")
        else:
            s.expect(1, f"{item} layer version")
    if s.string() != "input_rgb_image_sized":
        raise s.fail("input layer is not input_rgb_image_sized")
    means = (s.float_(), s.float_(), s.float_())
    if (s.int_(), s.int_()) != (CHIP_SIZE, CHIP_SIZE):
        raise s.fail(f"input size is not {CHIP_SIZE}x{CHIP_SIZE}")
    layers = [item for item in topo if isinstance(item, _Layer)]
    for i, layer in enumerate(layers):  # details, input side first
        _read_details(s, layer)
        [s.bool_() for _ in range(3)]  # setup called, gradient stale, output disabled
        s.tensor(), s.tensor()  # x_grad, cached_output
        if i == 0:
            s.tensor()  # grad_final
            if layer.version >= 3:
                s.int_()  # sample expansion factor
        elif layer.version == 2:
            s.tensor()  # params_grad
    if s.pos != len(s.data):
        raise s.fail(f"{len(s.data) - s.pos} unexpected trailing bytes")
    return DlibResNetFile(means, margin, thresh, layers)


# -- network --------------------------------------------------------------------------------------

def add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib ``add_prev``: zero-pad both (N,C,H,W) operands top-left aligned to the larger C, H, W, then add."""
    size = [max(x, y) for x, y in zip(a.shape[1:], b.shape[1:])]

    def pad(t: torch.Tensor) -> torch.Tensor:
        c, h, w = t.shape[1:]
        return F.pad(t, (0, size[2] - w, 0, size[1] - h, 0, size[0] - c)) if [c, h, w] != size else t

    return pad(a) + pad(b)


class _Block(nn.Module):
    """``ares`` / ``ares_down``: relu(add_prev(affine(con(relu(affine(con(x))))), skip(x)))."""

    def __init__(self, c_in: int, c_out: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 2 if down else 1, 0 if down else 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        skip = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(add_prev(y, skip))


class DlibFaceResNet(nn.Module):
    """dlib's face-recognition ResNet (anet_type), affine layers folded into the convolutions.

    Inputs are RGB chips in 0..255 aligned as ``dlib.get_face_chip`` does (see ``face_chip.py``);
    other sizes are resized to 150x150 inside the graph.
    """

    def __init__(self, means: tuple[float, float, float] = (122.782, 117.001, 104.298)):
        super().__init__()
        self.register_buffer("means", torch.tensor(means, dtype=torch.float32).view(1, 3, 1, 1))
        self.stem = nn.Conv2d(3, 32, 7, 2, 0)
        blocks, c_in = [], 32
        for n, count, down in STAGES:
            stage = [_Block(c_in, n, True)] if down else []
            stage += [_Block(n, n, False) for _ in range(count)]
            blocks.append(nn.Sequential(*stage))
            c_in = n
        self.stages = nn.ModuleList(blocks)
        self.fc = nn.Linear(256, 128, bias=False)

    def features(self, chips: torch.Tensor) -> list[torch.Tensor]:
        """Stem and residual-stage outputs.

        Args:
            chips: (N,3,H,W) float RGB 0..255 (H = W = 150 expected; resized otherwise).
        Returns:
            [(N,32,72,72) stem (relu, before max-pool), (N,32,35,35), (N,64,17,17), (N,128,8,8),
            (N,256,4,4), (N,256,2,2)].
        """
        if chips.ndim != 4 or chips.shape[1] != 3:
            raise ValueError(f"chips must be (N,3,H,W), got {tuple(chips.shape)}")
        if chips.shape[-2:] != (CHIP_SIZE, CHIP_SIZE):  # area when shrinking, bilinear when enlarging
            shrink = min(chips.shape[-2:]) > CHIP_SIZE
            chips = F.interpolate(chips, size=(CHIP_SIZE, CHIP_SIZE), mode="area" if shrink else "bilinear",
                                  align_corners=None if shrink else False)
        x = F.relu(self.stem((chips - self.means) / 256.0))
        feats = [x]
        # same values; torch's NCHW CPU max-pool kernel is ~5x slower than its channels-last one (one thread,
        # batch 16: 25 -> 5 ms without grad, 27 -> 18 ms with), a tenth of the whole loss step
        x = F.max_pool2d(x.contiguous(memory_format=torch.channels_last), 3, 2).contiguous()
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def embed(self, last: torch.Tensor) -> torch.Tensor:
        """(N,256,h,w) last stage output -> (N,128) descriptor (global mean, then fc)."""
        return self.fc(last.mean(dim=(2, 3)))

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """(N,3,150,150) RGB 0..255 float -> (N,128) face descriptors (not normalised, as dlib's)."""
        return self.embed(self.features(chips)[-1])


def _fold(con: _Layer, affine: _Layer) -> tuple[torch.Tensor, torch.Tensor]:
    """affine(con(x)) = con'(x): W' = W * gamma, b' = b * gamma + beta (per output channel)."""
    g, b = affine.arrays["gamma"].reshape(-1), affine.arrays["beta"].reshape(-1)
    w = con.arrays["weight"] * g[:, None, None, None]
    return torch.from_numpy(np.ascontiguousarray(w)), torch.from_numpy(con.arrays["bias"] * g + b)


def build_dlib_face_resnet(parsed: DlibResNetFile) -> DlibFaceResNet:
    """Copy the parsed parameters into a ``DlibFaceResNet`` (eval mode, frozen)."""
    net = DlibFaceResNet(parsed.means)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    layers = [la for la in parsed.layers if la.kind in ("con", "affine")]
    pairs = list(zip(layers[0::2], layers[1::2]))
    if len(pairs) != len(convs):  # topology guarantees this; kept as a named check
        raise RuntimeError(f"{len(pairs)} conv/affine pairs for {len(convs)} convolutions")
    with torch.no_grad():
        for conv, (con, affine) in zip(convs, pairs):
            w, b = _fold(con, affine)
            conv.weight.copy_(w)
            conv.bias.copy_(b)
        fc = next(la for la in parsed.layers if la.kind == "fc")
        net.fc.weight.copy_(torch.from_numpy(np.ascontiguousarray(fc.arrays["weight"].T)))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def load_dlib_face_resnet(path: str | PathLike) -> DlibFaceResNet:
    """Read the ``.dat`` file and return the network in eval mode with frozen parameters."""
    return build_dlib_face_resnet(read_dlib_face_resnet(path))


def load_dlib_face_resnet_cached(rt: Runtime, path: str | PathLike | None = None) -> DlibFaceResNet:
    """Resolve ``dlib-face-resnet`` through the runtime and load it once per (file, device, precision).

    Raises:
        MissingWeightsError: the file was found nowhere (every place looked at is named).
    """
    resolved = rt.resolve(SPEC_NAME, explicit=path)
    return rt.load_cached((SPEC_NAME, str(resolved)),
                          lambda: load_dlib_face_resnet(resolved).to(rt.device))


__all__ = ["DlibFaceResNet", "DlibResNetFile", "add_prev", "build_dlib_face_resnet", "load_dlib_face_resnet",
           "load_dlib_face_resnet_cached", "read_dlib_face_resnet"]
