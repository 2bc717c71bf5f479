"""EmbedIdentity: K photos of a person -> e_hat, the mean of E(x_k, y_k) (Zakharov et al. 2019, §3.1).

Each photo is cut to the face-centred square crop the base model was trained on (``sketch.face_crops``)
and its landmarks are rasterised into the sketch y_k in that crop; E runs on batches of up to 32
frames and e_hat is the mean over all K. Photos without landmarks are detected here (a photo without
a face is bad input naming the file).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..runtime.errors import BadInputError, UsageError
from .base import Port
from .landmarks.extract import BACKENDS
from .types import Identity

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

EMBED_BATCH = 32


def source_landmarks(rt: Runtime, images: Sequence[np.ndarray], landmarks: np.ndarray | None,
                     names: Sequence[str], backend: str = "auto", face: str | int = "largest") -> np.ndarray:
    """(K, 68, 2) landmarks of the source photos: given, or detected (BadInputError naming a faceless file).

    ``face``: which face of a photo with several ("largest" or an index from the left; the log says which).
    """
    if landmarks is not None:
        landmarks = np.asarray(landmarks, np.float32)
        if landmarks.shape != (len(images), 68, 2):
            raise BadInputError(f"landmarks must be ({len(images)}, 68, 2) for {len(images)} photo(s), "
                                f"got {landmarks.shape}")
        return landmarks
    from .landmarks.extract import detect_landmarks_image

    return np.stack([detect_landmarks_image(rt, image, backend, face, path=name)[0]
                     for image, name in zip(images, names)])


def check_images(images: Sequence[np.ndarray], names: Sequence[str] | None) -> tuple[list[np.ndarray], list[str]]:
    """uint8 RGB copies of ``images`` (gray / RGBA / 16-bit converted) and a name per image."""
    from .media.io import to_rgb_uint8

    if images is None or len(images) == 0:
        raise UsageError("no source photos given (K must be at least 1)")
    names = list(names) if names is not None else [f"source photo {k}" for k in range(len(images))]
    if len(names) != len(images):
        raise UsageError(f"{len(images)} photos but {len(names)} names")
    return [to_rgb_uint8(np.asarray(im), name) for im, name in zip(images, names)], names


def pixel_digest(image: np.ndarray) -> str:
    """sha256 of an image's uint8 RGB pixels and shape (records which photos an Identity came from)."""
    digest = hashlib.sha256(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


def embed(rt: Runtime, base: Any, crops: np.ndarray, crop_landmarks: np.ndarray) -> np.ndarray:
    """e_hat = mean_k E(x_k, y_k) over (K, S, S, 3) uint8 crops and their (K, 68, 2) crop landmarks -> (N,)."""
    import torch

    from .sketch import draw_sketches, sketch_to_tensor

    size = crops.shape[1]
    total = None
    E = base.E.eval()
    for start in range(0, len(crops), EMBED_BATCH):
        rt.check_cancelled()
        x = sketch_to_tensor(crops[start:start + EMBED_BATCH]).to(rt.device)
        y = sketch_to_tensor(draw_sketches(crop_landmarks[start:start + EMBED_BATCH], (size, size))).to(rt.device)
        with torch.inference_mode(), rt.precision.autocast():
            e = E(x, y).float().sum(0)
        total = e if total is None else total + e
    return (total / len(crops)).cpu().numpy().astype(np.float32)


class EmbedIdentity:
    """Node: base model + K photos (+ their landmarks) -> {"identity": Identity}.

    ``run(rt, base, images, landmarks=None, names=None, backend="auto", consent_id="")``: ``images`` are
    K uint8 RGB arrays of any sizes, ``landmarks`` (K, 68, 2) in their pixels (detected when None).
    """

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("base", object, doc="the base model (LoadBase)"),
        Port("images", (list, tuple, np.ndarray), doc="K photos of the person, uint8 RGB (any sizes)"),
        Port("landmarks", np.ndarray, None, "(K, 68, 2) landmarks of the photos (detected when not given)"),
        Port("names", (list, tuple), None, "a name per photo, for messages"),
        Port("backend", str, "auto", "landmark backend for photos without landmarks", choices=BACKENDS),
        Port("consent_id", str, "", "id of the consent record for this likeness"))
    outputs: ClassVar[tuple[Port, ...]] = (Port("identity", Identity),)
    models: ClassVar[tuple[str, ...]] = ("base-small-128", "base-paper-256", "dlib-landmarks-68", "fan-2d")

    def run(self, rt: Runtime, base: Any, images: Sequence[np.ndarray], landmarks: np.ndarray | None = None,
            names: Sequence[str] | None = None, backend: str = "auto", consent_id: str = "") -> dict[str, Any]:
        from .sketch import face_crops

        images, names = check_images(images, names)
        lms = source_landmarks(rt, images, landmarks, names, backend)
        crop = base.crop
        crops, crop_lms, _ = face_crops(images, lms, crop["size"], crop["margin"], names)
        e_hat = embed(rt, base, crops, crop_lms)
        identity = Identity(e_hat=e_hat, k=len(images), source_digests=[pixel_digest(im) for im in images],
                            source_landmarks=lms, source_sizes=np.array([im.shape[:2] for im in images]),
                            base_model=base.model_id, consent_id=consent_id)
        return {"identity": identity}
