"""ONNX / TorchScript export of the person generator: round trips, operator list, dtype/device agnosticism."""
import copy
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from talkinghead.nodes.export.onnx_export import ExportError, example_sketch, export_onnx
from talkinghead.nodes.export.person_export import person_size
from talkinghead.nodes.export.torchscript_export import check_agnostic, export_torchscript, fixed_device_ops
from talkinghead.plugin.cli import main
from talkinghead.runtime.runtime import Runtime
from torch import nn

PRESETS = ["tiny-64", "small-128"]


class BoundPsi(nn.Module):
    """G(y; psi') with psi' bound (what person_generator returns, built here from the networks alone)."""

    def __init__(self, G: nn.Module, psi: torch.Tensor):
        super().__init__()
        self.G = G
        self.register_buffer("psi", psi)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.G(y, psi=self.psi)


def make_generator(preset: str) -> tuple[nn.Module, int]:
    """The preset's real G, seeded, attention switched on (gamma != 0), spectral norm removed, psi = P e."""
    from talkinghead.nodes.networks.blocks import remove_spectral_norm
    from talkinghead.nodes.networks.generator import Generator
    from talkinghead.nodes.networks.presets import get_preset

    torch.manual_seed(0)
    cfg = get_preset(preset)
    G = Generator(cfg)
    for module in G.modules():
        if hasattr(module, "gamma"):  # SelfAttention starts at gamma = 0: make the attention path count
            nn.init.constant_(module.gamma, 0.5)
    remove_spectral_norm(G).eval()
    with torch.no_grad():
        psi = G.project(torch.rand(1, cfg.embed_dim))
    return BoundPsi(G, psi).eval(), cfg.image_size


def make_person(preset: str):
    """A real PersonModel of ``preset`` through nodes.person: seeded base, psi = P e_hat (E on one frame)."""
    person_mod = pytest.importorskip("talkinghead.nodes.person", reason="nodes/person.py is not present yet")
    from talkinghead.nodes.types import Identity

    base = person_mod.load_base(Runtime(device="cpu"), preset=preset)
    size = int(base.cfg.image_size)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    with torch.no_grad():
        e_hat = base.E.eval()(x, example_sketch(1, size)).mean(0)
    identity = Identity(e_hat=e_hat.numpy(), k=1, source_digests=["test"],
                        source_landmarks=np.zeros((1, 68, 2), np.float32), source_sizes=np.array([[size, size]]),
                        base_model=base.model_id)
    return person_mod.feed_forward_person(base, identity)


@pytest.fixture(scope="module", params=PRESETS)
def generator(request):
    return make_generator(request.param)


@pytest.fixture(scope="module")
def tiny_generator():
    return make_generator("tiny-64")


@pytest.fixture(scope="module")
def tiny_person():
    return make_person("tiny-64")


def torch_generator(person):
    from talkinghead.nodes.person import person_generator

    return person_generator(person, "cpu")


def test_onnx_round_trip_dynamic_batch(generator, tmp_path):
    G, size = generator
    path = tmp_path / "g.onnx"
    report = export_onnx(G, size, path, metadata={"preset": "test"})
    onnx.checker.check_model(str(path), full_check=True)
    proto = onnx.load(str(path))
    assert {o.domain or "ai.onnx": o.version for o in proto.opset_import}["ai.onnx"] == 17
    assert [i.name for i in proto.graph.input] == ["sketch"] and [o.name for o in proto.graph.output] == ["image"]
    assert report["inputs"][0]["shape"] == ["N", 3, size, size]
    assert report["parity_max_abs_error"] <= 1e-3
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        y = example_sketch(batch, size, seed=10 + batch)
        got = session.run(["image"], {"sketch": y.numpy()})[0]
        with torch.no_grad():
            expected = G(y).numpy()
        assert got.shape == (batch, 3, size, size)
        assert np.abs(got - expected).max() <= 1e-3
        assert expected.std() > 1e-2  # the generator output is not flat (else parity would be vacuous)


@pytest.mark.slow
def test_onnx_round_trip_paper_256(tmp_path):
    G, size = make_generator("paper-256")
    assert export_onnx(G, size, tmp_path / "g.onnx")["parity_max_abs_error"] <= 1e-3


def test_instance_norm_exports_accurately(tmp_path):
    """G's IN over 256x256 maps with a large mean: the exported two-level form stays at torch's accuracy."""

    class Norm(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.InstanceNorm2d(3, affine=True)
            nn.init.uniform_(self.norm.weight, 0.5, 2.0)
            nn.init.uniform_(self.norm.bias, -1.0, 1.0)

        def forward(self, x):
            return self.norm(x * 0.2 + 20.0)

    model = Norm().eval()
    export_onnx(model, 256, tmp_path / "norm.onnx")
    x = torch.randn(2, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        exact = copy.deepcopy(model).double()(x.double()).numpy()
    session = ort.InferenceSession(str(tmp_path / "norm.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"sketch": x.numpy()})[0]
    assert np.abs(got - exact).max() <= 3e-5  # ORT's InstanceNormalization kernel: 8e-5 here


def test_operator_list_next_to_file(tiny_generator, tmp_path):
    path = tmp_path / "g.onnx"
    export_onnx(*tiny_generator, path, metadata={"size": 64})
    listed = json.loads((tmp_path / "g.onnx.ops.json").read_text())
    proto = onnx.load(str(path))
    counted = {}
    for node in proto.graph.node:
        counted[node.op_type] = counted.get(node.op_type, 0) + 1
    assert listed["operators"] == counted
    assert listed["nodes"] == len(proto.graph.node)
    assert listed["domains"] == ["ai.onnx"]  # no contrib ops: engines other than ORT can load it
    assert {"Conv", "ReduceMean", "Resize", "MatMul", "Softmax"} <= set(listed["operators"])
    assert "InstanceNormalization" not in listed["operators"]  # exported as the accurate two-level form
    assert listed["metadata"]["size"] == "64"
    text = (tmp_path / "g.onnx.ops.txt").read_text()
    for op, count in counted.items():
        assert f"  {op:24s} {count}" in text
    assert "Unreal NNE" in text and "Houdini" in text and "Unity" in text


def test_export_refuses_spectral_norm(tiny_generator, tmp_path):
    G = copy.deepcopy(tiny_generator[0])
    conv = next(m for m in G.modules() if isinstance(m, nn.Conv2d))
    nn.utils.parametrizations.spectral_norm(conv)
    with pytest.raises(ExportError, match="spectral norm"):
        export_onnx(G, 64, tmp_path / "g.onnx")
    assert not (tmp_path / "g.onnx").exists()


def test_failed_parity_leaves_no_file(tiny_generator, tmp_path):
    with pytest.raises(ExportError, match="differs from torch"):
        export_onnx(*tiny_generator, tmp_path / "g.onnx", tol=0.0)
    assert list(tmp_path.iterdir()) == []


def _dtype_supported(dtype: torch.dtype) -> bool:
    try:
        conv = nn.Conv2d(3, 3, 3).to(dtype)
        nn.functional.instance_norm(conv(torch.zeros(1, 3, 8, 8, dtype=dtype)))
        return True
    except (RuntimeError, NotImplementedError):
        return False


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_torchscript_parity_and_dtype_agnostic(tiny_generator, tmp_path, dtype):
    if not _dtype_supported(dtype):
        pytest.skip(f"{dtype} convolution / instance norm not supported on this CPU build")
    G, size = tiny_generator
    path = tmp_path / "g.pt"
    record = export_torchscript(G, size, path)
    assert record["parity_max_abs_error"] <= 1e-3
    module = torch.jit.load(str(path))
    assert fixed_device_ops(module) == []
    x = (example_sketch(1, size, seed=4) + 1) / 2  # Nuke's 0..1 sketch
    with torch.no_grad():
        expected = (G(x * 2 - 1) + 1) / 2
        out = module(x)
    assert out.shape == (1, 3, size, size) and out.dtype == torch.float32
    assert (out - expected.clamp(0, 1)).abs().max() <= 1e-3
    errors = check_agnostic(module, size, (dtype,))[str(dtype).removeprefix("torch.")]
    assert errors["mean"] < (0.01 if dtype == torch.float16 else 0.05)  # low precision, same picture
    with torch.no_grad():  # Nuke feeds 4 channels (rgba) and any format: first 3 used, resized in and out
        assert module(torch.rand(1, 4, 80, 96)).shape == (1, 3, 80, 96)


def test_person_file_exports_through_cli(tiny_person, tmp_path, capsys):
    person_file = tmp_path / "anna.safetensors"
    tiny_person.save(person_file)
    assert person_size(tiny_person) == 64
    out = tmp_path / "anna.onnx"
    assert main(["export", "--person", str(person_file), "--format", "onnx", "--out", str(out)]) == 0
    assert out.is_file() and (tmp_path / "anna.onnx.ops.json").is_file()
    assert "parity" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    y = example_sketch(2, 64, seed=5)
    with torch.no_grad():
        expected = torch_generator(tiny_person)(y).numpy()
    assert np.abs(session.run(None, {"sketch": y.numpy()})[0] - expected).max() <= 1e-3
    pt = tmp_path / "anna.pt"
    assert main(["export", "--person", str(person_file), "--format", "torchscript", "--out", str(pt)]) == 0
    assert fixed_device_ops(torch.jit.load(str(pt))) == []
    assert main(["export", "--person", str(tmp_path / "missing.safetensors"), "--format", "onnx",
                 "--out", str(tmp_path / "x.onnx")]) == 3
    with pytest.raises(SystemExit) as exc:
        main(["export", "--person", str(person_file), "--format", "tflite", "--out", str(out)])
    assert exc.value.code == 2


class _BakedDevice(nn.Module):
    def forward(self, x):
        return x + torch.ones(x.shape[1], 1, 1)


class _FollowsInput(nn.Module):
    def forward(self, x):
        return x + torch.ones(x.shape[1], 1, 1, device=x.device, dtype=x.dtype)


class _BakedDtype(nn.Module):
    def forward(self, x):
        return x + torch.ones(x.shape[1], 1, 1, device=x.device, dtype=torch.float32)


def test_device_and_dtype_leaks_are_found():
    x = torch.rand(1, 3, 8, 8)
    assert fixed_device_ops(torch.jit.script(_BakedDevice())) != []
    assert fixed_device_ops(torch.jit.trace(_BakedDevice(), x)) != []
    assert fixed_device_ops(torch.jit.trace(_FollowsInput(), x)) != []  # tracing bakes x.device in
    assert fixed_device_ops(torch.jit.script(_FollowsInput())) == []
    with pytest.raises(ExportError, match="fixed dtype"):
        check_agnostic(torch.jit.script(_BakedDtype()), 8, (torch.bfloat16,))
