"""Wire types that flow between nodes (DESIGN §2), with save/load in open formats (never pickle).

Shapes: N frames, 68 iBUG/300-W landmarks, images (N, H, W, 3) RGB.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..runtime.atomic import atomic_path
from ..runtime.errors import BadInputError

N_LANDMARKS = 68
FACETRACK_FORMAT = "talkinghead.facetrack/1"


@dataclass
class Frames:
    """A clip or a set of stills.

    Attributes:
        images: (N, H, W, 3) uint8 RGB, or float32 in [0, 1] (or scene-linear for colour "linear"/"acescg").
        fps: frames per second (0 for stills).
        colour: "srgb" | "linear" | "acescg".
        frame_numbers: (N,) int64 frame numbers (e.g. 1001..).
        source: where they came from (file, pattern), for error messages.
    """

    images: np.ndarray
    fps: float = 0.0
    colour: str = "srgb"
    frame_numbers: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise BadInputError(f"Frames.images must be (N, H, W, 3), got {self.images.shape}", self.source or None)
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(len(self.images), dtype=np.int64)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int64)
        if len(self.frame_numbers) != len(self.images):
            raise BadInputError("frame_numbers and images differ in length", self.source or None)

    def __len__(self) -> int:
        return len(self.images)


@dataclass
class FaceTrack:
    """Per-frame 68-point landmarks of one face through a clip.

    Attributes:
        landmarks: (N, 68, 2) float32, x/y in image pixels (0-based, pixel centres at integers).
        boxes: (N, 4) float32 face boxes x0, y0, x1, y1 in pixels.
        valid: (N,) bool; False where no face was found (landmarks there are NaN unless filled).
        score: (N,) float32 detection/landmark confidence (0 where invalid).
        image_size: (H, W) of the frames.
        frame_numbers: (N,) int64.
        fps: frames per second of the source (0 for stills).
        backend: "fan" | "dlib" | ...; backend_version: its version string.
        source: the media file the track was extracted from.
        filled: (N,) bool; True where landmarks were interpolated (``--fill``), never silently.
        smoothed: whether temporal smoothing was applied.
        extra: free-form JSON-able record (retargeting, smoothing parameters).
        iris: (N, 2, 3) float32 or None: per frame and eye (iBUG 36-41, then 42-47) the iris centre x, y and
            radius in image pixels, NaN where not found; None when the track carries no iris.
        path: the ``.npz`` file this track was read from ("" when made in memory; not saved).
    """

    landmarks: np.ndarray
    boxes: np.ndarray
    valid: np.ndarray
    score: np.ndarray
    image_size: tuple[int, int]
    frame_numbers: np.ndarray | None = None
    fps: float = 0.0
    backend: str = ""
    backend_version: str = ""
    source: str = ""
    filled: np.ndarray | None = None
    smoothed: bool = False
    extra: dict = field(default_factory=dict)
    iris: np.ndarray | None = None
    path: str = ""

    def __post_init__(self) -> None:
        n = len(self.landmarks)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32)
        self.boxes = np.asarray(self.boxes, dtype=np.float32)
        self.valid = np.asarray(self.valid, dtype=bool)
        self.score = np.asarray(self.score, dtype=np.float32)
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(n, dtype=np.int64)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int64)
        self.filled = np.zeros(n, bool) if self.filled is None else np.asarray(self.filled, dtype=bool)
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))
        where = self.where
        if self.landmarks.shape != (n, N_LANDMARKS, 2):
            raise BadInputError(f"FaceTrack.landmarks must be (N, 68, 2), got {self.landmarks.shape}", where)
        for name, shape in (("boxes", (n, 4)), ("valid", (n,)), ("score", (n,)),
                            ("frame_numbers", (n,)), ("filled", (n,))):
            if getattr(self, name).shape != shape:
                raise BadInputError(f"FaceTrack.{name} must be {shape}, got {getattr(self, name).shape}", where)
        if self.iris is not None:
            self.iris = np.asarray(self.iris, dtype=np.float32)
            if self.iris.shape != (n, 2, 3):
                raise BadInputError(f"FaceTrack.iris must be {(n, 2, 3)}, got {self.iris.shape}", where)

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def where(self) -> str | None:
        """The file to name in messages: the ``.npz`` the track was read from, else its source media."""
        return self.path or self.source or None

    def select(self, index: np.ndarray | slice) -> FaceTrack:
        """A new track holding only the frames at ``index``."""
        return FaceTrack(self.landmarks[index], self.boxes[index], self.valid[index], self.score[index],
                         self.image_size, self.frame_numbers[index], self.fps, self.backend,
                         self.backend_version, self.source, self.filled[index], self.smoothed, dict(self.extra),
                         None if self.iris is None else self.iris[index], self.path)

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` (no pickled objects) atomically."""
        meta = {"format": FACETRACK_FORMAT, "image_size": list(self.image_size), "fps": self.fps,
                "backend": self.backend, "backend_version": self.backend_version, "source": self.source,
                "smoothed": self.smoothed, "extra": self.extra}
        optional = {} if self.iris is None else {"iris": self.iris}
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, landmarks=self.landmarks, boxes=self.boxes, valid=self.valid,
                                score=self.score, frame_numbers=self.frame_numbers, filled=self.filled,
                                meta=np.array(json.dumps(meta)), **optional)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FaceTrack:
        """Read a track written by ``save``; BadInputError naming the file otherwise."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in ("landmarks", "meta") if k not in getattr(data, "files", ())]
                if missing:
                    raise BadInputError(f"not a FaceTrack file: missing {'/'.join(missing)}", path)
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FACETRACK_FORMAT:
                    raise BadInputError(f"not a talkinghead FaceTrack (format {meta.get('format')!r})", path)
                arrays = {f.name: data[f.name] for f in fields(cls)
                          if f.name in ("landmarks", "boxes", "valid", "score", "frame_numbers", "filled")}
                if "iris" in data.files:  # optional: files written before iris tracks load as before
                    arrays["iris"] = data["iris"]
        except EOFError as exc:
            raise BadInputError("not a FaceTrack file: it is empty", path) from exc
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as exc:
            raise BadInputError(f"cannot read FaceTrack ({exc})", path) from exc
        return cls(image_size=tuple(meta["image_size"]), fps=meta["fps"], backend=meta["backend"],
                   backend_version=meta["backend_version"], source=meta["source"], smoothed=meta["smoothed"],
                   extra=meta.get("extra", {}), path=str(path), **arrays)


IDENTITY_FORMAT = "talkinghead.identity/1"
PERSON_FORMAT = "talkinghead.person/1"


@dataclass
class Identity:
    """A person's embedding from K source frames (paper §3.1: e_hat = mean_k E(x_k, y_k)).

    Attributes:
        e_hat: (embed_dim,) float32 numpy array.
        k: number of source frames averaged.
        source_digests: sha256 of each source frame's pixels (uint8 RGB), in order.
        source_landmarks: (K, 68, 2) float32 landmarks of the source frames in source-image pixels.
        source_sizes: (K, 2) int (H, W) of each source image.
        base_model: id of the base model whose E produced e_hat (file name + sha256 prefix).
        consent_id: id of the consent record for this likeness (provenance issue), or "".
        consent: the consent record itself (``nodes.provenance.consent.ConsentRecord.to_dict()``: content,
            id and digest), embedded so a render can check it without the original file; None when absent.
        path, tensors_digest, consent_binding: for an Identity read from its own file: the file, its
            tensors digest (checked at load; "" for a file saved before digests) and the stored binding of
            the consent record to it (``provenance.seal``); "" for one made in memory. Not saved as such:
            ``save`` computes them afresh.
    """

    e_hat: np.ndarray
    k: int
    source_digests: list[str]
    source_landmarks: np.ndarray
    source_sizes: np.ndarray
    base_model: str
    consent_id: str = ""
    consent: dict | None = None
    path: str = ""
    tensors_digest: str = ""
    consent_binding: str = ""

    def metadata(self) -> dict:
        return {"format": IDENTITY_FORMAT, "k": self.k, "source_digests": self.source_digests,
                "base_model": self.base_model, "consent_id": self.consent_id, "consent": self.consent}

    def tensors(self) -> dict:
        import torch

        return {"e_hat": torch.from_numpy(np.asarray(self.e_hat, np.float32)),
                "source_landmarks": torch.from_numpy(np.asarray(self.source_landmarks, np.float32)),
                "source_sizes": torch.from_numpy(np.asarray(self.source_sizes, np.int64))}

    def save(self, path: str | os.PathLike) -> None:
        """Write ``path`` (.safetensors) atomically, sealed (``provenance.seal``: tensors digest + consent binding)."""
        from ..runtime.weights import save_safetensors
        from .provenance.seal import seal_metadata

        tensors = self.tensors()
        save_safetensors(path, tensors, seal_metadata(tensors, self.metadata(), self.consent))

    @classmethod
    def from_parts(cls, tensors: dict, meta: dict, where: str | os.PathLike) -> Identity:
        if meta.get("format") != IDENTITY_FORMAT:
            raise BadInputError(f"not a talkinghead Identity (format {meta.get('format')!r})", where)
        missing = [k for k in ("e_hat", "source_landmarks", "source_sizes") if k not in tensors]
        if missing:
            raise BadInputError(f"incomplete Identity: missing the tensor(s) {', '.join(missing)}", where)
        return cls(e_hat=tensors["e_hat"].numpy(), k=int(meta["k"]), source_digests=list(meta["source_digests"]),
                   source_landmarks=tensors["source_landmarks"].numpy(), source_sizes=tensors["source_sizes"].numpy(),
                   base_model=meta["base_model"], consent_id=meta.get("consent_id", ""),
                   consent=meta.get("consent"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Identity:
        """Read an Identity file; BadInputError naming it when it is not one or its tensors changed after saving."""
        from ..runtime.weights import load_safetensors
        from .provenance.seal import BINDING_KEY, check_digest

        tensors, meta = load_safetensors(path)
        identity = cls.from_parts(tensors, meta, path)
        identity.tensors_digest = check_digest(tensors, meta, path)
        identity.path, identity.consent_binding = str(path), str(meta.get(BINDING_KEY) or "")
        return identity


@dataclass
class PersonModel:
    """A person, ready to be animated: the source photos (the default path animates them, nodes/animate) and,
    when a meta-learned base was present, the fine-tuned network whose residual is added on top (paper §3.3).

    Attributes:
        config: the network preset as a dict (``NetworkConfig.to_dict()``), so the file rebuilds G and D;
            {} for a person without a network.
        generator: G's state dict (fine-tuned), spectral norm parametrisation included if present; {}: none.
        psi: (1, psi_dim) float32 tensor psi' (AdaIN parameters, initialised to P e_hat, then fine-tuned), or
            None without a network.
        discriminator: D's state dict without the W table, or {} (kept to continue fine-tuning).
        w: (embed_dim,) tensor w' (initialised to w0 + e_hat), or None.
        identity: the Identity it was fine-tuned from.
        info: free-form record: base model id, steps, seconds, losses, augmentation, crop size/margin.
        source_crops: (T, S, S, 3) uint8 tensor of the source frames' face crops, or None; the
            warp-conditioned variant (``config["g_warp"]``) warps them to each target pose.
        source_crop_landmarks: (T, 68, 2) float32 tensor of their landmarks in crop px, or None.
        photos: the K source photos at full resolution, (H_k, W_k, 3) uint8 tensors (their landmarks are the
            identity's ``source_landmarks``); empty for files made before the default path existed.
        path, tensors_digest, consent_binding: as ``Identity``'s, for the whole PersonModel file.
    """

    config: dict
    generator: dict
    psi: object
    identity: Identity
    discriminator: dict = field(default_factory=dict)
    w: object = None
    info: dict = field(default_factory=dict)
    source_crops: object = None
    source_crop_landmarks: object = None
    photos: list = field(default_factory=list)
    path: str = ""
    tensors_digest: str = ""
    consent_binding: str = ""

    @property
    def has_network(self) -> bool:
        """Does the person carry a fine-tuned generator (whose residual goes on top of the animation)?"""
        return bool(self.generator)

    def tensors(self) -> dict:
        """Every tensor of the file: ``G.*``, ``D.*``, ``psi``, ``w``, ``sources.*``, ``identity.*``."""
        tensors = {f"G.{k}": v for k, v in self.generator.items()}
        tensors.update({f"D.{k}": v for k, v in self.discriminator.items()})
        if self.psi is not None:
            tensors["psi"] = self.psi
        tensors.update({f"sources.photo.{k}": photo for k, photo in enumerate(self.photos)})
        if self.w is not None:
            tensors["w"] = self.w
        if self.source_crops is not None:
            tensors["sources.crops"] = self.source_crops
            tensors["sources.landmarks"] = self.source_crop_landmarks
        tensors.update({f"identity.{k}": v for k, v in self.identity.tensors().items()})
        return tensors

    def save(self, path: str | os.PathLike) -> None:
        """One ``.safetensors`` file (``tensors()``) + JSON metadata, sealed (``provenance.seal``)."""
        from ..runtime.weights import save_safetensors
        from .provenance.seal import seal_metadata

        tensors = self.tensors()
        meta = {"format": PERSON_FORMAT, "config": self.config, "info": self.info,
                "identity": self.identity.metadata()}
        save_safetensors(path, tensors, seal_metadata(tensors, meta, self.identity.consent))

    @classmethod
    def load(cls, path: str | os.PathLike) -> PersonModel:
        """Read a PersonModel file; BadInputError naming it when it is not one or its tensors changed after saving."""
        from ..runtime.weights import load_safetensors
        from .provenance.seal import BINDING_KEY, check_digest

        tensors, meta = load_safetensors(path)
        if meta.get("format") != PERSON_FORMAT:
            raise BadInputError(f"not a talkinghead PersonModel (format {meta.get('format')!r})", path)
        digest = check_digest(tensors, meta, path)

        def part(prefix: str) -> dict:
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        generator = part("G.")
        if (generator and "psi" not in tensors) or "config" not in meta or "identity" not in meta:
            raise BadInputError("incomplete PersonModel: missing the tensor 'psi' or the config / identity record",
                                path)
        identity = Identity.from_parts(part("identity."), meta["identity"], path)
        photos = part("sources.photo.")
        return cls(config=meta["config"], generator=generator, psi=tensors.get("psi"), identity=identity,
                   discriminator=part("D."), w=tensors.get("w"), info=meta.get("info", {}),
                   source_crops=tensors.get("sources.crops"), source_crop_landmarks=tensors.get("sources.landmarks"),
                   photos=[photos[str(k)] for k in range(len(photos))], path=str(path), tensors_digest=digest,
                   consent_binding=str(meta.get(BINDING_KEY) or ""))
