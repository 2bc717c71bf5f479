"""pyblish publishing: collector, validators (faces, resolution, driver coverage), extractors, the atomic
versioned integrator with its sha256 manifest, and `talkinghead publish` exit codes (tiny-64, 1 step)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyblish.api as pyblish_api
import pyblish.util
import pytest
import yaml
from talkinghead.plugin.pyblish import discover_plugins
from talkinghead.plugin.pyblish._manifest import verify_manifest

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT / "examples" / "media"


@pytest.fixture(scope="module")
def signing(tmp_path_factory) -> dict[str, str]:
    from talkinghead.nodes.provenance.certs import make_test_ca

    ca = make_test_ca(tmp_path_factory.mktemp("ca"))
    return {"signCert": str(ca["cert"]), "signKey": str(ca["key"])}


def write_shot(folder: Path, **changes) -> Path:
    data = {"shot": "sh010", "sources": [str(MEDIA / "astronaut.png")], "driver": str(MEDIA / "driver.track.npz"),
            "frames": "1001-1003", "output": str(folder / "out"), "pattern": "sh010.####.png", "preset": "tiny-64",
            "finetune": {"steps": 1}, "consent": str(MEDIA / "astronaut.consent.json"), "min_resolution": 128}
    data.update(changes)
    path = folder / "shot.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(shot: Path, signing: dict, plugins=None):
    context = pyblish_api.Context()
    context.data.update(shotPath=str(shot), landmarkBackend="dlib", **signing)
    pyblish.util.publish(context, plugins=plugins or discover_plugins())
    failed = [r for r in context.data["results"] if not r["success"]]
    return context, failed


def by_name(*names):
    plugins = {p.__name__: p for p in discover_plugins()}
    return [plugins[n] for n in names]


def test_publish_writes_versioned_folder_with_manifest(tmp_path, signing):
    shot = write_shot(tmp_path)
    context, failed = run(shot, signing)
    assert not failed, [str(r["error"]) for r in failed]
    v1 = tmp_path / "out" / "publish" / "v001"
    assert Path(context.data["publishDir"]) == v1
    manifest = json.loads((v1 / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["sh010.1001.png", "sh010.1002.png", "sh010.1003.png",
                                                      "sh010.person.safetensors"]
    assert manifest["version"] == 1 and manifest["shot"] == "sh010" and manifest["frames"] == "1001-1003"
    assert verify_manifest(v1) == []
    (v1 / "sh010.1002.png").write_bytes(b"tampered")
    assert verify_manifest(v1) == ["sh010.1002.png: sha256 differs"]
    assert [p.name for p in (tmp_path / "out" / "publish").iterdir()] == ["v001"]  # no staging left
    _, failed = run(shot, signing)
    assert not failed and (tmp_path / "out" / "publish" / "v002" / "manifest.json").is_file()


def test_faceless_source_fails_validation_and_publishes_nothing(tmp_path, signing):
    import cv2

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 127, np.uint8))
    shot = write_shot(tmp_path, sources=[str(MEDIA / "astronaut.png"), str(blank)])
    _, failed = run(shot, signing)
    assert [r["plugin"].__name__ for r in failed] == ["ValidateSourceFaces"]
    assert "1 of 2 source frame(s) without a face" in str(failed[0]["error"]) and str(blank) in str(failed[0]["error"])
    assert not (tmp_path / "out" / "publish").exists()  # extractors never ran


def test_resolution_validator(tmp_path, signing):
    shot = write_shot(tmp_path, min_resolution=512)
    _, failed = run(shot, signing, by_name("CollectTalkingheadShot", "ValidateSourceResolution"))
    assert len(failed) == 1 and "256x256" in str(failed[0]["error"]) and "512 px" in str(failed[0]["error"])


def test_driver_coverage_validator(tmp_path, signing):
    from talkinghead.nodes.types import FaceTrack

    track = FaceTrack.load(MEDIA / "driver.track.npz")
    track.valid[[1, 2]] = False
    track.landmarks[[1, 2]] = np.nan
    track.save(tmp_path / "gappy.track.npz")
    plugins = by_name("CollectTalkingheadShot", "ValidateDriverCoverage")
    _, failed = run(write_shot(tmp_path, driver=str(tmp_path / "gappy.track.npz")), signing, plugins)
    assert len(failed) == 1 and "a face in 33% of the frames, below 90%" in str(failed[0]["error"])
    assert "[1002, 1003]" in str(failed[0]["error"])
    _, failed = run(write_shot(tmp_path, driver=str(tmp_path / "gappy.track.npz"), frames="1004-1012"),
                    signing, plugins)
    assert not failed
    _, failed = run(write_shot(tmp_path, frames="1010-1020"), signing, plugins)
    assert "1010-1020 are not all in the driver" in str(failed[0]["error"])


def test_publish_command_exit_codes(tmp_path, signing, capsys):
    from talkinghead.plugin.cli import main

    sign = ["--sign-cert", signing["signCert"], "--sign-key", signing["signKey"]]
    bad = write_shot(tmp_path, min_resolution=4096)
    assert main(["publish", str(bad), "--backend", "dlib", "--steps", "0", *sign]) == 3
    out = capsys.readouterr().out
    assert "FAILED talkinghead: source resolution" in out and "nothing was published" in out
    good = write_shot(tmp_path)
    assert main(["publish", str(good), "--backend", "dlib", "--steps", "0", *sign]) == 0
    assert "published" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "publish" / "v001" / "manifest.json").read_text())
    assert len(manifest["files"]) == 4


def test_broken_plugin_file_is_an_error_not_a_skip(tmp_path, monkeypatch):
    import talkinghead.plugin.pyblish as adapter
    from talkinghead.runtime.errors import UsageError

    (tmp_path / "validate_broken.py").write_text("import pyblish.api\nraise ImportError('nope')\n")
    monkeypatch.setattr(adapter, "plugin_folder", lambda: tmp_path)
    with pytest.raises(UsageError, match="validate_broken.py: pyblish could not load"):
        adapter.discover_plugins()


def test_publish_checks_the_output_folder_first(tmp_path, signing, capsys):
    from talkinghead.plugin.cli import main

    (tmp_path / "plain").write_text("a file")
    shot = write_shot(tmp_path, output=str(tmp_path / "plain" / "out"))
    assert main(["publish", str(shot), "--backend", "dlib", "--steps", "0", "--sign-cert", signing["signCert"],
                 "--sign-key", signing["signKey"]]) == 3
    captured = capsys.readouterr()
    assert "plain: is a file, not a folder: the shot's output cannot write under it" in captured.err
    assert captured.out == ""  # no plugin ran
