"""The processor file: the partner's DPO, the staff authorised on any date, sub-processors; its API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from compliance.processor import services
from compliance.processor.models import PartnerDpo, StaffGrant
from compliance.processor.services import GrantData, SubProcessorData
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db


@pytest.fixture
def cast(factory: Any) -> dict[str, Any]:
    library = factory.org("partner", name="Médiathèque de Manosque")
    return {
        "library": library,
        "librarian": factory.user("partner", org=library),
        "neighbour": factory.user("partner"),
        "dpo": factory.user("dpo"),
        "auditor": factory.user("auditor"),
    }


def _grant(cast: dict[str, Any], name: str, granted: date, **kw: Any) -> StaffGrant:
    grant = services.grant_staff(
        cast["librarian"], cast["library"], GrantData(name=name, granted_on=granted, **kw)
    )
    db.session.commit()
    return grant


def test_the_list_on_a_past_date_follows_grants_and_revocations(cast: dict[str, Any]) -> None:
    alice = _grant(cast, "Alice Martin", date(2025, 1, 6))
    bruno = _grant(cast, "Bruno Durand", date(2025, 3, 1))
    chloe = _grant(cast, "Chloé Petit", date(2025, 6, 2))
    services.revoke_staff(cast["librarian"], bruno, date(2025, 6, 1), "Départ à la retraite")
    db.session.commit()

    def names(day: date) -> list[str]:
        return [g.name for g in services.staff_on(cast["library"].id, day)]

    assert names(date(2025, 1, 5)) == []
    assert names(date(2025, 1, 6)) == ["Alice Martin"]  # from the day of the grant
    assert names(date(2025, 5, 31)) == ["Alice Martin", "Bruno Durand"]
    assert names(date(2025, 6, 1)) == ["Alice Martin"]  # a revocation takes effect on its day
    assert names(date(2025, 6, 2)) == ["Alice Martin", "Chloé Petit"]
    assert (
        alice.active_on(date(2025, 6, 2))
        and not bruno.active_on(date(2025, 6, 2))
        and chloe.active_on(date(2025, 6, 2))
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffGrant)) == 3  # nothing deleted


def test_revocation_rules(cast: dict[str, Any]) -> None:
    grant = _grant(cast, "Alice Martin", date(2025, 1, 6))
    with pytest.raises(ValidationFailed):
        services.revoke_staff(cast["librarian"], grant, date(2025, 1, 1), "Avant l'habilitation")
    with pytest.raises(ValidationFailed):
        services.revoke_staff(cast["librarian"], grant, date(2025, 2, 1), " ")
    services.revoke_staff(cast["librarian"], grant, date(2025, 2, 1), "Mutation")
    with pytest.raises(Conflict):
        services.revoke_staff(cast["librarian"], grant, date(2025, 3, 1), "Encore")


def test_a_partner_keeps_only_its_own_file(cast: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        services.grant_staff(cast["neighbour"], cast["library"], GrantData("X", date(2025, 1, 1)))
    with pytest.raises(Forbidden):
        services.grant_staff(cast["auditor"], cast["library"], GrantData("X", date(2025, 1, 1)))
    services.grant_staff(cast["dpo"], cast["library"], GrantData("Par le DPO", date(2025, 1, 1)))


def test_a_grant_cannot_be_recorded_in_advance(cast: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as err:
        services.grant_staff(
            cast["librarian"], cast["library"], GrantData("X", date.today() + timedelta(days=3))
        )
    assert "granted_on" in err.value.fields


def test_dpo_history_and_the_deadline_at_signature(cast: dict[str, Any]) -> None:
    library = cast["library"]
    assert services.require_dpo_at_signature(library, date(2025, 4, 10)) is True
    db.session.commit()
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == "processor.dpo_contact"))
    assert deadline is not None and deadline.due_date == date(2025, 4, 10)
    assert services.require_dpo_at_signature(library, date(2025, 4, 10)) is False  # not twice
    services.set_dpo(
        cast["librarian"], library, "Marie Dubois", "dpo@manosque.example", since=date(2025, 5, 1)
    )
    db.session.commit()
    assert deadline.state == DeadlineState.MET
    services.set_dpo(
        cast["librarian"], library, "Paul Roux", "paul.roux@manosque.example", since=date(2026, 1, 1)
    )
    db.session.commit()
    rows = db.session.scalars(sa.select(PartnerDpo).order_by(PartnerDpo.id)).all()
    assert [(r.name, r.until) for r in rows] == [("Marie Dubois", date(2026, 1, 1)), ("Paul Roux", None)]
    assert services.require_dpo_at_signature(library, date(2026, 2, 1)) is False  # a DPO is known


def test_sub_processor_warnings(cast: dict[str, Any]) -> None:
    services.add_sub_processor(
        cast["librarian"], cast["library"], SubProcessorData("Hébergeur SAS", "Hébergement du SIGB")
    )
    services.add_sub_processor(
        cast["librarian"],
        cast["library"],
        SubProcessorData(
            "CloudCorp",
            "Sauvegardes",
            clauses_in_place=True,
            clauses_signed_on=date(2024, 5, 1),
            data_outside_eu=True,
            location="États-Unis",
        ),
    )
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.add_sub_processor(
            cast["librarian"], cast["library"], SubProcessorData("X", "Y", clauses_in_place=True)
        )
    db.session.rollback()
    warnings = {s.company: s.warnings for s in services.sub_processors_of(cast["library"].id)}
    assert warnings == {"CloudCorp": ["outside_eu"], "Hébergeur SAS": ["clauses_missing"]}


def test_names_and_emails_are_encrypted_at_rest(cast: dict[str, Any]) -> None:
    _grant(cast, "Alice Confidentielle", date(2025, 1, 6), email="alice@manosque.example")
    raw = " ".join(str(v) for row in db.session.execute(sa.text("SELECT * FROM staff_grant")) for v in row)
    assert "Alice" not in raw and "manosque" not in raw


# --- the API contracts -----------------------------------------------------------------------------


@pytest.fixture
def api(app: Flask, factory: Any) -> Any:
    def client_for(user: Any) -> Any:
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factory.token(user)}"
        return client

    return client_for


def test_staff_api_contract(api: Any, cast: dict[str, Any]) -> None:
    client = api(cast["librarian"])
    org = cast["library"].id
    created = client.post(
        f"/api/v1/organisations/{org}/staff",
        json={
            "name": "Alice Martin",
            "email": "alice@example.fr",
            "function": "Bibliothécaire",
            "granted_on": "2025-01-06",
        },
    )
    assert created.status_code == 201, created.json
    grant_id = created.json["id"]
    assert created.json["granted_on"] == "2025-01-06"
    revoked = client.post(
        f"/api/v1/staff/{grant_id}/revoke", json={"revoked_on": "2025-06-01", "reason": "Départ"}
    )
    assert revoked.status_code == 200 and revoked.json["revoked_on"] == "2025-06-01"
    on_may = client.get(f"/api/v1/organisations/{org}/staff?on=2025-05-31").json
    assert [p["name"] for p in on_may] == ["Alice Martin"]
    assert client.get(f"/api/v1/organisations/{org}/staff?on=2025-06-01").json == []
    assert client.get(f"/api/v1/organisations/{org}/staff").json == []  # today
    bad = client.get(f"/api/v1/organisations/{org}/staff?on=31/05/2025")
    assert bad.status_code == 422 and "on" in bad.json["error"]["fields"]


def test_dpo_api_contract(api: Any, cast: dict[str, Any]) -> None:
    client = api(cast["librarian"])
    org = cast["library"].id
    response = client.put(
        f"/api/v1/organisations/{org}/dpo", json={"name": "Marie Dubois", "email": "dpo@example.fr"}
    )
    assert response.status_code == 200
    assert response.json["name"] == "Marie Dubois" and response.json["id"]
    invalid = client.put(f"/api/v1/organisations/{org}/dpo", json={"name": "X", "email": "pas-une-adresse"})
    assert invalid.status_code == 422 and "email" in invalid.json["error"]["fields"]


def test_another_partners_file_is_out_of_reach(api: Any, cast: dict[str, Any]) -> None:
    org = cast["library"].id
    grant = _grant(cast, "Alice", date(2025, 1, 6))
    other = api(cast["neighbour"])
    assert other.get(f"/api/v1/organisations/{org}/staff").status_code == 403
    assert (
        other.post(
            f"/api/v1/organisations/{org}/staff", json={"name": "X", "granted_on": "2025-01-01"}
        ).status_code
        == 403
    )
    assert (
        other.post(
            f"/api/v1/staff/{grant.id}/revoke", json={"revoked_on": "2025-02-01", "reason": "x"}
        ).status_code
        == 404
    )
    assert (
        other.put(f"/api/v1/organisations/{org}/dpo", json={"name": "X", "email": "x@example.fr"}).status_code
        == 403
    )
    assert other.get(f"/api/v1/organisations/{org}/sub-processors").status_code == 403
    assert api(cast["dpo"]).get(f"/api/v1/organisations/{org}/staff?on=2025-02-01").status_code == 200
    assert api(cast["auditor"]).post(f"/api/v1/staff/{grant.id}/revoke", json={}).status_code == 403
