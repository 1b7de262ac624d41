"""Guards of a convention's life, through the service and the convention page (422, nothing saved):

- an amendment references a deliberation of the convention's partner or of the Département, never
  another organisation's;
- a formal notice is not sent or received, an answer not received, a termination not notified, on a
  day that has not come yet in Europe/Paris (tested at the edge: just after midnight in Paris, while it
  is still the day before in UTC, in winter and in summer time); nor is a notice received before it is
  sent, or answered before it is sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from governance.conventions import services
from governance.conventions.models import Amendment, Convention, ConventionStatus, FormalNotice
from tests import test_conventions_web
from tests.conftest import french
from tests.test_conventions import REFERENCE_ACK, _deliberation, _signed
from tests.test_conventions_web import field_error, plain, prefixed, reload, transmitted
from vigie.errors import ValidationFailed
from vigie.extensions import db

# The convention pages' fixtures: the Département and the reference partner (with their addresses), and a
# signed-in user of the legal service.
parties = test_conventions_web.parties
legal = test_conventions_web.legal


def enforceable(parties: dict[str, Any]) -> Convention:
    convention = _signed(parties)
    services.record_transmission(convention, REFERENCE_ACK, date(2025, 4, 15))
    db.session.commit()
    return convention


def amendments_of(convention_id: int) -> list[Amendment]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Amendment).where(Amendment.convention_id == convention_id)))


# --- the amendment's deliberation: the service ------------------------------------------------------


def test_an_amendment_references_a_deliberation_of_its_parties_only(
    parties: dict[str, Any], factory: Any
) -> None:
    convention = enforceable(parties)
    partner_deliberation = _deliberation(parties["partner"], number="2026-12", adopted_on=date(2026, 1, 8))
    controller_deliberation = _deliberation(
        parties["controller"],
        assembly="Commission permanente",
        number="CP-2026-4",
        adopted_on=date(2026, 1, 5),
    )
    stranger = factory.org("partner", name="Commune de Manosque")
    other_deliberation = _deliberation(stranger, number="2026-3", adopted_on=date(2026, 1, 6))
    db.session.commit()

    first = services.add_amendment(convention, date(2026, 1, 10), "Article 4", partner_deliberation)
    second = services.add_amendment(convention, date(2026, 1, 12), "Article 5", controller_deliberation)
    db.session.commit()
    assert (first.deliberation_id, second.deliberation_id) == (
        partner_deliberation.id,
        controller_deliberation.id,
    )

    with force_locale("en"), pytest.raises(ValidationFailed) as err:  # the msgids
        services.add_amendment(convention, date(2026, 1, 15), "Article 6", other_deliberation)
    assert set(err.value.fields) == {"deliberation_id"}
    assert err.value.message == "An amendment's deliberation is one of the partner's or of the Département's."
    db.session.rollback()
    assert [a.number for a in amendments_of(convention.id)] == [1, 2]


# --- dates that have not come yet: the service ------------------------------------------------------

EDGES = [
    # (now in UTC, the day in Paris): just after midnight in Paris, still the day before in UTC.
    pytest.param(datetime(2025, 11, 5, 23, 30, tzinfo=UTC), date(2025, 11, 6), id="winter-after-midnight"),
    pytest.param(datetime(2025, 7, 14, 22, 30, tzinfo=UTC), date(2025, 7, 15), id="summer-after-midnight"),
    pytest.param(datetime(2025, 7, 14, 21, 59, tzinfo=UTC), date(2025, 7, 14), id="summer-before-midnight"),
    # The night of the change to winter time (26 October 2025, 03:00 CEST → 02:00 CET).
    pytest.param(datetime(2025, 10, 25, 22, 30, tzinfo=UTC), date(2025, 10, 26), id="dst-change-night"),
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_now(now: datetime) -> None:
        monkeypatch.setattr(services, "utcnow", lambda: now)

    return set_now


@pytest.mark.parametrize(("now", "today"), EDGES)
def test_a_formal_notice_is_not_sent_or_received_in_the_future(
    parties: dict[str, Any], clock: Any, now: datetime, today: date
) -> None:
    convention = enforceable(parties)
    clock(now)
    assert services.today() == today
    tomorrow = today + timedelta(days=1)
    cases = [
        ({"sent_on": tomorrow}, "sent_on", "A formal notice cannot be sent in the future."),
        (
            {"sent_on": today, "received_on": tomorrow},
            "received_on",
            "A formal notice cannot be received in the future.",
        ),
        (
            {"sent_on": today, "received_on": today - timedelta(days=1)},
            "received_on",
            "A letter is received after it is sent.",
        ),
    ]
    for dates, field, message in cases:
        with force_locale("en"), pytest.raises(ValidationFailed) as err:  # the msgids
            services.send_formal_notice(
                convention, dates["sent_on"], "Manquements à l'article 11", "1A23", dates.get("received_on")
            )
        assert set(err.value.fields) == {field} and err.value.message == message
        db.session.rollback()
        assert db.session.scalars(sa.select(FormalNotice)).all() == []
    notice = services.send_formal_notice(convention, today, "Manquements à l'article 11", "1A23", today)
    db.session.commit()
    assert notice.answer_due_date == today + timedelta(days=30)


@pytest.mark.parametrize(("now", "today"), EDGES)
def test_an_answer_is_not_received_in_the_future_nor_before_the_notice(
    parties: dict[str, Any], clock: Any, now: datetime, today: date
) -> None:
    convention = enforceable(parties)
    clock(now)
    sent = today - timedelta(days=10)
    notice = services.send_formal_notice(convention, sent, "Retard", None)
    db.session.commit()
    for answered_on, message in (
        (today + timedelta(days=1), "An answer cannot be received in the future."),
        (sent - timedelta(days=1), "An answer comes after the formal notice."),
    ):
        with force_locale("en"), pytest.raises(ValidationFailed) as err:  # the msgids
            services.record_notice_answer(notice, answered_on, "Mise en conformité")
        assert set(err.value.fields) == {"answered_on"} and err.value.message == message
        db.session.rollback()
        db.session.expire_all()
        assert db.session.get(FormalNotice, notice.id).answered_on is None  # type: ignore[union-attr]
    services.record_notice_answer(db.session.get(FormalNotice, notice.id), today, "Mise en conformité")  # type: ignore[arg-type]
    db.session.commit()
    assert db.session.get(FormalNotice, notice.id).answered_on == today  # type: ignore[union-attr]


@pytest.mark.parametrize(("now", "today"), EDGES)
def test_a_termination_is_not_notified_in_the_future(
    parties: dict[str, Any], clock: Any, now: datetime, today: date
) -> None:
    convention = enforceable(parties)
    clock(now)
    notice = services.send_formal_notice(convention, today - timedelta(days=40), "Retard", None)
    db.session.commit()
    sent = today - timedelta(days=2)
    with force_locale("en"), pytest.raises(ValidationFailed) as err:  # the msgids
        services.terminate(convention, notice, sent, "1A999", today + timedelta(days=1))
    assert set(err.value.fields) == {"notified_on"}
    assert err.value.message == "A termination cannot be notified in the future."
    db.session.rollback()
    assert reload(convention.id).status == ConventionStatus.TRANSMITTED
    services.terminate(reload(convention.id), db.session.get(FormalNotice, notice.id), sent, "1A999", today)  # type: ignore[arg-type]
    db.session.commit()
    assert (reload(convention.id).status, reload(convention.id).ended_on) == (
        ConventionStatus.TERMINATED,
        today,
    )


# --- through the convention page ------------------------------------------------------------------


def test_the_amendment_form_offers_the_parties_deliberations_only(
    app: Flask,
    parties: dict[str, Any],
    legal: Any,
    factory: Any,
) -> None:
    convention = transmitted(legal, parties["partner"])
    controller_deliberation = _deliberation(
        parties["controller"],
        assembly="Commission permanente",
        number="CP-2026-4",
        adopted_on=date(2026, 1, 5),
    )
    other_deliberation = _deliberation(factory.org("partner"), number="2026-3", adopted_on=date(2026, 1, 6))
    db.session.commit()
    page = legal.get(f"/conventions/{convention.id}").get_data(as_text=True)
    assert f'<option value="{controller_deliberation.id}">' in page
    assert f'<option value="{other_deliberation.id}">' not in page
    url = f"/conventions/{convention.id}/amendments"

    refused = legal.post(
        url,
        data=prefixed(
            "amendment", signed_on="2026-01-10", changes="Article 4", deliberation_id=other_deliberation.id
        ),
    )
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "amendment-deliberation_id")
    assert "Article 4" in plain(refused.get_data(as_text=True))  # what was typed is kept
    assert amendments_of(convention.id) == []

    accepted = legal.post(
        url,
        data=prefixed(
            "amendment",
            signed_on="2026-01-10",
            changes="Article 4",
            deliberation_id=controller_deliberation.id,
        ),
    )
    assert accepted.status_code == 302
    assert [a.deliberation_id for a in amendments_of(convention.id)] == [controller_deliberation.id]


def test_the_notice_answer_and_termination_forms_refuse_a_day_to_come(
    app: Flask,
    parties: dict[str, Any],
    legal: Any,
) -> None:
    convention = transmitted(legal, parties["partner"])
    today = services.today()
    tomorrow = (today + timedelta(days=1)).isoformat()
    in_future = french("In the future.")

    refused = legal.post(
        f"/conventions/{convention.id}/notices",
        data=prefixed("notice", sent_on=tomorrow, grounds="Retard", tracking_number="", received_on=""),
    )
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "notice-sent_on") == in_future
    assert db.session.scalars(sa.select(FormalNotice)).all() == []

    sent = (today - timedelta(days=40)).isoformat()
    assert (
        legal.post(
            f"/conventions/{convention.id}/notices",
            data=prefixed("notice", sent_on=sent, grounds="Retard", tracking_number="", received_on=""),
        ).status_code
        == 302
    )
    notice = db.session.scalar(sa.select(FormalNotice))
    assert notice is not None

    answer = legal.post(
        f"/conventions/{convention.id}/notices/{notice.id}/answer",
        data=prefixed(f"answer-{notice.id}", answered_on=tomorrow, answer="Mise en conformité"),
    )
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), f"answer-{notice.id}-answered_on") == in_future
    db.session.expire_all()
    assert db.session.get(FormalNotice, notice.id).answered_on is None  # type: ignore[union-attr]

    termination = legal.post(
        f"/conventions/{convention.id}/notices/{notice.id}/termination",
        data=prefixed(
            f"termination-{notice.id}",
            sent_on=(today - timedelta(days=1)).isoformat(),
            tracking_number="1A999",
            notified_on=tomorrow,
        ),
    )
    assert termination.status_code == 422
    assert (
        field_error(termination.get_data(as_text=True), f"termination-{notice.id}-notified_on") == in_future
    )
    assert reload(convention.id).status == ConventionStatus.TRANSMITTED
