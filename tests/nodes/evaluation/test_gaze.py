"""The evaluation's classical iris locator on drawn eyes: known offsets are recovered, a closed eye has none."""
import numpy as np
import pytest
from cross_faces import base_landmarks, draw_face, with_eyes_open, with_mouth
from talkinghead.nodes.evaluation.gaze import classic_iris_centres, eye_openings, iris_offsets


def face(offsets, opening=0.35, roll=0.0):
    lms = with_eyes_open(with_mouth(base_landmarks(), 0.0), opening)
    if roll:
        import cv2

        m = cv2.getRotationMatrix2D((300.0, 300.0), roll, 1.0)
        lms = lms @ m[:, :2].T + m[:, 2]
    return draw_face(lms, iris_offsets=np.asarray(offsets, np.float64)), lms


@pytest.mark.parametrize(("offsets", "opening"), [([[0, 0], [0, 0]], 0.35), ([[-0.15, 0], [-0.15, 0]], 0.35),
                                                  ([[0.12, 0.04], [0.18, -0.03]], 0.55)])
def test_known_offsets_are_recovered(offsets, opening):
    """Horizontal offsets in a normally open eye; vertical ones where the lids do not cover the iris (the
    locator finds the centre of the VISIBLE iris, so a lid-clipped iris reads nearer the eye's centre)."""
    image, lms = face(offsets, opening)
    found = iris_offsets(classic_iris_centres(image, lms), lms)
    assert np.allclose(found, offsets, atol=0.03), found


def test_offsets_are_in_the_eye_frame():
    """Rolling the whole face leaves the offsets (measured along each eye's own axis) unchanged."""
    image, lms = face([[0.12, 0.0], [0.12, 0.0]], roll=20)
    assert np.allclose(iris_offsets(classic_iris_centres(image, lms), lms), [[0.12, 0.0], [0.12, 0.0]], atol=0.03)


def test_closed_eye_has_no_iris():
    image, lms = face([[0, 0], [0, 0]], opening=0.05)
    assert max(eye_openings(lms)) < 0.1
    assert np.isnan(classic_iris_centres(image, lms)).all()


def test_the_locator_is_chosen_by_name_and_the_model_refused_without_its_file(tmp_path, monkeypatch):
    from talkinghead.nodes.evaluation.gaze import make_locator
    from talkinghead.runtime.errors import UsageError
    from talkinghead.runtime.runtime import Runtime

    monkeypatch.setenv("TALKINGHEAD_MODELS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    rt = Runtime(device="cpu")
    assert make_locator("classic", rt)[0] is classic_iris_centres
    with pytest.raises(UsageError, match="unknown iris locator"):
        make_locator("darkest-disc", rt)
    with pytest.raises(UsageError, match="weights fetch mediapipe-iris"):
        make_locator("model", rt)


def test_the_iris_model_finds_drawn_irises():
    """MediaPipe's iris model (when its file is here) reads the offsets of drawn irises."""
    from talkinghead.nodes.evaluation.gaze import make_locator
    from talkinghead.runtime.litert import litert_available
    from talkinghead.runtime.runtime import Runtime

    rt = Runtime(device="cpu")

    if not (litert_available() and rt.has_weights("mediapipe-iris")):
        pytest.skip("the iris model is absent (talkinghead weights fetch mediapipe-iris)")
    image, lms = face([[0.12, 0.0], [-0.1, 0.0]], 0.45)
    found = iris_offsets(make_locator("model", rt)[0](image, lms), lms)
    assert np.allclose(found[:, 0], [0.12, -0.1], atol=0.04), found
