"""A second opinion on a face's 68 landmarks: dlib's points against MediaPipe Face Mesh on the same image.

dlib's shape regressor can settle on a wrong shape that is still a face: a mouth on the nose of a painted face
seen three-quarters (girl_pearl_earring's animated frames), a mouth on the chin of a smirk (lp_d19, frames 48,
57, 161, 206). The face mesh is another model (another training set, a 3-D prior), run on the crop that the
dlib points give (``animate.head3d.face_mesh``). Where the two disagree on the mouth by more than ``MISFIT``,
the fit is a misfit. On the shared driving clips and one painting's animated frames the two agree within 0.05
of the eye-corner span on 99 % of frames; the misfits lie at 0.17-0.25.
"""
from __future__ import annotations

from collections.abc import Callable

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
    are a misfit (``mouth_disagreement`` above ``threshold``); True also when the mesh gives no answer.

    Args:
        mesh: ``(image, landmarks) -> (468, 3) | None``, the face mesh on the crop the landmarks give
            (``animate.head3d.face_mesh`` with its runner).
    """

    def __init__(self, mesh: Callable[[np.ndarray, np.ndarray], np.ndarray | None], threshold: float = MISFIT):
        self.mesh, self.threshold = mesh, threshold

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> bool:
        found = self.mesh(image, landmarks)
        return found is None or mouth_disagreement(landmarks, found) <= self.threshold


__all__ = ["DLIB_LIPS", "MESH_LIPS", "MISFIT", "MOUTH_PAIRS", "MeshCheck", "mouth_disagreement"]
