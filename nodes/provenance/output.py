"""Marking an output, decided once for every host: the CLI's render, pyblish, graphs (``WriteFrames``) and
ComfyUI's save node all make their ``Marker`` here and write through it.

The policy:
- every frame is watermarked (the consent id's prefix as payload, or 0);
- every file is C2PA-signed when signing credentials are given or configured ($TALKINGHEAD_SIGN_CERT /
  $TALKINGHEAD_SIGN_KEY); otherwise it carries a provenance note flagged "unsigned" (``unsigned.py``),
  unless the host requires a signature (the CLI's render does: it refuses instead);
- a likeness without a valid consent record is refused, unless the user gives an override: a reason,
  recorded in every output's provenance (manifest or note) with what the check found.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ...runtime.errors import BadInputError, UsageError
from .certs import ENV_CERT, ENV_KEY, SigningCredentials
from .consent import CLI_OVERRIDE
from .mark import Marker, describe_person, resolve_consent
from .seal import load_likeness

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")


def signing_credentials(cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None,
                        flags: str = "--sign-cert/--sign-key") -> SigningCredentials | None:
    """Credentials from ``cert`` + ``key`` (both or neither), else the environment, else None."""
    if bool(cert) != bool(key):
        raise UsageError(f"{flags}: the certificate and its key go together")
    return SigningCredentials.load(cert, key) if cert else SigningCredentials.from_env()


def output_marker(person: Any = None, *, consent: Any = None, credentials: SigningCredentials | None = None,
                  override: str = "", require_signature: bool = False, where: str | os.PathLike | None = None,
                  override_hint: str = CLI_OVERRIDE, person_file: str = "") -> Marker:
    """The Marker of an output made from ``person`` (PersonModel / Identity / their file) under ``consent``.

    Args:
        person: its embedded consent record is checked (and its binding to the weights of a file).
        consent: a ConsentRecord, its dict or a CONSENT.json path (instead of, or matching, the person's).
        credentials: signing credentials (default: ``signing_credentials()`` from the environment).
        override: the user's reason for output without a valid consent record ("" = refuse).
        require_signature: refuse (UsageError) instead of writing unsigned output.
        where: the output (or input) named in errors.
        override_hint: how this host's user overrides the consent check (said in the refusal).
        person_file: the person file's name, for the manifest.

    Raises:
        BadInputError: no / expired / edited / unbound consent and no override.
        UsageError: no credentials while ``require_signature``.
    """
    if isinstance(person, (str, os.PathLike)):
        person_file = person_file or Path(person).name
        person = load_likeness(person)  # its tensors digest checked
    credentials = credentials or signing_credentials()
    if credentials is None and require_signature:
        raise UsageError(f"no signing certificate for the C2PA manifests: pass --sign-cert/--sign-key or set "
                         f"{ENV_CERT}/{ENV_KEY} (a studio certificate; for tests, a local test CA from "
                         "'talkinghead verify --make-test-ca DIR')")
    checked = resolve_consent(person, consent, True, where, override=override, override_hint=override_hint)
    described = describe_person(person)
    return Marker.create(credentials, checked, {**described, "file": person_file} if person_file else described)


def mark_frames(marker: Marker, path: str | os.PathLike, frames: list[np.ndarray], fps: float = 25.0,
                frame_numbers: Any = None) -> list[Path]:
    """Write uint8 RGB(A) ``frames`` through ``marker`` (watermarked unless they already carry its payload):
    one video (``.mp4``/``.mov``), a ``####`` / ``%04d`` / ``@`` sequence, or one image file."""
    from ..media.io import expand_pattern, is_pattern

    path = Path(path)
    marked = [marker.ensure_watermark(f) for f in frames]
    if path.suffix.lower() in VIDEO_SUFFIXES:
        h, w = marked[0].shape[:2]
        with marker.video_writer(path, fps or 25.0, w + w % 2, h + h % 2) as writer:
            for image in marked:
                writer.write(np.pad(image[..., :3], ((0, h % 2), (0, w % 2), (0, 0)), mode="edge"))
        return [path]
    if is_pattern(path):
        numbers = list(range(len(marked))) if frame_numbers is None else [int(n) for n in frame_numbers]
        return [marker.write_image(expand_pattern(path, n), image, n) for n, image in zip(numbers, marked)]
    if len(marked) != 1:
        raise UsageError(f"{path}: {len(marked)} frames need a #### pattern or a video file")
    return [marker.write_image(path, marked[0])]


def mark_output(path: str | os.PathLike, images: Any, *, person: Any = None, consent: Any = None,
                credentials: SigningCredentials | None = None, override: str = "",
                require_signature: bool = False, fps: float = 25.0, frame_numbers: Any = None) -> list[Path]:
    """Watermark, write and sign (or flag "unsigned") ``images`` at ``path``: the one call for host save nodes.

    Args:
        path: ``out.mp4`` / ``.mov`` (one video of all frames), ``name.####.png|jpg|exr`` (a sequence),
            or a single image file (then ``images`` must hold one frame).
        images: (N, H, W, 3|4) or (H, W, 3|4), uint8 or float in [0, 1] (numpy or torch; ComfyUI IMAGE).
        person, consent, credentials, override, require_signature: as ``output_marker``.
        fps: video frame rate.
        frame_numbers: numbers for a sequence pattern (default 0..N-1).

    Returns:
        The paths written.
    """
    frames = as_uint8_frames(images, path)
    marker = output_marker(person, consent=consent, credentials=credentials, override=override,
                           require_signature=require_signature, where=path)
    return mark_frames(marker, path, frames, fps, frame_numbers)


def as_uint8_frames(images: Any, where: str | os.PathLike) -> list[np.ndarray]:
    """(N, H, W, 3|4) frames (uint8, or float in [0, 1]; numpy or torch) as a list of uint8 arrays."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (3, 4) or len(array) == 0:
        raise BadInputError(f"expected (N, H, W, 3|4) frames, got shape {array.shape}", where)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(np.nan_to_num(array.astype(np.float32)) * 255.0), 0, 255).astype(np.uint8)
    return [np.ascontiguousarray(f) for f in array]
