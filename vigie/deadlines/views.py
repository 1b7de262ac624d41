"""Deadline pages: the DPO dashboard, a partner's deadlines. The queries live in dashboard.py; this
module parses the query string and turns deadlines into what the templates show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from vigie.auth.access import reaches_all_organisations, requires
from vigie.auth.roles import Permission, Role
from vigie.database import utcnow
from vigie.deadlines import dashboard
from vigie.deadlines.dashboard import DeadlineFilter, InvalidFilter
from vigie.deadlines.kinds import get_kind
from vigie.deadlines.models import Deadline
from vigie.deadlines.status import STATUS_LABELS, DeadlineStatus, remaining_text, status_of

bp = Blueprint("deadlines", __name__, url_prefix="/deadlines")


@dataclass(frozen=True)
class DeadlineRow:
    """One deadline as a row of the dashboard shows it."""

    deadline: Deadline
    kind_label: str
    status: DeadlineStatus
    status_label: str
    hour_based: bool  # shown with a live countdown
    late: bool  # the due time has passed (for an open one: overdue)
    remaining: str  # "2 d 5 h" (in French "2 j 5 h"): left before, or elapsed since, the due time
    due_iso: str  # the due time in UTC, ISO 8601, for <time datetime> and the countdown script


def as_row(deadline: Deadline, now: datetime) -> DeadlineRow:
    status = status_of(deadline, now)
    kind = get_kind(deadline.kind)
    return DeadlineRow(
        deadline=deadline,
        kind_label=str(kind.label),
        status=status,
        status_label=str(STATUS_LABELS[status]),
        hour_based=kind.hour_based,
        late=now > deadline.due_at,
        remaining=remaining_text(deadline.due_at - now),
        due_iso=deadline.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def countdown_formats() -> dict[str, str]:
    """The formats of remaining_text() in the page's language, as data attributes for countdown.js
    (the msgids must stay those of vigie.deadlines.status.remaining_text)."""
    return {
        "data-countdown-days": _("%(days)d d %(hours)d h"),
        "data-countdown-hours": _("%(hours)d h %(minutes)d min"),
        "data-countdown-minutes": _("%(minutes)d min"),
        "data-countdown-left": _("Time left:"),
        "data-countdown-late": _("Overdue by:"),
    }


def filter_context(user: Any) -> dict[str, Any]:
    """The choices of the filter form: the kinds the user's roles see, the organisations it may see."""
    organisations = dashboard.filter_organisations(user)
    return {
        "kinds": [(k.code, str(k.label)) for k in dashboard.filter_kinds(user)],
        # A partner's only choice would be itself: no organisation filter for it.
        "organisations": organisations if len(organisations) > 1 else [],
        "filter_errors": {},
        "countdown_formats": countdown_formats(),
    }


def dashboard_context(
    user: Any, now: datetime, flt: DeadlineFilter | None = None, page: int = 1
) -> dict[str, Any]:
    """What templates/deadlines/_dashboard.html needs, for /deadlines/ and the home page."""
    flt = flt or DeadlineFilter()
    listing = dashboard.open_deadlines(user, now, flt, page=page)
    # The DPO and the auditor see every partner's status; a partner sees its own deadlines only and
    # gets no table of partners.
    overview = (
        dashboard.partner_overview(user, now)
        if reaches_all_organisations(user, Permission.COMPLIANCE_VIEW)
        else None
    )
    return {
        **filter_context(user),
        "now": now,
        "flt": flt,
        "listing": listing,
        "rows": [as_row(d, now) for d in listing.items],
        "met_rows": [as_row(d, now) for d in dashboard.recently_met(user, now, flt)],
        "recent_days": dashboard.RECENTLY_MET_DAYS,
        "overview": overview,
    }


def home_context(user: Any, now: datetime) -> dict[str, Any]:
    """The deadline part of the home page: the dashboard for the DPO, its own deadlines for a partner,
    a summary with a link for the other roles (none for a role that sees no deadline kind)."""
    roles = user.roles
    if Role.DPO in roles or Role.PARTNER in roles:
        return {"home_mode": "dashboard", **dashboard_context(user, now)}
    if dashboard.filter_kinds(user):
        return {"home_mode": "summary", "counts": dashboard.status_counts(user, now)}
    return {"home_mode": None}


# Permission.SELF, not COMPLIANCE_VIEW: no permission names the deadlines, and the roles that see some
# kind of them hold different ones (compliance for the DPO, the partner and the auditor; governance or
# conventions for the committee and the legal service). Every signed-in user may open the page;
# visible_deadlines() then shows each one only the kinds their roles see and, for a partner, its own
# organisation's deadlines (an administrator, who sees no kind, gets an empty list).
@bp.route("/")
@requires(Permission.SELF)
def index() -> tuple[str, int]:
    now = utcnow()
    page = request.args.get("page", 1, type=int) or 1
    try:
        flt = dashboard.parse_filter(request.args.get("kind"), request.args.get("organisation_id"))
    except InvalidFilter as err:
        # The form again, its errors tied to the fields, and no list: a list that silently ignored
        # the filter would look like an answer.
        context = filter_context(current_user)
        context.update(filter_errors=err.fields, filter_message=err.message, flt=DeadlineFilter())
        return render_template("deadlines/index.html", invalid=True, **context), 400
    context = dashboard_context(current_user, now, flt, page)
    return render_template("deadlines/index.html", invalid=False, **context), 200
