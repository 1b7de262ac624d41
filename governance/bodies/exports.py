"""The minutes as a PDF laid out like a French procès-verbal; a meeting's calendar invitation.

- /governance/meetings/<id>/minutes.pdf: the body, the date, time and place, the counts of the
  reference deliberation (members in office, present, proxies, votes cast), who was present, represented
  (and by whom), excused or absent, the agenda, the minutes' current text (Markdown, sanitised by
  governance.bodies.markdown), each item's votes and decisions, the state of the minutes and the
  signature block. Always in French: it is a French administrative act. The committee, the legal
  service and the auditor read every one; a partner only the PUBLISHED minutes of a body its
  organisation sits in (any other is a 404 to it, exactly like a meeting that does not exist); the
  DPO and the administrator, who have no governance role, get 403.
- /governance/meetings/<id>/invitation.ics: the invitation sent to the members (governance roles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, abort
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from governance.bodies import reading, services
from governance.bodies.markdown import render_markdown
from governance.bodies.models import (
    AgendaItem,
    AttendanceStatus,
    BodyMember,
    Decision,
    Meeting,
    MemberRole,
    Minutes,
    MinutesStatus,
    Vote,
)
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.extensions import db
from vigie.pdf import pdf_response, render_pdf
from vigie.timeutil import to_paris

bp = Blueprint("governance_exports", __name__, url_prefix="/governance")

# A procès-verbal is a French administrative act: always in French, whatever the reader's language.
MINUTES_LOCALE = "fr"


@dataclass
class Deliberation:
    """An agenda item (None: the votes and decisions outside the agenda) with what was voted and decided."""

    item: AgendaItem | None
    votes: list[tuple[Vote, list[Decision]]] = field(default_factory=list)


def _long_date(moment: datetime) -> str:
    return format_date(to_paris(moment).date(), "long")


def deliberations(meeting: Meeting, decisions: list[Decision]) -> tuple[list[Deliberation], list[Decision]]:
    """The agenda in order, each item with its votes and the decisions that followed them; then the
    votes outside the agenda (if any); and the decisions recorded without a vote."""
    by_vote: dict[int, list[Decision]] = {}
    for decision in decisions:
        if decision.vote_id is not None:
            by_vote.setdefault(decision.vote_id, []).append(decision)
    items = {item.id: Deliberation(item) for item in meeting.agenda}
    loose = Deliberation(None)
    for vote in meeting.votes:
        target = items.get(vote.agenda_item_id) if vote.agenda_item_id is not None else None
        (target or loose).votes.append((vote, by_vote.get(vote.id, [])))
    result = list(items.values()) + ([loose] if loose.votes else [])
    return result, [d for d in decisions if d.vote_id is None]


def minutes_status_text(minutes: Minutes | None) -> str:
    if minutes is None or not minutes.versions:
        return _("No minutes have been written for this meeting yet.")
    version = minutes.current.number if minutes.current else 0
    if minutes.status == MinutesStatus.DRAFT:
        return _("Draft minutes (version %(version)d), not yet approved.", version=version)
    if minutes.status == MinutesStatus.SUBMITTED:
        return _("Minutes submitted for approval (version %(version)d).", version=version)
    approved = _long_date(minutes.approved_at) if minutes.approved_at else ""
    if minutes.status == MinutesStatus.APPROVED:
        return _("Minutes approved at the meeting of %(date)s.", date=approved)
    published = _long_date(minutes.published_at) if minutes.published_at else ""
    return _(
        "Minutes approved at the meeting of %(date)s and published on %(published)s.",
        date=approved,
        published=published,
    )


def _chair(meeting: Meeting) -> BodyMember | None:
    in_office = services.members_in_office(meeting.body, services.meeting_day(meeting))
    return next((m for m in in_office if m.role == MemberRole.CHAIR), None)


@bp.route("/meetings/<int:meeting_id>/minutes.pdf", endpoint="minutes_pdf")
@requires(Permission.SELF)  # the governance roles, and partners for published minutes: checked below
def minutes_pdf(meeting_id: int) -> Response:
    if not reading.reads_published(current_user):
        abort(403)
    meeting = db.session.get(Meeting, meeting_id)
    minutes = reading.minutes_of(meeting) if meeting is not None else None
    if meeting is None or not reading.minutes_readable(current_user, meeting, minutes):
        abort(404)
    decisions = list(
        db.session.scalars(
            sa.select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.number)
        )
    )
    quorum = services.quorum(meeting)
    by_status: dict[AttendanceStatus, list[BodyMember]] = {s: [] for s in AttendanceStatus}
    proxies: list[tuple[BodyMember, BodyMember | None]] = []
    for row in meeting.attendance:
        by_status[row.status].append(row.member)
        if row.status == AttendanceStatus.REPRESENTED:
            proxies.append((row.member, row.proxy_holder))
    recorded = {row.member_id for row in meeting.attendance}
    in_office = services.members_in_office(meeting.body, services.meeting_day(meeting))
    cast = {v.votes_cast for v in meeting.votes}
    items, unvoted = deliberations(meeting, decisions)
    current = minutes.current if minutes is not None else None
    with force_locale(MINUTES_LOCALE):
        starts = to_paris(meeting.starts_at)
        result = render_pdf(
            "governance_pdf/minutes.html",
            meeting=meeting,
            body=meeting.body,
            day=format_date(starts.date(), "long"),
            time=starts.strftime("%H:%M"),
            convened=_long_date(meeting.invitation_sent_at) if meeting.invitation_sent_at else None,
            cancelled=_long_date(meeting.cancelled_at) if meeting.cancelled_at else None,
            quorum=quorum,
            # The reference deliberation's single figure; per vote when the votes differ.
            votes_cast=cast.pop() if len(cast) == 1 else None,
            present=by_status[AttendanceStatus.PRESENT],
            proxies=proxies,
            excused=by_status[AttendanceStatus.EXCUSED],
            absent=by_status[AttendanceStatus.ABSENT],
            unrecorded=[m for m in in_office if m.id not in recorded],
            deliberations=items,
            unvoted=unvoted,
            minutes_text=render_markdown(current.text) if current is not None else Markup(""),
            minutes_status=minutes_status_text(minutes),
            chair=_chair(meeting),
        )
    filename = f"pv-{meeting.body.code.lower()}-{starts:%Y%m%d}.pdf"
    return pdf_response(result, filename)


@bp.route("/meetings/<int:meeting_id>/invitation.ics", endpoint="meeting_ics")
@requires(Permission.GOVERNANCE_VIEW)
def meeting_ics(meeting_id: int) -> Response:
    meeting = services.get_meeting(meeting_id)
    response = Response(services.invitation_ics(meeting), content_type="text/calendar; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=f"meeting-{meeting.id}.ics")
    return response
