"""`talkinghead render` on bad input (issue 16): output locations checked before any work, damaged or
swapped person files (tensor shapes, tensor digest, consent binding, files saved before digests), driver
tracks named as passed, empty tracks, reversed frame ranges."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("c2pa")

from talkinghead.nodes.provenance.consent import attach_consent, new_record
from talkinghead.plugin.cli import main


def _render_test_module():
    """tests/plugin/test_render.py's synthetic face and track helpers (no package to import them from)."""
    spec = importlib.util.spec_from_file_location("render_helpers", Path(__file__).with_name("test_render.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


helpers = _render_test_module()


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> dict:
    """A PersonModel file (a photo + a tiny-64 network) with a consent record, a driver track and a test CA."""
    from dataclasses import replace

    import torch
    from talkinghead.nodes.person import feed_forward_person, load_base
    from talkinghead.nodes.provenance.certs import make_test_ca
    from talkinghead.nodes.types import Identity
    from talkinghead.runtime.runtime import Runtime

    root = tmp_path_factory.mktemp("render_bad")
    torch.manual_seed(0)
    base = load_base(Runtime(device="cpu"), preset="tiny-64")
    e_hat = np.random.default_rng(1).standard_normal(base.cfg.embed_dim).astype(np.float32)
    identity = Identity(e_hat, 1, ["0" * 64], helpers.face68(110, 90, 40)[None], np.array([[180, 220]]),
                        base.model_id)
    photo = np.random.default_rng(2).integers(0, 255, (180, 220, 3), dtype=np.uint8)
    person = replace(feed_forward_person(base, attach_consent(identity, new_record("Ada", "self", "tests", "Ada"))),
                     photos=[torch.from_numpy(photo)])
    person.info["crop"] = {"size": 64, "margin": 0.4}
    person.save(root / "person.safetensors")
    ca = make_test_ca(root / "ca")
    return {"person": root / "person.safetensors", "track": helpers.write_track(root / "driver.npz", n=4),
            "sign": ["--sign-cert", str(ca["cert"]), "--sign-key", str(ca["key"])], "root": root}


def render(kit, out: Path, *extra: str, person: Path | None = None, driver: Path | None = None) -> int:
    return main(["--device", "cpu", "render", "--person", str(person or kit["person"]),
                 "--driver", str(driver or kit["track"]), "--out", str(out), "--batch", "4", *kit["sign"], *extra])


def largest_g_tensor(path: Path) -> tuple[str, int, int]:
    """(name, start, end) byte range in the file of the person's largest generator tensor."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    name = max((k for k in header if k.startswith("G.")), key=lambda k: np.subtract(*header[k]["data_offsets"][::-1]))
    start, end = header[name]["data_offsets"]
    return name, 8 + n + start, 8 + n + end


def copy_of(kit, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(kit["person"].read_bytes())
    return path


def test_output_location_is_checked_before_any_work(kit, tmp_path, capsys, monkeypatch):
    from talkinghead.nodes.generate import GenerateFrames
    from talkinghead.nodes.landmarks.extract import ExtractLandmarks

    ran = []
    monkeypatch.setattr(GenerateFrames, "run", lambda *a, **k: ran.append("generate"))
    monkeypatch.setattr(ExtractLandmarks, "run", lambda *a, **k: ran.append("landmarks"))
    blocker = tmp_path / "plain_file"
    blocker.write_text("not a folder")
    assert render(kit, blocker / "shot.####.png") == 3
    assert "plain_file: is a file, not a folder: --out cannot write under it" in capsys.readouterr().err
    assert render(kit, tmp_path / "ok" / "shot.####.png", "--mp4", str(blocker / "shot.mp4")) == 3
    assert "plain_file: is a file, not a folder: --mp4 cannot write under it" in capsys.readouterr().err

    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(tempfile, "mkstemp", denied)  # the folder exists but cannot be written
    assert render(kit, tmp_path / "locked" / "shot.####.png", driver=tmp_path / "driver.mp4") == 3
    assert "locked: the folder is not writable (Permission denied): --out cannot write in it" in capsys.readouterr().err
    assert ran == []  # neither the driver's landmarks nor the generator ran


def test_reversed_frame_range_is_a_usage_error(kit, tmp_path, capsys):
    assert render(kit, tmp_path / "r" / "shot.####.png", "--frames", "50-10") == 2
    assert "the end 10 comes before the start 50" in capsys.readouterr().err


def test_driver_messages_name_the_npz_passed(kit, tmp_path, capsys):
    assert render(kit, tmp_path / "a" / "shot.####.png", "--frames", "90-95") == 3
    err = capsys.readouterr().err
    assert f"{kit['track']}, frame 90: frame(s) [90, 91, 92, 93, 94]" in err and "driver.mp4" not in err
    faceless = helpers.write_track(tmp_path / "faceless.npz", n=3, invalid=(0, 1, 2))
    assert render(kit, tmp_path / "b" / "shot.####.png", driver=faceless) == 3
    err = capsys.readouterr().err
    assert "faceless.npz, frame 100: the driving track has no frame with a valid face" in err and "driver.mp4" not in err


def test_empty_npz_is_not_a_facetrack(kit, tmp_path, capsys):
    empty = tmp_path / "empty.npz"
    np.savez(empty)
    assert render(kit, tmp_path / "e" / "shot.####.png", driver=empty) == 3
    assert f"{empty}: not a FaceTrack file: missing landmarks/meta" in capsys.readouterr().err
    zero = tmp_path / "zero.npz"
    zero.write_bytes(b"")
    assert render(kit, tmp_path / "z" / "shot.####.png", driver=zero) == 3
    assert f"{zero}: not a FaceTrack file" in capsys.readouterr().err


def test_tensor_of_the_wrong_shape_is_named(kit, tmp_path, capsys):
    import torch
    from talkinghead.nodes.types import PersonModel

    person = PersonModel.load(kit["person"])
    name = next(k for k, v in person.generator.items() if v.ndim == 4)
    person.generator[name] = torch.zeros(3, 3)
    person.save(tmp_path / "reshaped.safetensors")  # a consistent file (digest written) with a bad tensor
    assert render(kit, tmp_path / "s" / "shot.####.png", person=tmp_path / "reshaped.safetensors") == 3
    err = capsys.readouterr().err
    assert f"reshaped.safetensors: tensor G.{name} has shape (3, 3); the stored network config needs" in err
    assert "Traceback" not in err


def test_changed_weight_bytes_are_refused_by_render_consent_check_and_verify(kit, tmp_path, capsys):
    path = copy_of(kit, tmp_path, "flipped.safetensors")
    _name, start, end = largest_g_tensor(path)
    data = bytearray(path.read_bytes())
    data[(start + end) // 2] ^= 0x01  # one bit of one weight
    path.write_bytes(bytes(data))
    assert render(kit, tmp_path / "f" / "shot.####.png", person=path) == 3
    assert "flipped.safetensors: the tensors do not match the digest written when the file was saved" in \
        capsys.readouterr().err
    assert not list((tmp_path / "f").glob("shot.*.png"))
    assert main(["consent", "check", str(path)]) == 3
    assert "do not match the digest" in capsys.readouterr().err
    assert main(["verify", str(path)]) == 3
    out = capsys.readouterr().out
    assert "DO NOT MATCH the digest" in out and "the weights it was bound to have changed" in out
    assert main(["verify", str(kit["person"])]) == 0
    assert "holds and is bound to these weights" in capsys.readouterr().out


def rewrite(path: Path, tensors_fn=None, meta_fn=None) -> None:
    """Rewrite a model file as a careless tool would: the tensors digest recomputed, the binding left alone."""
    from talkinghead.runtime.weights import load_safetensors, save_safetensors, tensors_digest

    tensors, meta = load_safetensors(path)
    tensors = tensors_fn(tensors) if tensors_fn else tensors
    meta = meta_fn(meta) if meta_fn else meta
    if "tensors_digest" in meta:
        meta["tensors_digest"] = tensors_digest(tensors)
    save_safetensors(path, tensors, meta)


def test_weights_or_record_swapped_under_a_valid_consent_are_found(kit, tmp_path, capsys):
    swapped = copy_of(kit, tmp_path, "swapped.safetensors")

    def other_weights(tensors):
        name = next(k for k in tensors if k.startswith("G.") and tensors[k].ndim == 4)
        return {**tensors, name: tensors[name] + 0.01}

    rewrite(swapped, tensors_fn=other_weights)
    assert render(kit, tmp_path / "w" / "shot.####.png", person=swapped) == 3
    assert "is not bound to these weights" in capsys.readouterr().err
    assert main(["consent", "check", str(swapped)]) == 3
    assert "is not bound to these weights" in capsys.readouterr().err
    assert main(["verify", str(swapped)]) == 3
    capsys.readouterr()

    other = new_record("Bob", "self", "tests", "Bob").to_dict()  # a valid record, but not this file's
    relabelled = copy_of(kit, tmp_path, "relabelled.safetensors")
    rewrite(relabelled, meta_fn=lambda m: {**m, "identity": {**m["identity"], "consent": other,
                                                             "consent_id": other["id"]}})
    assert main(["consent", "check", str(relabelled)]) == 3
    assert f"consent {other['id']} is not bound to these weights" in capsys.readouterr().err


def test_file_saved_before_digests_is_refused_until_sealed(kit, tmp_path, capsys, caplog):
    old = copy_of(kit, tmp_path, "old.safetensors")
    rewrite(old, meta_fn=lambda m: {k: v for k, v in m.items() if k not in ("tensors_digest", "consent_binding")})
    out = tmp_path / "o" / "shot.####.png"
    assert render(kit, out) == 0
    assert "preset tiny-64" in capsys.readouterr().out  # the report says which preset rendered
    assert render(kit, tmp_path / "o2" / "shot.####.png", person=old) == 3
    err = capsys.readouterr().err
    assert "saved without a tensor digest" in err and f"talkinghead consent seal {old}" in err
    assert "saved without a tensor digest (by an older talkinghead)" in caplog.text  # the load warns
    assert render(kit, tmp_path / "o3" / "shot.####.png", "--no-consent-check", person=old) == 0
    assert main(["consent", "check", str(old)]) == 3
    assert main(["verify", str(old)]) == 3
    assert "carry no digest" in capsys.readouterr().out
    caplog.clear()
    assert main(["consent", "seal", str(old)]) == 0
    assert f"{old}: sealed" in capsys.readouterr().out and "saved without a tensor digest" not in caplog.text
    assert main(["consent", "check", str(old)]) == 0
    assert "bound to the file's weights" in capsys.readouterr().out
    assert main(["consent", "seal", str(old)]) == 0 and "already sealed" in capsys.readouterr().out
    assert render(kit, tmp_path / "o4" / "shot.####.png", person=old) == 0
