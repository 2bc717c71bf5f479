"""ComfyUI registration: classic mappings on a classic host, V3 entry point on a V3 host, clone-mode loading."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NODE_IDS = {"TalkingheadLoadMedia", "TalkingheadLoadFaceTrack", "TalkingheadExtractLandmarks",
            "TalkingheadLandmarkPreview", "TalkingheadRetarget", "TalkingheadLoadBase", "TalkingheadEmbedIdentity",
            "TalkingheadFineTune", "TalkingheadGenerateFrames", "TalkingheadComposite", "TalkingheadSavePerson",
            "TalkingheadLoadPerson", "TalkingheadMakePerson", "TalkingheadAnimate", "TalkingheadLoadImage",
            "TalkingheadLoadVideo", "TalkingheadSaveFrames"}


def test_classic_host_gets_class_mappings(classic_host):
    import talkinghead
    from talkinghead.plugin import comfyui

    assert not comfyui.host_has_v3()
    mappings = talkinghead.NODE_CLASS_MAPPINGS
    assert set(mappings) == NODE_IDS
    assert set(talkinghead.NODE_DISPLAY_NAME_MAPPINGS) == NODE_IDS
    with pytest.raises(AttributeError):
        talkinghead.comfy_entrypoint  # noqa: B018 - a classic host must not see a V3 entry point
    generate = mappings["TalkingheadGenerateFrames"]
    types_ = generate.INPUT_TYPES()
    assert types_["required"]["person"] == ("TALKINGHEAD_PERSON", {})
    assert types_["required"]["driver"] == ("TALKINGHEAD_FACETRACK", {})
    assert types_["required"]["retarget"][0] == ["relative", "absolute", "none"]
    assert generate.RETURN_TYPES == ("TALKINGHEAD_FRAMES", "IMAGE", "MASK")
    assert generate.FUNCTION == "run" and hasattr(generate, "run")
    composite = mappings["TalkingheadComposite"].INPUT_TYPES()
    assert composite["optional"] == {"crops": ("IMAGE", {})}
    assert mappings["TalkingheadSavePerson"].OUTPUT_NODE is True
    base = mappings["TalkingheadLoadBase"].INPUT_TYPES()["required"]
    assert "tiny-64" in base["preset"][0] and base["model"][0][0] == "(best present)"
    assert base["precision"][0] == ["auto", "fp32", "fp16", "bf16"] and base["precision"][1]["default"] == "auto"
    seed = mappings["TalkingheadFineTune"].INPUT_TYPES()["required"]["seed"]
    assert seed[1]["control_after_generate"] is False and seed[1]["default"] == 0  # fixed, not randomize
    (classic_host.root / "input" / "me.png").write_bytes(b"x")
    (classic_host.root / "input" / "take.mp4").write_bytes(b"x")
    image = mappings["TalkingheadLoadImage"].INPUT_TYPES()["required"]["file"]
    video = mappings["TalkingheadLoadVideo"].INPUT_TYPES()["required"]["file"]
    assert image == (["me.png"], {"image_upload": True}) and video == (["take.mp4"], {"video_upload": True})
    save = mappings["TalkingheadSaveFrames"]
    assert save.OUTPUT_NODE and save.INPUT_TYPES()["optional"] == {"person": ("TALKINGHEAD_PERSON", {
        "tooltip": "the person the frames show: its consent is checked"})}


def test_loading_the_pack_registers_the_models_folder(classic_host):
    """models/talkinghead is registered with folder_paths (GET /models lists it; extra_model_paths.yaml
    entries for it are searched after it) and the weights resolver searches every registered folder."""
    import talkinghead
    from talkinghead.plugin.comfyui import host
    from talkinghead.runtime import weights

    extra = str(classic_host.root / "extra" / "talkinghead")  # as extra_model_paths.yaml adds it, before us
    classic_host.folders["talkinghead"] = [extra]
    assert talkinghead.NODE_CLASS_MAPPINGS
    own = str(classic_host.root / "models" / "talkinghead")
    assert classic_host.folders["talkinghead"] == [own, extra]
    assert host.models_dirs() == [Path(own), Path(extra)]
    spec = weights.get_spec("base-small-128")
    assert [p.parent for p in weights.search_locations(spec)][-3:-1] == [Path(own), Path(extra)]


def test_v3_host_gets_entrypoint_and_no_class_mappings(v3_host):
    import talkinghead
    from comfy_api.latest import ComfyExtension, io

    assert talkinghead.NODE_CLASS_MAPPINGS is None  # ComfyUI reads NODE_CLASS_MAPPINGS first
    extension = asyncio.run(talkinghead.comfy_entrypoint())
    assert isinstance(extension, ComfyExtension)
    nodes = asyncio.run(extension.get_node_list())
    assert all(issubclass(n, io.ComfyNode) for n in nodes)
    schemas = {s.node_id: s for s in (n.define_schema() for n in nodes)}
    assert set(schemas) == NODE_IDS
    generate = schemas["TalkingheadGenerateFrames"]
    kinds = {i.id: i.io_type for i in generate.inputs}
    assert kinds["person"] == "TALKINGHEAD_PERSON" and kinds["driver"] == "TALKINGHEAD_FACETRACK"
    assert [o.io_type for o in generate.outputs] == ["TALKINGHEAD_FRAMES", "IMAGE", "MASK"]
    embed = {i.id: i for i in schemas["TalkingheadEmbedIdentity"].inputs}
    assert embed["landmarks"].optional and not embed["images"].optional
    assert schemas["TalkingheadSavePerson"].is_output_node
    assert [o.io_type for o in schemas["TalkingheadFineTune"].outputs] == ["TALKINGHEAD_PERSON"]
    seed = {i.id: i for i in schemas["TalkingheadFineTune"].inputs}["seed"]
    assert seed.kw["control_after_generate"] is False
    upload = {i.id: i for i in schemas["TalkingheadLoadVideo"].inputs}["file"]
    assert upload.kw["upload"] == "video_upload"
    loaders = {n.define_schema().node_id: n for n in nodes}
    assert hasattr(loaders["TalkingheadLoadMedia"], "fingerprint_inputs")
    assert not hasattr(loaders["TalkingheadAnimate"], "fingerprint_inputs")


def test_v3_execute_returns_node_output(v3_host):
    import talkinghead

    nodes = asyncio.run(asyncio.run(talkinghead.comfy_entrypoint()).get_node_list())
    load = next(n for n in nodes if n.define_schema().node_id == "TalkingheadLoadFaceTrack")
    out = load.execute(path="examples/media/driver.track.npz")
    assert len(out.args) == 1 and len(out.args[0]) == 12 and out.args[0].frame_numbers[0] == 1001


def test_cloned_checkout_loads_under_a_path_name_without_the_talkinghead_module():
    """ComfyUI loads custom_nodes/<dir>/__init__.py under a path-derived name: nothing may need `talkinghead`."""
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('/x/custom_nodes/ComfyUI-talkinghead', {str(ROOT / '__init__.py')!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules[spec.name] = m; spec.loader.exec_module(m)\n"
        "names = sorted(m.NODE_CLASS_MAPPINGS)\n"
        "m.NODE_CLASS_MAPPINGS['TalkingheadLoadBase'].INPUT_TYPES()\n"
        "print(json.dumps({'n': len(names), 'talkinghead': [k for k in sys.modules if k.split('.')[0] == 'talkinghead'],"
        " 'torch': 'torch' in sys.modules}))")
    out = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                    cwd="/").stdout)
    assert out == {"n": len(NODE_IDS), "talkinghead": [], "torch": False}


def _load_shim():
    import importlib.util

    path = ROOT / "examples" / "comfyui" / "talkinghead_nodes.py"
    spec = importlib.util.spec_from_file_location(str(path.with_suffix("")), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_file_shim_for_pip_installs_forwards_both_schemas(classic_host):
    shim = _load_shim()
    assert set(shim.NODE_CLASS_MAPPINGS) == NODE_IDS and not hasattr(shim, "comfy_entrypoint")


def test_one_file_shim_on_a_v3_host(v3_host):
    shim = _load_shim()
    assert shim.NODE_CLASS_MAPPINGS is None and callable(shim.comfy_entrypoint)
