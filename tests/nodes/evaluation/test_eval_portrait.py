"""The default animation path as a method of both evaluations: cross-identity (``eval --cross --method product``: the
pipeline) and self-reenactment (``eval --method portrait``), where its mouth never comes from the target."""
import os
from pathlib import Path

import numpy as np
import pytest
from cross_faces import tilting_astronaut
from talkinghead.runtime.runtime import Runtime

pytest.importorskip("dlib", reason="dlib (the evaluation's landmark backend) is not installed")
DATA = Path(os.environ.get("TALKINGHEAD_TEST_DATA", Path(__file__).resolve().parents[3].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu", precision="32-true")


def test_cross_method_portrait_end_to_end(rt, tmp_path):
    """The astronaut driven by a clip of herself tilting: the portrait path keeps her, follows the tilt and
    leaves everything outside its matte as it was."""
    from talkinghead.nodes.evaluation.cross import CrossConfig, evaluate_cross
    from talkinghead.nodes.evaluation.cross_methods import METHODS

    assert "product" in METHODS
    photo, clip = tilting_astronaut(tmp_path)
    cfg = CrossConfig(sources=(photo,), drivers=(clip,), methods=("product",),
                      cache_dir=tmp_path / "cache")
    row = evaluate_cross(rt, cfg)["rows"][0]
    s = row["summary"]
    assert s["redetect_rate"] == 1.0 and s["identity_kept"] == 1.0
    assert s["r_roll"] > 0.9
    assert s["background_psnr"] == 100.0 and s["background_ok"] == 1.0
    assert "head_layer" in row["info"]


def _scene():
    """A self-reenactment Scene of drawn faces: one few-shot frame, three targets opening the mouth."""
    from animate_faces import draw_face, open_mouth, template
    from talkinghead.nodes.evaluation.methods import Scene
    from talkinghead.nodes.sketch import crop_image, face_crop_matrix, transform_landmarks

    src = template()
    targets = np.array([open_mouth(src, a) for a in (4.0, 10.0, 16.0)])
    frames = [draw_face(src)] + [draw_face(t, teeth=True) for t in targets]
    matrix = face_crop_matrix(src[None].astype(np.float32), 128, 0.4)
    crops = np.stack([crop_image(f, matrix, 128) for f in frames])
    return Scene(128, matrix, frames[:1], src[None], crops[:1], transform_landmarks(src[None], matrix), crops[1:],
                 transform_landmarks(targets.astype(np.float32), matrix), targets, np.zeros(3, int), "drawn")


def test_self_reenactment_portrait_never_takes_the_targets_mouth(rt):
    """The targets show white teeth; the output's mouth must not change when the targets' mouths are painted
    over (only their landmarks and irises drive it)."""
    from talkinghead.nodes.evaluation.methods import run_portrait

    sys_path = str(Path(__file__).parents[1] / "animate")
    import sys

    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    scene = _scene()
    first = run_portrait(None, scene)
    assert first.outputs.shape == (3, 128, 128, 3) and first.outputs.dtype == np.uint8
    from talkinghead.nodes.animate.regions import OUTER_LIP, polygon_mask

    painted = scene.target_crops.copy()
    for k, lms in enumerate(scene.target_landmarks):
        painted[k][polygon_mask(np.asarray(lms, np.float64)[OUTER_LIP], (128, 128)) > 0] = (0, 255, 0)
    scene.target_crops = painted
    np.testing.assert_array_equal(run_portrait(None, scene).outputs, first.outputs)
    assert first.info["mouth_interior"].startswith("own few-shot frames or synthesised")


PHOTO, CLIP = DATA / "portraits" / "sadtalker_happy.png", DATA / "clips" / "lia_vox2.mp4"


@pytest.mark.data
@pytest.mark.skipif(not (PHOTO.exists() and CLIP.exists()), reason="shared test data (../shared/data) absent")
def test_portrait_on_a_real_cross_identity_pair(rt, tmp_path):
    """A photo driven by another person's clip: the person is kept, the mouth and the head follow the driver,
    the background outside the matte is untouched (figures of the full clip are in the branch's report)."""
    from talkinghead.nodes.evaluation.cross import CrossConfig, evaluate_cross

    cfg = CrossConfig(sources=(PHOTO,), drivers=(CLIP,), methods=("product",), frames=80, cache_dir=tmp_path / "c")
    s = evaluate_cross(rt, cfg)["rows"][0]["summary"]
    assert s["redetect_rate"] == 1.0 and s["identity_kept"] >= 0.95
    assert s["r_mouth"] > 0.9 and s["r_roll"] > 0.9 and s["r_yaw"] > 0.9
    assert s["jitter_ratio"] < 1.0 and s["background_psnr"] == 100.0
