"""The life of a breach at the service level: clocks, rules, e-mails, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from compliance.breaches import services
from compliance.breaches.models import Breach, BreachStatus, RiskLevel
from compliance.breaches.services import BreachData
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.errors import Conflict, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.mail.models import OutboxMessage

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def cast(factory: Any) -> dict[str, Any]:
    library = factory.org("partner", name="Médiathèque de Forcalquier")
    return {
        "library": library,
        "librarian": factory.user("partner", org=library),
        "neighbour": factory.user("partner"),
        "dpo": factory.user("dpo"),
        "committee": factory.user("committee"),
    }


def _data(**overrides: Any) -> BreachData:
    values: dict[str, Any] = {
        "summary": "Un classeur d'inscriptions perdu dans le bibliobus",
        "natures": ["confidentiality"],
        "discovered_at": datetime.now(UTC) - timedelta(hours=2),
        "subjects_count": 40,
    }
    values.update(overrides)
    return BreachData(**values)


def _reported(cast: dict[str, Any], **overrides: Any) -> Breach:
    breach = services.create_breach(cast["librarian"], cast["library"], _data(**overrides), submit=True)
    db.session.commit()
    return breach


def _cnil_deadline(breach: Breach) -> Deadline | None:
    return db.session.scalar(
        sa.select(Deadline).where(
            Deadline.subject_id == breach.id, Deadline.kind == "breach.cnil_notification"
        )
    )


def test_submission_records_the_report_and_queues_the_dpo_mail(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    assert breach.status == BreachStatus.SUBMITTED
    assert breach.reference and breach.reference.startswith(f"VIO-{datetime.now(PARIS).year}-")
    assert breach.reported_to_controller_at is not None
    delay = breach.report_delay
    assert delay is not None and timedelta(hours=2) <= delay < timedelta(hours=2, minutes=1)
    assert not services.report_is_late(breach)
    mails = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [m.recipient for m in mails] == [cast["dpo"].email]
    assert f"/breaches/{breach.id}/acknowledge" in mails[0].body
    assert "classeur" not in mails[0].body  # no personal data in the e-mail


def test_a_report_more_than_24_hours_after_discovery_is_flagged_late(cast: dict[str, Any]) -> None:
    breach = _reported(cast, discovered_at=datetime.now(UTC) - timedelta(hours=25))
    assert services.report_is_late(breach)


def test_an_incomplete_declaration_stays_a_draft(cast: dict[str, Any]) -> None:
    breach = services.create_breach(cast["librarian"], cast["library"], _data(natures=[]), submit=False)
    db.session.commit()
    with pytest.raises(ValidationFailed) as err:
        services.submit_breach(cast["librarian"], breach)
    assert "natures" in err.value.fields
    db.session.rollback()
    assert db.session.get(Breach, breach.id).status == BreachStatus.DRAFT  # type: ignore[union-attr]


def test_a_partner_cannot_declare_for_another_organisation(cast: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        services.create_breach(cast["neighbour"], cast["library"], _data(), submit=True)
    with pytest.raises(Forbidden):
        services.create_breach(cast["committee"], cast["library"], _data(), submit=True)


def test_acknowledgement_starts_the_72_hour_clock_and_sends_the_receipt(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    assert services.acknowledge_breach(cast["dpo"], breach) is True
    db.session.commit()
    assert breach.status == BreachStatus.ACKNOWLEDGED
    assert breach.aware_at == breach.acknowledged_at
    assert breach.cnil_deadline_at == breach.aware_at + timedelta(hours=72)
    deadline = _cnil_deadline(breach)
    assert deadline is not None and deadline.due_at == breach.cnil_deadline_at
    receipts = [
        m for m in db.session.scalars(sa.select(OutboxMessage)) if m.recipient == cast["librarian"].email
    ]
    assert len(receipts) == 1 and breach.reference in receipts[0].subject


def test_a_second_acknowledgement_records_nothing(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    services.acknowledge_breach(cast["dpo"], breach)
    db.session.commit()
    first = breach.acknowledged_at
    other_dpo = cast["dpo"]
    assert services.acknowledge_breach(other_dpo, breach) is False
    db.session.commit()
    assert breach.acknowledged_at == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2  # DPO mail, receipt


@pytest.mark.parametrize(
    ("aware_paris", "due_paris"),
    [
        # Clocks go forward on Sunday 30 March 2025: 72 h of elapsed time end at 11:00, not 10:00.
        (datetime(2025, 3, 28, 10, 0), datetime(2025, 3, 31, 11, 0)),
        # Clocks go back on Sunday 26 October 2025: 72 h end at 09:00.
        (datetime(2025, 10, 24, 10, 0), datetime(2025, 10, 27, 9, 0)),
        # A weekend counts: Friday 17:00 → Monday 17:00.
        (datetime(2025, 6, 13, 17, 0), datetime(2025, 6, 16, 17, 0)),
    ],
)
def test_the_72_hours_are_elapsed_time(
    cast: dict[str, Any], aware_paris: datetime, due_paris: datetime
) -> None:
    aware = aware_paris.replace(tzinfo=PARIS)
    breach = _reported(cast, discovered_at=aware - timedelta(hours=1), started_at=aware - timedelta(hours=3))
    services.acknowledge_breach(cast["dpo"], breach, aware_at=aware, reason="Appel de la bibliothèque")
    db.session.commit()
    assert breach.cnil_deadline_at is not None
    assert breach.cnil_deadline_at.astimezone(PARIS).replace(tzinfo=None) == due_paris
    deadline = _cnil_deadline(breach)
    assert deadline is not None and deadline.due_at == breach.cnil_deadline_at


def test_an_earlier_awareness_needs_a_reason_and_cannot_precede_discovery(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(ValidationFailed) as err:
        services.acknowledge_breach(cast["dpo"], breach, aware_at=earlier, reason="")
    assert "reason" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        services.acknowledge_breach(cast["dpo"], breach, aware_at=earlier - timedelta(days=1), reason="x")
    assert "aware_at" in err.value.fields
    db.session.rollback()


def test_correcting_the_awareness_moves_the_clock(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    services.acknowledge_breach(cast["dpo"], breach)
    db.session.commit()
    earlier = breach.acknowledged_at - timedelta(minutes=90)  # type: ignore[operator]
    services.record_awareness(cast["dpo"], breach, earlier, "Le directeur avait téléphoné")
    db.session.commit()
    deadline = _cnil_deadline(breach)
    assert deadline is not None and deadline.due_at == earlier + timedelta(hours=72)


def test_risk_none_documents_without_notification(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    services.acknowledge_breach(cast["dpo"], breach)
    services.assess_risk(cast["dpo"], breach, "none", "Données chiffrées, clé non compromise")
    db.session.commit()
    deadline = _cnil_deadline(breach)
    assert deadline is not None and deadline.state == DeadlineState.CANCELLED
    assert breach.risk_reasoning == "Données chiffrées, clé non compromise"
    services.close_breach(cast["dpo"], breach, "Documentée au registre, sans notification.")
    db.session.commit()
    assert breach.status == BreachStatus.CLOSED


def test_high_risk_needs_a_communication_date_and_opens_its_deadline(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    services.acknowledge_breach(cast["dpo"], breach)
    with pytest.raises(ValidationFailed) as err:
        services.assess_risk(cast["dpo"], breach, "high", "Adresses et dates de naissance exposées")
    assert "communication_due" in err.value.fields
    services.assess_risk(cast["dpo"], breach, "high", "Adresses exposées", communication_due=date(2030, 1, 4))
    db.session.commit()
    communication = db.session.scalar(
        sa.select(Deadline).where(
            Deadline.kind == "breach.subject_communication", Deadline.subject_id == breach.id
        )
    )
    assert communication is not None and communication.due_date == date(2030, 1, 4)
    services.record_communication(cast["dpo"], breach, datetime.now(UTC), "Courrier", 38)
    db.session.commit()
    assert communication.state == DeadlineState.MET


def test_a_late_notification_needs_its_reasons(cast: dict[str, Any]) -> None:
    aware = datetime.now(UTC) - timedelta(days=4)
    breach = _reported(cast, discovered_at=aware - timedelta(hours=1))
    services.acknowledge_breach(cast["dpo"], breach, aware_at=aware, reason="Courriel du 1er jour")
    services.assess_risk(cast["dpo"], breach, "risk", "Fichier d'usagers exposé")
    db.session.commit()
    with pytest.raises(ValidationFailed) as err:
        services.add_notification(cast["dpo"], breach, "initial", datetime.now(UTC) - timedelta(minutes=5))
    assert "late_reasons" in err.value.fields
    assert "72" in err.value.message
    db.session.rollback()
    services.add_notification(
        cast["dpo"],
        breach,
        "initial",
        datetime.now(UTC) - timedelta(minutes=5),
        "CNIL-2025-0042",
        "Première",
        late_reasons="Informations incomplètes du prestataire",
    )
    db.session.commit()
    deadline = _cnil_deadline(breach)
    assert deadline is not None and deadline.state == DeadlineState.MET
    assert deadline.met_at is not None and deadline.met_at > deadline.due_at  # met late, and shown so
    services.add_notification(cast["dpo"], breach, "complementary", datetime.now(UTC), summary="Suite")
    db.session.commit()
    assert [n.kind.value for n in breach.notifications] == ["initial", "complementary"]


def test_a_timely_notification_meets_the_clock_and_allows_closure(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    services.acknowledge_breach(cast["dpo"], breach)
    services.assess_risk(cast["dpo"], breach, RiskLevel.RISK.value, "Risque")
    db.session.commit()
    with pytest.raises(Conflict):
        services.close_breach(cast["dpo"], breach, "trop tôt")
    services.add_notification(cast["dpo"], breach, "initial", datetime.now(UTC), "CNIL-1")
    services.add_action(
        cast["librarian"], breach, "Changer les mots de passe", "Médiathèque", date(2030, 1, 1)
    )
    services.close_breach(cast["dpo"], breach, "Clôturée")
    db.session.commit()
    assert breach.status == BreachStatus.CLOSED
    assert len(breach.actions) == 1


def test_only_the_dpo_acknowledges(cast: dict[str, Any]) -> None:
    breach = _reported(cast)
    with pytest.raises(Forbidden):
        services.acknowledge_breach(cast["librarian"], breach)


def test_free_text_is_encrypted_at_rest(cast: dict[str, Any]) -> None:
    _reported(cast, circumstances="Jean Dupont a signalé la perte")
    raw = " ".join(str(v) for row in db.session.execute(sa.text("SELECT * FROM breach")) for v in row)
    assert "classeur" not in raw and "Jean Dupont" not in raw


@pytest.mark.postgres_only
def test_two_simultaneous_acknowledgements_record_one(app: Flask, cast: dict[str, Any]) -> None:
    """Two tabs, two requests, the same instant: one acknowledgement, one receipt, one clock."""
    breach = _reported(cast)
    breach_id, dpo_id = breach.id, cast["dpo"].id
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def acknowledge() -> None:
        from vigie.auth.models import User

        with app.app_context():
            target = db.session.get(Breach, breach_id)
            user = db.session.get(User, dpo_id)
            barrier.wait()
            results.append(services.acknowledge_breach(user, target))
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=acknowledge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 1
    receipts = [
        m
        for m in db.session.scalars(sa.select(OutboxMessage))
        if "Acknowledgement" in m.subject or "Accusé" in m.subject
    ]
    assert len(receipts) == 1


def test_references_keep_counting_past_999_in_a_year(cast: dict[str, Any]) -> None:
    # As text, "VIO-2026-1000" sorts before "VIO-2026-999": the next number comes from the longest first.
    first = _reported(cast)
    prefix = first.reference.rsplit("-", 1)[0]
    first.reference = f"{prefix}-999"
    db.session.commit()
    assert _reported(cast).reference == f"{prefix}-1000"
    assert _reported(cast).reference == f"{prefix}-1001"
