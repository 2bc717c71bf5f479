"""Consent records: canonical digest and id, edits detected, expiry, embedding in Identity, the consent command."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from talkinghead.nodes.provenance.consent import (
    ConsentRecord,
    attach_consent,
    canonical_json,
    check_consent,
    new_record,
)
from talkinghead.nodes.types import Identity
from talkinghead.plugin.cli import main
from talkinghead.runtime.errors import BadInputError, UsageError


def record(**kw) -> ConsentRecord:
    args = {"subject": "Ada Example", "kind": "licensed", "scope": "sh010 digital double",
            "granted_by": "Ada Example (performer agreement PA-7)", "granted": "2026-01-01", "expires": "2026-12-31"}
    return ConsentRecord(**{**args, **kw})


def test_digest_is_sha256_of_canonical_json_and_id_derives_from_it():
    import hashlib

    rec = record()
    content = rec.content()
    assert canonical_json(content) == json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    assert rec.digest == "sha256:" + hashlib.sha256(canonical_json(content)).hexdigest()
    assert rec.id == "c-" + rec.digest[7:23]
    assert record().id == rec.id and record(scope="another shot").id != rec.id  # content-addressed


def test_save_load_roundtrip_and_edit_is_detected(tmp_path):
    path = tmp_path / "ada.consent.json"
    record().save(path)
    assert ConsentRecord.load(path) == record()
    data = json.loads(path.read_text())
    data["expires"] = "2099-12-31"  # someone extends it by hand
    path.write_text(json.dumps(data))
    with pytest.raises(BadInputError, match="ada.consent.json.*edited"):
        ConsentRecord.load(path)
    with pytest.raises(BadInputError, match="no such consent record file"):
        ConsentRecord.load(tmp_path / "missing.json")


def test_check_expiry_start_and_missing():
    rec = record()
    assert check_consent(rec.to_dict(), "p.safetensors", rec.id, dt.date(2026, 6, 1)) == rec
    with pytest.raises(BadInputError, match=r"p.safetensors: consent c-\w+ for 'Ada Example' expired on 2026-12-31"):
        check_consent(rec, "p.safetensors", today=dt.date(2027, 1, 1))
    with pytest.raises(BadInputError, match="starts on 2026-01-01"):
        check_consent(rec, "p.safetensors", today=dt.date(2025, 12, 31))
    with pytest.raises(BadInputError, match="p.safetensors: no consent record"):
        check_consent(None, "p.safetensors")
    with pytest.raises(BadInputError, match="does not match the embedded record"):
        check_consent(rec, "p.safetensors", expected_id="c-0000000000000000", today=dt.date(2026, 6, 1))


def test_bad_fields_are_usage_errors():
    with pytest.raises(UsageError, match="kind"):
        record(kind="friend said ok")
    with pytest.raises(UsageError, match="before it is granted"):
        record(expires="2025-01-01")
    with pytest.raises(UsageError, match="subject"):
        record(subject=" ")
    assert new_record("A", "self", "s", "A").granted == dt.date.today().isoformat()


def test_identity_carries_the_record(tmp_path):
    identity = Identity(np.zeros(8, np.float32), 1, ["0" * 64], np.zeros((1, 68, 2), np.float32),
                        np.array([[10, 10]]), "base")
    marked = attach_consent(identity, record())
    marked.save(tmp_path / "id.safetensors")
    back = Identity.load(tmp_path / "id.safetensors")
    assert back.consent_id == record().id and ConsentRecord.from_dict(back.consent) == record()


def test_consent_command_new_show_check(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["consent", "new", "--subject", "Ada", "--kind", "self", "--scope", "tests", "--granted-by", "Ada",
                 "--granted", "2026-01-01", "--expires", "2026-02-01", "--out", str(out)]) == 0
    rec = ConsentRecord.load(out)
    assert rec.id in capsys.readouterr().out
    assert main(["consent", "show", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["digest"] == rec.digest
    assert main(["consent", "check", str(out), "--date", "2026-01-15"]) == 0
    assert main(["consent", "check", str(out), "--date", "2026-03-01"]) == 3
    assert "expired on 2026-02-01" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # argparse rejects an unknown kind
        main(["consent", "new", "--subject", "Ada", "--kind", "nope", "--scope", "s", "--granted-by", "A",
              "--out", str(out)])
    assert exit_info.value.code == 2
    assert main(["consent", "new", "--subject", "Ada", "--kind", "self", "--scope", "s", "--granted-by", "A",
                 "--granted", "2026-02-01", "--expires", "2026-01-01", "--out", str(out)]) == 2
