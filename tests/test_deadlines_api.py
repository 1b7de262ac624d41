"""The deadline list of the JSON API and of `vigie deadlines list`: one shape, filters, pagination,
tenant isolation, and a query count that does not grow with the data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import counting_queries
from vigie.database import utcnow
from vigie.deadlines.calendar import end_of_day, paris_date
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.serialise import DeadlineOut, DeadlinePageOut
from vigie.deadlines.services import cancel_deadline, meet_deadline, open_deadline
from vigie.extensions import db
from vigie.orgs.models import Organisation

ITEM_KEYS = {
    "id",
    "kind",
    "kind_label",
    "title",
    "organisation_id",
    "organisation_name",
    "subject_type",
    "subject_id",
    "status",
    "due_at",
    "due_date",
    "met_at",
    "opened_at",
}


def day_based(org: Organisation, title: str, days: int, kind: str = "access.inquiry") -> Deadline:
    due = paris_date(utcnow()) + timedelta(days=days)
    return open_deadline(kind, org, title, end_of_day(due), due_date=due, subject=("inquiry", 7))


def hour_based(org: Organisation, title: str, hours: float) -> Deadline:
    return open_deadline("breach.cnil_notification", org, title, utcnow() + timedelta(hours=hours))


@pytest.fixture
def api(app: Flask, factory: Any) -> Any:
    def client_for(user: Any) -> Any:
        token = factory.token(user)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return client_for


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    """Two partners with deadlines of every status, one controller-only deadline, one governance one."""
    a = factory.org("partner", name="Commune de Forcalquier")
    b = factory.org("partner", name="Commune de Manosque")
    d: dict[str, Any] = {"a": a, "b": b}
    d["a_later"] = day_based(a, "Inquiry A, in ten days", 10)
    d["a_soon"] = hour_based(a, "Breach A, CNIL in 20 hours", 20)  # due soon (24 h horizon)
    d["a_overdue"] = hour_based(a, "Breach A, CNIL overdue", -3)
    d["a_met"] = day_based(a, "Inquiry A, answered", 2)
    meet_deadline(d["a_met"])
    d["a_cancelled"] = day_based(a, "Inquiry A, withdrawn", 4)
    cancel_deadline(d["a_cancelled"], "The request was withdrawn.")
    d["a_response"] = day_based(a, "Answer the reader", 20, kind="access.response")  # DPO/auditor only
    d["b_inquiry"] = day_based(b, "Inquiry B", 3)
    d["b_breach"] = hour_based(b, "Breach B, CNIL", 50)
    d["gov"] = day_based(a, "Yearly meeting", 100, kind="governance.yearly_meeting")
    db.session.commit()
    return d


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [i["id"] for i in items]


def _assert_error(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    assert field in error["fields"], error
    assert error["message"]
    return dict(error)


# --- Shape ---


def test_item_shape(api: Any, factory: Any, world: dict[str, Any]) -> None:
    body = api(factory.user("dpo")).get("/api/v1/deadlines").json
    assert set(body) == {"items", "page", "per_page", "total"}
    DeadlinePageOut.model_validate(body)
    by_id = {i["id"]: i for i in body["items"]}
    inquiry = by_id[world["a_later"].id]
    assert set(inquiry) == ITEM_KEYS
    assert inquiry["kind"] == "access.inquiry" and inquiry["kind_label"]
    assert inquiry["organisation_id"] == world["a"].id
    assert inquiry["organisation_name"] == "Commune de Forcalquier"
    assert (inquiry["subject_type"], inquiry["subject_id"]) == ("inquiry", 7)
    assert inquiry["status"] == "open"
    due_date = date.fromisoformat(inquiry["due_date"])
    due_at = datetime.fromisoformat(inquiry["due_at"])
    assert inquiry["due_at"].endswith("+00:00") and due_at.utcoffset() == timedelta(0)
    assert due_at == end_of_day(due_date)  # 23:59:59 in Paris that day
    assert inquiry["met_at"] is None
    assert datetime.fromisoformat(inquiry["opened_at"]).tzinfo is not None

    breach = by_id[world["a_soon"].id]
    assert breach["due_date"] is None and breach["status"] == "due_soon"
    assert datetime.fromisoformat(breach["due_at"]) == world["a_soon"].due_at
    assert by_id[world["a_overdue"].id]["status"] == "overdue"
    met = by_id[world["a_met"].id]
    assert met["status"] == "met_on_time" and met["met_at"].endswith("+00:00")
    assert by_id[world["a_cancelled"].id]["status"] == "cancelled"


def test_one_deadline(api: Any, factory: Any, world: dict[str, Any]) -> None:
    client = api(factory.user("dpo"))
    body = client.get(f"/api/v1/deadlines/{world['b_breach'].id}").json
    DeadlineOut.model_validate(body)
    assert body["id"] == world["b_breach"].id and body["organisation_name"] == "Commune de Manosque"
    missing = client.get("/api/v1/deadlines/999999")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"


def test_sorted_soonest_due_first(api: Any, factory: Any, world: dict[str, Any]) -> None:
    items = api(factory.user("dpo")).get("/api/v1/deadlines").json["items"]
    due = [datetime.fromisoformat(i["due_at"]) for i in items]
    assert due == sorted(due)


# --- Filters ---


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=overdue", ["a_overdue"]),
        ("status=due", ["a_soon"]),
        ("status=due_soon", ["a_soon"]),
        ("status=open", ["a_later", "a_soon", "a_overdue", "a_response", "b_inquiry", "b_breach"]),
        ("status=met", ["a_met"]),
        ("status=met_on_time", ["a_met"]),
        ("status=met_late", []),
        ("status=cancelled", ["a_cancelled"]),
        ("kind=breach.cnil_notification", ["a_soon", "a_overdue", "b_breach"]),
        ("kind=breach.cnil_notification&status=open&organisation_id={b}", ["b_breach"]),
        ("organisation_id={b}", ["b_inquiry", "b_breach"]),
        ("kind=governance.yearly_meeting", []),  # a kind the DPO does not see
        # The contract's own example: empty values are no filter.
        (
            "status=&kind=&organisation_id=",
            ["a_later", "a_soon", "a_overdue", "a_met", "a_cancelled", "a_response", "b_inquiry", "b_breach"],
        ),
    ],
)
def test_filters(api: Any, factory: Any, world: dict[str, Any], query: str, expected: list[str]) -> None:
    url = "/api/v1/deadlines?" + query.format(b=world["b"].id)
    body = api(factory.user("dpo")).get(url).json
    assert sorted(ids(body["items"])) == sorted(world[k].id for k in expected)
    assert body["total"] == len(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=late", "status"),
        ("status=OVERDUE", "status"),
        ("kind=breach.unknown", "kind"),
        ("organisation_id=abc", "organisation_id"),
        ("organisation_id=-1", "organisation_id"),
        ("organisation_id=1.5", "organisation_id"),
        ("organisation_id=٣", "organisation_id"),  # a digit, but not an ASCII one
        ("page=0", "page"),
        ("page=x", "page"),
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
        ("organization_id=1", "organization_id"),  # misspelt: refused, not ignored
        ("status=open&status=met", "status"),
    ],
)
def test_bad_filters_are_422(api: Any, factory: Any, query: str, field: str) -> None:
    response = api(factory.user("dpo")).get("/api/v1/deadlines?" + query)
    error = _assert_error(response, 422, field)
    assert error["code"] == "validation_failed"


def test_several_bad_filters_are_all_named(api: Any, factory: Any) -> None:
    response = api(factory.user("dpo")).get("/api/v1/deadlines?status=x&kind=y&organisation_id=z")
    error = _assert_error(response, 422, "status")
    assert set(error["fields"]) == {"status", "kind", "organisation_id"}


# --- Pagination ---


def test_pagination(api: Any, factory: Any, world: dict[str, Any]) -> None:
    client = api(factory.user("dpo"))
    everything = client.get("/api/v1/deadlines?per_page=200").json
    assert everything["total"] == 8 and everything["per_page"] == 200
    pages = [client.get(f"/api/v1/deadlines?per_page=3&page={n}").json for n in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [3, 3, 2, 0]
    assert all(p["total"] == 8 and p["per_page"] == 3 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    assert [i for p in pages for i in ids(p["items"])] == ids(everything["items"])
    default = client.get("/api/v1/deadlines").json
    assert (default["page"], default["per_page"]) == (1, 50)


# --- Authorisation and isolation ---


def test_a_partner_sees_only_its_own(api: Any, factory: Any, world: dict[str, Any]) -> None:
    partner = factory.user("partner", org=world["a"])
    client = api(partner)
    body = client.get("/api/v1/deadlines").json
    own_visible = ["a_later", "a_soon", "a_overdue", "a_met", "a_cancelled"]
    assert sorted(ids(body["items"])) == sorted(world[k].id for k in own_visible)
    assert {i["organisation_id"] for i in body["items"]} == {world["a"].id}
    # Another partner's organisation: an empty list, as for an organisation that does not exist.
    other = client.get(f"/api/v1/deadlines?organisation_id={world['b'].id}").json
    assert other["items"] == [] and other["total"] == 0
    assert client.get("/api/v1/deadlines?organisation_id=999999").json["total"] == 0
    # Another partner's deadline, and a kind the partner does not see, are absent.
    for key in ("b_inquiry", "b_breach", "a_response", "gov"):
        response = client.get(f"/api/v1/deadlines/{world[key].id}")
        assert response.status_code == 404, key
    assert client.get(f"/api/v1/deadlines/{world['a_later'].id}").status_code == 200
    # Filters cannot widen the set.
    assert client.get("/api/v1/deadlines?kind=access.response").json["total"] == 0


def test_roles_see_their_kinds(api: Any, factory: Any, world: dict[str, Any]) -> None:
    committee = api(factory.user("committee")).get("/api/v1/deadlines").json
    assert ids(committee["items"]) == [world["gov"].id]
    assert api(factory.user("admin")).get("/api/v1/deadlines").json["total"] == 0
    auditor = api(factory.user("auditor")).get("/api/v1/deadlines").json
    assert auditor["total"] == 9


def test_deactivated_users_token_is_refused(api: Any, factory: Any, world: dict[str, Any]) -> None:
    from vigie.auth.services import set_active

    user = factory.user("dpo")
    client = api(user)
    assert client.get("/api/v1/deadlines").status_code == 200
    set_active(user, False)
    db.session.commit()
    assert client.get("/api/v1/deadlines").status_code == 401


def test_openapi_documents_the_deadline_paths(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    listing = doc["paths"]["/api/v1/deadlines"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "status",
        "kind",
        "organisation_id",
        "page",
        "per_page",
    }
    schema = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/DeadlinePageOut")
    assert "DeadlineOut" in doc["components"]["schemas"]
    one = doc["paths"]["/api/v1/deadlines/{deadline_id}"]["get"]
    assert one["parameters"][0]["name"] == "deadline_id"
    assert one["security"] == [{"bearer": []}]


# --- SQL queries do not grow with the data ---


def _bulk_deadlines(orgs: list[Organisation], n: int, start: int) -> None:
    now = utcnow()
    kinds = ("access.inquiry", "breach.cnil_notification", "processor.staff_review")
    rows = []
    for i in range(start, start + n):
        due_at = now + timedelta(hours=(i % 400) - 100)
        met = i % 7 == 3
        rows.append(
            {
                "kind": kinds[i % 3],
                "organisation_id": orgs[i % len(orgs)].id,
                "title": f"Deadline {i}",
                "state": DeadlineState.MET if met else DeadlineState.OPEN,
                "opened_at": now - timedelta(days=3),
                "due_at": due_at,
                "due_date": None if kinds[i % 3] == "breach.cnil_notification" else paris_date(due_at),
                "met_at": now - timedelta(hours=1) if met else None,
                "subject_type": "inquiry",
                "subject_id": i,
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(sa.insert(Deadline), rows)
    db.session.commit()


@pytest.mark.parametrize("role", ["dpo", "partner"])
def test_query_count_does_not_grow_with_the_data(api: Any, factory: Any, role: str) -> None:
    orgs = [factory.org("partner") for _ in range(5)]
    client = api(factory.user(role, org=orgs[0]))
    url = "/api/v1/deadlines?per_page=200&status=open"
    client.get("/api/v1/me")  # the token's first use records its "last used" time: not what is measured
    _bulk_deadlines(orgs, 10, 0)
    with counting_queries() as few:
        small = client.get(url)
    _bulk_deadlines(orgs, 990, 10)
    with counting_queries() as many:
        large = client.get(url)
    assert small.status_code == large.status_code == 200
    assert 0 < len(small.json["items"]) < len(large.json["items"])
    assert len(few) == len(many), (few, many)
    assert len(many) <= 6, many


# --- `vigie deadlines list` ---


@pytest.fixture
def cli(app: Flask) -> Any:
    runner = app.test_cli_runner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(args=["deadlines", "list", *args])
        db.session.expire_all()
        return result

    return invoke


def test_cli_list_table(cli: Any, world: dict[str, Any]) -> None:
    result = cli()
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 9  # header, rule, every deadline (no user scoping)
    assert set(lines[1]) <= {"-", " "}
    for key in ("a_later", "b_breach", "gov", "a_response"):
        assert any(line.startswith(f"{world[key].id} ") and world[key].title in line for line in lines[2:])
    day = world["a_later"].due_date.isoformat()
    assert any(day in line and "Inquiry A, in ten days" in line for line in lines)


def test_cli_list_json_has_the_api_shape(cli: Any, api: Any, factory: Any, world: dict[str, Any]) -> None:
    result = cli("--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert isinstance(items, list) and len(items) == 9
    for item in items:
        assert set(item) == ITEM_KEYS
        DeadlineOut.model_validate(item)
    from_api = api(factory.user("auditor")).get("/api/v1/deadlines").json["items"]
    # Same shape and values (the kind label aside: the CLI speaks the default language).
    strip = [{k: v for k, v in i.items() if k != "kind_label"} for i in from_api]
    assert strip == [{k: v for k, v in i.items() if k != "kind_label"} for i in items]


@pytest.mark.parametrize(
    ("status", "expected"),
    [("overdue", ["a_overdue"]), ("met", ["a_met"]), ("due", ["a_soon"]), ("cancelled", ["a_cancelled"])],
)
def test_cli_list_status(cli: Any, world: dict[str, Any], status: str, expected: list[str]) -> None:
    result = cli("--json", "--status", status)
    assert result.exit_code == 0, result.output
    assert sorted(i["id"] for i in json.loads(result.stdout)) == sorted(world[k].id for k in expected)
    table = cli("--status", status)
    assert table.exit_code == 0 and len(table.stdout.splitlines()) == 2 + len(expected)


@pytest.mark.parametrize("status", ["late", "", "OPEN"])
def test_cli_list_bad_status(cli: Any, status: str) -> None:
    result = cli("--status", status)
    assert result.exit_code == 2
    assert repr(status) in result.stderr and "overdue, due, open, met" in result.stderr
    assert result.stdout == ""


def test_cli_list_empty(cli: Any) -> None:
    assert cli("--json").stdout.strip() == "[]"
    result = cli()
    assert result.exit_code == 0 and result.stdout.strip()


def test_times_are_utc_whatever_the_input_offset(api: Any, factory: Any) -> None:
    org = factory.org("partner")
    paris_noon = datetime(2031, 7, 1, 12, 0, tzinfo=UTC) + timedelta(hours=-2)  # 12:00 in Paris, CEST
    open_deadline("breach.cnil_notification", org, "Summer", paris_noon)
    db.session.commit()
    item = api(factory.user("dpo")).get("/api/v1/deadlines").json["items"][0]
    assert item["due_at"] == "2031-07-01T10:00:00+00:00"
