"""The nodes end to end on a stub host: the example API workflow (the default path: Make Person + Animate)
through the classic classes, outputs in ComfyUI's layouts, the saved person file, and the V3 classes: the same
default-path nodes plus the network nodes (Load Base, Embed, Fine-Tune, Generate, Composite)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / "examples" / "comfyui" / "talkinghead_api.json"


class SaveImage:
    """Stand-in for ComfyUI's core SaveImage: records what it was given."""

    FUNCTION = "save"
    saved: ClassVar[list] = []

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"images": ("IMAGE", {}), "filename_prefix": ("STRING", {})}}

    def save(self, images, filename_prefix):
        SaveImage.saved.append((filename_prefix, images))
        return {"ui": {"images": []}, "result": ()}


def run_api_workflow(workflow: dict, classes: dict) -> dict:
    """Execute an API-format workflow: check every input against INPUT_TYPES, resolve links, run each node once."""
    done: dict[str, tuple] = {}

    def outputs(nid: str) -> tuple:
        if nid not in done:
            node = workflow[nid]
            cls = classes[node["class_type"]]
            declared = cls.INPUT_TYPES()
            required, optional = declared["required"], declared.get("optional", {})
            assert set(node["inputs"]) <= set(required) | set(optional), (nid, set(node["inputs"]) - set(required))
            assert set(required) <= set(node["inputs"]), (nid, set(required) - set(node["inputs"]))
            kwargs = {}
            for name, value in node["inputs"].items():
                if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                    upstream = workflow[value[0]]["class_type"]
                    want = (required | optional)[name][0]
                    got = classes[upstream].RETURN_TYPES[value[1]]
                    assert want == got, f"node {nid} input {name}: {want} <- {upstream} output {got}"
                    value = outputs(value[0])[value[1]]
                kwargs[name] = value
            result = getattr(cls(), cls.FUNCTION)(**kwargs)
            done[nid] = result["result"] if isinstance(result, dict) else result
        return done[nid]

    import torch

    with torch.inference_mode():  # ComfyUI executes every node inside inference mode
        for nid in workflow:
            outputs(nid)
    return done


@pytest.fixture
def workflow() -> dict:
    return json.loads(WORKFLOW.read_text())


def test_example_workflow_runs_on_classic_host(classic_host, workflow, monkeypatch):
    import talkinghead
    from talkinghead.nodes.provenance.unsigned import read_note
    from talkinghead.nodes.provenance.verify import verify_file
    from talkinghead.nodes.provenance.watermark import decode_watermark
    from talkinghead.plugin.comfyui.tensors import image_to_uint8

    monkeypatch.delenv("TALKINGHEAD_SIGN_CERT", raising=False)
    out = run_api_workflow(workflow, dict(talkinghead.NODE_CLASS_MAPPINGS))
    images, alpha = out["5"]
    assert tuple(images.shape) == (12, 256, 256, 3) and tuple(alpha.shape) == (12, 256, 256)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert float(alpha.max()) > 0.9 and float(alpha[:, 0, 0].max()) == 0.0  # the head moves, corners stay
    frames = image_to_uint8(images)
    assert np.abs(frames[1:].astype(int) - frames[:1]).max() > 30  # it moves with the driver
    person = out["3"][0]
    payload = int(person.identity.consent_id[2:8], 16)
    assert decode_watermark(frames[0]) == payload  # Animate's IMAGE leaves the node watermarked
    saved = classic_host.root / "output" / "talkinghead"
    pngs = sorted(saved.glob("animated_00001.*.png"))
    assert [p.name for p in pngs[:2]] == ["animated_00001.1001.png", "animated_00001.1002.png"] and len(pngs) == 12
    mp4 = saved / "animated_00001.mp4"
    for path in (pngs[0], mp4):  # no credentials configured here: watermarked and flagged unsigned
        report = verify_file(path)
        assert report["ok"] and report["manifest"]["state"] == "absent"
        assert report["watermark"]["payload"] == f"{payload:06x}"
        note = read_note(path)
        assert note["c2pa"] == "unsigned" and note["consent"]["check"] == "passed"
    import cv2

    on_disk = cv2.imread(str(pngs[0]))[..., ::-1]
    assert np.array_equal(on_disk, frames[0])  # the save node did not watermark twice
    person_path = Path(out["7"][0])
    assert person_path == classic_host.root / "output" / "talkinghead" / "person_00001.person.safetensors"
    assert classic_host.updates and classic_host.updates[-1][0] == classic_host.updates[-1][1]
    # the saved person loads back through the Load Person node, with its photo and consent record
    loaded = talkinghead.NODE_CLASS_MAPPINGS["TalkingheadLoadPerson"]().run(
        path="talkinghead/person_00001.person.safetensors")[0]
    assert loaded.info["kind"] == "portrait" and loaded.identity.k == 1 and len(loaded.photos) == 1
    assert loaded.identity.consent_id


def test_save_node_refuses_without_consent_unless_overridden_and_signs_with_credentials(classic_host, tmp_path,
                                                                                         monkeypatch):
    """Frames of a person without a consent record: refused; with consent_override, saved and the reason recorded;
    with sign_cert/sign_key, a C2PA manifest that verifies as trusted against the test CA."""
    pytest.importorskip("c2pa")
    import talkinghead
    from talkinghead.nodes.provenance.certs import make_test_ca
    from talkinghead.nodes.provenance.verify import verify_file
    from talkinghead.runtime.errors import BadInputError

    monkeypatch.delenv("TALKINGHEAD_SIGN_CERT", raising=False)
    nodes = talkinghead.NODE_CLASS_MAPPINGS
    images, _ = nodes["TalkingheadLoadMedia"]().run(path="examples/media/astronaut.png", start=0, max_frames=0)
    person = nodes["TalkingheadMakePerson"]().run(images=images, consent="", preset="tiny-64", residual="off",
                                                 steps=0, max_seconds=0.0, backend="dlib")[0]
    save = nodes["TalkingheadSaveFrames"]()
    args = {"images": images, "filename_prefix": "t/x", "format": "png", "fps": 25.0, "first_frame": 0,
            "person": person, "sign_cert": "", "sign_key": ""}
    with pytest.raises(BadInputError, match="no consent record.*consent_override"):
        save.run(**args, consent_override="")
    assert not (classic_host.root / "output" / "t").exists()
    ca = make_test_ca(tmp_path / "ca")
    result = save.run(**{**args, "sign_cert": str(ca["cert"]), "sign_key": str(ca["key"])},
                      consent_override="test footage, released by the subject")
    saved = result["ui"]["images"]
    assert saved == [{"filename": "x_00001.0000.png", "subfolder": "t", "type": "output"}]
    assert result["ui"]["talkinghead_provenance"][0]["signed"] is True
    report = verify_file(classic_host.root / "output" / "t" / "x_00001.0000.png", ca["ca"].read_text())
    assert report["ok"] and report["manifest"]["state"] == "trusted"
    consent = report["manifest"]["provenance"]["consent"]
    assert consent["check"] == "overridden: test footage, released by the subject"
    assert "no consent record" in consent["problems"][0]


def test_loaders_fingerprint_file_content(classic_host):
    """IS_CHANGED follows the bytes: same file -> same value; overwritten at the same path -> a new value."""
    import shutil

    import talkinghead

    nodes = talkinghead.NODE_CLASS_MAPPINGS
    photo = classic_host.root / "input" / "me.png"
    shutil.copy(ROOT / "examples" / "media" / "astronaut.png", photo)
    media, upload = nodes["TalkingheadLoadMedia"], nodes["TalkingheadLoadImage"]
    first = media.IS_CHANGED(path="me.png", start=0, max_frames=0)
    assert first == media.IS_CHANGED(path="me.png", start=0, max_frames=0) == upload.IS_CHANGED(file="me.png")
    import cv2

    cv2.imwrite(str(photo), np.zeros((8, 8, 3), np.uint8))
    assert media.IS_CHANGED(path="me.png", start=0, max_frames=0) != first
    track = nodes["TalkingheadLoadFaceTrack"]
    assert len(track.IS_CHANGED(path="examples/media/driver.track.npz")) == 64
    assert nodes["TalkingheadMakePerson"].IS_CHANGED(consent="examples/media/astronaut.consent.json", images=None)
    assert not hasattr(nodes["TalkingheadAnimate"], "IS_CHANGED")


def test_models_load_through_comfy_model_management(classic_host):
    """The base model's modules go through load_models_gpu (as ModelPatchers) on every use, from one cache
    that outlives the node run: a second Load Base does not rebuild them."""
    import talkinghead

    load = talkinghead.NODE_CLASS_MAPPINGS["TalkingheadLoadBase"]()
    first = load.run(preset="tiny-64", model="(best present)", device="comfyui", precision="fp32")[0]
    assert first.precision == "32-true" and classic_host.loaded
    modules = classic_host.loaded[-1]
    assert modules and all(hasattr(m, "parameters") for m in modules)
    second = load.run(preset="tiny-64", model="(best present)", device="comfyui", precision="auto")[0]
    assert second.base is first.base and classic_host.loaded[-1] == modules


def test_same_workflow_on_v3_classes_matches_classic(v3_host, workflow):
    """The V3 classes run the same functions: Generate on the example driver gives the same crops."""
    import talkinghead
    import torch

    nodes = asyncio.run(asyncio.run(talkinghead.comfy_entrypoint()).get_node_list())
    v3 = {n.define_schema().node_id: n for n in nodes}
    with torch.inference_mode():
        _v3_graph(v3, workflow)


def _v3_graph(v3: dict, workflow: dict) -> None:
    media = v3["TalkingheadLoadMedia"].execute(**workflow["1"]["inputs"]).args
    track = v3["TalkingheadExtractLandmarks"].execute(images=media[0], **{
        k: v for k, v in workflow["2"]["inputs"].items() if k != "images"}).args[0]
    driver = v3["TalkingheadLoadFaceTrack"].execute(path="examples/media/driver.track.npz").args[0]
    person = v3["TalkingheadMakePerson"].execute(images=media[0], landmarks=track, **{
        k: v for k, v in workflow["3"]["inputs"].items() if k not in ("images", "landmarks")}).args[0]
    images, alpha = v3["TalkingheadAnimate"].execute(person=person, driver=driver, retarget="relative",
                                                     frame_range="1003-1005").args
    assert tuple(images.shape) == (3, 256, 256, 3) and tuple(alpha.shape) == (3, 256, 256)
    base = v3["TalkingheadLoadBase"].execute(preset="tiny-64", model="(best present)", device="comfyui",
                                             precision="comfyui").args[0]
    identity = v3["TalkingheadEmbedIdentity"].execute(base=base, images=media[0], landmarks=track,
                                                      backend="dlib", consent_id="c-1").args[0]
    assert identity.consent_id == "c-1" and identity.k == 1
    person = v3["TalkingheadFineTune"].execute(base=base, identity=identity, images=media[0], steps=0,
                                               max_seconds=0.0, batch_size=1, seed=0).args[0]
    frames, crops, _mattes = v3["TalkingheadGenerateFrames"].execute(
        person=person, driver=driver, retarget="relative", batch_size=4, frame_range="1003-1005",
        backend="torch", matte="square").args
    assert [f.frame_number for f in frames.items] == [1003, 1004, 1005] and tuple(crops.shape) == (3, 64, 64, 3)
    saved = v3["TalkingheadSavePerson"].execute(person=person, filename_prefix="p")
    assert saved.ui["talkinghead_person"][0]["filename"] == "p_00001.person.safetensors"
    from talkinghead.plugin.comfyui.tensors import image_to_uint8

    graded = crops * 0.0 + 1.0  # "graded" to white
    out, _alpha = v3["TalkingheadComposite"].execute(frames=frames, plate=media[0], crops=graded, matte="square",
                                                    source_hull=False).args
    import cv2

    x, y = np.rint(cv2.invertAffineTransform(frames.items[0].matrix) @ [32.0, 32.0, 1.0]).astype(int)
    pasted = image_to_uint8(out)[:, y, x].astype(int)
    assert pasted.min() >= 250  # the graded crops were pasted
    assert (image_to_uint8(crops)[:, 32, 32] < 200).all()  # ... not the generated ones


def test_retarget_and_preview_nodes(classic_host):
    import talkinghead

    nodes = talkinghead.NODE_CLASS_MAPPINGS
    images, _ = nodes["TalkingheadLoadMedia"]().run(path="examples/media/astronaut.png", start=0, max_frames=0)
    source = nodes["TalkingheadExtractLandmarks"]().run(images=images, backend="dlib", face="largest",
                                                       smooth=False, fill=False, fps=0.0, first_frame=0)[0]
    driver = nodes["TalkingheadLoadFaceTrack"]().run(path="examples/media/driver.track.npz")[0]
    moved = nodes["TalkingheadRetarget"]().run(driver=driver, source=source, mode="relative", neutral=0,
                                               source_frame=0)[0]
    assert moved.landmarks.shape == (12, 68, 2) and moved.image_size == (256, 256)
    np.testing.assert_allclose(moved.landmarks[0], source.landmarks[0], atol=1e-3)  # neutral frame = source
    sketch = nodes["TalkingheadLandmarkPreview"]().run(track=moved)[0]
    assert tuple(sketch.shape) == (12, 256, 256, 3) and float(sketch.max()) > 0
    with pytest.raises(Exception, match="source frame index 3"):
        nodes["TalkingheadRetarget"]().run(driver=driver, source=source, mode="relative", neutral=-1,
                                           source_frame=3)


def test_ui_workflow_matches_the_api_workflow(classic_host, workflow):
    """talkinghead_ui.json (the graph editor's format) holds the same nodes, links and widget values."""
    import talkinghead

    SaveImage.RETURN_TYPES = ()
    classes = {**talkinghead.NODE_CLASS_MAPPINGS, "SaveImage": SaveImage}
    ui = json.loads((WORKFLOW.parent / "talkinghead_ui.json").read_text())
    by_id = {n["id"]: n for n in ui["nodes"]}
    links = {link[0]: link for link in ui["links"]}
    rebuilt = {}
    for node in ui["nodes"]:
        declared = classes[node["type"]].INPUT_TYPES()
        names = [*declared["required"], *declared.get("optional", {})]
        sockets = {i["name"]: i["link"] for i in node["inputs"]}
        widgets = iter(node["widgets_values"])
        inputs = {}
        for name in names:
            if name in sockets:
                if sockets[name] is not None:
                    _, src, slot, dst, _, _ = links[sockets[name]]
                    assert dst == node["id"]
                    inputs[name] = [str(by_id[src]["id"]), slot]
            else:
                inputs[name] = next(widgets)
        rebuilt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    assert rebuilt == {nid: {"class_type": n["class_type"], "inputs": n["inputs"]} for nid, n in workflow.items()}
