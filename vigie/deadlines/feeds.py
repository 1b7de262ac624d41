"""The calendar feed (ICS, per user, token-protected) and the deadline list as CSV.

Both read visible_deadlines(user): a feed or an export holds exactly what its user may see.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import icalendar
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.auth.access import public, requires
from vigie.auth.forms import EmptyForm
from vigie.auth.models import User
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines import feed_tokens
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.serialise import kind_label, parse_filters
from vigie.deadlines.services import visible_deadlines
from vigie.deadlines.status import STATUS_LABELS, DeadlineStatus, status_of
from vigie.extensions import db
from vigie.timeutil import to_paris

bp = Blueprint("feeds", __name__)

FEED_MAX_EVENTS = 500
FEED_MET_WINDOW = timedelta(days=90)  # met deadlines stay in the calendar this long after being met
HOUR_EVENT_LENGTH = timedelta(minutes=15)
CSV_BATCH = 500


# --- The calendar feed ---


def feed_deadlines(user: User, now: datetime) -> list[Deadline]:
    """Open deadlines, and those met in the last 90 days; at most FEED_MAX_EVENTS, so when a network
    has more, the open ones come first (soonest due first), then the met ones. One query (the
    organisation is joined), whatever the number of rows."""
    stmt = (
        visible_deadlines(user)
        .where(
            sa.or_(
                Deadline.state == DeadlineState.OPEN,
                sa.and_(Deadline.state == DeadlineState.MET, Deadline.met_at >= now - FEED_MET_WINDOW),
            )
        )
        .order_by(sa.case((Deadline.state == DeadlineState.OPEN, 0), else_=1), Deadline.due_at, Deadline.id)
        .limit(FEED_MAX_EVENTS)
    )
    return list(db.session.scalars(stmt))


def _event(deadline: Deadline, now: datetime) -> icalendar.Event:
    status = status_of(deadline, now)
    label = kind_label(deadline.kind)
    event = icalendar.Event()
    event.add("uid", f"deadline-{deadline.id}@vigie")
    event.add("dtstamp", now)
    event.add("last-modified", deadline.updated_at)
    event.add("summary", f"{deadline.title} — {label}")
    due_paris = to_paris(deadline.due_at).strftime("%Y-%m-%d %H:%M")
    lines = [
        label,
        _("Status: %(status)s", status=STATUS_LABELS[status]),
        _("Organisation: %(name)s", name=deadline.organisation.name),
        _("Due: %(when)s (Europe/Paris)", when=due_paris),
    ]
    if deadline.met_at is not None:
        lines.append(
            _("Met: %(when)s (Europe/Paris)", when=to_paris(deadline.met_at).strftime("%Y-%m-%d %H:%M"))
        )
    event.add("description", "\n".join(lines))
    event.add("categories", [label])
    # A deadline is not a meeting: it must not show the user as busy.
    event.add("transp", "TRANSPARENT")
    if deadline.due_date is not None:
        # Day-based: the whole last day allowed (DTEND is exclusive).
        event.add("dtstart", deadline.due_date)
        event.add("dtend", deadline.due_date + timedelta(days=1))
    else:
        # Hour-based: a short event that ends at the due time (to the second, as ICS counts), in UTC.
        due_at = deadline.due_at.astimezone(UTC).replace(microsecond=0)
        event.add("dtstart", due_at - HOUR_EVENT_LENGTH)
        event.add("dtend", due_at)
    if deadline.state == DeadlineState.OPEN and status != DeadlineStatus.OVERDUE:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", deadline.title)
        if deadline.due_date is not None:
            # 09:00 the day before (an all-day event starts at midnight).
            alarm.add("trigger", timedelta(hours=-15))
        else:
            # Exactly 24 hours before the due time.
            alarm.add("trigger", timedelta(days=-1), parameters={"RELATED": "END"})
        event.add_component(alarm)
    return event


def build_calendar(user: User, deadlines: Iterable[Deadline], now: datetime) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Vigie//Deadlines//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Vigie deadlines — %(name)s", name=user.name))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for deadline in deadlines:
        cal.add_component(_event(deadline, now))
    return cal.to_ical()


# The address is the credential: calendar applications (Thunderbird, Outlook, phones) subscribe to a
# URL and cannot sign in or send a bearer header. So the view is @public for the access check, and
# authenticates here itself: an unknown or revoked token, or a deactivated user's, is a 404 (the
# same answer for all three, so the address reveals nothing). The token is 256 random bits, stored
# hashed, and its owner can replace or revoke it at /calendar/.
@bp.route("/calendar/<token>.ics")
@public
def calendar(token: str) -> Response:
    user = feed_tokens.user_for_feed_token(token)
    if user is None:
        abort(404)
    now = utcnow()
    with force_locale(user.locale or "fr"):
        body = build_calendar(user, feed_deadlines(user, now), now)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="vigie.ics"'
    return response


# --- The page that manages the feed's address ---


def feed_url(plaintext: str) -> str:
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    return base + url_for("feeds.calendar", token=plaintext)


def _settings_page(new_url: str | None = None) -> str:
    return render_template(
        "feeds/settings.html",
        token=feed_tokens.active_feed_token(current_user),
        new_url=new_url,
        webcal_url=("webcal://" + new_url.split("://", 1)[1]) if new_url else None,
        form=EmptyForm(),
    )


@bp.route("/calendar/")
@requires(Permission.SELF)
def settings() -> str:
    return _settings_page()


@bp.route("/calendar/token", methods=["POST"])
@requires(Permission.SELF)
def create_token() -> str:
    """Create the address, or replace it (the old one stops working). The page that answers shows it
    once: it is rendered here, not after a redirect, so the secret never travels in a cookie."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    _token, plaintext = feed_tokens.create_feed_token(current_user)
    db.session.commit()
    return _settings_page(new_url=feed_url(plaintext))


@bp.route("/calendar/token/revoke", methods=["POST"])
@requires(Permission.SELF)
def revoke_token() -> Response:
    if not EmptyForm().validate_on_submit():
        abort(400)
    if feed_tokens.revoke_feed_token(current_user):
        db.session.commit()
        flash(_("The calendar address is revoked: calendars subscribed to it no longer update."), "success")
    else:
        flash(_("You have no calendar address to revoke."), "info")
    return redirect(url_for("feeds.settings"))


# --- CSV export ---

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _paris(value: datetime | None) -> str:
    return "" if value is None else to_paris(value).strftime("%Y-%m-%d %H:%M")


def csv_header() -> list[str]:
    return [
        _("Id"),
        _("Kind"),
        _("Deadline"),
        _("Title"),
        _("Organisation"),
        _("Status"),
        _("Last day"),
        _("Due (Europe/Paris)"),
        _("Met (Europe/Paris)"),
        _("Opened (Europe/Paris)"),
        _("Subject"),
    ]


def csv_row(deadline: Deadline, now: datetime) -> list[str]:
    subject = f"{deadline.subject_type} {deadline.subject_id}" if deadline.subject_type else ""
    cells = [
        deadline.id,
        deadline.kind,
        kind_label(deadline.kind),
        deadline.title,
        deadline.organisation.name,
        STATUS_LABELS[status_of(deadline, now)],
        deadline.due_date.isoformat() if deadline.due_date else "",
        _paris(deadline.due_at),
        _paris(deadline.met_at),
        _paris(deadline.opened_at),
        subject,
    ]
    return [csv_cell(c) for c in cells]


# The endpoint is feeds.csv (a function named csv would shadow the module).
@bp.route("/deadlines.csv", endpoint="csv")
@requires(Permission.SELF)
def csv_export() -> Response:
    """The deadlines the user may see, with the API's filters, as French Excel opens a CSV: UTF-8 with
    a byte-order mark, `;` between cells, times in Europe/Paris. Built in memory (rows are read in
    batches): a streamed body would outlive the request's context, and the session with it."""
    filters = parse_filters(request.args)
    now = utcnow()
    stmt = (
        filters.apply(visible_deadlines(current_user), now)
        .order_by(Deadline.due_at, Deadline.id)
        .execution_options(yield_per=CSV_BATCH)
    )
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_header())
    for deadline in db.session.scalars(stmt):
        writer.writerow(csv_row(deadline, now))
    response = Response(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"vigie-deadlines-{to_paris(now):%Y%m%d}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
