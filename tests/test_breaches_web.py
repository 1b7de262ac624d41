"""Breach pages: the whole life of a breach through the web forms, with the real SMTP test server
receiving the DPO's e-mail and the partner's receipt; the 72-hour clock across a daylight-saving change
and a weekend; the acknowledgement sent twice; an SMTP outage at submission; tenant isolation on every
route; encryption at rest; escaping."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from markupsafe import escape

from compliance.breaches.forms import NonexistentLocalTime, paris_to_utc
from compliance.breaches.models import ActionStatus, Breach, BreachAction, BreachStatus, RiskLevel
from compliance.breaches.services import CNIL_KIND, SUBJECT
from tests.conftest import french
from tests.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the smtp_server fixture)
from vigie.database import utcnow
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.extensions import db
from vigie.mail.models import OutboxMessage
from vigie.mail.services import send_pending
from vigie.timeutil import to_paris

PARIS_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends


# --- helpers ---------------------------------------------------------------------------------------


def plain(page: str) -> str:
    """A page's text with the HTML entities decoded (`n&#39;attend` -> `n'attend`), to find messages in."""
    return html.unescape(page)


def local(value: datetime) -> str:
    return to_paris(value).strftime(PARIS_FORMAT)


def shown(app: Flask, value: datetime | None) -> str:
    """A time as the pages show it (the `paris` filter, in French)."""
    from vigie.web import paris

    with app.test_request_context(), force_locale("fr"):
        return paris(value)


def reload(breach_id: int) -> Breach:
    db.session.expire_all()
    breach = db.session.get(Breach, breach_id)
    assert breach is not None
    return breach


def breaches() -> list[Breach]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Breach).order_by(Breach.id)))


def cnil_deadline(breach_id: int) -> Deadline:
    db.session.expire_all()
    deadline = db.session.scalar(
        sa.select(Deadline)
        .where(Deadline.subject_type == SUBJECT, Deadline.subject_id == breach_id, Deadline.kind == CNIL_KIND)
        .order_by(Deadline.id.desc())
    )
    assert deadline is not None
    return deadline


def declaration(discovered: datetime, **overrides: Any) -> dict[str, Any]:
    """What a librarian types in the declaration form."""
    data: dict[str, Any] = {
        "summary": "Une clé USB contenant la liste des lecteurs inscrits a été perdue dans le bus.",
        "circumstances": "La clé servait aux inscriptions lors d'une animation hors les murs.",
        "started_at": local(discovered - timedelta(hours=3)),
        "discovered_at": local(discovered),
        "natures": ["confidentiality"],
        "cause": "Perte",
        "data_categories": "Noms, adresses, numéros de carte",
        "subject_categories": "Lecteurs inscrits, dont des enfants",
        "subjects_count": "350",
        "records_count": "350",
        "consequences": "Démarchage, hameçonnage",
        "measures_taken": "Signalement à la police, mots de passe changés",
        "measures_proposed": "Chiffrer les clés USB",
        "contact_name": "Mme Dupont, directrice",
        "contact_email": "direction@mediatheque.example",
        "contact_phone": "04 92 00 00 00",
        "action": "report",
    }
    data.update(overrides)
    return data


def acknowledge_path(message: Any) -> str:
    match = re.search(r"https?://\S+/breaches/(\d+)/acknowledge", message.get_content())
    assert match is not None, message.get_content()
    return urlsplit(match.group(0)).path


@pytest.fixture
def people(factory: Any) -> dict[str, Any]:
    library = factory.org("partner", name="Médiathèque de Manosque")
    neighbour = factory.org("partner", name="Médiathèque de Sisteron")
    return {
        "library": library,
        "neighbour": neighbour,
        "librarian": factory.user("partner", org=library),
        "neighbour_librarian": factory.user("partner", org=neighbour),
        "dpo": factory.user("dpo"),
        "auditor": factory.user("auditor"),
        "committee": factory.user("committee"),
        "legal": factory.user("legal"),
        "admin": factory.user("admin"),
    }


def declare(client: Any, discovered: datetime | None = None, **overrides: Any) -> Breach:
    """A breach declared through the form; the new (last) breach."""
    response = client.post("/breaches/new", data=declaration(discovered or utcnow(), **overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    return breaches()[-1]


def reported_breach(sign_in_as: Any, people: dict[str, Any], **overrides: Any) -> Breach:
    return declare(sign_in_as(people["librarian"]), utcnow() - timedelta(hours=2), **overrides)


# --- the whole life --------------------------------------------------------------------------------


def test_the_whole_life_of_a_breach_through_the_web_forms(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian, dpo = sign_in_as(people["librarian"]), sign_in_as(people["dpo"])
    now = utcnow()
    discovered = now - timedelta(days=5)  # reported five days later: late

    # The librarian opens the form, saves a draft: nothing leaves.
    form = librarian.get("/breaches/new")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    for name in ("summary", "discovered_at", "natures", "subjects_count", "contact_name"):
        assert f'name="{name}"' in page
    assert 'name="organisation_id"' not in page  # a partner declares for its own organisation only
    assert 'type="datetime-local"' in page
    response = librarian.post("/breaches/new", data=declaration(discovered, action="draft"))
    assert response.status_code == 302
    (breach,) = breaches()
    assert breach.status == BreachStatus.DRAFT and breach.reference is None
    assert breach.organisation_id == people["library"].id
    assert breach.discovered_at == discovered.replace(second=0, microsecond=0)
    assert smtp_server.messages == []

    # She completes it, then reports it to the Département.
    edit = librarian.get(f"/breaches/{breach.id}/edit")
    assert edit.status_code == 200
    assert f'value="{local(discovered)}"' in edit.get_data(as_text=True)  # shown back in Paris time
    response = librarian.post(
        f"/breaches/{breach.id}/edit",
        data=declaration(discovered, natures=["confidentiality", "availability"], action="report"),
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    assert breach.status == BreachStatus.SUBMITTED
    assert breach.reference == f"VIO-{to_paris(utcnow()).year}-001"
    assert breach.natures == ["confidentiality", "availability"]
    assert breach.reported_to_controller_at is not None

    # The DPO receives the e-mail at once, with the link to acknowledge receipt.
    (to_dpo,) = smtp_server.messages
    assert smtp_server.envelopes[0].rcpt_tos == [people["dpo"].email]
    assert breach.reference in to_dpo["Subject"]
    assert "clé USB" not in to_dpo.get_content()  # no personal data in the e-mail
    link = acknowledge_path(to_dpo)
    assert link == f"/breaches/{breach.id}/acknowledge"

    # The partner's page shows the report, its delay and the "late" flag, and the awaiting state.
    page = librarian.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert french("late") in plain(page)
    assert 'class="badge awaiting"' in page  # "awaiting acknowledgement — 0 min elapsed"

    # The DPO opens the link, sees the button, acknowledges.
    confirm = dpo.get(link)
    assert confirm.status_code == 200
    assert french("Acknowledge receipt") in plain(confirm.get_data(as_text=True))
    response = dpo.post(link)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/breaches/{breach.id}#timeline")
    breach = reload(breach.id)
    assert breach.status == BreachStatus.ACKNOWLEDGED
    assert breach.acknowledged_by_id == people["dpo"].id
    assert breach.aware_at == breach.acknowledged_at

    # The partner receives the receipt.
    assert len(smtp_server.messages) == 2
    receipt = smtp_server.messages[1]
    assert smtp_server.envelopes[1].rcpt_tos == [people["librarian"].email]
    assert breach.reference in receipt["Subject"]

    # The CNIL deadline: 72 hours after awareness, on the page with a live countdown.
    assert breach.cnil_deadline_at == breach.aware_at + timedelta(hours=72)
    assert cnil_deadline(breach.id).due_at == breach.cnil_deadline_at
    page = dpo.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert shown(app, breach.cnil_deadline_at) in page
    assert re.search(r'<time class="countdown" datetime="[0-9T:-]+Z">', page)
    assert "countdown.js" in page
    assert french(
        "on %(at)s by %(name)s", at=shown(app, breach.acknowledged_at), name=people["dpo"].name
    ) in plain(page)
    assert 'class="badge awaiting"' not in page

    # The DPO assesses the risk.
    response = dpo.post(
        f"/breaches/{breach.id}/assessment",
        data={"assessment-risk_level": "risk", "assessment-risk_reasoning": "Adresses et enfants concernés."},
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    assert (breach.status, breach.risk_level) == (BreachStatus.ASSESSED, RiskLevel.RISK)

    # A phone call had told the Département four days ago: the clock moves, and is now overdue.
    earlier = now - timedelta(days=4)
    response = dpo.post(
        f"/breaches/{breach.id}/awareness",
        data={"awareness-aware_at": local(earlier), "awareness-reason": "Appel de la directrice"},
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    assert breach.aware_at == earlier.replace(second=0, microsecond=0)
    assert cnil_deadline(breach.id).due_at == breach.aware_at + timedelta(hours=72) < utcnow()

    # A late initial notification without the reasons for the delay is refused, with the clear message,
    # next to the field, and what was typed is kept.
    notified = {
        "notification-kind": "initial",
        "notification-notified_at": local(utcnow()),
        "notification-cnil_reference": "CNIL-2026-12345",
        "notification-summary": "Notification initiale",
    }
    refused = dpo.post(f"/breaches/{breach.id}/notifications", data=notified)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    message = french(
        "This notification comes more than 72 hours after the Département became aware: "
        "give the reasons for the delay (GDPR art. 33(1)).",
    )
    assert 'id="notification-late_reasons-error"' in plain(page) and message in plain(page)
    assert 'value="CNIL-2026-12345"' in page
    assert reload(breach.id).notifications == []
    # With the reasons, it is recorded and the clock is met (late).
    response = dpo.post(
        f"/breaches/{breach.id}/notifications",
        data={**notified, "notification-late_reasons": "L'appel n'avait pas été consigné."},
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    (notification,) = breach.notifications
    assert notification.cnil_reference == "CNIL-2026-12345"
    assert cnil_deadline(breach.id).state == DeadlineState.MET

    # The joint action plan: the partner adds an action and marks it done.
    response = librarian.post(
        f"/breaches/{breach.id}/actions",
        data={
            "action-description": "Chiffrer toutes les clés USB",
            "action-owner": "Médiathèque",
            "action-due_date": "2026-12-31",
        },
    )
    assert response.status_code == 302
    (action,) = reload(breach.id).actions
    response = librarian.post(
        f"/breaches/{breach.id}/actions/{action.id}/status", data={f"action-{action.id}-status": "done"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(BreachAction, action.id).status == ActionStatus.DONE

    # The DPO closes the breach.
    response = dpo.post(f"/breaches/{breach.id}/close", data={"close-closure_summary": "Clés chiffrées."})
    assert response.status_code == 302
    breach = reload(breach.id)
    assert breach.status == BreachStatus.CLOSED and breach.closed_at is not None

    # Everything is on the breach's page, for the partner too.
    page = librarian.get(f"/breaches/{breach.id}").get_data(as_text=True)
    for text in (
        "CNIL-2026-12345",
        "Chiffrer toutes les clés USB",
        "Clés chiffrées.",
        "Appel de la directrice",
    ):
        assert str(escape(text)) in page
    assert french("closed") in plain(page)
    assert 'action="/breaches/' + str(breach.id) + '/close"' not in page


# --- acknowledgement, e-mail outage ----------------------------------------------------------------


def test_an_acknowledgement_sent_twice_records_one_and_sends_one_receipt(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    breach = reported_breach(sign_in_as, people)
    dpo = sign_in_as(people["dpo"])
    other_tab = sign_in_as(people["dpo"])
    assert dpo.post(f"/breaches/{breach.id}/acknowledge").status_code == 302
    first = reload(breach.id).acknowledged_at
    response = other_tab.post(f"/breaches/{breach.id}/acknowledge", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert french(
        "Already acknowledged on %(at)s by %(name)s: nothing was changed.",
        at=shown(app, first),
        name=people["dpo"].name,
    ) in plain(page)
    assert reload(breach.id).acknowledged_at == first
    receipts = [e for e in smtp_server.envelopes if e.rcpt_tos == [people["librarian"].email]]
    assert len(receipts) == 1
    assert len(cnil_deadlines_of(breach.id)) == 1
    # The e-mail's link, opened again, says so and offers no button.
    page = dpo.get(f"/breaches/{breach.id}/acknowledge").get_data(as_text=True)
    assert french(
        "Already acknowledged on %(at)s by %(name)s.", at=shown(app, first), name=people["dpo"].name
    ) in plain(page)
    assert 'action="/breaches/' + str(breach.id) + '/acknowledge"' not in page


def cnil_deadlines_of(breach_id: int) -> list[Deadline]:
    return list(
        db.session.scalars(
            sa.select(Deadline).where(
                Deadline.subject_type == SUBJECT, Deadline.subject_id == breach_id, Deadline.kind == CNIL_KIND
            )
        )
    )


def test_smtp_down_at_submission_the_breach_is_saved_and_the_mail_leaves_later(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    smtp_server.stop()
    breach = reported_breach(sign_in_as, people)
    assert breach.status == BreachStatus.SUBMITTED
    queued = list(db.session.scalars(sa.select(OutboxMessage)))
    assert [m.recipient for m in queued] == [people["dpo"].email]

    # Saved, and visible to the DPO: in the register, on the home page, on its page.
    dpo = sign_in_as(people["dpo"])
    assert breach.reference in dpo.get("/breaches/").get_data(as_text=True)
    assert breach.reference in dpo.get("/").get_data(as_text=True)
    assert dpo.get(f"/breaches/{breach.id}").status_code == 200

    smtp_server.start()
    report = send_pending(now=utcnow() + timedelta(minutes=10))
    assert report.sent == 1
    (message,) = smtp_server.messages
    assert acknowledge_path(message) == f"/breaches/{breach.id}/acknowledge"


def test_the_posts_need_the_csrf_token(
    sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    breach = reported_breach(sign_in_as, people)
    dpo = sign_in_as(people["dpo"])
    assert dpo.client.post(f"/breaches/{breach.id}/acknowledge").status_code == 400  # no token
    librarian = sign_in_as(people["librarian"])
    assert librarian.client.post("/breaches/new", data=declaration(utcnow())).status_code == 400
    assert reload(breach.id).acknowledged_at is None
    assert len(breaches()) == 1


# --- the 72-hour clock -----------------------------------------------------------------------------


def test_the_72_hours_across_the_change_to_summer_time(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    """Aware on Friday 28 March 2025 at 10:00 in Paris (UTC+1); the clocks go forward on Sunday 30th:
    72 hours of elapsed time later it is Monday 31 March at 11:00 in Paris (UTC+2)."""
    discovered = datetime(2025, 3, 27, 17, 0, tzinfo=UTC)  # 18:00 in Paris
    breach = declare(sign_in_as(people["librarian"]), discovered)
    dpo = sign_in_as(people["dpo"])
    # An earlier awareness needs its reason: refused next to the field, the time typed kept.
    response = dpo.post(f"/breaches/{breach.id}/acknowledge", data={"ack-aware_at": "2025-03-28T10:00"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="ack-reason-error"' in page and 'value="2025-03-28T10:00"' in page
    assert '<details class="earlier" open>' in page
    assert reload(breach.id).acknowledged_at is None
    response = dpo.post(
        f"/breaches/{breach.id}/acknowledge",
        data={"ack-aware_at": "2025-03-28T10:00", "ack-reason": "Appel de la directrice le 28 mars"},
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    assert breach.aware_at == datetime(2025, 3, 28, 9, 0, tzinfo=UTC)
    assert breach.aware_reason == "Appel de la directrice le 28 mars"
    due = datetime(2025, 3, 31, 9, 0, tzinfo=UTC)
    assert breach.cnil_deadline_at == due == cnil_deadline(breach.id).due_at
    assert to_paris(due).strftime("%d/%m/%Y %H:%M") == "31/03/2025 11:00"
    page = dpo.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert shown(app, due) in page
    assert french("overdue") in plain(page)  # long past


def test_the_72_hours_across_a_weekend(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    """Nights and weekends count: aware on Friday at 17:00, the CNIL is due on Monday at 17:00."""
    breach = declare(sign_in_as(people["librarian"]), datetime(2025, 1, 10, 8, 0, tzinfo=UTC))
    dpo = sign_in_as(people["dpo"])
    assert dpo.post(f"/breaches/{breach.id}/acknowledge").status_code == 302
    response = dpo.post(
        f"/breaches/{breach.id}/awareness",
        data={"awareness-aware_at": "2025-01-10T17:00", "awareness-reason": "Courriel du vendredi soir"},
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    assert breach.aware_at is not None and to_paris(breach.aware_at).strftime("%A %H:%M") == "Friday 17:00"
    due = cnil_deadline(breach.id).due_at
    assert to_paris(due).strftime("%A %d/%m/%Y %H:%M") == "Monday 13/01/2025 17:00"
    assert breach.cnil_deadline_at == due


def test_paris_wall_clock_times() -> None:
    assert paris_to_utc(datetime(2025, 1, 10, 17, 0)) == datetime(2025, 1, 10, 16, 0, tzinfo=UTC)
    assert paris_to_utc(datetime(2025, 7, 1, 12, 0)) == datetime(2025, 7, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(NonexistentLocalTime):
        paris_to_utc(datetime(2025, 3, 30, 2, 30))  # skipped: 2:00 became 3:00
    # 2:30 happened twice on 26 October 2025: the first one (summer time, UTC+2), the earlier instant.
    assert paris_to_utc(datetime(2025, 10, 26, 2, 30)) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)


def test_a_time_the_clocks_skipped_is_refused_and_what_was_typed_is_kept(
    app: Flask, sign_in_as: Any, people: dict[str, Any]
) -> None:
    librarian = sign_in_as(people["librarian"])
    response = librarian.post(
        "/breaches/new",
        data=declaration(utcnow(), discovered_at="2025-03-30T02:30", started_at="", action="draft"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="discovered_at-error"' in page
    assert french(
        "This time does not exist in Paris: the clocks went forward from 2:00 to 3:00 that night. "
        "Give a time before 2:00 or from 3:00.",
    ) in plain(page)
    assert 'value="2025-03-30T02:30"' in page
    assert "Une clé USB contenant la liste des lecteurs" in page
    assert breaches() == []


# --- the declaration form --------------------------------------------------------------------------


def test_an_incomplete_report_is_kept_as_a_draft_with_what_is_missing_next_to_the_fields(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian = sign_in_as(people["librarian"])
    response = librarian.post(
        "/breaches/new", data=declaration(utcnow(), discovered_at="", natures=[], action="report")
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    (breach,) = breaches()
    assert breach.status == BreachStatus.DRAFT  # kept: nothing typed is lost
    assert f'action="/breaches/{breach.id}/edit"' in page  # the form goes on with the draft
    assert french("The declaration is incomplete: it was kept as a draft.") in plain(page)
    assert 'id="discovered_at-error"' in plain(page) and french(
        "Say when the breach was discovered."
    ) in plain(page)
    assert 'id="natures-error"' in page
    assert "Mme Dupont, directrice" in page
    assert smtp_server.messages == []

    # Completed, it goes.
    response = librarian.post(
        f"/breaches/{breach.id}/edit", data=declaration(utcnow() - timedelta(hours=1), action="report")
    )
    assert response.status_code == 302
    assert reload(breach.id).status == BreachStatus.SUBMITTED
    assert len(smtp_server.messages) == 1


def test_invalid_values_are_shown_next_to_their_fields_and_nothing_is_saved(
    sign_in_as: Any, people: dict[str, Any]
) -> None:
    librarian = sign_in_as(people["librarian"])
    later = utcnow() + timedelta(days=2)
    response = librarian.post(
        "/breaches/new",
        data=declaration(utcnow(), subjects_count="-3", contact_email="pas une adresse", action="draft"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="subjects_count-error"' in page and 'id="contact_email-error"' in page
    assert 'aria-invalid="true"' in page
    assert 'value="pas une adresse"' in page and 'value="-3"' in page
    # A time in the future: the service's rule, shown next to the field.
    response = librarian.post("/breaches/new", data=declaration(later, started_at="", action="draft"))
    assert response.status_code == 422
    assert 'id="discovered_at-error"' in response.get_data(as_text=True)
    assert breaches() == []


def test_a_partner_cannot_declare_in_another_organisations_name(
    sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian = sign_in_as(people["librarian"])
    forged = declaration(utcnow(), organisation_id=str(people["neighbour"].id))
    assert librarian.post("/breaches/new", data=forged).status_code == 403
    assert breaches() == []
    assert smtp_server.messages == []
    # Naming its own organisation is harmless.
    own = declaration(utcnow(), organisation_id=str(people["library"].id))
    assert librarian.post("/breaches/new", data=own).status_code == 302
    assert [b.organisation_id for b in breaches()] == [people["library"].id]


def test_the_dpo_declares_on_behalf_of_a_partner_it_chooses(
    sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    dpo = sign_in_as(people["dpo"])
    page = dpo.get("/breaches/new").get_data(as_text=True)
    assert 'name="organisation_id"' in page
    assert "Médiathèque de Sisteron" in page and "Médiathèque de Manosque" in page
    # A partner must be chosen, and only a partner.
    assert dpo.post("/breaches/new", data=declaration(utcnow())).status_code == 422
    controller_id = people["dpo"].organisation_id
    bad = declaration(utcnow(), organisation_id=str(controller_id))
    assert dpo.post("/breaches/new", data=bad).status_code == 422
    assert breaches() == []
    breach = declare(dpo, utcnow() - timedelta(hours=1), organisation_id=str(people["neighbour"].id))
    assert breach.organisation_id == people["neighbour"].id
    assert breach.declared_by_id == people["dpo"].id
    assert breach.status == BreachStatus.SUBMITTED


# --- who may do what -------------------------------------------------------------------------------


def breach_routes(app: Flask) -> list[tuple[str, str, str]]:
    """Every route of the breach pages about one breach: (endpoint, method, URL template)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("breaches.") and "breach_id" in rule.arguments:
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def fill(template: str, breach_id: int, action_id: int) -> str:
    return template.replace("<int:breach_id>", str(breach_id)).replace("<int:action_id>", str(action_id))


def test_a_partner_reaches_no_route_of_another_partners_breach_and_the_dpo_does(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    neighbour = sign_in_as(people["neighbour_librarian"])
    theirs = declare(neighbour, utcnow() - timedelta(hours=1))
    assert (
        neighbour.post(
            f"/breaches/{theirs.id}/actions", data={"action-description": "Audit", "action-owner": "Mairie"}
        ).status_code
        == 302
    )
    (action,) = reload(theirs.id).actions
    draft = declare(neighbour, utcnow(), action="draft")
    before = {b.id: (b.status, b.updated_at) for b in breaches()}

    routes = breach_routes(app)
    assert {endpoint for endpoint, _m, _u in routes} >= {
        "breaches.show", "breaches.edit", "breaches.submit", "breaches.acknowledge", "breaches.awareness",
        "breaches.assessment", "breaches.notifications", "breaches.communication", "breaches.actions",
        "breaches.action_status", "breaches.close",
    }  # fmt: skip
    librarian = sign_in_as(people["librarian"])
    for endpoint, method, template in routes:
        for target in (theirs.id, draft.id):
            url = fill(template, target, action.id)
            response = librarian.get(url) if method == "GET" else librarian.post(url, data={})
            assert response.status_code in (403, 404), (endpoint, method, url, response.status_code)
    # Nothing changed, and nothing of theirs is listed or shown on the partner's pages.
    assert {b.id: (b.status, b.updated_at) for b in breaches()} == before
    assert len(reload(theirs.id).actions) == 1
    for url in ("/breaches/", f"/breaches/?organisation_id={people['neighbour'].id}", "/"):
        page = librarian.get(url).get_data(as_text=True)
        assert theirs.reference not in page
        assert "Médiathèque de Sisteron" not in page

    # The DPO opens the same pages of the reported breach.
    dpo = sign_in_as(people["dpo"])
    for url in (f"/breaches/{theirs.id}", f"/breaches/{theirs.id}/acknowledge"):
        assert dpo.get(url).status_code == 200, url
    assert theirs.reference in dpo.get("/breaches/").get_data(as_text=True)
    # A draft is its partner's until reported (compliance.breaches.register): not the DPO's to read.
    assert dpo.get(f"/breaches/{draft.id}").status_code == 404


@pytest.mark.parametrize("role", ["committee", "legal", "admin"])
def test_roles_without_compliance_rights_reach_no_breach(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer, role: str
) -> None:
    breach = reported_breach(sign_in_as, people)
    client = sign_in_as(people[role])
    routes = [
        *breach_routes(app),
        ("breaches.index", "GET", "/breaches/"),
        ("breaches.create", "GET", "/breaches/new"),
    ]
    for endpoint, method, template in routes:
        url = fill(template, breach.id, 1)
        response = client.get(url) if method == "GET" else client.post(url, data={})
        assert response.status_code == 403, (endpoint, method)
    home = client.get("/").get_data(as_text=True)
    assert breach.reference not in home
    assert 'class="dashboard-block breach-panel"' not in home


def test_the_auditor_reads_the_register_without_the_personal_data(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    breach = reported_breach(sign_in_as, people)
    auditor = sign_in_as(people["auditor"])
    assert breach.reference in auditor.get("/breaches/").get_data(as_text=True)
    page = auditor.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert "clé USB" not in page and "Mme Dupont" not in page and "direction@mediatheque" not in page
    assert french("(withheld)") in plain(page)
    assert f"/breaches/{breach.id}/acknowledge" not in page  # read-only: no form
    assert auditor.get("/breaches/new").status_code == 403


# --- storage and display ---------------------------------------------------------------------------


def test_free_text_is_encrypted_in_the_database(
    sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    breach = reported_breach(sign_in_as, people)
    row = db.session.execute(
        sa.text(
            "SELECT summary, circumstances, data_categories, contact_name, contact_email, contact_phone "
            "FROM breach WHERE id = :id"
        ),
        {"id": breach.id},
    ).one()
    for value in row:
        assert value.startswith("gAAAA")  # a Fernet token
    raw = " ".join(row)
    for plaintext in ("clé USB", "animation", "Noms", "Dupont", "direction@", "04 92"):
        assert plaintext not in raw


def test_html_typed_in_a_field_is_shown_as_text(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    hostile = '<script>alert("x")</script><iframe src="file:///etc/passwd"></iframe>'
    breach = reported_breach(sign_in_as, people, summary=hostile, cause="<b>gras</b>")
    for client in (sign_in_as(people["librarian"]), sign_in_as(people["dpo"])):
        page = client.get(f"/breaches/{breach.id}").get_data(as_text=True)
        assert "<script>alert" not in page and "<iframe" not in page and "<b>gras" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;iframe" in page
        assert "&lt;b&gt;gras&lt;/b&gt;" in page
    # And in the form, shown back as typed.
    dpo_edit = sign_in_as(people["librarian"]).post(
        "/breaches/new", data=declaration(utcnow(), summary=hostile, subjects_count="x", action="draft")
    )
    assert dpo_edit.status_code == 422
    assert "<script>alert" not in dpo_edit.get_data(as_text=True)


# --- the DPO's forms -------------------------------------------------------------------------------


def test_the_dpos_forms_keep_what_was_typed_and_show_the_rule_broken(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    breach = reported_breach(sign_in_as, people)
    dpo = sign_in_as(people["dpo"])
    # Assessing before the acknowledgement: the rule, as a message (409), nothing recorded.
    response = dpo.post(
        f"/breaches/{breach.id}/assessment",
        data={"assessment-risk_level": "high", "assessment-risk_reasoning": "Enfants concernés"},
    )
    assert response.status_code == 409
    assert french("Acknowledge receipt before assessing the risk.") in plain(response.get_data(as_text=True))
    assert reload(breach.id).risk_level is None

    assert dpo.post(f"/breaches/{breach.id}/acknowledge").status_code == 302
    # High risk without the date by which the people will be informed: next to the field, typed kept.
    response = dpo.post(
        f"/breaches/{breach.id}/assessment",
        data={"assessment-risk_level": "high", "assessment-risk_reasoning": "Enfants concernés"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="assessment-communication_due-error"' in page
    assert "Enfants concernés" in page
    assert re.search(r'<input[^>]*checked[^>]*value="high"|<input[^>]*value="high"[^>]*checked', page)
    # Complete: high risk, the people to inform by a date (a deadline), then the communication.
    response = dpo.post(
        f"/breaches/{breach.id}/assessment",
        data={
            "assessment-risk_level": "high",
            "assessment-risk_reasoning": "Enfants concernés",
            "assessment-communication_due": "2026-12-31",
        },
    )
    assert response.status_code == 302
    page = dpo.get(f"/breaches/{breach.id}").get_data(as_text=True)
    assert f'action="/breaches/{breach.id}/communication"' in page
    response = dpo.post(
        f"/breaches/{breach.id}/communication",
        data={
            "communication-informed_at": local(utcnow()),
            "communication-channel": "Courrier",
            "communication-reached": "340",
        },
    )
    assert response.status_code == 302
    breach = reload(breach.id)
    assert (breach.subjects_channel, breach.subjects_reached) == ("Courrier", 340)
    # Closing while the CNIL notification is still due: refused with the reason.
    response = dpo.post(f"/breaches/{breach.id}/close", data={"close-closure_summary": "Fin"})
    assert response.status_code == 409
    assert french("The CNIL notification is still due: record it before closing.") in plain(
        response.get_data(as_text=True)
    )
    assert reload(breach.id).status == BreachStatus.ASSESSED


# --- the register and the home page ----------------------------------------------------------------


def test_the_register_lists_filters_and_flags(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    librarian = sign_in_as(people["librarian"])
    late = declare(librarian, utcnow() - timedelta(days=2))
    on_time = declare(sign_in_as(people["neighbour_librarian"]), utcnow() - timedelta(hours=1))
    draft = declare(librarian, utcnow(), action="draft")
    dpo = sign_in_as(people["dpo"])
    assert dpo.post(f"/breaches/{on_time.id}/acknowledge").status_code == 302

    page = dpo.get("/breaches/").get_data(as_text=True)
    rows = re.findall(r'<tr class="breach-row" data-breach-id="(\d+)">(.*?)</tr>', page, re.S)
    by_id = {int(i): html for i, html in rows}
    assert set(by_id) == {late.id, on_time.id}  # the DPO's register: reported breaches
    assert french("late") in plain(by_id[late.id]) and french("late") not in plain(by_id[on_time.id])
    assert 'class="badge awaiting"' in by_id[late.id] and 'class="badge awaiting"' not in by_id[on_time.id]
    assert "countdown" in by_id[on_time.id]  # the CNIL clock runs
    assert "/breaches/register.csv" in page and "/breaches/register.pdf" in page

    # Filters: partner, status, risk, year; an unknown value is refused (400), not ignored.
    def listed(query: str) -> set[int]:
        response = dpo.get("/breaches/?" + query)
        assert response.status_code == 200, query
        return {int(i) for i in re.findall(r'data-breach-id="(\d+)"', response.get_data(as_text=True))}

    assert listed(f"organisation_id={people['neighbour'].id}") == {on_time.id}
    assert listed("status=submitted") == {late.id}
    assert listed("risk=pending") == {late.id, on_time.id}
    assert listed("risk=high") == set()
    assert listed(f"year={to_paris(utcnow()).year}") == {late.id, on_time.id}
    assert listed("year=2001") == set()
    assert dpo.get("/breaches/?status=lost").status_code == 400

    assert f'<option value="{to_paris(utcnow()).year}"' in page  # the year filter offers this year

    # A partner lists its own breaches, its draft included.
    page = librarian.get("/breaches/").get_data(as_text=True)
    assert {int(i) for i in re.findall(r'data-breach-id="(\d+)"', page)} == {late.id, draft.id}
    assert 'name="organisation_id"' not in page


def test_the_home_page_panel_shows_the_breaches_awaiting_acknowledgement(
    app: Flask, sign_in_as: Any, people: dict[str, Any], smtp_server: SmtpServer
) -> None:
    breach = reported_breach(sign_in_as, people)
    dpo = sign_in_as(people["dpo"])
    home = dpo.get("/").get_data(as_text=True)
    panel = home[home.index('class="dashboard-block breach-panel"') :]
    assert breach.reference in panel
    assert f'href="/breaches/{breach.id}/acknowledge"' in panel
    assert re.search(r"\d+\s+min", panel)  # the time elapsed since the report
    assert breach.reference in sign_in_as(people["librarian"]).get("/").get_data(as_text=True)
    assert breach.reference not in sign_in_as(people["neighbour_librarian"]).get("/").get_data(as_text=True)

    assert dpo.post(f"/breaches/{breach.id}/acknowledge").status_code == 302
    home = dpo.get("/").get_data(as_text=True)
    assert f'href="/breaches/{breach.id}/acknowledge"' not in home
    assert french("No breach is awaiting acknowledgement.") in plain(home)
