"""The processor-file pages (compliance/processor/views.py): the DPO reads and writes every partner's
file; the auditor reads every file; a partner reads and writes its own only (the index sends it to its
file: 302; another partner's org id: 403 from @requires org_arg); the administrator, the committee and
the legal service never reach a file. The URL names ANOTHER partner with that partner's own grant and
sub-processor: the DPO gets the page (200) or, for an empty form, 422. A partner's own URL with another
partner's record (404) is tested in tests/test_processor_web.py."""

from __future__ import annotations

from typing import Any

from tests.authz_rows.helpers import only

ROWS = {
    ("processor.index", "GET"): only(302, 200, ("dpo", "auditor")) | {"partner": 302},
    ("processor.show", "GET"): only(302, 200, ("dpo", "auditor")),
    ("processor.set_dpo", "POST"): only(302, 422, ("dpo",)),
    ("processor.grant_staff", "POST"): only(302, 422, ("dpo",)),
    ("processor.revoke_staff", "POST"): only(302, 422, ("dpo",)),
    ("processor.add_sub_processor", "POST"): only(302, 422, ("dpo",)),
    ("processor.edit_sub_processor", "GET"): only(302, 200, ("dpo",)),
    ("processor.edit_sub_processor", "POST"): only(302, 422, ("dpo",)),
    ("processor.end_sub_processor", "POST"): only(302, 422, ("dpo",)),
}


def _sub_processor_id(factory: Any, org: Any) -> int:
    from compliance.processor.models import SubProcessor
    from vigie.extensions import db

    sub = SubProcessor(organisation_id=org.id, company="Hébergeur SAS", service="Hébergement du SIGB")
    db.session.add(sub)
    db.session.commit()
    return sub.id


URL_ARGS = {"sub_processor_id": _sub_processor_id}
