"""Driving a photo: lips as open as the driver's, a steadied head, the reference frames, the head turned in
3-D, and landmarks in the photo's own frame (self-reenactment)."""
import cv2
import numpy as np
from animate_faces import close_mouth, draw_face, open_mouth, template
from talkinghead.nodes.animate import head3d as H
from talkinghead.nodes.animate.drive import STEADY, drive_targets, steady_pose
from talkinghead.nodes.animate.regions import mouth_opening
from talkinghead.nodes.animate.targets import lip_targets
from talkinghead.nodes.landmarks.retarget import pick_neutral
from talkinghead.nodes.types import FaceTrack


def test_lips_open_as_wide_as_the_drivers_and_keep_their_thickness():
    photo = open_mouth(template(), 10.0)                  # a photo showing its teeth
    driver = template()
    closed = lip_targets(photo, close_mouth(driver))
    gaps = closed[[67, 66, 65], 1] - closed[[61, 62, 63], 1]
    np.testing.assert_allclose(gaps, 0.0, atol=0.2)       # the driver's lips meet: so do the photo's
    wide = lip_targets(photo, open_mouth(driver, 25.0))
    assert abs(mouth_opening(wide) - mouth_opening(open_mouth(driver, 25.0))) < 0.01
    for target in (closed, wide):                         # the lower lip moves as one piece (thickness kept)
        np.testing.assert_allclose(target[57] - target[66], photo[57] - photo[66], atol=1e-6)
    assert wide[8, 1] > closed[8, 1] + 10                 # the chin follows the lower lip


def test_steady_pose_removes_head_shake_but_keeps_the_lips():
    rng = np.random.default_rng(0)
    base = template()
    n = 60
    frames = np.repeat(base[None], n, 0)
    talk = 6.0 * np.sin(np.arange(n) * 0.9)              # fast lip motion
    frames[:, [65, 66, 67, 55, 56, 57, 58, 59]] += np.stack([np.zeros(n), talk], 1)[:, None]
    shaken = frames + rng.normal(0, 1.5, (n, 1, 2))       # the whole face jumps by a tracker's box noise
    out = steady_pose(shaken, np.ones(n, bool), 25.0)

    def accel(x):
        return np.abs(np.diff(x, 2, axis=0)).mean()
    assert accel(out[:, STEADY]) < 0.4 * accel(shaken[:, STEADY])
    gap = out[:, 66, 1] - out[:, 62, 1]
    np.testing.assert_allclose(gap, shaken[:, 66, 1] - shaken[:, 62, 1], atol=1e-6)   # lips untouched


def _track(landmarks):
    n = len(landmarks)
    return FaceTrack(landmarks, np.zeros((n, 4)), np.ones(n, bool), np.ones(n), (256, 256), fps=25.0)


def test_the_lids_reference_has_the_clips_typical_eyes_and_the_photos_mouth():
    base = template()
    squint = base.copy()
    squint[[37, 38, 43, 44]] += [0, 3.0]
    frames = [base + 0.01 * k for k in range(8)] + [squint.copy() for _ in range(4)]
    photo = open_mouth(template(), 8.0)
    frames[3] = open_mouth(base, 8.0) + 0.03            # a typical pose with the photo's open mouth
    lms = np.array(frames)
    chosen = pick_neutral(lms, np.ones(len(lms), bool), photo=photo)
    assert chosen == 3
    assert pick_neutral(lms, np.ones(len(lms), bool)) != 3  # without the photo: the median shape


def face_3d(n=68, seed=0):
    """A rigid 3-D face: the template's points with a depth bulging at the nose, in px."""
    lms = template()
    centre = lms[27:36].mean(0)
    r = np.linalg.norm(lms - centre, axis=1)
    z = 40.0 * np.exp(-(r / 60.0) ** 2)
    return np.column_stack([lms, z])


def project(points3d, angles_deg, shift=(0.0, 0.0)):
    rot = H.from_euler(np.radians(angles_deg))
    c = points3d[H.POSE_POINTS].mean(0)
    return ((points3d - c) @ rot.T + c)[:, :2] + shift


def test_weak_pose_and_euler_recover_a_known_turn():
    pts = face_3d()
    for angles in ((5, 0, 0), (0, 12, 0), (0, 0, -10), (4, -8, 6)):
        _, rot, _ = H.weak_pose(pts[H.POSE_POINTS], project(pts, angles)[H.POSE_POINTS])
        np.testing.assert_allclose(np.degrees(H.euler(rot)), angles, atol=1.0)
    a = np.radians([10.0, -20.0, 15.0])
    np.testing.assert_allclose(H.euler(H.from_euler(a)), a, atol=1e-9)


def test_weak_pose_is_the_least_squares_rigid_fit_of_noisy_points():
    """A tracker's points are noisy: the fit's turn is the one that reprojects them best, not the affine
    camera's rows made orthonormal (which reads part of the noise as turn)."""
    pts = face_3d()[H.POSE_POINTS]
    rng = np.random.default_rng(3)

    def misfit(rot, seen):
        proj = pts @ rot.T
        a = np.column_stack([proj[:, :2].reshape(-1, 1), np.tile(np.eye(2), (len(pts), 1))])
        coef = np.linalg.lstsq(a, seen.reshape(-1), rcond=None)[0]     # the best scale and shift for rot
        return float(np.sum((a @ coef - seen.reshape(-1)) ** 2))

    for angles in ((0, 10, 0), (3, -6, 8), (0, 0, -12)):
        seen = project(face_3d(), angles)[H.POSE_POINTS] + rng.normal(0.0, 1.5, (len(pts), 2))
        _, rot, _ = H.weak_pose(pts, seen)
        best = misfit(rot, seen)
        for axis in np.eye(3):
            for sign in (-1.0, 1.0):
                turned = cv2.Rodrigues(axis * sign * np.radians(0.3))[0] @ rot
                assert misfit(turned, seen) >= best - 1e-9


def test_lift_retarget_turns_the_photos_head_by_the_drivers_turn():
    from talkinghead.nodes.evaluation.head_pose import head_pose

    pts = face_3d()
    depth = pts[:, 2] - pts[:, 2].mean()
    angles = [(0, 0, 0), (0, 10, 0), (0, -10, 0), (0, 0, 8), (6, 0, 0)]
    driver = np.array([project(pts, a, (3.0 * k, 0.0)) for k, a in enumerate(angles)])
    photo = project(pts, (0, 0, 0)) * 1.3 + 20.0          # the photo: larger, elsewhere
    out = H.lift_retarget(driver, np.ones(len(angles), bool), 0, photo, depth * 1.3, depth)
    np.testing.assert_allclose(out[0], photo, atol=1e-6)   # the neutral frame is the photo itself
    yaw = [head_pose(o, (400, 400))[1] for o in out]
    drv_yaw = [head_pose(d, (400, 400))[1] for d in driver]
    assert np.sign(yaw[1] - yaw[0]) == np.sign(drv_yaw[1] - drv_yaw[0]) != 0
    assert abs((yaw[1] - yaw[2]) - (drv_yaw[1] - drv_yaw[2])) < 3.0


def test_a_turned_photos_nose_and_eye_corners_turn_rigidly_when_the_drivers_depth_is_misjudged():
    pts = face_3d()
    depth = pts[:, 2] - pts[:, 2].mean()
    deeper = np.column_stack([pts[:, :2], 1.8 * pts[:, 2]])   # the driver's real face: deeper than its mesh says
    angles = [(0, 0, 0), (0, 12, 0), (0, 0, 10), (0, -8, 6), (7, 0, 0)]
    driver = np.array([project(deeper, a) for a in angles])
    c = pts[H.POSE_POINTS].mean(0)
    photo3d = (pts - c) @ H.from_euler(np.radians([0.0, 35.0, 0.0])).T + c   # a photo turned aside
    out = H.lift_retarget(driver, np.ones(len(angles), bool), 0, photo3d[:, :2], photo3d[:, 2] - photo3d[:, 2].mean(),
                          depth)
    for o in out[1:]:   # the photo's own rigid head, turned: no trace of the driver's misfit
        s, rot, t = H.weak_pose(photo3d[H.POSE_POINTS], o[H.POSE_POINTS])
        fit = s * (photo3d[H.POSE_POINTS] @ rot.T)[:, :2] + t
        assert np.abs(fit - o[H.POSE_POINTS]).max() < 0.05
    roll = np.degrees(H.eye_line(out[4]) - H.eye_line(out[0]))
    assert abs(roll - 7.0) < 0.5                             # the roll is the driver's, as the eye line shows it


def test_drive_targets_in_the_photos_own_frame_keep_the_photo_where_nothing_moves():
    photo = template()
    refined = photo.copy()
    refined[[37, 38]] -= [0, 1.5]                          # lids moved by a refinement
    lms = np.array([photo, open_mouth(photo, 6.0), photo])
    track = _track(np.concatenate([lms, photo[None]]))
    targets, valid, rest = drive_targets(track, refined, (256, 256), "relative", neutral=3)
    assert valid.all() and rest == 3
    np.testing.assert_allclose(targets[0], refined, atol=1e-6)
    assert mouth_opening(targets[1]) > mouth_opening(refined) + 0.05


def test_a_trackers_misfit_is_interpolated_from_the_frames_around_it_not_followed():
    """A frame whose tracker put the mouth on the chin (the face mesh disagrees: ``check`` is False there)
    takes landmarks between its neighbours': the photo's mouth does not drop to its chin for a frame, and the
    performance says which frame was repaired."""
    from talkinghead.nodes.animate.portrait import perform, prepare

    lms = template()
    photo = draw_face(lms)
    n = 9
    track_lms = np.repeat(lms[None], n, 0) + np.linspace(0.0, 4.0, n)[:, None, None] * np.array([1.0, 0.0])
    track_lms[4, 48:68] += [0.0, 25.0]                           # frame 4: the mouth on the chin

    def check(image, points):
        return bool(points[57, 1] < lms[57, 1] + 15)

    track = FaceTrack(track_lms, np.zeros((n, 4)), np.ones(n, bool), np.ones(n), (256, 256), fps=25.0)
    portrait = prepare(None, photo, lms)
    performance = perform(portrait, track, frames=iter([photo] * n), check=check)
    assert performance.repaired.tolist() == [t == 4 for t in range(n)]
    between = (performance.targets[3, 48:68] + performance.targets[5, 48:68]) / 2
    np.testing.assert_allclose(performance.targets[4, 48:68], between, atol=1.0)
    followed = perform(portrait, track, frames=iter([photo] * n), check=lambda image, points: True)
    jump = followed.targets[4, 48:68] - (followed.targets[3, 48:68] + followed.targets[5, 48:68]) / 2
    assert jump[:, 1].mean() > 10                                # without the check the mouth jumps for a frame
