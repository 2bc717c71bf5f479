"""The evaluation's second opinion on each re-detected face (``landmarks.misfit``): a re-detection that
MediaPipe Face Mesh contradicts on the mouth counts as a frame without a face, on the driver's frames and on
every output alike (a misfit such as a mouth on the nose read as a 15-degree turn and a shut mouth that the
picture does not show)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..landmarks.misfit import MeshCheck


def mesh_check(rt: Any) -> MeshCheck | None:
    """The check on the "mediapipe-face-mesh" model, or None when it is absent (the runtime says so once) or
    this build has no ``nodes.animate`` (which runs the mesh)."""
    from .build import has_animate

    if not has_animate():
        return None
    from ..animate import head3d

    run = head3d.mesh_runner(rt, "evaluation: dlib's misfits are not caught (a second opinion needs the face mesh)")
    return None if run is None else head3d.mesh_check(run)


__all__ = ["mesh_check"]
