"""Temporal landmark smoothing: the One Euro filter (Casiez, Roussel, Vogel, CHI 2012), run forwards and
backwards (zero phase) because tracks are smoothed offline.

The One Euro filter is a low-pass filter whose cut-off rises with speed: still frames get a low
cut-off (jitter removed), fast motion a high one (little lag). Running it both ways and averaging
cancels the causal filter's remaining lag. Coordinates are divided by the face size first, so the
parameters mean the same at every resolution. Invalid frames (NaN) restart the filter.
"""
from __future__ import annotations

import numpy as np

from ..types import FaceTrack


def _alpha(cutoff: np.ndarray | float, rate: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau * rate)


def one_euro(x: np.ndarray, rate: float, min_cutoff: float = 1.0, beta: float = 10.0,
             d_cutoff: float = 1.0) -> np.ndarray:
    """Causal One Euro filter along axis 0 of ``x`` (T, ...); NaN rows restart it.

    Args:
        x: (T, ...) signal in face-size units.
        rate: samples per second (the clip's fps).
        min_cutoff: cut-off (Hz) when still; lower removes more jitter.
        beta: how fast the cut-off rises with speed (face sizes per second); higher lags less.
        d_cutoff: cut-off (Hz) of the speed estimate.
    """
    out = np.full_like(x, np.nan, dtype=np.float64)
    prev = dprev = None
    for t in range(len(x)):
        if not np.isfinite(x[t]).all():
            prev = dprev = None
            continue
        if prev is None:
            out[t], prev, dprev = x[t], x[t].astype(np.float64), np.zeros_like(x[t], np.float64)
            continue
        speed = (x[t] - prev) * rate
        dprev = dprev + _alpha(d_cutoff, rate) * (speed - dprev)
        cutoff = min_cutoff + beta * np.abs(dprev)
        prev = prev + _alpha(cutoff, rate) * (x[t] - prev)
        out[t] = prev
    return out


def face_scale(landmarks: np.ndarray) -> float:
    """Median face size (mean of landmark box width and height) over the finite frames of (T, 68, 2)."""
    finite = np.isfinite(landmarks).all(axis=(1, 2))
    if not finite.any():
        return 1.0
    extent = landmarks[finite].max(axis=1) - landmarks[finite].min(axis=1)
    return float(max(np.median(extent.mean(axis=1)), 1e-6))


def smooth_landmarks(landmarks: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 10.0,
                     zero_phase: bool = True) -> np.ndarray:
    """Smooth (T, 68, 2) pixel landmarks; returns the same shape, float32, NaN rows kept.

    ``zero_phase`` runs the filter forwards and backwards and averages (no lag on average).
    """
    rate = float(fps) if fps and fps > 0 else 25.0
    scale = face_scale(landmarks)
    x = np.asarray(landmarks, np.float64) / scale
    out = one_euro(x, rate, min_cutoff, beta)
    if zero_phase:
        out = 0.5 * (out + one_euro(x[::-1], rate, min_cutoff, beta)[::-1])
    return (out * scale).astype(np.float32)


def jitter(landmarks: np.ndarray) -> float:
    """Mean second-difference magnitude of (T, 68, 2) landmarks, in units of the face size.

    High-frequency frame-to-frame shake; smooth motion (constant velocity) scores 0.
    """
    x = np.asarray(landmarks, np.float64) / face_scale(landmarks)
    accel = x[2:] - 2 * x[1:-1] + x[:-2]
    norms = np.linalg.norm(accel, axis=-1)
    norms = norms[np.isfinite(norms).all(axis=1)]
    return float(norms.mean()) if len(norms) else 0.0


def smooth_track(track: FaceTrack, min_cutoff: float = 1.0, beta: float = 10.0) -> FaceTrack:
    """A new FaceTrack with smoothed landmarks (detection boxes unchanged); marks ``smoothed``."""
    smoothed = smooth_landmarks(track.landmarks, track.fps, min_cutoff, beta)
    out = track.select(slice(None))
    out.landmarks = smoothed
    out.smoothed = True
    out.extra = dict(track.extra, smoothing={"filter": "one-euro zero-phase", "min_cutoff": min_cutoff,
                                            "beta": beta})
    return out
