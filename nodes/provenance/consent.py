"""Consent records for a likeness: who may be animated, for what, granted by whom, until when.

A record is a small JSON file. Its ``digest`` is sha256 over a canonical JSON form of the record's
content fields (sorted keys, no whitespace, UTF-8), and its ``id`` is ``c-`` + the first 16 hex digits of
that digest, so an edited record no longer matches its id. Identity and PersonModel embed the whole
record (``Identity.consent``), so a render can check it without the original file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ...runtime.atomic import atomic_write_text
from ...runtime.errors import BadInputError, UsageError

CONSENT_FORMAT = "talkinghead.consent/1"
KINDS = ("self", "licensed", "public-domain-artwork", "research")
CONTENT_FIELDS = ("format", "subject", "kind", "scope", "granted_by", "granted", "expires", "notes")


def canonical_json(content: dict) -> bytes:
    """The canonical bytes the digest is computed over: sorted keys, compact separators, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_date(value: str | None, name: str, where: str | os.PathLike | None) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise BadInputError(f"consent {name} {value!r} is not a date (YYYY-MM-DD)", where) from exc


@dataclass(frozen=True)
class ConsentRecord:
    """One consent for one subject's likeness.

    Attributes:
        subject: whose likeness (a person's name, or the artwork's title).
        kind: "self" (the subject consents for themself), "licensed" (a written licence / performer agreement),
            "public-domain-artwork" (no living subject: a public-domain photo or artwork), "research".
        scope: what the consent covers (project, uses, media), free text.
        granted_by: who granted it (the subject, their agent, the rights holder, the licence).
        granted: ISO date the consent starts.
        expires: ISO date after which it no longer holds ("" = no expiry).
        notes: free text (agreement reference, ...).
    """

    subject: str
    kind: str
    scope: str
    granted_by: str
    granted: str
    expires: str = ""
    notes: str = ""
    format: str = field(default=CONSENT_FORMAT)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"consent kind {self.kind!r} is not one of {', '.join(KINDS)}")
        for name in ("subject", "scope", "granted_by"):
            if not str(getattr(self, name)).strip():
                raise UsageError(f"consent {name.replace('_', ' ')} must not be empty")
        granted = _parse_date(self.granted, "grant date", None)
        expires = _parse_date(self.expires, "expiry date", None)
        if granted is None:
            raise UsageError("consent grant date must be set")
        if expires is not None and expires < granted:
            raise UsageError(f"consent expires ({self.expires}) before it is granted ({self.granted})")

    def content(self) -> dict:
        """The fields the digest covers."""
        return {k: v for k, v in asdict(self).items() if k in CONTENT_FIELDS}

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of ``content()``."""
        return "sha256:" + hashlib.sha256(canonical_json(self.content())).hexdigest()

    @property
    def id(self) -> str:
        """``c-`` + the first 16 hex digits of the digest."""
        return "c-" + self.digest.split(":", 1)[1][:16]

    def to_dict(self) -> dict:
        """The record as written to disk and embedded in metadata (content + id + digest)."""
        return {**self.content(), "id": self.id, "digest": self.digest}

    @classmethod
    def from_dict(cls, data: dict, where: str | os.PathLike | None = None) -> ConsentRecord:
        """Rebuild a record and check its digest and id (BadInputError naming ``where`` when they differ)."""
        if not isinstance(data, dict) or data.get("format") != CONSENT_FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise BadInputError(f"not a talkinghead consent record (format {got!r})", where)
        try:
            record = cls(**{k: ("" if data.get(k) is None else data[k]) for k in CONTENT_FIELDS if k in data})
        except (TypeError, UsageError) as exc:
            raise BadInputError(f"invalid consent record ({exc})", where) from exc
        if data.get("digest") != record.digest or data.get("id") != record.id:
            raise BadInputError(f"consent record {data.get('id')!r} does not match its digest: it was edited "
                                f"after it was made (recomputed {record.id})", where)
        return record

    @classmethod
    def load(cls, path: str | os.PathLike) -> ConsentRecord:
        """Read and check a CONSENT.json."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BadInputError("no such consent record file", path) from exc
        except (OSError, ValueError) as exc:
            raise BadInputError(f"cannot read consent record ({exc})", path) from exc
        return cls.from_dict(data, path)

    def save(self, path: str | os.PathLike) -> None:
        """Write the record as indented JSON, atomically."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")

    def problems(self, today: dt.date | None = None) -> list[str]:
        """Why the record does not hold on ``today`` (default: the local date); [] when it does."""
        today = today or dt.date.today()
        granted = _parse_date(self.granted, "grant date", None)
        expires = _parse_date(self.expires, "expiry date", None)
        found = []
        if granted is not None and today < granted:
            found.append(f"consent {self.id} for {self.subject!r} starts on {self.granted}")
        if expires is not None and today > expires:
            found.append(f"consent {self.id} for {self.subject!r} expired on {self.expires}")
        return found


def new_record(subject: str, kind: str, scope: str, granted_by: str, granted: str | None = None,
               expires: str | None = None, notes: str = "") -> ConsentRecord:
    """A new record; ``granted`` defaults to today."""
    return ConsentRecord(subject=subject, kind=kind, scope=scope, granted_by=granted_by,
                         granted=granted or dt.date.today().isoformat(), expires=expires or "", notes=notes)


def as_record(value: ConsentRecord | dict | str | os.PathLike | None,
              where: str | os.PathLike | None = None) -> ConsentRecord | None:
    """A record from a record, its dict (checked), a CONSENT.json path, or None."""
    if value is None or isinstance(value, ConsentRecord):
        return value
    if isinstance(value, dict):
        return ConsentRecord.from_dict(value, where)
    return ConsentRecord.load(value)


CLI_OVERRIDE = "pass --no-consent-check (recorded in the output's provenance)"


def check_consent(record: ConsentRecord | dict | None, where: str | os.PathLike | None,
                  expected_id: str = "", today: dt.date | None = None,
                  override_hint: str = CLI_OVERRIDE) -> ConsentRecord:
    """The checked record, or BadInputError naming ``where`` (missing, edited, another id, expired, not yet valid).

    Args:
        record: the record embedded in an Identity/PersonModel (or given directly).
        where: the file named in the error (the PersonModel, the consent file).
        expected_id: the consent id the file claims (Identity.consent_id); "" = no claim to compare.
        today: the date to check against (default: the local date).
        override_hint: how the user of this host overrides the check (said in the error).
    """
    hint = ("make one with 'talkinghead consent new' and embed/fine-tune with --consent CONSENT.json, "
            f"or {override_hint}")
    if record is None:
        claimed = f" (it names consent id {expected_id!r} but carries no record)" if expected_id else ""
        raise BadInputError(f"no consent record for this likeness{claimed}; {hint}", where)
    record = as_record(record, where)
    if expected_id and record.id != expected_id:
        raise BadInputError(f"consent id {expected_id!r} does not match the embedded record {record.id}", where)
    found = record.problems(today)
    if found:
        raise BadInputError("; ".join(found) + f"; renew the consent or {override_hint}", where)
    return record


def attach_consent(identity, record: ConsentRecord | None):
    """A copy of ``identity`` (nodes.types.Identity) carrying ``record`` (id + the embedded record)."""
    from dataclasses import replace

    if record is None:
        return identity
    # a new record makes a new, unsaved Identity: the seal of a file it was read from no longer applies
    return replace(identity, consent_id=record.id, consent=record.to_dict(), path="", tensors_digest="",
                   consent_binding="")


def consent_for_model(path: str | os.PathLike | None) -> ConsentRecord | None:
    """The checked record to embed in a new Identity/PersonModel (``--consent``); None (and a warning) without one.

    Raises:
        BadInputError: the file is missing, edited, expired or not yet valid (naming it).
    """
    if not path:
        import logging

        logging.getLogger(__name__).warning(
            "no --consent record: 'talkinghead render' will refuse this model unless --no-consent-check is given")
        return None
    return check_consent(ConsentRecord.load(path), path)


def read_embedded(path: str | os.PathLike) -> tuple[dict | None, str]:
    """(embedded record dict or None, claimed consent id) of a PersonModel or Identity .safetensors file."""
    from ...runtime.weights import load_safetensors

    _, meta = load_safetensors(path)
    identity = meta.get("identity", meta)
    if "consent_id" not in identity:
        raise BadInputError("not a talkinghead PersonModel or Identity", path)
    return identity.get("consent"), identity.get("consent_id", "")
