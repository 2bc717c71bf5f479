"""Head pose (roll, yaw, pitch) from 68 landmarks: ``cv2.solvePnP`` on a generic rigid 3-D face.

The 3-D model is a hand-made anthropometric average (mm; origin at the nose tip, x to the image's
right, y down, z away from the camera, so a frontal face has the identity rotation; x and y agree with
dlib's mean face template in ``networks/face_chip.py`` to a few mm) of the points that move little with
expression: the nose bridge and base (27-35) and the eye corners (36, 39, 42, 45). Mouth corners are
left out (a broad smile raises them by ~10 mm, which reads as 20-30 degrees of pitch), and so are the
jaw, brows, lids and lips (they move with expression; the jaw outline is an occluding contour, not a
fixed point). Camera: a pinhole with focal length 10 x the image's longer side, principal point at the
centre: nearly orthographic, as head crops and portraits are long-lens views of a face (on the demo
pair, f = 10 tracked the driver's yaw better than f = 1-4: r 0.89 against 0.79-0.87).

Angles (degrees) decompose the head-to-camera rotation as R = Rz(roll) Ry(yaw) Rx(pitch): roll is the
in-plane tilt (positive: clockwise on screen, the eye line falling to the right), yaw the turn about
the vertical axis (positive: the nose moves to the image's left of the eyes' centre), pitch the nod
(positive: the nose moves down, towards the mouth). Yaw and pitch come from the PnP fit. Roll is read
directly as the angle of the line through the two eyes' corner midpoints ((36+39)/2 to (42+45)/2): in
this decomposition Ry and Rx keep the two eyes level, so under orthographic projection that angle IS
the roll, and it is far less noisy than the PnP roll (the generic model's misfit leaks yaw and pitch
into it; on the demo pair the eye-line roll of two landmark runs of the same clip agree at r 0.994). The evaluation correlates these per frame, so what
matters is that driver and output are measured by the same function;
``tests/nodes/evaluation/test_head_pose.py`` checks that known rotations of projected model points are
recovered.
"""
from __future__ import annotations

import numpy as np

POSE_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
# (x, y, z) mm per POSE_POINTS entry: nose bridge top to tip, nose base, eye corners
MODEL_3D = np.array([
    (0.0, -38.0, 12.0), (0.0, -25.0, 8.0), (0.0, -12.5, 4.0), (0.0, 0.0, 0.0),
    (-14.0, 6.0, 17.0), (-7.0, 9.0, 14.0), (0.0, 10.0, 14.0), (7.0, 9.0, 14.0), (14.0, 6.0, 17.0),
    (-45.0, -37.0, 30.0), (-15.0, -35.0, 22.0), (15.0, -35.0, 22.0), (45.0, -37.0, 30.0)])
FOCAL_FACTOR = 10.0


def camera_matrix(size: tuple[int, int], focal_factor: float = FOCAL_FACTOR) -> np.ndarray:
    """(3, 3) pinhole intrinsics for an (H, W) image: f = ``focal_factor`` x max(H, W), centre in the middle."""
    h, w = size
    f = focal_factor * max(h, w)
    return np.array([[f, 0.0, (w - 1) / 2], [0.0, f, (h - 1) / 2], [0.0, 0.0, 1.0]])


def euler_from_matrix(rot: np.ndarray) -> tuple[float, float, float]:
    """(roll, yaw, pitch) in degrees of a rotation R = Rz(roll) Ry(yaw) Rx(pitch)."""
    yaw = np.arcsin(np.clip(-rot[2, 0], -1.0, 1.0))
    pitch = np.arctan2(rot[2, 1], rot[2, 2])
    roll = np.arctan2(rot[1, 0], rot[0, 0])
    return float(np.degrees(roll)), float(np.degrees(yaw)), float(np.degrees(pitch))


def matrix_from_euler(roll: float, yaw: float, pitch: float) -> np.ndarray:
    """(3, 3) R = Rz(roll) Ry(yaw) Rx(pitch), angles in degrees (the inverse of ``euler_from_matrix``)."""
    r, y, p = np.radians([roll, yaw, pitch])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rz @ ry @ rx


def project_model(rot: np.ndarray, translation: np.ndarray, size: tuple[int, int],
                  focal_factor: float = FOCAL_FACTOR) -> np.ndarray:
    """Project ``MODEL_3D`` rotated by ``rot`` (3, 3) and moved by ``translation`` (3,) mm: (P, 2) px."""
    cam = (MODEL_3D @ np.asarray(rot, np.float64).T) + np.asarray(translation, np.float64)
    k = camera_matrix(size, focal_factor)
    uv = cam @ k.T
    return uv[:, :2] / uv[:, 2:3]


def head_pose(landmarks: np.ndarray | None, size: tuple[int, int],
              focal_factor: float = FOCAL_FACTOR) -> tuple[float, float, float]:
    """(roll, yaw, pitch) in degrees of a face from its (68, 2) landmarks in an (H, W) image: roll from
    the eye line (``eye_line_roll``), yaw and pitch from the PnP fit (``pose_from_points``).

    Returns (nan, nan, nan) for None or non-finite landmarks (a frame without a face).
    """
    if landmarks is None:
        return (float("nan"),) * 3
    pts = np.asarray(landmarks, np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        return (float("nan"),) * 3
    _, yaw, pitch = pose_from_points(pts[list(POSE_POINTS)], size, focal_factor)
    return eye_line_roll(pts), yaw, pitch


def eye_line_roll(landmarks: np.ndarray) -> float:
    """Angle in degrees of the line from the image-left eye's corner midpoint to the image-right eye's
    (positive: clockwise on screen)."""
    p = np.asarray(landmarks, np.float64)
    v = (p[42] + p[45]) / 2 - (p[36] + p[39]) / 2
    return float(np.degrees(np.arctan2(v[1], v[0])))


def pose_from_points(image_points: np.ndarray, size: tuple[int, int],
                     focal_factor: float = FOCAL_FACTOR) -> tuple[float, float, float]:
    """(roll, yaw, pitch) in degrees from the (P, 2) image points of ``POSE_POINTS``.

    Levenberg-Marquardt (``cv2.SOLVEPNP_ITERATIVE``) from the frontal pose at the distance the eye corners'
    spread gives: it converges to the face-forward solution over the supported range (about +-45 degrees)
    and never meets the mirror solution that global solvers can pick for a nearly flat point set. NaN when
    the points are degenerate (collapsed or non-finite).
    """
    import cv2

    img = np.asarray(image_points, np.float64)
    k = camera_matrix(size, focal_factor)
    corners = [POSE_POINTS.index(i) for i in (36, 45)]
    spread = float(np.linalg.norm(img[corners[0]] - img[corners[1]]))
    model_spread = float(np.linalg.norm(MODEL_3D[corners[0]] - MODEL_3D[corners[1]]))
    if not np.isfinite(img).all() or spread < 1e-3:
        return (float("nan"),) * 3
    z = k[0, 0] * model_spread / spread
    tip = img[POSE_POINTS.index(30)]
    tvec = np.array([(tip[0] - k[0, 2]) * z / k[0, 0], (tip[1] - k[1, 2]) * z / k[1, 1], z])
    try:
        ok, rvec, tvec = cv2.solvePnP(np.ascontiguousarray(MODEL_3D), np.ascontiguousarray(img.reshape(-1, 1, 2)), k,
                                      np.zeros(4), rvec=np.zeros(3), tvec=tvec, useExtrinsicGuess=True,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
    except cv2.error:
        ok = False
    if not ok or not np.isfinite(rvec).all():
        return (float("nan"),) * 3
    return euler_from_matrix(cv2.Rodrigues(rvec)[0])


__all__ = ["FOCAL_FACTOR", "MODEL_3D", "POSE_POINTS", "camera_matrix", "euler_from_matrix", "eye_line_roll", "head_pose",
           "matrix_from_euler", "pose_from_points", "project_model"]
