"""Test helpers (a uniquely named module: ``conftest`` names clash across tests/): synthetic faces for the mouth and eye stages: flat skin, white eye openings with a dark iris disc, red lips,
drawn at the astronaut's dlib landmarks (scaled), so the right answer is known exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SKIN = (200, 160, 140)
SCLERA = (240, 240, 235)
IRIS = (60, 40, 30)
LIPS = (170, 60, 70)
TEETH = (245, 245, 235)
SIZE = 256


def template() -> np.ndarray:
    """(68, 2) face landmarks filling a 256 px image (astronaut's dlib points, rescaled)."""
    lms = np.load(Path(__file__).parents[2] / "golden" / "astronaut_dlib_landmarks.npy").astype(np.float64)
    lo, hi = lms.min(0), lms.max(0)
    return (lms - (lo + hi) / 2) * (150 / (hi - lo).max()) + SIZE / 2


def open_mouth(lms: np.ndarray, amount: float) -> np.ndarray:
    """Landmarks with the lower lip (inner and outer) and the chin moved down by ``amount`` px."""
    out = lms.copy()
    out[[65, 66, 67]] += [0, amount]
    out[[55, 56, 57, 58, 59]] += [0, amount]
    out[7:10] += [0, amount]
    return out


def close_mouth(lms: np.ndarray) -> np.ndarray:
    """Landmarks whose inner lips meet (lower inner points onto the upper ones)."""
    out = lms.copy()
    out[67], out[66], out[65] = out[61], out[62], out[63]
    return out


def draw_face(lms: np.ndarray, iris_offset=(0.0, 0.0), iris_frac: float = 0.2, teeth: bool = False) -> np.ndarray:
    """Draw the synthetic face for ``lms``; the iris of each eye at its centre + offset (eye widths); each eye's
    lids are arcs through its points (``eyes.lid_outline``), as real lids are."""
    from talkinghead.nodes.animate.eyes import lid_outline
    from talkinghead.nodes.animate.regions import EYES, INNER_LIP, OUTER_LIP, from_eye_units, polygon_mask

    img = np.zeros((SIZE, SIZE, 3), np.float32) + np.array(SKIN, np.float32)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for e, idx in enumerate(EYES):
        opening = polygon_mask(lid_outline(lms[idx]), (SIZE, SIZE))[..., None]
        width = np.linalg.norm(lms[idx[3]] - lms[idx[0]])
        c = from_eye_units(np.array(iris_offset), lms, e)
        disc = np.clip(iris_frac * width + 0.5 - np.hypot(xx - c[0], yy - c[1]), 0, 1)[..., None]
        eye = np.array(SCLERA, np.float32) + disc * (np.array(IRIS, np.float32) - SCLERA)
        img = img + opening * (eye - img)
    lips = polygon_mask(lms[OUTER_LIP], (SIZE, SIZE))[..., None]
    img = img + lips * (np.array(LIPS, np.float32) - img)
    inner = polygon_mask(lms[INNER_LIP], (SIZE, SIZE))[..., None]
    fill = np.array(TEETH if teeth else (40, 15, 15), np.float32)
    img = img + inner * (fill - img)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
