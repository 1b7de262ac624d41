"""The JSON API skeleton: bearer tokens, the error format, OpenAPI, organisations."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import sign_in
from vigie.extensions import db
from vigie.orgs.models import Organisation


@pytest.fixture
def api(app: Flask, factory: Any) -> Any:
    def client_for(user: Any) -> Any:
        token = factory.token(user)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return client_for


def _assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return dict(error)


def test_me(api: Any, factory: Any) -> None:
    user = factory.user("dpo", "auditor")
    body = api(user).get("/api/v1/me").json
    assert body["id"] == user.id
    assert body["email"] == user.email
    assert body["roles"] == ["auditor", "dpo"]
    assert body["organisation"]["id"] == user.organisation_id


@pytest.mark.parametrize("header", [None, "Bearer vigie_not-a-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_missing_or_bad_token_is_401(app: Flask, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = app.test_client().get("/api/v1/me", headers=headers)
    _assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_browser_session_does_not_drive_the_api(app: Flask, factory: Any) -> None:
    client = app.test_client()
    sign_in(client, factory.user("admin"))
    assert client.get("/").status_code == 200
    _assert_error(client.get("/api/v1/me"), 401)
    response = client.post("/api/v1/organisations", json={"name": "X", "kind": "partner"})
    _assert_error(response, 401)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1


def test_create_organisation(api: Any, factory: Any) -> None:
    client = api(factory.user("admin"))
    response = client.post(
        "/api/v1/organisations", json={"name": "Commune de Manosque", "kind": "partner", "siren": "240400440"}
    )
    assert response.status_code == 201
    body = response.json
    assert body["id"] and body["siren"] == "240400440" and body["kind"] == "partner"
    again = client.post(
        "/api/v1/organisations", json={"name": "Bis", "kind": "partner", "siren": "240400440"}
    )
    assert _assert_error(again, 409, "conflict")["fields"] == {
        "siren": again.json["error"]["fields"]["siren"]
    }


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "X", "kind": "partner", "siren": "123456789"}, 422, "siren"),
        ({"name": "X", "kind": "commune"}, 422, "kind"),
        ({"kind": "partner"}, 422, "name"),
        ({"name": "X", "kind": "partner", "unknown": 1}, 422, "unknown"),
    ],
)
def test_create_organisation_refuses_bad_input(
    api: Any, factory: Any, body: dict[str, Any], status: int, field: str
) -> None:
    admin = factory.user("admin")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))
    error = _assert_error(api(admin).post("/api/v1/organisations", json=body), status)
    assert field in error["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == before


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_malformed_json_is_400(api: Any, factory: Any, raw: bytes) -> None:
    client = api(factory.user("admin"))
    response = client.post("/api/v1/organisations", data=raw, content_type="application/json")
    _assert_error(response, 400, "malformed_body")


def test_a_partner_lists_only_its_own_organisation(api: Any, factory: Any) -> None:
    partner = factory.user("partner")
    factory.org("partner")
    factory.org("controller")
    body = api(partner).get("/api/v1/organisations").json
    assert [o["id"] for o in body] == [partner.organisation_id]
    dpo_view = api(factory.user("dpo")).get("/api/v1/organisations").json
    assert len(dpo_view) == 4  # every organisation, the DPO's own included


def test_unknown_api_path_is_a_json_404(api: Any, factory: Any) -> None:
    _assert_error(api(factory.user("dpo")).get("/api/v1/nothing-here"), 404, "not_found")
    _assert_error(api(factory.user("dpo")).get("/api/v1/organisations/999999"), 404, "not_found")


def test_openapi_documents_every_api_route(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.replace("<int:", "{").replace(">", "}")
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, f"{method} {path} missing from openapi.json"
    create = doc["paths"]["/api/v1/organisations"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.split("/")[-1] in doc["components"]["schemas"]


def test_a_token_records_when_it_was_last_used(app: Flask, factory: Any) -> None:
    from datetime import timedelta

    from vigie.auth.models import ApiToken
    from vigie.database import utcnow

    user = factory.user("dpo", org=factory.org("controller"))
    headers = {"Authorization": f"Bearer {factory.token(user)}"}
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token is not None and token.last_used_at is None

    before = utcnow()
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    db.session.expire_all()
    first = token.last_used_at
    assert first is not None and before <= first <= utcnow()

    # Within the minute, no second write; a minute later, the time moves on.
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    db.session.expire_all()
    assert token.last_used_at == first
    token.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    db.session.expire_all()
    assert token.last_used_at > first
