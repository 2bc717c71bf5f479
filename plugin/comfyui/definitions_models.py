"""ComfyUI nodes for the model side: load base, embed identity, few-shot fine-tune, generate frames,
composite, save/load person. Adapters only: the work is in ``nodes/``."""
from __future__ import annotations

from typing import Any

import numpy as np

from ...nodes.budget import DEFAULT_STEPS
from ...nodes.composite import Composite
from ...nodes.embedding import EmbedIdentity
from ...nodes.generate import GenerateFrames
from ...nodes.networks.presets import DEFAULT_PRESET
from . import host
from .save import next_path, write_person
from .spec import BASE, FACETRACK, GENERATED, IDENTITY, PERSON, NodeResult, NodeSpec, Port, from_port
from .tensors import image_to_uint8, to_mask, uint8_to_image
from .wires import BaseHandle, GeneratedClip

BEST = "(best present)"


def preset_names() -> list[str]:
    from ...nodes.networks.presets import PRESETS

    return list(PRESETS)


def base_files() -> list[str]:
    """BEST, then the .safetensors files in every registered models/talkinghead folder."""
    found = {p.name for folder in host.models_dirs() if folder.is_dir() for p in folder.glob("*.safetensors")}
    return [BEST, *sorted(found)]


def _landmarks(track: Any, k: int) -> np.ndarray | None:
    from ...runtime.errors import BadInputError

    if track is None:
        return None
    if len(track) != k or not track.valid.all():
        raise BadInputError(f"the landmarks track has {int(track.valid.sum())} valid of {len(track)} frames; "
                            f"{k} photo(s) need one valid face each", track.where)
    return track.landmarks


def load_base_model(preset: str = DEFAULT_PRESET, model: str = BEST, device: str = "comfyui",
                    precision: str = "auto") -> tuple:
    """The base model (meta-learned file, else ``base-<preset>`` found, else seeded random)."""
    from ...nodes.person import load_base

    rt = host.make_runtime(device, precision)
    path = None if model == BEST else host.model_file(model)
    with host.host_errors(), host.autograd():  # FineTune trains copies of these modules
        base = load_base(rt, preset=preset, path=path)
    host.log.info("talkinghead base model (%s): %s", base.cfg.name, base.origin)
    return (BaseHandle(base, str(rt.device), rt.precision.name),)


def embed_identity(base: BaseHandle, images: Any, landmarks: Any = None, backend: str = "auto",
                   consent_id: str = "") -> tuple:
    """K photos (IMAGE batch) -> IDENTITY (e_hat = mean_k E(x_k, y_k))."""
    from ...nodes.embedding import EmbedIdentity

    photos = list(image_to_uint8(images))
    rt = host.make_runtime(base.device, base.precision)
    with host.host_errors():
        out = EmbedIdentity().run(rt, base.base, photos, _landmarks(landmarks, len(photos)), backend=backend,
                                  consent_id=consent_id)
    return (out["identity"],)


def fine_tune(base: BaseHandle, identity: Any, images: Any, landmarks: Any = None, steps: int = DEFAULT_STEPS,
              max_seconds: float = 0.0, batch_size: int = 4, seed: int = 0) -> tuple:
    """Few-shot fine-tuning (§3.3) on the T photos -> PERSON."""
    from ...nodes.finetune import FineTune, FineTuneConfig

    photos = list(image_to_uint8(images))
    rt = host.make_runtime(base.device, base.precision)
    cfg = FineTuneConfig(batch_size=batch_size, seed=seed)
    with host.host_errors(), host.autograd():
        out = FineTune().run(rt, base.base, identity, photos, _landmarks(landmarks, len(photos)), steps=steps,
                             max_seconds=max_seconds or None, config=cfg)
    return (out["person"],)


def fine_tune_ports() -> list[Port]:
    """FineTune's widgets (its core module imports torch: built when ComfyUI asks for the schema)."""
    from ...nodes.finetune import FineTune

    return [Port("base", BASE), Port("identity", IDENTITY), Port("images", "IMAGE"),
            Port("landmarks", FACETRACK, optional=True), from_port(FineTune, "steps", default=DEFAULT_STEPS, max=100000),
            from_port(FineTune, "max_seconds", kind="FLOAT", default=0.0, tooltip="time box in seconds; 0: none"),
            Port("batch_size", "INT", 4, min=1, max=64),
            Port("seed", "INT", 0, min=0, control_after_generate=False,
                 tooltip="fixed: the same photos and steps give the same person (a re-run is served from cache)")]


def _frame_range(text: str) -> tuple[int, ...] | None:
    from ...nodes.render.shot import parse_frames

    return parse_frames(text) if text.strip() else None


def generate_frames(person: Any, driver: Any, retarget: str = "relative", batch_size: int = 8,
                    frame_range: str = "", backend: str = "torch", matte: str = "hull") -> tuple:
    """PERSON + driving FACETRACK -> generated crops (IMAGE), their mattes (MASK) and FRAMES for Composite."""
    from ...nodes.composite import face_matte, matte_faces
    from ...nodes.generate import GenerateFrames

    rt = host.make_runtime()
    with host.host_errors():
        out = GenerateFrames().run(rt, person=person, driver=driver, retarget=retarget, batch_size=batch_size,
                                   frames=_frame_range(frame_range), backend=backend)
        items = tuple(out["frames"])
    from ...nodes.provenance.watermark import embed_watermark, payload_for

    source = np.asarray(person.identity.source_landmarks[0], np.float32)
    mattes = [face_matte(i.crop.shape[0], matte_faces(i, source), matte) for i in items]
    payload = payload_for(person.identity.consent_id or "")
    clip = GeneratedClip(items, source, tuple(int(v) for v in person.identity.source_sizes[0]), payload)
    crops = [embed_watermark(i.crop, payload) for i in items]  # IMAGE outputs leave watermarked
    return clip, uint8_to_image(crops), to_mask(mattes)


def composite(frames: GeneratedClip, plate: Any, crops: Any = None, matte: str = "hull",
              source_hull: bool = True) -> tuple:
    """Paste the crops into the plate (one frame, or one per generated frame) -> IMAGE and MASK (1 = face)."""
    from ...nodes.composite import MATTE_MODES, composite_stream
    from ...runtime.errors import BadInputError, UsageError

    plates = image_to_uint8(plate, "plate")
    items = frames.items
    if len(plates) not in (1, len(items)):
        raise BadInputError(f"plate has {len(plates)} frames; give 1 or {len(items)} (one per generated frame)")
    if crops is not None:
        pixels = image_to_uint8(crops, "crops")
        if len(pixels) != len(items) or pixels.shape[1:3] != items[0].crop.shape[:2]:
            raise BadInputError(f"crops {pixels.shape} must match the {len(items)} generated crops "
                                f"{items[0].crop.shape}")
        items = tuple(item._replace(crop=pixels[i]) for i, item in enumerate(items))
    index = {item.frame_number: i for i, item in enumerate(items)}

    def plate_for(number: int) -> np.ndarray:
        return plates[0] if len(plates) == 1 else plates[index[number]]

    if matte not in MATTE_MODES:
        raise UsageError(f"unknown matte mode {matte!r}; use {' or '.join(MATTE_MODES)}")
    stream = composite_stream(items, plate_for, frames.source_size, matte, "plate",
                              frames.source_landmarks if source_hull else None)
    from ...nodes.provenance.watermark import embed_watermark

    images, alphas = [], []
    for _, image, alpha in stream:
        images.append(embed_watermark(image, frames.payload))  # IMAGE outputs leave watermarked
        alphas.append(alpha)
    return uint8_to_image(images), to_mask(alphas)


def save_person(person: Any, filename_prefix: str = "talkinghead/person") -> NodeResult:
    """Write the PersonModel under ComfyUI's output folder (``<prefix>_00001.person.safetensors``)."""
    root = host.output_dir()
    path = write_person(person, next_path(root, filename_prefix, ".person.safetensors"))
    rel = path.relative_to(root)
    saved = {"filename": rel.name, "subfolder": str(rel.parent) if str(rel.parent) != "." else "", "type": "output"}
    return NodeResult((str(path),), {"talkinghead_person": [saved]})


def load_person(path: str) -> tuple:
    """A PersonModel file: absolute, or under ComfyUI's input, output or models/talkinghead folder."""
    from ...nodes.types import PersonModel

    return (PersonModel.load(host.resolve_path(path, outputs=True)),)


def _path_fingerprint(path: str = "", **_: Any) -> str:
    from .files import fingerprint_path

    return fingerprint_path(path, outputs=True)


SPECS = (
    NodeSpec("TalkingheadLoadBase", "Load Base Model (talkinghead)",
             "Meta-learned E, G, D from models/talkinghead (else a seeded random initialisation; the log says which).",
             [Port("preset", "COMBO", DEFAULT_PRESET, preset_names), Port("model", "COMBO", BEST, base_files),
              Port("device", "COMBO", "comfyui", host.DEVICES),
              Port("precision", "COMBO", "auto", host.PRECISIONS,
                   tooltip="auto: ComfyUI's (--force-fp32, the device's fp16/bf16 support)")],
             [Port("base", BASE)], load_base_model),
    NodeSpec("TalkingheadEmbedIdentity", "Embed Identity",
             "K photos of a person -> e_hat, the mean of E(x_k, y_k) (landmarks detected when not given).",
             [Port("base", BASE), Port("images", "IMAGE"), Port("landmarks", FACETRACK, optional=True),
              from_port(EmbedIdentity, "backend"), from_port(EmbedIdentity, "consent_id")],
             [Port("identity", IDENTITY)], embed_identity),
    NodeSpec("TalkingheadFineTune", "Few-Shot Fine-Tune",
             "Fine-tune G and D on the person's photos (psi' = P e_hat, w' = w0 + e_hat) -> a PersonModel.",
             fine_tune_ports,
             [Port("person", PERSON)], fine_tune),
    NodeSpec("TalkingheadGenerateFrames", "Generate Frames",
             "The person performing the driving track: face crops, their mattes, and frames for Composite.",
             [Port("person", PERSON), Port("driver", FACETRACK),
              from_port(GenerateFrames, "retarget"), from_port(GenerateFrames, "batch_size", max=256),
              Port("frame_range", "STRING", "", tooltip="driver frames: A-B, A-BxN (every Nth), A-B,C-D; empty: all"),
              from_port(GenerateFrames, "backend"), from_port(Composite, "mode", name="matte")],
             [Port("frames", GENERATED), Port("crops", "IMAGE"), Port("mattes", "MASK")], generate_frames),
    NodeSpec("TalkingheadComposite", "Composite Into Plate",
             "Paste generated crops (optionally graded: connect 'crops') into the plate via the inverse crop "
             "transform with a feathered matte; MASK is 1 over the generated face.",
             [Port("frames", GENERATED), Port("plate", "IMAGE"), Port("crops", "IMAGE", optional=True),
              from_port(Composite, "mode", name="matte"), Port("source_hull", "BOOLEAN", True)],
             [Port("images", "IMAGE"), Port("alpha", "MASK")], composite),
    NodeSpec("TalkingheadSavePerson", "Save Person Model",
             "Write the PersonModel (.person.safetensors) under ComfyUI's output folder.",
             [Port("person", PERSON), Port("filename_prefix", "STRING", "talkinghead/person")],
             [Port("path", "STRING")], save_person, output_node=True),
    NodeSpec("TalkingheadLoadPerson", "Load Person Model",
             "A .person.safetensors file (absolute, or in ComfyUI's input/output/models/talkinghead folder).",
             [Port("path", "STRING", "talkinghead/person_00001.person.safetensors")], [Port("person", PERSON)],
             load_person, fingerprint=_path_fingerprint),
)
