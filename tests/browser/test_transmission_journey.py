"""A prefecture transmission in chromium: the legal service opens a signed convention, types a wrong
acknowledgement id (refused, the reason shown next to the field, what was typed kept), then the right one
(accepted: the convention is shown as enforceable, "exécutoire").

The convention is prepared through the services in the live server's database, for a partner of its own
(its own SIREN and deliberation): the demo's reference convention stays untouched, and the records are
deleted afterwards (the live database is shared by the browser tests)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch
from tests.factories import valid_siren

pytestmark = pytest.mark.browser

LEGAL = "juridique@vigie.example"
ADOPTED_ON = date(2025, 6, 12)
NUMBER = "2025-81"


def translated(live_server: LiveServer, message: str, **values: str) -> str:
    """A message as the live server shows it in French (the msgid while it has no translation)."""
    with live_server.app.test_request_context(), force_locale("fr"):
        return gettext(message, **values)


@dataclass(frozen=True)
class Prepared:
    convention_id: int
    siren: str

    @property
    def right_id(self) -> str:
        return f"004-{self.siren}-{ADOPTED_ON:%Y%m%d}-81-2025-DE"


@pytest.fixture
def signed_convention(live_server: LiveServer) -> Iterator[Prepared]:
    import sqlalchemy as sa

    from governance.conventions import services
    from governance.conventions.models import Convention, ConventionArticle, Deliberation
    from vigie.deadlines.models import Deadline, DeadlineEvent, DeadlineReminder
    from vigie.extensions import db
    from vigie.orgs.models import Organisation
    from vigie.orgs.services import create_organisation, organisation_by_siren

    siren = valid_siren(int(uuid.uuid4().int % 10**8))
    with live_server.app.app_context():
        controller = organisation_by_siren("220400014")
        assert controller is not None
        partner = create_organisation(
            f"Commune de Mane ({uuid.uuid4().hex[:6]})", "partner", siren, "Place de la Mairie, 04300 Mane"
        )
        convention = services.create_convention(
            controller,
            partner,
            "Convention de partenariat pour l'accès aux services numériques",
            date(2025, 7, 1),
            date(2028, 12, 31),
            articles=[
                services.ArticleData(1, "Objet de la présente convention", "Les conditions du partenariat.")
            ],
        )
        deliberation = services.create_deliberation(
            services.DeliberationData(
                organisation_id=partner.id,
                assembly="Conseil municipal",
                number=NUMBER,
                adopted_on=ADOPTED_ON,
                subject="Convention de partenariat pour l'accès aux services numériques",
                members_in_office=15,
                members_present=12,
                members_represented=2,
                votes_for=14,
                secretary="Claire MARTIN",
            )
        )
        services.approve_convention(convention, deliberation)
        services.sign_convention(
            convention, date(2025, 6, 20), date(2025, 6, 18), "Eliane BARREILLE", "Le maire"
        )
        db.session.commit()
        prepared = Prepared(convention.id, siren)
        partner_id, deliberation_id = partner.id, deliberation.id
        db.session.remove()
    yield prepared
    with live_server.app.app_context():
        deadline_ids = list(
            db.session.scalars(sa.select(Deadline.id).where(Deadline.organisation_id == partner_id))
        )
        for model in (DeadlineEvent, DeadlineReminder):
            db.session.execute(sa.delete(model).where(model.deadline_id.in_(deadline_ids)))
        db.session.execute(sa.delete(Deadline).where(Deadline.id.in_(deadline_ids)))
        db.session.execute(
            sa.delete(ConventionArticle).where(ConventionArticle.convention_id == prepared.convention_id)
        )
        db.session.execute(sa.delete(Convention).where(Convention.id == prepared.convention_id))
        db.session.execute(sa.delete(Deliberation).where(Deliberation.id == deliberation_id))
        db.session.execute(sa.delete(Organisation).where(Organisation.id == partner_id))
        db.session.commit()
        db.session.remove()


def test_a_transmission_is_refused_then_accepted(
    page: Page,
    page_watch: PageWatch,
    live_server: LiveServer,
    log_in: Callable[[str], None],
    signed_convention: Prepared,
) -> None:
    log_in(LEGAL)
    page.goto(f"/conventions/{signed_convention.convention_id}")
    badge = page.locator(".convention-badges [data-enforceable]")
    expect(badge).to_have_attribute("data-enforceable", "no")

    form = page.locator("form#transmission")
    id_field = form.get_by_label(translated(live_server, "Prefecture acknowledgement id"))
    received = form.get_by_label(translated(live_server, "Received by the prefecture on"))
    published = form.get_by_label(translated(live_server, "Published on"))

    # The demo's reference id belongs to another SIREN (and another deliberation): refused, with why.
    wrong = "004-240400440-20250403-37-2025-DE"
    id_field.fill(wrong)
    received.fill("2025-07-02")
    published.fill("2025-07-03")
    with page.expect_navigation():
        form.get_by_role("button", name=translated(live_server, "Record the transmission")).click()
    error = page.locator("#transmission-acknowledgement_id-error")
    expect(error).to_contain_text(
        translated(
            live_server,
            "The SIREN %(ack)s is not the partner's (%(siren)s).",
            ack="240400440",
            siren=signed_convention.siren,
        )
    )
    expect(error).to_contain_text(
        translated(
            live_server,
            "The act's date %(ack)s is not the deliberation's (%(date)s).",
            ack="03/04/2025",
            date="12/06/2025",
        )
    )
    expect(page.locator("#transmission-acknowledgement_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#transmission-acknowledgement_id")).to_have_value(wrong)
    expect(page.locator(".error-summary")).to_be_visible()
    expect(badge).to_have_attribute("data-enforceable", "no")

    id_field.fill(signed_convention.right_id)
    with page.expect_navigation():
        form.get_by_role("button", name=translated(live_server, "Record the transmission")).click()
    expect(page.locator(".flash-success")).to_contain_text(
        translated(
            live_server, "The transmission to the prefecture is recorded: the convention is enforceable."
        )
    )
    expect(badge).to_have_attribute("data-enforceable", "yes")
    expect(badge).to_have_text(translated(live_server, "enforceable"))  # "exécutoire"
    expect(page.locator("code.acknowledgement-id")).to_have_text(signed_convention.right_id)
    expect(page.locator("form#transmission")).to_have_count(0)
    expect(page.locator(".evaluation-due time[datetime]")).to_have_attribute("datetime", "2028-10-31")
    assert re.search(r"/conventions/\d+", page.url)

    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
