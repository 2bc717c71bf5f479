"""Seals of Identity and PersonModel files: a digest of their tensors, bound to their consent record.

At save, the file's metadata gets ``tensors_digest`` (``runtime.weights.tensors_digest``: sha256 over every
tensor's name, dtype, shape and bytes) and, when a consent record is embedded, ``consent_binding``: sha256
over the record's digest and the tensors digest. At load the tensors digest is recomputed: a file whose
weights changed after saving (damaged, or edited) is refused, naming it. A consent check (render's,
``talkinghead consent check``, ``talkinghead verify``, the pyblish validator) also recomputes the binding,
so weights swapped under a valid consent record, or a record swapped onto other weights, are found even
when the tensors digest was rewritten to match. This is integrity, not authorship: anyone able to write
the file can reseal it; the C2PA manifests of the renders (signed) record the digest of the weights used.

Files saved before seals existed carry neither: they load with a warning, and a consent check refuses
them until ``talkinghead consent seal FILE`` adds the seal (after checking the embedded record).
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from ...runtime.errors import BadInputError

DIGEST_KEY = "tensors_digest"
BINDING_KEY = "consent_binding"
SEAL_HINT = "add one with 'talkinghead consent seal {path}' (it checks the embedded consent record first)"


def consent_binding(consent_digest: str, tensors_digest: str) -> str:
    """``sha256:<hex>`` over a consent record's digest and a tensors digest: binds the one to the other."""
    return "sha256:" + hashlib.sha256(f"{consent_digest}\n{tensors_digest}".encode()).hexdigest()


def seal_metadata(tensors: dict, meta: dict, consent: dict | None) -> dict:
    """``meta`` plus the tensors digest and, with a consent record (its dict), the binding to it."""
    from ...runtime.weights import tensors_digest

    digest = tensors_digest(tensors)
    sealed = {**meta, DIGEST_KEY: digest}
    if consent:
        sealed[BINDING_KEY] = consent_binding(str(consent.get("digest", "")), digest)
    return sealed


def check_digest(tensors: dict, meta: dict, where: str | os.PathLike) -> str:
    """The stored tensors digest after checking it against ``tensors`` ("" for an unsealed file, with a warning).

    Raises:
        BadInputError: naming ``where`` when the tensors changed after the file was saved.
    """
    from ...runtime.weights import tensors_digest

    stored = str(meta.get(DIGEST_KEY) or "")
    if not stored:
        logging.getLogger(__name__).warning(
            "%s: saved without a tensor digest (by an older talkinghead): damaged or swapped weights cannot be "
            "detected, and a consent check refuses it; %s", where, SEAL_HINT.format(path=where))
        return ""
    if tensors_digest(tensors) != stored:
        raise BadInputError("the tensors do not match the digest written when the file was saved: its weights "
                            "were changed or damaged after saving; use the original file", where)
    return stored


def check_binding(sealed: Any, record: Any, where: str | os.PathLike | None) -> None:
    """For an Identity/PersonModel read from a file: its consent ``record`` is the one its tensors were sealed with.

    Objects made in memory (``path`` "") have nothing to check.

    Raises:
        BadInputError: the file has no seal, or the binding does not match (record or weights swapped).
    """
    path = getattr(sealed, "path", "")
    if not path:
        return
    where = where or path
    if not getattr(sealed, "tensors_digest", ""):
        raise BadInputError("saved without a tensor digest, so its consent record is not bound to its weights; "
                            + SEAL_HINT.format(path=path), where)
    if record is None:
        return
    expected = consent_binding(record.digest, sealed.tensors_digest)
    if getattr(sealed, "consent_binding", "") != expected:
        raise BadInputError(f"consent {record.id} is not bound to these weights (the binding of record and tensors "
                            "does not match): the weights or the record were swapped after saving", where)


def inspect(path: str | os.PathLike) -> dict[str, Any]:
    """What ``talkinghead verify`` reports for an Identity/PersonModel file, without raising on a bad seal.

    Returns:
        {"file", "kind" ("PersonModel" | "Identity"), "tensors": "match" | "MISMATCH" | "absent",
         "consent": {"id", "problems"}, "ok"}.
    """
    from ...runtime.weights import load_safetensors, tensors_digest
    from ..types import IDENTITY_FORMAT, PERSON_FORMAT
    from .consent import as_record, check_consent

    path = Path(path)
    tensors, meta = load_safetensors(path)
    kinds = {PERSON_FORMAT: "PersonModel", IDENTITY_FORMAT: "Identity"}
    if meta.get("format") not in kinds:
        raise BadInputError(f"not a talkinghead PersonModel or Identity (format {meta.get('format')!r})", path)
    stored = str(meta.get(DIGEST_KEY) or "")
    state = "absent" if not stored else "match" if tensors_digest(tensors) == stored else "MISMATCH"
    identity = meta.get("identity", meta)
    problems, record_id = [], identity.get("consent_id", "")
    try:
        record = check_consent(as_record(identity.get("consent"), path), path, record_id)
        record_id = record.id
        if state == "absent":
            problems.append("no tensor digest: the consent record is not bound to the weights; "
                            + SEAL_HINT.format(path=path))
        elif meta.get(BINDING_KEY) != consent_binding(record.digest, stored):
            problems.append(f"consent {record.id} is not bound to these weights (record or weights swapped)")
    except BadInputError as exc:
        problems.append(str(exc))
    return {"file": str(path), "kind": kinds[meta["format"]], "tensors": state, "tensors_digest": stored,
            "consent": {"id": record_id, "problems": problems}, "ok": state == "match" and not problems}


def describe(report: dict[str, Any]) -> str:
    """One human-readable paragraph for an ``inspect`` report."""
    tensors = {"match": f"match their digest ({report['tensors_digest'][:23]}...)",
               "MISMATCH": "DO NOT MATCH the digest written at save (changed or damaged after saving)",
               "absent": "carry no digest (saved by an older talkinghead)"}[report["tensors"]]
    lines = [f"{report['file']}: {report['kind']}", f"  tensors: {tensors}"]
    consent = report["consent"]
    if consent["problems"]:
        lines += [f"  consent: {p}" for p in consent["problems"]]
    elif report["tensors"] == "match":
        lines.append(f"  consent: {consent['id']} holds and is bound to these weights")
    else:
        lines.append(f"  consent: {consent['id']} holds, but the weights it was bound to have changed")
    return "\n".join(lines)


def load_likeness(path: str | os.PathLike) -> Any:
    """The PersonModel or Identity in ``path`` (by its format), its digest checked (``check_digest``)."""
    from ...runtime.weights import read_safetensors_metadata
    from ..types import IDENTITY_FORMAT, Identity, PersonModel

    cls = Identity if read_safetensors_metadata(path).get("format") == IDENTITY_FORMAT else PersonModel
    return cls.load(path)


def seal_file(path: str | os.PathLike) -> str:
    """Add the seal to a file saved before seals existed (after checking its embedded consent record is
    unedited); returns "sealed" or "already sealed". A sealed file whose tensors changed is refused."""
    from .consent import as_record

    path = Path(path)
    log = logging.getLogger(__name__)
    quiet, log.disabled = log.disabled, True  # no "add a seal" warning while adding it
    try:
        item = load_likeness(path)  # BadInputError: not a likeness file, or a sealed one whose tensors changed
    finally:
        log.disabled = quiet
    if item.tensors_digest:
        return "already sealed"
    identity = getattr(item, "identity", item)
    as_record(identity.consent, path)  # an edited record is not sealed in
    item.save(path)
    return "sealed"
