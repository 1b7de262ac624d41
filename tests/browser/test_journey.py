"""A partner's first journey through the real app in chromium: sign in, home, language, sign out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch

pytestmark = pytest.mark.browser

PARTNER = "bibliotheque@forcalquier.example"
PARTNER_ORG = "Communauté de communes Pays de Forcalquier-Montagne de Lure"
# Label texts, whether or not the French catalogue is compiled.
EMAIL_LABEL = re.compile(r"e-mail|courriel|adresse électronique", re.IGNORECASE)
PASSWORD_LABEL = re.compile(r"password|mot de passe", re.IGNORECASE)
LOGIN_URL = re.compile(r"/login(\?.*)?$")


def translated(live_server: LiveServer, locale: str, message: str) -> str:
    """A message as the live server shows it in that locale (the msgid when nothing is compiled)."""
    with live_server.app.test_request_context(), force_locale(locale):
        return gettext(message)


@pytest.fixture
def partner_locale_restored(live_server: LiveServer) -> Iterator[None]:
    """The journey saves the partner's language choice: put the demo user back as it was."""
    from vigie.auth.services import user_by_email
    from vigie.extensions import db

    yield
    with live_server.app.app_context():
        user = user_by_email(PARTNER)
        assert user is not None
        user.locale = None
        db.session.commit()
        db.session.remove()


def sign_in_through_form(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label(EMAIL_LABEL).fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(password)
    page.locator("main form").get_by_role("button").click()


@pytest.mark.usefixtures("partner_locale_restored")
def test_partner_signs_in_switches_to_english_and_signs_out(
    page: Page, page_watch: PageWatch, live_server: LiveServer
) -> None:
    from vigie.demo import DEMO_PASSWORD

    html = page.locator("html")
    sign_in_through_form(page, PARTNER, DEMO_PASSWORD)

    # Home page, in French (the default), with the partner's organisation.
    expect(page).to_have_url(f"{live_server.url}/")
    expect(html).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text(PARTNER_ORG)
    expect(page.locator("header")).to_contain_text(PARTNER_ORG)

    # The language button in the header switches the page to English.
    page.locator("header").get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/\??$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Welcome, "))
    expect(page.locator("header").get_by_role("button", name="Français")).to_be_visible()
    expect(page.locator("main")).to_contain_text(PARTNER_ORG)

    # Sign out: back on the login page.
    page.locator("header").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(LOGIN_URL)
    expect(page.get_by_label(EMAIL_LABEL)).to_be_visible()
    expect(page.get_by_label(PASSWORD_LABEL)).to_be_visible()
    expect(page.locator("header")).not_to_contain_text(PARTNER_ORG)

    assert page_watch.requests, "the page event listener saw no request"
    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []


def test_wrong_password_shows_an_error_and_stays_on_login(
    page: Page, page_watch: PageWatch, live_server: LiveServer
) -> None:
    sign_in_through_form(page, PARTNER, "not-the-password")

    expect(page).to_have_url(LOGIN_URL)
    error = page.locator(".flash-error")
    expect(error).to_have_text(translated(live_server, "fr", "Wrong e-mail address or password."))
    expect(page.get_by_label(PASSWORD_LABEL)).to_have_value("")
    expect(page.locator("header")).not_to_contain_text(PARTNER_ORG)
    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
