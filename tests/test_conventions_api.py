"""The convention API's contracts (DESIGN.md): GET /api/v1/conventions[/<id>] with their dates, status and
clocks, filtered and paginated; POST /api/v1/conventions/<id>/transmission (422 with the reason when the
id does not match; a time without offset refused); POST /api/v1/deliberations (201; 422 on inconsistent
figures); who may call what. Also: the SQL status filter agrees with effective_status()."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from governance.conventions import services
from governance.conventions.models import Convention, ConventionStatus, Deliberation
from governance.conventions.serialise import status_clause
from governance.conventions.services import DeliberationData
from vigie.extensions import db
from vigie.orgs.services import create_organisation

REFERENCE_ACK = "004-240400440-20250403-37-2025-DE"


class Api:
    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self.headers)

    def post(self, url: str, body: Any) -> Any:
        return self.client.post(url, json=body, headers=self.headers)


@pytest.fixture
def parties(factory: Any) -> dict[str, Any]:
    controller = create_organisation("Département des Alpes de Haute-Provence", "controller", "220400014")
    partner = create_organisation(
        "Communauté de communes Pays de Forcalquier-Montagne de Lure",
        "partner",
        "240400440",
        "1 place du Bourguet, 04300 Forcalquier",
    )
    db.session.commit()
    return {"controller": controller, "partner": partner}


@pytest.fixture
def api_as(app: Flask, factory: Any, parties: dict[str, Any]) -> Any:
    def make(role: str, org: Any = None) -> Api:
        user = factory.user(
            role, org=org or (parties["partner"] if role == "partner" else parties["controller"])
        )
        user.locale = "en"  # the services' messages as written, whatever the catalog holds
        db.session.commit()
        return Api(app.test_client(), factory.token(user))

    return make


def deliberation_for(partner: Any, **overrides: Any) -> Deliberation:
    values: dict[str, Any] = {
        "organisation_id": partner.id,
        "assembly": "Conseil communautaire",
        "number": "2025-37",
        "adopted_on": date(2025, 4, 3),
        "subject": "Convention de partenariat",
        "members_in_office": 27,
        "members_present": 22,
        "members_represented": 5,
        "votes_for": 27,
        "secretary": "Aurélie ANNEQUIN",
    }
    values.update(overrides)
    return services.create_deliberation(DeliberationData(**values))


def signed(
    parties: dict[str, Any],
    partner: Any = None,
    start: date = date(2025, 1, 1),
    end: date = date(2028, 12, 31),
    number: str = "2025-37",
) -> Convention:
    partner = partner or parties["partner"]
    convention = services.create_convention(
        parties["controller"],
        partner,
        "Convention de partenariat",
        start,
        end,
        articles=[services.ArticleData(n, f"Article {n}", "…") for n in range(1, 13)],
    )
    services.approve_convention(convention, deliberation_for(partner, number=number))
    services.sign_convention(
        convention, date(2025, 4, 10), date(2025, 4, 8), "Eliane BARREILLE", "David GEHANT"
    )
    db.session.commit()
    return convention


# --- POST /conventions/<id>/transmission -------------------------------------------------------------


@pytest.mark.parametrize("received_at", ["2025-04-15", "2025-04-15T10:30:00+02:00", "2025-04-14T23:30:00Z"])
def test_transmission_accepts_a_day_or_a_time_with_offset(
    parties: dict[str, Any], api_as: Any, received_at: str
) -> None:
    convention = signed(parties)
    response = api_as("legal").post(
        f"/api/v1/conventions/{convention.id}/transmission",
        {"acknowledgement_id": REFERENCE_ACK, "received_at": received_at},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == convention.id
    assert body["acknowledgement_id"] == REFERENCE_ACK
    assert body["transmitted_on"] == "2025-04-15"  # 23:30 UTC on the 14th is the 15th in Paris
    assert body["enforceable"] is True
    assert body["status"] == "in_force"
    assert body["evaluation_due_date"] == "2028-10-31"
    assert [(d["kind"], d["due_date"]) for d in body["deadlines"]] == [
        ("convention.evaluation", "2028-10-31")
    ]


@pytest.mark.parametrize(
    ("ack", "reason"),
    [
        ("004-240400441-20250403-37-2025-DE", "The SIREN 240400441 is not the partner's (240400440)."),
        (
            "004-240400440-20250404-37-2025-DE",
            "The act's date 04/04/2025 is not the deliberation's (03/04/2025).",
        ),
        (
            "004-240400440-20250403-38-2025-DE",
            "The act's number 38-2025 is not the deliberation's (2025-37).",
        ),
        ("004-240400440-20250403-37-2025-AR", "The nature code AR is not a deliberation's (DE)."),
        ("005-240400440-20250403-37-2025-DE", "The department 005 is not the partner's (04)."),
    ],
    ids=["siren", "date", "number", "nature", "department"],
)
def test_a_mismatching_acknowledgement_is_a_422_with_the_reason(
    parties: dict[str, Any], api_as: Any, ack: str, reason: str
) -> None:
    convention = signed(parties)
    response = api_as("legal").post(
        f"/api/v1/conventions/{convention.id}/transmission",
        {"acknowledgement_id": ack, "received_at": "2025-04-15"},
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert reason in error["message"]
    assert reason in error["fields"]["acknowledgement_id"]
    db.session.expire_all()
    assert db.session.get(Convention, convention.id).transmitted_on is None  # type: ignore[union-attr]


def test_the_reference_id_is_refused_for_another_partner(parties: dict[str, Any], api_as: Any) -> None:
    sisteron = create_organisation(
        "Commune de Sisteron", "partner", "210402095", "Place de la République, 04200 Sisteron"
    )
    convention = signed(parties, partner=sisteron)
    response = api_as("legal").post(
        f"/api/v1/conventions/{convention.id}/transmission",
        {"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-15"},
    )
    assert response.status_code == 422
    assert "The SIREN 240400440 is not the partner's (210402095)." in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-15T10:30:00"}, "received_at"),
        ({"acknowledgement_id": REFERENCE_ACK, "received_at": "15/04/2025"}, "received_at"),
        ({"acknowledgement_id": REFERENCE_ACK, "received_at": 1744675200}, "received_at"),
        ({"acknowledgement_id": REFERENCE_ACK}, "received_at"),
        ({"received_at": "2025-04-15"}, "acknowledgement_id"),
        ({"acknowledgement_id": "not-an-id", "received_at": "2025-04-15"}, "acknowledgement_id"),
        ({"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-01"}, "received_at"),  # before the act
        ({"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-15", "extra": 1}, "extra"),
    ],
    ids=[
        "no-offset",
        "french-date",
        "number",
        "missing-date",
        "missing-id",
        "malformed",
        "too-early",
        "unknown",
    ],
)
def test_transmission_bodies_are_checked(parties: dict[str, Any], api_as: Any, body: Any, field: str) -> None:
    convention = signed(parties)
    response = api_as("legal").post(f"/api/v1/conventions/{convention.id}/transmission", body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_transmission_twice_or_too_soon_is_a_conflict(parties: dict[str, Any], api_as: Any) -> None:
    legal = api_as("legal")
    draft = services.create_convention(
        parties["controller"], parties["partner"], "Brouillon", date(2025, 1, 1), date(2028, 12, 31)
    )
    db.session.commit()
    body = {"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-15"}
    assert legal.post(f"/api/v1/conventions/{draft.id}/transmission", body).status_code == 409
    convention = signed(parties, number="2025-38")
    body["acknowledgement_id"] = "004-240400440-20250403-38-2025-DE"
    assert legal.post(f"/api/v1/conventions/{convention.id}/transmission", body).status_code == 200
    again = legal.post(f"/api/v1/conventions/{convention.id}/transmission", body)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert legal.post("/api/v1/conventions/999999/transmission", body).status_code == 404


@pytest.mark.parametrize("role", ["auditor", "committee", "dpo", "partner", "admin"])
def test_only_the_legal_service_records_a_transmission(
    parties: dict[str, Any], api_as: Any, role: str
) -> None:
    convention = signed(parties)
    response = api_as(role).post(
        f"/api/v1/conventions/{convention.id}/transmission",
        {"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-15"},
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


# --- POST /deliberations ------------------------------------------------------------------------------


def test_a_deliberation_is_recorded(parties: dict[str, Any], api_as: Any) -> None:
    body = {
        "organisation_id": parties["partner"].id,
        "assembly": "Conseil communautaire",
        "number": "2025-37",
        "adopted_on": "2025-04-03",
        "theme": "SPORT ET CULTURE 5",
        "subject": "Convention de partenariat pour l'accès aux services numériques",
        "members_in_office": 27,
        "members_present": 22,
        "members_represented": 5,
        "votes_for": 27,
        "votes_against": 0,
        "abstentions": 0,
        "secretary": "Aurélie ANNEQUIN",
    }
    legal = api_as("legal")
    response = legal.post("/api/v1/deliberations", body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert isinstance(created["id"], int) and created["votes_cast"] == 27
    assert created["adopted_on"] == "2025-04-03" and created["secretary"] == "Aurélie ANNEQUIN"
    assert db.session.get(Deliberation, created["id"]) is not None
    again = legal.post("/api/v1/deliberations", body)
    assert again.status_code == 409 and "number" in again.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"members_present": 23},
            "members_present",
            "23 present and 5 represented exceed the 27 members in office.",
        ),
        (
            {"votes_for": 25, "votes_against": 2, "abstentions": 1},
            "votes_for",
            "28 votes exceed the 27 members",
        ),
        ({"members_present": -1}, "members_present", ""),
        ({"adopted_on": "03/04/2025"}, "adopted_on", ""),
        ({"organisation_id": 999999}, "organisation_id", "No such organisation."),
    ],
    ids=["present", "votes", "negative", "date", "organisation"],
)
def test_inconsistent_deliberations_are_refused(
    parties: dict[str, Any], api_as: Any, overrides: dict[str, Any], field: str, message: str
) -> None:
    body = {
        "organisation_id": parties["partner"].id,
        "assembly": "Conseil communautaire",
        "number": "2025-37",
        "adopted_on": "2025-04-03",
        "subject": "Convention",
        "members_in_office": 27,
        "members_present": 22,
        "members_represented": 5,
        "votes_for": 27,
        **overrides,
    }
    response = api_as("legal").post("/api/v1/deliberations", body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert field in error["fields"] and message in error["fields"][field]
    assert db.session.scalar(sa.select(sa.func.count(Deliberation.id))) == 0


@pytest.mark.parametrize("role", ["auditor", "committee", "dpo", "partner", "admin"])
def test_only_the_legal_service_records_a_deliberation(
    parties: dict[str, Any], api_as: Any, role: str
) -> None:
    assert api_as(role).post("/api/v1/deliberations", {}).status_code == 403


# --- GET /conventions[/<id>] -------------------------------------------------------------------------


def test_a_convention_as_the_contract_describes_it(parties: dict[str, Any], api_as: Any) -> None:
    convention = signed(parties)
    services.record_transmission(convention, REFERENCE_ACK, date(2025, 4, 15), date(2025, 4, 15))
    db.session.commit()
    body = api_as("legal").get(f"/api/v1/conventions/{convention.id}").get_json()
    assert body["id"] == convention.id
    assert (body["start_date"], body["end_date"], body["evaluation_due_date"]) == (
        "2025-01-01",
        "2028-12-31",
        "2028-10-31",
    )
    assert body["status"] == "in_force" and body["enforceable"] is True
    assert (body["acknowledgement_id"], body["transmitted_on"], body["published_on"]) == (
        REFERENCE_ACK,
        "2025-04-15",
        "2025-04-15",
    )
    assert body["deliberation"]["number"] == "2025-37" and body["deliberation"]["id"]
    assert body["deliberation"]["members_represented"] == 5
    assert body["articles_count"] == 12
    assert body["partner"] == {
        "id": parties["partner"].id,
        "name": parties["partner"].name,
        "siren": "240400440",
    }
    assert body["controller"]["id"] == parties["controller"].id
    (deadline,) = body["deadlines"]
    assert deadline["kind"] == "convention.evaluation" and deadline["due_date"] == "2028-10-31"
    assert deadline["id"] and deadline["due_at"].endswith("+00:00")


def test_the_list_is_filtered_and_paginated(parties: dict[str, Any], api_as: Any, factory: Any) -> None:
    running = signed(parties)
    services.record_transmission(running, REFERENCE_ACK, date(2025, 4, 15))
    other = factory.org("partner")
    drafts = [
        services.create_convention(
            parties["controller"], other, f"Brouillon {n}", date(2026 + n, 1, 1), date(2029 + n, 12, 31)
        )
        for n in range(3)
    ]
    db.session.commit()
    legal = api_as("legal")
    page = legal.get("/api/v1/conventions").get_json()
    assert set(page) == {"items", "page", "per_page", "total"}
    assert page["total"] == 4 and page["page"] == 1 and page["per_page"] == 50
    assert [c["id"] for c in page["items"]] == [d.id for d in reversed(drafts)] + [
        running.id
    ]  # newest term first
    assert {"start_date", "end_date", "evaluation_due_date", "status", "enforceable"} <= set(page["items"][0])

    in_force = legal.get("/api/v1/conventions?status=in_force").get_json()
    assert [c["id"] for c in in_force["items"]] == [running.id] and in_force["total"] == 1
    by_partner = legal.get(f"/api/v1/conventions?partner_id={other.id}&per_page=2&page=2").get_json()
    assert by_partner["total"] == 3 and [c["id"] for c in by_partner["items"]] == [drafts[0].id]
    assert legal.get("/api/v1/conventions?status=").get_json()["total"] == 4  # empty: no filter

    for query, field in [
        ("status=running", "status"),
        ("partner_id=abc", "partner_id"),
        ("per_page=500", "per_page"),
        ("page=0", "page"),
        ("partner=1", "partner"),
        ("status=draft&status=signed", "status"),
    ]:
        response = legal.get(f"/api/v1/conventions?{query}")
        assert response.status_code == 422, query
        assert field in response.get_json()["error"]["fields"], query


def test_a_partner_reads_its_own_conventions_only(parties: dict[str, Any], api_as: Any, factory: Any) -> None:
    own = signed(parties)
    services.record_transmission(own, REFERENCE_ACK, date(2025, 4, 15))
    other = factory.org("partner")
    foreign = services.create_convention(
        parties["controller"], other, "Convention d'un autre partenaire", date(2025, 1, 1), date(2028, 12, 31)
    )
    template = services.create_convention(
        parties["controller"], None, "Modèle", date(2025, 1, 1), date(2028, 12, 31), is_template=True
    )
    db.session.commit()
    partner = api_as("partner")
    listing = partner.get("/api/v1/conventions").get_json()
    assert [c["id"] for c in listing["items"]] == [own.id] and listing["total"] == 1
    assert partner.get(f"/api/v1/conventions?partner_id={other.id}").get_json()["total"] == 0
    body = partner.get(f"/api/v1/conventions/{own.id}").get_json()
    assert body["status"] == "in_force" and body["deadlines"] == []  # the convention's clocks are the legal's
    for hidden in (foreign.id, template.id, 999999):
        response = partner.get(f"/api/v1/conventions/{hidden}")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", ["auditor", "committee", "dpo"])
def test_readers_see_every_convention(parties: dict[str, Any], api_as: Any, factory: Any, role: str) -> None:
    signed(parties)
    services.create_convention(
        parties["controller"], factory.org("partner"), "B", date(2026, 1, 1), date(2027, 1, 1)
    )
    db.session.commit()
    reader = api_as(role)
    assert reader.get("/api/v1/conventions").get_json()["total"] == 2


def test_the_administrator_reads_no_convention(parties: dict[str, Any], api_as: Any) -> None:
    convention = signed(parties)
    admin = api_as("admin")
    assert admin.get("/api/v1/conventions").status_code == 403
    assert admin.get(f"/api/v1/conventions/{convention.id}").status_code == 403


def test_the_openapi_document_lists_the_convention_routes(app: Flask) -> None:
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/conventions"] and "get" in paths["/api/v1/conventions/{convention_id}"]
    assert "post" in paths["/api/v1/conventions/{convention_id}/transmission"]
    assert paths["/api/v1/deliberations"]["post"]["responses"]["201"]


# --- the effective status, in SQL and in Python ------------------------------------------------------


def test_the_status_filter_agrees_with_the_effective_status(parties: dict[str, Any]) -> None:
    today = date(2026, 6, 1)
    conventions = []
    for number, (start, end) in enumerate(
        [
            (date(2025, 1, 1), date(2028, 12, 31)),  # in force
            (date(2027, 1, 1), date(2030, 12, 31)),  # transmitted, not begun
            (date(2022, 1, 1), date(2025, 12, 31)),  # expired by date
        ]
    ):
        convention = signed(parties, start=start, end=end, number=f"2025-{37 + number}")
        services.record_transmission(
            convention, f"004-240400440-20250403-{37 + number}-2025-DE", date(2025, 4, 15)
        )
        conventions.append(convention)
    evaluated = signed(parties, number="2025-40")
    services.record_transmission(evaluated, "004-240400440-20250403-40-2025-DE", date(2025, 4, 15))
    services.record_evaluation(evaluated, services.EvaluationData(date(2026, 5, 1), "Bilan", "renegotiate"))
    conventions.append(evaluated)
    draft = services.create_convention(
        parties["controller"], parties["partner"], "Brouillon", date(2026, 1, 1), date(2026, 3, 1)
    )
    conventions.append(draft)
    db.session.commit()
    for status in ConventionStatus:
        in_sql = set(db.session.scalars(sa.select(Convention.id).where(status_clause(status, today))))
        in_python = {c.id for c in conventions if services.effective_status(c, today) == status}
        assert in_sql == in_python, status
    assert services.effective_status(conventions[1], today) == ConventionStatus.TRANSMITTED
    assert services.effective_status(conventions[2], today) == ConventionStatus.EXPIRED
    assert services.effective_status(evaluated, today) == ConventionStatus.UNDER_EVALUATION
    assert (
        services.effective_status(evaluated, date(2029, 1, 1) + timedelta(days=1)) == ConventionStatus.EXPIRED
    )


def test_an_acknowledgement_recorded_for_another_convention_is_a_conflict(
    parties: dict[str, Any], api_as: Any
) -> None:
    first = signed(parties)
    services.record_transmission(first, REFERENCE_ACK, date(2025, 4, 15))
    second = services.create_convention(
        parties["controller"], parties["partner"], "Deuxième", date(2025, 2, 1), date(2028, 12, 31)
    )
    assert first.deliberation is not None
    services.approve_convention(second, first.deliberation)
    db.session.commit()
    response = api_as("legal").post(
        f"/api/v1/conventions/{second.id}/transmission",
        {"acknowledgement_id": REFERENCE_ACK, "received_at": "2025-04-15"},
    )
    assert response.status_code == 409
    assert "acknowledgement_id" in response.get_json()["error"]["fields"]
