"""render refuses a PersonModel without valid consent unless --no-consent-check (recorded); verify reports the
manifest and the watermark of render output; the pyblish consent validator fails a publish without consent."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("c2pa")

from talkinghead.nodes.provenance.consent import ConsentRecord, attach_consent, new_record
from talkinghead.plugin.cli import main


def _render_test_module():
    """tests/plugin/test_render.py's synthetic face and track helpers (no package to import them from)."""
    spec = importlib.util.spec_from_file_location("render_helpers", Path(__file__).with_name("test_render.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> dict:
    """PersonModels (a textured photo + a tiny-64 feed-forward network) with a valid, an expired and no consent
    record; a track; a test CA."""
    from dataclasses import replace

    import torch
    from talkinghead.nodes.person import feed_forward_person, load_base
    from talkinghead.nodes.provenance.certs import make_test_ca
    from talkinghead.nodes.types import Identity
    from talkinghead.runtime.runtime import Runtime

    helpers = _render_test_module()
    root = tmp_path_factory.mktemp("provenance_cli")
    torch.manual_seed(0)
    base = load_base(Runtime(device="cpu"), preset="tiny-64")
    e_hat = np.random.default_rng(1).standard_normal(int(getattr(base.cfg, "embed_dim", 512))).astype(np.float32)
    identity = Identity(e_hat, 1, ["0" * 64], helpers.face68(110, 90, 40)[None], np.array([[180, 220]]), base.model_id)
    valid = new_record("Ada", "licensed", "tests", "Ada (agreement T-1)")
    expired = new_record("Ada", "licensed", "tests", "Ada", granted="2020-01-01", expires="2021-01-01")
    paths = {}
    rng = np.random.default_rng(2)  # a textured photo and plate: 64 px crops alone are too small to carry the mark
    plate = (rng.random((180, 220, 3)) * 80 + np.linspace(40, 200, 220)[None, :, None]).astype(np.uint8)
    for name, record in (("valid", valid), ("expired", expired), ("none", None)):
        person = replace(feed_forward_person(base, attach_consent(identity, record)),
                         photos=[torch.from_numpy(plate[..., ::-1].copy())])
        person.info["crop"] = {"size": 64, "margin": 0.4}
        paths[name] = root / f"{name}.safetensors"
        person.save(paths[name])
    ca = make_test_ca(root / "ca")
    import cv2

    cv2.imwrite(str(root / "plate.png"), plate)
    return {**paths, "root": root, "plate": root / "plate.png", "track": helpers.write_track(root / "driver.npz", n=3), "valid_id": valid.id,
            "sign": ["--sign-cert", str(ca["cert"]), "--sign-key", str(ca["key"])], "ca": ca["ca"]}


def render(kit, person: str, out: Path, *extra: str) -> int:
    return main(["--device", "cpu", "render", "--person", str(kit[person]), "--driver", str(kit["track"]),
                 "--out", str(out / "shot.####.png"), "--batch", "4", *extra])


def test_render_refuses_without_consent_or_with_expired_consent(kit, tmp_path, capsys):
    assert render(kit, "none", tmp_path / "a", *kit["sign"]) == 3
    err = capsys.readouterr().err
    assert "none.safetensors: no consent record for this likeness" in err and "--no-consent-check" in err
    assert render(kit, "expired", tmp_path / "b", *kit["sign"]) == 3
    assert "expired.safetensors: consent c-" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/shot.*"))
    assert render(kit, "valid", tmp_path / "c") == 2  # no signing certificate given
    assert "no signing certificate" in capsys.readouterr().err


def test_no_consent_check_renders_and_is_recorded(kit, tmp_path, capsys):
    out = tmp_path / "skip"
    assert render(kit, "expired", out, *kit["sign"], "--no-consent-check", "--mp4", str(out / "shot.mp4"),
                  "--plate", str(kit["plate"])) == 0
    capsys.readouterr()
    assert main(["verify", str(out / "shot.0100.png"), str(out / "shot.mp4"), "--trust", str(kit["ca"]),
                 "--json", str(out / "verify.json")]) == 0
    said = capsys.readouterr().out
    assert "skipped (--no-consent-check)" in said and "expired on 2021-01-01" in said
    reports = json.loads((out / "verify.json").read_text())
    for report in reports:
        consent = report["manifest"]["provenance"]["consent"]
        assert consent["check"] == "skipped (--no-consent-check)" and consent["record"]["expires"] == "2021-01-01"
        assert report["manifest"]["state"] == "trusted"
    assert reports[1]["watermark"]["decoded"] == 3 and reports[1]["manifest"]["provenance"]["frames"] == 3


def test_render_output_verifies_and_tampering_shows(kit, tmp_path, capsys):
    out = tmp_path / "ok"
    assert render(kit, "valid", out, *kit["sign"], "--mp4", str(out / "shot.mp4"), "--plate", str(kit["plate"])) == 0
    capsys.readouterr()
    assert main(["verify", str(out / "shot.0101.png"), str(out / "shot.mp4"), "--trust", str(kit["ca"])]) == 0
    said = capsys.readouterr().out
    assert "valid, signer trusted" in said and "trainedAlgorithmicMedia" in said
    assert f"consent: {kit['valid_id']} (passed)" in said and "decoded on 3/3 frame(s)" in said
    frame = out / "shot.0102.png"
    data = bytearray(frame.read_bytes())
    data[data.index(b"IDAT") + 30] ^= 0x01  # flip one byte of the pixel data
    frame.write_bytes(bytes(data))
    assert main(["verify", str(frame), "--trust", str(kit["ca"])]) == 3
    said = capsys.readouterr().out
    assert "TAMPERED" in said and "pixels unreadable" in said  # the flipped byte also breaks the zlib stream


def test_verify_make_test_ca(tmp_path, capsys):
    assert main(["verify", "--make-test-ca", str(tmp_path / "ca")]) == 0
    assert {p.name for p in (tmp_path / "ca").iterdir()} == {"ca.pem", "signer.pem", "signer.key"}
    assert (tmp_path / "ca" / "signer.key").stat().st_mode & 0o077 == 0
    assert main(["verify"]) == 2


def _publish(data: dict):
    pytest.importorskip("pyblish.api")
    import pyblish.api
    import pyblish.util

    path = Path(__file__).parents[2] / "plugin" / "pyblish" / "validate_consent.py"
    spec = importlib.util.spec_from_file_location("validate_consent", path)  # pyblish runs it as a bare module
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    context = pyblish.api.Context()
    instance = context.create_instance("sh010", family="talkinghead.render")
    instance.data.update(data)
    pyblish.util.publish(context, plugins=[module.ValidateTalkingheadConsent])
    errors = [r["error"] for r in context.data["results"] if r["error"]]
    return instance, errors


def test_pyblish_validator_fails_a_publish_without_valid_consent(kit, tmp_path):
    instance, errors = _publish({"person": str(kit["valid"])})
    assert not errors and instance.data["consentRecord"]["id"] == kit["valid_id"]
    for person in ("none", "expired"):
        _, errors = _publish({"person": str(kit[person])})
        assert errors and f"{person}.safetensors" in str(errors[0]), errors
    _, errors = _publish({})
    assert errors and "no consent record" in str(errors[0])
    other = tmp_path / "other.json"
    new_record("Bob", "self", "tests", "Bob").save(other)
    _, errors = _publish({"person": str(kit["valid"]), "consent": str(other)})
    assert errors and "is not the one this likeness was made under" in str(errors[0])
    record = ConsentRecord.load(other).to_dict()
    instance, errors = _publish({"consent": record, "consentDate": "2030-01-01"})
    assert not errors and instance.data["consentRecord"]["subject"] == "Bob"
