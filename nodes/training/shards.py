"""Preprocessed training shards: JPEG face crops + landmarks in one safetensors file (no pickle).

A shard holds the frames of one or more *sequences* (a video, or the stills of one identity):

- ``jpeg``: uint8 (total_bytes,), the JPEG files of all frames back to back;
- ``offsets``: int64 (N + 1,), frame n is ``jpeg[offsets[n]:offsets[n + 1]]``;
- ``landmarks``: float32 (N, 68, 2), landmarks in crop px (pixel centres at integers);
- ``frame``: int64 (N,), the source frame number of each crop;
- metadata (JSON): ``format``, ``crop`` {size, margin}, ``quality`` and ``sequences``
  [{key, kind ("video" | "still"), identity, start, stop, sources}].

Frames are read one at a time through ``safe_open`` slices, so a dataset far larger than memory is
fine. The dataset folder's ``dataset.json`` indexes every sequence of every shard (``write_index``).
About 15-25 KB per 256 px frame at JPEG quality 95 (8-10x smaller than raw uint8).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...runtime.atomic import atomic_write_text
from ...runtime.errors import BadInputError

SHARD_FORMAT = "talkinghead.shard/1"
DATASET_FORMAT = "talkinghead.dataset/1"
INDEX_NAME = "dataset.json"
SHARD_DIR = "shards"
DEFAULT_QUALITY = 95


def shard_name(key: str) -> str:
    """File name of the shard of ``key``: readable, collision-free (``id__video-1a2b3c4d.safetensors``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key.replace("/", "__"))[-80:]
    return f"{safe}-{hashlib.sha1(key.encode()).hexdigest()[:8]}.safetensors"


def encode_jpeg(crop: np.ndarray, quality: int = DEFAULT_QUALITY) -> bytes:
    """(S, S, 3) uint8 RGB -> JPEG bytes (4:4:4 chroma keeps the thin sketch-relevant edges)."""
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
              cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(crop[..., ::-1]), params)
    if not ok:  # pragma: no cover - cv2 always encodes uint8 RGB
        raise BadInputError("cannot JPEG-encode a crop")
    return data.tobytes()


def decode_jpeg(data: np.ndarray | bytes, where: str = "") -> np.ndarray:
    """JPEG bytes -> (S, S, 3) uint8 RGB; BadInputError naming ``where`` when corrupt."""
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BadInputError("corrupt JPEG frame in a shard", where or None)
    return np.ascontiguousarray(image[..., ::-1])


@dataclass
class SequenceFrames:
    """Frames of one sequence, ready to write.

    Attributes:
        key: unique sequence id (e.g. ``id10001/1zcIwhmdeo4`` or ``stills:helen/100032540_1``).
        kind: "video" (episodes are K+1 distinct frames) or "still" (episodes by augmentation).
        identity: person id (several sequences may share one).
        crops: (N, S, S, 3) uint8 RGB face crops.
        landmarks: (N, 68, 2) float32 in crop px.
        frames: (N,) source frame numbers.
        sources: the files the frames came from.
    """

    key: str
    kind: str
    identity: str
    crops: np.ndarray
    landmarks: np.ndarray
    frames: np.ndarray
    sources: list[str]


def write_shard(path: str | os.PathLike, sequences: Sequence[SequenceFrames], crop: dict,
                quality: int = DEFAULT_QUALITY) -> int:
    """Write ``sequences`` into one shard atomically; returns the number of frames."""
    import torch

    from ...runtime.weights import save_safetensors

    blobs, lms, numbers, meta, start = [], [], [], [], 0
    for seq in sequences:
        n = len(seq.crops)
        if seq.landmarks.shape != (n, 68, 2) or len(seq.frames) != n or n == 0:
            raise ValueError(f"sequence {seq.key}: {n} crops, landmarks {seq.landmarks.shape}, {len(seq.frames)} numbers")
        blobs += [encode_jpeg(c, quality) for c in seq.crops]
        lms.append(np.asarray(seq.landmarks, np.float32))
        numbers.append(np.asarray(seq.frames, np.int64))
        meta.append({"key": seq.key, "kind": seq.kind, "identity": seq.identity, "start": start,
                     "stop": start + n, "sources": list(seq.sources)})
        start += n
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    tensors = {"jpeg": torch.from_numpy(np.frombuffer(b"".join(blobs), np.uint8).copy()),
               "offsets": torch.from_numpy(offsets), "landmarks": torch.from_numpy(np.concatenate(lms)),
               "frame": torch.from_numpy(np.concatenate(numbers))}
    save_safetensors(path, tensors, {"format": SHARD_FORMAT, "crop": dict(crop), "quality": int(quality),
                                     "sequences": meta})
    return start


def read_shard_meta(path: str | os.PathLike) -> dict:
    """The JSON metadata of a shard (no tensor is read); BadInputError when it is not a shard."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    from ...runtime.weights import METADATA_KEY

    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {}).get(METADATA_KEY, "{}"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise BadInputError(f"unreadable shard ({exc})", path) from exc
    if meta.get("format") != SHARD_FORMAT:
        raise BadInputError(f"not a talkinghead shard (format {meta.get('format')!r})", path)
    return meta


def write_index(root: str | os.PathLike) -> dict:
    """Scan ``root/shards`` and write ``root/dataset.json``: every sequence, sorted by key (W_i order).

    Raises:
        BadInputError: two shards hold the same sequence key, or crops of different conventions.
    """
    root = Path(root)
    sequences, crop, frames = [], None, 0
    for path in sorted((root / SHARD_DIR).glob("*.safetensors")):
        meta = read_shard_meta(path)
        if crop is None:
            crop = meta["crop"]
        elif meta["crop"] != crop:
            raise BadInputError(f"shard crop {meta['crop']} differs from the dataset's {crop}", path)
        for seq in meta["sequences"]:
            sequences.append({**seq, "shard": f"{SHARD_DIR}/{path.name}"})
            frames += seq["stop"] - seq["start"]
    sequences.sort(key=lambda s: s["key"])
    keys = [s["key"] for s in sequences]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})[:3]
        raise BadInputError(f"sequence keys occur in more than one shard: {dup}", root)
    index = {"format": DATASET_FORMAT, "crop": crop, "frames": frames, "sequences": sequences,
             "digest": hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16],
             "kinds": {k: sum(s["kind"] == k for s in sequences) for k in ("video", "still")}}
    atomic_write_text(root / INDEX_NAME, json.dumps(index, indent=1))
    return index


def read_index(root: str | os.PathLike) -> dict:
    """``root/dataset.json``; BadInputError naming it when absent, foreign or empty."""
    path = Path(root) / INDEX_NAME
    try:
        index = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInputError(f"no readable dataset index ({exc}); run `talkinghead preprocess` first", path) from exc
    if index.get("format") != DATASET_FORMAT:
        raise BadInputError(f"not a talkinghead dataset index (format {index.get('format')!r})", path)
    if not index.get("sequences"):
        raise BadInputError("the dataset holds no sequences", path)
    return index


class ShardReader:
    """Random access to frames of the shards of one dataset, keeping up to ``max_open`` files open."""

    def __init__(self, root: str | os.PathLike, max_open: int = 64):
        self.root = Path(root)
        self.max_open = max_open
        self._open: OrderedDict[str, tuple] = OrderedDict()

    def _handle(self, shard: str) -> tuple:
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        from safetensors.torch import safe_open

        path = self.root / shard
        try:
            handle = safe_open(str(path), framework="pt")
            offsets = handle.get_tensor("offsets").numpy()
            lms = handle.get_tensor("landmarks").numpy()
        except Exception as exc:  # safetensors raises several types for missing/corrupt files
            raise BadInputError(f"unreadable shard ({exc})", path) from exc
        self._open[shard] = (handle, offsets, lms)
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)
        return self._open[shard]

    def frame(self, shard: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``n`` of ``shard``: (S, S, 3) uint8 RGB crop and (68, 2) float32 landmarks in crop px."""
        handle, offsets, lms = self._handle(shard)
        data = handle.get_slice("jpeg")[int(offsets[n]):int(offsets[n + 1])].numpy()
        return decode_jpeg(data, f"{self.root / shard} frame {n}"), lms[n]
