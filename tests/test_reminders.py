"""`vigie deadlines notify`: each reminder exactly once, to those who must act and to the DPO."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from vigie.deadlines import services
from vigie.deadlines.models import Deadline, DeadlineReminder
from vigie.deadlines.reminders import notify
from vigie.extensions import db
from vigie.mail.models import OutboxMessage

# A Wednesday morning in Paris (UTC+1 in winter).
NOW = datetime(2025, 1, 15, 8, 0, tzinfo=UTC)


def _outbox() -> list[tuple[str, str]]:
    return sorted((m.recipient, m.subject) for m in db.session.scalars(sa.select(OutboxMessage)))


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
        "committee": factory.user("committee"),
    }


def test_each_stage_is_sent_once_to_who_must_act_and_the_dpo(people: dict[str, Any]) -> None:
    deadline = services.open_deadline(
        "access.inquiry", people["library"], "Demande d'accès n° 7", NOW + timedelta(hours=30)
    )
    db.session.commit()

    assert notify(now=NOW).reminders == 0  # 30 h before: not yet "due soon" (1 day for this kind)
    report = notify(now=NOW + timedelta(hours=7))  # 23 h before, the day before in Paris
    assert (report.reminders, report.emails) == (1, 2)
    recipients = {r for r, _s in _outbox()}
    assert recipients == {people["librarian"].email, people["dpo"].email}
    assert all("Demande d'accès n° 7" in s for _r, s in _outbox())
    assert notify(now=NOW + timedelta(hours=8)).reminders == 0  # same stage: nothing new

    assert notify(now=NOW + timedelta(hours=24)).reminders == 1  # 15:00 Paris on the due day
    assert notify(now=NOW + timedelta(hours=31)).reminders == 1  # overdue
    assert notify(now=NOW + timedelta(days=3)).examined == 0  # the last stage sent: not even read
    stages = db.session.scalars(
        sa.select(DeadlineReminder.stage).where(DeadlineReminder.deadline_id == deadline.id)
    ).all()
    assert sorted(stages) == ["due_soon", "due_today", "overdue"]
    assert len(_outbox()) == 6


def test_no_reminder_for_met_or_cancelled_deadlines(people: dict[str, Any]) -> None:
    met = services.open_deadline("access.inquiry", people["library"], "a", NOW + timedelta(hours=1))
    cancelled = services.open_deadline("access.inquiry", people["library"], "b", NOW + timedelta(hours=1))
    services.meet_deadline(met, met_at=NOW)
    services.cancel_deadline(cancelled, "doublon")
    db.session.commit()
    assert notify(now=NOW + timedelta(days=2)).reminders == 0
    assert _outbox() == []


def test_deactivated_users_and_other_partners_get_nothing(people: dict[str, Any], factory: Any) -> None:
    from vigie.auth.services import set_active

    gone = factory.user("partner", org=people["library"])
    set_active(gone, False)
    services.open_deadline("processor.staff_review", people["library"], "Revue", NOW - timedelta(days=1))
    db.session.commit()
    notify(now=NOW)
    recipients = {r for r, _s in _outbox()}
    assert people["neighbour_librarian"].email not in recipients
    assert gone.email not in recipients
    assert people["committee"].email not in recipients
    assert recipients == {people["librarian"].email, people["dpo"].email}


def test_governance_reminders_go_to_the_committee(people: dict[str, Any]) -> None:
    services.open_deadline("governance.action_item", people["library"], "Action", NOW - timedelta(hours=1))
    db.session.commit()
    notify(now=NOW)
    assert {r for r, _s in _outbox()} == {people["committee"].email, people["dpo"].email}


def test_the_message_speaks_the_recipients_language(people: dict[str, Any]) -> None:
    people["dpo"].locale = "en"
    services.open_deadline("access.inquiry", people["library"], "Demande", NOW - timedelta(hours=1))
    db.session.commit()
    notify(now=NOW)
    subjects = dict(_outbox())
    assert subjects[people["dpo"].email].startswith("[Vigie] Overdue")


def test_cli_notify_reports_counts(app: Flask, people: dict[str, Any]) -> None:
    services.open_deadline(
        "access.inquiry", people["library"], "Demande", datetime.now(UTC) - timedelta(hours=1)
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["deadlines", "notify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 reminders sent (2 e-mails queued)")


@pytest.mark.postgres_only
def test_two_concurrent_runs_send_each_reminder_once(
    app: Flask, people: dict[str, Any], tmp_path: Path
) -> None:
    """Two `vigie deadlines notify` processes at the same time, on PostgreSQL."""
    due = datetime.now(UTC) - timedelta(hours=1)
    count = 150
    for n in range(count):
        services.open_deadline("access.inquiry", people["library"], f"Demande {n}", due)
    db.session.commit()

    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_")}
    env.update(
        VIGIE_ENV="testing",
        VIGIE_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        VIGIE_SECRET_KEY=app.config["SECRET_KEY"],
        VIGIE_ENCRYPTION_KEYS=",".join(app.config["ENCRYPTION_KEYS"]),
        VIGIE_DATA_DIR=str(tmp_path),
        VIGIE_SMTP_HOST="127.0.0.1",
        VIGIE_SMTP_PORT=str(app.config["SMTP_PORT"]),  # closed: mails stay queued, we count rows
    )
    vigie = str(Path(sys.executable).with_name("vigie"))
    runs = [
        subprocess.Popen(
            [vigie, "deadlines", "notify"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    sent = [int(out.split()[0]) for out, _err in outputs]
    assert sum(sent) == count, outputs  # split between the two runs, none twice

    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeadlineReminder)) == count
    messages = db.session.scalars(sa.select(OutboxMessage.dedupe_key)).all()
    assert len(messages) == 2 * count  # the librarian and the DPO, once per deadline
    assert len(set(messages)) == len(messages)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == count


def test_reminders_survive_an_smtp_outage(app: Flask, people: dict[str, Any], smtp_server: Any) -> None:
    """SMTP down during `notify`: the reminders are queued, then delivered once when it is back."""
    smtp_server.stop()
    services.open_deadline("access.inquiry", people["library"], "Demande 12", NOW - timedelta(hours=1))
    db.session.commit()
    assert notify(now=datetime.now(UTC)).emails == 2
    assert smtp_server.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2

    smtp_server.start()
    runner = app.test_cli_runner()
    later = datetime.now(UTC) + timedelta(hours=1)
    from vigie.mail.services import send_pending

    assert send_pending(now=later).sent == 2
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(
        [people["librarian"].email, people["dpo"].email]
    )
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and result.output.startswith("0 sent")
    assert notify(now=datetime.now(UTC)).reminders == 0  # and no second reminder
    assert len(smtp_server.messages) == 2
