"""dlib landmark backend: HOG face detector + 68-point shape predictor (Kazemi & Sullivan 2014). Offline.

The 68-point predictor (``shape_predictor_68_face_landmarks.dat`` from face-recognition-models) was
trained on iBUG 300-W, whose annotations are licensed for NON-COMMERCIAL research only.

Video: the full-frame HOG detection (~25 ms) runs once; later frames re-detect only inside a small
window around the previous face (a few ms), which also gives every frame a detection score. The
predictor is fed the detector's box, the box convention it was trained with, and boxes a few percent
beside and around it: its cascade's fit depends on the box it starts from (on a 40 px face, fits from
boxes 2 px apart differ in eye opening by as much as half a blink), and the mean of those fits is both
steadier and closer to annotated points (``BOX_SHIFTS``, ``BOX_SCALES``). The predictor was trained on
upright faces: a face whose eye line tilts by more than ``LEVEL_ROLL`` is fitted again on a copy turned
level (``turned_crop``, starting from the HOG box found there), and the points are turned back. Where the
upright HOG detector finds no face, it looks again on the frame turned by each of ``TURNS``; such a
detection carries the turn that found it. On the first 60 300-W HELEN test faces turned by +-15 / 25 / 35
degrees, the NME fell from .033 / .060 / .100 to .027 / .036 / .040 (.026 as they are) and the faces missed
from 4 / 4 / 15 to 1 / 0 / 3 of 120; on the first 120 as they are (many tilt a little), from .0270 to .0260,
and at a quarter size (a 40 px face) from .0334 to .0323, eye opening error .0400 to .0390. A tilted face
costs about twice (the demo's driver, tilted 6-14 degrees, tracked: 85-92 ms a frame, 40-48 without it).
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
LEVEL_ROLL = 10.0          # degrees: a fit whose eye line tilts more is fitted again on the face turned level
LEVEL_PASSES = 3           # at most this many level fits (a face turned far is first fitted half-turned)
LEVEL_CROP = 2.0           # the level copy's side, x the detector box's side
LEVEL_FACE_PX = 100.0      # the level copy is scaled up so the box is at least this many px (the HOG pass
                           # that finds its start box costs with the copy's area: 25 ms at 450 px, 5 at 200)
NEAR_START = 0.3           # a HOG box on the level copy within this x the box's side of where the face is
                           # turned to is the level fit's start box
TURNS = (25.0, -25.0)      # degrees: where the upright detector finds no face, it looks again on the image turned
                           # by these (of 120 HELEN faces rolled by 35 degrees it missed 15, turned 3)


def start_boxes(box: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The predictor's start boxes around one detector box (4,) x0, y0, x1, y1: every shift in
    ``BOX_SHIFTS`` (x and y, x the box side) with every scale in ``BOX_SCALES``, rounded to whole pixels."""
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    side, cx, cy = (x1 - x0 + y1 - y0) / 2, (x0 + x1) / 2, (y0 + y1) / 2
    halves = [((x1 - x0) * scale / 2, (y1 - y0) * scale / 2) for scale in BOX_SCALES]
    return [(round(x - hx), round(y - hy), round(x + hx), round(y + hy))
            for y in (cy + dy * side for dy in BOX_SHIFTS) for x in (cx + dx * side for dx in BOX_SHIFTS)
            for hx, hy in halves]


def eye_line_roll(landmarks: np.ndarray) -> float:
    """Degrees the line from the image-left eye's centre (points 36-41) to the other's (42-47) falls to the
    right (clockwise on screen)."""
    p = np.asarray(landmarks, np.float64)
    v = p[42:48].mean(0) - p[36:42].mean(0)
    return float(np.degrees(np.arctan2(v[1], v[0])))


def turned_crop(rgb: np.ndarray, centre: np.ndarray, box: np.ndarray, angle: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The image turned by ``angle`` degrees (counter-clockwise on screen: a face whose eye line falls by
    ``angle`` comes out level) about ``centre`` (2,), in a square crop ``LEVEL_CROP`` x the box's side, scaled
    up so the box is at least ``LEVEL_FACE_PX`` (turning a small face resamples it: larger, it loses less):
    (crop (S, S, 3), the box (4,) in the crop (its centre turned), the (2, 3) affine image -> crop)."""
    import cv2

    width, height = float(box[2] - box[0]), float(box[3] - box[1])
    scale = max(1.0, LEVEL_FACE_PX / max(width, height, 1.0))
    side = max(8, round(LEVEL_CROP * max(width, height) * scale))
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), scale)
    m[:, 2] += side / 2 - np.asarray(centre, np.float64)
    crop = cv2.warpAffine(np.ascontiguousarray(rgb), m, (side, side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    mid = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]) @ m[:, :2].T + m[:, 2]
    half = np.array([width, height]) * scale / 2
    return crop, np.r_[mid - half, mid + half], m


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


def run_hog_turning(detector, image: np.ndarray, upsample: int) -> np.ndarray:
    """``run_hog``; where it finds nothing, ``run_hog`` on ``image`` turned by each of ``TURNS`` about its centre
    until a face is found. (K, 6): upright boxes x0, y0, x1, y1 of the found faces' size about their centres
    in ``image``'s px, the HOG score, and the turn (degrees, ``turned_crop``'s sense) that found them, 0 for
    the upright search (``DlibBackend.align`` fits a turned face on a copy turned by it)."""
    import cv2

    dets = run_hog(detector, image, upsample)
    h, w = image.shape[:2]
    for angle in TURNS if not len(dets) else ():
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
        found = run_hog(detector, cv2.warpAffine(np.ascontiguousarray(image), m, (w, h), flags=cv2.INTER_LINEAR,
                                                 borderMode=cv2.BORDER_REPLICATE), upsample)
        if len(found):
            back = cv2.invertAffineTransform(m)
            mid = (found[:, :2] + found[:, 2:4]) / 2 @ back[:, :2].T + back[:, 2]
            half = (found[:, 2:4] - found[:, :2]) / 2
            return np.column_stack([mid - half, mid + half, found[:, 4], np.full(len(found), angle)])
    return np.column_stack([dets, np.zeros(len(dets))])


def hog_detect(detector, rgb: np.ndarray) -> np.ndarray:
    """All faces in a frame: (K, 6) boxes x0, y0, x1, y1 (original px), HOG score and the turn that found
    them (``run_hog_turning``).

    Big frames are detected on a downscaled copy (landmarks are still fitted at full resolution);
    small ones are upsampled once so faces down to ~40 px are found.
    """
    scale = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
    small = _resize(rgb, scale)
    dets = run_hog_turning(detector, small, 1 if max(small.shape[:2]) <= 400 else 0)
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
        self.version = (f"dlib {dlib.__version__} mean of {len(BOX_SHIFTS) ** 2 * len(BOX_SCALES)} start boxes, "
                        f"refit level above {LEVEL_ROLL:g} degrees, face {LEVEL_FACE_PX:g} px")
        self._dlib = dlib
        rt.say_once("dlib-licence", "landmarks: dlib 68-point predictor, trained on iBUG 300-W "
                                    "(annotations licensed for non-commercial research only)")

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """All faces: (K, 6) boxes + score + turn (see ``hog_detect``)."""
        return hog_detect(self.detector, rgb)

    def detect_near(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Re-detect the face inside a window twice the size of ``box``; (6,) (``run_hog_turning``) or None
        when lost."""
        height, width = rgb.shape[:2]
        side = max(box[2] - box[0], box[3] - box[1], 8.0)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        x0, y0 = int(max(0, cx - side)), int(max(0, cy - side))
        x1, y1 = int(min(width, cx + side + 1)), int(min(height, cy + side + 1))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        scale = ROI_FACE_PX / side
        dets = run_hog_turning(self.detector, _resize(rgb[y0:y1, x0:x1], scale), 0)
        if not len(dets):
            return None
        dets[:, :4] = (dets[:, :4] + 0.5) / scale - 0.5 + np.array([x0, y0, x0, y0])
        centres = (dets[:, :2] + dets[:, 2:4]) / 2
        best = int(np.argmin(np.linalg.norm(centres - [cx, cy], axis=1)))
        return dets[best]

    def align(self, images: list[np.ndarray], dets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """68 landmarks per image from its detection (x0, y0, x1, y1, score[, turn]): (B, 68, 2) float32 in the
        images' pixels, the mean of the predictor's fits from ``start_boxes``, on a copy turned by the
        detection's turn, then on one turned level while the eye line tilts on the copy it was fitted on by
        more than ``LEVEL_ROLL`` (at most ``LEVEL_PASSES`` times); and the detector scores (B,) (the predictor
        itself gives none)."""
        out = np.empty((len(images), 68, 2), np.float32)
        for i, (rgb, det) in enumerate(zip(images, np.asarray(dets, np.float64))):
            rgb, box = np.ascontiguousarray(rgb), det[:4]
            turn = float(det[5]) if len(det) > 5 else 0.0
            points = self._turned_fit(rgb, box, (box[:2] + box[2:4]) / 2, turn) if turn else self._mean_fit(rgb, box)
            for _ in range(LEVEL_PASSES):   # while the face tilts on the copy it was fitted on
                if abs(eye_line_roll(points) - turn) <= LEVEL_ROLL:
                    break
                turn = eye_line_roll(points)
                points = self._turned_fit(rgb, box, points.mean(0), turn)
            out[i] = points
        return out, np.asarray(dets, np.float64)[:, 4]

    def _turned_fit(self, rgb: np.ndarray, box: np.ndarray, centre: np.ndarray, angle: float) -> np.ndarray:
        """(68, 2) float64 in ``rgb``'s px: ``_mean_fit`` on ``turned_crop``, turned back. The predictor starts
        from the HOG box found on the turned copy (its training convention), else from the turned ``box``."""
        import cv2

        crop, start, m = turned_crop(rgb, centre, box, angle)
        dets = run_hog(self.detector, crop, 0)
        if len(dets):
            middle = (start[:2] + start[2:]) / 2
            gaps = np.linalg.norm((dets[:, :2] + dets[:, 2:4]) / 2 - middle, axis=1)
            if gaps.min() < NEAR_START * (start[2] - start[0]):
                start = dets[int(np.argmin(gaps)), :4]
        back = cv2.invertAffineTransform(m)
        return self._mean_fit(crop, start) @ back[:, :2].T + back[:, 2]

    def _mean_fit(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """(68, 2) float64: the mean of the predictor's fits from ``start_boxes`` around ``box`` (4,)."""
        fits = [[(p.x, p.y) for p in self.predictor(rgb, self._dlib.rectangle(*b)).parts()]
                for b in start_boxes(box)]
        return np.mean(np.asarray(fits, np.float64), axis=0)

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
