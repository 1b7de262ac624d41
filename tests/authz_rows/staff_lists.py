"""Staff lists (compliance/staff_lists/views.py): the DPO asks for a partner's list and withdraws a
request; a partner certifies its own current list (the page names no organisation: its own); the DPO and
the auditor read every partner's lists, a partner its own. org_id names ANOTHER partner: a partner gets 403
on its pages; the request and the snapshot in the URL are the other partner's (made for each case), so a
partner gets 404 on a snapshot (as absent as a missing one). The administrator, the committee and the legal
service reach no staff list (403)."""

from __future__ import annotations

from typing import Any

from tests.authz_rows.helpers import only

_READERS = ("dpo", "auditor")

ROWS = {
    ("staff_lists.index", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("staff_lists.ask", "GET"): only(302, 200, ("dpo",)),
    ("staff_lists.ask", "POST"): only(302, 422, ("dpo",)),  # an empty form: no due date
    ("staff_lists.cancel", "POST"): only(302, 422, ("dpo",)),  # no reason given
    ("staff_lists.history", "GET"): only(302, 200, _READERS),
    ("staff_lists.changes", "GET"): only(302, 200, _READERS),
    ("staff_lists.certify", "GET"): only(302, 200, ("partner",)),
    ("staff_lists.certify", "POST"): only(302, 422, ("partner",)),  # the box is not ticked
    ("staff_lists.snapshot", "GET"): only(302, 200, _READERS) | {"partner": 404},
    ("staff_lists.snapshot_pdf", "GET"): only(302, 200, _READERS) | {"partner": 404},
    ("staff_lists.snapshot_csv", "GET"): only(302, 200, _READERS) | {"partner": 404},
}


def _staff_request_id(factory: Any, other: Any) -> int:
    """A pending request of the other partner, asked by a DPO."""
    from compliance.staff_lists.services import request_staff_list
    from vigie.extensions import db

    staff_request = request_staff_list(factory.user("dpo"), other)
    db.session.commit()
    return staff_request.id


def _staff_snapshot_id(factory: Any, other: Any) -> int:
    """A list the other partner certified (with one authorised person)."""
    from datetime import date

    from compliance.processor.services import GrantData, grant_staff
    from compliance.staff_lists.services import certify_staff_list
    from vigie.extensions import db

    user = factory.user("partner", org=other)
    grant_staff(user, other, GrantData(name="Agent de l'autre partenaire", granted_on=date(2025, 1, 6)))
    snapshot = certify_staff_list(user, other, confirmed=True)
    db.session.commit()
    return snapshot.id


URL_ARGS = {
    "staff_request_id": _staff_request_id,
    "staff_snapshot_id": _staff_snapshot_id,
}
