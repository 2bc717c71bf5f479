"""pyblish validator: fail a publish whose likeness has no valid consent record (provenance, issue 9).

Applies to instances with a family starting with "talkinghead" or with a "person" or "consent" key.
Instance keys it reads (set by the collector):
  instance.data["person"]       PersonModel / Identity .safetensors path, or the loaded object: its embedded
                                consent record is checked (``"personPath"`` is read too, as the extractor sets it).
  instance.data["consent"]      CONSENT.json path, a record dict, or a ConsentRecord: checked; when "person"
                                is also set, it must be the record the person was made under.
  instance.data["consentDate"]  optional ISO date (YYYY-MM-DD) to check against instead of today.
It sets instance.data["consentRecord"] to the checked record (a dict) for extractors and integrators.
pyblish executes this file as a bare module, hence the absolute ``talkinghead.`` imports.
"""
from __future__ import annotations

import datetime as dt
from typing import ClassVar

import pyblish.api


def applies(instance) -> bool:
    """Is ``instance`` a talkinghead publish (family talkinghead*, or a "person" / "consent" key)?"""
    families = [instance.data.get("family", "")] + list(instance.data.get("families", []))
    return any(str(f).startswith("talkinghead") for f in families) or any(
        key in instance.data for key in ("person", "personPath", "consent"))


class ValidateTalkingheadConsent(pyblish.api.InstancePlugin):
    """The likeness being published has a current, unedited consent record (the one it was made under)."""

    order = pyblish.api.ValidatorOrder
    label = "talkinghead: valid consent for the likeness"
    families: ClassVar[list[str]] = ["*"]

    def process(self, instance) -> None:
        if not applies(instance):
            return
        from talkinghead.nodes.provenance.mark import resolve_consent
        from talkinghead.runtime.errors import TalkingheadError

        data = instance.data
        consent, person = data.get("consent"), data.get("person", data.get("personPath"))
        where = next((v for v in (consent, person) if isinstance(v, str) or hasattr(v, "__fspath__")), instance.name)
        try:
            today = dt.date.fromisoformat(str(data["consentDate"])) if data.get("consentDate") else None
            entry = resolve_consent(person, consent, True, where, today)
        except (TalkingheadError, ValueError) as exc:
            raise AssertionError(f"{instance.name}: no valid consent for this likeness: {exc}") from exc
        data["consentRecord"] = entry["record"]
        self.log.info("consent %s for %r holds", entry["id"], entry["record"]["subject"])
