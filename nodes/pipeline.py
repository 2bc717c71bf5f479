"""The chain, written once: photos -> person -> frames. The CLI, the demo, the renderer, the evaluation,
graphs and ComfyUI all call it; a new stage is added here and nowhere else.

    photos (+ landmarks) --person()--> PersonModel (photos, landmarks, consent; + a fine-tuned network
                                                    when a meta-learned base is present)
    PersonModel + driver FaceTrack --frames()--> for each driver frame: retarget, per-feature targets
        (lids, lips, gaze), the photo's whole head warped at its own resolution, mouth interior and eyes,
        [the network's residual on top], composited over the filled background or a plate

The default path needs no learned prior (``nodes/animate``: Averbuch-Elor et al. 2017). The paper's
networks (Zakharov et al. 2019) are fine-tuned and their residual added only when a meta-learned base is
present (``residual="auto"``); fine-tuning a random base would change nothing, so it is skipped and said.
Every frame depends only on the full driving track and its own index: any subset renders the same pixels as
a full render.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..runtime.errors import BadInputError, UsageError
from .budget import Budget
from .networks.presets import DEFAULT_PRESET

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime
    from .animate.features import FrameReport
    from .types import FaceTrack, PersonModel

RESIDUAL_MODES = ("auto", "on", "off")
RETARGET_MODES = ("relative", "absolute")


@dataclass(frozen=True)
class PipelineConfig:
    """The chain's settings, one default each.

    Attributes:
        preset: network preset of the residual (used when a meta-learned base is present, or forced).
        model: an explicit base model file (else the best present for ``preset``).
        residual: "auto" (the network's residual when a meta-learned base is present), "on", "off".
        landmarks: landmark backend for the photos ("auto" | "fan" | "dlib").
        face: which face of a photo with several ("largest" or an index from the left).
        retarget: "relative" (the photo keeps its face shape) or "absolute".
        budget: fine-tuning steps / time box (network only).
        batch_size: generator batch (network only).
        backend: generator backend, "torch" or "onnx" (network only).
    """

    preset: str = DEFAULT_PRESET
    model: str | Path | None = None
    residual: str = "auto"
    landmarks: str = "auto"
    face: str | int = "largest"
    retarget: str = "relative"
    budget: Budget = field(default_factory=Budget)
    batch_size: int = 8
    backend: str = "torch"

    def __post_init__(self) -> None:
        if self.residual not in RESIDUAL_MODES:
            raise UsageError(f"residual must be one of {', '.join(RESIDUAL_MODES)}, got {self.residual!r}")
        if self.retarget not in RETARGET_MODES:
            raise UsageError(f"retarget must be one of {', '.join(RETARGET_MODES)}, got {self.retarget!r}")
        if self.batch_size < 1:
            raise UsageError(f"batch size must be >= 1, got {self.batch_size}")


@dataclass
class RenderedFrame:
    """One output frame.

    Attributes:
        frame_number: the driver's frame number.
        image: (H, W, 3) uint8 at the photo's (or plate's) resolution.
        alpha: (H, W) float32: where the moved head covers the background.
        valid: False where the driver had no face (the previous pose is held).
        report: what the mouth and eyes used (``animate.features.FrameReport``).
    """

    frame_number: int
    image: np.ndarray
    alpha: np.ndarray
    valid: bool
    report: FrameReport


class Pipeline:
    """The chain over one Runtime (see module docstring); stateless between calls."""

    def __init__(self, rt: Runtime, config: PipelineConfig | None = None):
        self.rt = rt
        self.config = config or PipelineConfig()

    def network_choice(self) -> tuple[bool, str]:
        """(fine-tune a network?, the reason in one line)."""
        from .person import meta_learned_base_present

        cfg = self.config
        if cfg.residual == "off":
            return False, "network residual off: the photo is animated on its own"
        if cfg.residual == "on":
            return True, f"network residual on ({cfg.preset}), whatever its base"
        if meta_learned_base_present(self.rt, cfg.preset, cfg.model):
            return True, f"meta-learned base {cfg.preset} present: its fine-tuned residual goes on top"
        return False, (f"no meta-learned base-{cfg.preset}: fine-tuning a random network would add nothing, so "
                       "the photo is animated without one (`talkinghead train` makes a base)")

    def source_landmarks(self, images: Sequence[np.ndarray], names: Sequence[str] | None = None,
                         landmarks: np.ndarray | None = None) -> tuple[list[np.ndarray], list[str], np.ndarray]:
        """(uint8 RGB photos, names, (K, 68, 2) landmarks: given, or detected)."""
        from .embedding import check_images, source_landmarks

        images, names = check_images(images, names)
        lms = source_landmarks(self.rt, images, landmarks, names, self.config.landmarks, self.config.face)
        return images, names, lms

    def person(self, images: Sequence[np.ndarray], names: Sequence[str] | None = None,
               landmarks: np.ndarray | None = None, consent: Any = None, checkpoint: str | Path | None = None,
               resume: bool = False, finetune: Any = None) -> PersonModel:
        """The person of K photos, carrying its consent record (``provenance.consent.ConsentRecord`` or None).

        ``finetune``: a ``finetune.FineTuneConfig`` for the network (its budget is the pipeline's).
        """
        from .provenance.consent import attach_consent

        images, names, lms = self.source_landmarks(images, names, landmarks)
        use_network, why = self.network_choice()
        self.rt.say_once(f"network:{why}", why, level=logging.INFO)
        photos = _photo_tensors(images)
        if not use_network:
            identity = attach_consent(portrait_identity(images, lms), consent)
            from .types import PersonModel

            return PersonModel(config={}, generator={}, psi=None, identity=identity, photos=photos,
                               info={"kind": "portrait", "preset": self.config.preset, "network": why})
        person = self._fine_tuned(images, names, lms, consent, checkpoint, resume, finetune)
        return replace(person, photos=photos, info={**person.info, "kind": "portrait+network", "network": why})

    def _fine_tuned(self, images: list[np.ndarray], names: list[str], lms: np.ndarray, consent: Any,
                    checkpoint: str | Path | None, resume: bool, finetune: Any) -> PersonModel:
        from .embedding import EmbedIdentity
        from .finetune import FineTune, FineTuneConfig
        from .person import load_base
        from .provenance.consent import attach_consent

        base = load_base(self.rt, self.config.preset, self.config.model)
        identity = EmbedIdentity().run(self.rt, base, images, lms, names)["identity"]
        identity = attach_consent(identity, consent)
        cfg = replace(finetune or FineTuneConfig(), budget=self.config.budget)
        return FineTune().run(self.rt, base, identity, images, lms, names=names, checkpoint=checkpoint,
                              resume=resume, config=cfg)["person"]

    def portrait(self, person: PersonModel, clean_plate: np.ndarray | None = None) -> Any:
        """The person's first photo prepared for animation (``animate.portrait.prepare``); the others give
        the mouth interiors to choose from."""
        from .animate.portrait import prepare

        if not person.photos:
            raise BadInputError("this person file holds no source photo (it was made by an older version); "
                                "make it again with `talkinghead finetune PHOTO... --out PERSON`", person.path or None)
        photos = [np.asarray(p) for p in person.photos]
        lms = np.asarray(person.identity.source_landmarks, np.float64)
        portrait = prepare(self.rt, photos[0], lms[0], clean_plate, list(zip(photos[1:], lms[1:])))
        return portrait

    def frames(self, person: PersonModel, driver: FaceTrack, frames: Iterable[int] | None = None,
               plate: np.ndarray | Callable[[int], np.ndarray] | None = None,
               clean_plate: np.ndarray | None = None,
               driver_media: Callable[[int], np.ndarray] | None = None, portrait: Any = None
               ) -> Iterator[RenderedFrame]:
        """The person performing ``driver``: one RenderedFrame per requested driver frame number, in order.

        Args:
            person: from ``person()`` (or ``PersonModel.load``).
            driver: the driving track (the full track: retargeting looks across it).
            frames: driver frame numbers to render (default: all).
            plate: composite over this (one image, or frame number -> image) instead of the photo's filled
                background; it must have the photo's size.
            clean_plate: the background behind the head (default: inpainted from the photo).
            driver_media: frame number -> the driver's own frame (asked in order, then again from the start):
                its gaze, teeth and mouth interior are used.
            portrait: ``portrait(person, clean_plate)`` when the caller has it already.
        """
        from .animate.portrait import perform, render
        from .composite import check_plate
        from .generate import frame_positions

        portrait = portrait or self.portrait(person, clean_plate)
        media = None
        if driver_media is not None:   # one pass over the driver's frames: gaze, teeth shown, covered mouths
            media = (driver_media(int(n)) for n in driver.frame_numbers)
        performance = perform(portrait, driver, self.config.retarget, frames=media)
        positions = frame_positions(driver, frames)
        network = self._residuals(person, performance, positions) if person.has_network else None
        self._warn_range(portrait, performance, positions, driver)
        for position in positions.tolist():
            self.rt.check_cancelled()
            number = int(driver.frame_numbers[position])
            interior = None
            repaired = performance.repaired is not None and bool(performance.repaired[position])
            if driver_media is not None and performance.valid[position] and not repaired:
                interior = (driver_media(number), np.asarray(driver.landmarks[position], np.float64))
            out = render(portrait, performance, position, interior)
            image = out.image
            if network is not None:
                from .residual import add_residual

                image = add_residual(image, next(network))
            if plate is not None:
                frame_plate = plate(number) if callable(plate) else plate
                check_plate(frame_plate, portrait.size, None, number)
                image = over_plate(image, out.alpha, frame_plate, portrait.head.background)
            yield RenderedFrame(number, image, out.alpha, bool(performance.valid[position]), out.report)

    def _warn_range(self, portrait: Any, performance: Any, positions: np.ndarray, driver: FaceTrack) -> None:
        """Say (once per track) which requested frames hold a pose, leave the frame, turn past the range or were
        repaired."""
        from .animate.pose import range_warnings

        targets = np.where(performance.valid[positions, None, None], performance.targets[positions], np.nan)
        repaired = None if performance.repaired is None else performance.repaired[positions]
        for message in range_warnings(portrait.landmarks, targets, portrait.size, performance.frame_numbers[positions],
                                      repaired):
            self.rt.say_once(f"range:{driver.where}:{message}", f"{driver.where or 'driver'}: {message}")

    def _residuals(self, person: PersonModel, performance: Any, positions: np.ndarray) -> Iterator[Any]:
        from .generate import GenerateFrames, crop_spec, generate_stream
        from .sketch import face_crop_matrix

        size, margin = crop_spec(person)
        kwargs = {} if margin is None else {"margin": margin}
        matrix = np.asarray(face_crop_matrix(person.identity.source_landmarks[0], size, **kwargs), np.float64)
        generator = GenerateFrames._generator(self.rt, person, self.config.backend)
        return generate_stream(self.rt, generator, np.asarray(performance.targets, np.float32), performance.valid,
                               performance.frame_numbers, positions, matrix, size, self.config.batch_size)


def portrait_identity(images: Sequence[np.ndarray], landmarks: np.ndarray) -> Any:
    """The Identity of a person without a network: which photos (digests), their landmarks and sizes; no e_hat."""
    from .embedding import pixel_digest
    from .types import Identity

    return Identity(e_hat=np.zeros(0, np.float32), k=len(images), source_digests=[pixel_digest(im) for im in images],
                    source_landmarks=np.asarray(landmarks, np.float32),
                    source_sizes=np.array([im.shape[:2] for im in images]), base_model="none")


def over_plate(image: np.ndarray, alpha: np.ndarray, plate: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``image`` (the head over ``background``) moved onto ``plate``: the plate exactly where alpha is 0."""
    blended = image.astype(np.float32) + (plate.astype(np.float32) - background) * (1.0 - alpha[..., None])
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return np.where(alpha[..., None] > 0, out, plate)


def _photo_tensors(images: Sequence[np.ndarray]) -> list:
    import torch

    return [torch.from_numpy(np.ascontiguousarray(im, np.uint8)) for im in images]
