"""Seals of Identity files: the tensors digest (written at save, checked at load) and its consent binding."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from talkinghead.nodes.provenance.consent import ConsentRecord, attach_consent, new_record
from talkinghead.nodes.provenance.mark import describe_person
from talkinghead.nodes.provenance.seal import check_binding, consent_binding, inspect
from talkinghead.nodes.types import Identity
from talkinghead.runtime.errors import BadInputError
from talkinghead.runtime.weights import tensors_digest


def identity(consent=True) -> Identity:
    item = Identity(np.arange(8, dtype=np.float32), 1, ["0" * 64], np.zeros((1, 68, 2), np.float32),
                    np.array([[64, 64]]), "random-tiny-64-seed0")
    return attach_consent(item, new_record("Ada", "self", "tests", "Ada")) if consent else item


def test_digest_covers_values_dtypes_shapes_and_names():
    t = {"a": torch.arange(6, dtype=torch.float32), "b": torch.ones(2, dtype=torch.bool)}
    d = tensors_digest(t)
    assert d.startswith("sha256:") and d == tensors_digest({"b": t["b"].clone(), "a": t["a"].clone()})
    changed = [{**t, "a": t["a"] + 1e-6}, {**t, "a": t["a"].double()}, {**t, "a": t["a"].reshape(2, 3)},
               {"c": t["a"], "b": t["b"]}]
    assert len({d, *(tensors_digest(x) for x in changed)}) == 5


def test_identity_file_is_sealed_and_bound(tmp_path):
    path = tmp_path / "ada.identity.safetensors"
    item = identity()
    item.save(path)
    loaded = Identity.load(path)
    assert loaded.path == str(path) and loaded.tensors_digest == tensors_digest(item.tensors())
    assert loaded.consent_binding == consent_binding(item.consent["digest"], loaded.tensors_digest)
    check_binding(loaded, ConsentRecord.from_dict(loaded.consent), path)  # the record it was sealed with
    with pytest.raises(BadInputError, match="is not bound to these weights"):
        check_binding(loaded, new_record("Bob", "self", "tests", "Bob"), path)
    assert inspect(path)["ok"] and inspect(path)["tensors"] == "match"
    assert describe_person(loaded)["tensors_digest"] == loaded.tensors_digest
    assert describe_person(item)["tensors_digest"] == loaded.tensors_digest  # computed for one in memory
    renewed = attach_consent(loaded, new_record("Ada", "self", "other tests", "Ada"))
    assert renewed.path == renewed.tensors_digest == ""  # a new record: a new, unsaved Identity


def test_changed_identity_tensor_is_refused_at_load(tmp_path):
    path = tmp_path / "ada.identity.safetensors"
    identity().save(path)
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[:8], "little")
    start, _ = json.loads(data[8:8 + n])["e_hat"]["data_offsets"]
    data[8 + n + start] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(BadInputError, match="ada.identity.safetensors: the tensors do not match the digest"):
        Identity.load(path)
    report = inspect(path)
    assert report["tensors"] == "MISMATCH" and not report["ok"]
