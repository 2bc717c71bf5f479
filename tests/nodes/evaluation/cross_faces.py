"""Drawn faces for the cross-identity evaluation tests: 68 landmarks (the astronaut's, scaled) with a
parametric mouth and eyes, and an image painted from them (skin, lips, mouth interior, sclera, iris)."""
from pathlib import Path

import cv2
import numpy as np

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy"
SKIN = (205, 150, 125)
LIPS = (170, 70, 70)
DARK = (25, 15, 15)
TEETH = (232, 226, 214)
SIZE = 600


def base_landmarks() -> np.ndarray:
    """(68, 2) float64: the astronaut's dlib landmarks scaled x3 and centred in a 600 px canvas."""
    lms = np.load(GOLDEN).astype(np.float64)
    lms = (lms - lms.mean(0)) * 3.0 + SIZE / 2
    return lms


def with_mouth(lms: np.ndarray, opening: float) -> np.ndarray:
    """Replace points 48-67 by a mouth centred where the astronaut's is; inner gap = ``opening`` x width."""
    out = lms.copy()
    cx, cy = lms[48:68].mean(0)
    w = float(np.linalg.norm(lms[54] - lms[48]))
    h = opening * w / 0.9
    def arc(xs, half, sign):
        return [(cx + x * w, cy + sign * half * np.sqrt(max(0.0, 1 - (2 * x) ** 2))) for x in xs]
    top = arc([-0.5, -0.33, -0.15, 0.0, 0.15, 0.33, 0.5], h / 2 + 0.12 * w, -1)
    bottom = arc([0.33, 0.15, 0.0, -0.15, -0.33], h / 2 + 0.15 * w, 1)
    inner_x = [-0.2, 0.0, 0.2]
    inner_top = [(cx + x * w, cy - h / 2 * np.sqrt(1 - (x / 0.4) ** 2)) for x in inner_x]
    inner_bottom = [(cx + x * w, cy + h / 2 * np.sqrt(1 - (x / 0.4) ** 2)) for x in inner_x[::-1]]
    out[48:60] = top + bottom
    out[60:68] = [(cx - 0.4 * w, cy), *inner_top, (cx + 0.4 * w, cy), *inner_bottom]
    return out


def with_eyes_open(lms: np.ndarray, opening: float = 0.35) -> np.ndarray:
    """Eye lids (37, 38, 40, 41 and 43, 44, 46, 47) placed for a height of ``opening`` x the eye width."""
    out = lms.copy()
    for a in (36, 42):
        left, right = out[a], out[a + 3]
        u = (right - left) / np.linalg.norm(right - left)
        v = np.array([-u[1], u[0]])
        w = float(np.linalg.norm(right - left))
        for k, t in ((1, 1 / 3), (2, 2 / 3)):
            out[a + k] = left + t * (right - left) - v * opening * w / 2
            out[a + 6 - k] = left + t * (right - left) + v * opening * w / 2
    return out


def poly(image: np.ndarray, pts: np.ndarray, colour) -> None:
    cv2.fillPoly(image, [np.round(pts * 16).astype(np.int32)], colour, lineType=cv2.LINE_AA, shift=4)


def draw_face(lms: np.ndarray, interior=DARK, iris_offsets=None, gray: bool = False) -> np.ndarray:
    """(600, 600, 3) uint8: skin, lips, mouth interior (``interior`` colour), sclera and irises.

    Args:
        iris_offsets: (2, 2) (u, v) iris offsets in eye widths per eye (None: no eyes drawn).
    """
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[:] = SKIN
    poly(image, lms[48:60], LIPS)
    if np.linalg.norm(lms[62] - lms[66]) > 1:
        poly(image, lms[60:68], interior)
    if iris_offsets is not None:
        for eye, a in enumerate((36, 42)):
            draw_eye(image, lms, a, iris_offsets[eye])
    return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, 2) if gray else image


def draw_eye(image: np.ndarray, lms: np.ndarray, a: int, offset) -> None:
    """Sclera polygon with an iris disc (radius 0.2 eye widths) at ``offset`` (u, v) eye widths."""
    left, right = lms[a], lms[a + 3]
    w = float(np.linalg.norm(right - left))
    u = (right - left) / w
    v = np.array([-u[1], u[0]])
    centre = (left + right) / 2 + offset[0] * w * u + offset[1] * w * v
    eye = np.zeros(image.shape, np.uint8)
    poly(eye, lms[a:a + 6], (240, 238, 232))
    cv2.circle(eye, tuple(np.round(centre * 16).astype(int)), round(0.2 * w * 16), (70, 45, 30), -1, cv2.LINE_AA, 4)
    cv2.circle(eye, tuple(np.round(centre * 16).astype(int)), round(0.08 * w * 16), (10, 8, 8), -1, cv2.LINE_AA, 4)
    mask = np.zeros(image.shape[:2], np.uint8)
    poly(mask, lms[a:a + 6], 255)
    image[mask > 0] = (eye[mask > 0].astype(np.float32) * (mask[mask > 0, None] / 255.0)
                       + image[mask > 0] * (1 - mask[mask > 0, None] / 255.0)).astype(np.uint8)


def tilting_astronaut(folder: Path) -> tuple[Path, Path]:
    """``folder``/astro.png (512 px) and ``folder``/drive.mp4: 10 frames of the astronaut, at 256 px, rotating
    by up to 8 degrees and drifting. Returns (photo, clip)."""
    import skimage.data
    from talkinghead.nodes.media.io import VideoWriter, write_image

    photo = skimage.data.astronaut()
    write_image(folder / "astro.png", photo)
    still = cv2.resize(photo, (256, 256), interpolation=cv2.INTER_AREA)
    with VideoWriter(folder / "drive.mp4", 25, 256, 256) as writer:
        for i in range(10):
            a = cv2.getRotationMatrix2D((110.0 + i, 70.0), 8.0 * np.sin(i / 3), 1.0)
            writer.write(cv2.warpAffine(still, a, (256, 256), borderMode=cv2.BORDER_REFLECT))
    return folder / "astro.png", folder / "drive.mp4"
