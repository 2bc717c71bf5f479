"""ONNX Runtime backend of generation: parity with the torch generator, call signature, caching."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from talkinghead.nodes.export.onnx_export import example_sketch, export_onnx
from talkinghead.nodes.generate_onnx import OnnxGenerator, onnx_generator, onnx_person_generator
from talkinghead.runtime.errors import UsageError
from talkinghead.runtime.runtime import Runtime

_spec = importlib.util.spec_from_file_location("export_tests", Path(__file__).parents[1] / "plugin" / "test_export.py")
_export_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_export_tests)
make_generator, make_person = _export_tests.make_generator, _export_tests.make_person


@pytest.mark.parametrize("preset", ["tiny-64", "small-128"])
def test_onnx_backend_matches_torch(preset, tmp_path):
    G, size = make_generator(preset)
    path = tmp_path / "g.onnx"
    export_onnx(G, size, path)
    rt = Runtime(device="cpu")
    gen = onnx_generator(rt, path)
    assert isinstance(gen, OnnxGenerator) and gen.size == size
    assert gen.providers == ["CPUExecutionProvider"]
    assert onnx_generator(rt, path).session is gen.session  # the runtime's session cache
    y = example_sketch(3, size, seed=7)
    with torch.no_grad():
        expected = G(y)
    out_torch = gen(y)  # torch in -> torch out, same device and dtype
    assert isinstance(out_torch, torch.Tensor) and out_torch.dtype == y.dtype and out_torch.device == y.device
    assert (out_torch - expected).abs().max().item() <= 1e-3
    out_np = gen(y.numpy())  # numpy in -> numpy out
    assert isinstance(out_np, np.ndarray) and out_np.shape == (3, 3, size, size)
    assert np.abs(out_np - expected.numpy()).max() <= 1e-3
    assert expected.std() > 1e-2
    with pytest.raises(UsageError, match=rf"\(B, 3, {size}, {size}\)"):
        gen(np.zeros((1, 3, size // 2, size // 2), np.float32))
    with pytest.raises(UsageError, match="no such ONNX file"):
        onnx_generator(rt, tmp_path / "nope.onnx")


def test_person_export_is_cached(tmp_path):
    person = make_person("tiny-64")  # skips while nodes/person.py is absent
    from talkinghead.nodes.person import person_generator

    rt = Runtime(device="cpu")
    first = onnx_person_generator(rt, person, cache_dir=tmp_path)
    files = sorted(tmp_path.glob("*.onnx"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    y = example_sketch(2, first.size, seed=8)
    with torch.no_grad():
        assert (first(y) - person_generator(person, "cpu")(y)).abs().max().item() <= 1e-3
    second = onnx_person_generator(rt, person, cache_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == mtime  # not exported again
    assert second.session is first.session
    person.psi = person.psi + 0.5  # another psi' is another model
    onnx_person_generator(rt, person, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.onnx"))) == 2
