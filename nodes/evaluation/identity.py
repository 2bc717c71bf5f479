"""Identity kept: dlib's 128-d face descriptor distance of each output frame to the photo.

Descriptors come from the PyTorch port of dlib's face ResNet (``networks.dlib_resnet``, the same
``dlib_face_recognition_resnet_model_v1.dat``), run in batches: about 10x faster than dlib's own
``compute_face_descriptor`` on this CPU and within about 0.005 of its distances. So that the kept / not
kept decision is dlib's own, a frame whose distance lies within ``EXACT_BAND`` of the threshold is
recomputed with dlib itself (both descriptors, photo and frame, by dlib) when dlib is installed.
Faces are aligned by the landmarks re-detected on each image (dlib's chip: 150 px, padding 0.25).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .cross_metrics import IDENTITY_THRESHOLD

EXACT_BAND = 0.03
BATCH = 16
CROP_ALIGN = 16


def native_descriptor(model: Any, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """dlib's own descriptor (128,) of a face with (68, 2) landmarks (rounded to dlib's integer points)."""
    import dlib

    pts = [dlib.point(round(float(x)), round(float(y))) for x, y in np.asarray(landmarks, np.float64)]
    lo, hi = np.min(landmarks, 0), np.max(landmarks, 0)
    rect = dlib.rectangle(int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
    shape = dlib.full_object_detection(rect, pts)
    return np.asarray(model.compute_face_descriptor(np.ascontiguousarray(image[..., :3]), shape), np.float64)


def _native_model(rt: Any) -> Any:
    """dlib.face_recognition_model_v1 on the runtime's resolved .dat, or None without dlib."""
    try:
        import dlib
    except ImportError:
        return None
    from ..networks.dlib_resnet import SPEC_NAME

    path = rt.resolve(SPEC_NAME)
    return rt.load_cached(("dlib-native-face-rec", str(path)), lambda: dlib.face_recognition_model_v1(str(path)),
                          nbytes=path.stat().st_size)


class IdentityScorer:
    """Distances of streamed frames to one photo (``add`` frames, ``finish`` for the (N,) distances).

    Args:
        rt: Runtime.
        photo: (H, W, 3) uint8; photo_landmarks: (68, 2).
        exact: recompute frames near the threshold with dlib itself (when installed).
    """

    def __init__(self, rt: Any, photo: np.ndarray, photo_landmarks: np.ndarray, exact: bool = True):
        from ..networks.dlib_resnet import load_dlib_face_resnet_cached

        self.net = load_dlib_face_resnet_cached(rt)
        self.native = _native_model(rt) if exact else None
        self.photo_port = self._port([self._chip(photo, photo_landmarks)])[0]
        self.photo_native = None if self.native is None else native_descriptor(self.native, photo, photo_landmarks)
        self.distances: list[float] = []
        self.pending: list[tuple[int, Any, np.ndarray, np.ndarray]] = []
        self.rechecked = 0

    @property
    def backend(self) -> str:
        return ("dlib face ResNet v1 (PyTorch port; dlib itself within "
                f"{EXACT_BAND} of the threshold)" if self.native is not None else
                "dlib face ResNet v1 (PyTorch port; dlib not installed, no exact recheck)")

    def _chip(self, image: np.ndarray, landmarks: np.ndarray) -> Any:
        import torch

        from ..networks.face_chip import extract_face_chips

        pts = np.asarray(landmarks, np.float32)
        lo, hi = pts.min(0), pts.max(0)
        side = float((hi - lo).max())
        h, w = image.shape[:2]
        # the chip spans about 2 face sizes even when rotated; 3 is safe. Origin on a multiple of CROP_ALIGN
        # so extract_face_chips's integer pre-shrink pools the same pixel blocks as on the whole image.
        x0 = max(0, int((lo[0] - 1.5 * side) // CROP_ALIGN * CROP_ALIGN))
        y0 = max(0, int((lo[1] - 1.5 * side) // CROP_ALIGN * CROP_ALIGN))
        x1, y1 = min(w, int(hi[0] + 1.5 * side) + 1), min(h, int(hi[1] + 1.5 * side) + 1)
        crop = np.ascontiguousarray(image[y0:y1, x0:x1, :3])
        x = torch.from_numpy(crop).permute(2, 0, 1)[None].float()
        lms = torch.from_numpy(pts - np.array([x0, y0], np.float32))[None]
        return extract_face_chips(x, lms, input_range="0..255")[0]

    def _port(self, chips: list) -> np.ndarray:
        import torch

        device = next(self.net.parameters()).device
        with torch.no_grad():
            return self.net(torch.stack(chips).to(device)).float().cpu().numpy().astype(np.float64)

    def add(self, image: np.ndarray, landmarks: np.ndarray | None) -> None:
        """Queue one frame (``landmarks`` None: no face, distance NaN)."""
        index = len(self.distances)
        self.distances.append(float("nan"))
        if landmarks is not None:
            self.pending.append((index, self._chip(image, landmarks), image, np.asarray(landmarks)))
        if len(self.pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        desc = self._port([chip for _, chip, _, _ in self.pending])
        for (index, _, image, lms), d in zip(self.pending, desc):
            dist = float(np.linalg.norm(d - self.photo_port))
            if self.native is not None and abs(dist - IDENTITY_THRESHOLD) <= EXACT_BAND:
                dist = float(np.linalg.norm(native_descriptor(self.native, image, lms) - self.photo_native))
                self.rechecked += 1
            self.distances[index] = dist
        self.pending = []

    def finish(self) -> np.ndarray:
        """(N,) distances in the order frames were added, NaN where there was no face."""
        self._flush()
        return np.asarray(self.distances, np.float64)


__all__ = ["EXACT_BAND", "IdentityScorer", "native_descriptor"]
