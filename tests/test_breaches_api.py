"""Breaches through the JSON API: the whole life of a breach (declaration, the DPO's mail, the
acknowledgement and the partner's receipt through a real SMTP server, the 72 hours across a weekend and a
daylight-saving change, the assessment, late and complementary notifications), one shape, the error
format, partner isolation, roles, and what the auditor may read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from compliance.breaches.models import Breach, BreachStatus
from compliance.breaches.serialise import BreachOut, BreachPageOut
from compliance.breaches.services import CNIL_KIND, COMMUNICATION_KIND
from tests.smtp import SmtpServer
from vigie.database import utcnow
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.mail.models import OutboxMessage
from vigie.mail.services import send_pending
from vigie.timeutil import to_paris

BASE = "/api/v1/breaches"


@pytest.fixture
def api(app: Flask, factory: Any) -> Any:
    def client_for(user: Any) -> Any:
        token = factory.token(user)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return client_for


@pytest.fixture
def world(factory: Any, api: Any) -> dict[str, Any]:
    """The Département with its DPO and an auditor; two partners, each with a partner user."""
    controller = factory.org("controller", name="Département des Hautes-Alpes")
    a = factory.org("partner", name="Commune de Laragne-Montéglin")
    b = factory.org("partner", name="Commune de Serres")
    d: dict[str, Any] = {"controller": controller, "a": a, "b": b}
    d["dpo"] = factory.user("dpo", org=controller, email="dpo@hautes-alpes.fr")
    d["auditor"] = factory.user("auditor", org=controller)
    d["pa"] = factory.user("partner", org=a, email="bibliotheque@laragne.fr")
    d["pb"] = factory.user("partner", org=b, email="mediatheque@serres.fr")
    for name in ("dpo", "auditor", "pa", "pb"):
        d[f"{name}_api"] = api(d[name])
    return d


def iso(moment: datetime) -> str:
    return moment.isoformat()


def when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed


def minimal(org_id: int, **more: Any) -> dict[str, Any]:
    body = {
        "organisation_id": org_id,
        "summary": "Un ordinateur portable de prêt volé avec la liste des lecteurs.",
        "discovered_at": iso(utcnow() - timedelta(hours=2)),
        "nature": ["confidentiality"],
    }
    return body | more


def declare(world: dict[str, Any], org: str = "a", **more: Any) -> dict[str, Any]:
    response = world[f"p{org}_api"].post(BASE, json=minimal(world[org].id, **more))
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)


def assert_error(response: Any, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    for name in fields:
        assert name in error["fields"], error
    return dict(error)


def count(model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def mails_to(server: SmtpServer, address: str) -> list[Any]:
    return [m for m in server.messages if m["To"] == address]


# --- The whole life of a breach ---


def test_the_life_of_a_breach(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    dpo, partner = world["dpo_api"], world["pa_api"]

    # The partner declares with the contract's minimal body: created and reported at once.
    before = utcnow()
    response = partner.post(BASE, json=minimal(world["a"].id))
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.json
    BreachOut.model_validate(created)
    breach_id = created["id"]
    assert response.headers["Location"].endswith(f"{BASE}/{breach_id}")
    assert created["status"] == "submitted"
    assert created["reference"] == f"VIO-{to_paris(before).year}-001"
    assert created["organisation_id"] == world["a"].id
    assert created["nature"] == ["confidentiality"]
    assert created["declared_by_id"] == world["pa"].id
    reported = when(created["reported_to_controller_at"])
    assert created["reported_to_controller_at"].endswith("+00:00")
    assert before <= reported <= utcnow()
    assert 2 * 3600 - 60 <= created["report_delay_seconds"] <= 2 * 3600 + 60
    assert created["report_late"] is False  # two hours: under the 24-hour threshold
    assert created["acknowledged_at"] is None and created["aware_at"] is None
    assert created["cnil_deadline_at"] is None

    # The DPO's mail went out at once, with the link to acknowledge receipt and no personal data.
    [dpo_mail] = mails_to(smtp_server, "dpo@hautes-alpes.fr")
    assert created["reference"] in dpo_mail["Subject"]
    assert "Commune de Laragne-Montéglin" in dpo_mail["Subject"]
    body = dpo_mail.get_content()
    assert f"/breaches/{breach_id}/acknowledge" in body
    assert "ordinateur portable" not in body
    assert not mails_to(smtp_server, "bibliotheque@laragne.fr")

    # The DPO acknowledges receipt: the 72 hours start now, the partner gets its receipt.
    response = dpo.post(f"{BASE}/{breach_id}/acknowledge", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    acked = response.json
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_by_id"] == world["dpo"].id
    assert acked["aware_at"] == acked["acknowledged_at"]
    assert when(acked["cnil_deadline_at"]) == when(acked["aware_at"]) + timedelta(hours=72)
    [receipt] = mails_to(smtp_server, "bibliotheque@laragne.fr")
    assert created["reference"] in receipt["Subject"]
    assert f"/breaches/{breach_id}" in receipt.get_content()

    # A second click records nothing more: the same acknowledgement, no second receipt.
    again = dpo.post(f"{BASE}/{breach_id}/acknowledge", json={})
    assert again.status_code == 200
    assert again.json["acknowledged_at"] == acked["acknowledged_at"]
    assert again.json["cnil_deadline_at"] == acked["cnil_deadline_at"]
    assert len(mails_to(smtp_server, "bibliotheque@laragne.fr")) == 1
    cnil = db.session.scalars(sa.select(Deadline).where(Deadline.kind == CNIL_KIND)).all()
    assert len(cnil) == 1 and cnil[0].due_at == when(acked["cnil_deadline_at"])

    # The DPO assesses a risk: the CNIL is to be notified.
    response = dpo.post(
        f"{BASE}/{breach_id}/assessment",
        json={"risk_level": "risk", "reasoning": "Noms et adresses de 300 lecteurs, sans chiffrement."},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "assessed"
    assert response.json["risk_level"] == "risk"
    assert response.json["risk_reasoning"].startswith("Noms et adresses")
    assert response.json["communication"] is None

    # Notified within the 72 hours: no reasons needed; the clock is met.
    notified_at = utcnow()
    response = dpo.post(
        f"{BASE}/{breach_id}/notifications",
        json={"kind": "initial", "notified_at": iso(notified_at), "cnil_reference": "CNIL-2025-0042"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    initial = response.json
    assert initial["id"] and initial["breach_id"] == breach_id
    assert initial["kind"] == "initial" and initial["late"] is False
    assert when(initial["notified_at"]) == notified_at
    db.session.expire_all()
    assert db.session.get(Deadline, cnil[0].id).state == DeadlineState.MET  # type: ignore[union-attr]

    response = dpo.post(
        f"{BASE}/{breach_id}/notifications",
        json={"kind": "complementary", "notified_at": iso(utcnow()), "summary": "Le portable est retrouvé."},
    )
    assert response.status_code == 201, response.get_data(as_text=True)

    # The partner follows it: the same breach, its notifications, in one shape.
    seen = partner.get(f"{BASE}/{breach_id}").json
    BreachOut.model_validate(seen)
    assert [n["kind"] for n in seen["notifications"]] == ["initial", "complementary"]
    assert seen["notifications"][0]["cnil_reference"] == "CNIL-2025-0042"
    assert seen["personal_data_withheld"] is False
    assert seen["summary"].startswith("Un ordinateur portable")
    for name in (
        "reported_to_controller_at",
        "acknowledged_at",
        "aware_at",
        "cnil_deadline_at",
        "assessed_at",
    ):
        assert seen[name].endswith("+00:00"), name


def test_earlier_awareness_across_a_weekend_and_the_spring_daylight_saving_change(
    world: dict[str, Any], smtp_server: SmtpServer
) -> None:
    dpo = world["dpo_api"]
    # Friday 28 March 2025, 08:30 Paris (UTC+1); the clocks go forward on Sunday 30 March.
    created = declare(world, discovered_at="2025-03-28T08:30:00+01:00")
    assert created["report_late"] is True  # reported long after the discovery
    assert created["report_delay_seconds"] > 24 * 3600
    url = f"{BASE}/{created['id']}/acknowledge"

    # An earlier awareness needs its reason.
    error = assert_error(dpo.post(url, json={"aware_at": "2025-03-28T10:00:00+01:00"}), 422, "reason")
    assert error["code"] == "validation_failed"
    assert_error(dpo.post(url, json={"aware_at": "2025-03-28T10:00:00+01:00", "reason": "  "}), 422, "reason")
    assert_error(dpo.post(url, json={"reason": "Un appel"}), 422, "aware_at")  # a reason, but for when?
    assert db.session.get(Breach, created["id"]).acknowledged_at is None  # type: ignore[union-attr]

    body = {"aware_at": "2025-03-28T10:00:00+01:00", "reason": "Appel de la directrice au standard, 10 h."}
    response = dpo.post(url, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    acked = response.json
    assert acked["aware_at"] == "2025-03-28T09:00:00+00:00"
    assert acked["aware_reason"] == body["reason"]
    # 72 hours of elapsed time: Monday 31 March, 09:00 UTC, i.e. 11:00 in Paris (now UTC+2), not 10:00.
    assert acked["cnil_deadline_at"] == "2025-03-31T09:00:00+00:00"
    deadline_paris = to_paris(when(acked["cnil_deadline_at"]))
    assert (deadline_paris.date().isoformat(), deadline_paris.hour) == ("2025-03-31", 11)
    assert deadline_paris.weekday() == 0  # the weekend counts
    assert when(acked["cnil_deadline_at"]) - when(acked["aware_at"]) == timedelta(hours=72)
    [deadline] = db.session.scalars(sa.select(Deadline).where(Deadline.kind == CNIL_KIND)).all()
    assert deadline.due_at == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)

    # Sent again (a second tab): the same answer; naming another awareness time is a conflict.
    same = dpo.post(url, json=body)
    assert same.status_code == 200 and same.json["acknowledged_at"] == acked["acknowledged_at"]
    other = dpo.post(url, json={"aware_at": "2025-03-28T11:00:00+01:00", "reason": "Autre appel"})
    assert_error(other, 409, "aware_at")
    assert dpo.get(f"{BASE}/{created['id']}").json["aware_at"] == "2025-03-28T09:00:00+00:00"

    # High risk: the people affected are to be informed by a day the DPO sets.
    response = dpo.post(
        f"{BASE}/{created['id']}/assessment",
        json={"risk_level": "high", "reasoning": "Données de santé.", "communication_due": "2025-04-04"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["communication"] == {
        "due_date": "2025-04-04",
        "informed_at": None,
        "channel": None,
        "reached": None,
    }

    # Notified now, long after the 72 hours: refused without the reasons, with that field named.
    notifications = f"{BASE}/{created['id']}/notifications"
    late = {"kind": "initial", "notified_at": iso(utcnow()), "cnil_reference": "CNIL-X"}
    error = assert_error(dpo.post(notifications, json=late), 422, "late_reasons")
    assert "72" in error["message"]
    assert_error(dpo.post(notifications, json=late | {"late_reasons": " "}), 422, "late_reasons")
    response = dpo.post(notifications, json=late | {"late_reasons": "Le standard n'a transmis que lundi."})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["late"] is True
    assert response.json["late_reasons"] == "Le standard n'a transmis que lundi."

    # A complementary notification is never late, and needs no reasons.
    response = dpo.post(notifications, json={"kind": "complementary", "notified_at": iso(utcnow())})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["late"] is False
    # A second initial one is refused.
    assert_error(dpo.post(notifications, json=late | {"late_reasons": "x"}), 422, "kind")


def test_acknowledgement_twice_records_one(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    created = declare(world)
    url = f"{BASE}/{created['id']}/acknowledge"
    first = world["dpo_api"].post(url, json={})
    second = world["dpo_api"].post(url, json={})
    assert first.status_code == second.status_code == 200
    assert first.json["acknowledged_at"] == second.json["acknowledged_at"]
    assert first.json["aware_at"] == second.json["aware_at"]
    assert count(Deadline) == 1
    receipts = [m for m in smtp_server.messages if m["To"] == "bibliotheque@laragne.fr"]
    assert len(receipts) == 1
    assert count(OutboxMessage) == 2  # the DPO's mail and one receipt


def test_smtp_down_at_submission(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    smtp_server.stop()
    created = declare(world)  # saved and reported although the mail cannot leave
    assert created["status"] == "submitted"
    assert world["dpo_api"].get(f"{BASE}/{created['id']}").json["reference"] == created["reference"]
    assert world["dpo_api"].get(BASE).json["total"] == 1

    smtp_server.start()
    report = send_pending(now=utcnow() + timedelta(minutes=2))  # `vigie mail send-pending`, after its delay
    assert report.sent == 1
    [mail] = mails_to(smtp_server, "dpo@hautes-alpes.fr")
    assert created["reference"] in mail["Subject"]


def test_a_draft_is_submitted_later(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    partner = world["pa_api"]
    response = partner.post(
        BASE, json={"organisation_id": world["a"].id, "summary": "À compléter", "draft": True}
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    draft = response.json
    assert draft["status"] == "draft"
    assert draft["reference"] is None and draft["reported_to_controller_at"] is None
    assert not smtp_server.messages

    # Incomplete: refused with the missing fields named as the API names them; still a draft.
    error = assert_error(
        partner.post(f"{BASE}/{draft['id']}/submit", json={}), 422, "discovered_at", "nature"
    )
    assert "natures" not in error["fields"]
    assert partner.get(f"{BASE}/{draft['id']}").json["status"] == "draft"

    # A draft is not reported yet: the DPO does not see it.
    assert_error(world["dpo_api"].get(f"{BASE}/{draft['id']}"), 404)
    assert world["dpo_api"].get(BASE).json["total"] == 0

    breach = db.session.get(Breach, draft["id"])
    assert breach is not None
    breach.discovered_at = utcnow() - timedelta(hours=1)
    breach.nature_availability = True
    db.session.commit()
    response = partner.post(f"{BASE}/{draft['id']}/submit", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["status"] == "submitted" and response.json["reference"]
    assert response.json["nature"] == ["availability"]
    assert len(mails_to(smtp_server, "dpo@hautes-alpes.fr")) == 1
    assert_error(partner.post(f"{BASE}/{draft['id']}/submit", json={}), 409)
    assert world["dpo_api"].get(f"{BASE}/{draft['id']}").status_code == 200


def test_the_dpo_declares_on_a_partners_behalf(world: dict[str, Any]) -> None:
    response = world["dpo_api"].post(BASE, json=minimal(world["b"].id))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["organisation_id"] == world["b"].id
    assert world["pb_api"].get(f"{BASE}/{response.json['id']}").status_code == 200
    # Not in the Département's own name: a breach is declared by a partner.
    assert_error(world["dpo_api"].post(BASE, json=minimal(world["controller"].id)), 422, "organisation_id")
    assert_error(world["dpo_api"].post(BASE, json=minimal(999999)), 422, "organisation_id")


def test_every_field_round_trips(world: dict[str, Any]) -> None:
    body = minimal(
        world["a"].id,
        nature=["integrity", "confidentiality", "integrity"],
        started_at="2025-06-01T22:00:00+02:00",
        ended_at="2025-06-02T06:00:00+02:00",
        discovered_at="2025-06-02T08:15:00+02:00",
        circumstances="Découvert à l'ouverture.",
        cause="Vol",
        data_categories="Nom, adresse, historique de prêt",
        subject_categories="Lecteurs inscrits",
        subjects_count=300,
        records_count=1200,
        consequences="Hameçonnage possible",
        measures_taken="Mots de passe changés",
        measures_proposed="Chiffrement des postes",
        contact_name="Camille Durand",
        contact_email="camille.durand@laragne.fr",
        contact_phone="04 92 00 00 00",
    )
    created = world["pa_api"].post(BASE, json=body).json
    for name in (
        "circumstances",
        "cause",
        "subjects_count",
        "records_count",
        "contact_email",
        "contact_phone",
    ):
        assert created[name] == body[name], name
    assert created["nature"] == ["confidentiality", "integrity"]
    assert created["started_at"] == "2025-06-01T20:00:00+00:00"
    assert created["ended_at"] == "2025-06-02T04:00:00+00:00"
    assert created["discovered_at"] == "2025-06-02T06:15:00+00:00"


# --- Refused input ---


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"discovered_at": "2025-03-28T10:00:00"}, "discovered_at"),  # no offset
        ({"started_at": "2025-03-28T10:00:00"}, "started_at"),
        ({"discovered_at": 1743152400}, "discovered_at"),  # a number is not ISO 8601
        ({"discovered_at": "hier"}, "discovered_at"),
        ({"discovered_at": iso(utcnow() + timedelta(days=1))}, "discovered_at"),  # in the future
        ({"nature": ["loss"]}, "nature.0"),
        ({"nature": []}, "nature"),
        ({"summary": "  "}, "summary"),
        ({"subjects_count": -1}, "subjects_count"),
        ({"organisation_id": "one"}, "organisation_id"),
        ({"colour": "red"}, "colour"),  # unknown field
        ({"natures": ["integrity"]}, "natures"),  # the model's name is not the API's
    ],
)
def test_declaration_refuses_bad_input(world: dict[str, Any], change: dict[str, Any], field: str) -> None:
    assert_error(world["pa_api"].post(BASE, json=minimal(world["a"].id) | change), 422, field)
    assert count(Breach) == 0


def test_missing_fields_are_named(world: dict[str, Any]) -> None:
    error = assert_error(
        world["pa_api"].post(BASE, json={"organisation_id": world["a"].id}),
        422,
        "summary",
        "discovered_at",
        "nature",
    )
    assert error["code"] == "validation_failed"
    assert_error(world["pa_api"].post(BASE, json={"summary": "x"}), 422, "organisation_id")
    assert count(Breach) == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b'"text"'])
def test_malformed_body_is_400(world: dict[str, Any], raw: bytes) -> None:
    created = declare(world)
    for url, client in ((BASE, "pa_api"), (f"{BASE}/{created['id']}/acknowledge", "dpo_api")):
        response = world[client].post(url, data=raw, content_type="application/json")
        assert assert_error(response, 400)["code"] == "malformed_body"
    assert count(Breach) == 1
    assert db.session.get(Breach, created["id"]).acknowledged_at is None  # type: ignore[union-attr]


def test_times_without_offset_are_refused_everywhere(world: dict[str, Any]) -> None:
    dpo = world["dpo_api"]
    created = declare(world)
    url = f"{BASE}/{created['id']}"
    assert_error(
        dpo.post(f"{url}/acknowledge", json={"aware_at": "2025-03-28T10:00:00", "reason": "x"}),
        422,
        "aware_at",
    )
    assert_error(dpo.post(f"{url}/acknowledge", json={"surprise": 1}), 422, "surprise")
    assert dpo.post(f"{url}/acknowledge", json={}).status_code == 200
    assert_error(
        dpo.post(f"{url}/assessment", json={"risk_level": "medium", "reasoning": "x"}), 422, "risk_level"
    )
    assert_error(
        dpo.post(f"{url}/assessment", json={"risk_level": "risk", "reasoning": " "}), 422, "reasoning"
    )
    assert_error(
        dpo.post(f"{url}/assessment", json={"risk_level": "high", "reasoning": "x"}), 422, "communication_due"
    )
    assert_error(
        dpo.post(
            f"{url}/assessment",
            json={"risk_level": "risk", "reasoning": "x", "communication_due": "2025-04-04"},
        ),
        422,
        "communication_due",
    )
    assert_error(
        dpo.post(
            f"{url}/assessment",
            json={"risk_level": "high", "reasoning": "x", "communication_due": "04/04/2025"},
        ),
        422,
        "communication_due",
    )
    naive = {"kind": "initial", "notified_at": "2025-03-28T10:00:00"}
    assert_error(dpo.post(f"{url}/notifications", json=naive), 422, "notified_at")
    assert_error(
        dpo.post(f"{url}/notifications", json={"kind": "final", "notified_at": iso(utcnow())}), 422, "kind"
    )
    before_awareness = {"kind": "initial", "notified_at": "2020-01-01T10:00:00+01:00"}
    assert_error(dpo.post(f"{url}/notifications", json=before_awareness), 422, "notified_at")
    assert_error(
        dpo.post(f"{url}/notifications", json={"kind": "complementary", "notified_at": iso(utcnow())}),
        422,
        "kind",
    )


def test_steps_out_of_order_are_conflicts(world: dict[str, Any]) -> None:
    created = declare(world)
    url = f"{BASE}/{created['id']}"
    dpo = world["dpo_api"]
    assert_error(dpo.post(f"{url}/assessment", json={"risk_level": "none", "reasoning": "x"}), 409)
    assert_error(
        dpo.post(f"{url}/notifications", json={"kind": "initial", "notified_at": iso(utcnow())}), 409
    )
    assert_error(dpo.post(f"{url}/submit", json={}), 409)


# --- Who may do what ---


def test_a_partner_never_reaches_another_partners_breach(world: dict[str, Any]) -> None:
    theirs = declare(world, org="b")
    draft = (
        world["pb_api"]
        .post(BASE, json={"organisation_id": world["b"].id, "summary": "x", "draft": True})
        .json
    )
    mine = declare(world, org="a")
    partner = world["pa_api"]

    for breach_id in (theirs["id"], draft["id"], 999999):
        error = assert_error(partner.get(f"{BASE}/{breach_id}"), 404)
        assert "Serres" not in error["message"]
        assert_error(partner.post(f"{BASE}/{breach_id}/submit", json={}), 404)
        # Acknowledging, assessing, notifying is the DPO's: refused to a partner whatever the breach.
        for action in ("acknowledge", "assessment", "notifications"):
            assert_error(partner.post(f"{BASE}/{breach_id}/{action}", json={}), 403)
    assert_error(partner.post(f"{BASE}/{mine['id']}/acknowledge", json={}), 403)

    listed = partner.get(BASE).json
    assert [b["id"] for b in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert partner.get(f"{BASE}?organisation_id={world['b'].id}").json == {
        "items": [],
        "page": 1,
        "per_page": 50,
        "total": 0,
    }

    # Declaring in another organisation's name: 403, whether it exists or not; nothing is created.
    before = count(Breach)
    for org_id in (world["b"].id, world["controller"].id, 999999):
        assert assert_error(partner.post(BASE, json=minimal(org_id)), 403)["code"] == "forbidden"
    assert count(Breach) == before
    db.session.expire_all()
    assert db.session.get(Breach, theirs["id"]).acknowledged_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize("role", ["committee", "legal", "admin"])
def test_other_roles_are_refused(world: dict[str, Any], factory: Any, api: Any, role: str) -> None:
    created = declare(world)
    client = api(factory.user(role, org=world["controller"]))
    assert_error(client.get(BASE), 403)
    assert_error(client.get(f"{BASE}/{created['id']}"), 403)
    assert_error(client.post(BASE, json=minimal(world["a"].id)), 403)
    for action in ("submit", "acknowledge", "assessment", "notifications"):
        assert_error(client.post(f"{BASE}/{created['id']}/{action}", json={}), 403)
    assert count(Breach) == 1


def test_the_auditor_reads_without_personal_data(world: dict[str, Any]) -> None:
    created = declare(world, contact_name="Camille Durand", cause="Vol dans la voiture")
    dpo = world["dpo_api"]
    url = f"{BASE}/{created['id']}"
    dpo.post(f"{url}/acknowledge", json={})
    dpo.post(f"{url}/assessment", json={"risk_level": "risk", "reasoning": "Adresses de M. Martin"})
    dpo.post(
        f"{url}/notifications", json={"kind": "initial", "notified_at": iso(utcnow()), "summary": "Résumé"}
    )
    auditor = world["auditor_api"]

    seen = auditor.get(url).json
    BreachOut.model_validate(seen)
    assert seen["personal_data_withheld"] is True
    for name in ("summary", "cause", "contact_name", "risk_reasoning"):
        assert seen[name] is None, name
    assert seen["notifications"][0]["summary"] is None
    # ... but the register's facts are there: reference, dates, nature, risk, the notification.
    assert seen["reference"] == created["reference"] and seen["status"] == "assessed"
    assert seen["risk_level"] == "risk" and seen["nature"] == ["confidentiality"]
    assert seen["cnil_deadline_at"] and seen["notifications"][0]["notified_at"]
    assert "Camille" not in str(seen) and "Martin" not in str(seen)
    assert auditor.get(BASE).json["items"][0]["summary"] is None
    # The auditor only reads.
    assert_error(auditor.post(BASE, json=minimal(world["a"].id)), 403)
    assert_error(auditor.post(f"{url}/acknowledge", json={}), 403)
    # The partner and the DPO read it all.
    assert world["pa_api"].get(url).json["cause"] == "Vol dans la voiture"
    assert dpo.get(url).json["contact_name"] == "Camille Durand"


# --- The list ---


def test_list_filters_and_pages(world: dict[str, Any]) -> None:
    dpo = world["dpo_api"]
    a1 = declare(world, org="a")
    a2 = declare(world, org="a")
    b1 = declare(world, org="b")
    dpo.post(f"{BASE}/{a2['id']}/acknowledge", json={})
    dpo.post(f"{BASE}/{a2['id']}/assessment", json={"risk_level": "none", "reasoning": "Données chiffrées."})

    body = dpo.get(BASE).json
    BreachPageOut.model_validate(body)
    assert set(body) == {"items", "page", "per_page", "total"}
    assert [b["id"] for b in body["items"]] == [b1["id"], a2["id"], a1["id"]]  # the latest first
    assert body["total"] == 3

    def ids(query: str) -> list[int]:
        response = dpo.get(f"{BASE}?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [b["id"] for b in response.json["items"]]

    assert ids(f"organisation_id={world['a'].id}") == [a2["id"], a1["id"]]
    assert ids("status=submitted") == [b1["id"], a1["id"]]
    assert ids("risk=none") == [a2["id"]]
    assert ids("risk=pending") == [b1["id"], a1["id"]]
    assert ids("risk=high") == []
    assert ids(f"year={to_paris(utcnow()).year}") == [b1["id"], a2["id"], a1["id"]]
    assert ids("year=2020") == []
    assert ids("status=&risk=") == [b1["id"], a2["id"], a1["id"]]  # empty: no filter

    page = dpo.get(f"{BASE}?per_page=2&page=2").json
    assert [b["id"] for b in page["items"]] == [a1["id"]]
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)

    for query, field in (
        ("status=lost", "status"),
        ("risk=medium", "risk"),
        ("organisation_id=abc", "organisation_id"),
        ("year=25", "year"),
        ("page=0", "page"),
        ("per_page=500", "per_page"),
        ("colour=red", "colour"),
        ("status=draft&status=closed", "status"),
    ):
        assert_error(dpo.get(f"{BASE}?{query}"), 422, field)


def test_openapi_documents_the_breach_routes(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    paths = doc["paths"]
    assert set(paths["/api/v1/breaches"]) == {"get", "post"}
    create = paths["/api/v1/breaches"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/BreachIn")
    assert "201" in create["responses"]
    for action in ("submit", "acknowledge", "assessment", "notifications"):
        assert "post" in paths[f"/api/v1/breaches/{{breach_id}}/{action}"]
    schemas = doc["components"]["schemas"]
    assert {"organisation_id", "summary", "discovered_at", "nature"} <= set(schemas["BreachIn"]["properties"])
    assert schemas["BreachIn"].get("additionalProperties") is False
    assert {"status", "reported_to_controller_at", "acknowledged_at", "aware_at", "cnil_deadline_at"} <= set(
        schemas["BreachOut"]["properties"]
    )


def test_a_closed_breach_shows_its_closure(world: dict[str, Any]) -> None:
    from compliance.breaches import services

    created = declare(world)
    dpo = world["dpo_api"]
    url = f"{BASE}/{created['id']}"
    dpo.post(f"{url}/acknowledge", json={})
    dpo.post(f"{url}/assessment", json={"risk_level": "none", "reasoning": "Chiffré."})
    breach = db.session.get(Breach, created["id"])
    assert breach is not None
    services.add_action(world["dpo"], breach, "Chiffrer les portables", "Service informatique", None)
    services.close_breach(world["dpo"], breach, "Clos sans notification.")
    db.session.commit()

    seen = world["pa_api"].get(url).json
    assert seen["status"] == BreachStatus.CLOSED.value
    assert seen["closed_at"].endswith("+00:00") and seen["closure_summary"] == "Clos sans notification."
    [action] = seen["actions"]
    assert action["id"] and action["owner"] == "Service informatique" and action["status"] == "planned"
    assert world["auditor_api"].get(url).json["actions"][0]["owner"] is None
    # Not notified (no risk): no CNIL clock is left open, and none is overdue.
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Deadline)
            .where(Deadline.kind == CNIL_KIND, Deadline.state == DeadlineState.OPEN)
        )
        == 0
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Deadline).where(Deadline.kind == COMMUNICATION_KIND)
        )
        == 0
    )
