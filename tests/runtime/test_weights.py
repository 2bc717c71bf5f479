import hashlib
import pickle

import pytest
import torch
from talkinghead.runtime import weights as w
from talkinghead.runtime.errors import BadInputError, MissingWeightsError
from talkinghead.runtime.runtime import Runtime


def _spec(sha: str = "") -> w.ModelSpec:
    return w.ModelSpec("test-model", "test-model.bin", sha, "", "test", "test weights")


@pytest.fixture
def places(tmp_path, monkeypatch):
    env, models, torch_home = tmp_path / "env", tmp_path / "models", tmp_path / "torch"
    for p in (env, models, torch_home / "hub" / "checkpoints"):
        p.mkdir(parents=True)
    monkeypatch.setenv("TALKINGHEAD_MODELS", str(env))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    return env, models, torch_home / "hub" / "checkpoints"


def test_resolution_order(places, tmp_path):
    env, models, hub = places
    spec = _spec()
    explicit = tmp_path / "explicit.bin"
    for folder in (env, models, hub):
        (folder / spec.filename).write_bytes(folder.name.encode())
    explicit.write_bytes(b"explicit")
    assert w.resolve(spec, explicit=explicit, models_dir=models) == explicit
    assert w.resolve(spec, models_dir=models) == env / spec.filename
    (env / spec.filename).unlink()
    assert w.resolve(spec, models_dir=models) == models / spec.filename
    (models / spec.filename).unlink()
    assert w.resolve(spec, models_dir=models) == hub / spec.filename


def test_comfyui_models_folder_is_searched(places, tmp_path, monkeypatch):
    import sys
    import types

    _env, models, _hub = places
    comfy = tmp_path / "ComfyUI" / "models"
    (comfy / "talkinghead").mkdir(parents=True)
    (comfy / "talkinghead" / "test-model.bin").write_bytes(b"c")
    monkeypatch.setitem(sys.modules, "folder_paths", types.SimpleNamespace(models_dir=str(comfy)))
    assert w.resolve(_spec(), models_dir=models) == comfy / "talkinghead" / "test-model.bin"


def test_missing_names_every_place_and_fetch_command(places):
    env, models, hub = places
    spec = w.get_spec("fan-2d")
    with pytest.raises(MissingWeightsError) as info:
        w.resolve(spec, models_dir=models)
    message = str(info.value)
    assert spec.filename in message
    for folder in (env, models, hub):
        assert str(folder / spec.filename) in message
    assert "talkinghead weights fetch fan-2d" in message
    assert info.value.exit_code == 4


def test_hash_mismatch_and_prefix(places):
    env, _, _ = places
    data = b"weights"
    (env / "test-model.bin").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    assert w.resolve(_spec(digest)) == env / "test-model.bin"
    assert w.resolve(_spec(digest[:10])) == env / "test-model.bin"
    with pytest.raises(MissingWeightsError, match="does not match"):
        w.resolve(_spec("0" * 64))


def test_runtime_resolve_uses_models_dir(places):
    _, models, _ = places
    (models / "talkinghead-small-128.safetensors").write_bytes(b"x")
    rt = Runtime(device="cpu", models_dir=models)
    assert rt.resolve("base-small-128") == models / "talkinghead-small-128.safetensors"
    assert rt.has_weights("base-small-128") and not rt.has_weights("base-paper-256")


def test_safetensors_roundtrip_with_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    tensors = {"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(4, dtype=torch.int64)}
    w.save_safetensors(path, tensors, {"preset": "tiny-64", "nested": {"k": [1, 2]}})
    loaded, meta = w.load_safetensors(path)
    assert meta == {"preset": "tiny-64", "nested": {"k": [1, 2]}}
    assert torch.equal(loaded["a"], tensors["a"]) and torch.equal(loaded["b"], tensors["b"])


def test_pickled_checkpoint_refused(tmp_path):
    zipped = tmp_path / "model.safetensors"  # a torch.save file wearing the wrong suffix
    torch.save({"w": torch.ones(2)}, zipped)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=4))
    for path in (zipped, raw):
        with pytest.raises(BadInputError, match="pickled") as info:
            w.load_safetensors(path)
        assert str(path) in str(info.value)


def test_weights_only_converter_reads_plain_state_dict_but_not_code(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}}, good)
    assert torch.equal(w.load_pickled_state_dict(good)["w"], torch.ones(2))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pth"
    torch.save({"w": Evil()}, evil)
    with pytest.raises(BadInputError):
        w.load_pickled_state_dict(evil)


def test_corrupt_safetensors_named(tmp_path):
    path = tmp_path / "broken.safetensors"
    w.save_safetensors(path, {"a": torch.ones(100)}, {})
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(BadInputError) as info:
        w.load_safetensors(path)
    assert str(path) in str(info.value)


def test_safetensors_whose_header_length_starts_like_pickle(tmp_path):
    """A header length whose low byte is 0x80 must not be mistaken for a pickle."""
    path = tmp_path / "m.safetensors"
    for pad in range(300):
        w.save_safetensors(path, {"a": torch.ones(1)}, {"pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    tensors, _meta = w.load_safetensors(path)
    assert torch.equal(tensors["a"], torch.ones(1))


def test_convert_command(tmp_path, capsys):
    from talkinghead.plugin import cli

    src, dst = tmp_path / "vgg.pth", tmp_path / "vgg.safetensors"
    torch.save({"features.0.weight": torch.ones(2, 2)}, src)
    assert cli.main(["weights", "convert", str(src), str(dst)]) == 0
    tensors, _meta = w.load_safetensors(dst)
    assert torch.equal(tensors["features.0.weight"], torch.ones(2, 2))
