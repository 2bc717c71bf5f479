"""Mouth state on drawn mouths: closed, open onto a dark cavity, open showing teeth; colour and grey."""
import numpy as np
import pytest
from cross_faces import DARK, TEETH, base_landmarks, draw_face, with_mouth
from talkinghead.nodes.evaluation.metrics import mouth_opening
from talkinghead.nodes.evaluation.mouth_state import mouth_features, mouth_state


@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize(("opening", "interior", "expected"), [
    (0.0, DARK, "closed"), (0.3, DARK, "open-dark"), (0.3, TEETH, "teeth"), (0.07, TEETH, "teeth"),
    (0.07, DARK, "open-dark"), (0.07, (150, 60, 60), "closed"), (0.3, (150, 60, 60), "open-dark")])
def test_drawn_mouths(opening, interior, expected, gray):
    lms = with_mouth(base_landmarks(), opening)
    assert mouth_opening(lms) == pytest.approx(opening, abs=0.01)
    image = draw_face(lms, interior, gray=gray)
    assert mouth_state(image, lms) == expected, mouth_features(image, lms)


def test_scale_does_not_matter():
    """The classifier works in a copy rescaled to a fixed mouth width: a quarter-size face reads the same."""
    import cv2

    lms = with_mouth(base_landmarks(), 0.3)
    image = draw_face(lms, TEETH)
    small = cv2.resize(image, (150, 150), interpolation=cv2.INTER_AREA)
    assert mouth_state(small, (lms + 0.5) / 4 - 0.5) == "teeth"


def test_no_face_is_none():
    image = draw_face(with_mouth(base_landmarks(), 0.3))
    assert mouth_state(image, None) is None
    lms = with_mouth(base_landmarks(), 0.3)
    lms[50] = np.nan
    assert mouth_state(image, lms) is None


def test_collapsed_mouth_is_none():
    lms = with_mouth(base_landmarks(), 0.3)
    lms[48:68] = lms[48:68].mean(0)
    assert mouth_state(draw_face(with_mouth(base_landmarks(), 0.3)), lms) is None
