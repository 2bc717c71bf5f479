"""Episodes of meta-learning (§3.2) drawn from a preprocessed dataset (``preprocess.py``, ``shards.py``).

An episode is K + 1 frames of one sequence i: K source frames for E and a target frame t for G and
D (the last one). From a video the K + 1 frames are distinct (drawn with replacement only when the
video has fewer); from a still identity they are augmented views of its photos (``augment``), the
same face under different similarity transforms and flips, landmarks moved with the pixels.
Crops are resized from the dataset's size (256) to the network's (``size``) in the same resampling.

Sampling is a pure function of a numpy Generator; the training loop derives one per (seed, step,
rank), so a resumed or re-sharded run draws exactly the same episodes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...runtime.errors import UsageError
from .augment import NO_AUGMENT, AugmentConfig, augmented_crop
from .shards import ShardReader, read_index


@dataclass
class Episode:
    """A batch of B episodes (the last of the K + 1 frames is the target).

    Attributes:
        x: (B, K+1, 3, S, S) frames in [-1, 1].
        y: (B, K+1, 3, S, S) their landmark sketches in [-1, 1].
        landmarks: (B, K+1, 68, 2) landmarks in crop px.
        i: (B,) long sequence indices (rows W_i of the discriminator's table).
    """

    x: torch.Tensor
    y: torch.Tensor
    landmarks: torch.Tensor
    i: torch.Tensor

    def to(self, device: torch.device | str) -> Episode:
        return Episode(self.x.to(device), self.y.to(device), self.landmarks.to(device), self.i.to(device))

    def select(self, rows: slice | torch.Tensor) -> Episode:
        """Episodes ``rows`` of the batch (e.g. one rank's share)."""
        return Episode(self.x[rows], self.y[rows], self.landmarks[rows], self.i[rows])


def episode_tensors(crops: np.ndarray, landmarks: np.ndarray, i: np.ndarray) -> Episode:
    """(B, K+1, S, S, 3) uint8 crops + (B, K+1, 68, 2) landmarks + (B,) indices -> Episode (sketches drawn)."""
    from ..sketch import draw_sketches, sketch_to_tensor

    b, k1, s = crops.shape[:3]
    flat = landmarks.reshape(b * k1, 68, 2).astype(np.float32)
    x = sketch_to_tensor(crops.reshape(b * k1, s, s, 3)).view(b, k1, 3, s, s)
    y = sketch_to_tensor(draw_sketches(flat, (s, s))).view(b, k1, 3, s, s)
    return Episode(x, y, torch.from_numpy(flat.reshape(b, k1, 68, 2)), torch.as_tensor(i, dtype=torch.long))


def resize_matrix(src: int, dst: int) -> np.ndarray:
    """(2, 3) crop px of a ``src`` crop -> px of a ``dst`` crop (pixel centres at integers)."""
    f = dst / src
    return np.array([[f, 0.0, 0.5 * f - 0.5], [0.0, f, 0.5 * f - 0.5]])


class EpisodeDataset:
    """Sequences of a preprocessed dataset and episode sampling.

    Args:
        root: dataset folder (``dataset.json`` + ``shards/``).
        size: network crop side S (<= the dataset's crop size).
        augment_video, augment_still: augmentation of video frames (default none, as in the paper)
            and of stills (default ``AugmentConfig()``: episodes need several views of a photo).
        video_fraction: probability that an episode comes from a video (None: all sequences equally
            likely). With a few videos and many stills, e.g. 0.5 keeps the videos' pose changes in view.
    """

    def __init__(self, root: str | os.PathLike, size: int, augment_video: AugmentConfig = NO_AUGMENT,
                 augment_still: AugmentConfig | None = None, video_fraction: float | None = None):
        self.root = Path(root)
        self.index = read_index(self.root)
        self.sequences = self.index["sequences"]
        self.crop_size = int(self.index["crop"]["size"])
        self.margin = float(self.index["crop"]["margin"])
        if size > self.crop_size:
            raise UsageError(f"{self.root}: the dataset's crops are {self.crop_size} px, the network needs {size}; "
                             "preprocess again with a larger --size")
        self.size = size
        self.augment = {"video": augment_video, "still": augment_still or AugmentConfig()}
        self.video_fraction = video_fraction
        kinds = np.array([s["kind"] for s in self.sequences])
        self._by_kind = {k: np.flatnonzero(kinds == k) for k in ("video", "still")}
        self._matrix = resize_matrix(self.crop_size, size)
        self.reader = ShardReader(self.root)

    def __len__(self) -> int:
        return len(self.sequences)

    def indices(self, kind: str) -> np.ndarray:
        """Sequence indices of ``kind`` ("video" | "still")."""
        return self._by_kind[kind]

    @property
    def digest(self) -> str:
        """Hash of the ordered sequence keys (a checkpoint's W rows are only valid for the same list)."""
        return self.index["digest"]

    def pick_sequences(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        """(batch,) sequence indices, honouring ``video_fraction`` when both kinds exist."""
        videos, stills = self._by_kind["video"], self._by_kind["still"]
        if self.video_fraction is None or not len(videos) or not len(stills):
            return rng.integers(0, len(self.sequences), batch)
        from_video = rng.random(batch) < self.video_fraction
        return np.where(from_video, videos[rng.integers(0, len(videos), batch)],
                        stills[rng.integers(0, len(stills), batch)])

    def view(self, seq: dict, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``n`` of ``seq`` at the network size (augmented for its kind): (S,S,3) uint8, (68,2)."""
        crop, lms = self.reader.frame(seq["shard"], seq["start"] + n)
        return augmented_crop(crop, lms, self._matrix, self.size, rng, self.augment[seq["kind"]])

    def sample(self, rng: np.random.Generator, batch: int, k: int, i: np.ndarray | None = None) -> Episode:
        """B episodes of K + 1 frames (``i``: the sequences, else drawn by ``pick_sequences``)."""
        i = self.pick_sequences(rng, batch) if i is None else np.asarray(i)
        crops = np.zeros((len(i), k + 1, self.size, self.size, 3), np.uint8)
        lms = np.zeros((len(i), k + 1, 68, 2), np.float32)
        for b, index in enumerate(i):
            seq = self.sequences[int(index)]
            n = seq["stop"] - seq["start"]
            frames = rng.choice(n, k + 1, replace=n < k + 1)
            for j, frame in enumerate(frames):
                crops[b, j], lms[b, j] = self.view(seq, int(frame), rng)
        return episode_tensors(crops, lms, i)
