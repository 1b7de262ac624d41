"""A meeting's attendance in chromium: the steering committee's demo user records who is present and who
gave a proxy to whom, saves the form and sees the quorum; a proxy against the body's rules is refused next
to its row first, with what was chosen kept."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch

pytestmark = pytest.mark.browser

COMMITTEE = "copil@vigie.example"


@dataclass
class Held:
    body_id: int
    meeting_id: int
    members: dict[str, int]  # name -> member id


def translated(live_server: LiveServer, message: str, **values: Any) -> str:
    """A message as the live server shows it (the msgid when the catalog is not compiled)."""
    with live_server.app.test_request_context(), force_locale("fr"):
        return gettext(message, **values)


@pytest.fixture
def held(live_server: LiveServer) -> Iterator[Held]:
    """A body of four and one meeting in the live server's database (unique names), removed afterwards."""
    import sqlalchemy as sa

    from governance.bodies import services
    from governance.bodies.models import AgendaItem, Attendance, Body, BodyMember, Meeting
    from vigie.extensions import db

    tag = secrets.token_hex(3).upper()
    names = [f"Membre {letter} {tag}" for letter in "ABCD"]
    with live_server.app.app_context():
        body = services.create_body(
            f"Groupe du parcours navigateur {tag}",
            [services.MemberData(name=name, since=datetime(2025, 1, 1).date()) for name in names],
            code=f"NAV{tag}",
        )
        meeting = services.create_meeting(
            body,
            datetime(2025, 5, 20, 8, 0, tzinfo=UTC),
            place="Salle du conseil",
            agenda=["Point unique"],
        )
        db.session.commit()
        result = Held(body.id, meeting.id, {m.name: m.id for m in body.members})
        db.session.remove()
    try:
        yield result
    finally:
        with live_server.app.app_context():
            db.session.execute(sa.delete(Attendance).where(Attendance.meeting_id == result.meeting_id))
            db.session.execute(sa.delete(AgendaItem).where(AgendaItem.meeting_id == result.meeting_id))
            db.session.execute(sa.delete(Meeting).where(Meeting.id == result.meeting_id))
            db.session.execute(sa.delete(BodyMember).where(BodyMember.body_id == result.body_id))
            db.session.execute(sa.delete(Body).where(Body.id == result.body_id))
            db.session.commit()
            db.session.remove()


def test_the_committee_records_attendance_with_a_proxy_and_sees_the_quorum(
    page: Page,
    page_watch: PageWatch,
    live_server: LiveServer,
    log_in: Callable[..., None],
    held: Held,
) -> None:
    a, b, c, d = held.members
    log_in(COMMITTEE)
    page.goto(f"/governance/meetings/{held.meeting_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Groupe du parcours navigateur")

    def status(name: str) -> Any:
        return page.get_by_label(translated(live_server, "Attendance of %(name)s", name=name), exact=True)

    def proxy(name: str) -> Any:
        return page.get_by_label(translated(live_server, "Proxy holder for %(name)s", name=name), exact=True)

    save = page.get_by_role("button", name=translated(live_server, "Save the attendance"))

    # Two proxies to the same holder: the body allows one. Refused next to the second row, kept as chosen.
    status(a).select_option("present")
    status(b).select_option("present")
    status(c).select_option("represented")
    proxy(c).select_option(label=a)
    status(d).select_option("represented")
    proxy(d).select_option(label=a)
    save.click()
    refusal = translated(live_server, "%(name)s already holds %(n)d proxy (the body's limit).", name=a, n=1)
    expect(page.locator(f"#member-{held.members[d]} .error")).to_have_text(refusal)
    expect(page.locator(".error-summary")).to_contain_text(refusal)
    expect(proxy(d)).to_have_value(str(held.members[a]))
    expect(status(d)).to_have_value("represented")
    expect(page.locator("#quorum")).to_have_count(0)  # nothing was saved

    # C comes after all: present, with no proxy to give. Saved, and the quorum is shown.
    status(c).select_option("present")
    proxy(c).select_option("")
    save.click()
    expect(page).to_have_url(f"{live_server.url}/governance/meetings/{held.meeting_id}#attendance")
    quorum = page.locator("#quorum")
    expect(quorum).to_be_visible()
    expect(quorum).to_have_class("quorum quorum-reached")
    expect(quorum.locator(".quorum-verdict")).to_have_text(translated(live_server, "Quorum reached"))
    # 4 in office, a majority is 3, physically present (the proxy does not count toward it: CGCT L2121-17).
    expect(quorum.locator(".q-in-office")).to_have_text("4")
    expect(quorum.locator(".q-required")).to_have_text("3")
    expect(quorum.locator(".q-present")).to_have_text("3")
    expect(quorum.locator(".q-represented")).to_have_text("1")
    expect(status(d)).to_have_value("represented")
    expect(proxy(d)).to_have_value(str(held.members[a]))
    expect(status(c)).to_have_value("present")

    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
