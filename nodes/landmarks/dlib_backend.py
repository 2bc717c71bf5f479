"""dlib landmark backend: HOG face detector + 68-point shape predictor (Kazemi & Sullivan 2014). Offline.

The 68-point predictor (``shape_predictor_68_face_landmarks.dat`` from face-recognition-models) was
trained on iBUG 300-W, whose annotations are licensed for NON-COMMERCIAL research only.

Video: the full-frame HOG detection (~25 ms) runs once; later frames re-detect only inside a small
window around the previous face (a few ms), which also gives every frame a detection score. The
predictor is fed the detector's box, the box convention it was trained with, and boxes a few percent
beside and around it: its cascade's fit depends on the box it starts from (on a 40 px face, fits from
boxes 2 px apart differ in eye opening by as much as half a blink), and the mean of those fits is both
steadier and closer to annotated points (``BOX_SHIFTS``, ``BOX_SCALES``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ...runtime.runtime import Runtime

DETECT_MAX_SIDE = 800      # full-frame detection runs on a copy no larger than this
ROI_FACE_PX = 100          # window re-detection rescales the face to about this size
THRESHOLD = -0.2           # HOG SVM score threshold (dlib's default is 0)
BOX_SHIFTS = (-0.04, 0.0, 0.04)   # the predictor's start boxes: shifted by these x the box side, in x and y,
BOX_SCALES = (0.95, 1.05)         # and scaled by these about the box centre (18 fits, averaged)


def start_boxes(box: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The predictor's start boxes around one detector box (4,) x0, y0, x1, y1: every shift in
    ``BOX_SHIFTS`` (x and y, x the box side) with every scale in ``BOX_SCALES``, rounded to whole pixels."""
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    side, cx, cy = (x1 - x0 + y1 - y0) / 2, (x0 + x1) / 2, (y0 + y1) / 2
    halves = [((x1 - x0) * scale / 2, (y1 - y0) * scale / 2) for scale in BOX_SCALES]
    return [(round(x - hx), round(y - hy), round(x + hx), round(y + hy))
            for y in (cy + dy * side for dy in BOX_SHIFTS) for x in (cx + dx * side for dx in BOX_SHIFTS)
            for hx, hy in halves]


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    if scale == 1.0:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def run_hog(detector, image: np.ndarray, upsample: int) -> np.ndarray:
    """dlib HOG detections on ``image``: (K, 5) boxes x0, y0, x1, y1 + SVM score."""
    rects, scores, _ = detector.run(np.ascontiguousarray(image), upsample, THRESHOLD)
    return np.array([[r.left(), r.top(), r.right(), r.bottom(), s] for r, s in zip(rects, scores)],
                    np.float64).reshape(-1, 5)


def hog_detect(detector, rgb: np.ndarray) -> np.ndarray:
    """All faces in a frame: (K, 5) boxes x0, y0, x1, y1 (original px) + HOG score.

    Big frames are detected on a downscaled copy (landmarks are still fitted at full resolution);
    small ones are upsampled once so faces down to ~40 px are found.
    """
    scale = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
    small = _resize(rgb, scale)
    dets = run_hog(detector, small, 1 if max(small.shape[:2]) <= 400 else 0)
    dets[:, :4] = (dets[:, :4] + 0.5) / scale - 0.5
    if len(dets) > 1:  # several candidates: drop those far less face-like than the best (false positives)
        best = dets[:, 4].max()
        dets = dets[(dets[:, 4] >= best - 1.0) & (dets[:, 4] >= min(best, 0.0))]
    return dets


class DlibBackend:
    """Face detection + landmarks with dlib; see module docstring.

    Args:
        rt: Runtime (resolves "dlib-landmarks-68", caches the loaded models).
    """

    name = "dlib"
    batch_size = 1

    def __init__(self, rt: Runtime):
        import dlib

        path = rt.resolve("dlib-landmarks-68")
        self.predictor = rt.load_cached(("dlib-shape-predictor", str(path)),
                                        lambda: dlib.shape_predictor(str(path)), nbytes=path.stat().st_size)
        self.detector = rt.load_cached("dlib-hog-detector", dlib.get_frontal_face_detector, nbytes=1 << 20)
        self.version = f"dlib {dlib.__version__} mean of {len(BOX_SHIFTS) ** 2 * len(BOX_SCALES)} start boxes"
        self._dlib = dlib
        rt.say_once("dlib-licence", "landmarks: dlib 68-point predictor, trained on iBUG 300-W "
                                    "(annotations licensed for non-commercial research only)")

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """All faces: (K, 5) boxes + score (see ``hog_detect``)."""
        return hog_detect(self.detector, rgb)

    def detect_near(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Re-detect the face inside a window twice the size of ``box``; (5,) or None when lost."""
        height, width = rgb.shape[:2]
        side = max(box[2] - box[0], box[3] - box[1], 8.0)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        x0, y0 = int(max(0, cx - side)), int(max(0, cy - side))
        x1, y1 = int(min(width, cx + side + 1)), int(min(height, cy + side + 1))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        scale = ROI_FACE_PX / side
        dets = run_hog(self.detector, _resize(rgb[y0:y1, x0:x1], scale), 0)
        if not len(dets):
            return None
        dets[:, :4] = (dets[:, :4] + 0.5) / scale - 0.5 + np.array([x0, y0, x0, y0])
        centres = (dets[:, :2] + dets[:, 2:4]) / 2
        best = int(np.argmin(np.linalg.norm(centres - [cx, cy], axis=1)))
        return dets[best]

    def align(self, images: list[np.ndarray], dets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """68 landmarks per image from its detector box (x0, y0, x1, y1, score): (B, 68, 2) float32 in the
        images' pixels, the mean of the predictor's fits from ``start_boxes``; and the detector scores (B,)
        (the predictor itself gives none)."""
        out = np.empty((len(images), 68, 2), np.float32)
        for i, (rgb, det) in enumerate(zip(images, dets)):
            rgb = np.ascontiguousarray(rgb)
            fits = [[(p.x, p.y) for p in self.predictor(rgb, self._dlib.rectangle(*b)).parts()]
                    for b in start_boxes(np.asarray(det, np.float64))]
            out[i] = np.mean(np.asarray(fits, np.float64), axis=0)
        return out, np.asarray(dets, np.float64)[:, 4]

    def follow(self, images: list[np.ndarray], box: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Re-detect in a window around the previous box, frame after frame (``detect_near``)."""
        n = len(images)
        lms, boxes, scores = np.full((n, 68, 2), np.nan, np.float32), np.full((n, 4), np.nan), np.zeros(n)
        found = np.zeros(n, bool)
        for i, rgb in enumerate(images):
            det = self.detect_near(rgb, box)
            if det is None:
                break  # lost: the tracking loop searches this frame (and the rest) in full
            lms[i] = self.align([rgb], det[None])[0][0]
            boxes[i], scores[i], found[i], box = det[:4], det[4], True, det[:4]
        return lms, boxes, scores, found

    @staticmethod
    def follow_box(landmarks: np.ndarray, box: np.ndarray) -> np.ndarray:
        """dlib follows the detector's own box (the convention its predictor was trained with)."""
        return box
