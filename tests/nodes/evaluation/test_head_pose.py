"""Head pose: known rotations of the generic 3-D face, projected, are recovered; roll is the eye line."""
import numpy as np
import pytest
from talkinghead.nodes.evaluation.head_pose import (
    MODEL_3D,
    POSE_POINTS,
    euler_from_matrix,
    eye_line_roll,
    head_pose,
    matrix_from_euler,
    project_model,
)

SIZE = (512, 512)


def projected_landmarks(roll: float, yaw: float, pitch: float, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """(68, 2) landmarks: the model's pose points projected (others at the nose tip; head_pose ignores them)."""
    pts = project_model(matrix_from_euler(roll, yaw, pitch), [12.0, -8.0, 4000.0], SIZE)
    pts = pts + np.random.default_rng(seed).normal(0, noise, pts.shape)
    out = np.repeat(pts[POSE_POINTS.index(30)][None], 68, 0)
    out[list(POSE_POINTS)] = pts
    return out


def test_euler_round_trip():
    for angles in [(10, -20, 5), (-25, 15, -30), (0, 0, 0)]:
        assert np.allclose(euler_from_matrix(matrix_from_euler(*angles)), angles, atol=1e-9)


@pytest.mark.parametrize("angles", [(0, 0, 0), (15, 0, 0), (0, 25, 0), (0, 0, -20), (-12, 18, 14), (20, -25, -15)])
def test_known_rotations_are_recovered(angles):
    est = head_pose(projected_landmarks(*angles), SIZE)
    assert np.allclose(est, angles, atol=1.0), (est, angles)


def test_recovered_under_landmark_noise():
    rng = np.random.default_rng(1)
    errors = []
    for k in range(60):
        angles = rng.uniform(-30, 30, 3)
        errors.append(np.abs(np.subtract(head_pose(projected_landmarks(*angles, noise=0.3, seed=k), SIZE), angles)))
    errors = np.array(errors)
    assert errors.mean(0).max() < 0.6 and errors.max() < 3.0


def test_axes_are_separate():
    """A pure yaw reads as yaw only, a pure pitch as pitch only (no leak between axes)."""
    yaw_only = head_pose(projected_landmarks(0, 25, 0), SIZE)
    pitch_only = head_pose(projected_landmarks(0, 0, 25), SIZE)
    assert abs(yaw_only[0]) < 0.5 and abs(yaw_only[2]) < 0.5 and abs(yaw_only[1] - 25) < 1.0
    assert abs(pitch_only[0]) < 0.5 and abs(pitch_only[1]) < 0.5 and abs(pitch_only[2] - 25) < 1.0


def test_roll_sign_and_eye_line():
    lms = projected_landmarks(10, 0, 0)
    assert eye_line_roll(lms) == pytest.approx(10, abs=0.2)  # clockwise on screen: the right eye lower
    assert lms[45, 1] > lms[36, 1]


def test_no_face_is_nan():
    assert np.isnan(head_pose(None, SIZE)).all()
    bad = projected_landmarks(0, 0, 0)
    bad[3] = np.nan
    assert np.isnan(head_pose(bad, SIZE)).all()
    assert MODEL_3D.shape == (len(POSE_POINTS), 3)


def test_degenerate_points_are_nan_not_an_error():
    from talkinghead.nodes.evaluation.head_pose import pose_from_points

    assert np.isnan(pose_from_points(np.zeros((len(POSE_POINTS), 2)), SIZE)).all()
    collapsed = projected_landmarks(0, 0, 0)
    collapsed[list(POSE_POINTS)] = collapsed[30]
    assert np.isnan(head_pose(collapsed, SIZE)[1:]).all()
