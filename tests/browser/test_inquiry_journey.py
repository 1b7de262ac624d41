"""A rights request in chromium: the DPO records it and asks the Forcalquier partner; the partner answers
with an attached export; the DPO sees the answer and downloads the file."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, PageWatch

pytestmark = pytest.mark.browser

DPO = "dpo@vigie.example"
PARTNER = "bibliotheque@forcalquier.example"
FORCALQUIER_NAME = "Communauté de communes Pays de Forcalquier-Montagne de Lure"


def translated(live_server: LiveServer, message: str, **values: object) -> str:
    """A message as the live server shows it in French (the msgid when the catalog lacks it)."""
    with live_server.app.test_request_context(), force_locale("fr"):
        return gettext(message, **values)


@pytest.fixture
def cleanup(live_server: LiveServer) -> Iterator[None]:
    """Delete the requests this test creates, with their inquiries, clocks and stored files (the live
    server's database is shared by the browser tests)."""
    import sqlalchemy as sa

    from compliance.access_requests.models import AccessRequest, Inquiry
    from vigie import storage
    from vigie.deadlines.models import Deadline, DeadlineEvent, DeadlineReminder
    from vigie.extensions import db

    with live_server.app.app_context():
        before = set(db.session.scalars(sa.select(AccessRequest.id)))
        db.session.remove()
    yield
    with live_server.app.app_context():
        created = [r for r in db.session.scalars(sa.select(AccessRequest)) if r.id not in before]
        inquiries = [i for r in created for i in r.inquiries]
        subjects = sa.or_(
            sa.and_(
                Deadline.subject_type == "access_request", Deadline.subject_id.in_([r.id for r in created])
            ),
            sa.and_(Deadline.subject_type == "inquiry", Deadline.subject_id.in_([i.id for i in inquiries])),
        )
        deadline_ids = list(db.session.scalars(sa.select(Deadline.id).where(subjects)))
        for model in (DeadlineEvent, DeadlineReminder):
            db.session.execute(sa.delete(model).where(model.deadline_id.in_(deadline_ids)))
        for deadline in db.session.scalars(sa.select(Deadline).where(Deadline.id.in_(deadline_ids))):
            db.session.delete(deadline)
        for inquiry in inquiries:
            if inquiry.attachment_key:
                storage.delete(inquiry.attachment_key)
            db.session.delete(inquiry)
        db.session.flush()
        for request in created:
            db.session.delete(request)
        db.session.commit()
        assert not db.session.scalars(
            sa.select(Inquiry).where(Inquiry.id.in_([i.id for i in inquiries]))
        ).all()
        db.session.remove()


def sign_out(page: Page) -> None:
    with page.expect_navigation():
        page.locator("header form[action$='/logout'] button").click()


@pytest.mark.usefixtures("cleanup")
def test_the_dpo_asks_forcalquier_and_the_partner_answers_with_a_file(
    page: Page,
    page_watch: PageWatch,
    live_server: LiveServer,
    log_in: Callable[..., None],
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:8]
    person = f"Camille Navigateur {tag}"
    details = f"Nom : {person} ; carte 04-{tag}"
    export = tmp_path / f"export-{tag}.csv"
    export.write_text(f"carte;nom\n04-{tag};{person}\n", encoding="utf-8")

    # The DPO records the request through the intake form.
    log_in(DPO)
    page.goto("/access-requests/new")
    page.get_by_label(translated(live_server, "Right exercised")).select_option("access")
    page.get_by_label(translated(live_server, "The person's name")).fill(person)
    page.get_by_label(translated(live_server, "E-mail address")).fill(f"camille.{tag}@example.org")
    page.get_by_label(translated(live_server, "Phone")).fill("04 92 00 00 00")
    page.get_by_label(translated(live_server, "The request, in the person's words")).fill(
        "Quelles données détenez-vous sur moi ?"
    )
    page.get_by_label(translated(live_server, "Channel")).fill("courrier")
    page.locator("form.record-request button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/access-requests/\d+$"))
    request_url = page.url
    found = re.search(r"DEM-\d{4}-\d{3}", page.locator("h1").inner_text())
    assert found is not None
    reference = found.group(0)
    expect(page.locator("main")).to_contain_text(person)

    # ...and asks the Forcalquier partner, with what it needs to find the person.
    ask = page.locator("form.ask-partners")
    ask.get_by_label(FORCALQUIER_NAME).check()
    ask.get_by_label(translated(live_server, "What the partners need to find the person")).fill(details)
    ask.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    inquiry_link = page.locator("table.inquiries tbody a", has_text=FORCALQUIER_NAME)
    expect(inquiry_link).to_be_visible()
    inquiry_url = inquiry_link.get_attribute("href")
    assert inquiry_url is not None and re.fullmatch(r"/inquiries/\d+", inquiry_url)
    sign_out(page)

    # The partner answers: it holds data, and attaches its export.
    log_in(PARTNER)
    page.goto(inquiry_url)
    main = page.locator("main")
    expect(main).to_contain_text(details)
    expect(page.locator("h1")).to_contain_text(reference)
    expect(main).not_to_contain_text(f"camille.{tag}@example.org")
    expect(main).not_to_contain_text("04 92 00 00 00")
    form = page.locator("form.inquiry-answer-form")
    form.locator("input[name=holds_data][value=yes]").check()
    form.get_by_label(translated(live_server, "What your library holds")).fill(f"Inscription active {tag}")
    form.locator("input[type=file][name=attachment]").set_input_files(str(export))
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-success")).to_be_visible()
    answer = page.locator("section.inquiry-answer")
    expect(answer).to_contain_text(export.name)
    expect(answer).to_contain_text(translated(live_server, "answered on time"))
    expect(page.locator("form.inquiry-answer-form")).to_have_count(0)
    sign_out(page)

    # The DPO sees the answer on the request, and downloads the export.
    log_in(DPO)
    page.goto(request_url)
    row = page.locator("table.inquiries tbody tr", has_text=FORCALQUIER_NAME)
    expect(row).to_contain_text(f"Inscription active {tag}")
    expect(row.locator(".badge.status")).to_have_text(translated(live_server, "answered on time"))
    link = row.locator("a.attachment-link")
    expect(link).to_contain_text(export.name)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == export.name
    assert Path(download.path()).read_bytes() == export.read_bytes()
    page.goto("/access-requests/")
    listed = page.locator("table.requests tr", has_text=reference)
    expect(listed).to_contain_text(translated(live_server, "%(answered)d of %(asked)d", answered=1, asked=1))

    assert page_watch.foreign_requests() == []
    assert page_watch.csp_violations() == []
    assert page_watch.page_errors == []
