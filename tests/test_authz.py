"""The authorisation table: every route × every role, with another partner's ids in the URL.

A new route fails `test_table_covers_every_route` until its row is written here. The partner user
belongs to one partner; every `org_id` in a URL names ANOTHER partner, so a partner must be refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for

from tests.conftest import csrf_token, sign_in

ROLES = ("anon", "admin", "dpo", "partner", "committee", "legal", "auditor")
STAFF = ("admin", "dpo", "committee", "legal", "auditor")


def row(anon: int, default: int, **per_role: int) -> dict[str, int]:
    table = {"anon": anon} | {role: default for role in ROLES[1:]}
    table.update(per_role)
    return table


def only(anon: int, allowed: int, roles: tuple[str, ...], refused: int = 403) -> dict[str, int]:
    return {"anon": anon} | {r: (allowed if r in roles else refused) for r in ROLES[1:]}


# (endpoint, method) -> {role: expected status}. Web pages send signed-in users to 302/200/403,
# anonymous visitors to the login page (302); the API answers anonymous callers 401.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("static", "GET"): row(200, 200),
    ("web.home", "GET"): row(302, 200),
    # Every signed-in user (Permission.SELF); visible_deadlines() scopes the rows (test_dashboard.py).
    ("deadlines.index", "GET"): row(302, 200),
    ("auth.login", "GET"): row(200, 302),
    ("auth.login", "POST"): row(400, 302),
    ("auth.logout", "POST"): row(302, 302),
    ("auth.language", "POST"): row(302, 302),
    ("orgs.index", "GET"): row(302, 200),
    ("orgs.show", "GET"): row(302, 200, partner=403),
    ("orgs.sheet", "GET"): row(302, 200, partner=403),
    ("orgs.create", "GET"): only(302, 200, ("admin",)),
    ("orgs.create", "POST"): only(302, 422, ("admin",)),
    ("audit.index", "GET"): only(302, 200, ("admin", "dpo", "auditor")),
    ("api.openapi", "GET"): row(200, 200),
    ("api.me", "GET"): row(401, 200),
    ("api.organisations", "GET"): row(401, 200),
    ("api.organisation", "GET"): row(401, 200, partner=403),
    # The processor file: compliance roles only; a partner never reaches another partner's file.
    ("api.grant_staff", "POST"): only(401, 422, ("dpo",)),
    ("api.revoke_staff", "POST"): only(401, 404, ("dpo", "partner")),
    ("api.staff_list", "GET"): only(401, 200, ("dpo", "auditor")),
    ("api.put_dpo", "PUT"): only(401, 422, ("dpo",)),
    ("api.sub_processors", "GET"): only(401, 200, ("dpo", "auditor")),
    ("api.create_organisation", "POST"): only(401, 422, ("admin",)),
    ("api.deadlines", "GET"): row(401, 200),
    ("api.deadline", "GET"): row(401, 404),  # URL_ARGS names no deadline: as absent as another's
    ("feeds.calendar", "GET"): row(404, 404),  # the token is the credential: an unknown one is a 404
    ("feeds.settings", "GET"): row(302, 200),
    ("feeds.create_token", "POST"): row(302, 200),
    ("feeds.revoke_token", "POST"): row(302, 302),
    ("feeds.csv", "GET"): row(302, 200),
}

URL_ARGS = {"deadline_id": 999999, "token": "vcal_not-a-token", "filename": "vigie.css", "grant_id": 999999}


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
    args = {name: other.id if name == "org_id" else URL_ARGS[name] for name in rule.arguments}
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
