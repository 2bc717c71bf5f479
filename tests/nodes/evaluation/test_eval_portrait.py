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


def _drawn_faces_on_path():
    import sys

    sys_path = str(Path(__file__).parents[1] / "animate")
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)


def test_self_reenactment_portrait_never_takes_the_targets_mouth(rt):
    """The targets show white teeth; the output's mouth must not change when the targets' mouth pixels are
    repainted (teeth another light grey, the rest of the opening another dark colour): only their landmarks,
    irises and how much teeth they show drive it, and those stay the same."""
    from talkinghead.nodes.animate.regions import INNER_LIP, polygon_mask
    from talkinghead.nodes.animate.teeth import teeth_mask
    from talkinghead.nodes.evaluation.methods import run_portrait, target_teeth

    _drawn_faces_on_path()
    scene = _scene()
    first = run_portrait(None, scene)
    assert first.outputs.shape == (3, 128, 128, 3) and first.outputs.dtype == np.uint8
    shown = target_teeth(scene)
    painted = scene.target_crops.copy()
    for k, lms in enumerate(scene.target_landmarks):
        lms = np.asarray(lms, np.float64)
        inside = polygon_mask(lms[INNER_LIP], (128, 128)) > 0
        teeth = teeth_mask(painted[k], lms)
        painted[k][inside & teeth] = (215, 212, 205)
        painted[k][inside & ~teeth] = (20, 10, 40)
    scene.target_crops = painted
    np.testing.assert_array_equal(target_teeth(scene), shown)
    np.testing.assert_array_equal(run_portrait(None, scene).outputs, first.outputs)
    assert first.info["mouth_interior"].startswith("own few-shot frames or synthesised")


def test_self_reenactment_portrait_shows_teeth_as_the_target_does(rt):
    """As a driving video's, the target's teeth decide how much of the photo's teeth the synthesised interior
    shows: targets with their mouths open on a dark cavity give a darker mouth than the same targets showing
    teeth."""
    from animate_faces import draw_face
    from talkinghead.nodes.animate.regions import INNER_LIP, polygon_mask
    from talkinghead.nodes.evaluation.methods import run_portrait, target_teeth
    from talkinghead.nodes.sketch import crop_image

    _drawn_faces_on_path()
    with_teeth = _scene()
    dark = _scene()
    dark.target_crops = np.stack([crop_image(draw_face(t), dark.matrix, 128) for t in dark.target_frame_landmarks])
    assert (target_teeth(with_teeth)[1:] > 0.5).all() and (target_teeth(dark) == 0).all()
    bright, shadow = run_portrait(None, with_teeth).outputs, run_portrait(None, dark).outputs
    for k in (1, 2):                                     # the two wider openings
        inside = polygon_mask(np.asarray(with_teeth.target_landmarks[k], np.float64)[INNER_LIP], (128, 128)) > 0.5
        assert bright[k][inside].mean() > shadow[k][inside].mean() + 20


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
