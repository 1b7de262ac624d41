"""The deadline dashboard (/deadlines/ and the home page): urgency order, filters, the tenant boundary,
each partner's status at a glance, live countdowns, and a query count that does not grow with the data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale, gettext

from tests.factories import Factory
from vigie.database import utcnow
from vigie.deadlines import dashboard
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import meet_deadline, open_deadline
from vigie.deadlines.status import remaining_text
from vigie.extensions import db
from vigie.orgs.models import Organisation

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
def world(factory: Factory) -> dict[str, Any]:
    """The controller with its DPO, two partners with one user each."""
    controller = factory.org("controller", name="Département")
    forcalquier = factory.org("partner", name="Forcalquier")
    sisteron = factory.org("partner", name="Sisteron")
    return {
        "controller": controller,
        "forcalquier": forcalquier,
        "sisteron": sisteron,
        "dpo": factory.user("dpo", org=controller),
        "partner": factory.user("partner", org=forcalquier),
        "other_partner": factory.user("partner", org=sisteron),
    }


def add(
    kind: str, org: Organisation, title: str, due_at: datetime, met_at: datetime | None = None
) -> Deadline:
    deadline = open_deadline(kind, org, title, due_at, opened_at=due_at - 30 * DAY)
    if met_at is not None:
        meet_deadline(deadline, met_at)
    db.session.commit()
    return deadline


def html_of(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return str(response.get_data(as_text=True))


def open_table(html: str) -> str:
    """The open-deadline table of a page (the overview and the met table left out)."""
    match = re.search(r'<table class="deadlines".*?</table>', html, re.DOTALL)
    assert match, "no open-deadline table on the page"
    return match.group(0)


# --- order -----------------------------------------------------------------------------------------


def test_dpo_sees_overdue_first_then_due_soon_then_the_rest(world: dict[str, Any], sign_in_as: Any) -> None:
    now = utcnow()
    add("access.inquiry", world["forcalquier"], "Later inquiry", now + 10 * DAY)
    add("breach.cnil_notification", world["sisteron"], "Due-soon CNIL notification", now + 12 * HOUR)
    add("access.inquiry", world["forcalquier"], "Recently overdue inquiry", now - 2 * HOUR)
    add("processor.staff_review", world["sisteron"], "Long overdue staff review", now - 20 * DAY)
    # Due in 20 days, but due soon for its kind (30 days ahead): before an inquiry due in 10 days.
    add("processor.staff_review", world["forcalquier"], "Staff review due soon", now + 20 * DAY)

    expected = [
        "Long overdue staff review",
        "Recently overdue inquiry",
        "Due-soon CNIL notification",
        "Staff review due soon",
        "Later inquiry",
    ]
    page = dashboard.open_deadlines(world["dpo"], utcnow())
    assert [d.title for d in page.items] == expected

    client = sign_in_as(world["dpo"])
    for url in ("/deadlines/", "/"):
        table = open_table(html_of(client, url))
        positions = [table.index(title) for title in expected]
        assert positions == sorted(positions), url
        assert "status-overdue" in table and "status-due_soon" in table


def test_met_and_cancelled_deadlines_are_not_in_the_open_list(world: dict[str, Any], sign_in_as: Any) -> None:
    now = utcnow()
    add("access.inquiry", world["forcalquier"], "Answered inquiry", now - DAY, met_at=now - 2 * HOUR)
    add("access.inquiry", world["forcalquier"], "Pending inquiry", now + DAY)
    html = html_of(sign_in_as(world["dpo"]), "/deadlines/")
    assert "Answered inquiry" not in open_table(html)
    assert "Pending inquiry" in open_table(html)
    met = html[html.index('id="met-title"') :]
    assert "Answered inquiry" in met


# --- filters ---------------------------------------------------------------------------------------


def test_filter_by_kind_and_by_partner(world: dict[str, Any], sign_in_as: Any) -> None:
    now = utcnow()
    add("access.inquiry", world["forcalquier"], "Forcalquier inquiry", now + DAY)
    add("breach.cnil_notification", world["forcalquier"], "Forcalquier breach", now + 10 * HOUR)
    add("access.inquiry", world["sisteron"], "Sisteron inquiry", now + 2 * DAY)
    client = sign_in_as(world["dpo"])

    by_kind = open_table(html_of(client, "/deadlines/?kind=access.inquiry"))
    assert "Forcalquier inquiry" in by_kind and "Sisteron inquiry" in by_kind
    assert "Forcalquier breach" not in by_kind

    by_partner = open_table(html_of(client, f"/deadlines/?organisation_id={world['sisteron'].id}"))
    assert "Sisteron inquiry" in by_partner
    assert "Forcalquier" not in by_partner

    both = open_table(
        html_of(
            client, f"/deadlines/?kind=breach.cnil_notification&organisation_id={world['forcalquier'].id}"
        )
    )
    assert "Forcalquier breach" in both
    assert "inquiry" not in both

    # "All" in the form sends empty values: no filter.
    everything = open_table(html_of(client, "/deadlines/?kind=&organisation_id="))
    assert all(t in everything for t in ("Forcalquier inquiry", "Forcalquier breach", "Sisteron inquiry"))

    # The form offers the partners and keeps the chosen ones selected.
    html = html_of(client, f"/deadlines/?organisation_id={world['sisteron'].id}")
    assert f'<option value="{world["sisteron"].id}" selected>Sisteron</option>' in html
    assert 'for="filter-kind"' in html and 'for="filter-organisation"' in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=no.such.kind", "kind"),
        ("kind=%3Cscript%3E", "kind"),
        ("organisation_id=abc", "organisation_id"),
        ("organisation_id=-3", "organisation_id"),
        ("organisation_id=1e3", "organisation_id"),
    ],
)
def test_invalid_filters_are_refused_with_400(
    world: dict[str, Any], sign_in_as: Any, query: str, field: str
) -> None:
    add("access.inquiry", world["forcalquier"], "Forcalquier inquiry", utcnow() + DAY)
    html = html_of(sign_in_as(world["dpo"]), f"/deadlines/?{query}", status=400)
    assert 'class="error-summary" role="alert"' in html
    assert 'aria-invalid="true"' in html
    assert "Forcalquier inquiry" not in html  # no list that silently ignored the filter
    assert "<script>" not in html


def test_parse_filter() -> None:
    assert dashboard.parse_filter(None, None) == dashboard.DeadlineFilter()
    assert dashboard.parse_filter(" ", "") == dashboard.DeadlineFilter()
    with pytest.raises(dashboard.InvalidFilter) as caught:
        dashboard.parse_filter("nope", "x")
    assert set(caught.value.fields) == {"kind", "organisation_id"}


def test_a_page_number_out_of_range_gives_an_empty_page(world: dict[str, Any], sign_in_as: Any) -> None:
    add("access.inquiry", world["forcalquier"], "Forcalquier inquiry", utcnow() + DAY)
    client = sign_in_as(world["dpo"])
    assert "Forcalquier inquiry" not in open_table(html_of(client, "/deadlines/?page=7"))
    assert "Forcalquier inquiry" in open_table(html_of(client, "/deadlines/?page=abc"))


# --- the tenant boundary ---------------------------------------------------------------------------


def test_a_partner_sees_only_its_own_deadlines(world: dict[str, Any], sign_in_as: Any) -> None:
    now = utcnow()
    add("access.inquiry", world["forcalquier"], "Forcalquier inquiry", now + DAY)
    add("breach.cnil_notification", world["sisteron"], "Sisteron breach", now - HOUR)
    add("access.inquiry", world["sisteron"], "Sisteron inquiry met", now - DAY, met_at=now - HOUR)
    sisteron_id = world["sisteron"].id
    client = sign_in_as(world["partner"])

    for url in (
        "/",
        "/deadlines/",
        f"/deadlines/?organisation_id={sisteron_id}",
        f"/deadlines/?organisation_id={sisteron_id}&kind=breach.cnil_notification",
        "/deadlines/?kind=breach.cnil_notification",
        "/deadlines/?page=2",
    ):
        html = html_of(client, url)
        assert "Sisteron" not in html, url  # neither its deadlines nor its name
        assert 'id="overview-title"' not in html, url  # no table of partners for a partner

    html = html_of(client, "/deadlines/")
    assert "Forcalquier inquiry" in open_table(html)
    assert 'name="organisation_id"' not in html  # its only choice would be itself
    assert "Forcalquier inquiry" in open_table(html_of(client, "/"))
    # Filtering by another partner's id finds nothing (and says so), never its deadlines.
    assert "Forcalquier inquiry" not in open_table(
        html_of(client, f"/deadlines/?organisation_id={sisteron_id}")
    )

    # The queries themselves, whatever the filter.
    flt = dashboard.DeadlineFilter(organisation_id=sisteron_id)
    assert dashboard.open_deadlines(world["partner"], utcnow(), flt).items == []
    assert dashboard.recently_met(world["partner"], utcnow(), flt) == []
    assert [p.name for p in dashboard.partner_overview(world["partner"], utcnow())] == ["Forcalquier"]
    assert dashboard.status_counts(world["partner"], utcnow()).open == 1


def test_roles_see_the_kinds_they_are_given(world: dict[str, Any], factory: Factory, sign_in_as: Any) -> None:
    now = utcnow()
    add("access.inquiry", world["forcalquier"], "Forcalquier inquiry", now + DAY)
    add("governance.action_item", world["controller"], "Send the minutes", now - DAY)
    add("access.response", world["controller"], "Answer the reader", now + 3 * DAY)

    committee = sign_in_as(factory.user("committee", org=world["controller"]))
    home = html_of(committee, "/")
    assert 'id="summary-title"' in home and "/deadlines/" in home
    assert "Forcalquier inquiry" not in home
    listing = open_table(html_of(committee, "/deadlines/"))
    assert "Send the minutes" in listing and "Forcalquier inquiry" not in listing

    auditor = open_table(html_of(sign_in_as(factory.user("auditor", org=world["controller"])), "/deadlines/"))
    assert "Forcalquier inquiry" in auditor and "Answer the reader" in auditor
    assert "Send the minutes" in auditor  # governance kinds are visible to the auditor too

    # The DPO-only kind (answering a data subject) never reaches a partner.
    assert "Answer the reader" not in html_of(sign_in_as(world["partner"]), "/deadlines/")

    admin = sign_in_as(factory.user("admin", org=world["controller"]))
    assert "summary-title" not in html_of(admin, "/") and "open-title" not in html_of(admin, "/")
    assert "Send the minutes" not in html_of(admin, "/deadlines/")


# --- partners at a glance --------------------------------------------------------------------------


def test_partner_overview_counts(world: dict[str, Any], factory: Factory, sign_in_as: Any) -> None:
    now = utcnow()
    forcalquier = world["forcalquier"]
    add("access.inquiry", forcalquier, "overdue 1", now - 3 * DAY)
    add("breach.cnil_notification", forcalquier, "overdue 2", now - HOUR)
    add("breach.cnil_notification", forcalquier, "due soon", now + 5 * HOUR)
    add("access.inquiry", forcalquier, "open later", now + 9 * DAY)
    add("access.inquiry", forcalquier, "met late", now - 10 * DAY, met_at=now - 8 * DAY)
    add("access.inquiry", forcalquier, "met late long ago", now - 500 * DAY, met_at=now - 490 * DAY)
    add("access.inquiry", forcalquier, "met on time", now - 5 * DAY, met_at=now - 6 * DAY)
    add("access.response", forcalquier, "DPO's own clock", now - DAY)  # visible to the DPO: counted
    add("governance.action_item", forcalquier, "not a DPO kind", now - DAY)  # invisible to the DPO
    add("access.inquiry", world["sisteron"], "sisteron met late", now - 3 * DAY, met_at=now - DAY)
    inactive = factory.org("partner", name="Ancienne commune")
    inactive.active = False
    add("access.inquiry", inactive, "inactive's", now - DAY)
    db.session.commit()

    rows = {p.name: p.counts for p in dashboard.partner_overview(world["dpo"], now)}
    assert list(rows) == ["Forcalquier", "Sisteron"]  # partners only, active only, by name
    assert rows["Forcalquier"] == dashboard.StatusCounts(overdue=3, due_soon=1, open=5, met_late=1)
    assert rows["Sisteron"] == dashboard.StatusCounts(overdue=0, due_soon=0, open=0, met_late=1)

    html = html_of(sign_in_as(world["dpo"]), "/")
    overview = html[html.index('id="overview-title"') : html.index('id="open-title"')]
    assert re.search(
        r"Forcalquier</a></th>.*?status-overdue.*?>3</td>.*?>1</td>.*?>5</td>.*?>1</td>", overview, re.S
    )
    assert f'href="/deadlines/?organisation_id={world["sisteron"].id}"' in overview
    assert "Ancienne commune" not in overview and "Département" not in overview


def test_partner_overview_is_one_query(world: dict[str, Any], app: Flask) -> None:
    now = utcnow()
    for org in (world["forcalquier"], world["sisteron"]):
        add("access.inquiry", org, "inquiry", now + DAY)
    assert world["dpo"].roles  # reload the user (expired by the commit) before counting
    with count_queries(app) as statements:
        dashboard.partner_overview(world["dpo"], now)
    assert len(statements) == 1
    assert "GROUP BY" in statements[0] and "CASE WHEN" in statements[0]


# --- countdowns ------------------------------------------------------------------------------------


def test_hour_based_deadlines_carry_a_countdown(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    due = (utcnow() + 2 * DAY + 5 * HOUR + timedelta(minutes=10)).replace(microsecond=0)
    add("breach.cnil_notification", world["forcalquier"], "CNIL notification", due)
    add("access.inquiry", world["forcalquier"], "Day-based inquiry", utcnow() + 3 * DAY)
    iso = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with app.test_request_context():
        with force_locale("fr"):
            french = remaining_text(2 * DAY + 5 * HOUR)
            days_format = gettext("%(days)d d %(hours)d h")
        with force_locale("en"):
            english = remaining_text(2 * DAY + 5 * HOUR)
    assert english == "2 d 5 h"
    # "2 d 5 h" only if the French catalog is not compiled; it may use no-break spaces.
    assert french.replace("\N{NO-BREAK SPACE}", " ") in ("2 j 5 h", "2 d 5 h")

    client = sign_in_as(world["dpo"])
    table = open_table(html_of(client, "/deadlines/"))
    assert f'<time class="countdown" datetime="{iso}">{french}</time>' in table
    assert f'data-countdown-days="{days_format}"' in table  # the script's format, in the page's language
    assert table.count('class="countdown"') == 1  # the day-based deadline counts in days, not live
    assert '<script src="/static/countdown.js" defer></script>' in html_of(client, "/deadlines/")

    world["dpo"].locale = "en"
    db.session.commit()
    table = open_table(html_of(client, "/deadlines/"))
    assert f'<time class="countdown" datetime="{iso}">{english}</time>' in table
    assert 'data-countdown-days="%(days)d d %(hours)d h"' in table


def test_overdue_deadlines_show_the_time_since(app: Flask, world: dict[str, Any], sign_in_as: Any) -> None:
    late = utcnow() - 3 * HOUR - timedelta(minutes=5, seconds=30)
    add("breach.cnil_notification", world["forcalquier"], "Late notification", late)
    table = open_table(html_of(sign_in_as(world["dpo"]), "/deadlines/"))
    with app.test_request_context(), force_locale("fr"):
        since = remaining_text(3 * HOUR + timedelta(minutes=5))
    assert f">{since}</time>" in table
    assert "remaining-late" in table


# --- a bounded number of queries -------------------------------------------------------------------


@contextmanager
def count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def before_cursor_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", before_cursor_execute)


def bulk_deadlines(orgs: list[Organisation], count: int, start: int = 0) -> None:
    """`count` deadlines of every status and several kinds, inserted in one statement."""
    now = utcnow()
    kinds = ("access.inquiry", "breach.cnil_notification", "processor.staff_review", "access.response")
    rows = []
    for i in range(start, start + count):
        due = now + timedelta(hours=(i % 97) - 40)
        met = i % 5 == 0
        rows.append(
            {
                "kind": kinds[i % len(kinds)],
                "organisation_id": orgs[i % len(orgs)].id,
                "title": f"Bulk deadline {i}",
                "state": DeadlineState.MET if met else DeadlineState.OPEN,
                "opened_at": due - 10 * DAY,
                "due_at": due,
                "met_at": due + (HOUR if i % 2 else -HOUR) if met else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(sa.insert(Deadline), rows)
    db.session.commit()


def test_the_dashboard_query_count_does_not_grow_with_the_data(
    app: Flask, world: dict[str, Any], factory: Factory, sign_in_as: Any
) -> None:
    orgs = [world["forcalquier"], world["sisteron"], factory.org("partner"), world["controller"]]
    pages = {
        "dpo": (sign_in_as(world["dpo"]), ("/", "/deadlines/", "/deadlines/?kind=access.inquiry&page=2")),
        "partner": (sign_in_as(world["partner"]), ("/", "/deadlines/")),
    }

    def measure() -> dict[tuple[str, str], int]:
        counts = {}
        for who, (client, urls) in pages.items():
            for url in urls:
                client.get(url)  # warm up: the first request of a client may load more
                with count_queries(app) as statements:
                    assert client.get(url).status_code == 200
                counts[(who, url)] = len(statements)
        return counts

    bulk_deadlines(orgs, 10)
    with_ten = measure()
    bulk_deadlines(orgs, 990, start=10)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 1000
    with_a_thousand = measure()

    assert with_a_thousand == with_ten
    # The home page also holds the features' panels (breaches awaiting acknowledgement…): one query each.
    assert max(with_ten.values()) <= 10, with_ten
    print(f"SQL queries per request, 10 and 1,000 deadlines: {with_ten}")

    # And the list is paginated: fifty rows a page, the rest behind "next".
    html = html_of(pages["dpo"][0], "/deadlines/")
    assert open_table(html).count("data-deadline-id=") == dashboard.PAGE_SIZE
    assert "/deadlines/?page=2" in html
