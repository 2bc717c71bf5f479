"""The pipeline's two steps as nodes (graphs, ComfyUI): MakePerson (photos -> PersonModel) and Animate
(PersonModel + driving FaceTrack -> frames). Both delegate to ``pipeline.Pipeline``."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .base import Port
from .landmarks.extract import BACKENDS
from .networks.presets import DEFAULT_PRESET
from .pipeline import RESIDUAL_MODES, RETARGET_MODES
from .types import FaceTrack, PersonModel

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime


class MakePerson:
    """Node: K photos of one face (+ landmarks, consent record) -> {"person": PersonModel} (``Pipeline.person``)."""

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("images", (list, tuple, np.ndarray), doc="photos of the person, uint8 RGB; the first one moves"),
        Port("names", (list, tuple), None, "a name per photo, for messages"),
        Port("landmarks", np.ndarray, None, "(K, 68, 2) landmarks of the photos (detected when not given)"),
        Port("consent", (str, Path, object), None, "the consent record of this likeness (a JSON file or a record)",
             path=True),
        Port("preset", str, DEFAULT_PRESET, "network preset of the residual (used with a meta-learned base)"),
        Port("residual", str, "auto", "the network's residual on top: auto = when a meta-learned base is present",
             choices=RESIDUAL_MODES),
        Port("steps", int, None, "network fine-tuning steps", min=0),
        Port("max_seconds", (int, float), None, "network fine-tuning time box, seconds", min=0),
        Port("backend", str, "auto", "landmark backend for photos without landmarks", choices=BACKENDS))
    outputs: ClassVar[tuple[Port, ...]] = (Port("person", PersonModel),)
    models: ClassVar[tuple[str, ...]] = ("mediapipe-selfie-segmentation", "mediapipe-iris", "dlib-landmarks-68",
                                         "base-small-128", "base-paper-256")

    def run(self, rt: Runtime, images: Sequence[np.ndarray], names: Sequence[str] | None = None,
            landmarks: np.ndarray | None = None, consent: Any = None, preset: str = DEFAULT_PRESET,
            residual: str = "auto", steps: int | None = None, max_seconds: float | None = None,
            backend: str = "auto") -> dict[str, Any]:
        from .budget import Budget
        from .pipeline import Pipeline, PipelineConfig
        from .provenance.consent import consent_for_model

        record = consent_for_model(consent) if isinstance(consent, (str, Path)) else consent
        config = PipelineConfig(preset=preset, residual=residual, landmarks=backend, budget=Budget(steps, max_seconds))
        return {"person": Pipeline(rt, config).person(images, names, landmarks, consent=record)}


class Animate:
    """Node: PersonModel + driving FaceTrack -> {"frames": iterator of ``pipeline.RenderedFrame``}.

    Its frames leave the node watermarked (payload: the person's consent id prefix), so frames handed to any
    host's own writer still carry the invisible mark; the talkinghead writers (``WriteFrames``, ComfyUI's
    Save node) sign them or flag them unsigned (``provenance.output``) and do not mark them twice."""

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("person", PersonModel, doc="the person (MakePerson, LoadPerson)"),
        Port("driver", FaceTrack, doc="the driving performance"),
        Port("frames", object, None, "driver frame numbers to render (default: all)"),
        Port("plate", object, None, "composite over this image (or frame number -> image) of the photo's size"),
        Port("clean_plate", np.ndarray, None, "the background behind the head (default: inpainted)"),
        Port("retarget", str, "relative", "relative: the photo keeps its face shape", choices=RETARGET_MODES))
    outputs: ClassVar[tuple[Port, ...]] = (Port("frames", object, doc="iterator of RenderedFrame"),)
    models: ClassVar[tuple[str, ...]] = ("mediapipe-selfie-segmentation", "mediapipe-iris")

    def run(self, rt: Runtime, person: PersonModel, driver: FaceTrack, frames: Any = None, plate: Any = None,
            clean_plate: np.ndarray | None = None, retarget: str = "relative") -> dict[str, Any]:
        from .pipeline import Pipeline, PipelineConfig

        pipeline = Pipeline(rt, PipelineConfig(retarget=retarget))
        return {"frames": watermarked(pipeline.frames(person, driver, frames, plate, clean_plate), person)}


def watermarked(frames: Any, person: PersonModel) -> Any:
    """The RenderedFrame stream with each image watermarked (payload: ``person``'s consent id prefix)."""
    from .provenance.watermark import embed_watermark, payload_for

    payload = payload_for(getattr(person.identity, "consent_id", "") or "")
    for frame in frames:
        frame.image = embed_watermark(frame.image, payload)
        yield frame
