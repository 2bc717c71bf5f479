"""File nodes for graphs (``nodes.graph``): read photos and tracks, load/save models, write frames.

Each is a stateless node with ``run(rt, **inputs) -> dict``; path inputs are resolved against the graph's
folder by the runner (``NODE_TYPES`` names them).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..runtime.errors import BadInputError
from .base import Port
from .networks.presets import DEFAULT_PRESET

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime


class ReadImages:
    """Photos or frames: ``paths`` (a file, video, ``####`` sequence or folder, or a list of them) ->
    {"images": list of uint8 RGB, "names": list, "image": the first}. ``max_frames`` caps each video/sequence."""

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("paths", (str, list), doc="a photo, video, #### sequence or folder, or a list of them", path=True),
        Port("max_frames", int, 8, "frames taken from each video or sequence", min=1))
    outputs: ClassVar[tuple[Port, ...]] = (Port("images", list), Port("names", list), Port("image", np.ndarray))
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, paths: str | list[str], max_frames: int = 8) -> dict[str, Any]:
        from .media.io import iter_frames, source_kind

        images, names = [], []
        for path in [paths] if isinstance(paths, str) else list(paths):
            kind = source_kind(path)
            for index, (number, image) in enumerate(iter_frames(path)):
                if kind != "image" and index >= max_frames:
                    break
                images.append(image)
                names.append(path if kind == "image" else f"{path} frame {number}")
        if not images:
            raise BadInputError("no images read", str(paths))
        return {"images": images, "names": names, "image": images[0]}


class LoadBase:
    """{"base": BaseModel} of ``preset`` (``path``: an explicit base file; else the best present)."""

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("preset", str, DEFAULT_PRESET, "network preset"),
        Port("path", str, None, "an explicit base model file (default: the best present)", path=True))
    outputs: ClassVar[tuple[Port, ...]] = (Port("base", object),)
    models: ClassVar[tuple[str, ...]] = ("base-small-128", "base-paper-256")

    def run(self, rt: Runtime, preset: str = DEFAULT_PRESET, path: str | None = None) -> dict[str, Any]:
        from .person import load_base

        base = load_base(rt, preset=preset, path=path)
        rt.log.info("base model: preset %s, %s", base.cfg.name, base.origin)
        return {"base": base}


class ReadFaceTrack:
    """{"track": FaceTrack} from a ``.npz`` (``talkinghead landmarks``)."""

    inputs: ClassVar[tuple[Port, ...]] = (Port("path", str, doc="a FaceTrack .npz", path=True),)
    outputs: ClassVar[tuple[Port, ...]] = (Port("track", object),)
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, path: str) -> dict[str, Any]:
        from .types import FaceTrack

        return {"track": FaceTrack.load(path)}


class SaveFaceTrack:
    """Write ``track`` to ``path`` (.npz) -> {"path"}."""

    inputs: ClassVar[tuple[Port, ...]] = (Port("track", object, doc="the FaceTrack"), Port("path", str, doc="where (.npz)", path=True, writes=True))
    outputs: ClassVar[tuple[Port, ...]] = (Port("path", str),)
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, track: Any, path: str) -> dict[str, Any]:
        track.save(path)
        return {"path": path}


class SavePerson:
    """Write ``person`` to ``path`` (.safetensors) -> {"path", "person"}."""

    inputs: ClassVar[tuple[Port, ...]] = (Port("person", object, doc="the PersonModel"),
                                          Port("path", str, doc="where (.safetensors)", path=True, writes=True))
    outputs: ClassVar[tuple[Port, ...]] = (Port("path", str), Port("person", object))
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, person: Any, path: str) -> dict[str, Any]:
        person.save(path)
        return {"path": path, "person": person}


class LoadPerson:
    """{"person": PersonModel} from ``path``."""

    inputs: ClassVar[tuple[Port, ...]] = (Port("path", str, doc="a PersonModel .safetensors", path=True),)
    outputs: ClassVar[tuple[Port, ...]] = (Port("person", object),)
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, path: str) -> dict[str, Any]:
        from .types import PersonModel

        if not Path(path).is_file():
            raise BadInputError("no such PersonModel file", path)
        return {"person": PersonModel.load(path)}


class WriteFrames:
    """Write a frame stream to ``pattern`` (``name.####.png|exr``; # = frame number) -> {"paths", "count"}.

    ``frames``: Animate's RenderedFrame items, GenerateFrames' GeneratedFrame items (the crops are written) or
    Composite's (frame_number, image, alpha) tuples; ``alpha`` writes RGBA PNGs with the matte.
    Marked as every host's output is (``provenance.output``): watermarked, C2PA-signed with ``sign_cert`` /
    ``sign_key`` or $TALKINGHEAD_SIGN_CERT / $TALKINGHEAD_SIGN_KEY (else flagged "unsigned"); ``person``'s
    consent record must hold unless ``consent_override`` gives the reason, recorded in every file.
    """

    inputs: ClassVar[tuple[Port, ...]] = (
        Port("frames", object, doc="a frame stream"),
        Port("pattern", str, doc="name.####.png|exr (#### = frame number)", path=True, writes=True),
        Port("alpha", bool, False, "RGBA PNGs with the matte as alpha"),
        Port("person", object, None, "the PersonModel the frames show (its consent record is checked)"),
        Port("consent_override", str, "", "a reason to write without a valid consent record (recorded)"),
        Port("sign_cert", str, None, "C2PA signing certificate chain PEM (default $TALKINGHEAD_SIGN_CERT)", path=True),
        Port("sign_key", str, None, "its private key PEM (default $TALKINGHEAD_SIGN_KEY)", path=True))
    outputs: ClassVar[tuple[Port, ...]] = (Port("paths", list), Port("count", int))
    models: ClassVar[tuple[str, ...]] = ()

    def run(self, rt: Runtime, frames: Any, pattern: str, alpha: bool = False, person: Any = None,
            consent_override: str = "", sign_cert: str | None = None, sign_key: str | None = None
            ) -> dict[str, Any]:
        from .composite import with_alpha
        from .media.io import expand_pattern
        from .provenance.output import output_marker, signing_credentials

        if alpha and Path(pattern).suffix.lower() != ".png":
            raise BadInputError("alpha is written as RGBA PNG; use a .png pattern", pattern)
        marker = output_marker(person, credentials=signing_credentials(sign_cert, sign_key, "sign_cert/sign_key"),
                               override=consent_override, where=pattern,
                               override_hint="set WriteFrames' consent_override to your reason (it is recorded)")
        paths = []
        for item in frames:
            rt.check_cancelled()
            if hasattr(item, "image"):  # Animate's RenderedFrame
                number, image, matte = item.frame_number, item.image, item.alpha
            elif hasattr(item, "crop"):  # GenerateFrames' GeneratedFrame
                number, image, matte = item.frame_number, item.crop, None
            else:
                number, image, matte = item
            rgb = marker.ensure_watermark(np.ascontiguousarray(image[..., :3]))
            path = expand_pattern(pattern, int(number))
            marker.write_image(path, with_alpha(rgb, matte) if alpha and matte is not None else rgb, int(number))
            paths.append(str(path))
        return {"paths": paths, "count": len(paths)}
