"""A second opinion on each re-detected face: dlib's 68 points against MediaPipe Face Mesh on the same image.

dlib's shape regressor can settle on a wrong shape that is still a face: on a painted face seen three-quarters
(girl_pearl_earring driven by lp_d11) it puts the mouth on the nose on some closed-mouth frames, and such a
frame reads as a 15-degree turn and a shut mouth that the picture does not show. The face mesh is another
model (another training set, a 3-D prior), run on the crop that the dlib points give
(``animate.head3d.face_mesh``). Where the two disagree on the mouth, the re-detection is a misfit: the frame
counts as one without a face, on the driver's frames and on every output alike. On five shared driving clips
and one painting's outputs the two agree within 0.05 of the eye-corner span on 99 % of frames; the misfits
(a mouth on the nose or the philtrum) lie at 0.17-0.25.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

MISFIT = 0.12        # mean disagreement on the mouth's corners and centre, in outer eye-corner spans (36-45)
MOUTH_PAIRS = ((48, 61), (54, 291))          # dlib's mouth corners, the mesh's
MESH_LIPS, DLIB_LIPS = (13, 14), (62, 66)    # the inner lips' centres (their midpoint is the mouth's centre)


def mouth_disagreement(landmarks: np.ndarray, mesh: np.ndarray) -> float:
    """Mean distance between (68, 2) dlib landmarks and (468, >= 2) mesh points at the mouth's corners and
    centre, over the outer eye-corner span of the landmarks."""
    p, q = np.asarray(landmarks, np.float64), np.asarray(mesh, np.float64)[:, :2]
    span = max(float(np.linalg.norm(p[45] - p[36])), 1e-6)
    gaps = [np.linalg.norm(p[a] - q[b]) for a, b in MOUTH_PAIRS]
    gaps.append(np.linalg.norm(p[list(DLIB_LIPS)].mean(0) - q[list(MESH_LIPS)].mean(0)))
    return float(np.mean(gaps)) / span


class MeshCheck:
    """``check(image, landmarks) -> bool``: False when the (68, 2) landmarks on the (H, W, 3) uint8 image
    are a misfit (``mouth_disagreement`` above ``threshold``); True also when the mesh gives no answer."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], threshold: float = MISFIT):
        self.run, self.threshold = run, threshold

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> bool:
        from ..animate.head3d import face_mesh

        mesh = face_mesh(image, landmarks, self.run)
        return mesh is None or mouth_disagreement(landmarks, mesh) <= self.threshold


def mesh_check(rt: Any) -> MeshCheck | None:
    """The check on the "mediapipe-face-mesh" model, or None when it is absent (the runtime says so once) or
    this build has no ``nodes.animate`` (which runs the mesh)."""
    import importlib.util

    if importlib.util.find_spec(__package__.rsplit(".", 1)[0] + ".animate") is None:
        return None
    from ..animate.head3d import mesh_runner

    run = mesh_runner(rt, "evaluation: dlib's misfits are not caught (a second opinion needs the face mesh)")
    return None if run is None else MeshCheck(run)


__all__ = ["MESH_LIPS", "MISFIT", "MOUTH_PAIRS", "MeshCheck", "mesh_check", "mouth_disagreement"]
