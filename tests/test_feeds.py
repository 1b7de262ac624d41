"""The calendar feed (ICS, token-protected, per user) and the CSV export: content, dates, scoping,
tokens stored hashed, revoked, replaced, refused for a deactivated user."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime, timedelta
from typing import Any

import icalendar
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from tests.test_deadlines_api import counting_queries, day_based, hour_based
from vigie.auth.services import set_active
from vigie.database import utcnow
from vigie.deadlines import feeds
from vigie.deadlines.calendar import end_of_day, paris_date
from vigie.deadlines.feed_tokens import CalendarFeedToken, create_feed_token, revoke_feed_token
from vigie.deadlines.kinds import get_kind
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.services import cancel_deadline, meet_deadline
from vigie.extensions import db
from vigie.timeutil import to_paris


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    a = factory.org("partner", name="Commune de Forcalquier")
    b = factory.org("partner", name="Commune de Manosque")
    d: dict[str, Any] = {"a": a, "b": b}
    d["a_day"] = day_based(a, "Inquiry A", 6)
    d["a_hour"] = hour_based(a, "Breach A", 40)
    d["a_overdue"] = hour_based(a, "Breach A, late", -5)
    d["a_met_recently"] = day_based(a, "Inquiry A, answered", 1)
    meet_deadline(d["a_met_recently"], met_at=utcnow() - timedelta(days=10))
    d["a_met_long_ago"] = day_based(a, "Inquiry A, answered long ago", -200)
    meet_deadline(d["a_met_long_ago"], met_at=utcnow() - timedelta(days=91))
    d["a_cancelled"] = day_based(a, "Inquiry A, withdrawn", 3)
    cancel_deadline(d["a_cancelled"], "Withdrawn.")
    d["a_response"] = day_based(a, "Answer the reader", 20, kind="access.response")  # DPO/auditor only
    d["b_day"] = day_based(b, "Inquiry B", 2)
    d["b_hour"] = hour_based(b, "Breach B", 10)
    db.session.commit()
    return d


def feed_token_for(user: Any) -> str:
    _token, plaintext = create_feed_token(user)
    db.session.commit()
    return plaintext


def fetch(app: Flask, token: str) -> Any:
    return app.test_client().get(f"/calendar/{token}.ics")


def events_of(response: Any) -> dict[str, icalendar.Event]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    cal = icalendar.Calendar.from_ical(response.data)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def uid(deadline: Deadline) -> str:
    return f"deadline-{deadline.id}@vigie"


# --- The feed's content ---


def test_partner_feed_events_and_dates(app: Flask, factory: Any, world: dict[str, Any]) -> None:
    partner = factory.user("partner", org=world["a"])
    response = fetch(app, feed_token_for(partner))
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    events = events_of(response)
    # Open ones and the one met 10 days ago; not the one met 91 days ago, the cancelled one, the
    # controller-only kind, nor anything of the other partner.
    assert set(events) == {uid(world[k]) for k in ("a_day", "a_hour", "a_overdue", "a_met_recently")}

    day = world["a_day"]
    event = events[uid(day)]
    assert event.decoded("dtstart") == day.due_date and not isinstance(event.decoded("dtstart"), datetime)
    assert event.decoded("dtend") == day.due_date + timedelta(days=1)
    with app.test_request_context(), force_locale("fr"):
        label = str(get_kind("access.inquiry").label)
    assert str(event["summary"]) == f"Inquiry A — {label}"
    assert "Commune de Forcalquier" in str(event["description"])
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(hours=-15)  # 09:00 the day before

    hour = world["a_hour"]
    event = events[uid(hour)]
    end = event.decoded("dtend")
    assert isinstance(end, datetime) and end.utcoffset() == timedelta(0)
    assert end == hour.due_at.replace(microsecond=0)
    assert event.decoded("dtstart") == end - timedelta(minutes=15)
    assert f"DTEND:{hour.due_at:%Y%m%dT%H%M%S}Z" in response.get_data(as_text=True)
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(days=-1) and alarm["trigger"].params["RELATED"] == "END"

    # No reminder for what is already overdue or met.
    assert events[uid(world["a_overdue"])].walk("VALARM") == []
    assert events[uid(world["a_met_recently"])].walk("VALARM") == []


def test_feed_holds_nothing_of_another_partner(app: Flask, factory: Any, world: dict[str, Any]) -> None:
    for org, own, other in ((world["a"], "a_", "b_"), (world["b"], "b_", "a_")):
        events = events_of(fetch(app, feed_token_for(factory.user("partner", org=org))))
        others = {uid(v) for k, v in world.items() if k.startswith(other)}
        assert events and not set(events) & others
        body = b"".join(e.to_ical() for e in events.values()).decode()
        assert (world["b"] if own == "a_" else world["a"]).name not in body


def test_dpo_feed_holds_every_partner(app: Flask, factory: Any, world: dict[str, Any]) -> None:
    events = events_of(fetch(app, feed_token_for(factory.user("dpo"))))
    expected = ("a_day", "a_hour", "a_overdue", "a_met_recently", "a_response", "b_day", "b_hour")
    assert set(events) == {uid(world[k]) for k in expected}
    # An administrator sees no deadline kind: an empty but valid calendar.
    empty = fetch(app, feed_token_for(factory.user("admin")))
    assert list(icalendar.Calendar.from_ical(empty.data).walk("VEVENT")) == []


def test_feed_is_bounded_open_ones_first_soonest_first(
    app: Flask, factory: Any, world: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setattr(feeds, "FEED_MAX_EVENTS", 3)
    events = events_of(fetch(app, feed_token_for(factory.user("dpo"))))
    open_ones = [world[k] for k in ("a_day", "a_hour", "a_overdue", "a_response", "b_day", "b_hour")]
    assert set(events) == {uid(d) for d in sorted(open_ones, key=lambda d: d.due_at)[:3]}
    # The met one, due before all of them, gives way to the open ones.
    assert world["a_met_recently"].due_at < max(d.due_at for d in open_ones)
    monkeypatch.setattr(feeds, "FEED_MAX_EVENTS", 6)
    assert uid(world["a_met_recently"]) not in events_of(fetch(app, feed_token_for(factory.user("dpo"))))


def test_feed_query_count_does_not_grow(app: Flask, factory: Any) -> None:
    org = factory.org("partner")
    token = feed_token_for(factory.user("partner", org=org))
    now = utcnow()

    def add(n: int) -> None:
        rows = [
            {
                "kind": "access.inquiry",
                "organisation_id": org.id,
                "title": f"Inquiry {i}",
                "state": DeadlineState.OPEN,
                "opened_at": now,
                "due_at": end_of_day(paris_date(now) + timedelta(days=i % 50)),
                "due_date": paris_date(now) + timedelta(days=i % 50),
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        db.session.execute(sa.insert(Deadline), rows)
        db.session.commit()

    add(10)
    with counting_queries() as few:
        assert len(events_of(fetch(app, token))) == 10
    add(990)
    with counting_queries() as many:
        assert len(events_of(fetch(app, token))) == feeds.FEED_MAX_EVENTS
    assert len(few) == len(many) <= 4, many


# --- Tokens ---


def test_token_is_stored_hashed(app: Flask, factory: Any) -> None:
    user = factory.user("dpo")
    plaintext = feed_token_for(user)
    assert plaintext.startswith("vcal_") and len(plaintext) >= 40
    row = db.session.scalars(sa.select(CalendarFeedToken)).one()
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row.prefix == plaintext[:12] and row.user_id == user.id and row.revoked_at is None
    with db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT * FROM calendar_feed_token")).one()
    assert plaintext not in [str(v) for v in stored]


@pytest.mark.parametrize("token", ["nope", "vcal_", "vcal_" + "x" * 43, "vcal_" + "x" * 200])
def test_unknown_token_is_404(app: Flask, token: str) -> None:
    assert fetch(app, token).status_code == 404


def test_revoked_and_replaced_tokens_are_404(app: Flask, factory: Any, world: dict[str, Any]) -> None:
    user = factory.user("dpo")
    first = feed_token_for(user)
    assert fetch(app, first).status_code == 200
    second = feed_token_for(user)  # replaces: the first stops at once
    assert fetch(app, first).status_code == 404
    assert fetch(app, second).status_code == 200
    active = db.session.scalars(sa.select(CalendarFeedToken).where(CalendarFeedToken.revoked_at.is_(None)))
    assert len(active.all()) == 1
    assert revoke_feed_token(user) is True
    db.session.commit()
    assert fetch(app, second).status_code == 404
    assert revoke_feed_token(user) is False


def test_at_most_one_active_token_per_user_in_the_database(factory: Any) -> None:
    user = factory.user("dpo")
    feed_token_for(user)
    db.session.add(CalendarFeedToken(user_id=user.id, token_hash="0" * 64, prefix="vcal_0000000"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deactivated_user_feed_is_404_at_once(app: Flask, factory: Any, world: dict[str, Any]) -> None:
    user = factory.user("partner", org=world["a"])
    token = feed_token_for(user)
    assert fetch(app, token).status_code == 200
    set_active(user, False)
    db.session.commit()
    assert fetch(app, token).status_code == 404
    set_active(user, True)
    db.session.commit()
    assert fetch(app, token).status_code == 200


# --- The settings page ---


def test_settings_page_creates_shows_once_and_revokes(
    app: Flask, factory: Any, sign_in_as: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "BASE_URL", "https://vigie.example.fr/")
    user = factory.user("partner")
    web = sign_in_as(user)
    page = web.get("/calendar/")
    assert page.status_code == 200 and "/calendar/vcal_" not in page.get_data(as_text=True)
    created = web.post("/calendar/token")
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    token = html.split("https://vigie.example.fr/calendar/", 1)[1].split(".ics", 1)[0]
    assert token.startswith("vcal_")
    assert f"webcal://vigie.example.fr/calendar/{token}.ics" in html
    assert created.headers["Cache-Control"] == "no-store"
    assert fetch(app, token).status_code == 200
    # Shown once: the page afterwards gives only the prefix.
    again = web.get("/calendar/").get_data(as_text=True)
    assert token not in again and token[:12] in again
    replaced = web.post("/calendar/token").get_data(as_text=True)
    assert token not in replaced and fetch(app, token).status_code == 404
    revoked = web.post("/calendar/token/revoke")
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/calendar/")
    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(CalendarFeedToken).where(CalendarFeedToken.revoked_at.is_(None))) is None
    )


def test_token_buttons_need_csrf(app: Flask, factory: Any, sign_in_as: Any) -> None:
    web = sign_in_as(factory.user("dpo"))
    assert web.client.post("/calendar/token").status_code == 400
    assert web.client.post("/calendar/token/revoke").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeedToken)) == 0


# --- CSV ---


def read_csv(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM French Excel needs to read UTF-8
    text = response.data.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_csv_content(factory: Any, sign_in_as: Any, world: dict[str, Any]) -> None:
    rows = read_csv(sign_in_as(factory.user("dpo")).get("/deadlines.csv"))
    header, body = rows[0], rows[1:]
    assert len(header) == 11 and all(len(r) == 11 for r in body)
    by_id = {int(r[0]): r for r in body}
    assert set(by_id) == {d.id for k, d in world.items() if k not in ("a", "b")}
    day = by_id[world["a_day"].id]
    assert day[1] == "access.inquiry" and day[3] == "Inquiry A" and day[4] == "Commune de Forcalquier"
    assert day[6] == world["a_day"].due_date.isoformat()
    assert day[7] == f"{world['a_day'].due_date.isoformat()} 23:59"  # Europe/Paris, not UTC
    hour = by_id[world["a_hour"].id]
    assert hour[6] == "" and hour[7] == to_paris(world["a_hour"].due_at).strftime("%Y-%m-%d %H:%M")
    assert by_id[world["a_met_recently"].id][8]  # met at


def test_csv_is_scoped_and_filtered(factory: Any, sign_in_as: Any, world: dict[str, Any]) -> None:
    web = sign_in_as(factory.user("partner", org=world["b"]))
    rows = read_csv(web.get("/deadlines.csv"))[1:]
    assert {int(r[0]) for r in rows} == {world["b_day"].id, world["b_hour"].id}
    other = read_csv(web.get(f"/deadlines.csv?organisation_id={world['a'].id}"))
    assert other[1:] == []
    dpo = sign_in_as(factory.user("dpo"))
    met = read_csv(dpo.get("/deadlines.csv?status=met"))[1:]
    assert {int(r[0]) for r in met} == {world["a_met_recently"].id, world["a_met_long_ago"].id}
    kind = read_csv(dpo.get(f"/deadlines.csv?kind=breach.cnil_notification&organisation_id={world['b'].id}"))
    assert [int(r[0]) for r in kind[1:]] == [world["b_hour"].id]
    assert dpo.get("/deadlines.csv?status=bogus").status_code == 422
    assert dpo.get("/deadlines.csv?organisation_id=x").status_code == 422


@pytest.mark.parametrize(
    "title",
    ['=HYPERLINK("http://evil.example","x")', "+33 1 23", "-2+3", "@SUM(A1:A2)", "\t=1+1"],
)
def test_csv_formula_injection_guard(factory: Any, sign_in_as: Any, title: str) -> None:
    org = factory.org("partner", name="=cmd|' /C calc'!A0")
    day_based(org, title, 3)
    db.session.commit()
    [row] = read_csv(sign_in_as(factory.user("dpo")).get("/deadlines.csv"))[1:]
    assert row[3] == "'" + title
    assert row[4] == "'=cmd|' /C calc'!A0"


def test_feed_day_event_for_a_past_date(app: Flask, factory: Any) -> None:
    org = factory.org("partner")
    deadline = day_based(org, "Late inquiry", -2)
    db.session.commit()
    events = events_of(fetch(app, feed_token_for(factory.user("partner", org=org))))
    assert events[uid(deadline)].decoded("dtstart") == date.fromisoformat(deadline.due_date.isoformat())
