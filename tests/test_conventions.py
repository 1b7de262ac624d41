"""Conventions at the service level: the acknowledgement check, the evaluation date, renewal, termination."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from governance.conventions import services
from governance.conventions.models import ConventionStatus
from governance.conventions.services import DeliberationData, EvaluationData
from vigie.deadlines.calendar import end_of_day
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import open_deadline
from vigie.errors import Conflict, ValidationFailed
from vigie.extensions import db
from vigie.orgs.services import create_organisation

REFERENCE_ACK = "004-240400440-20250403-37-2025-DE"


@pytest.fixture
def parties(factory: Any) -> dict[str, Any]:
    controller = create_organisation("Département des Alpes de Haute-Provence", "controller", "220400014")
    partner = create_organisation(
        "Communauté de communes Pays de Forcalquier-Montagne de Lure",
        "partner",
        "240400440",
        "1 place du Bourguet, 04300 Forcalquier",
    )
    db.session.commit()
    return {"controller": controller, "partner": partner}


def _deliberation(partner: Any, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "organisation_id": partner.id,
        "assembly": "Conseil communautaire",
        "number": "2025-37",
        "adopted_on": date(2025, 4, 3),
        "subject": "Convention de partenariat pour l'accès aux services numériques",
        "members_in_office": 27,
        "members_present": 22,
        "members_represented": 5,
        "votes_for": 27,
        "secretary": "Aurélie ANNEQUIN",
    }
    values.update(overrides)
    return services.create_deliberation(DeliberationData(**values))


def _signed(parties: dict[str, Any], start: date = date(2025, 1, 1), end: date = date(2028, 12, 31)) -> Any:
    convention = services.create_convention(
        parties["controller"], parties["partner"], "Convention de partenariat", start, end
    )
    services.approve_convention(convention, _deliberation(parties["partner"]))
    services.sign_convention(
        convention, date(2025, 4, 10), date(2025, 4, 8), "Eliane BARREILLE", "David GEHANT"
    )
    db.session.commit()
    return convention


@pytest.mark.parametrize(
    ("end", "due"),
    [
        (date(2028, 12, 31), date(2028, 10, 31)),
        (date(2027, 4, 30), date(2027, 2, 28)),  # no 30 February
        (date(2028, 4, 30), date(2028, 2, 29)),  # leap year
        (date(2026, 1, 15), date(2025, 11, 15)),  # across the year
    ],
)
def test_evaluation_is_due_two_months_before_expiry(end: date, due: date) -> None:
    assert services.months_before(end, 2) == due


def test_the_reference_acknowledgement_is_accepted(parties: dict[str, Any]) -> None:
    convention = _signed(parties)
    services.record_transmission(convention, REFERENCE_ACK, date(2025, 4, 15), date(2025, 4, 15))
    db.session.commit()
    assert convention.enforceable
    assert services.effective_status(convention, date(2025, 6, 1)) == ConventionStatus.IN_FORCE
    assert services.effective_status(convention, date(2029, 1, 1)) == ConventionStatus.EXPIRED
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == "convention.evaluation"))
    assert deadline is not None and deadline.due_date == date(2028, 10, 31)


@pytest.mark.parametrize(
    ("ack", "reason"),
    [
        ("004-240400441-20250403-37-2025-DE", "SIREN"),
        ("004-240400440-20250404-37-2025-DE", "date"),
        ("004-240400440-20250403-38-2025-DE", "number"),
        ("004-240400440-20250403-37-2025-AR", "nature"),
        ("005-240400440-20250403-37-2025-DE", "department"),
        ("not-an-id", "department-SIREN-date"),
        ("004-240400440-20250230-37-2025-DE", "20250230"),
    ],
)
def test_a_mismatching_acknowledgement_is_refused_with_the_reason(
    parties: dict[str, Any], ack: str, reason: str
) -> None:
    from flask_babel import force_locale

    convention = _signed(parties)
    with force_locale("en"), pytest.raises(ValidationFailed) as err:
        services.record_transmission(convention, ack, date(2025, 4, 15))
    assert reason in err.value.message
    assert "acknowledgement_id" in err.value.fields
    db.session.rollback()
    assert convention.transmitted_on is None


def test_deliberation_consistency(parties: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as err:
        _deliberation(parties["partner"], members_present=23)
    assert "members_present" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        _deliberation(parties["partner"], votes_for=28)
    assert "votes_for" in err.value.fields


def test_renewal_prepares_the_next_convention(parties: dict[str, Any]) -> None:
    convention = _signed(parties)
    services.record_transmission(convention, REFERENCE_ACK, date(2025, 4, 15))
    services.add_amendment(
        convention, date(2026, 1, 10), "Article 4 : nouvelles unités de consultation", None
    )
    evaluation = services.record_evaluation(
        convention,
        EvaluationData(date(2028, 10, 1), "Ressources très consultées", "renew", usage="12 000 prêts"),
    )
    db.session.commit()
    assert convention.status == ConventionStatus.RENEWED
    following = db.session.get(type(convention), evaluation.next_convention_id)
    assert following is not None and following.previous_id == convention.id
    assert (following.start_date, following.end_date) == (date(2029, 1, 1), date(2032, 12, 31))
    assert following.evaluation_due_date == date(2032, 10, 31)
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == "convention.evaluation"))
    assert deadline is not None and deadline.state == DeadlineState.MET


def test_termination_after_an_unanswered_notice(parties: dict[str, Any]) -> None:
    convention = _signed(parties)
    services.record_transmission(convention, REFERENCE_ACK, date(2025, 4, 15))
    other = open_deadline(
        "access.inquiry", parties["partner"], "Sollicitation en cours", end_of_day(date(2030, 1, 2))
    )
    notice = services.send_formal_notice(
        convention, date(2025, 9, 1), "Manquements à l'article 11", "1A234", date(2025, 9, 3)
    )
    db.session.commit()
    assert notice.answer_due_date == date(2025, 10, 3)
    with pytest.raises(Conflict, match="03/10/2025"):
        services.terminate(convention, notice, date(2025, 10, 3), "1A999", date(2025, 10, 6))
    services.terminate(convention, notice, date(2025, 10, 6), "1A999", date(2025, 10, 8))
    db.session.commit()
    assert convention.status == ConventionStatus.TERMINATED
    assert convention.ended_on == date(2025, 10, 8)
    assert not convention.enforceable
    assert (
        other.state == DeadlineState.CANCELLED and other.closed_reason and "08/10/2025" in other.closed_reason
    )


def test_an_answered_notice_cannot_ground_a_termination(parties: dict[str, Any]) -> None:
    convention = _signed(parties)
    services.record_transmission(convention, REFERENCE_ACK, date(2025, 4, 15))
    notice = services.send_formal_notice(convention, date(2025, 9, 1), "Retard", None)
    services.record_notice_answer(notice, date(2025, 9, 20), "Mise en conformité")
    db.session.commit()
    with pytest.raises(Conflict):
        services.terminate(convention, notice, date(2025, 11, 1), "1A1", date(2025, 11, 3))
    notice_deadline = db.session.scalar(
        sa.select(Deadline).where(Deadline.kind == "convention.formal_notice")
    )
    assert notice_deadline is not None and notice_deadline.state == DeadlineState.MET


def test_a_template_is_duplicated_for_a_partner(parties: dict[str, Any]) -> None:
    template = services.create_convention(
        parties["controller"],
        None,
        "Modèle de convention",
        date(2025, 1, 1),
        date(2028, 12, 31),
        articles=[
            services.ArticleData(1, "Objet", "…"),
            services.ArticleData(11, "Données personnelles", "…"),
        ],
        is_template=True,
    )
    copy = services.duplicate_for_partner(template, parties["partner"], date(2026, 1, 1), date(2029, 12, 31))
    db.session.commit()
    assert [a.number for a in copy.articles] == [1, 11]
    assert copy.partner_id == parties["partner"].id and not copy.is_template
    assert copy.evaluation_due_date == date(2029, 10, 31)


def test_signatures_follow_the_deliberation(parties: dict[str, Any]) -> None:
    convention = services.create_convention(
        parties["controller"], parties["partner"], "Convention", date(2025, 1, 1), date(2028, 12, 31)
    )
    with pytest.raises(Conflict):
        services.sign_convention(convention, date(2025, 4, 10), None)
    services.approve_convention(convention, _deliberation(parties["partner"]))
    with pytest.raises(ValidationFailed):
        services.sign_convention(convention, date(2025, 4, 1), None)  # before the deliberation
    services.sign_convention(convention, date(2025, 4, 10), None)
    assert convention.status == ConventionStatus.APPROVED  # one party only
    services.sign_convention(convention, None, date(2025, 4, 11))
    assert convention.status == ConventionStatus.SIGNED


def test_signing_without_the_partners_dpo_opens_an_overdue_deadline(
    parties: dict[str, Any], factory: Any
) -> None:
    """Convention art. 11: the DPO contact is due at signature (the processor file registers the hook)."""
    from vigie.deadlines.status import DeadlineStatus, status_of

    _signed(parties)
    deadline = db.session.scalar(sa.select(Deadline).where(Deadline.kind == "processor.dpo_contact"))
    assert deadline is not None and deadline.organisation_id == parties["partner"].id
    assert deadline.due_date == date(2025, 4, 10)  # the later of the two signatures
    from vigie.database import utcnow

    assert status_of(deadline, utcnow()) == DeadlineStatus.OVERDUE


def test_signing_with_the_partners_dpo_opens_nothing(parties: dict[str, Any], factory: Any) -> None:
    from compliance.processor.services import set_dpo

    dpo = factory.user("dpo")
    set_dpo(dpo, parties["partner"], "Marie Dubois", "dpo@forcalquier.example", since=date(2025, 1, 1))
    db.session.commit()
    _signed(parties)
    assert db.session.scalar(sa.select(Deadline).where(Deadline.kind == "processor.dpo_contact")) is None
