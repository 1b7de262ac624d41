"""Convention pages: a convention taken from draft to renewed, and another to terminated, through the web
forms; the prefecture acknowledgement accepted for the reference (SIREN 240400440, deliberation of
3 April 2025) and refused with the reason next to the field for anything else; the evaluation due two
months before the end; the deliberation's consistency errors next to their fields; the 30 days of a
formal notice; the partner's deadlines closed on termination; who reads which convention; the PDF (and
its fallback); the legal service's home and CSV; `vigie demo` holding the reference convention once."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from governance.conventions import reference, services
from governance.conventions.models import (
    Convention,
    ConventionArticle,
    ConventionStatus,
    Deliberation,
    Evaluation,
    FormalNotice,
)
from governance.conventions.services import DeliberationData
from tests.conftest import WebClient, french
from vigie.deadlines.calendar import end_of_day
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import open_deadline
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.orgs.services import add_person, create_organisation

REFERENCE_ACK = "004-240400440-20250403-37-2025-DE"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

REFERENCE_DELIBERATION = {
    "assembly": "Conseil communautaire",
    "number": "2025-37",
    "adopted_on": "2025-04-03",
    "theme": "SPORT ET CULTURE 5",
    "subject": "Convention de partenariat pour l'accès aux services numériques",
    "members_in_office": "27",
    "members_present": "22",
    "members_represented": "5",
    "votes_for": "27",
    "votes_against": "0",
    "abstentions": "0",
    "secretary": "Aurélie ANNEQUIN",
}


# --- helpers ---------------------------------------------------------------------------------------


def plain(page: str) -> str:
    return html.unescape(page)


def prefixed(prefix: str, **values: Any) -> dict[str, Any]:
    return {f"{prefix}-{name}": value for name, value in values.items()}


def field_error(page: str, field_id: str) -> str:
    """The text of the error paragraph tied to a field ("" when there is none)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def reload(convention_id: int) -> Convention:
    db.session.expire_all()
    found = db.session.get(Convention, convention_id)
    assert found is not None
    return found


@pytest.fixture
def parties(factory: Any) -> dict[str, Any]:
    controller = create_organisation(
        "Département des Alpes de Haute-Provence",
        "controller",
        "220400014",
        "13 rue du Docteur Romieu, CS70216, 04995 Digne-les-Bains Cédex 9",
    )
    partner = create_organisation(
        "Communauté de communes Pays de Forcalquier-Montagne de Lure",
        "partner",
        "240400440",
        "1 place du Bourguet, 04300 Forcalquier",
    )
    add_person(controller, "Eliane BARREILLE", function="Présidente du Conseil départemental")
    add_person(partner, "David GEHANT", function="Président de la Communauté de communes")
    db.session.commit()
    return {"controller": controller, "partner": partner}


@pytest.fixture
def legal(parties: dict[str, Any], factory: Any, sign_in_as: Any) -> WebClient:
    client: WebClient = sign_in_as(factory.user("legal", org=parties["controller"]))
    return client


def create_through_form(
    legal: WebClient, partner: Organisation, start: str = "2025-01-01", end: str = "2028-12-31", **extra: Any
) -> Convention:
    values: dict[str, Any] = {
        "partner_id": partner.id,
        "title": "Convention de partenariat pour l'accès aux services numériques",
        "start_date": start,
        "end_date": end,
        "articles": (
            "Article 1 – Objet de la présente convention\nLes conditions du partenariat.\n"
            "Article 9 – Durée de la convention\nDu 1er janvier 2025 au 31 décembre 2028.\n"
            "Article 10 – Résiliation\nPar LRAR, après une mise en demeure restée infructueuse 30 jours."
        ),
    }
    data = prefixed("convention", **{**values, **extra})
    response = legal.post("/conventions/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    convention_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    return reload(convention_id)


def approve_through_form(legal: WebClient, convention: Convention, **overrides: Any) -> Any:
    values = {**REFERENCE_DELIBERATION, "deliberation_id": "", **overrides}
    return legal.post(f"/conventions/{convention.id}/approve", data=prefixed("approve", **values))


def sign_through_form(legal: WebClient, convention: Convention) -> Any:
    return legal.post(
        f"/conventions/{convention.id}/signatures",
        data=prefixed(
            "signatures",
            controller_signatory="Eliane BARREILLE",
            controller_signed_on="2025-04-10",
            partner_signatory="David GEHANT",
            partner_signed_on="2025-04-08",
        ),
    )


def transmit_through_form(legal: WebClient, convention: Convention, ack: str = REFERENCE_ACK) -> Any:
    return legal.post(
        f"/conventions/{convention.id}/transmission",
        data=prefixed(
            "transmission", acknowledgement_id=ack, received_on="2025-04-15", published_on="2025-04-15"
        ),
    )


def transmitted(legal: WebClient, partner: Organisation, **extra: Any) -> Convention:
    convention = create_through_form(legal, partner, **extra)
    assert approve_through_form(legal, convention).status_code == 302
    assert sign_through_form(legal, convention).status_code == 302
    assert transmit_through_form(legal, convention).status_code == 302
    return reload(convention.id)


# --- the whole life, through the forms --------------------------------------------------------------


def test_a_convention_from_draft_to_renewed(app: Flask, parties: dict[str, Any], legal: WebClient) -> None:
    convention = create_through_form(legal, parties["partner"])
    assert convention.status == ConventionStatus.DRAFT
    assert [a.number for a in convention.articles] == [1, 9, 10]
    assert convention.articles[2].title == "Résiliation"
    assert convention.evaluation_due_date == date(2028, 10, 31)
    page = legal.get(f"/conventions/{convention.id}").get_data(as_text=True)
    assert 'data-enforceable="no"' in page and 'id="approve"' in page

    assert approve_through_form(legal, convention).status_code == 302
    convention = reload(convention.id)
    assert convention.status == ConventionStatus.APPROVED
    deliberation = convention.deliberation
    assert deliberation is not None
    assert (deliberation.number, deliberation.adopted_on, deliberation.secretary) == (
        "2025-37",
        date(2025, 4, 3),
        "Aurélie ANNEQUIN",
    )
    assert (
        deliberation.members_in_office,
        deliberation.members_present,
        deliberation.members_represented,
    ) == (
        27,
        22,
        5,
    )

    assert sign_through_form(legal, convention).status_code == 302
    assert reload(convention.id).status == ConventionStatus.SIGNED

    upload = legal.post(
        f"/conventions/{convention.id}/scan",
        data={"scan-scan": (io.BytesIO(PDF_BYTES), "convention-signee.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    download = legal.get(f"/conventions/{convention.id}/scan")
    assert download.status_code == 200 and download.data == PDF_BYTES
    assert "convention-signee.pdf" in download.headers["Content-Disposition"]

    response = transmit_through_form(legal, convention)
    assert response.status_code == 302
    convention = reload(convention.id)
    assert convention.status == ConventionStatus.TRANSMITTED and convention.enforceable
    page = legal.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-enforceable="yes"' in page
    assert french("enforceable") in page
    assert REFERENCE_ACK in page
    evaluation_clock = db.session.scalar(
        sa.select(Deadline).where(
            Deadline.kind == services.EVALUATION_KIND, Deadline.subject_id == convention.id
        )
    )
    assert evaluation_clock is not None and evaluation_clock.due_date == date(2028, 10, 31)

    response = legal.post(
        f"/conventions/{convention.id}/amendments",
        data=prefixed(
            "amendment", signed_on="2026-01-10", changes="Article 4 : nouvelles unités", deliberation_id=""
        ),
    )
    assert response.status_code == 302
    assert [a.number for a in reload(convention.id).amendments] == [1]

    response = legal.post(
        f"/conventions/{convention.id}/evaluation",
        data=prefixed(
            "evaluation",
            evaluated_on="2026-10-01",
            relevance_of_resources="Ressources très consultées",
            usage="12 000 prêts numériques",
            compliance_summary="Aucun retard",
            findings="Le service répond aux besoins du réseau.",
            decision="renew",
        ),
    )
    assert response.status_code == 302
    convention = reload(convention.id)
    assert convention.status == ConventionStatus.RENEWED
    assert db.session.get(Deadline, evaluation_clock.id).state == DeadlineState.MET  # type: ignore[union-attr]
    following = db.session.scalar(sa.select(Convention).where(Convention.previous_id == convention.id))
    assert following is not None and following.status == ConventionStatus.DRAFT
    assert (following.start_date, following.end_date) == (date(2029, 1, 1), date(2032, 12, 31))
    assert following.evaluation_due_date == date(2032, 10, 31)
    assert [a.number for a in following.articles] == [1, 9, 10]
    evaluation = db.session.scalar(sa.select(Evaluation).where(Evaluation.convention_id == convention.id))
    assert evaluation is not None and evaluation.next_convention_id == following.id

    page = legal.get(f"/conventions/{convention.id}").get_data(as_text=True)
    assert f'href="/conventions/{following.id}"' in page and 'data-status="renewed"' in page
    page = legal.get(f"/conventions/{following.id}").get_data(as_text=True)
    assert f'href="/conventions/{convention.id}"' in page


def test_a_convention_from_draft_to_terminated(app: Flask, parties: dict[str, Any], legal: WebClient) -> None:
    partner = parties["partner"]
    convention = transmitted(legal, partner)
    inquiry = open_deadline("access.inquiry", partner, "Sollicitation en cours", end_of_day(date(2030, 1, 2)))
    db.session.commit()

    response = legal.post(
        f"/conventions/{convention.id}/notices",
        data=prefixed(
            "notice",
            sent_on="2025-09-01",
            grounds="Manquements à l'article 11",
            tracking_number="1A23456789",
            received_on="2025-09-03",
        ),
    )
    assert response.status_code == 302
    notice = db.session.scalar(sa.select(FormalNotice).where(FormalNotice.convention_id == convention.id))
    assert notice is not None and notice.answer_due_date == date(2025, 10, 3)
    notice_clock = db.session.scalar(sa.select(Deadline).where(Deadline.kind == services.NOTICE_KIND))
    assert notice_clock is not None and notice_clock.due_date == date(2025, 10, 3)

    url = f"/conventions/{convention.id}/notices/{notice.id}/termination"
    early = legal.post(
        url,
        data=prefixed(
            f"termination-{notice.id}",
            sent_on="2025-10-03",
            tracking_number="1A999",
            notified_on="2025-10-06",
        ),
    )
    assert early.status_code == 409
    assert plain(early.get_data(as_text=True)).count(
        french(
            "The 30 days of the formal notice run until %(date)s: terminate after that.",
            date="03/10/2025",
        )
    )
    assert reload(convention.id).status == ConventionStatus.TRANSMITTED

    done = legal.post(
        url,
        data=prefixed(
            f"termination-{notice.id}",
            sent_on="2025-10-06",
            tracking_number="1A999",
            notified_on="2025-10-08",
        ),
    )
    assert done.status_code == 302
    convention = reload(convention.id)
    assert convention.status == ConventionStatus.TERMINATED and convention.ended_on == date(2025, 10, 8)
    assert not convention.enforceable
    db.session.expire_all()
    closed = db.session.get(Deadline, inquiry.id)
    assert closed is not None and closed.state == DeadlineState.CANCELLED
    assert closed.closed_reason and "08/10/2025" in closed.closed_reason
    open_clocks = db.session.scalars(
        sa.select(Deadline).where(
            Deadline.organisation_id == partner.id, Deadline.state == DeadlineState.OPEN
        )
    ).all()
    assert open_clocks == []
    page = legal.get(f"/conventions/{convention.id}").get_data(as_text=True)
    assert 'data-status="terminated"' in page and 'data-enforceable="no"' in page
    assert 'id="notice"' not in page  # no new notice on a terminated convention


def test_an_answered_notice_cannot_ground_a_termination(
    app: Flask, parties: dict[str, Any], legal: WebClient
) -> None:
    convention = transmitted(legal, parties["partner"])
    legal.post(
        f"/conventions/{convention.id}/notices",
        data=prefixed("notice", sent_on="2025-09-01", grounds="Retard", tracking_number="", received_on=""),
    )
    notice = db.session.scalar(sa.select(FormalNotice))
    assert notice is not None and notice.answer_due_date == date(2025, 10, 1)
    answered = legal.post(
        f"/conventions/{convention.id}/notices/{notice.id}/answer",
        data=prefixed(f"answer-{notice.id}", answered_on="2025-09-20", answer="Mise en conformité"),
    )
    assert answered.status_code == 302
    clock = db.session.scalar(sa.select(Deadline).where(Deadline.kind == services.NOTICE_KIND))
    assert clock is not None and clock.state == DeadlineState.MET
    refused = legal.post(
        f"/conventions/{convention.id}/notices/{notice.id}/termination",
        data=prefixed(
            f"termination-{notice.id}", sent_on="2025-11-01", tracking_number="1A1", notified_on="2025-11-03"
        ),
    )
    assert refused.status_code == 409
    assert french("The partner answered the formal notice: it cannot ground a termination.") in plain(
        refused.get_data(as_text=True)
    )
    assert reload(convention.id).status == ConventionStatus.TRANSMITTED


def test_a_notice_of_another_convention_is_a_404(
    parties: dict[str, Any], legal: WebClient, factory: Any
) -> None:
    first = transmitted(legal, parties["partner"])
    legal.post(
        f"/conventions/{first.id}/notices",
        data=prefixed("notice", sent_on="2025-09-01", grounds="Retard", tracking_number="", received_on=""),
    )
    notice = db.session.scalar(sa.select(FormalNotice))
    assert notice is not None
    other = create_through_form(legal, factory.org("partner"))
    response = legal.post(
        f"/conventions/{other.id}/notices/{notice.id}/answer",
        data=prefixed(f"answer-{notice.id}", answered_on="2025-09-20", answer="?"),
    )
    assert response.status_code == 404


# --- the prefecture's acknowledgement ---------------------------------------------------------------


def test_the_reference_acknowledgement_is_accepted(parties: dict[str, Any], legal: WebClient) -> None:
    convention = transmitted(legal, parties["partner"])
    assert convention.acknowledgement_id == REFERENCE_ACK
    assert (convention.transmitted_on, convention.published_on) == (date(2025, 4, 15), date(2025, 4, 15))


@pytest.mark.parametrize(
    ("ack", "msgid", "values"),
    [
        (
            "004-240400441-20250403-37-2025-DE",
            "The SIREN %(ack)s is not the partner's (%(siren)s).",
            {"ack": "240400441", "siren": "240400440"},
        ),
        (
            "004-240400440-20250404-37-2025-DE",
            "The act's date %(ack)s is not the deliberation's (%(date)s).",
            {"ack": "04/04/2025", "date": "03/04/2025"},
        ),
        (
            "004-240400440-20250403-38-2025-DE",
            "The act's number %(ack)s is not the deliberation's (%(number)s).",
            {"ack": "38-2025", "number": "2025-37"},
        ),
        (
            "004-240400440-20250403-37-2025-AR",
            "The nature code %(nature)s is not a deliberation's (DE).",
            {"nature": "AR"},
        ),
        (
            "005-240400440-20250403-37-2025-DE",
            "The department %(ack)s is not the partner's (%(department)s).",
            {"ack": "005", "department": "04"},
        ),
    ],
    ids=["siren", "date", "number", "nature", "department"],
)
def test_a_mismatching_acknowledgement_is_refused_next_to_the_field(
    app: Flask, parties: dict[str, Any], legal: WebClient, ack: str, msgid: str, values: dict[str, str]
) -> None:
    convention = create_through_form(legal, parties["partner"])
    approve_through_form(legal, convention)
    sign_through_form(legal, convention)
    response = transmit_through_form(legal, convention, ack)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    reason = french(msgid, **values)
    assert reason in field_error(page, "transmission-acknowledgement_id")
    assert 'aria-invalid="true"' in page
    assert f'value="{ack}"' in page  # what was typed is kept
    convention = reload(convention.id)
    assert convention.transmitted_on is None and convention.status == ConventionStatus.SIGNED
    assert db.session.scalar(sa.select(Deadline).where(Deadline.kind == services.EVALUATION_KIND)) is None


def test_an_acknowledgement_for_another_partner_names_both_sirens(
    app: Flask, parties: dict[str, Any], legal: WebClient, factory: Any
) -> None:
    """The reference id, on a convention with another partner: refused, its SIREN named."""
    other = create_organisation(
        "Commune de Sisteron", "partner", "210402095", "Place de la République, 04200 Sisteron"
    )
    db.session.commit()
    convention = create_through_form(legal, other)
    approve_through_form(legal, convention)
    sign_through_form(legal, convention)
    page = transmit_through_form(legal, convention).get_data(as_text=True)
    assert french(
        "The SIREN %(ack)s is not the partner's (%(siren)s).", ack="240400440", siren="210402095"
    ) in (field_error(page, "transmission-acknowledgement_id"))


def test_a_reception_before_the_act_is_refused_next_to_the_date(
    app: Flask, parties: dict[str, Any], legal: WebClient
) -> None:
    convention = create_through_form(legal, parties["partner"])
    approve_through_form(legal, convention)
    sign_through_form(legal, convention)
    response = legal.post(
        f"/conventions/{convention.id}/transmission",
        data=prefixed(
            "transmission", acknowledgement_id=REFERENCE_ACK, received_on="2025-04-01", published_on=""
        ),
    )
    assert response.status_code == 422
    assert french("Too early.") in field_error(response.get_data(as_text=True), "transmission-received_on")


# --- the evaluation's date, the deliberation's figures ---------------------------------------------


@pytest.mark.parametrize(
    ("end", "due", "shown"),
    [("2028-12-31", date(2028, 10, 31), "2028-10-31"), ("2027-04-30", date(2027, 2, 28), "2027-02-28")],
)
def test_the_evaluation_is_due_two_months_before_the_end(
    parties: dict[str, Any], legal: WebClient, end: str, due: date, shown: str
) -> None:
    convention = create_through_form(legal, parties["partner"], end=end)
    assert convention.evaluation_due_date == due
    page = legal.get(f"/conventions/{convention.id}").get_data(as_text=True)
    assert f'<time datetime="{shown}">' in page


def test_deliberation_figures_are_checked_next_to_their_fields(
    app: Flask, parties: dict[str, Any], legal: WebClient
) -> None:
    convention = create_through_form(legal, parties["partner"])
    response = approve_through_form(legal, convention, members_present="23")  # 23 + 5 > 27
    assert response.status_code == 422
    error = field_error(response.get_data(as_text=True), "approve-members_present")
    assert error == french(
        "%(present)d present and %(represented)d represented exceed the %(office)d members in office.",
        present=23,
        represented=5,
        office=27,
    )
    response = approve_through_form(legal, convention, votes_for="25", votes_against="2", abstentions="1")
    assert response.status_code == 422
    error = field_error(response.get_data(as_text=True), "approve-votes_for")
    assert error == french(
        "%(votes)d votes exceed the %(voters)d members present or represented.", votes=28, voters=27
    )
    response = approve_through_form(legal, convention, number="", members_in_office="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert field_error(page, "approve-number") and field_error(page, "approve-members_in_office")
    assert reload(convention.id).status == ConventionStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count(Deliberation.id))) == 0


def test_an_existing_deliberation_approves(parties: dict[str, Any], legal: WebClient, factory: Any) -> None:
    partner = parties["partner"]
    deliberation = services.create_deliberation(
        DeliberationData(
            organisation_id=partner.id,
            assembly="Conseil communautaire",
            number="2025-37",
            adopted_on=date(2025, 4, 3),
            subject="Convention",
            members_in_office=27,
            members_present=22,
            members_represented=5,
            votes_for=27,
        )
    )
    foreign = services.create_deliberation(
        DeliberationData(
            organisation_id=factory.org("partner").id,
            assembly="Conseil municipal",
            number="12",
            adopted_on=date(2025, 4, 3),
            subject="Convention",
            members_in_office=15,
            members_present=15,
            members_represented=0,
            votes_for=15,
        )
    )
    db.session.commit()
    convention = create_through_form(legal, partner)
    refused = legal.post(
        f"/conventions/{convention.id}/approve", data=prefixed("approve", deliberation_id=foreign.id)
    )
    assert refused.status_code == 422  # not among the partner's deliberations
    response = legal.post(
        f"/conventions/{convention.id}/approve", data=prefixed("approve", deliberation_id=deliberation.id)
    )
    assert response.status_code == 302
    assert reload(convention.id).deliberation_id == deliberation.id


def test_a_template_is_duplicated_for_a_partner(parties: dict[str, Any], legal: WebClient) -> None:
    response = legal.post(
        "/conventions/new",
        data=prefixed(
            "convention",
            partner_id="",
            is_template="y",
            title="Modèle de convention de partenariat",
            start_date="2025-01-01",
            end_date="2028-12-31",
            articles=(
                "Article 1 – Objet\nL'objet.\nArticle 11 – Données personnelles\nLe sous-traitant s'engage…"
            ),
        ),
    )
    assert response.status_code == 302
    template = db.session.scalar(sa.select(Convention).where(Convention.is_template.is_(True)))
    assert template is not None and template.partner_id is None
    form = legal.get(f"/conventions/new?template_id={template.id}").get_data(as_text=True)
    assert f'<option selected value="{template.id}">' in form
    copy = create_through_form(
        legal, parties["partner"], start="2026-01-01", end="2029-12-31", template_id=template.id, articles=""
    )
    assert copy.title == template.title and not copy.is_template
    assert [(a.number, a.title) for a in copy.articles] == [(1, "Objet"), (11, "Données personnelles")]
    assert copy.evaluation_due_date == date(2029, 10, 31)


def test_a_bad_articles_text_is_refused_next_to_the_field(parties: dict[str, Any], legal: WebClient) -> None:
    response = legal.post(
        "/conventions/new",
        data=prefixed(
            "convention",
            partner_id=parties["partner"].id,
            title="Convention",
            start_date="2025-01-01",
            end_date="2024-12-31",
            articles="Du texte sans article",
        ),
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "convention-articles")
    assert db.session.scalar(sa.select(sa.func.count(Convention.id))) == 0


def test_a_scan_that_is_not_a_pdf_is_refused(app: Flask, parties: dict[str, Any], legal: WebClient) -> None:
    convention = create_through_form(legal, parties["partner"])
    approve_through_form(legal, convention)
    response = legal.post(
        f"/conventions/{convention.id}/scan",
        data={"scan-scan": (io.BytesIO(b"PK\x03\x04zip"), "convention.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "scan-scan") == french("Refused type.")
    assert reload(convention.id).signed_scan_key is None


# --- who reads which convention ----------------------------------------------------------------------


def test_a_partner_reads_its_own_convention_only(
    parties: dict[str, Any], legal: WebClient, factory: Any, sign_in_as: Any
) -> None:
    own = transmitted(legal, parties["partner"])
    other_partner = factory.org("partner")
    others = create_through_form(legal, other_partner)
    partner_user: WebClient = sign_in_as(factory.user("partner", org=parties["partner"]))

    page = partner_user.get(f"/conventions/{own.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert REFERENCE_ACK in text and 'data-enforceable="yes"' in text
    assert "<form" not in text.split("<main", 1)[1]  # reads, never writes
    assert partner_user.get(f"/conventions/{own.id}.pdf").status_code == 200

    for url in (
        f"/conventions/{others.id}",
        f"/conventions/{others.id}.pdf",
        f"/conventions/{others.id}/scan",
    ):
        assert partner_user.get(url).status_code == 404, url
    listing = partner_user.get("/conventions/").get_data(as_text=True)
    assert f'href="/conventions/{own.id}"' in listing and f'href="/conventions/{others.id}"' not in listing
    csv_text = partner_user.get("/conventions/export.csv").get_data(as_text=True)
    assert other_partner.name not in csv_text and parties["partner"].name in csv_text
    # Writing is the legal service's: 403 before anything is looked up.
    assert partner_user.post(f"/conventions/{own.id}/notices", data={}).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "committee", "dpo"])
def test_readers_read_every_convention_without_forms(
    parties: dict[str, Any], legal: WebClient, factory: Any, sign_in_as: Any, role: str
) -> None:
    convention = transmitted(legal, parties["partner"])
    reader: WebClient = sign_in_as(factory.user(role, org=parties["controller"]))
    response = reader.get(f"/conventions/{convention.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<form" not in page.split("<main", 1)[1]
    assert reader.get("/conventions/").status_code == 200
    assert reader.post(f"/conventions/{convention.id}/transmission", data={}).status_code == 403


def test_the_administrator_reads_no_convention(
    parties: dict[str, Any], legal: WebClient, factory: Any, sign_in_as: Any
) -> None:
    convention = create_through_form(legal, parties["partner"])
    admin: WebClient = sign_in_as(factory.user("admin", org=parties["controller"]))
    assert admin.get(f"/conventions/{convention.id}").status_code == 403
    assert admin.get("/conventions/").status_code == 403
    assert "conventions-panel" not in admin.get("/").get_data(as_text=True)


# --- the legal service's home, its CSV, the home panel ----------------------------------------------


def test_the_legal_home_shows_statuses_expiries_evaluations_and_notices(
    app: Flask, parties: dict[str, Any], legal: WebClient, factory: Any
) -> None:
    running = transmitted(legal, parties["partner"])
    draft = create_through_form(legal, factory.org("partner"), start="2027-01-01", end="2030-12-31")
    legal.post(
        f"/conventions/{running.id}/notices",
        data=prefixed("notice", sent_on="2025-09-01", grounds="Retard", tracking_number="", received_on=""),
    )
    page = legal.get("/conventions/").get_data(as_text=True)
    assert f'href="/conventions/{running.id}"' in page and f'href="/conventions/{draft.id}"' in page
    assert 'data-status="in_force"' in page and 'data-status="draft"' in page
    today = services.today()
    end_left = (date(2028, 12, 31) - today).days
    evaluation_left = (date(2028, 10, 31) - today).days
    with app.test_request_context(), force_locale("fr"):
        from flask_babel import ngettext

        assert ngettext("%(num)d day left", "%(num)d days left", end_left) in page
        assert ngettext("%(num)d day left", "%(num)d days left", evaluation_left) in page
        late = (today - date(2025, 10, 1)).days
        assert ngettext("%(num)d day ago", "%(num)d days ago", late) in page  # the notice's 30 days are over
    filtered = legal.get("/conventions/?status=draft").get_data(as_text=True)
    table = filtered.split('<table class="conventions">', 1)[1].split("</table>", 1)[0]
    assert f'href="/conventions/{draft.id}"' in table and f'href="/conventions/{running.id}"' not in table
    assert legal.get("/conventions/?status=nonsense").status_code == 422
    home = legal.get("/").get_data(as_text=True)
    assert "conventions-panel" in home


def test_the_csv_export(parties: dict[str, Any], legal: WebClient) -> None:
    transmitted(legal, parties["partner"])
    create_through_form(legal, parties["partner"], start="2029-01-01", end="2032-12-31")
    db.session.execute(
        sa.update(Convention).where(Convention.start_date == date(2029, 1, 1)).values(title="=HYPERLINK(1)")
    )
    db.session.commit()
    response = legal.get("/conventions/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    lines = body[1:].split("\r\n")
    assert lines[0].count(";") == 15
    assert any(";'=HYPERLINK(1);" in line for line in lines)  # a formula is neutralised
    reference_line = next(line for line in lines if REFERENCE_ACK in line)
    assert ";2028-10-31;" in reference_line and ";2025-37;2025-04-03;" in reference_line
    only_drafts = legal.get("/conventions/export.csv?status=draft").get_data(as_text=True)
    assert REFERENCE_ACK not in only_drafts and "HYPERLINK" in only_drafts


# --- the PDF -----------------------------------------------------------------------------------------


def test_the_pdf_renders_the_articles_and_the_signature_blocks(
    parties: dict[str, Any], legal: WebClient
) -> None:
    convention = transmitted(legal, parties["partner"])
    response = legal.get(f"/conventions/{convention.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    text = " ".join(text.split())
    for expected in (
        "Résiliation",
        "Eliane BARREILLE",
        "David GEHANT",
        REFERENCE_ACK,
        "2025-37",
        "Aurélie ANNEQUIN",
    ):
        assert expected in text, expected


def test_the_pdf_falls_back_to_a_printable_page(
    app: Flask, parties: dict[str, Any], legal: WebClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WKHTMLTOPDF_PATH", str(tmp_path / "nowhere" / "wkhtmltopdf"))
    convention = transmitted(legal, parties["partner"])
    response = legal.get(f"/conventions/{convention.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = plain(response.get_data(as_text=True))
    assert 'class="pdf-notice"' in page
    assert "le Département des Alpes de Haute-Provence" in page  # "Pour le Département…"
    assert "la Présidente du Conseil départemental" in page
    assert "la Communauté de communes Pays de Forcalquier-Montagne de Lure" in page
    assert "le Président de la Communauté de communes" in page
    assert "Article 10 – Résiliation" in page.replace("&#8211;", "–")


# --- the demo ------------------------------------------------------------------------------------------


def test_the_demo_holds_the_reference_convention_once(app: Flask) -> None:
    runner = app.test_cli_runner()

    def counts() -> tuple[int, ...]:
        db.session.expire_all()
        return tuple(
            db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0
            for model in (Convention, ConventionArticle, Deliberation, Deadline, Evaluation)
        )

    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    before = counts()
    from vigie.audit.models import AuditEvent

    audit_before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert counts() == before
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == audit_before

    convention = db.session.scalar(sa.select(Convention).order_by(Convention.id))
    assert convention is not None and convention.partner is not None
    assert convention.partner.siren == "240400440" and convention.title == reference.TITLE
    assert (convention.start_date, convention.end_date, convention.evaluation_due_date) == (
        date(2025, 1, 1),
        date(2028, 12, 31),
        date(2028, 10, 31),
    )
    assert convention.acknowledgement_id == REFERENCE_ACK
    assert (convention.transmitted_on, convention.published_on) == (date(2025, 4, 15), date(2025, 4, 15))
    assert services.effective_status(convention, date(2026, 1, 1)) == ConventionStatus.IN_FORCE
    assert [a.number for a in convention.articles] == list(range(1, 13))
    assert convention.articles[8].title == "Durée de la convention"
    assert "1er janvier 2025 au 31 décembre 2028" in convention.articles[8].text
    d = convention.deliberation
    assert d is not None
    assert (d.number, d.adopted_on, d.assembly, d.secretary) == (
        "2025-37",
        date(2025, 4, 3),
        "Conseil communautaire",
        "Aurélie ANNEQUIN",
    )
    assert (d.members_in_office, d.members_present, d.members_represented, d.votes_for, d.votes_against) == (
        27,
        22,
        5,
        27,
        0,
    )
    assert (convention.controller_signatory, convention.partner_signatory) == (
        "Eliane BARREILLE",
        "David GEHANT",
    )
    evaluations = db.session.scalars(
        sa.select(Deadline).where(
            Deadline.kind == services.EVALUATION_KIND, Deadline.state == DeadlineState.OPEN
        )
    ).all()
    assert [(e.subject_type, e.subject_id, e.due_date) for e in evaluations] == [
        ("convention", convention.id, date(2028, 10, 31))
    ]


def test_an_old_demo_database_loses_its_hand_made_evaluation_clock(app: Flask) -> None:
    """Earlier demos opened an evaluation clock by hand: the transmission's own replaces it."""
    partner = create_organisation(
        "Communauté de communes Pays de Forcalquier-Montagne de Lure",
        "partner",
        "240400440",
        "1 place du Bourguet, 04300 Forcalquier",
    )
    create_organisation("Département des Alpes de Haute-Provence", "controller", "220400014")
    legacy = open_deadline(
        services.EVALUATION_KIND,
        partner,
        "Évaluation",
        end_of_day(date(2028, 10, 31)),
        due_date=date(2028, 10, 31),
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Deadline, legacy.id).state == DeadlineState.CANCELLED  # type: ignore[union-attr]
    open_ones = db.session.scalars(
        sa.select(Deadline).where(
            Deadline.kind == services.EVALUATION_KIND, Deadline.state == DeadlineState.OPEN
        )
    ).all()
    assert len(open_ones) == 1 and open_ones[0].subject_type == "convention"


# --- unique columns: a 409 next to the field, never a 500 ---------------------------------------------


def test_a_reference_used_twice_is_refused_next_to_the_field(
    app: Flask, parties: dict[str, Any], legal: WebClient
) -> None:
    create_through_form(legal, parties["partner"], reference="BD04-NUM-2025-01")
    response = legal.post(
        "/conventions/new",
        data=prefixed(
            "convention",
            partner_id=parties["partner"].id,
            title="Une autre convention",
            reference="BD04-NUM-2025-01",
            start_date="2025-01-01",
            end_date="2028-12-31",
        ),
    )
    assert response.status_code == 409
    assert field_error(response.get_data(as_text=True), "convention-reference") == french("Already used.")


def test_one_acknowledgement_for_two_conventions_is_a_conflict(
    app: Flask, parties: dict[str, Any], legal: WebClient
) -> None:
    first = transmitted(legal, parties["partner"])
    second = create_through_form(legal, parties["partner"], start="2025-02-01")
    assert first.deliberation_id is not None
    legal.post(
        f"/conventions/{second.id}/approve", data=prefixed("approve", deliberation_id=first.deliberation_id)
    )
    sign_through_form(legal, second)
    response = transmit_through_form(legal, second)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert field_error(page, "transmission-acknowledgement_id") == french("Already used.")
    assert reload(second.id).transmitted_on is None


def test_the_list_is_paginated_and_keeps_its_filter(parties: dict[str, Any], legal: WebClient) -> None:
    """Fifty conventions a page, in the list's order; the counts above still count every one; the
    pager keeps the status filter; a page past the end is empty, not an error."""
    for n in range(53):
        services.create_convention(
            parties["controller"],
            parties["partner"],
            f"Convention n° {n:02d}",
            date(2025, 1, 1),
            date(2028, 12, 31),
        )
    db.session.commit()

    def titles(page: str) -> list[str]:
        return re.findall(r"Convention n° (\d\d)", page)

    first = legal.get("/conventions/").get_data(as_text=True)
    second = legal.get("/conventions/?page=2").get_data(as_text=True)
    assert len(set(titles(first))) == 50 and len(set(titles(second))) == 3
    assert set(titles(first)) | set(titles(second)) == {f"{n:02d}" for n in range(53)}
    assert "(53)" in first  # "All (53)": the counts are over every convention
    assert 'href="/conventions/?page=2"' in first

    filtered = legal.get("/conventions/?status=draft").get_data(as_text=True)
    assert 'href="/conventions/?page=2&amp;status=draft"' in filtered
    assert titles(legal.get("/conventions/?page=9").get_data(as_text=True)) == []
    assert legal.get("/conventions/?page=0").status_code in (400, 422)
