"""ComfyUI's talkinghead save node: frames leave the graph marked like the CLI's render (one policy,
``nodes.provenance.output``): watermarked; C2PA-signed when credentials are configured (the node's
sign_cert / sign_key, else $TALKINGHEAD_SIGN_CERT / $TALKINGHEAD_SIGN_KEY), otherwise flagged "unsigned" in
each file's own metadata; refused when the person's consent record does not hold, unless consent_override
gives a reason, which every output records."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import host
from .spec import PERSON, NodeResult, NodeSpec, Port

FORMATS = ("png", "mp4", "png+mp4")
OVERRIDE_HINT = "set the Save node's consent_override to your reason (it is recorded in every output)"


def next_stem(folder: Path, prefix: str) -> Path:
    """``folder/<prefix>_00001`` with the first counter no file of the save uses yet (``<stem>.*``)."""
    stem = Path(prefix)
    target = folder / stem.parent
    counter = 1
    while target.is_dir() and any(target.glob(f"{stem.name}_{counter:05d}.*")):
        counter += 1
    return target / f"{stem.name}_{counter:05d}"


def ui_entry(path: Path, root: Path) -> dict[str, str]:
    """ComfyUI's description of a saved file (what the front end shows and comfy-run lists)."""
    rel = path.relative_to(root)
    return {"filename": rel.name, "subfolder": "" if str(rel.parent) == "." else rel.parent.as_posix(),
            "type": "output"}


def save_frames(images: Any, filename_prefix: str = "talkinghead/frames", format: str = "png+mp4",
                fps: float = 25.0, first_frame: int = 0, person: Any = None, consent_override: str = "",
                sign_cert: str = "", sign_key: str = "") -> NodeResult:
    """IMAGE frames -> ``<prefix>_<n>.####.png`` and/or ``<prefix>_<n>.mp4`` under ComfyUI's output folder."""
    from ...nodes.provenance.output import as_uint8_frames, mark_frames, output_marker, signing_credentials
    from ...runtime.errors import UsageError

    if format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    root = host.output_dir()
    stem = next_stem(root, filename_prefix)
    credentials = signing_credentials(sign_cert.strip() or None, sign_key.strip() or None, "sign_cert/sign_key")
    frames = as_uint8_frames(images, stem)
    marker = output_marker(person, credentials=credentials, override=consent_override, where=stem,
                           override_hint=OVERRIDE_HINT)
    numbers = range(first_frame, first_frame + len(frames))
    frames = [marker.ensure_watermark(f) for f in frames]
    written: list[Path] = []
    if "png" in format:
        written += mark_frames(marker, stem.with_name(f"{stem.name}.####.png"), frames, fps, numbers)
    if "mp4" in format:
        written += mark_frames(marker, stem.with_name(f"{stem.name}.mp4"), frames, fps)
    check = marker.provenance["consent"]["check"]
    if not marker.signed:
        host.log.warning("talkinghead: %s: UNSIGNED (no C2PA signing credentials: set TALKINGHEAD_SIGN_CERT/"
                         "TALKINGHEAD_SIGN_KEY or the node's sign_cert/sign_key); watermarked; consent %s",
                         stem.name, check)
    provenance = {"signed": marker.signed, "consent": check, "watermark": marker.provenance["watermark"]["payload"]}
    entries = [ui_entry(p, root) for p in written]
    return NodeResult((), {"images": entries, "talkinghead_provenance": [provenance]})


def save_ports() -> list[Port]:
    return [Port("images", "IMAGE"), Port("filename_prefix", "STRING", "talkinghead/frames"),
            Port("format", "COMBO", "png+mp4", FORMATS, tooltip="a PNG sequence, an H.264 MP4, or both"),
            Port("fps", "FLOAT", 25.0, min=1.0, max=240.0), Port("first_frame", "INT", 0, min=0,
                                                                   tooltip="number of the first PNG"),
            Port("person", PERSON, optional=True, tooltip="the person the frames show: its consent is checked"),
            Port("consent_override", "STRING", "", tooltip="save without a valid consent record: your reason, "
                 "recorded in every output's provenance (empty: refuse)"),
            Port("sign_cert", "STRING", "", tooltip="C2PA certificate chain PEM (empty: $TALKINGHEAD_SIGN_CERT; "
                 "none: outputs are flagged unsigned)"),
            Port("sign_key", "STRING", "", tooltip="its private key PEM (empty: $TALKINGHEAD_SIGN_KEY)")]


SPECS = (
    NodeSpec("TalkingheadSaveFrames", "Save Frames (talkinghead, signed)",
             "Write frames as a PNG sequence and/or MP4 into ComfyUI's output folder, marked as AI-generated: "
             "watermarked, C2PA-signed when credentials are configured (else flagged unsigned in each file), "
             "refused without the person's valid consent unless overridden with a recorded reason.",
             save_ports, [], save_frames, output_node=True),
)
