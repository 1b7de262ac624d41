"""The record of processing (compliance/records/views.py): the DPO, a partner and the auditor read; the
DPO writes the controller's record and any partner's, a partner its own; the committee, the legal
service and the administrator have no compliance role (403).

`processing_record_id` names ANOTHER partner's record (with versions 1 and 2): the DPO and the auditor
open it, a partner gets 404 (as absent as a missing one), never its content. `org_id` is the other
partner: a partner may not write its record (403). The controller's record, readable by a partner, is
tested in tests/test_records.py."""

from __future__ import annotations

from typing import Any

from tests.authz_rows.helpers import only

READERS = ("dpo", "partner", "auditor")
OTHERS_RECORD = only(302, 200, ("dpo", "auditor"), refused=403) | {"partner": 404}

ROWS = {
    ("records.index", "GET"): only(302, 200, READERS),
    ("records.set_pdf", "GET"): only(302, 200, READERS),
    ("records.set_csv", "GET"): only(302, 200, READERS),
    ("records.create_controller", "GET"): only(302, 200, ("dpo",)),
    ("records.create_controller", "POST"): only(302, 422, ("dpo",)),  # an empty form
    ("records.create_processor", "GET"): only(302, 200, ("dpo",)),
    ("records.create_processor", "POST"): only(302, 422, ("dpo",)),  # an empty form
    ("records.show", "GET"): OTHERS_RECORD,
    ("records.history", "GET"): OTHERS_RECORD,
    ("records.version", "GET"): OTHERS_RECORD,
    ("records.compare", "GET"): OTHERS_RECORD,
    ("records.record_pdf", "GET"): OTHERS_RECORD,
    ("records.record_csv", "GET"): OTHERS_RECORD,
    ("records.edit", "GET"): only(302, 200, ("dpo",), refused=403) | {"partner": 404},
    ("records.edit", "POST"): only(302, 422, ("dpo",), refused=403) | {"partner": 404},  # an empty form
}


def _others_record(factory: Any, other: Any) -> int:
    """A record of the other partner, written by its own user, in two versions."""
    from compliance.records import services
    from compliance.records.models import RecordKind
    from vigie.extensions import db

    author = factory.user("partner", org=other)
    values = {
        "name": "Portail de ressources numériques",
        "processor_name": other.name,
        "processor_contact": "Place de la Mairie",
        "dpo_name": "Délégué secret",
        "dpo_contact": "dpo@autre.example",
        "controller_name": "Département",
        "controller_contact": "Digne-les-Bains",
        "processing_categories": "Inscriptions",
        "security_measures": "Habilitations",
    }
    version = services.create_record(author, other, RecordKind.PROCESSOR, values, "Création")
    services.save_version(
        author, version.record, {**values, "security_measures": "Chiffrement"}, "Mise à jour"
    )
    db.session.commit()
    return version.record_id


URL_ARGS = {
    "processing_record_id": _others_record,
    "record_version": 1,
}
