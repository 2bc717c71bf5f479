"""The head layer's backward map: identity at the source pose, rigid hair, still neck, no folds."""
import numpy as np
import pytest
from talkinghead.nodes.animate.motion import (
    NeckLine,
    apply_affine,
    backward_map,
    fold_mask,
    head_similarity,
    in_layer,
    jacobian_det,
    lattice,
    repair_folds,
)
from talkinghead.nodes.animate.pose import head_pose, mouth_opening

GOLDEN = __import__("pathlib").Path(__file__).parents[2] / "golden" / "astronaut_dlib_landmarks.npy"
SIZE = (512, 512)
STEP = 8


@pytest.fixture(scope="module")
def source():
    return np.load(GOLDEN).astype(np.float64)


def rotate(points, degrees, centre):
    t = np.radians(degrees)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (points - centre) @ r.T + centre


def open_mouth(landmarks, amount):
    """Drop the jaw and lower lip by ``amount`` x face height at the chin, less towards the mouth corners."""
    out = landmarks.copy()
    neck = NeckLine.from_landmarks(landmarks)
    shift = amount * neck.height * neck.down
    share = {3: 0.15, 4: 0.35, 5: 0.6, 6: 0.8, 7: 0.95, 8: 1.0, 9: 0.95, 10: 0.8, 11: 0.6, 12: 0.35, 13: 0.15,
             55: 0.5, 56: 0.8, 57: 0.9, 58: 0.8, 59: 0.5, 65: 0.5, 66: 0.85, 67: 0.5}
    for index, fraction in share.items():
        out[index] += fraction * shift
    return out


def layer_alpha(landmarks):
    """A synthetic head layer: the face hull grown 1.8x (hair, ears) and the neck down to the cut."""
    import cv2
    from talkinghead.nodes.animate.segment import face_hull_mask

    alpha = face_hull_mask(landmarks, SIZE, 1.8).astype(np.uint8)
    neck = NeckLine.from_landmarks(landmarks)
    drop = 0.95 * neck.height * neck.down
    quad = np.array([landmarks[3], landmarks[13], landmarks[13] + drop, landmarks[3] + drop])
    cv2.fillConvexPoly(alpha, np.round(quad).astype(np.int32), 1)
    return alpha.astype(np.float32)


def grid():
    return lattice((0, 0, *SIZE[::-1]), STEP)


def test_identity_when_target_is_source(source):
    points = grid()
    mapped = backward_map(source, source, points)
    assert np.abs(mapped - points).max() < 1e-6


def test_hair_follows_rigid_rotation(source):
    centre = source[27:36].mean(0)
    target = rotate(source, 20, centre)
    s = head_similarity(source, target)
    # a hair point above the forehead and an ear point: outside the face, they move with the head rigidly
    hair_src = source[19] + 0.9 * (source[19] - source[8]) * 0.5
    ear_src = source[0] + 0.25 * (source[0] - source[16])
    for point in (hair_src, ear_src):
        moved = apply_affine(s, point[None])  # where the hair point goes
        back = backward_map(source, target, moved[None])[0, 0]
        assert np.linalg.norm(back - point) < 0.5, (point, back)


def test_neck_below_line_does_not_move(source):
    neck = NeckLine.from_landmarks(source)
    target = rotate(source, 15, source[27:36].mean(0)) + [6.0, -4.0]
    below = neck.chin + 0.9 * neck.height * neck.down + np.array([[-30.0, 0.0], [0.0, 0.0], [30.0, 0.0]])
    mapped = backward_map(source, target, below[None])[0]
    np.testing.assert_allclose(mapped, below, atol=1e-9)


def test_fold_outside_the_layer_is_ignored(source):
    points = grid()
    folded = points.copy()
    folded[0:4, 0:4, 0] = points[0:4, 0:4, 0][:, ::-1]  # a corner of the image, far from the head
    assert fold_mask(folded, STEP).any()
    assert not fold_mask(folded, STEP, where=in_layer(layer_alpha(source), folded)).any()


def test_fold_detector_finds_a_deliberate_fold():
    points = grid()
    folded = points.copy()
    folded[20:30, 20:30, 0] = points[20:30, 20:30, 0][:, ::-1]  # mirror a patch: orientation reversed
    assert fold_mask(folded, STEP).any()
    assert not fold_mask(points, STEP).any()
    assert np.allclose(jacobian_det(points, STEP), 1.0)


def test_repair_removes_a_fold():
    points = grid()
    folded = points.copy()
    folded[30:34, 30:34] += np.array([20.0, 0.0])  # a patch pushed past its right neighbours
    assert fold_mask(folded, STEP).any()
    repaired, rounds = repair_folds(folded, points, STEP)
    assert rounds > 0 and not fold_mask(repaired, STEP).any()


@pytest.mark.parametrize("pose", ["roll+25", "roll-25", "open-mouth", "yaw", "roll+25-open"])
def test_large_poses_do_not_fold(source, pose):
    centre = source[27:36].mean(0)
    target = {
        "roll+25": rotate(source, 25, centre),
        "roll-25": rotate(source, -25, centre),
        "open-mouth": open_mouth(source, 0.25),
        "yaw": _yawed(source, 0.3),
        "roll+25-open": rotate(open_mouth(source, 0.2), 25, centre) + [10.0, 8.0],
    }[pose]
    points = grid()
    mapped = backward_map(source, target, points)
    where = in_layer(layer_alpha(source), mapped)
    assert not fold_mask(mapped, STEP, where=where).any(), f"{pose}: {fold_mask(mapped, STEP).sum()} folded cells"
    if pose.startswith("roll"):
        assert abs(head_pose(target)[0] - head_pose(source)[0]) > 20
    if "open" in pose:
        assert mouth_opening(target[None])[0] > mouth_opening(source[None])[0] + 0.05


def _yawed(landmarks, amount):
    """A yaw-like 2-D change: points compressed towards one side in proportion to their offset."""
    centre = landmarks[27:36].mean(0)
    out = landmarks.copy()
    dx = landmarks[:, 0] - centre[0]
    out[:, 0] = centre[0] + dx * (1 - amount * (dx > 0)) + amount * 0.3 * np.abs(dx).mean()
    return out


def test_real_driver_yaw_and_mouth_do_not_fold(source):
    """Yaw and mouth opening from a real clip's landmarks (the shared data's lp_d3), retargeted onto the photo
    as the pipeline does (relative motion)."""
    from talkinghead.nodes.landmarks.retarget import retarget

    track = _shared_track()
    poses = retarget(track, source, image_size=SIZE).landmarks[track.valid].astype(np.float64)
    yaws = head_pose(poses)[:, 1]
    points = grid()
    for index in (int(np.argmin(yaws)), int(np.argmax(yaws)), int(np.argmax(mouth_opening(poses)))):
        target = poses[index]
        mapped = backward_map(source, target, points)
        assert not fold_mask(mapped, STEP, where=in_layer(layer_alpha(source), mapped)).any()


def _shared_track():
    import os
    from pathlib import Path

    root = Path(os.environ.get("TALKINGHEAD_TEST_DATA") or Path(__file__).parents[4] / "shared" / "data")
    clip = root / "clips" / "lp_d3.mp4"
    if not clip.is_file():
        pytest.skip(f"shared data absent ({clip})")
    import itertools

    from talkinghead.nodes.landmarks.extract import extract_landmarks
    from talkinghead.nodes.media.io import iter_frames
    from talkinghead.runtime.runtime import Runtime

    frames = [(i, f) for i, f in itertools.islice(iter_frames(clip), 0, 240, 6)]
    return extract_landmarks(Runtime(device="cpu"), frames, "dlib")


def test_the_spline_evaluated_in_float32_stays_within_a_twentieth_of_a_pixel(source):
    """``tps_eval`` runs its kernel in float32 for speed; on a face's fit, whose weights reach hundreds of px
    and cancel, it must still give the float64 spline's values to within 0.05 px over the whole frame."""
    from talkinghead.nodes.animate.motion import fit_head_motion, tps_eval

    target = open_mouth(rotate(source, 15, source[27:36].mean(0)), 0.1) + [20.0, -10.0]
    c, w, a, scale = fit_head_motion(source, target).model
    assert np.abs(w).max() > 100                                  # a fit whose weights cancel
    yy, xx = np.mgrid[0:SIZE[0]:4, 0:SIZE[1]:4]
    points = np.stack([xx, yy], -1).astype(np.float64).reshape(-1, 2)
    flat = points / scale
    d2 = np.maximum(((flat[:, None] - c[None]) ** 2).sum(-1), 1e-300)
    exact = (0.5 * d2 * np.log(d2)) @ w + a[0] + flat @ a[1:]
    assert np.abs(tps_eval((c, w, a, scale), points) - exact).max() < 0.05
