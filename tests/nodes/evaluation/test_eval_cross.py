"""``talkinghead eval --cross`` end to end on a tiny synthetic case: the astronaut photo driven by a short clip
of the astronaut turning and tilting; the identity measure on the photo itself and on noise."""
import importlib.util
import json

import cv2
import numpy as np
import pytest
import skimage.data
from talkinghead.runtime.runtime import Runtime

pytest.importorskip("dlib", reason="dlib (the evaluation's landmark backend) is not installed")


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu", precision="32-true")


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """astro.png (512 px) and drive.mp4: 10 frames of the astronaut rotating by up to 8 degrees and drifting."""
    from cross_faces import tilting_astronaut

    folder = tmp_path_factory.mktemp("cross")
    tilting_astronaut(folder)
    return folder


def test_identity_same_photo_and_noise(rt):
    from talkinghead.nodes.evaluation.cross import FaceFollower, start_follower
    from talkinghead.nodes.evaluation.identity import IdentityScorer
    from talkinghead.nodes.landmarks.extract import make_backend

    photo = np.ascontiguousarray(skimage.data.astronaut())
    backend = make_backend(rt, "dlib")
    follower = start_follower(backend, photo)
    box = follower.box
    lms = follower(photo)
    noise = np.random.default_rng(0).integers(0, 256, photo.shape, dtype=np.uint8)
    output = FaceFollower(backend, box)
    found = [output(photo), output(noise)]
    assert found[1] is None and np.array_equal(found[0], lms)  # the photo as an output: the very same landmarks
    scorer = IdentityScorer(rt, photo, lms)
    for image, points in zip((photo, noise), found):
        scorer.add(image, points)
    distances = scorer.finish()
    assert distances[0] < 0.05 and np.isnan(distances[1])
    from talkinghead.nodes.evaluation.cross_metrics import identity_summary

    assert identity_summary(distances)["kept"] == 0.5


def test_port_agrees_with_dlib(rt):
    """The batched PyTorch port of dlib's face ResNet gives dlib's own distances within 0.01."""
    from talkinghead.nodes.evaluation.cross import FaceFollower
    from talkinghead.nodes.evaluation.identity import IdentityScorer, _native_model, native_descriptor
    from talkinghead.nodes.landmarks.extract import make_backend

    photo = np.ascontiguousarray(skimage.data.astronaut())
    backend = make_backend(rt, "dlib")
    lms = FaceFollower(backend)(photo)
    moved = cv2.warpAffine(photo, cv2.getRotationMatrix2D((220.0, 130.0), 12, 0.8), (512, 512))
    moved_lms = FaceFollower(backend)(moved)
    scorer = IdentityScorer(rt, photo, lms, exact=False)
    scorer.add(moved, moved_lms)
    port = scorer.finish()[0]
    model = _native_model(rt)
    native = np.linalg.norm(native_descriptor(model, moved, moved_lms) - native_descriptor(model, photo, lms))
    assert abs(port - native) < 0.01


def test_command_end_to_end(case, tmp_path):
    from talkinghead.plugin.cli import main

    out = tmp_path / "report.json"
    code = main(["--device", "cpu", "eval", "--cross", "--source", str(case / "astro.png"), "--driver",
                 str(case / "drive.mp4"), "--method", "warp", "product", "--preset", "tiny-64-warp", "--out", str(out),
                 "--sheet", str(tmp_path / "sheet.png"), "--sheet-rows", "3", "--sheet-cell", "96",
                 "--landmark-cache", str(tmp_path / "cache")])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["format"] == "talkinghead.eval-cross/1" and not report["errors"]
    assert [r["method"] for r in report["rows"]] == ["warp", "product"]
    assert report["drivers"][0]["frames"] == 10 and len(report["drivers"][0]["per_frame"]["roll"]) == 10
    warp = report["rows"][0]
    s = warp["summary"]
    assert warp["frames"] == 10 and len(warp["per_frame"]["detected"]) == 10
    assert s["redetect_rate"] == 1.0 and s["identity_kept"] == 1.0 and s["identity_distance"] < 0.4
    assert s["r_roll"] > 0.9  # the driver only tilts: the warped photo tilts with it
    for key in ("r_mouth", "r_eye_left", "r_eye_right", "r_yaw", "r_pitch", "mouth_agreement", "gaze_mean",
                "gaze_p90", "jitter_ratio", "background_psnr", "background_ok", "mask_fraction"):
        assert key in s
    assert 0 <= s["jitter_floor"] < s["jitter_ratio"]   # the still photo's re-detection jitters less
    if report["config"]["second_iris_locator"] is None:   # no iris model here: the locators' gap is not read
        assert s["gaze_locator_gap_mean"] is None
    else:                                                 # both locators read the driver's drawn irises
        assert 0 <= s["gaze_locator_gap_mean"] <= s["gaze_locator_gap_p90"]
    assert report["rows"][1]["summary"]["background_psnr"] == 100.0  # the product pastes inside its matte only
    sheet = cv2.imread(str(tmp_path / "sheet.png"))
    assert sheet is not None and sheet.shape[0] > 4 * 96 and report["sheets"] == [str(tmp_path / "sheet.png")]
    assert "| astro | drive | warp |" in out.with_suffix(".md").read_text()


def test_command_usage_errors(case, tmp_path):
    from talkinghead.plugin.cli import main

    assert main(["eval", "--cross", "--source", str(case / "astro.png")]) == 2
    assert main(["eval", "--cross", "--source", str(case / "astro.png"), "--driver", str(case / "drive.mp4"),
                 "--method", "nope"]) == 2
    assert main(["eval", "--cross", "--sources", str(case / "astro.png"), str(case / "astro.png"), "--driver",
                 str(case / "drive.mp4"), "--sheet", str(tmp_path / "s.png")]) == 2
    assert main(["eval", "--out", str(tmp_path / "r.json")]) == 2  # self-reenactment still needs --clips
    if importlib.util.find_spec("talkinghead.nodes.animate") is None:
        assert main(["eval", "--cross", "--source", str(case / "astro.png"), "--driver", str(case / "drive.mp4"),
                     "--iris", "product"]) == 2


def test_an_output_that_is_the_driver_scores_perfectly(rt, case, tmp_path):
    """The instrument's own floor: the driver's frames scored as the output (its first frame as the photo)
    are found by the very same follower, so every r is 1, the states agree and the gaze error is 0."""
    from talkinghead.nodes.evaluation.cross import CrossConfig, evaluate_cross
    from talkinghead.nodes.media.io import iter_frames, write_image

    write_image(tmp_path / "first.png", next(iter(iter_frames(case / "drive.mp4")))[1])
    cfg = CrossConfig(sources=(tmp_path / "first.png",), drivers=(case / "drive.mp4",), methods=("rendered",),
                      rendered=str(case / "drive.mp4"), cache_dir=tmp_path / "cache")
    s = evaluate_cross(rt, cfg)["rows"][0]["summary"]
    for key in ("r_mouth", "r_eye_left", "r_eye_right", "r_roll", "r_yaw", "r_pitch", "jitter_ratio",
                "mouth_agreement", "redetect_rate", "identity_kept"):
        assert s[key] == pytest.approx(1.0), key
    assert s["gaze_mean"] == 0.0 and s["gaze_p90"] == 0.0
