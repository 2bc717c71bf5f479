"""What ``talkinghead verify`` reports for a file: its C2PA manifest and its frames' watermark; for a
PersonModel / Identity file, its seal (tensors digest and consent binding, ``seal.inspect``)."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...runtime.errors import BadInputError
from .manifest import read_manifest
from .unsigned import read_note
from .watermark import decode_watermark


def watermark_report(path: str | os.PathLike, max_frames: int | None = None) -> dict[str, Any]:
    """Decode the watermark on every frame of a video or image (EXR read as sRGB).

    Returns:
        {"frames": n, "decoded": frames whose payload matches the most common one, "fraction": decoded / n,
         "payload": that payload as 6 hex digits or "", "other_payloads": {hex: count},
         "error": why the pixels could not (all) be read, or ""}.
    """
    from ..media.io import iter_frames

    counts: Counter[int] = Counter()
    total, error = 0, ""
    try:
        for _, frame in iter_frames(path):
            found = decode_watermark(frame)
            total += 1
            if found is not None:
                counts[found] += 1
            if max_frames and total >= max_frames:
                break
    except BadInputError as exc:  # undecodable pixels (e.g. a damaged file): report, do not stop the manifest check
        error = str(exc)
    if not counts:
        return {"frames": total, "decoded": 0, "fraction": 0.0, "payload": "", "other_payloads": {}, "error": error}
    (payload, decoded), *others = counts.most_common()
    return {"frames": total, "decoded": decoded, "fraction": decoded / max(total, 1), "payload": f"{payload:06x}",
            "other_payloads": {f"{p:06x}": n for p, n in others}, "error": error}


def verify_file(path: str | os.PathLike, trust_pem: str = "", max_frames: int | None = None) -> dict[str, Any]:
    """Manifest + watermark report of ``path``; "ok" is True when a mark is found and nothing is tampered.

    A ``.safetensors`` PersonModel / Identity gets ``seal.inspect``'s report instead ("ok": its tensors
    match their digest and its consent record holds and is bound to them).
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError("no such file", path)
    if path.suffix.lower() == ".safetensors":
        from .seal import inspect

        return inspect(path)
    manifest = read_manifest(path, trust_pem)
    note = read_note(path) if manifest.state == "absent" else None
    watermark = watermark_report(path, max_frames)
    expected = manifest.provenance.get("watermark", {}).get("payload", "")
    consistent = not expected or not watermark["payload"] or expected == watermark["payload"]
    ok = manifest.state not in ("tampered", "invalid") and (manifest.ok or watermark["decoded"] > 0) and consistent
    if note is not None:  # an unsigned output's note: its payload should match the pixels' too
        expected = note.get("watermark", {}).get("payload", "")
        consistent = not expected or not watermark["payload"] or expected == watermark["payload"]
    return {"file": str(path), "ok": ok and consistent, "manifest": asdict(manifest), "watermark": watermark,
            "watermark_matches_manifest": consistent, "unsigned_note": note}


def describe(report: dict[str, Any]) -> str:
    """One human-readable paragraph for a ``verify_file`` report."""
    if "kind" in report:
        from .seal import describe as describe_seal

        return describe_seal(report)
    m, w = report["manifest"], report["watermark"]
    lines = [f"{report['file']}:"]
    note = report.get("unsigned_note")
    if m["state"] == "absent" and note:
        consent = note.get("consent", {})
        lines.append(f"  C2PA manifest: absent; UNSIGNED talkinghead output ({note.get('reason', 'no reason given')})")
        lines.append(f"  consent: {consent.get('id') or 'none'} ({consent.get('check', '?')})"
                     + "".join(f"; {p}" for p in consent.get("problems", [])))
    elif m["state"] == "absent":
        lines.append("  C2PA manifest: absent")
    else:
        who = m["signer"].get("common_name") or "?"
        state = {"trusted": "valid, signer trusted", "valid": "valid (signature and hashes match; signer not in "
                 "the trust list: pass --trust CA.pem)", "tampered": "TAMPERED (content or manifest changed after signing)",
                 "invalid": "INVALID"}[m["state"]]
        lines.append(f"  C2PA manifest ({m['where']}): {state}; signed by {who}")
        if m["digital_source_type"]:
            lines.append(f"  digital source type: {m['digital_source_type'].rsplit('/', 1)[-1]}")
        consent = m["provenance"].get("consent", {})
        if consent:
            lines.append(f"  consent: {consent.get('id') or 'none'} ({consent.get('check', '?')})"
                         + "".join(f"; {p}" for p in consent.get("problems", [])))
        lines += [f"  failure: {f}" for f in m["failures"] if m["state"] in ("tampered", "invalid")]
    if w["decoded"]:
        lines.append(f"  watermark: decoded on {w['decoded']}/{w['frames']} frame(s) ({100 * w['fraction']:.1f}%), "
                     f"payload {w['payload']} ("
                     + ("no consent id)" if w["payload"] == "000000" else f"consent id prefix c-{w['payload']})"))
    else:
        lines.append(f"  watermark: not found on any of {w['frames']} frame(s)")
    if w.get("error"):
        lines.append(f"  pixels unreadable: {w['error']}")
    if not report["watermark_matches_manifest"]:
        lines.append("  WARNING: the watermark payload differs from the manifest's")
    return "\n".join(lines)
