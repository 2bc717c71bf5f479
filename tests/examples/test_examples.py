"""Every example runs: the pure-Python graph script, the pyblish publish script and the farm template
(`openjd run`); the graph JSON and the ComfyUI workflow run in tests/nodes/test_graph.py and
tests/plugin/comfyui/test_workflow.py. tiny-64 and one fine-tuning step throughout."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def localise(shot: Path, folder: Path, **changes) -> Path:
    """A copy of an example shot with absolute paths and its output under ``folder``."""
    data = yaml.safe_load(shot.read_text())
    for key in ("driver", "plate", "consent"):
        data[key] = str((shot.parent / data[key]).resolve())
    data["sources"] = [str((shot.parent / s).resolve()) for s in data["sources"]]
    data.update(output=str(folder / "out"), **changes)
    path = folder / shot.name
    path.write_text(yaml.safe_dump(data))
    return path


def test_python_graph_script(tmp_path):
    script = load_script(EXAMPLES / "graph" / "animate.py")
    paths = script.animate(tmp_path, device="cpu")
    assert [p.name for p in paths[:2]] == ["frame.1001.png", "frame.1002.png"] and len(paths) == 12
    assert all(p.is_file() for p in paths) and (tmp_path / "astronaut.person.safetensors").is_file()


def test_pyblish_publish_script(tmp_path):
    script = load_script(EXAMPLES / "pyblish" / "publish.py")
    shot = localise(EXAMPLES / "pyblish" / "shot.yaml", tmp_path, finetune={"steps": 1})
    code, folder = script.publish_shot(shot)
    assert code == 0 and Path(folder) == tmp_path / "out" / "publish" / "v001"
    manifest = json.loads((Path(folder) / "manifest.json").read_text())
    assert sorted(f["path"] for f in manifest["files"]) == [
        "astronaut.1001.png", "astronaut.1002.png", "astronaut.1003.png", "astronaut.1004.png",
        "astronaut.person.safetensors"]


@pytest.mark.skipif(shutil.which("openjd") is None, reason="openjd-cli not installed (farm extra)")
def test_farm_template_is_portable_and_runs_with_path_mapping(tmp_path):
    """The template is submitted with the studio's absolute paths and run by `openjd run` where the files are
    mounted elsewhere (the worker's view), through a path-mapping rule: every file and folder is a PATH
    parameter and the command is resolved on the worker (PATH), never the submitting machine's interpreter."""
    from talkinghead.nodes.provenance.certs import make_test_ca
    from talkinghead.plugin.cli import main

    studio, worker = tmp_path / "studio", tmp_path / "worker"
    media = studio / "media"
    media.mkdir(parents=True)
    for name in ("astronaut.png", "driver.track.npz", "astronaut.consent.json"):
        shutil.copy(EXAMPLES / "media" / name, media / name)
    shot = localise(EXAMPLES / "farm" / "shot.yaml", studio, frames="1001-1004", finetune={"steps": 1})
    shot.write_text(shot.read_text().replace(str((EXAMPLES / "media").resolve()), str(media)))
    job = tmp_path / "job.yaml"
    assert main(["farm", str(shot), "--chunk", "2", "--gpus", "1", "--out", str(job)]) == 0
    template = yaml.safe_load(job.read_text())
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert {n for n, p in params.items() if p["type"] == "PATH"} == {
        "Source0", "Driver", "Plate", "Consent", "OutputDir"}
    assert params["Driver"]["default"] == "studio/media/driver.track.npz"  # relative to the template's folder
    values = {n: str((tmp_path / p["default"]).resolve()) for n, p in params.items() if p["type"] == "PATH"}
    assert sys.executable not in job.read_text() and params["TalkingheadCommand"]["default"] == "talkinghead"
    for step in template["steps"]:
        assert step["hostRequirements"]["amounts"] == [{"name": "amount.worker.gpu", "min": 1}]
        assert not any(str(studio) in str(a) for a in step["script"]["actions"]["onRun"]["args"])
    check = subprocess.run(["openjd", "check", str(job)], check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    shutil.move(str(studio), str(worker))  # the worker mounts the studio's files elsewhere
    rules = {"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "POSIX", "source_path": str(studio), "destination_path": str(worker)}]}
    ca = make_test_ca(tmp_path / "ca")
    env = {**os.environ, "TALKINGHEAD_SIGN_CERT": str(ca["cert"]), "TALKINGHEAD_SIGN_KEY": str(ca["key"]),
           "TALKINGHEAD_DEVICE": "cpu", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(["openjd", "run", str(job), "--step", "Render", "--run-dependencies", "--job-param",
                          json.dumps(values), "--path-mapping-rules", json.dumps(rules)], check=False, capture_output=True,
                         text=True, env=env, timeout=600)
    assert ran.returncode == 0, (ran.stdout + ran.stderr)[-3000:]
    out = worker / "out"
    assert sorted(p.name for p in out.glob("astronaut.*.png")) == [f"astronaut.{n}.png" for n in range(1001, 1005)]
    assert (out / "astronaut.person.safetensors").is_file() and not studio.exists()
