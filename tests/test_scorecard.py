"""The obligations scorecard (issue #7): each line's status at its edges, the risk order of the network,
the tenant boundary on the pages and the API, a bounded number of queries, and the API's shape."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for

from compliance.breaches.models import Breach, BreachStatus
from compliance.processor import services as processor
from compliance.processor.models import PartnerDpo, SubProcessor
from compliance.scorecard import services
from compliance.scorecard.services import LineStatus
from tests.factories import Factory
from vigie.database import utcnow
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import meet_deadline, open_deadline
from vigie.extensions import db
from vigie.orgs.models import Organisation

NOW = datetime(2025, 6, 10, 8, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_numbers = count(1)


@pytest.fixture
def world(factory: Factory) -> dict[str, Any]:
    controller = factory.org("controller", name="Département")
    manosque = factory.org("partner", name="Manosque")
    sisteron = factory.org("partner", name="Sisteron")
    return {
        "controller": controller,
        "manosque": manosque,
        "sisteron": sisteron,
        "dpo": factory.user("dpo", org=controller),
        "auditor": factory.user("auditor", org=controller),
        "partner": factory.user("partner", org=manosque),
        "other_partner": factory.user("partner", org=sisteron),
    }


# --- making records --------------------------------------------------------------------------------


def clock(kind: str, org: Organisation, due_at: datetime, met_at: datetime | None = None) -> Deadline:
    deadline = open_deadline(kind, org, f"{kind} of {org.name}", due_at, opened_at=due_at - 10 * DAY)
    if met_at is not None:
        meet_deadline(deadline, met_at)
    db.session.commit()
    return deadline


def breach(org: Organisation, discovered_at: datetime, delay: timedelta, draft: bool = False) -> Breach:
    record = Breach(
        organisation=org,
        summary="Fichier des lecteurs exposé",
        status=BreachStatus.DRAFT if draft else BreachStatus.SUBMITTED,
        discovered_at=discovered_at,
        reported_to_controller_at=None if draft else discovered_at + delay,
        reference=None if draft else f"VIO-T-{next(_numbers):04d}",
        nature_confidentiality=True,
    )
    db.session.add(record)
    db.session.commit()
    return record


def sub_processor(
    world: dict[str, Any], org: Organisation, clauses: bool = True, outside_eu: bool = False
) -> SubProcessor:
    sub = processor.add_sub_processor(
        world["dpo"],
        org,
        processor.SubProcessorData(
            company=f"Prestataire {next(_numbers)}",
            service="Hébergement du portail",
            clauses_in_place=clauses,
            clauses_signed_on=date(2025, 1, 6) if clauses else None,
            data_outside_eu=outside_eu,
        ),
    )
    db.session.commit()
    return sub


def dpo_contact(world: dict[str, Any], org: Organisation, since: date = date(2025, 1, 6)) -> PartnerDpo:
    dpo = processor.set_dpo(world["dpo"], org, "Claire Dupont", "dpo@manosque.fr", since=since)
    db.session.commit()
    return dpo


def line(org: Organisation, code: str, now: datetime = NOW) -> services.Line:
    return services.partner_scorecard(org, now).line(code)


def figures(found: services.Line) -> dict[str, int]:
    return found.figures


# --- 1. DPO contact given --------------------------------------------------------------------------


def test_dpo_contact_line(world: dict[str, Any]) -> None:
    org = world["manosque"]
    found = line(org, services.DPO_LINE)
    assert found.status == LineStatus.WARNING and figures(found)["current_contact"] == 0

    due = NOW - DAY
    deadline = clock("processor.dpo_contact", org, due)
    assert line(org, services.DPO_LINE, now=due).status == LineStatus.WARNING  # due now: not overdue yet
    overdue = line(org, services.DPO_LINE, now=due + SECOND)
    assert overdue.status == LineStatus.FAILING and figures(overdue)["overdue"] == 1

    meet_deadline(deadline, due)  # supplied exactly at the due time: on time
    dpo_contact(world, org)
    given = line(org, services.DPO_LINE)
    assert given.status == LineStatus.OK and figures(given)["current_contact"] == 1
    assert figures(given)["met_on_time"] == 1


def test_a_dpo_contact_supplied_late_is_to_watch_for_twelve_months(world: dict[str, Any]) -> None:
    org = world["manosque"]
    due = NOW - 30 * DAY
    clock("processor.dpo_contact", org, due, met_at=due + SECOND)
    dpo_contact(world, org)
    late = line(org, services.DPO_LINE)
    assert late.status == LineStatus.WARNING and figures(late)["met_late"] == 1
    # A year later the late supply no longer weighs.
    assert line(org, services.DPO_LINE, now=due + 400 * DAY).status == LineStatus.OK


def test_a_replaced_dpo_is_not_current(world: dict[str, Any]) -> None:
    org = world["manosque"]
    dpo = dpo_contact(world, org)
    dpo.until = date(2025, 3, 1)
    db.session.commit()
    assert line(org, services.DPO_LINE).status == LineStatus.WARNING


# --- 2. Staff list reviewed on time ----------------------------------------------------------------


def test_staff_line_without_any_review_is_to_watch(world: dict[str, Any]) -> None:
    found = line(world["manosque"], services.STAFF_LINE)
    assert found.status == LineStatus.WARNING
    assert figures(found) == {"overdue": 0, "pending": 0, "met_on_time": 0, "met_late": 0, "met_ever": 0}


def test_staff_line_edges(world: dict[str, Any]) -> None:
    org = world["manosque"]
    due = NOW - 20 * DAY
    clock("processor.staff_review", org, due, met_at=due)  # exactly at the due time: on time
    ok = line(org, services.STAFF_LINE)
    assert ok.status == LineStatus.OK and figures(ok)["met_on_time"] == 1

    request_due = NOW - 10 * DAY
    clock("processor.staff_list_request", org, request_due, met_at=request_due + SECOND)  # one second late
    late = line(org, services.STAFF_LINE)
    assert late.status == LineStatus.WARNING
    assert (figures(late)["met_on_time"], figures(late)["met_late"]) == (1, 1)

    next_review = NOW + 5 * DAY
    clock("processor.staff_review", org, next_review)
    assert line(org, services.STAFF_LINE, now=next_review).status == LineStatus.WARNING  # not overdue yet
    overdue = line(org, services.STAFF_LINE, now=next_review + SECOND)
    assert overdue.status == LineStatus.FAILING and figures(overdue)["overdue"] == 1


def test_staff_line_forgets_lateness_after_twelve_months_and_ignores_cancelled(world: dict[str, Any]) -> None:
    org = world["manosque"]
    old_due = NOW - 400 * DAY
    clock("processor.staff_review", org, old_due, met_at=old_due + DAY)
    found = line(org, services.STAFF_LINE)
    assert found.status == LineStatus.OK and figures(found)["met_ever"] == 1

    from vigie.deadlines.services import cancel_deadline

    cancelled = clock("processor.staff_list_request", org, NOW - DAY)
    cancel_deadline(cancelled, "Demande envoyée par erreur")
    db.session.commit()
    assert line(org, services.STAFF_LINE).status == LineStatus.OK  # a cancelled clock is no failure


def test_a_scheduled_first_review_is_ok(world: dict[str, Any]) -> None:
    org = world["manosque"]
    clock("processor.staff_review", org, NOW + 60 * DAY)
    found = line(org, services.STAFF_LINE)
    assert found.status == LineStatus.OK and figures(found)["pending"] == 1


# --- 3. Breaches reported on time ------------------------------------------------------------------


def test_breach_line_edges(world: dict[str, Any]) -> None:
    org = world["manosque"]
    found = line(org, services.BREACH_LINE)
    assert found.status == LineStatus.NOT_APPLICABLE

    discovered = NOW - 30 * DAY
    breach(org, discovered, 24 * HOUR)  # exactly the threshold: on time
    breach(org, discovered, 10 * DAY, draft=True)  # a draft is no report yet
    breach(org, NOW - 400 * DAY, 5 * DAY)  # reported more than twelve months ago
    found = line(org, services.BREACH_LINE)
    assert found.status == LineStatus.OK
    assert figures(found) == {"reported": 1, "late": 0, "very_late": 0}

    breach(org, discovered, 24 * HOUR + SECOND)  # one second past the threshold
    found = line(org, services.BREACH_LINE)
    assert found.status == LineStatus.WARNING and figures(found)["late"] == 1

    breach(org, discovered, 72 * HOUR)  # late, but within the CNIL's 72 hours
    assert line(org, services.BREACH_LINE).status == LineStatus.WARNING
    breach(org, discovered, 72 * HOUR + SECOND)
    found = line(org, services.BREACH_LINE)
    assert found.status == LineStatus.FAILING
    assert figures(found) == {"reported": 4, "late": 3, "very_late": 1}


def test_breach_line_follows_the_configured_threshold(
    app: Flask, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = world["manosque"]
    breach(org, NOW - 5 * DAY, 3 * HOUR)
    assert line(org, services.BREACH_LINE).status == LineStatus.OK
    monkeypatch.setitem(app.config, "BREACH_REPORT_LATE_HOURS", 2)
    found = line(org, services.BREACH_LINE)
    assert found.status == LineStatus.WARNING and "2" in found.explanation


# --- 4. Inquiries answered on time -----------------------------------------------------------------


def test_inquiry_line_edges(app: Flask, world: dict[str, Any]) -> None:
    org = world["manosque"]
    assert line(org, services.INQUIRY_LINE).status == LineStatus.NOT_APPLICABLE

    due = NOW - 5 * DAY
    clock("access.inquiry", org, due, met_at=due)  # answered exactly at the due time
    found = line(org, services.INQUIRY_LINE)
    assert found.status == LineStatus.OK and figures(found)["met_on_time"] == 1

    clock("access.inquiry", org, due, met_at=due + SECOND)
    found = line(org, services.INQUIRY_LINE)
    assert found.status == LineStatus.WARNING and figures(found)["met_late"] == 1

    waiting_due = NOW + 2 * DAY
    clock("access.inquiry", org, waiting_due)
    assert line(org, services.INQUIRY_LINE, now=waiting_due).status == LineStatus.WARNING
    overdue = line(org, services.INQUIRY_LINE, now=waiting_due + SECOND)
    assert overdue.status == LineStatus.FAILING and figures(overdue)["overdue"] == 1
    with app.test_request_context():
        links = {link.key: link.url() for link in overdue.links}
    assert links["inquiries"] == f"/inquiries/?organisation_id={org.id}&overdue=1"
    assert links["deadlines_inquiries"] == f"/deadlines/?kind=access.inquiry&organisation_id={org.id}"


def test_an_inquiry_waiting_and_not_due_is_ok(world: dict[str, Any]) -> None:
    org = world["manosque"]
    clock("access.inquiry", org, NOW + DAY)
    found = line(org, services.INQUIRY_LINE)
    assert found.status == LineStatus.OK and figures(found)["pending"] == 1


def test_old_inquiries_leave_the_line_not_applicable(world: dict[str, Any]) -> None:
    org = world["manosque"]
    old = NOW - 400 * DAY
    clock("access.inquiry", org, old, met_at=old + DAY)
    assert line(org, services.INQUIRY_LINE).status == LineStatus.NOT_APPLICABLE


# --- 5. Sub-processors covered ---------------------------------------------------------------------


def test_sub_processor_line(world: dict[str, Any]) -> None:
    org = world["manosque"]
    assert line(org, services.SUB_PROCESSOR_LINE).status == LineStatus.NOT_APPLICABLE
    sub_processor(world, org)
    assert line(org, services.SUB_PROCESSOR_LINE).status == LineStatus.OK
    sub_processor(world, org, outside_eu=True)
    found = line(org, services.SUB_PROCESSOR_LINE)
    assert found.status == LineStatus.WARNING and figures(found)["outside_eu"] == 1
    uncovered = sub_processor(world, org, clauses=False)
    found = line(org, services.SUB_PROCESSOR_LINE)
    assert found.status == LineStatus.FAILING
    assert figures(found) == {"active": 3, "without_clauses": 1, "outside_eu": 1}
    uncovered.ended_on = date(2025, 5, 1)  # an ended sub-processor no longer counts
    db.session.commit()
    assert line(org, services.SUB_PROCESSOR_LINE).status == LineStatus.WARNING


# --- risk and the network --------------------------------------------------------------------------


def test_risk_score_and_network_order(world: dict[str, Any], factory: Factory) -> None:
    manosque, sisteron = world["manosque"], world["sisteron"]
    banon = factory.org("partner", name="Banon")
    former = factory.org("partner", name="Ancienne commune")
    former.active = False
    clock("access.inquiry", former, NOW - DAY)
    for org in (manosque, sisteron, banon):  # every line ok or not applicable
        dpo_contact(world, org)
        clock("processor.staff_review", org, NOW - DAY, met_at=NOW - 2 * DAY)
    # Sisteron: one failing line (an overdue inquiry). Manosque: two warnings. Banon: nothing.
    clock("access.inquiry", sisteron, NOW - HOUR)
    sub_processor(world, manosque, outside_eu=True)
    breach(manosque, NOW - 3 * DAY, 30 * HOUR)

    cards = services.network_scorecards(world["dpo"], NOW)
    assert [c.organisation_name for c in cards] == ["Sisteron", "Manosque", "Banon"]
    assert [c.risk for c in cards] == [10, 2, 0]
    assert [(c.failing, c.warnings) for c in cards] == [(1, 0), (0, 2), (0, 0)]

    # One failing obligation outranks the warnings of every other line.
    sub_processor(world, sisteron)
    clock("processor.staff_list_request", manosque, NOW - 3 * DAY, met_at=NOW - 2 * DAY)
    clock("access.inquiry", manosque, NOW - 3 * DAY, met_at=NOW - 2 * DAY)
    cards = services.network_scorecards(world["dpo"], NOW)
    assert [(c.organisation_name, c.risk) for c in cards][:2] == [("Sisteron", 10), ("Manosque", 4)]

    # Equal scores: by name. The controller and inactive partners are not in the network.
    assert (
        services.by_risk(
            [
                services.Scorecard(2, "Zoé", NOW, ()),
                services.Scorecard(1, "anne", NOW, ()),
            ]
        )[0].organisation_name
        == "anne"
    )
    assert world["controller"].id not in {c.organisation_id for c in cards}
    assert former.id not in {c.organisation_id for c in cards}


def test_a_partner_scores_only_itself(world: dict[str, Any]) -> None:
    cards = services.network_scorecards(world["partner"], NOW)
    assert [c.organisation_id for c in cards] == [world["manosque"].id]
    assert services.network_scorecards(world["auditor"], NOW)  # the auditor sees the network


# --- pages -----------------------------------------------------------------------------------------


def html_of(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return str(response.get_data(as_text=True))


def test_network_page_lists_partners_by_risk_with_links(world: dict[str, Any], sign_in_as: Any) -> None:
    clock("access.inquiry", world["sisteron"], utcnow() - HOUR)
    dpo_contact(world, world["manosque"])
    html = html_of(sign_in_as(world["dpo"]), "/scorecard/")
    rows = re.findall(r'<tr class="scorecard-row" data-organisation-id="(\d+)">', html)
    assert rows == [str(world["sisteron"].id), str(world["manosque"].id)]
    assert f'href="/scorecard/{world["sisteron"].id}"' in html
    sisteron_row = html[html.index(f'data-organisation-id="{world["sisteron"].id}"') :]
    assert re.search(r'data-line="inquiries"[^>]*>\s*<span class="[^"]*scorecard-failing', sisteron_row)
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    assert "Département" not in table  # the controller is not a partner
    html_of(sign_in_as(world["auditor"]), "/scorecard/")


def test_partner_page_shows_lines_with_their_records(
    app: Flask, world: dict[str, Any], sign_in_as: Any
) -> None:
    org = world["manosque"]
    clock("processor.staff_review", org, utcnow() - DAY)
    html = html_of(sign_in_as(world["dpo"]), f"/scorecard/{org.id}")
    statuses = dict(re.findall(r'data-line="(\w+)" data-status="(\w+)"', html))
    assert statuses == {
        "dpo_contact": "warning",
        "staff_review": "failing",
        "breach_reports": "not_applicable",
        "inquiries": "not_applicable",
        "sub_processors": "not_applicable",
    }
    assert f'href="/deadlines/?kind=processor.staff_review&amp;organisation_id={org.id}"' in html
    assert f'href="/breaches/?organisation_id={org.id}"' in html
    assert f'href="/inquiries/?organisation_id={org.id}"' in html
    with app.test_request_context():
        file_url = services.Link("f", "f", services.PROCESSOR_FILE_ENDPOINT, {"org_id": org.id}).url()
    assert f'href="{file_url}" data-link="processor_file"' in html
    assert 'id="risk-score">11<' in html  # a failing line and a warning


def test_a_link_carries_its_filters(app: Flask) -> None:
    with app.test_request_context():
        assert services.Link("x", "x", "breaches.index", {"organisation_id": 3}).url() == (
            "/breaches/?organisation_id=3"
        )


def test_partner_isolation_on_pages(world: dict[str, Any], sign_in_as: Any) -> None:
    client = sign_in_as(world["partner"])
    response = client.get("/scorecard/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/scorecard/{world['manosque'].id}")
    html = html_of(client, f"/scorecard/{world['manosque'].id}")
    assert "Sisteron" not in html
    assert 'href="/scorecard/"' not in html  # no way to the network
    html_of(client, f"/scorecard/{world['sisteron'].id}", status=403)


def test_only_partners_have_a_scorecard(world: dict[str, Any], sign_in_as: Any) -> None:
    client = sign_in_as(world["dpo"])
    html_of(client, f"/scorecard/{world['controller'].id}", status=404)
    html_of(client, "/scorecard/999999", status=404)


def test_other_roles_are_refused(factory: Factory, world: dict[str, Any], sign_in_as: Any) -> None:
    for role in ("admin", "committee", "legal"):
        client = sign_in_as(factory.user(role, org=world["controller"]))
        html_of(client, "/scorecard/", status=403)
        html_of(client, f"/scorecard/{world['manosque'].id}", status=403)


# --- API -------------------------------------------------------------------------------------------


def api_get(app: Flask, factory: Factory, user: Any, url: str, status: int = 200) -> Any:
    response = app.test_client().get(url, headers={"Authorization": f"Bearer {factory.token(user)}"})
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return response.get_json()


def objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)


def test_api_shape_and_order(app: Flask, factory: Factory, world: dict[str, Any]) -> None:
    clock("access.inquiry", world["sisteron"], utcnow() - HOUR)
    dpo_contact(world, world["sisteron"])
    sub_processor(world, world["manosque"], clauses=False)
    body = api_get(app, factory, world["dpo"], "/api/v1/scorecard")
    # Manosque: clauses missing (failing), no DPO and no staff review (two warnings): 12. Sisteron: an
    # overdue inquiry (failing), no staff review (a warning): 11.
    assert [(c["organisation_name"], c["risk_score"]) for c in body] == [("Manosque", 12), ("Sisteron", 11)]
    for found in objects(body):
        assert "id" in found, found
    card = body[1]
    assert card["id"] == card["organisation_id"] == world["sisteron"].id
    assert card["url"] == f"/scorecard/{world['sisteron'].id}"
    assert [ln["id"] for ln in card["lines"]] == list(services.LINE_CODES)
    inquiries = next(ln for ln in card["lines"] if ln["id"] == "inquiries")
    assert inquiries["status"] == "failing" and inquiries["explanation"]
    assert {"id": "overdue", "value": 1} in inquiries["figures"]
    links = {link["id"]: link for link in inquiries["links"]}
    assert links["deadlines_inquiries"]["api_url"] == (
        f"/api/v1/deadlines?kind=access.inquiry&organisation_id={world['sisteron'].id}"
    )
    subs = next(ln for ln in body[0]["lines"] if ln["id"] == "sub_processors")
    assert subs["links"][0]["api_url"] == f"/api/v1/organisations/{world['manosque'].id}/sub-processors"
    assert datetime.fromisoformat(card["computed_at"]).tzinfo is not None

    one = api_get(app, factory, world["auditor"], f"/api/v1/organisations/{world['sisteron'].id}/scorecard")
    assert one["lines"] == card["lines"] and one["risk_score"] == card["risk_score"] == 11


def test_api_partner_isolation(app: Flask, factory: Factory, world: dict[str, Any]) -> None:
    partner = world["partner"]
    body = api_get(app, factory, partner, "/api/v1/scorecard")
    assert [c["id"] for c in body] == [world["manosque"].id]
    api_get(app, factory, partner, f"/api/v1/organisations/{world['manosque'].id}/scorecard")
    api_get(app, factory, partner, f"/api/v1/organisations/{world['sisteron'].id}/scorecard", status=403)
    api_get(app, factory, world["dpo"], f"/api/v1/organisations/{world['controller'].id}/scorecard", 404)
    api_get(app, factory, world["dpo"], "/api/v1/organisations/999999/scorecard", status=404)
    api_get(app, factory, factory.user("committee", org=world["controller"]), "/api/v1/scorecard", 403)


def test_openapi_documents_the_scorecard(app: Flask) -> None:
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/scorecard"]
    assert "get" in paths["/api/v1/organisations/{org_id}/scorecard"]


# --- a bounded number of queries -------------------------------------------------------------------


@contextmanager
def count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before_cursor_execute)


def populate(world: dict[str, Any], factory: Factory, partners: int) -> None:
    """Partners with something on every line: a DPO, clocks of every kind, breaches, sub-processors."""
    now = utcnow()
    for n in range(partners):
        org = factory.org("partner", name=f"Commune {n:03d}")
        dpo_contact(world, org)
        for i, kind in enumerate(services.KINDS):
            clock(kind, org, now - (i + 1) * DAY)
            clock(kind, org, now - 5 * DAY, met_at=now - 5 * DAY + (SECOND if n % 2 else -SECOND))
        breach(org, now - 10 * DAY, (n % 4) * 30 * HOUR)
        sub_processor(world, org, clauses=bool(n % 3), outside_eu=bool(n % 2))


def test_the_network_costs_the_same_queries_for_3_and_30_partners(
    app: Flask, factory: Factory, world: dict[str, Any], sign_in_as: Any
) -> None:
    web = sign_in_as(world["dpo"])
    token = factory.token(world["dpo"])
    api = app.test_client()

    def measure() -> tuple[int, int, int]:
        services.network_scorecards(world["dpo"], utcnow())  # warm up: load the user's roles
        with count_queries() as service_statements:
            cards = services.network_scorecards(world["dpo"], utcnow())
        assert cards
        web.get("/scorecard/")  # warm up the client's first request
        with count_queries() as page_statements:
            assert web.get("/scorecard/").status_code == 200
        api.get("/api/v1/scorecard", headers={"Authorization": f"Bearer {token}"})  # warm up the token
        with count_queries() as api_statements:
            response = api.get("/api/v1/scorecard", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200
        return len(service_statements), len(page_statements), len(api_statements)

    populate(world, factory, 1)  # with the fixture's two partners: 3
    assert len(services.network_scorecards(world["dpo"], utcnow())) == 3
    with_three = measure()
    populate(world, factory, 27)
    assert len(services.network_scorecards(world["dpo"], utcnow())) == 30
    with_thirty = measure()
    assert with_thirty == with_three
    assert with_three[0] == 5  # the partners, DPO contacts, deadlines, breaches, sub-processors
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 28 * 8
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Deadline).where(Deadline.state == DeadlineState.MET)
        )
        == 28 * 4
    )


def test_one_partners_scorecard_is_a_fixed_number_of_queries(world: dict[str, Any]) -> None:
    org = world["manosque"]
    clock("access.inquiry", org, NOW - DAY)
    assert org.name  # loaded before counting
    with count_queries() as statements:
        services.partner_scorecard(org, NOW)
    assert len(statements) == 4


def test_the_scorecard_page_needs_the_records_link_targets(app: Flask, world: dict[str, Any]) -> None:
    """Every endpoint a line links to exists in the application."""
    card = services.partner_scorecard(world["manosque"], NOW)
    endpoints = {
        name for ln in card.lines for link in ln.links for name in (link.endpoint, link.api_endpoint) if name
    }
    assert endpoints <= set(app.view_functions), endpoints - set(app.view_functions)
    with app.test_request_context():
        assert url_for("scorecard.show", org_id=world["manosque"].id).endswith(f"/{world['manosque'].id}")
