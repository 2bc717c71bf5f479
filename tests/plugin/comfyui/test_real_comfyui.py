"""The example workflow on a REAL, headless ComfyUI server (../shared/tools/comfy-up, comfy-run), in both install
modes: the checkout linked into custom_nodes (its dependencies pip-installed, as the README says) and the
pip-installed package loaded through the one-file shim. In each: the outputs are signed (the server's
TALKINGHEAD_SIGN_CERT/KEY: a local test CA) and verify as trusted with `talkinghead verify`; a re-run with
nothing changed is served from ComfyUI's cache; a re-run after the input photo is overwritten at the same path
recomputes. Needs the ComfyUI snapshot ($MIRROR, default /work/.mirror) and the harness; minutes: `slow`.

    COMFY_HOME=... python -m pytest -m slow tests/plugin/comfyui/test_real_comfyui.py
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
TOOLS = Path(os.environ.get("TALKINGHEAD_COMFY_TOOLS", ROOT.parent / "shared" / "tools"))
MIRROR = Path(os.environ.get("MIRROR", "/work/.mirror"))
HOME = Path(os.environ.get("COMFY_HOME", Path.home() / ".cache" / "comfyui-harness"))
PHOTO = "talkinghead_test_photo.png"
SHIM = ROOT / "examples" / "comfyui" / "talkinghead_nodes.py"


def _needs_harness() -> None:
    if not (TOOLS / "comfy-up").is_file() or not (MIRROR / "Comfy-Org+ComfyUI" / "repo").is_dir():
        pytest.skip(f"needs the ComfyUI harness ({TOOLS}/comfy-up) and its snapshot under MIRROR={MIRROR}")


def comfy_up(*args: str, env: dict) -> None:
    done = subprocess.run(check=False, args=[str(TOOLS / "comfy-up"), *args], env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-4000:]


def comfy_run(workflow: dict, tmp: Path) -> dict:
    """Queue ``workflow`` with comfy-run; (its /history entry, the seconds it took, the cached node ids)."""
    path = tmp / "workflow.json"
    path.write_text(json.dumps(workflow))
    start = time.perf_counter()
    done = subprocess.run(check=False, args=[sys.executable, str(TOOLS / "comfy-run"), str(path), "--timeout", "900", "--json"],
                          capture_output=True, text=True, timeout=1000)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    entry = json.loads("\n".join(lines[lines.index("{"):]))
    cached = next((m[1]["nodes"] for m in entry["status"]["messages"] if m[0] == "execution_cached"), [])
    return {"entry": entry, "seconds": seconds, "cached": set(cached), "stdout": done.stdout}


def saved_files(entry: dict, node: str = "6") -> list[Path]:
    """Local paths of what the Save Frames node wrote."""
    out = HOME / "ComfyUI" / "output"
    return [out / item["subfolder"] / item["filename"] for item in entry["outputs"][node]["images"]]


def verify(paths: list[Path], ca: Path) -> subprocess.CompletedProcess:
    return subprocess.run(check=False, args=[sys.executable, "-m", "talkinghead.plugin.cli", "verify", *map(str, paths),
                           "--trust", str(ca)], capture_output=True, text=True, timeout=600)


def example_workflow(prefix: str) -> dict:
    """The example API workflow, its photo read from ComfyUI's input folder (so the test can overwrite it)."""
    workflow = json.loads((ROOT / "examples" / "comfyui" / "talkinghead_api.json").read_text())
    workflow["1"]["inputs"]["path"] = PHOTO
    workflow["6"]["inputs"]["filename_prefix"] = f"talkinghead_test/{prefix}"
    workflow["7"]["inputs"]["filename_prefix"] = f"talkinghead_test/{prefix}_person"
    return workflow


def run_three_times(mode: str, tmp: Path, ca: Path, timings: dict) -> None:
    """First run (signed outputs verify), unchanged re-run (cached), re-run after the photo changed (recomputed)."""
    import cv2

    photo = HOME / "ComfyUI" / "input" / PHOTO
    photo.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "examples" / "media" / "astronaut.png", photo)
    workflow = example_workflow(mode)
    first = comfy_run(workflow, tmp)
    files = saved_files(first["entry"])
    assert len(files) == 13 and files[-1].suffix == ".mp4" and all(f.is_file() for f in files), first["stdout"]
    checked = verify([files[0], files[-1]], ca)
    assert checked.returncode == 0 and checked.stdout.count("valid, signer trusted") == 2, checked.stdout
    provenance = first["entry"]["outputs"]["6"]["talkinghead_provenance"][0]
    assert provenance["signed"] is True and provenance["consent"] == "passed"
    again = comfy_run(workflow, tmp)
    assert again["cached"] == set(workflow), again["stdout"]  # nothing changed: every node served from cache
    assert saved_files(again["entry"]) == files
    cv2.imwrite(str(photo), cv2.flip(cv2.imread(str(photo)), 1))  # same path, new pixels
    changed = comfy_run(workflow, tmp)
    assert "1" not in changed["cached"] and "6" not in changed["cached"], changed["stdout"]
    assert "4" in changed["cached"]  # the driver track did not change
    new = saved_files(changed["entry"])
    assert new[0] != files[0] and verify([new[0]], ca).returncode == 0
    before, after = (cv2.imread(str(p)).astype(int) for p in (files[0], new[0]))
    assert np.abs(after - before).mean() > 5  # made from the new pixels, not the cached ones
    timings[mode] = {"first_s": round(first["seconds"], 1), "unchanged_s": round(again["seconds"], 2),
                     "changed_s": round(changed["seconds"], 1)}


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    _needs_harness()
    tmp = tmp_path_factory.mktemp("comfy")
    from talkinghead.nodes.provenance.certs import make_test_ca

    ca = make_test_ca(tmp / "ca")
    env = {**os.environ, "MIRROR": str(MIRROR), "COMFY_HOME": str(HOME),
           "TALKINGHEAD_SIGN_CERT": str(ca["cert"]), "TALKINGHEAD_SIGN_KEY": str(ca["key"])}
    timings: dict = {}
    yield {"tmp": tmp, "ca": ca["ca"], "env": env, "timings": timings}
    subprocess.run(check=False, args=[str(TOOLS / "comfy-up"), "--stop"], env=env, capture_output=True, timeout=120)
    print(f"\nreal ComfyUI timings (s): {json.dumps(timings)}")


def test_linked_checkout(harness):
    """custom_nodes/ComfyUI-<checkout> -> this checkout, its dependencies installed with pip (comfy-up --pip)."""
    comfy_up("--pip", str(ROOT), env=harness["env"])
    run_three_times("linked", harness["tmp"], harness["ca"], harness["timings"])


def test_pip_installed_pack_with_the_one_file_shim(harness):
    """The package pip-installed into ComfyUI's Python (its wheel: no examples/ folder but the example media),
    loaded through the one-file shim alone in custom_nodes."""
    venv_python = HOME / "venv" / "bin" / "python"
    wheels = harness["tmp"] / "wheel"
    stage = harness["tmp"] / "stage"
    shutil.copytree(ROOT, stage, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build"))
    built = subprocess.run(check=False, args=[str(venv_python), "-m", "pip", "wheel", "--no-deps", "-w", str(wheels), str(stage)],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = wheels.glob("talkinghead-*.whl")
    installed = subprocess.run(check=False, args=[str(venv_python), "-m", "pip", "install", "-c", str(HOME / "constraints.txt"),
                                "--force-reinstall", "--no-deps", str(wheel)], capture_output=True, text=True,
                               timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    deps = subprocess.run(check=False, args=[str(venv_python), "-m", "pip", "install", "-c", str(HOME / "constraints.txt"),
                           str(wheel)], capture_output=True, text=True, timeout=1800)
    assert deps.returncode == 0, deps.stderr[-3000:]
    code = ("import talkinghead, pathlib; p = pathlib.Path(talkinghead.__file__).parent; "
            "print(sorted(x.name for x in (p / 'examples' / 'media').iterdir()))")
    media = subprocess.run(check=False, args=[str(venv_python), "-c", code], capture_output=True, text=True, cwd="/")
    assert "astronaut.png" in media.stdout and "driver.track.npz" in media.stdout, media.stderr
    shim = harness["tmp"] / "talkinghead_shim"
    shim.mkdir()
    shutil.copy(SHIM, shim / "__init__.py")
    comfy_up(str(shim), env=harness["env"])
    log = (HOME / "server.log").read_text()
    assert "custom_nodes/ComfyUI-talkinghead_shim" in log or "talkinghead_shim" in log
    run_three_times("pip", harness["tmp"], harness["ca"], harness["timings"])
