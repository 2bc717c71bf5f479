"""`import talkinghead` pulls in no heavy dependency, and no generic top-level module is installed."""
import json
import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                          cwd="/").stdout


def test_import_talkinghead_is_light():
    out = _run(
        "import sys, json, talkinghead\n"
        "heavy = ['torch', 'onnxruntime', 'cv2', 'dlib', 'face_alignment', 'pyblish', 'comfy', 'av', 'numpy']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))")
    assert json.loads(out) == []


def test_lazy_api_resolves():
    out = _run("import talkinghead; print(talkinghead.Runtime.__name__, talkinghead.FaceTrack.__name__)")
    assert out.split() == ["Runtime", "FaceTrack"]


def test_no_generic_top_level_modules():
    out = _run(
        "import importlib.util, json\n"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None "
        "for n in ['nodes', 'runtime', 'plugin', 'utils']}))")
    assert json.loads(out) == {"nodes": False, "runtime": False, "plugin": False, "utils": False}


def test_cli_help_is_light():
    out = _run(
        "import sys, json\n"
        "from talkinghead.plugin import cli\n"
        "cli.build_parser()\n"
        "print(json.dumps([m for m in ['torch', 'onnxruntime'] if m in sys.modules]))")
    assert json.loads(out) == []
