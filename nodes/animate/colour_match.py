"""Colour and illumination matching in CIE Lab inside a mask (Reinhard et al. 2001, as used for the mouth
interior by Averbuch-Elor et al. 2017): each channel's mean and standard deviation moved to a reference's.

Images are (H, W, 3) RGB, uint8 or float32 in [0, 1]; masks (H, W) float in [0, 1] (weights).
"""
from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114])   # Rec. 601 luma weights of R, G, B
MIN_STD = 1.0      # Lab units: a flat region does not blow up the gain
MAX_GAIN = 3.0


def to_lab(image: np.ndarray) -> np.ndarray:
    """RGB (uint8 or float [0, 1]) -> float32 Lab (L 0-100, a/b about -128..127)."""
    import cv2

    rgb = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    return cv2.cvtColor(np.clip(rgb, 0, 1), cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    """float32 Lab -> float32 RGB in [0, 1]."""
    import cv2

    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1)


def lab_stats(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Weighted mean and std (3,) of ``image``'s Lab values under ``mask``; None when the mask is empty."""
    lab = to_lab(image).reshape(-1, 3)
    wts = np.asarray(mask, np.float64).reshape(-1)
    total = wts.sum()
    if total < 1.0:
        return None
    mean = (lab * wts[:, None]).sum(0) / total
    var = (((lab - mean) ** 2) * wts[:, None]).sum(0) / total
    return mean, np.sqrt(var)


def transfer_lab(image: np.ndarray, stats_from: tuple[np.ndarray, np.ndarray],
                 stats_to: tuple[np.ndarray, np.ndarray], channels: tuple[bool, bool, bool] = (True, True, True),
                 scale_std: tuple[bool, bool, bool] = (True, True, True)) -> np.ndarray:
    """Per Lab channel ``(x - mean_from) * std_to / std_from + mean_to``: float32 RGB [0, 1], ``image``'s shape.

    Args:
        image: RGB to recolour.
        stats_from, stats_to: (mean (3,), std (3,)) measured on ``image`` and on the reference.
        channels: which of L, a, b to move at all.
        scale_std: which channels also get the std ratio (else only the mean shifts).
    """
    lab = to_lab(image)
    (mu_f, sd_f), (mu_t, sd_t) = stats_from, stats_to
    for c in range(3):
        if not channels[c]:
            continue
        gain = float(np.clip(max(sd_t[c], MIN_STD) / max(sd_f[c], MIN_STD), 1 / MAX_GAIN, MAX_GAIN)) if scale_std[c] else 1.0
        lab[..., c] = (lab[..., c] - mu_f[c]) * gain + mu_t[c]
    return from_lab(lab)


def match_colour(image: np.ndarray, mask: np.ndarray, reference: np.ndarray, reference_mask: np.ndarray,
                 **kwargs) -> np.ndarray:
    """``image`` recoloured so its Lab statistics under ``mask`` equal ``reference``'s under ``reference_mask``.

    Returns float32 RGB [0, 1]; ``image`` as float unchanged when either mask is empty.
    """
    src, ref = lab_stats(image, mask), lab_stats(reference, reference_mask)
    if src is None or ref is None:
        return image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    return transfer_lab(image, src, ref, **kwargs)


def mean_rgb(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Weighted mean RGB (3,) float [0, 1] of ``image`` under ``mask``; None when the mask is empty."""
    wts = np.asarray(mask, np.float64).reshape(-1)
    total = wts.sum()
    if total < 1.0:
        return None
    rgb = image.reshape(-1, 3).astype(np.float64) / (255.0 if image.dtype == np.uint8 else 1.0)
    return (rgb * wts[:, None]).sum(0) / total


def exposure_gain(reference: np.ndarray, measured: np.ndarray, cast: float = 1.0,
                  limits: tuple[float, float] = (0.4, 2.5)) -> np.ndarray:
    """Per-channel gain (3,) taking light measured on one material (``measured``, mean colour) to the light on
    the same material elsewhere (``reference``): their luma ratio (exposure), times ``cast`` in [0, 1] of
    their ratio of hues (each colour over its own luma), clipped to ``limits``. It multiplies, so a dark
    cavity stays dark. ``cast`` = 1: the whole change of light, reference / measured per channel; below 1
    the hue carries less than the exposure (two people's skins differ in hue more than the light on them)."""
    ref, got = np.asarray(reference, np.float64), np.asarray(measured, np.float64)
    ref_l, got_l = max(float(ref @ LUMA), 1e-3), max(float(got @ LUMA), 1e-3)
    hue = (ref / ref_l) / np.maximum(got / got_l, 1e-3)
    return np.clip(ref_l / got_l * ((1 - cast) + cast * hue), *limits)


__all__ = ["LUMA", "exposure_gain", "from_lab", "lab_stats", "match_colour", "mean_rgb", "to_lab", "transfer_lab"]
