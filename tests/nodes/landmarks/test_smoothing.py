"""One Euro smoothing: removes jitter on still frames, no lag on fast motion, restarts at gaps."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from talkinghead.nodes.landmarks.smoothing import jitter, one_euro, smooth_landmarks, smooth_track
from talkinghead.nodes.types import FaceTrack

BASE = np.load(Path(__file__).resolve().parents[2] / "golden" / "astronaut_dlib_landmarks.npy").astype(np.float64)
SIZE = float((BASE.max(0) - BASE.min(0)).mean())


def _clip(shift_x: np.ndarray, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    truth = BASE[None] + np.stack([shift_x, np.zeros_like(shift_x)], -1)[:, None, :]
    noisy = truth + np.random.default_rng(seed).normal(0, noise * SIZE, truth.shape)
    return truth, noisy.astype(np.float32)


def _error(x, truth):
    return float(np.linalg.norm(x - truth, axis=-1).mean() / SIZE)


def test_still_face_jitter_reduced():
    truth, noisy = _clip(np.zeros(120), 0.01)
    smooth = smooth_landmarks(noisy, 25)
    assert jitter(smooth) < 0.3 * jitter(noisy)
    assert _error(smooth, truth) < 0.5 * _error(noisy, truth)


def test_fast_motion_not_lagged():
    t = np.arange(100) / 25
    truth, noisy = _clip(1.5 * SIZE * t, 0.0)  # 1.5 face widths per second, noise-free
    smooth = smooth_landmarks(noisy, 25)
    assert _error(smooth, truth) < 0.002  # zero phase: a steady motion comes out where it was
    causal = one_euro(noisy / SIZE, 25.0, 1.0, 10.0) * SIZE
    assert _error(causal, truth) > 5 * _error(smooth, truth)  # what the backward pass removes


def test_moderate_motion_with_noise_improves():
    t = np.arange(200) / 25
    truth, noisy = _clip(0.2 * SIZE * np.sin(2 * np.pi * 2.0 * t), 0.01)  # 2 Hz head shake
    assert _error(smooth_landmarks(noisy, 25), truth) < _error(noisy, truth)


def test_gaps_restart_and_track_flag():
    _truth, noisy = _clip(np.zeros(30), 0.01)
    noisy[10:12] = np.nan
    noisy[20:] += 100  # a cut: the face jumps
    out = smooth_landmarks(noisy, 25)
    assert np.isnan(out[10:12]).all() and np.isfinite(out[:10]).all() and np.isfinite(out[12:]).all()
    track = FaceTrack(noisy, np.zeros((30, 4)), np.isfinite(noisy).all(axis=(1, 2)), np.ones(30), (512, 512),
                      fps=25.0)
    smoothed = smooth_track(track)
    assert smoothed.smoothed and not track.smoothed
    assert smoothed.extra["smoothing"]["filter"].startswith("one-euro")
    assert np.allclose(smoothed.landmarks, out, equal_nan=True)
