"""Mark rendered output as AI-generated: watermark the pixels, then C2PA-sign the file, atomically.

Order per file: watermark the frame (``watermark.embed_watermark``, deterministic), encode it in memory
(PNG/JPEG/TIFF/WebP) or to a temporary file (EXR), sign (the manifest goes into the encoded bytes, or
into a ``.c2pa`` sidecar for EXR), and only then rename onto the final name. A killed process leaves at
most hidden ``.<stem>.*.tmp<suffix>`` files, never an unsigned file under the final name.

Without signing credentials a Marker is UNSIGNED: frames are still watermarked, and every file carries a
provenance note flagged "unsigned" instead of a manifest (``unsigned.py``). ``output.output_marker`` makes
the Marker of an output (consent checked or overridden, credentials found); ``output.mark_output`` is the
one call for host save nodes.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.atomic import atomic_path, atomic_write_bytes
from ...runtime.errors import BadInputError, UsageError
from .certs import ENV_CERT, ENV_KEY, SigningCredentials
from .consent import CLI_OVERRIDE, ConsentRecord, as_record, check_consent
from .manifest import ManifestSigner, embeds, sidecar_path
from .seal import check_binding, load_likeness
from .unsigned import UNSIGNED, add_note, embeds_note, note_path, note_text
from .watermark import SCHEME, decode_watermark, embed_watermark, payload_for


def consent_provenance(record: ConsentRecord | None, checked: bool, problems: list[str] | None = None,
                       override: str = "") -> dict:
    """The manifest's consent entry: the record (or None), whether it was checked (or the override's reason
    when the user made output without a valid record), and what was wrong."""
    check = ("passed" if checked else "skipped (--no-consent-check)" if override in ("", "--no-consent-check")
             else f"overridden: {override}")
    return {"check": check, "id": record.id if record else "", "record": record.to_dict() if record else None,
            "problems": list(problems or [])}


@dataclass(frozen=True)
class Marker:
    """Watermarks frames and writes signed files for one output (a render, a save node).

    Attributes:
        signer: a ManifestSigner (credentials loaded once), or None: unsigned output, flagged in a note.
        provenance: the talkinghead assertion put into every manifest (consent, person model, watermark).
        payload: the 24-bit watermark payload (consent id prefix).
    """

    signer: ManifestSigner | None
    provenance: dict = field(default_factory=dict)
    payload: int = 0

    @classmethod
    def create(cls, credentials: SigningCredentials | None, consent: dict, person: dict | None = None) -> Marker:
        """A Marker for output made under ``consent`` (``consent_provenance``) from ``person`` (its description);
        ``credentials`` None makes an unsigned Marker."""
        payload = payload_for(consent.get("id", ""))
        provenance = {"consent": consent, "person": person or {},
                      "watermark": {"scheme": SCHEME, "payload": f"{payload:06x}"}}
        return cls(None if credentials is None else ManifestSigner(credentials), provenance, payload)

    @property
    def signed(self) -> bool:
        return self.signer is not None

    def note(self, **extra: Any) -> dict:
        """The provenance note of an unsigned file (``unsigned.py``)."""
        return {"c2pa": UNSIGNED, "reason": f"no signing credentials were configured ({ENV_CERT}/{ENV_KEY})",
                "generator": "talkinghead", "digital_source_type": "trainedAlgorithmicMedia",
                **self.provenance, **extra}

    def watermark(self, image: np.ndarray) -> np.ndarray:
        """The frame with the invisible watermark (uint8 RGB/RGBA in, same out)."""
        return embed_watermark(image, self.payload)

    def ensure_watermark(self, image: np.ndarray) -> np.ndarray:
        """``image`` as is when it already carries this payload (e.g. Animate's frames), else watermarked."""
        return image if decode_watermark(image) == self.payload else self.watermark(image)

    def write_image(self, path: str | os.PathLike, image: np.ndarray, frame: int | None = None,
                    colour: str = "linear") -> Path:
        """Encode an already watermarked uint8 RGB/RGBA frame, sign it and rename it onto ``path``.

        ``colour``: the colour space of EXR frames ("linear" scene-linear Rec.709, "acescg", "srgb"), tagged
        in the header; other formats are sRGB-encoded.
        """
        path = Path(path)
        provenance = {**self.provenance, "frame": frame}
        if self.signer is None:
            return _write_unsigned(path, image, self.note(frame=frame), colour)
        if path.suffix.lower() == ".exr":
            with atomic_path(path) as tmp:
                _write_exr(tmp, image, colour)
                sidecar = self.signer.sign_bytes(tmp.read_bytes(), ".exr", path.name, provenance)[1]
                atomic_write_bytes(sidecar_path(path), sidecar)
            return path
        data = encode_image(path, image)
        signed, sidecar = self.signer.sign_bytes(data, path.suffix, path.name, provenance)
        if sidecar is not None:
            atomic_write_bytes(sidecar_path(path), sidecar)
        atomic_write_bytes(path, signed)
        return path

    def video_writer(self, path: str | os.PathLike, fps: float, width: int, height: int) -> Any:
        """An H.264 writer whose ``close()`` signs the finished file, then renames it onto ``path`` (unsigned:
        a ``media.io.VideoWriter`` whose container carries the note)."""
        if self.signer is None:
            from ..media.io import VideoWriter

            return VideoWriter(path, fps, width, height, metadata={"comment": note_text(self.note())})
        return SignedVideoWriter(path, fps, width, height, self)


def _write_unsigned(path: Path, image: np.ndarray, note: dict, colour: str) -> Path:
    """Write an (already watermarked) frame with its provenance note (embedded, or a sidecar), atomically."""
    if path.suffix.lower() == ".exr":
        with atomic_path(path) as tmp:
            _write_exr(tmp, image, colour)
    else:
        atomic_write_bytes(path, add_note(encode_image(path, image), path.suffix, note))
    if not embeds_note(path.suffix):
        atomic_write_bytes(note_path(path), note_text(note).encode("utf-8"))
    return path


def encode_image(path: Path, image: np.ndarray) -> bytes:
    """PNG/JPEG/TIFF/WebP/BMP bytes of uint8 RGB or RGBA ``image`` (OpenCV encoder chosen by suffix)."""
    import cv2

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BadInputError(f"expected uint8 (H, W, 3|4), got {image.dtype} {image.shape}", path)
    order = [2, 1, 0, 3] if image.shape[2] == 4 else [2, 1, 0]
    ok, encoded = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(image[..., order]))
    if not ok:
        raise UsageError(f"{path}: cannot encode images of type '{path.suffix}'")
    return encoded.tobytes()


def _write_exr(path: Path, image: np.ndarray, colour: str = "linear") -> None:
    """uint8 sRGB RGB(A) -> half-float EXR in ``colour`` (default scene-linear; alpha kept linear), tagged."""
    from ..media.colour import convert_colour
    from ..media.exr import write_exr

    write_exr(path, convert_colour(image, "srgb", colour), colour=colour)


class SignedVideoWriter:
    """``nodes.media.io.VideoWriter`` into a hidden temporary file; ``close()`` signs it onto the final name."""

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, marker: Marker):
        from ..media.io import VideoWriter

        self.path, self.marker = Path(path), marker
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix}",
                                    dir=self.path.parent)
        os.close(fd)
        self._unsigned = Path(name)
        try:
            self._writer = VideoWriter(self._unsigned, fps, width, height)
        except BaseException:
            self._unsigned.unlink(missing_ok=True)
            raise

    @property
    def frames(self) -> int:
        return self._writer.frames

    def write(self, rgb: np.ndarray) -> None:
        """Append one (already watermarked) uint8 RGB frame."""
        self._writer.write(rgb)

    def close(self) -> None:
        """Finish the video, sign it into a temporary name, rename that onto ``path``."""
        try:
            self._writer.close()
            with open(self._unsigned, "rb") as source, atomic_path(self.path) as tmp, open(tmp, "wb") as dest:
                sidecar = self.marker.signer.sign(source, dest, self.path.suffix, self.path.name,
                                                  {**self.marker.provenance, "frames": self._writer.frames})
                if sidecar is not None:  # pragma: no cover - MP4/MOV embed their manifest
                    atomic_write_bytes(sidecar_path(self.path), sidecar)
        finally:
            self._unsigned.unlink(missing_ok=True)

    def abort(self, exc: BaseException | None = None) -> None:
        """Drop the video: nothing is written under ``path``."""
        with contextlib.suppress(BaseException):
            self._writer.abort(exc)
        self._unsigned.unlink(missing_ok=True)

    def __enter__(self) -> SignedVideoWriter:  # noqa: PYI034 - Python 3.10 has no typing.Self
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self.abort(exc)


def has_provenance(path: str | os.PathLike) -> bool:
    """Cheap check that a written frame carries its manifest: a PNG caBX chunk, a JPEG APP11, or the sidecar."""
    path = Path(path)
    if not embeds(path):
        return sidecar_path(path).is_file()
    try:
        with open(path, "rb") as handle:
            if path.suffix.lower() == ".png":
                return _png_has_chunk(handle, b"caBX")
            data = handle.read(1 << 20)
    except OSError:
        return False
    return b"jumb" in data and b"c2pa" in data


def _png_has_chunk(handle: Any, kind: bytes) -> bool:
    handle.seek(8)
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return False
        if header[4:8] == kind:
            return True
        if header[4:8] in (b"IDAT", b"IEND"):
            return False
        handle.seek(int.from_bytes(header[:4], "big") + 4, os.SEEK_CUR)


def resolve_consent(person: Any = None, consent: Any = None, check: bool = True,
                    where: str | os.PathLike | None = None, today: dt.date | None = None, *,
                    override: str = "", override_hint: str = CLI_OVERRIDE) -> dict:
    """The consent entry for output made from ``person`` and/or under ``consent``.

    Args:
        person: PersonModel or Identity (or the path of their .safetensors): its embedded record.
        consent: ConsentRecord, record dict or CONSENT.json path.
        check: the record must be present, unedited, current on ``today``, (when both are given) the
            person's own and, for a person read from a file, bound to its tensors (``seal.check_binding``);
            BadInputError naming ``where`` otherwise. Without it, what was found is recorded.
        override: the user's reason for making output without a valid record: the check runs, and what it
            found is recorded with the reason instead of refusing (implies ``check=False``).
        override_hint: how this host's user overrides (said in the refusal).

    Returns:
        ``consent_provenance(...)``: {"check", "id", "record", "problems"}.
    """
    if isinstance(person, (str, os.PathLike)):
        person = load_likeness(person)  # its tensors digest checked
    identity = getattr(person, "identity", person)
    embedded, claimed = getattr(identity, "consent", None), getattr(identity, "consent_id", "") or ""
    given: ConsentRecord | None = None
    try:
        given = as_record(consent, where) if consent is not None else None
        if given is not None and embedded is not None and given.id != embedded.get("id"):
            raise BadInputError(f"consent record {given.id} is not the one this likeness was made under "
                                f"({embedded.get('id')})", where)
        record = check_consent(given or embedded, where, "" if given else claimed, today, override_hint)
        if person is not None:
            check_binding(person, record, where)  # a file's record is the one its tensors were sealed with
    except BadInputError as exc:
        if check and not override.strip():
            raise
        found = None
        with contextlib.suppress(BadInputError):
            found = given or as_record(embedded, where)
        return consent_provenance(found, False, [str(exc)], override.strip())
    return consent_provenance(record, True)


def describe_person(person: Any) -> dict:
    """What the manifest says about the model: base model id, source count K, consent id and the digest
    of the weights the output was made with (``seal``; computed for a model made in memory)."""
    identity = getattr(person, "identity", person)
    if identity is None:
        return {}
    out = {"base_model": getattr(identity, "base_model", ""), "k": getattr(identity, "k", 0),
           "consent_id": getattr(identity, "consent_id", "")}
    digest = getattr(person, "tensors_digest", "")
    if not digest and callable(getattr(person, "tensors", None)):
        from ...runtime.weights import tensors_digest

        digest = tensors_digest(person.tensors())
    if digest:
        out["tensors_digest"] = digest
    return out
