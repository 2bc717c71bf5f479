"""Installed-package checks: an ONNX Runtime clash is detected and the repair named (doctor, ComfyUI pack);
an absent optional extra names itself with exit 4 (export --format onnx); requirements.txt (ComfyUI-Manager)
lists exactly pyproject's dependencies."""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from talkinghead.runtime import packages
from talkinghead.runtime.errors import MissingDependencyError

ROOT = Path(__file__).resolve().parents[2]


def test_onnxruntime_clash_names_both_and_the_repair():
    assert packages.onnxruntime_clash({"onnxruntime-gpu": "1.31.1"}) == ""
    message = packages.onnxruntime_clash({"onnxruntime-gpu": "1.31.1", "onnxruntime": "1.20.0"})
    assert "onnxruntime 1.20.0, onnxruntime-gpu 1.31.1" in message
    assert message.endswith("pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu==1.31.1")
    assert "onnxruntime" in packages.onnxruntime_distributions() or "onnxruntime-gpu" in (
        packages.onnxruntime_distributions())  # this venv has exactly ours
    assert packages.onnxruntime_clash() == ""


def test_doctor_and_the_comfyui_pack_report_a_clash(monkeypatch, capsys, caplog, classic_host_modules):
    from talkinghead.plugin import cli

    fake = {"onnxruntime-gpu": "1.31.1", "onnxruntime": "1.20.0"}
    monkeypatch.setattr(packages, "onnxruntime_distributions", lambda: fake)
    assert cli.main(["--device", "cpu", "doctor"]) == 0
    assert "WARNING: ONNX Runtime is installed 2 times" in capsys.readouterr().out
    from talkinghead.plugin import comfyui

    with caplog.at_level(logging.WARNING, logger="talkinghead.comfyui"):
        comfyui.on_load()
    assert "pip uninstall -y onnxruntime onnxruntime-gpu" in caplog.text


@pytest.fixture
def classic_host_modules(monkeypatch):
    import sys
    import types

    folder_paths = types.ModuleType("folder_paths")
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)  # a host without models_dir: nothing registered
    return folder_paths


def test_missing_extra_is_exit_4_naming_it(monkeypatch, tmp_path, capsys):
    from talkinghead.plugin import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install 'talkinghead\[export\]'"):
        packages.require_extra("export", ("onnx", "onnxscript"), "export --format onnx")
    code = cli.main(["export", "--person", str(tmp_path / "p.safetensors"), "--format", "onnx",
                     "--out", str(tmp_path / "p.onnx")])
    assert code == 4 and "talkinghead[export]" in capsys.readouterr().err


def test_requirements_txt_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert listed == project["project"]["dependencies"]
    assert project["project"]["optional-dependencies"]["export"] == ["onnx>=1.16", "onnxscript>=0.1"]
    assert {"PublisherId", "DisplayName"} <= set(project["tool"]["comfy"])
    core = {d.split(">")[0].split("=")[0].split(";")[0].strip() for d in project["project"]["dependencies"]}
    assert {"torch", "onnxruntime-gpu", "face-alignment", "numpy", "opencv-python", "pyblish-base"} <= core
    assert "onnx" not in core and "onnxruntime" not in core
