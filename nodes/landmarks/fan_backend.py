"""face-alignment 2D-FAN-4 landmark backend (Bulat & Tzimiropoulos 2017): the paper's tracker (§4).

Weights come only from local caches through the runtime ("fan-2d": ``2DFAN4-11f355bf06.pth.tar``,
"s3fd": ``s3fd-619a316812.pth``); nothing is downloaded. They are plain state dicts read with
``torch.load(weights_only=True)`` (tensors only, no arbitrary objects), as face-alignment does.
Faces are found with S3FD when its weights are present, else with dlib's HOG detector (no weights).

Video: frames go through the network in batches. Each batch is first aligned with the box of the
previous batch's last face, then re-aligned with each frame's own landmark box (two batched passes);
frames whose heatmap confidence stays low are re-detected one by one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

MIN_SCORE = 0.2        # mean heatmap peak below this: the face is lost, re-detect
DETECT_MAX_SIDE = 1024  # S3FD runs on a copy no larger than this


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """A detector-like box (x0, y0, x1, y1) from (68, 2) landmarks: their bounds, raised to cover the brow."""
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    height = hi[1] - lo[1]
    return np.array([lo[0], lo[1] - 0.1 * height, hi[0], hi[1]], np.float64)


def decode_heatmaps(heat: np.ndarray, centres: np.ndarray, scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FAN heatmaps (B, 68, R, R) -> landmarks (B, 68, 2) in image px and peak values (B, 68).

    face-alignment's decoding (argmax, a quarter-cell step towards the larger neighbour, the crop
    transform inverted), vectorised and without its integer truncation of the result (and without
    its numba JIT, which costs ~10 s per process).
    """
    batch, points, height, width = heat.shape
    flat = heat.reshape(batch, points, -1)
    idx = flat.argmax(-1)
    peak = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    px, py = idx % width, idx // width
    inner = (px > 0) & (px < width - 1) & (py > 0) & (py < height - 1)
    cx, cy = np.clip(px, 1, width - 2), np.clip(py, 1, height - 2)
    b, k = np.indices((batch, points))
    dx = heat[b, k, cy, cx + 1] - heat[b, k, cy, cx - 1]
    dy = heat[b, k, cy + 1, cx] - heat[b, k, cy - 1, cx]
    preds = np.stack([px + 1 + inner * 0.25 * np.sign(dx), py + 1 + inner * 0.25 * np.sign(dy)], -1) - 0.5
    side = 200.0 * np.asarray(scales, np.float64)[:, None, None]  # crop side in image px
    landmarks = preds * side / width + np.asarray(centres, np.float64)[:, None, :] - side / 2
    return landmarks.astype(np.float32), peak


class FanBackend:
    """FAN-4 on the runtime's device; see module docstring.

    Args:
        rt: Runtime.
        check_hash: verify the weight files' sha256 prefixes (tests pass False for stand-in weights).
        flip: also run the mirrored crop and average the heatmaps (face-alignment's default).
    """

    name = "fan"

    def __init__(self, rt: Runtime, check_hash: bool = True, flip: bool = True):
        import face_alignment
        import torch

        path = rt.resolve("fan-2d", check_hash=check_hash)

        def load():
            from face_alignment.models import FAN

            net = FAN(4)
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return net.to(rt.device).eval()

        self.net = rt.load_cached(("fan-2d", str(path)), load)
        self.device, self.flip, self.rt = rt.device, flip, rt
        self.batch_size = 16 if rt.device.type == "cuda" else 4
        self.version = f"face-alignment {face_alignment.__version__} 2DFAN-4"
        self._s3fd = None
        if rt.has_weights("s3fd"):
            from face_alignment.detection.sfd.sfd_detector import SFDDetector

            detector_path = rt.resolve("s3fd", check_hash=check_hash)
            self._s3fd = rt.load_cached(("s3fd", str(detector_path)), lambda: SFDDetector(
                device=str(rt.device), path_to_detector=str(detector_path)))
        else:
            import dlib

            self._hog = rt.load_cached("dlib-hog-detector", dlib.get_frontal_face_detector, nbytes=1 << 20)
            rt.say_once("fan-detector", "landmarks: S3FD weights absent, FAN uses dlib's HOG face detector")

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """All faces: (K, 5) boxes x0, y0, x1, y1 in original px + detector score."""
        from .dlib_backend import _resize, hog_detect

        if self._s3fd is None:
            return hog_detect(self._hog, rgb)

        scale = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
        found = self._s3fd.detect_from_image(_resize(rgb, scale).copy())
        dets = np.array([d[:5] for d in found], np.float64).reshape(-1, 5)
        dets[:, :4] /= scale
        return dets

    def align(self, images: list[np.ndarray], boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Batched FAN from (B, 4+) boxes: (B, 68, 2) float32 landmarks in image px and (B,) mean heatmap
        peak scores."""
        import torch
        from face_alignment.utils import CENTER_Y_OFFSET, REFERENCE_SCALE, crop, flip

        centres, scales, crops = [], [], []
        for rgb, d in zip(images, boxes):
            centre = np.array([(d[0] + d[2]) / 2.0, (d[1] + d[3]) / 2.0 - (d[3] - d[1]) * CENTER_Y_OFFSET])
            centres.append(centre)
            scales.append((d[2] - d[0] + d[3] - d[1]) / REFERENCE_SCALE)
            crops.append(crop(rgb, centre, scales[-1]).transpose(2, 0, 1))
        with torch.inference_mode():
            inp = torch.from_numpy(np.stack(crops)).to(self.device, torch.float32) / 255.0
            heat = self.net(inp)[-1]
            if self.flip:
                heat = heat + flip(self.net(flip(inp))[-1], is_label=True)
            heat = heat.float().cpu().numpy()
        lms, peaks = decode_heatmaps(heat, np.array(centres), np.array(scales))
        scores = peaks.mean(axis=1) / (2.0 if self.flip else 1.0)
        return lms, scores

    def follow(self, images: list[np.ndarray], box: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Align the batch with the previous face's box, then again with each frame's own landmark box;
        frames whose heatmap confidence stays below ``MIN_SCORE`` count as lost."""
        first, _ = self.align(images, np.repeat(np.asarray(box, np.float64)[None, :4], len(images), 0))
        boxes = np.array([landmark_box(p) for p in first])
        lms, scores = self.align(images, boxes)
        return lms, boxes, scores, scores >= MIN_SCORE

    @staticmethod
    def follow_box(landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
        """FAN follows the box of its own landmarks."""
        return landmark_box(landmarks)
