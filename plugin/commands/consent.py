"""Create and inspect consent records for a likeness (provenance).

  talkinghead consent new --subject NAME --kind self|licensed|public-domain-artwork|research
                          --scope TEXT --granted-by WHO [--granted DATE] [--expires DATE] --out CONSENT.json
  talkinghead consent show CONSENT.json|PERSON.safetensors|IDENTITY.safetensors
  talkinghead consent check CONSENT.json|PERSON.safetensors [--date DATE]   (exit 3 when it does not hold)
  talkinghead consent seal PERSON.safetensors|IDENTITY.safetensors   (a file saved by an older talkinghead)

The record's id (c-...) derives from a sha256 digest over its canonical JSON, so an edited record no
longer checks. embed and finetune take --consent CONSENT.json, embed the record and seal the file: a digest
of its tensors, bound to the record, so `check` also finds weights that were changed, damaged or swapped
after saving (and a file saved without a seal, until `seal` adds one).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from ...runtime.errors import UsageError
from ...runtime.preflight import check_output_file

EXAMPLE = """\
  talkinghead consent new --subject "Jane Doe" --kind self --scope "shot 010" --granted-by "Jane Doe" \\
      --out jane.consent.json
  talkinghead consent check jane.person.safetensors
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ...nodes.provenance.consent import KINDS

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = sub.add_parser("new", help="write a new consent record")
    new.add_argument("--subject", required=True, help="whose likeness (or the artwork's title)")
    new.add_argument("--kind", required=True, choices=KINDS)
    new.add_argument("--scope", required=True, help="what the consent covers (project, uses, media)")
    new.add_argument("--granted-by", required=True, help="who granted it (subject, agent, rights holder, licence)")
    new.add_argument("--granted", default=None, help="start date YYYY-MM-DD (default today)")
    new.add_argument("--expires", default=None, help="expiry date YYYY-MM-DD (default none)")
    new.add_argument("--notes", default="", help="agreement reference or other notes")
    new.add_argument("--out", required=True, help="CONSENT.json")
    for name, text in (("show", "print a record (a CONSENT.json, or the one a model carries)"),
                       ("check", "exit 0 when the record holds today (or --date), 3 otherwise")):
        p = sub.add_parser(name, help=text)
        p.add_argument("file", help="CONSENT.json, PERSON.safetensors or IDENTITY.safetensors")
        p.add_argument("--date", default=None, help="check against this date instead of today")
    seal = sub.add_parser("seal", help="add the tensor digest and its consent binding to a model file saved "
                                       "by an older talkinghead")
    seal.add_argument("file", help="PERSON.safetensors or IDENTITY.safetensors")


def load_any(path: str | Path):
    """(record or None, claimed id) from a CONSENT.json or a PersonModel / Identity file (not checked)."""
    from ...nodes.provenance.consent import ConsentRecord, read_embedded

    path = Path(path)
    if path.suffix != ".safetensors":
        return ConsentRecord.load(path), ""
    record, claimed = read_embedded(path)
    return (ConsentRecord.from_dict(record, path) if record else None), claimed


def check_file(path: str | Path, today: dt.date | None):
    """The record of a CONSENT.json or a model file, checked: unedited, current on ``today`` and, for a
    model file, bound to the file's tensors, whose digest is checked too (BadInputError otherwise)."""
    from ...nodes.provenance.consent import check_consent
    from ...nodes.provenance.seal import check_binding, load_likeness

    if Path(path).suffix != ".safetensors":
        record, _ = load_any(path)
        return check_consent(record, path, "", today)
    item = load_likeness(path)
    identity = getattr(item, "identity", item)
    record = check_consent(identity.consent, path, identity.consent_id, today)
    check_binding(item, record, path)
    return record


def run(args: argparse.Namespace) -> int:
    from ...nodes.provenance.consent import new_record

    if args.action == "new":
        if Path(args.out).suffix.lower() != ".json":
            raise UsageError(f"--out {args.out}: a consent record is a .json file")
        check_output_file(args.out, "--out")
        record = new_record(args.subject, args.kind, args.scope, args.granted_by, args.granted, args.expires,
                            args.notes)
        record.save(args.out)
        print(f"{args.out}: consent {record.id} ({record.kind}) for {record.subject!r}"
              + (f", expires {record.expires}" if record.expires else ", no expiry"))
        return 0
    if args.action == "seal":
        from ...nodes.provenance.seal import seal_file

        if Path(args.file).suffix != ".safetensors":
            raise UsageError(f"{args.file}: only PersonModel / Identity .safetensors files are sealed")
        print(f"{args.file}: {seal_file(args.file)}")
        return 0
    if args.action == "show":
        record, claimed = load_any(args.file)
        print(json.dumps(record.to_dict() if record else {"consent_id": claimed, "record": None}, indent=2,
                         ensure_ascii=False))
        return 0
    today = dt.date.fromisoformat(args.date) if args.date else None
    record = check_file(args.file, today)
    bound = " (bound to the file's weights)" if Path(args.file).suffix == ".safetensors" else ""
    print(f"{args.file}: consent {record.id} for {record.subject!r} holds"
          + (f" until {record.expires}" if record.expires else "") + bound)
    return 0
