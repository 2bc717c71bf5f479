"""Scores against known values: identical images (SSIM 1, landmark error 0, CSIM 1), hard-frame means."""
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from talkinghead.nodes.evaluation import scoring as SC
from talkinghead.nodes.sketch import crop_image, face_crop_matrix, transform_landmarks
from talkinghead.runtime.runtime import Runtime

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy"


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu", precision="32-true")


@pytest.fixture(scope="module")
def scored(rt):
    pytest.importorskip("dlib", reason="dlib (landmark re-detection) is not installed")
    from talkinghead.nodes.landmarks.extract import make_backend
    from talkinghead.nodes.networks.dlib_resnet import load_dlib_face_resnet_cached

    lm = np.load(GOLDEN).astype(np.float32)
    m = face_crop_matrix(lm, 128)
    crop = crop_image(skimage.data.astronaut(), m, 128)
    crops = np.stack([crop, crop[:, ::-1].copy()])
    lms = np.stack([transform_landmarks(lm, m)] * 2)
    backend, net = make_backend(rt, "dlib"), load_dlib_face_resnet_cached(rt)
    ref = SC.make_reference(rt, backend, net, crops, lms, np.array([True, False]), np.array([False, True]))
    return ref, SC.score_outputs(rt, backend, net, crops.copy(), ref)


def test_identical_outputs_score_perfectly(scored):
    ref, per_frame = scored
    assert all(r is not None for r in ref.redetected)
    np.testing.assert_allclose(per_frame["ssim"], 1.0, atol=1e-12)
    np.testing.assert_allclose(per_frame["face_ssim"], 1.0, atol=1e-12)
    np.testing.assert_allclose(per_frame["face_detail"], 1.0, atol=1e-12)
    np.testing.assert_allclose(per_frame["csim"], 1.0, atol=1e-6)
    assert per_frame["lmk_error"] == [0.0, 0.0] and per_frame["detected"] == [True, True]
    assert per_frame["psnr"] == [float("inf")] * 2
    s = SC.summarise(per_frame, ref)
    assert s["ssim"] == pytest.approx(1.0) and s["lmk_error"] == 0.0 and s["redetect_rate"] == 1.0
    assert s["psnr"] is None  # no finite PSNR to average


def test_a_different_face_scores_lower(rt, scored):
    from talkinghead.nodes.landmarks.extract import make_backend
    from talkinghead.nodes.networks.dlib_resnet import load_dlib_face_resnet_cached

    ref, _ = scored
    shifted = np.roll(ref.crops, 6, axis=2)
    per_frame = SC.score_outputs(rt, make_backend(rt, "dlib"), load_dlib_face_resnet_cached(rt), shifted, ref)
    assert max(per_frame["ssim"]) < 0.8 and max(per_frame["face_ssim"]) < 0.8
    assert min(e for e in per_frame["lmk_error"] if e is not None) > 0.05  # 6 px / ~45 px inter-ocular


def test_an_output_with_no_face_gets_no_csim(rt, scored):
    """Coloured noise at the target's place: no face is re-detected, so no CSIM (it used to score ~0.84 by
    being described aligned on the TARGET's landmarks); it is counted as a frame without a face."""
    from talkinghead.nodes.landmarks.extract import make_backend
    from talkinghead.nodes.networks.dlib_resnet import load_dlib_face_resnet_cached

    ref, _ = scored
    noise = np.random.default_rng(0).integers(0, 256, ref.crops.shape, dtype=np.uint8)
    mixed = np.stack([noise[0], ref.crops[1]])  # one noise output, one real face
    per_frame = SC.score_outputs(rt, make_backend(rt, "dlib"), load_dlib_face_resnet_cached(rt), mixed, ref)
    assert per_frame["detected"] == [False, True]
    assert per_frame["csim"][0] is None and per_frame["lmk_error"][0] is None
    assert per_frame["csim"][1] == pytest.approx(1.0, abs=1e-6)
    s = SC.summarise(per_frame, ref)
    assert s["n_no_face"] == 1 and s["redetect_rate"] == 0.5 and s["csim"] == pytest.approx(1.0, abs=1e-6)
    all_noise = SC.summarise(SC.score_outputs(rt, make_backend(rt, "dlib"), load_dlib_face_resnet_cached(rt),
                                              noise, ref), ref)
    assert all_noise["csim"] is None and all_noise["n_no_face"] == 2 and all_noise["redetect_rate"] == 0.0


def test_hard_frame_means_use_their_own_frames():
    ref = SC.Reference(np.zeros((4, 8, 8, 3), np.uint8), np.zeros((4, 68, 2)), [np.zeros((68, 2))] * 3 + [None],
                       np.zeros((4, 128)), np.array([True, True, False, False]), np.array([False, True, True, False]))
    per_frame = {k: [0.0] * 4 for k in SC.PER_FRAME_KEYS}
    per_frame.update(mouth_ssim=[0.2, 0.4, 0.9, 0.9], eye_ssim=[0.9, 0.3, 0.5, 0.9],
                     lmk_error=[0.01, None, 0.03, None], detected=[True, False, True, True], psnr=[20, 30, 40, np.inf])
    s = SC.summarise(per_frame, ref)
    assert s["hard_mouth_ssim"] == pytest.approx(0.3) and s["n_hard_mouth"] == 2
    assert s["hard_eye_ssim"] == pytest.approx(0.4) and s["n_hard_eyes"] == 2
    assert s["hard_any_mouth_ssim"] == pytest.approx(0.5) and s["n_hard"] == 3
    assert s["lmk_error"] == pytest.approx(0.02)
    assert s["redetect_rate"] == pytest.approx(2 / 3)  # output found where the real was: frames 0 and 2 of 0-2
    assert s["real_redetect_rate"] == pytest.approx(0.75)
    assert s["psnr"] == pytest.approx(30.0)


def test_region_psnr_is_local():
    lm = np.load(GOLDEN).astype(np.float64)
    m = face_crop_matrix(lm, 128)
    crop = crop_image(skimage.data.astronaut(), m, 128)
    lms = transform_landmarks(lm, m)
    other = crop.copy()
    top = int(lms[48:68, 1].min()) - 10  # above the mouth box, below the eye boxes
    assert top > lms[36:48, 1].max() + 5
    other[top:] = 255 - other[top:]
    assert SC.region_psnr(other, crop, lms, "eyes") == float("inf")
    assert SC.region_psnr(other, crop, lms, "mouth") < 15
