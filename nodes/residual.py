"""The network's residual on top of the animated photo (when the person carries a fine-tuned generator).

G works in the person's face crop (S x S, paper §3.3). Its residual there is G's output minus what it
started from: the warp it was given (warp-conditioned presets, whose last conv starts at zero: an untrained
residual is exactly zero) or, for the paper's G, the animated frame's own crop (G's face replaces it). The
residual is feathered by the face matte, taken back to the photo's resolution through the inverse crop
transform and added there, so the photo's own detail stays and only what G learned is added.

Images (H, W, 3) uint8; crops (S, S, 3) uint8; residuals float32 in 0-255 units.
"""
from __future__ import annotations

import numpy as np

from .composite import face_matte
from .generate import GeneratedFrame
from .sketch import crop_image


def crop_residual(frame: np.ndarray, item: GeneratedFrame) -> np.ndarray:
    """(S, S, 3) float32 residual of ``item`` (a generated crop of ``frame``'s face), matte applied."""
    size = item.crop.shape[0]
    start = item.warped if item.warped is not None else crop_image(frame, item.matrix, size)
    residual = item.crop.astype(np.float32) - start.astype(np.float32)
    return residual * face_matte(size, item.landmarks[None])[..., None]


def add_residual(frame: np.ndarray, item: GeneratedFrame) -> np.ndarray:
    """``frame`` plus ``item``'s residual, upsampled into the frame's pixels (uint8, clipped)."""
    import cv2

    h, w = frame.shape[:2]
    inverse = cv2.invertAffineTransform(np.asarray(item.matrix, np.float64))
    up = cv2.warpAffine(crop_residual(frame, item), inverse, (w, h), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.clip(np.rint(frame.astype(np.float32) + up), 0, 255).astype(np.uint8)
