"""The methods the cross-identity evaluation compares: one photo driven by another person's clip.

A method is a function ``(rt, scene: CrossScene) -> MethodRun``: ``MethodRun.frames`` yields one
``MethodFrame`` per driver frame, in order (a frame without a driver face is still produced: a method
holds its pose), at the photo's resolution, as the method's own lossless pixels (no watermark, no MP4).
``MethodFrame.alpha`` is the method's matte when it composites a layer into the photo, and
``MethodRun.rest_alpha`` its head layer on the photo when it has one (the background measure uses them).
Each yielded image must be a new array (frames are kept briefly for batched scoring).

Registered methods (``METHODS``; a new one is one line there):
- ``warp``: the floor. The WHOLE photo warped piecewise-affinely (``warp.control_points`` +
  ``warp.piecewise_affine``: the 68 points, forehead points, fixed border points) at the photo's own
  resolution to the driver's landmarks retargeted relatively (``retarget.retarget``).
- ``product``: what the product renders for one photo: ``pipeline.Pipeline`` (``person`` then ``frames``,
  the driver clip's own frames offered for the mouth interior), as ``render`` and ``demo`` do.
- ``network``: the paper's network alone, feed-forward (the base model with the K = 1 embedding of the photo,
  no fine-tuning; ``small-128-warp`` by default), its crop pasted into the photo with the hull matte: what the
  product rendered before the default path existed.
- ``rendered``: frames rendered beforehand (``options["rendered"]``), e.g. ``demo``'s PNGs.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class CrossScene:
    """One photo and one driving clip.

    Attributes:
        photo: (H, W, 3) uint8 RGB; photo_landmarks: (68, 2) px (dlib, as the product detects them).
        driver: the driving clip's FaceTrack (N frames; what a user's render gets).
        driver_frames: callable giving a fresh iterator over the N driver frames (H', W', 3) uint8.
        name: "<photo stem> x <clip stem>" for messages.
        options: method options (e.g. {"preset": "small-128-warp"}).
    """

    photo: np.ndarray
    photo_landmarks: np.ndarray
    driver: Any
    driver_frames: Callable[[], Iterator[np.ndarray]]
    name: str = ""
    options: dict = field(default_factory=dict)


@dataclass
class MethodFrame:
    """One output frame: image (H, W, 3) uint8; alpha (H, W) float32 [0, 1] or None."""

    image: np.ndarray
    alpha: np.ndarray | None = None


@dataclass
class MethodRun:
    """A method's output stream and what it says about itself."""

    frames: Iterator[MethodFrame]
    rest_alpha: np.ndarray | None = None
    info: dict = field(default_factory=dict)


def retargeted_poses(scene: CrossScene) -> tuple[np.ndarray, np.ndarray]:
    """Driver landmarks retargeted relatively onto the photo, held over frames without a face:
    ((N, 68, 2) photo px, (N,) valid) (``generate.hold_invalid``, as the product does)."""
    from ..generate import hold_invalid
    from ..landmarks.retarget import retarget

    track = retarget(scene.driver, scene.photo_landmarks, "relative", image_size=scene.photo.shape[:2])
    poses = np.asarray(track.landmarks, np.float32)
    valid = track.valid & np.isfinite(poses).all(axis=(1, 2))
    return hold_invalid(poses, valid, np.asarray(scene.photo_landmarks, np.float32)), valid


def run_warp(rt: Any, scene: CrossScene) -> MethodRun:
    """The floor: the whole photo warped piecewise-affinely to each retargeted driver pose."""
    from ..warping.warp import control_points, piecewise_affine

    poses, valid = retargeted_poses(scene)

    def frames() -> Iterator[MethodFrame]:
        for pose in poses:
            rt.check_cancelled()
            src, dst = control_points(scene.photo_landmarks, pose, scene.photo.shape[:2])
            yield MethodFrame(piecewise_affine(scene.photo, src, dst))

    return MethodRun(frames(), None, {"retarget": "relative", "held_frames": int((~valid).sum())})


def run_product(rt: Any, scene: CrossScene) -> MethodRun:
    """The product: the pipeline's person of the photo, driven by the clip (see module docstring)."""
    from ..pipeline import Pipeline, PipelineConfig

    config = PipelineConfig(**({"preset": scene.options["preset"]} if scene.options.get("preset") else {}))
    pipeline = Pipeline(rt, config)
    lms = np.asarray(scene.photo_landmarks, np.float32)[None]
    person = pipeline.person([scene.photo], [scene.name or "photo"], lms)
    portrait = pipeline.portrait(person)
    media = _in_order(scene.driver_frames, scene.driver.frame_numbers)
    stream = pipeline.frames(person, scene.driver, driver_media=media, portrait=portrait)

    def frames() -> Iterator[MethodFrame]:
        for item in stream:
            yield MethodFrame(item.image, item.alpha)

    info = {"person": person.info.get("kind"), "network": person.info.get("network"),
            "head_layer": portrait.describe()}
    return MethodRun(frames(), portrait.head.alpha, info)


def _in_order(frames: Callable[[], Iterator[np.ndarray]], numbers: np.ndarray) -> Callable[[int], np.ndarray]:
    """frame number -> frame, read forward from ``frames()``, restarted only to go back."""
    index = {int(n): i for i, n in enumerate(numbers)}
    state: dict[str, Any] = {"it": None, "i": -1, "frame": None}

    def get(number: int) -> np.ndarray:
        if state["it"] is None or index[number] < state["i"]:
            state["it"], state["i"] = iter(frames()), -1
        while state["i"] < index[number]:
            state["frame"], state["i"] = next(state["it"]), state["i"] + 1
        return state["frame"]

    return get


def run_network(rt: Any, scene: CrossScene) -> MethodRun:
    """The paper's network alone, feed-forward (no fine-tuning), its crop pasted into the photo."""
    from ..composite import face_matte, matte_faces, paste
    from ..embedding import EmbedIdentity
    from ..generate import GenerateFrames
    from ..person import feed_forward_person, load_base
    from ..sketch import face_crops

    preset = scene.options.get("preset", "small-128-warp")
    base = load_base(rt, preset)
    lms = np.asarray(scene.photo_landmarks, np.float32)
    identity = EmbedIdentity().run(rt, base=base, images=[scene.photo], landmarks=lms[None])["identity"]
    crops, crop_lms, _ = face_crops([scene.photo], lms[None], base.crop["size"], base.crop["margin"])
    person = feed_forward_person(base, identity, *((crops, crop_lms) if base.cfg.g_warp else ()))
    gen = GenerateFrames().run(rt, person=person, driver=scene.driver, retarget="relative", batch_size=8)

    def frames() -> Iterator[MethodFrame]:
        for item in gen["frames"]:
            matte = face_matte(item.crop.shape[0], matte_faces(item, lms), "hull")
            image, alpha = paste(scene.photo, item.crop, item.matrix, matte)
            yield MethodFrame(image, alpha)

    info = {"preset": preset, "base": base.origin, "meta_learned": base.meta_learned, "fine_tuning": "none (K=1 "
            "feed-forward person)", "crop": base.crop, "matte": "hull"}
    return MethodRun(frames(), None, info)


def run_rendered(rt: Any, scene: CrossScene) -> MethodRun:
    """Frames rendered beforehand (``scene.options["rendered"]``: a ``####`` sequence, a folder or a video),
    the i-th file going with the i-th driver frame; for scoring a ``render`` / ``demo`` output or another
    tool's. A video is lossy: its background measure includes the compression."""
    from ...runtime.errors import UsageError
    from ..media.io import iter_frames

    source = scene.options.get("rendered")
    if not source:
        raise UsageError("method 'rendered' needs the rendered frames (--rendered PATTERN|VIDEO)")

    def frames() -> Iterator[MethodFrame]:
        for _, image in iter_frames(source):
            if image.shape != scene.photo.shape:
                raise ValueError(f"{source}: rendered frames are {image.shape[1]}x{image.shape[0]}, the photo is "
                                 f"{scene.photo.shape[1]}x{scene.photo.shape[0]}")
            yield MethodFrame(image)

    return MethodRun(frames(), None, {"rendered": str(source)})


METHODS: dict[str, Callable[[Any, CrossScene], MethodRun]] = {
    "warp": run_warp,
    "product": run_product,
    "network": run_network,
    "rendered": run_rendered,
}


__all__ = ["METHODS", "CrossScene", "MethodFrame", "MethodRun", "retargeted_poses", "run_product", "run_rendered",
           "run_warp"]
