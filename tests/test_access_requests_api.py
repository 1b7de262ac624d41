"""Requests from data subjects through the JSON API: the life of a request with the real SMTP test
server, the deadlines at the calendar's edges, what each role sees and may do, validation, filters,
pagination, the OpenAPI document and a query count that does not grow with the data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from compliance.access_requests.models import AccessRequest, Inquiry
from compliance.access_requests.serialise import InquiryOut, RequestOut, RequestPageOut
from tests.conftest import counting_queries
from tests.smtp import SmtpServer
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.orgs.services import add_person
from vigie.timeutil import PARIS

REQUESTS = "/api/v1/access-requests"
INQUIRIES = "/api/v1/inquiries"


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
    """The Département and its DPO, two partner libraries with one user each, an auditor."""
    dept = factory.org(
        "controller", name="Département des Hautes-Alpes", address="Place Saint-Arnoux\n05000 Gap"
    )
    a = factory.org("partner", name="Médiathèque de Gap")
    b = factory.org("partner", name="Bibliothèque de Briançon")
    w: dict[str, Any] = {"dept": dept, "a": a, "b": b}
    w["dpo"] = factory.user("dpo", org=dept, email="dpo@hautes-alpes.fr")
    w["auditor"] = factory.user("auditor", org=dept)
    w["user_a"] = factory.user("partner", org=a, email="direction@mediatheque-gap.fr")
    w["user_b"] = factory.user("partner", org=b, email="accueil@bib-briancon.fr")
    for name in ("dpo", "auditor", "user_a", "user_b"):
        w[name + "_api"] = api(w[name])
    return w


def iso(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat(timespec="seconds")


def ago(**delta: float) -> str:
    return iso(datetime.now(PARIS) - timedelta(**delta))


def body(**overrides: Any) -> dict[str, Any]:
    """The contract's minimal body of POST /api/v1/access-requests."""
    return {
        "right": "access",
        "received_at": "2025-05-06T10:00:00+02:00",
        "subject_name": "Camille Martin",
        "subject_email": "camille.martin@example.org",
    } | overrides


def record(client: Any, org: Any, **overrides: Any) -> dict[str, Any]:
    response = client.post(REQUESTS, json=body(received_by_organisation_id=org.id, **overrides))
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)


def ask(client: Any, request_id: int, org: Any, **fields: Any) -> dict[str, Any]:
    response = client.post(f"{REQUESTS}/{request_id}/inquiries", json={"organisation_id": org.id, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return dict(error)


def mails_to(smtp_server: SmtpServer, address: str) -> list[Any]:
    return [
        m for m, e in zip(smtp_server.messages, smtp_server.envelopes, strict=True) if address in e.rcpt_tos
    ]


# --- The life of a request ---


def test_the_life_of_a_request(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    dpo, a_api, b_api = world["dpo_api"], world["user_a_api"], world["user_b_api"]
    a, b = world["a"], world["b"]

    # The Département receives the request: no forwarding, one month to answer.
    created = record(dpo, world["dept"])  # received 2025-05-06
    RequestOut.model_validate(created)
    assert created["id"] and created["reference"].startswith("DEM-")
    assert created["status"] == "open" and created["right"] == "access"
    assert created["forwarded_at"] is None and created["forwarding_late"] is False
    assert created["subject_name"] == "Camille Martin"
    assert created["inquiries"] == []
    request_id = created["id"]

    # The DPO asks both libraries: A with the minimal body (search details built from the request), B
    # with what the person wrote (a card number). Each library's users are e-mailed, without the name.
    asked_a = ask(dpo, request_id, a, requested_at=ago(minutes=1))
    InquiryOut.model_validate(asked_a)
    assert asked_a["request_id"] == request_id and asked_a["organisation_id"] == a.id
    assert "Camille Martin" in asked_a["search_details"]  # "Name: Camille Martin", in the DPO's language
    assert "camille.martin@example.org" not in asked_a["search_details"]  # no more than the name
    assert asked_a["answered_at"] is None and asked_a["holds_data"] is None
    assert asked_a["answered_on_time"] is None and asked_a["details"] is None
    due_at = datetime.fromisoformat(asked_a["due_at"])
    assert due_at.utcoffset() is not None and due_at.strftime("%H:%M:%S") == "23:59:59"
    assert due_at.date() == date.fromisoformat(asked_a["due_date"])
    asked_b = ask(
        dpo, request_id, b, requested_at="2025-05-07T18:00:00+02:00", search_details="Carte n° 0042-17"
    )
    assert asked_b["search_details"] == "Carte n° 0042-17"
    assert (asked_b["due_date"], asked_b["due_at"]) == ("2025-05-13", "2025-05-13T23:59:59+02:00")
    assert asked_b["overdue"] is True

    (to_a,) = mails_to(smtp_server, world["user_a"].email)
    (to_b,) = mails_to(smtp_server, world["user_b"].email)
    assert created["reference"] in to_a["Subject"] and "13/05/2025" in to_b["Subject"]
    for mail in (to_a, to_b):
        text = mail.get_content()
        assert "Camille" not in text and "0042-17" not in text  # the details stay in Vigie
        assert "/inquiries/" in text

    # B sees only its own inquiry: A's is as absent as a missing one, to read and to answer.
    listing = b_api.get(INQUIRIES).json
    assert [i["id"] for i in listing["items"]] == [asked_b["id"]]
    assert_error(b_api.get(f"{INQUIRIES}/{asked_a['id']}"), 404)
    assert_error(b_api.post(f"{INQUIRIES}/{asked_a['id']}/answer", json={"holds_data": False}), 404)
    # Nor does a library see the request it did not record, nor the person's identity.
    assert_error(a_api.get(f"{REQUESTS}/{request_id}"), 404)
    assert a_api.get(REQUESTS).json["items"] == []
    assert "subject_name" not in a_api.get(f"{INQUIRIES}/{asked_a['id']}").json

    # The DPO asks; it does not answer.
    assert_error(dpo.post(f"{INQUIRIES}/{asked_a['id']}/answer", json={"holds_data": True}), 403)

    # A answers on time, with what it holds; B, late, holds nothing.
    answered_a = a_api.post(
        f"{INQUIRIES}/{asked_a['id']}/answer",
        json={"holds_data": True, "details": "Compte lecteur n° 0042, 12 prêts en 2024."},
    )
    assert answered_a.status_code == 200, answered_a.get_data(as_text=True)
    assert answered_a.json["holds_data"] is True
    assert answered_a.json["details"] == "Compte lecteur n° 0042, 12 prêts en 2024."
    assert answered_a.json["answered_at"] and answered_a.json["answered_on_time"] is True
    assert_error(a_api.post(f"{INQUIRIES}/{asked_a['id']}/answer", json={"holds_data": False}), 409)
    answered_b = b_api.post(f"{INQUIRIES}/{asked_b['id']}/answer", json={"holds_data": False, "details": ""})
    assert answered_b.status_code == 200
    assert answered_b.json["holds_data"] is False and answered_b.json["details"] is None
    assert answered_b.json["answered_on_time"] is False and answered_b.json["overdue"] is False
    # B still sees nothing of A's answer.
    assert [i["id"] for i in b_api.get(INQUIRIES).json["items"]] == [asked_b["id"]]

    # The inquiries' clocks stopped.
    states = db.session.scalars(sa.select(Deadline.state).where(Deadline.subject_type == "inquiry"))
    assert list(states) == [DeadlineState.MET, DeadlineState.MET]

    # The DPO sees the whole file, then answers the person: the request is closed.
    full = dpo.get(f"{REQUESTS}/{request_id}").json
    assert [(i["organisation_id"], i["holds_data"]) for i in full["inquiries"]] == [
        (a.id, True),
        (b.id, False),
    ]
    answered = dpo.post(
        f"{REQUESTS}/{request_id}/answer",
        json={"outcome": "granted", "sent_at": ago(minutes=1), "channel": "letter"},
    )
    assert answered.status_code == 200, answered.get_data(as_text=True)
    assert answered.json["status"] == "answered" and answered.json["outcome"] == "granted"
    assert answered.json["answered_at"] and answered.json["overdue"] is False
    assert_error(ask_raw(dpo, request_id, world["b"]), 409)
    # The auditor reads everything, identity included.
    seen = world["auditor_api"].get(f"{REQUESTS}/{request_id}").json
    assert seen["subject_name"] == "Camille Martin" and len(seen["inquiries"]) == 2


def ask_raw(client: Any, request_id: int, org: Any, **fields: Any) -> Any:
    return client.post(f"{REQUESTS}/{request_id}/inquiries", json={"organisation_id": org.id, **fields})


def test_a_partner_records_a_request_and_forwards_it(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    a_api, a = world["user_a_api"], world["a"]
    created = record(
        a_api, a, received_at=ago(hours=2), subject_address="4 rue Carnot\n05000 Gap", channel="accueil"
    )
    assert created["received_by_organisation_id"] == a.id
    assert created["forwarded_at"] is not None
    assert 7100 <= created["forwarding_delay_seconds"] <= 7300
    assert created["forwarding_late"] is False
    # The partner met the person: it sees the identity of the requests it recorded.
    assert created["subject_name"] == "Camille Martin"
    assert created["subject_address"] == "4 rue Carnot\n05000 Gap"

    (mail,) = mails_to(smtp_server, world["dpo"].email)
    assert created["reference"] in mail["Subject"] and "Médiathèque de Gap" in mail["Subject"]
    assert "Camille" not in mail.get_content()

    late = record(a_api, a, received_at=ago(days=3))
    assert late["forwarding_late"] is True

    # Its list holds its own requests only; B sees neither.
    assert {r["id"] for r in a_api.get(REQUESTS).json["items"]} == {created["id"], late["id"]}
    assert world["user_b_api"].get(REQUESTS).json["total"] == 0
    assert_error(world["user_b_api"].get(f"{REQUESTS}/{created['id']}"), 404)

    # When the DPO asks A and B, A sees its own inquiry in its request, never B's.
    ask(world["dpo_api"], created["id"], a)
    ask(world["dpo_api"], created["id"], world["b"])
    mine = a_api.get(f"{REQUESTS}/{created['id']}").json
    assert [i["organisation_id"] for i in mine["inquiries"]] == [a.id]
    assert len(world["dpo_api"].get(f"{REQUESTS}/{created['id']}").json["inquiries"]) == 2


def test_a_partner_records_only_for_its_own_organisation(world: dict[str, Any], factory: Any) -> None:
    a_api = world["user_a_api"]
    for org_id in (world["b"].id, world["dept"].id, 999999):
        response = a_api.post(REQUESTS, json=body(received_by_organisation_id=org_id))
        assert_error(response, 403)
    assert db.session.scalar(sa.select(sa.func.count(AccessRequest.id))) == 0
    # The DPO records for a partner (it then counts as forwarded), not for an unknown organisation.
    assert record(world["dpo_api"], world["b"])["forwarded_at"] is not None
    unknown = world["dpo_api"].post(REQUESTS, json=body(received_by_organisation_id=999999))
    assert_error(unknown, 422, "received_by_organisation_id")
    other = factory.org("other", name="Bibliothèque départementale")
    assert_error(
        world["dpo_api"].post(REQUESTS, json=body(received_by_organisation_id=other.id)),
        422,
        "received_by_organisation_id",
    )


@pytest.mark.parametrize("role", ["committee", "legal", "admin"])
def test_roles_without_compliance_are_refused(
    world: dict[str, Any], factory: Any, api: Any, role: str
) -> None:
    created = record(world["dpo_api"], world["dept"])
    inquiry = ask(world["dpo_api"], created["id"], world["a"])
    client = api(factory.user(role, org=world["dept"]))
    assert_error(client.get(REQUESTS), 403)
    assert_error(client.get(f"{REQUESTS}/{created['id']}"), 403)
    assert_error(client.post(REQUESTS, json=body(received_by_organisation_id=world["dept"].id)), 403)
    assert_error(client.get(INQUIRIES), 403)
    assert_error(client.post(f"{INQUIRIES}/{inquiry['id']}/answer", json={"holds_data": False}), 403)


def test_the_auditor_reads_but_does_not_act(world: dict[str, Any]) -> None:
    created = record(world["dpo_api"], world["dept"])
    inquiry = ask(world["dpo_api"], created["id"], world["a"])
    auditor = world["auditor_api"]
    assert auditor.get(REQUESTS).json["total"] == 1
    assert auditor.get(INQUIRIES).json["total"] == 1
    assert_error(auditor.post(REQUESTS, json=body(received_by_organisation_id=world["dept"].id)), 403)
    assert_error(ask_raw(auditor, created["id"], world["b"]), 403)
    assert_error(auditor.post(f"{INQUIRIES}/{inquiry['id']}/answer", json={"holds_data": False}), 403)
    # A partner may not ask another partner either.
    assert_error(ask_raw(world["user_a_api"], created["id"], world["b"]), 403)


# --- Deadlines at the calendar's edges ---


@pytest.mark.parametrize(
    ("received_at", "due_date", "due_at"),
    [
        # 31 January: February has no 31st, so its last day.
        ("2025-01-31T10:00:00+01:00", "2025-02-28", "2025-02-28T23:59:59+01:00"),
        # 1 May is a public holiday: the next working day.
        ("2025-04-01T09:00:00+02:00", "2025-05-02", "2025-05-02T23:59:59+02:00"),
        # 31 August 2025 is a Sunday: Monday 1 September.
        ("2025-07-31T10:00:00+02:00", "2025-09-01", "2025-09-01T23:59:59+02:00"),
        # 00:30 in Paris on 1 February (UTC still says 31 January): 1 March, a Saturday -> Monday 3.
        ("2025-01-31T23:30:00+00:00", "2025-03-03", "2025-03-03T23:59:59+01:00"),
        # 30 June 2025 is a Monday: no roll.
        ("2025-05-30T10:00:00+02:00", "2025-06-30", "2025-06-30T23:59:59+02:00"),
    ],
)
def test_response_due_date(world: dict[str, Any], received_at: str, due_date: str, due_at: str) -> None:
    created = record(world["dpo_api"], world["dept"], received_at=received_at)
    assert created["response_due_date"] == due_date
    assert created["response_due_at"] == due_at
    assert created["overdue"] is True  # 2025 is past, and nobody answered
    assert created["received_at"] == datetime.fromisoformat(received_at).astimezone(PARIS).isoformat()


def test_extension_to_three_months(world: dict[str, Any]) -> None:
    dpo = world["dpo_api"]
    created = record(dpo, world["dept"], received_at="2025-05-30T10:00:00+02:00")
    url = f"{REQUESTS}/{created['id']}/extension"
    response = dpo.post(
        url, json={"reason": "Six bibliothèques à interroger.", "notified_at": "2025-06-10T11:00:00+02:00"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    # 30 August 2025 is a Saturday: Monday 1 September.
    assert response.json["response_due_date"] == "2025-09-01"
    assert (
        response.json["extended"] is True
        and response.json["extension_reason"] == "Six bibliothèques à interroger."
    )
    again = dpo.post(url, json={"reason": "Encore.", "notified_at": "2025-06-11T11:00:00+02:00"})
    assert_error(again, 409)
    assert_error(
        dpo.post(url, json={"reason": "x", "notified_at": "2025-06-10T11:00:00"}), 422, "notified_at"
    )


@pytest.mark.parametrize(
    ("requested_at", "due_date", "due_at"),
    [
        # Wednesday evening; Thursday 8 May is a public holiday: Fri 9, Mon 12, Tue 13.
        ("2025-05-07T18:00:00+02:00", "2025-05-13", "2025-05-13T23:59:59+02:00"),
        # Good Friday (a working day outside Alsace-Moselle), then Easter Monday: Tue 22 to Thu 24.
        ("2025-04-18T16:00:00+02:00", "2025-04-24", "2025-04-24T23:59:59+02:00"),
        # A Saturday: Mon 12, Tue 13, Wed 14.
        ("2025-05-10T10:00:00+02:00", "2025-05-14", "2025-05-14T23:59:59+02:00"),
        # The evening before a long weekend (All Saints' Day on a Saturday): Mon 3 to Wed 5 November.
        ("2025-10-31T21:30:00+01:00", "2025-11-05", "2025-11-05T23:59:59+01:00"),
        # Christmas Eve: 25 December off, Fri 26, Mon 29, Tue 30.
        ("2025-12-24T18:00:00+01:00", "2025-12-30", "2025-12-30T23:59:59+01:00"),
        # Thursday 22:30 UTC is already Friday in Paris: Mon 19, Tue 20, Wed 21 (not Tue 20).
        ("2025-05-15T22:30:00+00:00", "2025-05-21", "2025-05-21T23:59:59+02:00"),
    ],
)
def test_inquiry_due_date(world: dict[str, Any], requested_at: str, due_date: str, due_at: str) -> None:
    created = record(world["dpo_api"], world["dept"], received_at="2025-04-01T09:00:00+02:00")
    inquiry = ask(world["dpo_api"], created["id"], world["a"], requested_at=requested_at)
    assert (inquiry["due_date"], inquiry["due_at"]) == (due_date, due_at)
    stored = db.session.get(Inquiry, inquiry["id"])
    assert stored is not None and stored.due_date == date.fromisoformat(due_date)


# --- Validation ---


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"received_at": "2025-05-06T10:00:00"}, "received_at"),  # no offset
        ({"received_at": "yesterday"}, "received_at"),
        ({"right": "deletion"}, "right"),
        ({"subject_name": "   "}, "subject_name"),
        ({"subject_email": "not an address"}, "subject_email"),
        ({"unexpected": 1}, "unexpected"),
        ({"received_at": "2099-01-01T10:00:00+01:00"}, "received_at"),  # in the future
    ],
)
def test_request_validation(world: dict[str, Any], overrides: dict[str, Any], field: str) -> None:
    response = world["dpo_api"].post(
        REQUESTS, json=body(received_by_organisation_id=world["dept"].id) | overrides
    )
    assert_error(response, 422, field)
    assert db.session.scalar(sa.select(sa.func.count(AccessRequest.id))) == 0


def test_missing_fields_are_named(world: dict[str, Any]) -> None:
    error = assert_error(world["dpo_api"].post(REQUESTS, json={}), 422)
    assert {"right", "received_at", "subject_name", "received_by_organisation_id"} <= set(error["fields"])


def test_inquiry_and_answer_validation(world: dict[str, Any]) -> None:
    dpo = world["dpo_api"]
    created = record(dpo, world["dept"])
    assert_error(
        ask_raw(dpo, created["id"], world["a"], requested_at="2025-05-07T18:00:00"), 422, "requested_at"
    )
    assert_error(ask_raw(dpo, created["id"], world["dept"]), 422, "organisation_id")  # not a partner
    unknown = dpo.post(f"{REQUESTS}/{created['id']}/inquiries", json={"organisation_id": 999999})
    assert_error(unknown, 422, "organisation_id")
    assert_error(ask_raw(dpo, created["id"], world["a"], search_details="x", extra=True), 422, "extra")
    assert_error(dpo.post(f"{REQUESTS}/999999/inquiries", json={"organisation_id": world["a"].id}), 404)
    inquiry = ask(dpo, created["id"], world["a"])
    assert_error(ask_raw(dpo, created["id"], world["a"]), 409, "organisation_id")

    a_api = world["user_a_api"]
    url = f"{INQUIRIES}/{inquiry['id']}/answer"
    assert_error(a_api.post(url, json={"holds_data": "yes"}), 422, "holds_data")
    assert_error(a_api.post(url, json={"details": "x"}), 422, "holds_data")
    assert_error(a_api.post(url, json={"holds_data": True}), 422, "details")  # holds what?
    assert_error(a_api.post(url, json={"holds_data": True, "details": "x", "file": "y"}), 422, "file")
    assert_error(a_api.post(f"{INQUIRIES}/999999/answer", json={"holds_data": False}), 404)
    assert db.session.get(Inquiry, inquiry["id"]).answered_at is None  # type: ignore[union-attr]

    answer = f"{REQUESTS}/{created['id']}/answer"
    partial = {"outcome": "partial", "sent_at": ago(minutes=1), "channel": "letter"}
    assert_error(dpo.post(answer, json=partial), 422, "legal_ground")
    assert_error(dpo.post(answer, json=partial | {"outcome": "maybe"}), 422, "outcome")
    assert_error(dpo.post(answer, json=partial | {"sent_at": "2025-06-01T10:00:00"}), 422, "sent_at")


@pytest.mark.parametrize(
    "path",
    [
        REQUESTS,
        f"{REQUESTS}/{{request}}/inquiries",
        f"{INQUIRIES}/{{inquiry}}/answer",
        f"{REQUESTS}/{{request}}/answer",
    ],
)
@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_malformed_json_is_400(world: dict[str, Any], path: str, raw: bytes) -> None:
    created = record(world["dpo_api"], world["dept"])
    inquiry = ask(world["dpo_api"], created["id"], world["a"])
    client = world["user_a_api"] if path.startswith(INQUIRIES) else world["dpo_api"]
    url = path.format(request=created["id"], inquiry=inquiry["id"])
    response = client.post(url, data=raw, content_type="application/json")
    assert assert_error(response, 400)["code"] == "malformed_body"


# --- Lists ---


def test_filters_and_pages(world: dict[str, Any]) -> None:
    dpo = world["dpo_api"]
    old = record(dpo, world["dept"], received_at="2025-01-31T10:00:00+01:00")  # overdue
    recent = record(dpo, world["dept"], received_at=ago(days=1))
    from_a = record(world["user_a_api"], world["a"], received_at=ago(hours=1))
    ask(dpo, recent["id"], world["b"])
    refusal = {
        "outcome": "refused",
        "legal_ground": "Demande manifestement infondée (art. 12(5)).",
        "sent_at": ago(hours=1),
        "channel": "letter",
    }
    assert dpo.post(f"{REQUESTS}/{old['id']}/answer", json=refusal).status_code == 200

    def ids(query: str) -> list[int]:
        page = dpo.get(f"{REQUESTS}{query}")
        assert page.status_code == 200, page.get_data(as_text=True)
        RequestPageOut.model_validate(page.json)
        return [r["id"] for r in page.json["items"]]

    assert ids("") == [from_a["id"], recent["id"], old["id"]]  # newest received first
    assert ids("?status=answered") == [old["id"]]
    assert ids("?status=open&overdue=") == [from_a["id"], recent["id"]]
    assert ids("?overdue=true") == []  # the overdue one was answered
    late = record(dpo, world["dept"], received_at="2025-03-01T10:00:00+01:00")
    assert ids("?overdue=true") == [late["id"]]
    assert late["id"] not in ids("?overdue=false")
    assert ids("?overdue=1") == [late["id"]]  # as the web list's checkbox sends it
    # A partner: the requests it received or was asked about.
    assert ids(f"?organisation_id={world['a'].id}") == [from_a["id"]]
    assert ids(f"?organisation_id={world['b'].id}") == [recent["id"]]
    page = dpo.get(f"{REQUESTS}?per_page=2&page=2").json
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 4)
    assert [r["id"] for r in page["items"]] == [late["id"], old["id"]]
    # A partner's organisation_id filter only narrows its own list.
    a_api = world["user_a_api"]
    assert [r["id"] for r in a_api.get(f"{REQUESTS}?organisation_id={world['b'].id}").json["items"]] == []

    inquiries = dpo.get(f"{INQUIRIES}?answered=false&request_id={recent['id']}").json
    assert inquiries["total"] == 1 and inquiries["items"][0]["organisation_id"] == world["b"].id
    assert dpo.get(f"{INQUIRIES}?answered=true").json["total"] == 0


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{REQUESTS}?status=closed", "status"),
        (f"{REQUESTS}?overdue=maybe", "overdue"),
        (f"{REQUESTS}?organisation_id=abc", "organisation_id"),
        (f"{REQUESTS}?page=0", "page"),
        (f"{REQUESTS}?per_page=500", "per_page"),
        (f"{REQUESTS}?statut=open", "statut"),
        (f"{REQUESTS}?status=open&status=answered", "status"),
        (f"{INQUIRIES}?answered=yes", "answered"),
        (f"{INQUIRIES}?request_id=-1", "request_id"),
    ],
)
def test_bad_filters_are_422(world: dict[str, Any], url: str, field: str) -> None:
    assert_error(world["dpo_api"].get(url), 422, field)


# --- The OpenAPI document ---


def test_openapi_documents_the_access_request_paths(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    paths = doc["paths"]
    create = paths["/api/v1/access-requests"]["post"]
    schema = doc["components"]["schemas"]["RequestIn"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RequestIn")
    # The contract's minimal body is exactly what is required.
    assert set(schema["required"]) == {"right", "received_at", "subject_name", "received_by_organisation_id"}
    assert schema["additionalProperties"] is False
    assert set(doc["components"]["schemas"]["InquiryIn"]["required"]) == {"organisation_id"}
    assert set(doc["components"]["schemas"]["InquiryAnswerIn"]["required"]) == {"holds_data"}
    assert {p["name"] for p in paths["/api/v1/access-requests"]["get"]["parameters"]} == {
        "status",
        "overdue",
        "organisation_id",
        "page",
        "per_page",
    }
    for path, method in [
        ("/api/v1/access-requests/{request_id}", "get"),
        ("/api/v1/access-requests/{request_id}/inquiries", "post"),
        ("/api/v1/access-requests/{request_id}/answer", "post"),
        ("/api/v1/access-requests/{request_id}/extension", "post"),
        ("/api/v1/inquiries", "get"),
        ("/api/v1/inquiries/{inquiry_id}", "get"),
        ("/api/v1/inquiries/{inquiry_id}/answer", "post"),
    ]:
        assert paths[path][method]["security"] == [{"bearer": []}]
    assert "InquiryOut" in doc["components"]["schemas"]


# --- SQL queries do not grow with the data ---


@pytest.mark.parametrize("url", [REQUESTS, INQUIRIES])
def test_query_count_does_not_grow_with_the_data(world: dict[str, Any], url: str) -> None:
    dpo = world["dpo_api"]

    def add(n: int) -> None:
        for _ in range(n):
            created = record(dpo, world["dept"], received_at=ago(days=1))
            ask(dpo, created["id"], world["a"])
            ask(dpo, created["id"], world["b"])

    add(1)
    with counting_queries() as few:
        assert len(dpo.get(url).json["items"]) in (1, 2)
    add(6)
    with counting_queries() as many:
        assert len(dpo.get(url).json["items"]) in (7, 14)
    assert len(many) == len(few)


def test_referents_are_emailed_too(world: dict[str, Any], smtp_server: SmtpServer) -> None:
    add_person(world["a"], "Lucie Roux", email="lucie.roux@mediatheque-gap.fr", is_digital_referent=True)
    db.session.commit()
    created = record(world["dpo_api"], world["dept"])
    ask(world["dpo_api"], created["id"], world["a"])
    assert len(mails_to(smtp_server, "lucie.roux@mediatheque-gap.fr")) == 1
    assert len(mails_to(smtp_server, world["user_a"].email)) == 1
    assert mails_to(smtp_server, world["user_b"].email) == []
