"""The paper's self-reenactment protocol (Zakharov et al. 2019, §4.1) as pure functions.

For each clip, T frames spread over the first half form the few-shot set; up to 40 frames spread over
the second half are the targets, each generated from its own landmarks. Only frames with a detected
face are used. Everything is scored in one square crop per clip and T, computed from the few-shot
frames' landmarks (``sketch.face_crop_matrix``), so targets keep their real position and scale.

Hard frames: targets whose mouth opening (inner-lip gap / mouth width) or eye opening (height / width)
differs by more than 0.15 from that of the nearest few-shot frame: a warp of that frame cannot invent
teeth or open an eye.

Landmarks: (N, 68, 2) float x, y pixels, iBUG 300-W order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..warping.warp import align_similarity, aligned_distance, nearest_source
from .metrics import eye_opening, mouth_opening

MAX_TARGETS = 40
HARD_THRESHOLD = 0.15


@dataclass(frozen=True)
class Split:
    """Few-shot and target frames of one clip, as indices into its frame list.

    Attributes:
        fewshot: (T,) int64 indices, ascending, all in the first half.
        targets: (M,) int64 indices, ascending, all in the second half.
    """

    fewshot: np.ndarray
    targets: np.ndarray


def spread(candidates: np.ndarray, count: int) -> np.ndarray:
    """``count`` entries of ``candidates`` evenly spread, each at the centre of its share.

    Args:
        candidates: (C,) sorted indices.
        count: how many to take (all of them when ``count >= C``).
    Returns:
        (min(count, C),) int64, ascending, unique.
    """
    candidates = np.asarray(candidates, np.int64)
    if count >= len(candidates):
        return candidates.copy()
    if count < 1:
        return candidates[:0]
    picks = np.floor((np.arange(count) + 0.5) * len(candidates) / count).astype(np.int64)
    return candidates[picks]


def split_clip(valid: np.ndarray, shots: int, max_targets: int = MAX_TARGETS) -> Split:
    """The protocol's split of a clip with per-frame face validity.

    Args:
        valid: (N,) bool, True where the frame has a face (finite landmarks).
        shots: T, the few-shot set size.
        max_targets: at most this many targets.
    Returns:
        Split with T few-shot frames spread over the valid frames of the first half (indices < N // 2)
        and up to ``max_targets`` targets spread over the valid frames of the second half.
    Raises:
        ValueError: when the first half has fewer than T valid frames, or the second half none.
    """
    valid = np.asarray(valid, bool)
    half = len(valid) // 2
    first = np.flatnonzero(valid[:half])
    second = np.flatnonzero(valid[half:]) + half
    if shots < 1 or len(first) < shots:
        raise ValueError(f"T={shots} few-shot frames requested but the first half has {len(first)} frames "
                         "with a face")
    if len(second) == 0:
        raise ValueError("the second half of the clip has no frame with a face (no targets)")
    split = Split(spread(first, shots), spread(second, max_targets))
    assert not np.intersect1d(split.fewshot, split.targets).size  # halves are disjoint by construction
    return split


def nearest_fewshot(fewshot_landmarks: np.ndarray, target_landmarks: np.ndarray) -> np.ndarray:
    """For each target, the index (0..T-1) of the few-shot frame nearest by aligned landmark distance.

    Args:
        fewshot_landmarks: (T, 68, 2); target_landmarks: (M, 68, 2).
    Returns:
        (M,) int64.
    """
    return nearest_source(fewshot_landmarks, target_landmarks)


def hard_frames(fewshot_landmarks: np.ndarray, target_landmarks: np.ndarray, nearest: np.ndarray,
                threshold: float = HARD_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """Which targets are hard for a warp of their nearest few-shot frame.

    Args:
        fewshot_landmarks: (T, 68, 2); target_landmarks: (M, 68, 2); nearest: (M,) from ``nearest_fewshot``.
        threshold: opening difference above which a frame is hard.
    Returns:
        (mouth (M,) bool, eyes (M,) bool): |opening(target) - opening(nearest few-shot)| > threshold.
    """
    mouth = np.array([abs(mouth_opening(t) - mouth_opening(fewshot_landmarks[k])) > threshold
                      for t, k in zip(target_landmarks, nearest)], bool)
    eyes = np.array([abs(eye_opening(t) - eye_opening(fewshot_landmarks[k])) > threshold
                     for t, k in zip(target_landmarks, nearest)], bool)
    return mouth.reshape(-1), eyes.reshape(-1)


__all__ = ["HARD_THRESHOLD", "MAX_TARGETS", "Split", "align_similarity", "aligned_distance", "hard_frames",
           "nearest_fewshot", "split_clip", "spread"]
