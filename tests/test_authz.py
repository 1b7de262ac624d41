"""The authorisation table: every route × every role, with another partner's ids in the URL.

A new route fails `test_table_covers_every_route` until its row is written here. The partner user
belongs to one partner; every `org_id` in a URL names ANOTHER partner, so a partner must be refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for

from tests.authz_rows.helpers import only, row
from tests.conftest import csrf_token, sign_in

# (endpoint, method) -> {role: expected status}. Web pages send signed-in users to 302/200/403,
# anonymous visitors to the login page (302); the API answers anonymous callers 401.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("static", "GET"): row(200, 200),
    ("web.home", "GET"): row(302, 200),
    # Conventions (governance/conventions/views.py, api.py): the legal service writes; the legal service,
    # the auditor, the committee and the DPO read every convention, a partner those its organisation is a
    # party to; the administrator reads none (403). URL_ARGS name no convention and no notice: 404 for
    # those who may look (as absent as another partner's; another partner's EXISTING convention is
    # tested in test_conventions_web.py and test_conventions_api.py).
    ("conventions.index", "GET"): row(302, 200, admin=403),
    ("conventions.export_csv", "GET"): row(302, 200, admin=403),
    ("conventions.create", "GET"): only(302, 200, ("legal",)),
    ("conventions.create", "POST"): only(302, 422, ("legal",)),  # an empty form
    ("conventions.show", "GET"): row(302, 404, admin=403),
    ("conventions.pdf", "GET"): row(302, 404, admin=403),
    ("conventions.scan", "GET"): row(302, 404, admin=403),
    ("conventions.approve", "POST"): only(302, 404, ("legal",)),
    ("conventions.signatures", "POST"): only(302, 404, ("legal",)),
    ("conventions.upload_scan", "POST"): only(302, 404, ("legal",)),
    ("conventions.transmission", "POST"): only(302, 404, ("legal",)),
    ("conventions.amendments", "POST"): only(302, 404, ("legal",)),
    ("conventions.evaluation", "POST"): only(302, 404, ("legal",)),
    ("conventions.notices", "POST"): only(302, 404, ("legal",)),
    ("conventions.answer", "POST"): only(302, 404, ("legal",)),
    ("conventions.termination", "POST"): only(302, 404, ("legal",)),
    ("api.conventions", "GET"): row(401, 200, admin=403),
    ("api.convention", "GET"): row(401, 404, admin=403),
    ("api.convention_transmission", "POST"): only(401, 404, ("legal",)),
    ("api.create_deliberation", "POST"): only(401, 422, ("legal",)),  # {}: fields missing
    # Governance pages (governance/bodies/views.py): the committee edits; the legal service and the auditor
    # read; the DPO and the administrator have no governance role (403). A partner reads, on the few pages
    # open to every signed-in user (Permission.SELF), the decisions and published minutes of the bodies its
    # organisation sits in: the register (scoped; 403 to roles that read no governance record), a decision,
    # a meeting's minutes (404 to anyone who may not read that record). URL_ARGS name no body, meeting,
    # member, document, decision or action: 404 for those who may look; an empty form on an existing record
    # is 422, tested in test_governance_web.py with the partners' reading rights.
    ("governance.index", "GET"): only(302, 200, ("committee", "legal", "auditor")),
    ("governance.bodies", "GET"): only(302, 200, ("committee", "legal", "auditor")),
    ("governance.create_body", "GET"): only(302, 200, ("committee",)),
    ("governance.create_body", "POST"): only(302, 422, ("committee",)),  # an empty form
    ("governance.body", "GET"): only(302, 404, ("committee", "legal", "auditor")),
    ("governance.edit_rules", "GET"): only(302, 404, ("committee",)),
    ("governance.edit_rules", "POST"): only(302, 404, ("committee",)),
    ("governance.add_member", "POST"): only(302, 404, ("committee",)),
    ("governance.end_membership", "POST"): only(302, 404, ("committee",)),
    ("governance.create_meeting", "GET"): only(302, 404, ("committee",)),
    ("governance.create_meeting", "POST"): only(302, 404, ("committee",)),
    ("governance.meeting", "GET"): only(302, 404, ("committee", "legal", "auditor")),
    ("governance.add_agenda_item", "POST"): only(302, 404, ("committee",)),
    ("governance.upload_document", "POST"): only(302, 404, ("committee",)),
    ("governance.document", "GET"): only(302, 404, ("committee", "legal", "auditor")),
    ("governance.send_invitation", "POST"): only(302, 404, ("committee",)),
    ("governance.attendance", "POST"): only(302, 404, ("committee",)),
    ("governance.vote", "POST"): only(302, 404, ("committee",)),
    ("governance.decision", "POST"): only(302, 404, ("committee",)),
    ("governance.create_action", "POST"): only(302, 404, ("committee",)),
    ("governance.action_status", "POST"): only(302, 404, ("committee",)),
    ("governance.circulation", "POST"): only(302, 404, ("committee",)),
    ("governance.save_minutes", "POST"): only(302, 404, ("committee",)),
    ("governance.submit_minutes", "POST"): only(302, 404, ("committee",)),
    ("governance.approve_minutes", "POST"): only(302, 404, ("committee",)),
    ("governance.publish_minutes", "POST"): only(302, 404, ("committee",)),
    ("governance.minutes", "GET"): row(302, 404),
    ("governance.decisions", "GET"): only(302, 200, ("committee", "legal", "auditor", "partner")),
    ("governance.decision_page", "GET"): row(302, 404),
    # Rights requests and the partners' inquiries (compliance/access_requests/views.py, inquiry_views.py).
    # URL_ARGS name no request and no inquiry: 404 for those who may look (as absent as another's; the
    # existing records of another partner are tested in test_access_requests_web.py).
    ("access_requests.index", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("access_requests.create", "GET"): only(302, 200, ("dpo", "partner")),
    ("access_requests.create", "POST"): only(302, 422, ("dpo", "partner")),
    ("access_requests.show", "GET"): only(302, 404, ("dpo", "partner", "auditor")),
    ("access_requests.identity", "POST"): only(302, 404, ("dpo",)),
    ("access_requests.extend", "POST"): only(302, 404, ("dpo",)),
    ("access_requests.open_inquiries", "POST"): only(302, 404, ("dpo",)),
    ("access_requests.answer", "POST"): only(302, 404, ("dpo",)),
    ("inquiries.index", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("inquiries.show", "GET"): only(302, 404, ("dpo", "partner", "auditor")),
    ("inquiries.answer", "POST"): only(302, 404, ("dpo", "partner")),
    ("inquiries.attachment", "GET"): only(302, 404, ("dpo", "partner", "auditor")),
    # Every signed-in user (Permission.SELF); visible_deadlines() scopes the rows (test_dashboard.py).
    ("deadlines.index", "GET"): row(302, 200),
    # Breach pages (compliance/breaches/views.py): the partner (its own), the DPO and the auditor read;
    # the partner and the DPO declare and write the action plan; only the DPO acknowledges, assesses,
    # notifies, informs and closes. URL_ARGS names no breach (999999): as absent as another partner's
    # (404) to those who may reach breaches; every route on another partner's EXISTING breach is tested in
    # test_breaches_web.py. The committee, the legal service and the administrator never reach a breach.
    ("breaches.index", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("breaches.create", "GET"): only(302, 200, ("dpo", "partner")),
    ("breaches.create", "POST"): only(302, 422, ("dpo", "partner")),  # an empty form
    ("breaches.show", "GET"): only(302, 404, ("dpo", "partner", "auditor")),
    ("breaches.edit", "GET"): only(302, 404, ("dpo", "partner")),
    ("breaches.edit", "POST"): only(302, 404, ("dpo", "partner")),
    ("breaches.submit", "POST"): only(302, 404, ("dpo", "partner")),
    ("breaches.acknowledge", "GET"): only(302, 404, ("dpo",)),
    ("breaches.acknowledge", "POST"): only(302, 404, ("dpo",)),
    ("breaches.awareness", "POST"): only(302, 404, ("dpo",)),
    ("breaches.assessment", "POST"): only(302, 404, ("dpo",)),
    ("breaches.notifications", "POST"): only(302, 404, ("dpo",)),
    ("breaches.communication", "POST"): only(302, 404, ("dpo",)),
    ("breaches.actions", "POST"): only(302, 404, ("dpo", "partner")),
    ("breaches.action_status", "POST"): only(302, 404, ("dpo", "partner")),
    ("breaches.close", "POST"): only(302, 404, ("dpo",)),
    ("auth.login", "GET"): row(200, 302),
    ("auth.login", "POST"): row(400, 302),
    ("auth.logout", "POST"): row(302, 302),
    ("auth.language", "POST"): row(302, 302),
    # Accounts (vigie/auth/views.py): the second step of signing in needs a pending sign-in (none here:
    # back to the login page; signed in: home). Links name an unknown token: 404 for everyone.
    ("auth.second_factor", "GET"): row(302, 302),
    ("auth.second_factor", "POST"): row(302, 302),
    ("auth.forgot_password", "GET"): row(200, 200),
    ("auth.forgot_password", "POST"): row(422, 422),  # no address given
    ("auth.forgot_password_sent", "GET"): row(200, 200),
    ("auth.reset_password", "GET"): row(404, 404),
    ("auth.reset_password", "POST"): row(404, 404),
    ("auth.accept_invitation", "GET"): row(404, 404),
    ("auth.accept_invitation", "POST"): row(404, 404),
    ("auth.renew_invitation", "POST"): row(404, 404),
    # One's own account (vigie/auth/account_views.py); token_id names another user's token: 404.
    ("account.profile", "GET"): row(302, 200),
    ("account.change_password", "POST"): row(302, 422),
    ("account.end_sessions", "POST"): row(302, 302),
    ("account.create_token", "POST"): row(302, 200),  # the token, shown once
    ("account.revoke_token", "POST"): row(302, 404),
    ("account.two_factor", "GET"): row(302, 200),
    ("account.two_factor_start", "POST"): row(302, 302),
    ("account.two_factor_confirm", "POST"): row(302, 422),
    ("account.recovery_codes", "POST"): row(302, 409),  # no second factor yet
    ("account.two_factor_disable", "POST"): row(302, 422),
    # Administration (vigie/admin/views.py): administrators only. user_id, token_id: another partner's.
    ("admin.users", "GET"): only(302, 200, ("admin",)),
    ("admin.create_user", "GET"): only(302, 200, ("admin",)),
    ("admin.create_user", "POST"): only(302, 422, ("admin",)),
    ("admin.user", "GET"): only(302, 200, ("admin",)),
    ("admin.edit_user", "GET"): only(302, 200, ("admin",)),
    ("admin.edit_user", "POST"): only(302, 422, ("admin",)),
    ("admin.deactivate_user", "POST"): only(302, 302, ("admin",)),
    ("admin.activate_user", "POST"): only(302, 302, ("admin",)),
    ("admin.resend_invitation", "POST"): only(302, 302, ("admin",)),
    ("admin.reset_two_factor", "POST"): only(302, 302, ("admin",)),
    ("admin.tokens", "GET"): only(302, 200, ("admin",)),
    ("admin.revoke_token", "POST"): only(302, 302, ("admin",)),
    ("admin.logins", "GET"): only(302, 200, ("admin",)),
    ("orgs.index", "GET"): row(302, 200),
    ("orgs.show", "GET"): row(302, 200, partner=403),
    ("orgs.sheet", "GET"): row(302, 200, partner=403),
    ("orgs.create", "GET"): only(302, 200, ("admin",)),
    ("orgs.create", "POST"): only(302, 422, ("admin",)),
    ("orgs.edit", "GET"): only(302, 200, ("admin",)),
    ("orgs.edit", "POST"): only(302, 422, ("admin",)),
    ("orgs.deactivate", "POST"): only(302, 302, ("admin",)),
    ("orgs.activate", "POST"): only(302, 302, ("admin",)),
    ("orgs.add_contact", "GET"): only(302, 200, ("admin",)),
    ("orgs.add_contact", "POST"): only(302, 422, ("admin",)),
    ("orgs.edit_contact", "GET"): only(302, 200, ("admin",)),  # person_id: a contact of that partner
    ("orgs.edit_contact", "POST"): only(302, 422, ("admin",)),
    ("orgs.delete_contact", "POST"): only(302, 302, ("admin",)),
    ("audit.index", "GET"): only(302, 200, ("admin", "dpo", "auditor")),
    ("api.openapi", "GET"): row(200, 200),
    ("api.me", "GET"): row(401, 200),
    ("api.organisations", "GET"): row(401, 200),
    ("api.organisation", "GET"): row(401, 200, partner=403),
    # The processor file: compliance roles only; a partner never reaches another partner's file.
    ("api.grant_staff", "POST"): only(401, 422, ("dpo",)),
    ("api.revoke_staff", "POST"): only(401, 422, ("dpo",), refused=403) | {"partner": 404},
    ("api.staff_list", "GET"): only(401, 200, ("dpo", "auditor")),
    ("api.put_dpo", "PUT"): only(401, 422, ("dpo",)),
    ("api.sub_processors", "GET"): only(401, 200, ("dpo", "auditor")),
    ("api.create_organisation", "POST"): only(401, 422, ("admin",)),
    # Governance API and exports (governance/bodies/api.py, exports.py): the committee writes ({}: 422, or
    # 404 for a meeting that does not exist); the committee, the legal service and the auditor read; the DPO
    # and the administrator have no governance role (403). A partner reads only the decisions of its bodies
    # whose minutes are published (the list: 200, scoped; a decision it may not read: 404) and those
    # minutes' PDF (404 otherwise; its published ones are tested in test_governance_exports.py). URL_ARGS
    # name no body, meeting or decision: 404 for those who may look.
    ("api.bodies", "GET"): only(401, 200, ("committee", "legal", "auditor")),
    ("api.body", "GET"): only(401, 404, ("committee", "legal", "auditor")),
    ("api.create_body", "POST"): only(401, 422, ("committee",)),
    ("api.meetings", "GET"): only(401, 200, ("committee", "legal", "auditor")),
    ("api.meeting", "GET"): only(401, 404, ("committee", "legal", "auditor")),
    ("api.create_meeting", "POST"): only(401, 422, ("committee",)),
    ("api.set_attendance", "PUT"): only(401, 404, ("committee",)),
    ("api.create_vote", "POST"): only(401, 404, ("committee",)),
    ("api.create_decision", "POST"): only(401, 404, ("committee",)),
    ("api.decisions", "GET"): only(401, 200, ("partner", "committee", "legal", "auditor")),
    ("api.decision", "GET"): only(401, 404, ("partner", "committee", "legal", "auditor")),
    ("api.action_items", "GET"): only(401, 200, ("committee", "legal", "auditor")),
    ("governance_exports.minutes_pdf", "GET"): only(302, 404, ("partner", "committee", "legal", "auditor")),
    ("governance_exports.meeting_ics", "GET"): only(302, 404, ("committee", "legal", "auditor")),
    # Requests from data subjects (compliance/access_requests/api.py, exports.py): the DPO and the auditor
    # read every one, a partner those it recorded and its own inquiries; the DPO and a partner record
    # ({}: 422); only the DPO asks, extends and answers; only a partner answers an inquiry (the DPO's 403
    # on a real inquiry, and another partner's 404, are in test_access_requests_api.py). URL_ARGS name no
    # request and no inquiry: 404 for those who may look. The letter is the DPO's: a partner gets 403.
    ("api.create_access_request", "POST"): only(401, 422, ("dpo", "partner")),
    ("api.access_requests", "GET"): only(401, 200, ("dpo", "partner", "auditor")),
    ("api.access_request", "GET"): only(401, 404, ("dpo", "partner", "auditor")),
    ("api.open_inquiry", "POST"): only(401, 404, ("dpo",)),
    ("api.extend_access_request", "POST"): only(401, 404, ("dpo",)),
    ("api.answer_access_request", "POST"): only(401, 404, ("dpo",)),
    ("api.inquiries", "GET"): only(401, 200, ("dpo", "partner", "auditor")),
    ("api.inquiry", "GET"): only(401, 404, ("dpo", "partner", "auditor")),
    ("api.answer_inquiry", "POST"): only(401, 404, ("dpo", "partner")),
    ("request_exports.requests_csv", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("request_exports.letter_pdf", "GET"): only(302, 404, ("dpo", "auditor")),
    # Breaches (compliance/breaches/api.py, exports.py): the partner (its own), the DPO and the auditor
    # read; the partner and the DPO declare; only the DPO acknowledges, assesses and notifies. URL_ARGS
    # names no breach: as absent as another partner's (404) to those who may reach breaches at all.
    ("api.breaches", "GET"): only(401, 200, ("dpo", "partner", "auditor")),
    ("api.breach", "GET"): only(401, 404, ("dpo", "partner", "auditor")),
    ("api.create_breach", "POST"): only(401, 422, ("dpo", "partner")),  # {}: organisation_id missing
    ("api.submit_breach", "POST"): only(401, 404, ("dpo", "partner")),
    ("api.acknowledge_breach", "POST"): only(401, 404, ("dpo",)),
    ("api.assess_breach", "POST"): only(401, 404, ("dpo",)),
    ("api.add_breach_notification", "POST"): only(401, 404, ("dpo",)),
    ("breach_exports.register_csv", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("breach_exports.register_pdf", "GET"): only(302, 200, ("dpo", "partner", "auditor")),
    ("breach_exports.dossier_pdf", "GET"): only(302, 404, ("dpo", "partner", "auditor")),
    ("api.deadlines", "GET"): row(401, 200),
    ("api.deadline", "GET"): row(401, 404),  # URL_ARGS names no deadline: as absent as another's
    ("feeds.calendar", "GET"): row(404, 404),  # the token is the credential: an unknown one is a 404
    ("feeds.settings", "GET"): row(302, 200),
    ("feeds.create_token", "POST"): row(302, 200),
    ("feeds.revoke_token", "POST"): row(302, 302),
    ("feeds.csv", "GET"): row(302, 200),
}

URL_ARGS = {
    "convention_id": 999999,
    "deliberation_id": 999999,
    "notice_id": 999999,
    "request_id": 999999,
    "inquiry_id": 999999,
    "deadline_id": 999999,
    "token": "vcal_not-a-token",
    "filename": "vigie.css",
    "breach_id": 999999,
    "action_id": 999999,
    "body_id": 999999,
    "meeting_id": 999999,
    "decision_id": 999999,
    "member_id": 999999,
    "document_id": 999999,
    # Records of the other partner, made for each case: (factory, other partner) -> id.
    "user_id": lambda factory, other: factory.user("partner", org=other).id,
    "token_id": lambda factory, other: _token_id(factory.user("partner", org=other)),
    "person_id": lambda factory, other: _person_id(other),
    "grant_id": lambda factory, other: _grant_id(other),
}


def _merge_feature_rows() -> None:
    """Features keep their rows in tests/authz_rows/<feature>.py (ROWS, URL_ARGS): merged here, and a
    route or URL argument declared twice is an error, not a silent override."""
    import importlib
    import pkgutil

    from tests import authz_rows

    for info in pkgutil.iter_modules(authz_rows.__path__):
        module = importlib.import_module(f"tests.authz_rows.{info.name}")
        rows: dict[tuple[str, str], dict[str, int]] = getattr(module, "ROWS", {})
        args: dict[str, Any] = getattr(module, "URL_ARGS", {})
        twice = (set(rows) & set(EXPECTED)) | (set(args) & set(URL_ARGS))
        assert not twice, f"{info.name} declares again: {sorted(map(str, twice))}"
        EXPECTED.update(rows)
        URL_ARGS.update(args)


_merge_feature_rows()


def _grant_id(org: Any) -> int:
    from datetime import date

    from compliance.processor.models import StaffGrant
    from vigie.database import utcnow
    from vigie.extensions import db

    grant = StaffGrant(
        organisation_id=org.id,
        name="Agent",
        granted_on=date(2025, 1, 6),
        granted_by="test",
        recorded_at=utcnow(),
    )
    db.session.add(grant)
    db.session.commit()
    return grant.id


def _token_id(user: Any) -> int:
    from vigie.auth.services import create_api_token
    from vigie.extensions import db

    token, _plaintext = create_api_token(user, "script")
    db.session.commit()
    return token.id


def _person_id(org: Any) -> int:
    from vigie.extensions import db
    from vigie.orgs.services import add_person

    person = add_person(org, "Responsable de la médiathèque", is_digital_referent=True)
    db.session.commit()
    return person.id


def _arg(name: str, factory: Any, other: Any) -> Any:
    value = other.id if name == "org_id" else URL_ARGS[name]
    return value(factory, other) if callable(value) else value


def test_table_covers_every_route(app: Flask) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert routes == set(EXPECTED), (
        f"missing rows: {sorted(routes - set(EXPECTED))}; stale rows: {sorted(set(EXPECTED) - routes)}"
    )


def _cases() -> list[Any]:
    return [
        pytest.param(endpoint, method, role, status, id=f"{endpoint}-{method}-{role}")
        for (endpoint, method), statuses in sorted(EXPECTED.items())
        for role, status in statuses.items()
    ]


@pytest.mark.parametrize(("endpoint", "method", "role", "expected"), _cases())
def test_route_authorisation(
    app: Flask, factory: Any, endpoint: str, method: str, role: str, expected: int
) -> None:
    own = factory.org("partner")
    other = factory.org("partner")
    client = app.test_client()
    headers: dict[str, str] = {}
    if role != "anon":
        org = own if role == "partner" else factory.org("controller")
        user = factory.user(role, org=org)
        if endpoint.startswith("api."):
            headers["Authorization"] = f"Bearer {factory.token(user)}"
        else:
            sign_in(client, user)
    rule = next(r for r in app.url_map.iter_rules(endpoint=endpoint))
    args = {name: _arg(name, factory, other) for name in rule.arguments}
    with app.test_request_context():
        url = url_for(endpoint, **args)
    if method == "GET":
        response = client.get(url, headers=headers)
    elif endpoint.startswith("api."):
        response = client.open(url, method=method, json={}, headers=headers)
    else:
        token = csrf_token(app, client)
        response = client.open(url, method=method, data={"csrf_token": token}, headers=headers)
    response.close()  # static files are streamed: close them
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
