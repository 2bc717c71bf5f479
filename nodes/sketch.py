"""Landmark rasterisation (the paper's coloured line-segment image) and the face-centred square crop.

Paper §3.1 / §4: "the landmarks are rasterized into a three-channel image using a predefined set of
colors to connect certain landmarks with line segments". The reference reimplementations
(vincent-thevenin/Realistic-Neural-Talking-Head-Models, grey-eye/talking-heads) draw jaw, eyebrows,
nose, eyes and lips as polylines, one colour per part, about 2.7 px wide at 256 px. We draw the
same parts on black with anti-aliased sub-pixel lines, close the eye and lip contours and add the
inner lips (the mouth opening matters for the generator). Everything here is a pure function.

Landmarks: (68, 2) float32 x, y in pixels (pixel centres at integers), iBUG 300-W order.
Crop transforms are 2x3 affine matrices mapping image px -> crop px (keep them to paste back).
"""
from __future__ import annotations

import numpy as np

from ..runtime.errors import BadInputError

# (name, first index, last index + 1, closed, RGB colour): one colour per facial part, defined once.
FACE_PARTS: tuple[tuple[str, int, int, bool, tuple[int, int, int]], ...] = (
    ("jaw", 0, 17, False, (0, 128, 0)),               # green
    ("right_brow", 17, 22, False, (255, 165, 0)),     # orange
    ("left_brow", 22, 27, False, (255, 165, 0)),
    ("nose_bridge", 27, 31, False, (0, 0, 255)),      # blue
    ("nose_lower", 31, 36, False, (0, 0, 255)),
    ("right_eye", 36, 42, True, (255, 0, 0)),         # red
    ("left_eye", 42, 48, True, (255, 0, 0)),
    ("outer_lips", 48, 60, True, (128, 0, 128)),      # purple
    ("inner_lips", 60, 68, True, (255, 0, 255)),      # magenta
)
_SHIFT = 4  # cv2 fixed-point bits: lines land with 1/16 px precision


def default_thickness(size: tuple[int, int]) -> int:
    """Line width in px: ~2.7 px at 256 (the references' lw=2 at dpi 100), at least 1."""
    return max(1, round(min(size) / 96.0))


def _check_landmarks(landmarks: np.ndarray, ndim: int) -> np.ndarray:
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if landmarks.ndim != ndim or landmarks.shape[-2:] != (68, 2):
        want = "(68, 2)" if ndim == 2 else "(N, 68, 2)"
        raise BadInputError(f"landmarks must be {want}, got {landmarks.shape}")
    return landmarks


def draw_sketch(landmarks: np.ndarray, size: tuple[int, int], thickness: int | None = None) -> np.ndarray:
    """Rasterise one face's landmarks as the paper's coloured line segments on black.

    Args:
        landmarks: (68, 2) x, y pixels in the output image's frame. NaN landmarks draw nothing.
        size: (H, W) of the output.
        thickness: line width in px (default ``default_thickness(size)``).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    import cv2

    landmarks = _check_landmarks(landmarks, 2)
    height, width = int(size[0]), int(size[1])
    canvas = np.zeros((height, width, 3), np.uint8)
    if not np.isfinite(landmarks).all():
        return canvas
    thickness = default_thickness((height, width)) if thickness is None else int(thickness)
    fixed = np.rint(landmarks * (1 << _SHIFT)).astype(np.int64)
    limit = 1 << 28  # keep far-off points from overflowing cv2's int32 (they are clipped by the canvas)
    fixed = np.clip(fixed, -limit, limit).astype(np.int32)
    for _name, start, stop, closed, colour in FACE_PARTS:
        cv2.polylines(canvas, [fixed[start:stop].reshape(-1, 1, 2)], closed, colour, thickness,
                      cv2.LINE_AA, _SHIFT)
    return canvas


def draw_sketches(landmarks: np.ndarray, size: tuple[int, int], thickness: int | None = None) -> np.ndarray:
    """``draw_sketch`` for (N, 68, 2) landmarks -> (N, H, W, 3) uint8."""
    landmarks = _check_landmarks(landmarks, 3)
    out = np.zeros((len(landmarks), int(size[0]), int(size[1]), 3), np.uint8)
    for i, points in enumerate(landmarks):
        out[i] = draw_sketch(points, size, thickness)
    return out


def sketch_to_tensor(sketches: np.ndarray):
    """(N, H, W, 3) uint8 sketches -> torch float32 (N, 3, H, W) in [-1, 1] (the network convention)."""
    import torch

    if sketches.ndim != 4 or sketches.shape[-1] != 3:
        raise BadInputError(f"sketches must be (N, H, W, 3), got {sketches.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(sketches)).permute(0, 3, 1, 2).float()
    return tensor / 127.5 - 1.0


# --------------------------------------------------------------------------- crops

def face_crop_matrix(landmarks: np.ndarray, size: int, margin: float = 0.4) -> np.ndarray:
    """Square, face-centred crop transform (image px -> crop px), axis-aligned scale + translation.

    The square is centred on the landmarks' bounding box, moved up by 10% of its height to include
    the forehead (the 68 points stop at the brows); its side is the box's larger side times
    ``1 + margin``. Given (N, 68, 2) landmarks (a track), one crop is computed from the median
    centre and side over the finite frames, so the crop does not jitter with the landmarks.

    Returns:
        (2, 3) float64 matrix M with crop = M @ [x, y, 1].
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 68, 2)
    finite = np.isfinite(points).all(axis=(1, 2))
    if not finite.any():
        raise BadInputError("cannot compute a face crop: no finite landmarks")
    points = points[finite]
    lo, hi = points.min(axis=1), points.max(axis=1)
    centre = np.median((lo + hi) / 2.0, axis=0)
    extent = np.median(hi - lo, axis=0)
    centre[1] -= 0.1 * extent[1]
    side = max(float(extent.max()) * (1.0 + margin), 1.0)
    scale = size / side
    offset = (size - 1) / 2.0 - scale * centre
    return np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix (crop px -> image px)."""
    full = np.vstack([np.asarray(matrix, np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_landmarks(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to (..., 68, 2) points; same shape and dtype (float32 for integer input)."""
    landmarks = np.asarray(landmarks)
    matrix = np.asarray(matrix, np.float64)
    out = landmarks.astype(np.float64) @ matrix[:, :2].T + matrix[:, 2]
    return out.astype(landmarks.dtype if np.issubdtype(landmarks.dtype, np.floating) else np.float32)


def crop_image(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp ``image`` (H, W, C) into the (size, size, C) crop of ``matrix``; area-filtered when shrinking.

    Outside the image the border pixels are repeated (so pasted-back results have no dark seams).
    """
    import cv2

    matrix = np.asarray(matrix, np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    factor = int(np.floor(1.0 / scale)) if scale > 0 else 1
    if factor >= 2:  # pre-shrink by an integer factor with area averaging to avoid aliasing
        small = cv2.resize(image, (max(1, image.shape[1] // factor), max(1, image.shape[0] // factor)),
                           interpolation=cv2.INTER_AREA)
        # small px (u, v) covers image px factor*u + (factor-1)/2
        to_image = np.array([[factor, 0.0, (factor - 1) / 2.0], [0.0, factor, (factor - 1) / 2.0], [0, 0, 1]])
        matrix = (np.vstack([matrix, [0, 0, 1]]) @ to_image)[:2]
        image = small
    return cv2.warpAffine(image, matrix, (int(size), int(size)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def face_crops(images: list[np.ndarray], landmarks: np.ndarray, size: int, margin: float = 0.4,
               where: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-centred square crops of K photos, their landmarks in crop px and the crop matrices.

    Args:
        images: K uint8 RGB images (H_k, W_k, 3), any sizes.
        landmarks: (K, 68, 2) landmarks in each image's px.
        size: crop side S; margin: see ``face_crop_matrix``.
        where: K names (files) for error messages.

    Returns:
        crops (K, S, S, 3) uint8, crop landmarks (K, 68, 2) float32, matrices (K, 2, 3) float64.
    """
    landmarks = np.asarray(landmarks, np.float32)
    names = where or [f"image {k}" for k in range(len(images))]
    if landmarks.shape != (len(images), 68, 2):
        raise BadInputError(f"landmarks must be ({len(images)}, 68, 2) for {len(images)} image(s), "
                            f"got {landmarks.shape}")
    crops = np.zeros((len(images), size, size, 3), np.uint8)
    matrices = np.zeros((len(images), 2, 3))
    for k, (image, points) in enumerate(zip(images, landmarks)):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise BadInputError(f"expected a uint8 RGB image (H, W, 3), got {image.shape} {image.dtype}", names[k])
        if not np.isfinite(points).all():
            raise BadInputError("no face landmarks (non-finite) for this image", names[k])
        matrices[k] = face_crop_matrix(points, size, margin)
        crops[k] = crop_image(image, matrices[k], size)
    crop_lms = np.stack([transform_landmarks(p, m) for p, m in zip(landmarks, matrices)]).astype(np.float32)
    return crops, crop_lms, matrices
