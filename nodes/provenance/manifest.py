"""C2PA manifests (c2pa-python, offline): sign rendered files as AI-generated and read them back.

Every manifest says ``c2pa.created`` with digitalSourceType ``trainedAlgorithmicMedia`` and carries a
talkinghead assertion (``org.talkinghead.provenance``: consent record / consent check, person model,
watermark payload, frame). PNG, JPEG, TIFF, WebP and MP4/MOV embed it; other formats (EXR) get a sidecar
manifest ``<name>.c2pa`` next to the file whose data hash covers the whole file. No timestamp authority,
no OCSP or remote-manifest fetching: nothing here touches the network. Thumbnails are not embedded.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ...runtime.errors import BadInputError, UsageError
from .certs import SigningCredentials

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ASSERTION = "org.talkinghead.provenance"
EMBEDDED_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff",
                 ".tiff": "image/tiff", ".webp": "image/webp", ".mp4": "video/mp4", ".m4v": "video/x-m4v",
                 ".mov": "video/quicktime"}
SIDECAR_SUFFIX = ".c2pa"


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - c2pa-python is a dependency of the provenance extra
        raise UsageError("C2PA signing needs c2pa-python (a dependency of talkinghead): pip install 'c2pa-python>=0.38'") from exc
    return c2pa


def context(trust_pem: str = "") -> Any:
    """A c2pa Context with network fetches off, thumbnails off and ``trust_pem`` as trust anchors."""
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
                                "builder": {"thumbnail": {"enabled": False}}}
    if trust_pem:
        settings["trust"] = {"trust_anchors": trust_pem}
    return _c2pa().Context.from_dict(settings)


def sidecar_path(path: str | os.PathLike) -> Path:
    """``shot.1001.exr`` -> ``shot.1001.c2pa`` (C2PA's sidecar convention: same name, .c2pa)."""
    return Path(path).with_suffix(SIDECAR_SUFFIX)


def embeds(path: str | os.PathLike) -> bool:
    """True when the manifest goes inside the file (else a sidecar)."""
    return Path(path).suffix.lower() in EMBEDDED_MIME


def definition(title: str, provenance: dict, version: str) -> dict:
    """The manifest definition: created by talkinghead as trainedAlgorithmicMedia + the talkinghead assertion."""
    return {"claim_generator_info": [{"name": "talkinghead", "version": version}], "title": title,
            "assertions": [
                {"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE,
                     "softwareAgent": {"name": "talkinghead", "version": version},
                     "description": "few-shot neural talking head (Zakharov et al., ICCV 2019)"}]}},
                {"label": ASSERTION, "data": provenance}]}


class ManifestSigner:
    """Signs files with one set of credentials (c2pa Signer and Context made once, reused per file)."""

    def __init__(self, credentials: SigningCredentials):
        c2pa = _c2pa()
        self.credentials = credentials
        try:
            info = c2pa.C2paSignerInfo(credentials.alg.encode(), credentials.cert_chain, credentials.private_key, None)
            self._signer = c2pa.Signer.from_info(info)
        except c2pa.C2paError as exc:
            raise UsageError(f"{credentials.where}: c2pa refuses these signing credentials ({exc})") from exc
        self._context = context()

    def sign(self, source: BinaryIO, dest: BinaryIO, suffix: str, title: str, provenance: dict) -> bytes | None:
        """Sign ``source`` (an asset of type ``suffix``) into ``dest``.

        Embedded formats: ``dest`` receives the asset with its manifest; returns None. Others: ``dest``
        receives the asset unchanged and the sidecar manifest bytes are returned.
        """
        from ... import __version__

        c2pa = _c2pa()
        builder = c2pa.Builder(definition(title, provenance, __version__), self._context)
        mime = EMBEDDED_MIME.get(suffix.lower())
        try:
            if mime is None:
                builder.set_no_embed()
                return bytes(builder.sign(self._signer, "application/octet-stream", source, dest))
            builder.sign(self._signer, mime, source, dest)
            return None
        except c2pa.C2paError as exc:
            raise BadInputError(f"C2PA signing failed ({exc})", title) from exc
        finally:
            builder.close()

    def sign_bytes(self, data: bytes, suffix: str, title: str, provenance: dict) -> tuple[bytes, bytes | None]:
        """(signed asset bytes, sidecar bytes or None) for an in-memory asset."""
        dest = io.BytesIO()
        sidecar = self.sign(io.BytesIO(data), dest, suffix, title, provenance)
        return dest.getvalue(), sidecar


@dataclass
class ManifestReport:
    """What reading a file's C2PA manifest found.

    Attributes:
        state: "trusted" (valid, signer chains to a trust anchor) | "valid" (signature and hashes match,
            signer not in the trust list) | "tampered" (a hash or signature does not match) | "invalid"
            (e.g. an expired or unacceptable certificate) | "absent".
        failures: c2pa failure codes with their explanations.
        where: "embedded" | "sidecar" | "".
        digital_source_type: of the active manifest's c2pa.created action ("" when none).
        provenance: the talkinghead assertion ({} when none).
        signer: issuer and common name of the signing certificate.
    """

    state: str
    failures: list[str] = field(default_factory=list)
    where: str = ""
    digital_source_type: str = ""
    provenance: dict = field(default_factory=dict)
    signer: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state in ("trusted", "valid")


def read_manifest(path: str | os.PathLike, trust_pem: str = "") -> ManifestReport:
    """Read and validate the manifest of ``path`` (embedded, else the ``.c2pa`` sidecar next to it)."""
    c2pa = _c2pa()
    path = Path(path)
    if not path.is_file():
        raise BadInputError("no such file", path)
    sidecar = sidecar_path(path)
    if not embeds(path) and not sidecar.is_file():
        return ManifestReport("absent")
    ctx = context(trust_pem)
    try:
        with open(path, "rb") as stream:
            if embeds(path):
                where = "embedded"
                reader = c2pa.Reader(EMBEDDED_MIME.get(path.suffix.lower(), "application/octet-stream"), stream,
                                     None, ctx)
            else:
                where = "sidecar"
                reader = c2pa.Reader("application/octet-stream", stream, sidecar.read_bytes(), ctx)
            with reader:
                state = reader.get_validation_state() or ""
                results = reader.get_validation_results() or {}
                store = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc) or "not found" in str(exc).lower():
            return ManifestReport("absent")
        return ManifestReport("tampered", [f"unreadable manifest: {exc}"], where="embedded")
    return _report(state, results, store, where)


def _report(state: str, results: dict, store: dict, where: str) -> ManifestReport:
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    failures = [f"{f.get('code')}: {f.get('explanation', '')}"
                for f in (results.get("activeManifest") or {}).get("failure", [])]
    source_type, provenance = "", {}
    for assertion in active.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                if action.get("action") == "c2pa.created":
                    source_type = action.get("digitalSourceType", "")
        elif assertion.get("label") == ASSERTION:
            provenance = assertion.get("data", {})
    info = active.get("signature_info", {})
    signer = {"issuer": info.get("issuer", ""), "common_name": info.get("common_name", "")}
    untrusted_only = all(f.startswith("signingCredential.untrusted") for f in failures)
    altered = any("mismatch" in f or f.startswith(("claimSignature", "assertion.")) for f in failures)
    if state == "Trusted" or (state == "Valid" and not failures):
        verdict = "trusted" if state == "Trusted" else "valid"
    elif state == "Valid" and untrusted_only:
        verdict = "valid"
    else:
        verdict = "tampered" if altered else "invalid"
    return ManifestReport(verdict, failures, where, source_type, provenance, signer)
