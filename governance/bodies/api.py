"""The governance endpoints of the JSON API (on the api blueprint): bodies, meetings, attendance with the
quorum, votes, the decision register, action items.

Who: the committee writes (Permission.GOVERNANCE_EDIT); the committee, the legal service and the auditor
read everything (GOVERNANCE_VIEW). A partner reads, through GET /decisions only, the decisions of the
bodies its organisation sits in whose meeting's minutes are published — what the governance pages and
the minutes PDF show it; another decision is a 404 to it, exactly like one that does not exist. The DPO
and the administrator have no governance role: 403. Each write calls one service and commits once.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from governance.bodies import reading, services
from governance.bodies.models import (
    ActionItem,
    ActionStatus,
    Body,
    Decision,
    Meeting,
)
from governance.bodies.serialise import (
    ActionItemPageOut,
    AttendanceIn,
    BodyIn,
    BodyOut,
    DecisionDetailOut,
    DecisionIn,
    DecisionPageOut,
    MeetingDetailOut,
    MeetingIn,
    MeetingPageOut,
    QueryArgs,
    VoteIn,
    VoteOut,
    action_item_out,
    body_out,
    decision_detail_out,
    decision_out,
    dump,
    meeting_detail_out,
    meeting_out,
    vote_out,
)
from vigie.api.errors import parse_body
from vigie.api.openapi import documented
from vigie.api.params import PAGE_PARAMS
from vigie.api.views import bp
from vigie.auth.access import requires
from vigie.auth.roles import Permission
from vigie.errors import Forbidden, NotFound, ValidationFailed
from vigie.extensions import db

MEETING_FILTERS = ("body_id", "from", "to")
DECISION_FILTERS = ("body_id", "year", "q")
ACTION_FILTERS = ("status", "body_id")


def _count(stmt: sa.Select[Any], column: Any) -> int:
    return db.session.scalar(stmt.with_only_columns(sa.func.count(column)).order_by(None)) or 0


def meeting_json(meeting: Meeting) -> dict[str, Any]:
    decisions = db.session.scalars(
        sa.select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.year, Decision.number)
    )
    return dump(meeting_detail_out(meeting, services.quorum(meeting), decisions, reading.minutes_of(meeting)))


def _reads_decisions() -> None:
    if not reading.reads_published(current_user):
        raise Forbidden(_("Only the governance roles and the partners of a body read its decisions."))


def _body_or_404(body_id: int) -> Body:
    body = db.session.get(Body, body_id)
    if body is None:
        raise NotFound(_("No such body."))
    return body


# --- Bodies ------------------------------------------------------------------------------------------


@bp.route("/bodies")
@requires(Permission.GOVERNANCE_VIEW)
@documented(
    "Bodies, by name, with their rules and members (past ones too: see since and until)",
    response=BodyOut,
    many=True,
)
def bodies() -> Response:
    stmt = sa.select(Body).options(selectinload(Body.members)).order_by(Body.name)
    return jsonify([dump(body_out(b)) for b in db.session.scalars(stmt)])


@bp.route("/bodies/<int:body_id>")
@requires(Permission.GOVERNANCE_VIEW)
@documented("One body, with its rules and members", response=BodyOut)
def body(body_id: int) -> Response:
    return jsonify(dump(body_out(_body_or_404(body_id))))


@bp.route("/bodies", methods=["POST"])
@requires(Permission.GOVERNANCE_EDIT)
@documented(
    "Create a body and its members (each member's id comes back). Rules default as the French code for "
    "local councils: quorum a majority of the members in office physically present, one proxy per "
    "holder, absolute majority of the votes cast, no casting vote; 409 when the name is taken",
    body=BodyIn,
    response=BodyOut,
    status=201,
)
def create_body() -> tuple[Response, int]:
    data = parse_body(BodyIn)
    created = services.create_body(
        data.name,
        [m.data() for m in data.members],
        code=data.code,
        missions=data.missions,
        quorum_rule=data.quorum_rule,
        majority_rule=data.majority_rule,
        max_proxies_per_holder=data.max_proxies_per_holder,
        chair_casting_vote=data.chair_casting_vote,
        yearly_duty=data.yearly_duty,
    )
    db.session.commit()
    response = jsonify(dump(body_out(created)))
    response.headers["Location"] = url_for("api.body", body_id=created.id)
    return response, 201


# --- Meetings ----------------------------------------------------------------------------------------


@bp.route("/meetings")
@requires(Permission.GOVERNANCE_VIEW)
@documented(
    "Meetings in the order they are held. Filters: body_id; from and to, a day (YYYY-MM-DD, "
    "Europe/Paris, included) or a time with its offset; page and per_page (at most 200)",
    response=MeetingPageOut,
    query=(*MEETING_FILTERS, *PAGE_PARAMS),
)
def meetings() -> Response:
    args = QueryArgs(request.args, (*MEETING_FILTERS, *PAGE_PARAMS))
    body_id = args.positive_int("body_id")
    start, end = args.moment("from"), args.moment("to", end=True)
    page = args.page()
    args.check()
    stmt = sa.select(Meeting)
    if body_id is not None:
        stmt = stmt.where(Meeting.body_id == body_id)
    if start is not None:
        stmt = stmt.where(Meeting.starts_at >= start)
    if end is not None:
        stmt = stmt.where(Meeting.starts_at <= end)
    total = _count(stmt, Meeting.id)
    rows = db.session.scalars(
        stmt.order_by(Meeting.starts_at, Meeting.id).limit(page.per_page).offset(page.offset)
    )
    return jsonify(page.envelope([dump(meeting_out(m)) for m in rows], total))


@bp.route("/meetings/<int:meeting_id>")
@requires(Permission.GOVERNANCE_VIEW)
@documented(
    "One meeting with its agenda, attendance, quorum, votes, decisions and the state of its minutes",
    response=MeetingDetailOut,
)
def meeting(meeting_id: int) -> Response:
    return jsonify(meeting_json(services.get_meeting(meeting_id)))


@bp.route("/meetings", methods=["POST"])
@requires(Permission.GOVERNANCE_EDIT)
@documented(
    "Schedule a meeting: starts_at with its offset, a place or a video link, the agenda's items in order",
    body=MeetingIn,
    response=MeetingDetailOut,
    status=201,
)
def create_meeting() -> tuple[Response, int]:
    data = parse_body(MeetingIn)
    body = db.session.get(Body, data.body_id)
    if body is None:
        raise ValidationFailed(_("There is no such body."), {"body_id": _("There is no such body.")})
    created = services.create_meeting(
        body,
        data.starts_at,
        place=data.place,
        video_link=data.video_link,
        title=data.title,
        agenda=data.agenda,
        ends_at=data.ends_at,
        fulfils_duty=data.fulfils_duty,
    )
    db.session.commit()
    response = jsonify(meeting_json(created))
    response.headers["Location"] = url_for("api.meeting", meeting_id=created.id)
    return response, 201


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["PUT"])
@requires(Permission.GOVERNANCE_EDIT)
@documented(
    "Record the whole attendance (it replaces the previous one): present, represented (proxy_holder_id: "
    "a member present, within the body's limit of proxies per holder), excused, absent; secretary_id, "
    "the secretary of the session, a member present (kept when not sent). Answers the meeting with its "
    "quorum; 422 naming the entry when a proxy breaks the body's rules, or secretary_id",
    body=AttendanceIn,
    response=MeetingDetailOut,
)
def set_attendance(meeting_id: int) -> Response:
    found = services.get_meeting(meeting_id)
    data = parse_body(AttendanceIn)
    services.set_attendance(found, [e.entry() for e in data.entries], data.secretary())
    db.session.commit()
    return jsonify(meeting_json(found))


@bp.route("/meetings/<int:meeting_id>/votes", methods=["POST"])
@requires(Permission.GOVERNANCE_EDIT)
@documented(
    "Record a vote: votes_cast = for + against (abstentions not counted), result by the body's majority "
    "rule (on a tie, chair_vote where the chair has a casting vote). 422 without quorum, or when the "
    "totals exceed the members present and represented",
    body=VoteIn,
    response=VoteOut,
    status=201,
)
def create_vote(meeting_id: int) -> tuple[Response, int]:
    found = services.get_meeting(meeting_id)
    data = parse_body(VoteIn)
    vote = services.record_vote(
        found,
        data.subject,
        data.votes_for,
        data.against,
        data.abstentions,
        agenda_item_id=data.agenda_item_id,
        chair_vote=data.chair_vote,
    )
    db.session.commit()
    return jsonify(dump(vote_out(vote))), 201


@bp.route("/meetings/<int:meeting_id>/decisions", methods=["POST"])
@requires(Permission.GOVERNANCE_EDIT)
@documented(
    "Record a decision in the body's register for the year: its number follows the last one, without "
    "gap or duplicate even when two are recorded at once; vote_id names an adopted vote of the meeting",
    body=DecisionIn,
    response=DecisionDetailOut,
    status=201,
)
def create_decision(meeting_id: int) -> tuple[Response, int]:
    found = services.get_meeting(meeting_id)
    data = parse_body(DecisionIn)
    decision = services.record_decision(found, data.text, data.vote_id)
    db.session.commit()
    response = jsonify(dump(decision_detail_out(decision, with_actions=True)))
    response.headers["Location"] = url_for("api.decision", decision_id=decision.id)
    return response, 201


# --- Decisions ---------------------------------------------------------------------------------------


@bp.route("/decisions")
@requires(Permission.SELF)  # the governance roles, and partners (scoped): reading.decision_scope()
@documented(
    "The decision register, latest first (a partner: the decisions of its bodies whose minutes are "
    "published). Filters: body_id, year, q (words of the text or the reference); page and per_page (at "
    "most 200)",
    response=DecisionPageOut,
    query=(*DECISION_FILTERS, *PAGE_PARAMS),
)
def decisions() -> Response:
    args = QueryArgs(request.args, (*DECISION_FILTERS, *PAGE_PARAMS))
    body_id = args.positive_int("body_id")
    year = args.positive_int("year", 9999)
    query = args.text("q")
    page = args.page()
    args.check()
    _reads_decisions()
    stmt = services.search_decisions(query, body_id).where(*reading.decision_scope(current_user))
    if year is not None:
        stmt = stmt.where(Decision.year == year)
    total = _count(stmt, Decision.id)
    rows = db.session.scalars(stmt.order_by(Decision.id.desc()).limit(page.per_page).offset(page.offset))
    return jsonify(page.envelope([dump(decision_out(d)) for d in rows], total))


@bp.route("/decisions/<int:decision_id>")
@requires(Permission.SELF)  # as GET /decisions
@documented(
    "One decision with its vote and action items (action_items is null for a partner, who does not "
    "follow them); 404 when the user may not read it",
    response=DecisionDetailOut,
)
def decision(decision_id: int) -> Response:
    _reads_decisions()
    found = db.session.get(Decision, decision_id)
    if found is None or not reading.decision_readable(current_user, found):
        raise NotFound(_("No such decision."))
    return jsonify(dump(decision_detail_out(found, with_actions=reading.reads_governance(current_user))))


# --- Action items ------------------------------------------------------------------------------------


@bp.route("/action-items")
@requires(Permission.GOVERNANCE_VIEW)
@documented(
    "Action items, soonest due first (those without a due date last). Filters: status "
    "(open|in_progress|done|cancelled), body_id; page and per_page (at most 200)",
    response=ActionItemPageOut,
    query=(*ACTION_FILTERS, *PAGE_PARAMS),
)
def action_items() -> Response:
    args = QueryArgs(request.args, (*ACTION_FILTERS, *PAGE_PARAMS))
    status = args.choice("status", [s.value for s in ActionStatus])
    body_id = args.positive_int("body_id")
    page = args.page()
    args.check()
    stmt = sa.select(ActionItem)
    if status is not None:
        stmt = stmt.where(ActionItem.status == ActionStatus(status))
    if body_id is not None:
        stmt = stmt.where(ActionItem.body_id == body_id)
    total = _count(stmt, ActionItem.id)
    rows = db.session.scalars(
        stmt.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
        .limit(page.per_page)
        .offset(page.offset)
    )
    return jsonify(page.envelope([dump(action_item_out(a)) for a in rows], total))
