"""Misfits: a dlib re-detection that MediaPipe Face Mesh contradicts on the mouth counts as a frame without a face."""
import numpy as np
import pytest
import skimage.data
from talkinghead.nodes.landmarks.misfit import DLIB_LIPS, MESH_LIPS, MISFIT, MOUTH_PAIRS, mouth_disagreement
from talkinghead.runtime.litert import litert_available
from talkinghead.runtime.runtime import Runtime


def _mesh_like(landmarks: np.ndarray) -> np.ndarray:
    """A (468, 3) mesh whose mouth points sit on the landmarks' (the rest far away: unused)."""
    mesh = np.full((468, 3), 1e6)
    for a, b in MOUTH_PAIRS:
        mesh[b, :2] = landmarks[a]
    mesh[list(MESH_LIPS), :2] = landmarks[list(DLIB_LIPS)]
    return mesh


def test_mouth_disagreement_is_the_mouths_offset_in_eye_corner_spans():
    from cross_faces import base_landmarks

    lms = base_landmarks()
    mesh = _mesh_like(lms)
    assert mouth_disagreement(lms, mesh) == pytest.approx(0.0, abs=1e-9)
    span = np.linalg.norm(lms[45] - lms[36])
    moved = lms.copy()
    moved[48:68, 1] -= 0.2 * span                       # dlib's mouth drawn up towards the nose
    assert mouth_disagreement(moved, mesh) == pytest.approx(0.2, abs=1e-6)


@pytest.fixture(scope="module")
def rt():
    return Runtime(device="cpu")


def test_the_mesh_takes_a_true_fit_and_refuses_a_mouth_on_the_nose(rt):
    pytest.importorskip("dlib", reason="dlib (the evaluation's landmark backend) is not installed")
    if not (litert_available() and rt.has_weights("mediapipe-face-mesh")):
        pytest.skip("the face mesh is absent (talkinghead weights fetch mediapipe-face-mesh)")
    from talkinghead.nodes.evaluation.cross import FaceFollower, start_follower
    from talkinghead.nodes.evaluation.misfit import mesh_check
    from talkinghead.nodes.landmarks.extract import make_backend

    photo = np.ascontiguousarray(skimage.data.astronaut())
    backend = make_backend(rt, "dlib")
    check = mesh_check(rt)
    follower = start_follower(backend, photo, check)
    lms = follower(photo)
    assert lms is not None and follower.misfits == 0
    assert mouth_disagreement(lms, check.mesh(photo, lms)) < 0.5 * MISFIT
    wrong = np.array(lms, np.float64)
    wrong[48:68] += 0.6 * (wrong[30] - wrong[[62, 66]].mean(0))   # the mouth settled on the nose, as on a misfit
    assert not check(photo, wrong)
    refusing = FaceFollower(backend, follower.box, verify=lambda image, points: False)
    assert refusing(photo) is None and refusing.misfits == 1


def test_without_the_mesh_every_fit_is_taken(tmp_path, monkeypatch):
    from talkinghead.nodes.evaluation.misfit import mesh_check

    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    assert mesh_check(Runtime(device="cpu")) is None
