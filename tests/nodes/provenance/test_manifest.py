"""C2PA manifests via mark_output: valid and trusted on fresh PNG/JPEG/EXR/MP4, tampered after an edit, absent
on unsigned files; signed PNGs still pass render's validity check; the save-node API (mark_output)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("c2pa")

from talkinghead.nodes.provenance.certs import SigningCredentials, make_test_ca, trust_anchors
from talkinghead.nodes.provenance.consent import new_record
from talkinghead.nodes.provenance.manifest import DIGITAL_SOURCE_TYPE, read_manifest, sidecar_path
from talkinghead.nodes.provenance.mark import has_provenance
from talkinghead.nodes.provenance.output import mark_output
from talkinghead.nodes.provenance.verify import verify_file
from talkinghead.nodes.provenance.watermark import decode_watermark, payload_for
from talkinghead.runtime.errors import BadInputError, UsageError


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    root = tmp_path_factory.mktemp("provenance")
    ca = make_test_ca(root / "ca")
    rng = np.random.default_rng(3)
    base = (rng.random((96, 128, 3)) * 60 + np.linspace(60, 190, 128)[None, :, None]).astype(np.uint8)
    frames = np.stack([np.roll(base, 2 * i, axis=1) for i in range(12)])
    return {"root": root, "cred": SigningCredentials.load(ca["cert"], ca["key"]), "trust": trust_anchors([ca["ca"]]),
            "consent": new_record("Ada", "self", "tests", "Ada"), "frames": frames}


def flip(path, offset_from: bytes, skip: int = 40) -> None:
    data = bytearray(path.read_bytes())
    at = (jpeg_scan(data) if offset_from == b"\xff\xda" else data.index(offset_from)) + skip
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def jpeg_scan(data: bytes) -> int:
    """Offset of a JPEG's start-of-scan marker, found by walking its segments: the bytes FF DA can also occur
    inside an earlier segment (the manifest's signature and certificates are random bytes, made per run), and
    a bit flipped there left the picture untouched (a test that failed now and then)."""
    at = 2                                              # after SOI
    while data[at + 1] != 0xDA:
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return at


@pytest.mark.parametrize("name", ["shot.png", "shot.jpg", "shot.exr"])
def test_fresh_image_validates_and_an_edited_one_does_not(kit, name):
    path = kit["root"] / name
    mark_output(path, kit["frames"][0], consent=kit["consent"], credentials=kit["cred"])
    report = read_manifest(path, kit["trust"])
    assert report.state == "trusted", report.failures
    assert report.where == ("sidecar" if name.endswith(".exr") else "embedded")
    assert report.digital_source_type == DIGITAL_SOURCE_TYPE
    assert report.provenance["consent"]["id"] == kit["consent"].id
    assert report.provenance["consent"]["check"] == "passed"
    assert read_manifest(path).state == "valid"  # without the test CA as trust anchor: valid, not trusted
    assert has_provenance(path)
    assert decode_watermark(np.asarray(_read(path))) == payload_for(kit["consent"].id)
    flip(path, {"shot.png": b"IDAT", "shot.jpg": b"\xff\xda", "shot.exr": b"\x00" * 4}[name],
         skip={"shot.png": 40, "shot.jpg": 200, "shot.exr": 2000}[name])
    tampered = read_manifest(path, kit["trust"])
    assert tampered.state == "tampered" and any("mismatch" in f for f in tampered.failures), tampered.failures


def _read(path):
    from talkinghead.nodes.media.io import read_image

    return read_image(path)


def test_mp4_validates_and_fails_after_editing(kit):
    path = kit["root"] / "clip.mp4"
    assert mark_output(path, kit["frames"], consent=kit["consent"], credentials=kit["cred"]) == [path]
    report = verify_file(path, kit["trust"])
    assert report["ok"] and report["manifest"]["state"] == "trusted"
    assert report["watermark"]["decoded"] == 12 and report["watermark"]["payload"] == f"{payload_for(kit['consent'].id):06x}"
    assert report["manifest"]["provenance"]["frames"] == 12
    assert not list(kit["root"].glob(".clip.*"))  # no temporaries left
    flip(path, b"mdat", skip=600)
    assert read_manifest(path, kit["trust"]).state == "tampered"


def test_unsigned_files_report_absent(kit):
    from talkinghead.nodes.media.io import write_image

    path = kit["root"] / "plain.png"
    write_image(path, kit["frames"][0])
    assert read_manifest(path).state == "absent" and not has_provenance(path)
    report = verify_file(path)
    assert not report["ok"] and report["watermark"]["decoded"] == 0


def test_signed_png_is_still_a_valid_render_frame(kit):
    from talkinghead.nodes.render.frames_on_disk import frame_is_valid, png_is_valid

    paths = mark_output(kit["root"] / "seq" / "f.####.png", kit["frames"][:2], consent=kit["consent"],
                        credentials=kit["cred"], frame_numbers=[1001, 1002])
    assert [p.name for p in paths] == ["f.1001.png", "f.1002.png"]
    assert png_is_valid(paths[0], 128, 96, 3) and frame_is_valid(paths[0], 128, 96, 3)
    from talkinghead.nodes.media.io import write_image

    write_image(paths[1], kit["frames"][1])  # an unsigned frame is not a valid render frame
    assert png_is_valid(paths[1], 128, 96, 3) and not frame_is_valid(paths[1], 128, 96, 3)


def test_mark_output_takes_float_tensors_and_refuses_without_consent_unless_overridden(kit, monkeypatch):
    torch = pytest.importorskip("torch")
    images = torch.from_numpy(kit["frames"][:1].astype(np.float32) / 255.0)  # ComfyUI IMAGE: (B, H, W, C) float
    out = mark_output(kit["root"] / "comfy.png", images, consent=kit["consent"].to_dict(), credentials=kit["cred"])
    assert read_manifest(out[0], kit["trust"]).state == "trusted"
    with pytest.raises(BadInputError, match="nothing.png: no consent record"):
        mark_output(kit["root"] / "nothing.png", images, credentials=kit["cred"])
    overridden = mark_output(kit["root"] / "over.png", images, credentials=kit["cred"], override="archive test")
    consent = read_manifest(overridden[0], kit["trust"]).provenance["consent"]
    assert consent["check"] == "overridden: archive test" and "no consent record" in consent["problems"][0]
    monkeypatch.delenv("TALKINGHEAD_SIGN_CERT", raising=False)
    with pytest.raises(UsageError, match="no signing certificate"):
        mark_output(kit["root"] / "required.png", images, consent=kit["consent"], require_signature=True)
    with pytest.raises(UsageError, match="#### pattern"):
        mark_output(kit["root"] / "two.png", kit["frames"][:2], consent=kit["consent"], credentials=kit["cred"])
    assert not (kit["root"] / "required.png").exists() and not (kit["root"] / "two.png").exists()


@pytest.mark.parametrize("name", ["unsigned.png", "unsigned.jpg", "unsigned.mp4", "unsigned.0001.exr"])
def test_without_credentials_output_is_watermarked_and_flagged_unsigned(kit, monkeypatch, name):
    """No credentials configured: the file has no manifest, its watermark decodes, and its own metadata (PNG
    iTXt, JPEG COM, MP4 comment; EXR sidecar) says "unsigned" with the consent entry; verify says so too."""
    from talkinghead.nodes.provenance.unsigned import read_note
    from talkinghead.nodes.provenance.verify import describe

    monkeypatch.delenv("TALKINGHEAD_SIGN_CERT", raising=False)
    monkeypatch.delenv("TALKINGHEAD_SIGN_KEY", raising=False)
    frames = kit["frames"][:3] if name.endswith(".mp4") else kit["frames"][0]
    [path] = mark_output(kit["root"] / name, frames, consent=kit["consent"])
    note = read_note(path)
    assert note["c2pa"] == "unsigned" and "TALKINGHEAD_SIGN_CERT" in note["reason"]
    assert note["consent"]["id"] == kit["consent"].id and note["consent"]["check"] == "passed"
    assert note["watermark"]["payload"] == f"{payload_for(kit['consent'].id):06x}"
    report = verify_file(path, kit["trust"])
    assert report["ok"] and report["manifest"]["state"] == "absent" and report["watermark"]["decoded"] >= 1
    assert "UNSIGNED talkinghead output" in describe(report)
    assert read_note(kit["root"] / "comfy.png") is None  # a signed file has a manifest, no note


def test_exr_sidecar_sits_next_to_the_frame(kit):
    path = kit["root"] / "plate.1001.exr"
    mark_output(path, kit["frames"][0], consent=kit["consent"], credentials=kit["cred"])
    assert sidecar_path(path).name == "plate.1001.c2pa" and sidecar_path(path).is_file()
    sidecar_path(path).unlink()
    assert read_manifest(path).state == "absent" and not has_provenance(path)


def test_credentials_are_checked(kit, tmp_path):
    other = make_test_ca(tmp_path / "other")
    with pytest.raises(UsageError, match="does not belong"):
        SigningCredentials.load(kit["root"] / "ca" / "signer.pem", other["key"])
    assert kit["cred"].alg == "es256" and "signer" in kit["cred"].subject()
