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
