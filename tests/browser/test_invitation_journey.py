"""In chromium: an administrator invites a user; the invitation e-mail arrives at a real SMTP server;
its link leads the newcomer to choose a password, then to their first sign-in."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch
from tests.smtp import SmtpServer

pytestmark = pytest.mark.browser

ADMIN = "admin@vigie.example"
SISTERON = "Commune de Sisteron"
PASSWORD = "une phrase de passe pour Sisteron"


@pytest.fixture
def live_smtp(live_server: LiveServer) -> Iterator[SmtpServer]:
    """An SMTP server the live server sends to, for this test only."""
    keys = ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER", "SMTP_PASSWORD")
    saved = {key: live_server.app.config.get(key) for key in keys}
    server = SmtpServer()
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
def invitee(live_server: LiveServer) -> Iterator[str]:
    """A fresh address; the account made for it is removed afterwards (the live database is shared)."""
    import sqlalchemy as sa

    from vigie.auth.account_tokens import AccountToken
    from vigie.auth.login_log import LoginEvent
    from vigie.auth.services import user_by_email
    from vigie.extensions import db

    email = f"invite-{uuid.uuid4().hex[:8]}@sisteron.example"
    yield email
    with live_server.app.app_context():
        user = user_by_email(email)
        if user is not None:
            db.session.execute(sa.delete(LoginEvent).where(LoginEvent.user_id == user.id))
            db.session.execute(sa.delete(AccountToken).where(AccountToken.user_id == user.id))
            db.session.delete(user)
            db.session.commit()
        db.session.remove()


def wait_for_mail(server: SmtpServer, count: int = 1, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(server.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(server.messages) >= count, "no e-mail received"


def test_an_admin_invites_a_user_who_follows_the_link_to_a_first_sign_in(
    page: Page,
    live_server: LiveServer,
    live_smtp: SmtpServer,
    invitee: str,
    log_in: object,
    page_watch: PageWatch,
) -> None:
    log_in(ADMIN)  # type: ignore[operator]

    # The administrator invites someone from the admin page.
    page.goto("/admin/users/")
    page.locator("main a[href='/admin/users/new']").first.click()
    expect(page).to_have_url(re.compile(r"/admin/users/new$"))
    page.locator("input[name=name]").fill("Bibliothécaire de Sisteron")
    page.locator("input[name=email]").fill(invitee)
    page.locator("select[name=organisation_id]").select_option(label=SISTERON)
    page.locator("input[name=roles][value=partner]").check()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/users/\d+$"))
    expect(page.locator("main")).to_contain_text(invitee)

    # The e-mail arrives, with the link.
    wait_for_mail(live_smtp)
    mail = live_smtp.messages[-1]
    assert mail["To"] == invitee
    links = re.findall(r"https?://\S+", mail.get_content())
    assert len(links) == 1 and links[0].startswith(f"{live_server.url}/invitation/")

    # The administrator signs out; the newcomer opens the link and chooses a password.
    page.locator("header").get_by_role("button", name=re.compile("Se déconnecter|Sign out")).click()
    page.goto(links[0])
    expect(page.locator("main")).to_contain_text(invitee)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=confirm]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    # First sign-in.
    page.locator("input[name=email]").fill(invitee)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form[action$='/login'] button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("header")).to_contain_text(SISTERON)

    # The link worked once.
    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "/invitation/" in page.url

    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
