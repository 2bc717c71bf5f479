"""Geometric augmentation applied jointly to a frame and its landmarks.

Few-shot fine-tuning on one photo (§3.3) and one-frame identities in meta-learning (stills) need
several views of the same face: a random similarity (scale, rotation, shift) and a horizontal flip
are composed with the face-crop matrix, so the photo is resampled once from the original pixels
(no double interpolation, no black borders: ``sketch.crop_image`` repeats the border) and the
landmarks move with exactly the same matrix. A flip also swaps left and right landmark indices
(``MIRROR_68``), so a flipped right eye is still drawn as the right eye.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..sketch import crop_image, transform_landmarks


def _mirror_68() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]  # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]  # brows
    pairs += [(31, 35), (32, 34)]  # nose
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]  # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]  # inner lips
    perm = np.arange(68)
    for a, b in pairs:
        perm[a], perm[b] = b, a
    return perm


MIRROR_68 = _mirror_68()


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random similarity (uniform) and the flip probability.

    Attributes:
        scale: relative zoom range (0.1 = 0.9..1.1).
        rotate: degrees, +-.
        shift: fraction of the crop side, +- in x and y.
        flip: probability of a horizontal flip.
    """

    scale: float = 0.08
    rotate: float = 8.0
    shift: float = 0.04
    flip: float = 0.5

    def to_dict(self) -> dict:
        return {"scale": self.scale, "rotate": self.rotate, "shift": self.shift, "flip": self.flip}


NO_AUGMENT = AugmentConfig(0.0, 0.0, 0.0, 0.0)


def random_crop_transform(rng: np.random.Generator, size: int, cfg: AugmentConfig) -> tuple[np.ndarray, bool]:
    """A random (2, 3) similarity of the crop plane about its centre, and whether it flips."""
    s = 1.0 + rng.uniform(-cfg.scale, cfg.scale)
    a = np.deg2rad(rng.uniform(-cfg.rotate, cfg.rotate))
    t = rng.uniform(-cfg.shift, cfg.shift, 2) * size
    flip = bool(rng.random() < cfg.flip)
    c = (size - 1) / 2.0
    rot = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    if flip:
        rot = rot @ np.diag([-1.0, 1.0])
    offset = np.array([c, c]) + t - rot @ np.array([c, c])
    return np.hstack([rot, offset[:, None]]), flip


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(2, 3) affine ``outer`` after ``inner``."""
    full = np.vstack([np.asarray(outer, np.float64), [0, 0, 1]]) @ np.vstack([np.asarray(inner, np.float64), [0, 0, 1]])
    return full[:2]


def apply_augment(image: np.ndarray, landmarks: np.ndarray, crop_matrix: np.ndarray, size: int,
                  aug: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """A face crop under the crop-plane similarity ``aug`` (from ``random_crop_transform``).

    Args:
        image: (H, W, 3) uint8 source image.
        landmarks: (68, 2) landmarks in ``image`` px.
        crop_matrix: (2, 3) image px -> crop px (``sketch.face_crop_matrix``).
        size: crop side S.
        aug, flip: the (2, 3) crop-plane transform and whether it mirrors.

    Returns:
        (S, S, 3) uint8 crop and (68, 2) float32 landmarks in crop px (indices mirrored on a flip).
    """
    matrix = compose(aug, crop_matrix)
    crop = crop_image(image, matrix, size)
    lms = transform_landmarks(np.asarray(landmarks, np.float32), matrix)
    if flip:
        lms = lms[MIRROR_68]
    return crop, np.ascontiguousarray(lms, np.float32)


def augmented_crop(image: np.ndarray, landmarks: np.ndarray, crop_matrix: np.ndarray, size: int,
                   rng: np.random.Generator, cfg: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """One randomly augmented view of a face (``apply_augment`` of a ``random_crop_transform``); ``rng`` is
    the caller's numpy Generator (its state is checkpointed, so runs resume exactly)."""
    aug, flip = random_crop_transform(rng, size, cfg)
    return apply_augment(image, landmarks, crop_matrix, size, aug, flip)
