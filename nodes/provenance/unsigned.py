"""The provenance note of an UNSIGNED output: written when no signing credentials are configured, so a file
without a C2PA manifest still says, in its own metadata, that it is AI-generated, which consent it was made
under (or the recorded override) and why it is unsigned.

Where the note goes (JSON, the same ``provenance`` dict a manifest's talkinghead assertion holds, plus
``"c2pa": "unsigned"``):
- PNG: an ``iTXt`` chunk ``talkinghead-provenance`` right after ``IHDR`` (where ComfyUI puts its workflow);
- JPEG: a ``COM`` segment right after ``SOI``;
- MP4 / MOV: the container's ``comment`` tag (``media.io.VideoWriter(metadata=...)``);
- other formats (EXR, TIFF, WebP, BMP): a ``<name>.provenance.json`` sidecar.

The note is not a signature: anyone can edit it. ``talkinghead verify`` reports it as "unsigned".
"""
from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

KEYWORD = b"talkinghead-provenance"
UNSIGNED = "unsigned"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")


def note_text(provenance: dict) -> str:
    """The note as compact JSON (keys sorted)."""
    return json.dumps(provenance, sort_keys=True, separators=(",", ":"), default=str)


def note_path(path: str | os.PathLike) -> Path:
    """``shot.1001.exr`` -> ``shot.1001.provenance.json`` (formats without an embedded note)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.provenance.json")


def embeds_note(suffix: str) -> bool:
    """True when the note goes inside files of this type (PNG, JPEG, MP4/MOV)."""
    return suffix.lower() in (".png", ".jpg", ".jpeg", *VIDEO_SUFFIXES)


def add_note(data: bytes, suffix: str, provenance: dict) -> bytes:
    """``data`` (an encoded PNG or JPEG) with the note inserted; other types are returned unchanged."""
    text = note_text(provenance).encode("utf-8")
    suffix = suffix.lower()
    if suffix == ".png":
        if not data.startswith(PNG_SIGNATURE):
            raise ValueError("not a PNG stream")
        body = KEYWORD + b"\x00\x00\x00\x00\x00" + text  # keyword, no compression, no language/translation
        chunk = struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))
        ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4
        return data[:ihdr_end] + chunk + data[ihdr_end:]
    if suffix in (".jpg", ".jpeg"):
        comment = KEYWORD + b"=" + text
        if len(comment) > 65533:
            raise ValueError("provenance note too long for a JPEG comment")
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]
    return data


def read_note(path: str | os.PathLike) -> dict[str, Any] | None:
    """The note of ``path`` (embedded, or its ``.provenance.json`` sidecar), or None."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".png":
            return _png_note(path)
        if suffix in (".jpg", ".jpeg"):
            return _jpeg_note(path)
        if suffix in VIDEO_SUFFIXES:
            return _video_note(path)
        sidecar = note_path(path)
        return json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None
    except (OSError, ValueError):
        return None


def _png_note(path: Path) -> dict | None:
    with open(path, "rb") as handle:
        if handle.read(8) != PNG_SIGNATURE:
            return None
        while header := handle.read(8):
            if len(header) < 8:
                return None
            length, kind = struct.unpack(">I", header[:4])[0], header[4:8]
            if kind in (b"IDAT", b"IEND"):
                return None
            body = handle.read(length)
            handle.seek(4, os.SEEK_CUR)
            if kind == b"iTXt" and body.startswith(KEYWORD + b"\x00"):
                text = body[len(KEYWORD) + 3:].split(b"\x00", 2)[-1]  # after flag, method, language, translation
                return json.loads(text.decode("utf-8"))
    return None


def _jpeg_note(path: Path) -> dict | None:
    data = path.read_bytes()[:1 << 20]
    marker = b"\xff\xfe"
    at = data.find(marker, 2)
    while at != -1:
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        body = data[at + 4:at + 2 + length]
        if body.startswith(KEYWORD + b"="):
            return json.loads(body[len(KEYWORD) + 1:].decode("utf-8"))
        at = data.find(marker, at + 2)
    return None


def _video_note(path: Path) -> dict | None:
    import av

    with av.open(str(path)) as container:
        text = container.metadata.get("comment", "")
    return json.loads(text) if text.startswith("{") and UNSIGNED in text else None
