"""The deadline dashboard in chromium: the DPO sees the overdue deadline first, with live countdowns,
and filters by partner through the form; a partner's pages never show another partner's deadline."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch

pytestmark = pytest.mark.browser

DPO = "dpo@vigie.example"
FORCALQUIER_USER = "bibliotheque@forcalquier.example"
FORCALQUIER = "240400440"
SISTERON = "210402095"
FORCALQUIER_NAME = "Communauté de communes Pays de Forcalquier-Montagne de Lure"

TAG = "[dashboard journey]"
SISTERON_OVERDUE = f"{TAG} Sisteron: notify the CNIL of the breach"
FORCALQUIER_DUE_SOON = f"{TAG} Forcalquier: notify the CNIL of the breach"
FORCALQUIER_LATER = f"{TAG} Forcalquier: review the staff list"


@dataclass
class Created:
    ids: list[int]
    sisteron_id: int


def translated(live_server: LiveServer, message: str, locale: str = "fr") -> str:
    """A message as the live server shows it (the msgid when the catalog is not compiled)."""
    with live_server.app.test_request_context(), force_locale(locale):
        return gettext(message)


@pytest.fixture(scope="module")
def deadlines(live_server: LiveServer) -> Iterator[Created]:
    """Three deadlines in the live server's database, deleted afterwards (it is shared)."""
    import sqlalchemy as sa

    from vigie.database import utcnow
    from vigie.deadlines.models import Deadline, DeadlineEvent, DeadlineReminder
    from vigie.deadlines.services import open_deadline
    from vigie.extensions import db
    from vigie.orgs.services import organisation_by_siren

    with live_server.app.app_context():
        now = utcnow()
        forcalquier = organisation_by_siren(FORCALQUIER)
        sisteron = organisation_by_siren(SISTERON)
        assert forcalquier is not None and sisteron is not None
        created = [
            open_deadline(
                "breach.cnil_notification", forcalquier, FORCALQUIER_DUE_SOON, now + timedelta(hours=20)
            ),
            open_deadline("processor.staff_review", forcalquier, FORCALQUIER_LATER, now + timedelta(days=90)),
            open_deadline("breach.cnil_notification", sisteron, SISTERON_OVERDUE, now - timedelta(hours=5)),
        ]
        db.session.commit()
        result = Created(ids=[d.id for d in created], sisteron_id=sisteron.id)
        db.session.remove()
    try:
        yield result
    finally:
        with live_server.app.app_context():
            for model in (DeadlineEvent, DeadlineReminder):
                db.session.execute(sa.delete(model).where(model.deadline_id.in_(result.ids)))
            for deadline in db.session.scalars(sa.select(Deadline).where(Deadline.id.in_(result.ids))):
                db.session.delete(deadline)
            db.session.commit()
            db.session.remove()


def row_texts(page: Page) -> list[str]:
    return page.locator("table.deadlines tbody tr").all_inner_texts()


def index_of(rows: list[str], title: str) -> int:
    return next(i for i, text in enumerate(rows) if title in text)


def test_dpo_sees_overdue_first_and_filters_by_partner(
    page: Page,
    page_watch: PageWatch,
    live_server: LiveServer,
    log_in: Callable[..., None],
    deadlines: Created,
) -> None:
    log_in(DPO)
    expect(page).to_have_url(f"{live_server.url}/")

    # The dashboard is the DPO's home page: the overdue deadline before the due-soon ones.
    table = page.locator("table.deadlines")
    expect(table).to_contain_text(SISTERON_OVERDUE)
    rows = row_texts(page)
    assert (
        index_of(rows, SISTERON_OVERDUE)
        < index_of(rows, FORCALQUIER_DUE_SOON)
        < index_of(rows, FORCALQUIER_LATER)
    )
    overdue_row = page.locator("table.deadlines tbody tr", has_text=SISTERON_OVERDUE)
    expect(overdue_row.locator(".badge.status")).to_have_text(translated(live_server, "overdue"))

    # countdown.js ran (no CSP refusal) and rewrote the hour-based countdowns in the page's format.
    countdown = page.locator("tr", has_text=FORCALQUIER_DUE_SOON).locator("time.countdown")
    expect(countdown).to_have_attribute("data-countdown-updated", re.compile(r"^\d{4}-\d\d-\d\dT"))
    hours = translated(live_server, "%(hours)d h %(minutes)d min").replace("%(hours)d", "19").split("%")[0]
    expect(countdown).to_have_text(re.compile("^" + re.escape(hours)))  # "19 h 59 min": the 20 h began

    # Each partner's status at a glance.
    overview = page.locator("table.overview")
    expect(overview.locator("tr", has_text="Commune de Sisteron").locator(".badge.status")).to_have_text(
        translated(live_server, "overdue")
    )

    # Filter by partner with the form, as a user would.
    page.get_by_label(translated(live_server, "Organisation"), exact=True).select_option(
        label=FORCALQUIER_NAME
    )
    page.locator("form.filters").get_by_role("button", name=translated(live_server, "Filter")).click()
    expect(page).to_have_url(re.compile(r"/deadlines/\?.*organisation_id=\d+"))
    expect(table).to_contain_text(FORCALQUIER_DUE_SOON)
    expect(table).not_to_contain_text(SISTERON_OVERDUE)
    expect(page.get_by_label(translated(live_server, "Organisation"), exact=True)).to_have_value(
        re.compile(r"^\d+$")
    )

    # ...then by kind as well.
    page.get_by_label(translated(live_server, "Kind"), exact=True).select_option("processor.staff_review")
    page.locator("form.filters").get_by_role("button", name=translated(live_server, "Filter")).click()
    expect(table).to_contain_text(FORCALQUIER_LATER)
    expect(table).not_to_contain_text(FORCALQUIER_DUE_SOON)

    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
    assert any(url.endswith("/static/countdown.js") for url in page_watch.requests)


def test_a_partner_never_sees_another_partners_deadline(
    page: Page,
    page_watch: PageWatch,
    live_server: LiveServer,
    log_in: Callable[..., None],
    deadlines: Created,
) -> None:
    log_in(FORCALQUIER_USER)
    expect(page.locator("table.deadlines")).to_contain_text(FORCALQUIER_DUE_SOON)
    for url in ("/", "/deadlines/", f"/deadlines/?organisation_id={deadlines.sisteron_id}"):
        page.goto(url)
        expect(page.locator("main")).not_to_contain_text(SISTERON_OVERDUE)
        expect(page.locator("main")).not_to_contain_text("Sisteron")
        expect(page.locator("table.overview")).to_have_count(0)
    expect(page.locator("table.deadlines")).not_to_contain_text(FORCALQUIER_DUE_SOON)

    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
