"""`talkinghead render --colorspace`: EXR frames in scene-linear Rec.709, ACEScg or sRGB, tagged in the header."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from talkinghead.plugin.cli import main

MEDIA = Path(__file__).resolve().parents[2] / "examples" / "media"


@pytest.fixture(scope="module")
def person(tmp_path_factory) -> dict[str, str]:
    """A person of the example portrait (its photo + a tiny-64 feed-forward network, its consent record) and a
    test CA."""
    from dataclasses import replace

    import torch
    from talkinghead.nodes.embedding import EmbedIdentity
    from talkinghead.nodes.media.io import read_image
    from talkinghead.nodes.person import feed_forward_person, load_base
    from talkinghead.nodes.provenance.certs import make_test_ca
    from talkinghead.nodes.provenance.consent import ConsentRecord, attach_consent
    from talkinghead.runtime.runtime import Runtime

    root = tmp_path_factory.mktemp("colorspace")
    rt = Runtime(device="cpu")
    base = load_base(rt, preset="tiny-64")
    photo = read_image(MEDIA / "astronaut.png")
    identity = EmbedIdentity().run(rt, base, [photo], backend="dlib")["identity"]
    identity = attach_consent(identity, ConsentRecord.load(MEDIA / "astronaut.consent.json"))
    replace(feed_forward_person(base, identity), photos=[torch.from_numpy(photo)]).save(root / "p.safetensors")
    ca = make_test_ca(root / "ca")
    return {"root": str(root), "person": str(root / "p.safetensors"), "cert": str(ca["cert"]), "key": str(ca["key"])}


def render(person: dict, out: Path, *extra: str) -> int:
    return main(["--device", "cpu", "render", "--person", person["person"], "--driver", str(MEDIA / "driver.track.npz"),
                 "--out", str(out), "--frames", "1001-1001", "--sign-cert", person["cert"], "--sign-key", person["key"],
                 *extra])


def test_exr_colorspaces_are_converted_and_tagged(person, tmp_path):
    from talkinghead.nodes.media.colour import convert_colour
    from talkinghead.nodes.media.exr import read_exr

    frames = {}
    for space in ("linear", "acescg", "srgb"):
        assert render(person, tmp_path / space / "f.####.exr", "--colorspace", space) == 0
        frames[space] = read_exr(tmp_path / space / "f.1001.exr")
    assert [frames[s][1] for s in ("linear", "acescg", "srgb")] == ["linear", "acescg", "srgb"]
    linear, acescg, srgb = (frames[s][0] for s in ("linear", "acescg", "srgb"))
    np.testing.assert_allclose(acescg, convert_colour(linear, "linear", "acescg"), atol=2e-3)
    np.testing.assert_allclose(convert_colour(srgb, "srgb", "linear"), linear, atol=4e-3)
    assert np.abs(acescg - linear).max() > 0.01  # really another colour space
    assert render(person, tmp_path / "default" / "f.####.exr") == 0
    assert read_exr(tmp_path / "default" / "f.1001.exr")[1] == "linear"


def test_colorspace_on_png_is_a_usage_error(person, tmp_path, capsys):
    assert render(person, tmp_path / "f.####.png", "--colorspace", "acescg") == 2
    assert "applies to EXR frames" in capsys.readouterr().err
