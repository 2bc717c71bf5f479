"""Head rotation in 3-D for relative retargeting: the driver turns, and the photo's own face turns with it.

Plain relative retargeting adds the driver's 2-D landmark motion to the photo's landmarks. A turn or a nod
of the driver's face is a 2-D motion that fits the driver's face, not the photo's: added to a face of
another shape or pose it reads partly as the wrong turn (on the shared pairs the photo's nod correlated
with the driver's at r 0.82-0.92, its turn at 0.79 for a photo that looks aside). Here:

1. depth: MediaPipe Face Mesh (``mediapipe-face-mesh``, Apache-2.0, in the mediapipe wheel) on the photo
   and on the driver's neutral frame gives a depth for each of the 68 points (``depth_68``);
2. the driver's head pose per frame: the scaled-orthographic fit of its neutral frame's 3-D points onto the
   frame's 2-D points (``weak_pose``, on the nose and the eye corners), as roll, yaw and pitch
   (``euler``: R = Rz(roll) Ry(yaw) Rx(pitch); the head's axes from the eye corners and the nose);
3. the photo's head takes the photo's own angles plus the driver's change of each angle since its neutral
   frame, and is projected at the driver's change of scale and position (``lift_retarget``); what the
   driver's rigid head does not explain (its expression) is added as in relative retargeting.

The roll is read in the image, as the turn of the line through the driver's outer eye corners (in this
decomposition the yaw and pitch keep that line level, so its angle is the roll; the fit's roll strays from
it by the misfit of 13 points). The nose and the eye corners move with the head alone: the part of the
driver's residual that its nose and eye corners show (an affine trend) is the fit's error on the driver's
face, not an expression, and added to a face of another shape or pose it reads as a turn that the driver
did not make (on girl_pearl, a photo turned 40 degrees, the targets' yaw followed the driver's at r 0.81
with it and 0.97 without).

Shapes: landmarks (68, 2) px; 3-D points (68, 3) px (z towards the camera's depth, the mesh's units).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..landmarks.misfit import MeshCheck

POSE_POINTS = np.array([27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45])   # nose and eye corners
MESH_SIZE = 192
MESH_SCALE = 1.6        # the mesh's crop: 1.6 x the landmarks' extent, turned so the eyes are level
ORTHO_DISTANCE = 1e3    # ``weak_pose``'s camera distance in face sizes: orthographic to 1e-3


def mesh_runner(rt, without: str = "head turns: 2-D retargeting only") -> Callable[[np.ndarray], np.ndarray] | None:
    """``(1, 192, 192, 3) float32 [0, 1] -> (468 * 3,)`` from the "mediapipe-face-mesh" ModelSpec, or None
    (the runtime then says once what goes ``without`` it)."""
    from ...runtime.errors import MissingWeightsError
    from ...runtime.litert import load_litert

    try:
        model = load_litert(rt, "mediapipe-face-mesh")
    except MissingWeightsError as exc:
        rt.say_once(f"face-mesh-missing: {without}", f"{without} ({exc})")
        return None
    sizes = [int(np.prod(o["shape"])) for o in model.outputs]
    k = int(np.argmax(sizes))
    return lambda batch: model(batch)[k]


def face_mesh(image: np.ndarray, landmarks: np.ndarray, run: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """The face mesh's 468 points (468, 3) in ``image``'s px (x, y; z in px, the mesh's depth axis), run on a
    crop of ``MESH_SCALE`` x the (68, 2) ``landmarks``' extent turned so the eyes are level; None when it fails."""
    import cv2

    p = np.asarray(landmarks, np.float64)
    left, right = p[36:42].mean(0), p[42:48].mean(0)
    angle = np.arctan2(right[1] - left[1], right[0] - left[0])
    side = MESH_SCALE * float(np.ptp(p, axis=0).max())
    x = np.array([np.cos(angle), np.sin(angle)])
    lin = np.stack([x, [-x[1], x[0]]]) * MESH_SIZE / max(side, 1e-9)
    m = np.hstack([lin, (np.full(2, (MESH_SIZE - 1) / 2) - lin @ ((p.min(0) + p.max(0)) / 2))[:, None]])
    crop = cv2.warpAffine(np.ascontiguousarray(image[..., :3]), m, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    mesh = np.asarray(run(crop[None].astype(np.float32) / 255.0), np.float64).reshape(-1)[:468 * 3].reshape(468, 3)
    if not np.isfinite(mesh).all():
        return None
    inv = cv2.invertAffineTransform(m)
    return np.column_stack([mesh[:, :2] @ inv[:, :2].T + inv[:, 2], mesh[:, 2] * side / MESH_SIZE])


def mesh_check(run: Callable[[np.ndarray], np.ndarray]) -> MeshCheck:
    """``landmarks.misfit.MeshCheck`` on this face mesh (``face_mesh`` with ``run``)."""
    from ..landmarks.misfit import MeshCheck

    return MeshCheck(lambda image, landmarks: face_mesh(image, landmarks, run))


def depth_68(image: np.ndarray, landmarks: np.ndarray, run: Callable[[np.ndarray], np.ndarray]) -> np.ndarray | None:
    """A depth (68,) px for each landmark: the face mesh's depth at the 4 nearest mesh vertices (inverse
    distance weighted), zero-mean; None when the mesh fails."""
    mesh = face_mesh(image, landmarks, run)
    if mesh is None:
        return None
    p = np.asarray(landmarks, np.float64)
    xy, z = mesh[:, :2], mesh[:, 2]
    d = np.linalg.norm(p[:, None, :] - xy[None], axis=-1)
    near = np.argsort(d, axis=1)[:, :4]
    w = 1.0 / (np.take_along_axis(d, near, 1) + 0.5)
    depth = (z[near] * w).sum(1) / w.sum(1)
    return depth - depth.mean()


def weak_pose(points3d: np.ndarray, points2d: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scaled orthographic pose (s, R (3, 3), t (2,)) with s (R X)[:, :2] + t ~ x, from (K, 3) and (K, 2): the
    rigid least-squares fit. The least-squares affine camera with its two rows made orthonormal is the start;
    ``cv2.solvePnP`` (Levenberg-Marquardt) refines R on a camera ``ORTHO_DISTANCE`` face sizes away, an
    orthographic view to 1e-3 (from further away its iterations stop short of the minimum). The affine start
    alone reads part of the points' noise, absorbed as shear, as a turn: on the shared driving clips its pitch
    agreed with the generic-model PnP reading of the same frames at r .947-.988, the refined fit at .961-.994.
    """
    import cv2

    xc = points3d - points3d.mean(0)
    uc = points2d - points2d.mean(0)
    affine = np.linalg.lstsq(xc, uc, rcond=None)[0].T                    # (2, 3)
    scale = float(np.linalg.norm(affine, axis=1).mean())
    u, _, vt = np.linalg.svd(affine / max(scale, 1e-12), full_matrices=False)
    rows = u @ vt
    rot = np.vstack([rows, np.cross(rows[0], rows[1])])
    focal = ORTHO_DISTANCE * max(float(np.ptp(points2d, axis=0).max()), 1.0)
    camera = np.array([[focal, 0.0, 0.0], [0.0, focal, 0.0], [0.0, 0.0, 1.0]])
    ok, rvec, _ = cv2.solvePnP(np.ascontiguousarray(xc, np.float64),
                               np.ascontiguousarray(uc.reshape(-1, 1, 2), np.float64), camera, np.zeros(4),
                               rvec=cv2.Rodrigues(rot)[0], tvec=np.array([0.0, 0.0, focal / max(scale, 1e-12)]),
                               useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    if ok and np.isfinite(rvec).all():
        rot = cv2.Rodrigues(rvec)[0]
    proj = xc @ rot[:2].T
    scale = float((proj * uc).sum() / max(float((proj * proj).sum()), 1e-12))
    return scale, rot, points2d.mean(0) - scale * (points3d.mean(0) @ rot.T)[:2]


def head_axes(points3d: np.ndarray) -> np.ndarray:
    """(3, 3) rotation head -> camera: x along the outer eye corners (36 -> 45), y down the nose (27 -> 33)."""
    x = points3d[45] - points3d[36]
    x = x / max(np.linalg.norm(x), 1e-12)
    y = points3d[33] - points3d[27]
    y = y - x * (y @ x)
    y = y / max(np.linalg.norm(y), 1e-12)
    return np.stack([x, y, np.cross(x, y)], 1)


def euler(rot: np.ndarray) -> np.ndarray:
    """(roll, yaw, pitch) radians of R = Rz(roll) Ry(yaw) Rx(pitch)."""
    return np.array([np.arctan2(rot[1, 0], rot[0, 0]), np.arcsin(np.clip(-rot[2, 0], -1, 1)),
                     np.arctan2(rot[2, 1], rot[2, 2])])


def from_euler(angles: np.ndarray) -> np.ndarray:
    """Rz(roll) Ry(yaw) Rx(pitch) (3, 3) from (roll, yaw, pitch) radians."""
    r, y, p = angles
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rz @ ry @ rx


def _rot2(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def eye_line(landmarks: np.ndarray) -> float:
    """Angle in radians of the line from the outer eye corner 36 to 45 of (68, 2) landmarks."""
    p = np.asarray(landmarks, np.float64)
    v = p[45] - p[36]
    return float(np.arctan2(v[1], v[0]))


def rigid_free(residual: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(68, 2) ``residual`` less the affine trend (of the (68, 2) ``points``) that fits it on ``POSE_POINTS``,
    and zero on them: what is left is the expression."""
    x = np.column_stack([points, np.ones(len(points))])
    trend = x @ np.linalg.lstsq(x[POSE_POINTS], residual[POSE_POINTS], rcond=None)[0]
    out = residual - trend
    out[POSE_POINTS] = 0.0
    return out


def lift_retarget(driver: np.ndarray, valid: np.ndarray, neutral: int, photo: np.ndarray, photo_depth: np.ndarray,
                  neutral_depth: np.ndarray, rest: int | None = None) -> np.ndarray:
    """Relative retargeting with the head turned in 3-D (module docstring, step 3).

    Args:
        driver: (N, 68, 2) driver landmarks; valid: (N,) bool; neutral: the driver frame whose head pose the
            photo's head pose stands for (a typical pose of the clip).
        photo: (68, 2) the photo's landmarks; photo_depth, neutral_depth: (68,) depths of the photo's and of
            the driver's neutral frame's points (``depth_68``).
        rest: the driver frame whose expression the photo's stands for (default ``neutral``).
    Returns:
        (N, 68, 2) targets in the photo's px (NaN where not valid); the neutral frame gives the photo.
    """
    from ..landmarks.retarget import RIGID_POINTS, similarity

    drv = np.asarray(driver, np.float64)
    ref = np.column_stack([drv[neutral], neutral_depth])
    own = np.column_stack([photo, photo_depth])
    photo_angles, neutral_rot = euler(head_axes(own)), head_axes(ref)
    neutral_angles = euler(neutral_rot)
    s0, r0, t0 = weak_pose(ref[POSE_POINTS], drv[neutral][POSE_POINTS])
    a = similarity(drv[neutral][RIGID_POINTS], photo[RIGID_POINTS])[:, :2]
    centre = own[POSE_POINTS].mean(0)
    own_head = (own - centre) @ head_axes(own)                        # the photo's points in its head frame
    anchor = ref[POSE_POINTS].mean(0)
    neutral_line = eye_line(drv[neutral])

    def pose_and_expression(t: int) -> tuple:
        s, r, shift = weak_pose(ref[POSE_POINTS], drv[t][POSE_POINTS])
        turned = euler(r @ r0.T @ neutral_rot)
        turned[0] = neutral_angles[0] + eye_line(drv[t]) - neutral_line
        residual = rigid_free(drv[t] - (s * (ref @ r.T)[:, :2] + shift), drv[t])
        return s, r, shift, turned, residual @ _rot2(neutral_angles[0] - turned[0]).T * (s0 / s)

    calm = pose_and_expression(neutral if rest is None else rest)[4]
    out = np.full(drv.shape, np.nan)
    for t in np.flatnonzero(np.asarray(valid, bool) & np.isfinite(drv).all(axis=(1, 2))):
        s, r, shift, turned, expression = pose_and_expression(t)
        angles = photo_angles + (turned - neutral_angles)
        moved = (own_head @ from_euler(angles).T) * (s / s0) + centre
        travel = (s * (anchor @ r.T)[:2] + shift) - (s0 * (anchor @ r0.T)[:2] + t0)
        change = (expression - calm) @ a.T * (s / s0)
        out[t] = moved[:, :2] + a @ travel + change @ _rot2(angles[0] - photo_angles[0]).T
    return out


__all__ = ["ORTHO_DISTANCE", "POSE_POINTS", "depth_68", "euler", "eye_line", "face_mesh", "from_euler", "head_axes",
           "lift_retarget", "mesh_check", "mesh_runner", "rigid_free", "weak_pose"]
