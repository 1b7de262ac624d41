"""A breach in chromium: a partner librarian declares it in the form and reports it; the DPO receives the
e-mail (a real SMTP server, aiosmtpd), opens its link, signs in, comes back to the link and acknowledges
receipt; the breach's page shows the acknowledgement."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch
from tests.smtp import SmtpServer

pytestmark = pytest.mark.browser

DPO = "dpo@vigie.example"
DPO_NAME = "Délégué à la protection des données"
LIBRARIAN = "bibliotheque@forcalquier.example"
SMTP_SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER", "SMTP_PASSWORD")


def translated(live_server: LiveServer, message: str, **values: str) -> str:
    """A message as the live server shows it in French (the msgid while it has no translation)."""
    with live_server.app.test_request_context(), force_locale("fr"):
        return gettext(message, **values)


@pytest.fixture
def mailbox(live_server: LiveServer) -> Iterator[SmtpServer]:
    """An SMTP server (aiosmtpd) the live server sends to, for this test only."""
    server = SmtpServer()
    saved = {key: live_server.app.config.get(key) for key in SMTP_SETTINGS}
    server.start()
    live_server.app.config.update(
        SMTP_HOST=server.host, SMTP_PORT=server.port, SMTP_TLS=False, SMTP_USER=None, SMTP_PASSWORD=None
    )
    try:
        yield server
    finally:
        server.stop()
        live_server.app.config.update(saved)


@pytest.fixture
def summary(live_server: LiveServer) -> Iterator[str]:
    """A summary no other breach has; the rows of its breach are deleted afterwards (shared database)."""
    text = f"[breach journey {uuid.uuid4().hex[:8]}] Clé USB des inscriptions perdue"
    yield text
    _delete_breaches_with_summary(live_server, text)


def _delete_breaches_with_summary(live_server: LiveServer, text: str) -> None:
    import sqlalchemy as sa

    from compliance.breaches.models import Breach, BreachAction, BreachNotification
    from vigie.deadlines.models import Deadline, DeadlineEvent, DeadlineReminder
    from vigie.extensions import db
    from vigie.mail.models import OutboxMessage

    with live_server.app.app_context():
        # The summary is encrypted: found in Python, among the few breaches of the demo database.
        ids = [b.id for b in db.session.scalars(sa.select(Breach)) if b.summary == text]
        if ids:
            deadline_ids = list(
                db.session.scalars(
                    sa.select(Deadline.id).where(
                        Deadline.subject_type == "breach", Deadline.subject_id.in_(ids)
                    )
                )
            )
            for model in (DeadlineEvent, DeadlineReminder):
                db.session.execute(sa.delete(model).where(model.deadline_id.in_(deadline_ids)))
            db.session.execute(sa.delete(Deadline).where(Deadline.id.in_(deadline_ids)))
            for child in (BreachNotification, BreachAction):
                db.session.execute(sa.delete(child).where(child.breach_id.in_(ids)))
            for breach_id in ids:
                db.session.execute(
                    sa.delete(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"breach:{breach_id}:%"))
                )
            db.session.execute(sa.delete(Breach).where(Breach.id.in_(ids)))
            db.session.commit()
        db.session.remove()


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_partner_reports_a_breach_and_the_dpo_acknowledges_it_from_the_email(
    page: Page,
    page_watch: PageWatch,
    live_server: LiveServer,
    log_in: Callable[..., None],
    mailbox: SmtpServer,
    summary: str,
) -> None:
    def t(message: str, **values: str) -> str:
        return translated(live_server, message, **values)

    # The librarian goes from her home page to the declaration form.
    log_in(LIBRARIAN)
    page.get_by_role("link", name=t("Report a breach")).first.click()
    expect(page).to_have_url(f"{live_server.url}/breaches/new")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Report a personal-data breach"))

    # She fills it in, in plain words; times are Paris times (the browser's own zone here).
    from vigie.database import utcnow
    from vigie.timeutil import to_paris

    discovered = to_paris(utcnow() - timedelta(hours=1))
    page.get_by_label(t("What happened?")).fill(summary)
    page.get_by_label(t("Circumstances")).fill("Lors d'une animation hors les murs.")
    page.get_by_label(t("When was it discovered?")).fill(discovered.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label(t("Confidentiality"), exact=True).check()
    page.get_by_label(t("What kinds of personal data?")).fill("Noms et adresses des lecteurs")
    page.get_by_label(t("About how many people?")).fill("120")
    page.get_by_label(t("Name and function")).fill("La directrice de la médiathèque")
    page.get_by_role("button", name=t("Report to the Département")).click()

    # Reported: the breach's page, awaiting acknowledgement.
    expect(page).to_have_url(re.compile(r"/breaches/\d+$"))
    breach_path = re.sub(r"^https?://[^/]+", "", page.url)
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("dd.acknowledgement .badge.awaiting")).to_be_visible()
    expect(page.locator("main")).to_contain_text(summary)

    # The DPO's e-mail arrives at once, with the link.
    wait_for(lambda: any(DPO in e.rcpt_tos for e in mailbox.envelopes))
    message = next(m for m, e in zip(mailbox.messages, mailbox.envelopes, strict=True) if DPO in e.rcpt_tos)
    match = re.search(r"(https?://\S+/breaches/\d+/acknowledge)", message.get_content())
    assert match is not None, message.get_content()
    link = match.group(1)
    assert link == f"{live_server.url}{breach_path}/acknowledge"

    # The DPO opens it in a browser not signed in: the sign-in page brings them back to the link.
    page.context.clear_cookies()
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.locator("input[name=email]").fill(DPO)
    from vigie.demo import DEMO_PASSWORD

    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form[action$='/login'] button[type=submit]").click()
    expect(page).to_have_url(link)

    # The confirmation page, its button; then the breach's page shows the acknowledgement.
    button = page.locator("main form").get_by_role("button", name=t("Acknowledge receipt"))
    expect(button).to_be_visible()
    button.click()
    expect(page).to_have_url(f"{live_server.url}{breach_path}#timeline")
    acknowledgement = page.locator("dd.acknowledgement")
    expect(acknowledgement).to_contain_text(DPO_NAME)
    expect(acknowledgement.locator(".badge.awaiting")).to_have_count(0)
    expect(page.locator("dd.cnil-deadline time.countdown")).to_have_attribute(
        "data-countdown-updated", re.compile(r"^\d{4}-")
    )  # countdown.js ran: the 72-hour clock is live

    # The librarian's receipt went out too.
    wait_for(lambda: any(LIBRARIAN in e.rcpt_tos for e in mailbox.envelopes))

    # The link opened again says it is done, with no button.
    page.goto(link)
    expect(page.locator(".acknowledged-notice")).to_contain_text(DPO_NAME)
    expect(page.locator("main form")).to_have_count(0)

    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
