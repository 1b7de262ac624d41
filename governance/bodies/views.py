"""Governance pages: home, bodies, meetings, attendance, votes, decisions, action items, minutes.

Views parse the forms, call one service, commit once and redirect with a message; on a domain error they
roll back and show the page again with the errors next to the fields and what was typed.

Who sees what: the committee edits; the legal service and the auditor read (GOVERNANCE_VIEW). A partner
holds no governance permission but reads the PUBLISHED minutes and the decisions of the bodies its
organisation sits in: the few pages concerned are open to every signed-in user (Permission.SELF) and
check the reader with governance.bodies.reading; any other record is absent (404).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as sa_orm
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from governance.bodies import reading, services
from governance.bodies.forms import (
    ACTION_LABELS,
    ATTENDANCE_LABELS,
    DUTY_LABELS,
    MAJORITY_LABELS,
    MINUTES_LABELS,
    QUORUM_LABELS,
    ROLE_LABELS,
    ActionForm,
    ActionStatusForm,
    AgendaItemForm,
    ApproveMinutesForm,
    BodyForm,
    CirculationForm,
    DecisionForm,
    DocumentForm,
    EndMembershipForm,
    MeetingForm,
    MemberForm,
    MinutesForm,
    RulesForm,
    VoteForm,
    choices,
)
from governance.bodies.markdown import render_markdown
from governance.bodies.models import (
    ActionItem,
    ActionStatus,
    AttendanceStatus,
    Body,
    BodyMember,
    Circulation,
    Decision,
    Meeting,
    MeetingDocument,
    Minutes,
    MinutesStatus,
)
from vigie import storage
from vigie.auth.access import can, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.models import Deadline, DeadlineState
from vigie.deadlines.status import STATUS_LABELS, status_of
from vigie.errors import DomainError, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation
from vigie.timeutil import to_paris

T = TypeVar("T")
bp = Blueprint("governance", __name__, url_prefix="/governance")

VIEW = Permission.GOVERNANCE_VIEW
EDIT = Permission.GOVERNANCE_EDIT
PAGE_SIZE = 25
RECENT_DECISION_DAYS = 92  # "the decisions of the last months" on the home page
Result = Response | str | tuple[str, int]


def labels() -> dict[str, Any]:
    return {
        "quorum_labels": QUORUM_LABELS,
        "majority_labels": MAJORITY_LABELS,
        "role_labels": ROLE_LABELS,
        "attendance_labels": ATTENDANCE_LABELS,
        "minutes_labels": MINUTES_LABELS,
        "action_labels": ACTION_LABELS,
        "duty_labels": DUTY_LABELS,
        "deadline_labels": STATUS_LABELS,
    }


def export_url(endpoint: str, **values: Any) -> str | None:
    """A link to the exports blueprint (PDF, ICS), or None while the endpoint does not exist."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _attach(form: FlaskForm, err: DomainError, aliases: dict[str, str] | None = None) -> list[str]:
    """Put a service's field errors next to their fields; return the messages for the top of the page:
    the service's sentence first (it says what rule was broken), then those that belong to no field."""
    messages = [err.message]
    for name, message in err.fields.items():
        target = (aliases or {}).get(name, name)
        if target in form:
            form[target].errors = [*form[target].errors, message]
        elif message != err.message:
            messages.append(message)
    return messages


# --- loading -----------------------------------------------------------------------------------------


def load_body(body_id: int) -> Body:
    return db.get_or_404(Body, body_id)


def load_meeting(meeting_id: int) -> Meeting:
    return db.get_or_404(Meeting, meeting_id)


def organisation_choices(empty: str) -> list[SelectChoice]:
    organisations = db.session.scalars(
        sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    )
    return choices([("", empty), *((o.id, o.name) for o in organisations)])


def _given(value: T | None) -> T:
    """A value its form's validators require (InputRequired): present once the form is valid."""
    if value is None:
        raise ValidationFailed(_("Some information is invalid."))
    return value


def paris_day(value: datetime) -> date:
    return to_paris(value).date()


# --- the operations the services do not offer yet (see the report: they belong in services.py) ------


def update_rules(body: Body, form: RulesForm) -> Body:
    """Change a body's rules (the form has checked each value against the rule enums)."""
    body.missions = (form.missions.data or "").strip() or None
    body.quorum_rule = services.QuorumRule(form.quorum_rule.data)
    body.majority_rule = services.MajorityRule(form.majority_rule.data)
    body.max_proxies_per_holder = int(form.max_proxies_per_holder.data or 0)
    body.chair_casting_vote = bool(form.chair_casting_vote.data)
    duty = form.yearly_duty.data
    if duty is not None and duty not in services.YEARLY_DUTIES:
        raise ValidationFailed(_("Unknown yearly duty."), {"yearly_duty": _("Unknown yearly duty.")})
    body.yearly_duty = duty
    db.session.flush()
    return body


def attach_document(meeting: Meeting, filename: str, content: bytes) -> MeetingDocument:
    """Store a document (encrypted, size- and type-checked by vigie.storage) and attach it."""
    stored = storage.store(filename, content)
    document = MeetingDocument(
        meeting_id=meeting.id,
        storage_key=stored.key,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        uploaded_at=utcnow(),
    )
    db.session.add(document)
    db.session.flush()
    return document


# --- home --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    code: str
    label: str
    year: int
    last_day: date  # 31 December (Paris): the duty's due date
    deadline: Deadline | None  # None until a meeting (or `ensure_yearly_duty`) opens the year's clock
    status: str | None  # vigie.deadlines.status word
    status_label: str | None


def _duty(code: str, year: int, deadline: Deadline | None, now: datetime) -> Duty:
    status = status_of(deadline, now) if deadline is not None else None
    return Duty(
        code=code,
        label=str(DUTY_LABELS[code]),
        year=year,
        last_day=date(year, 12, 31),
        deadline=deadline,
        status=status.value if status is not None else None,
        status_label=str(STATUS_LABELS[status]) if status is not None else None,
    )


def duties_of_year(year: int, now: datetime) -> list[Duty]:
    """The yearly duties (art. 8): this year's, and any earlier year's still unmet (overdue)."""
    codes = {kind: code for code, kind in services.YEARLY_DUTIES.items()}
    rows = db.session.scalars(
        sa.select(Deadline)
        .where(
            Deadline.kind.in_(codes),
            Deadline.subject_type == "governance_year",
            sa.or_(
                Deadline.subject_id == year,
                sa.and_(Deadline.subject_id < year, Deadline.state == DeadlineState.OPEN),
            ),
        )
        .order_by(Deadline.subject_id, Deadline.id)
    ).all()
    this_year = {d.kind: d for d in rows if d.subject_id == year}
    earlier = [_duty(codes[d.kind], d.subject_id or year, d, now) for d in rows if d.subject_id != year]
    return earlier + [
        _duty(code, year, this_year.get(kind), now) for code, kind in services.YEARLY_DUTIES.items()
    ]


@bp.route("/")
@requires(VIEW)
def index() -> str:
    now = utcnow()
    upcoming = db.session.scalars(
        sa.select(Meeting)
        .where(Meeting.starts_at >= now - timedelta(hours=12), Meeting.cancelled_at.is_(None))
        .order_by(Meeting.starts_at)
        .limit(10)
    ).all()
    past = db.session.scalars(
        sa.select(Meeting)
        .where(Meeting.starts_at < now - timedelta(hours=12))
        .order_by(Meeting.starts_at.desc())
        .limit(5)
    ).all()
    open_actions = db.session.scalars(
        sa.select(ActionItem)
        .where(ActionItem.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]))
        .order_by(ActionItem.owner, ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
        .options(sa_orm.selectinload(ActionItem.decision))  # the list links each one's decision
    ).all()
    by_owner = [(owner, list(items)) for owner, items in itertools.groupby(open_actions, lambda a: a.owner)]
    recent = db.session.scalars(
        services.search_decisions()
        .where(Decision.decided_at >= now - timedelta(days=RECENT_DECISION_DAYS))
        .limit(20)
    ).all()
    bodies = {b.id: b for b in db.session.scalars(sa.select(Body))}
    return render_template(
        "governance/index.html",
        **labels(),
        now=now,
        today=paris_day(now),
        upcoming=upcoming,
        past=past,
        by_owner=by_owner,
        bodies=bodies,
        recent=recent,
        recent_days=RECENT_DECISION_DAYS,
        duties=duties_of_year(paris_day(now).year, now),
        may_edit=can(current_user, EDIT),
    )


# --- bodies ------------------------------------------------------------------------------------------


@bp.route("/bodies")
@requires(VIEW)
def bodies() -> str:
    rows = db.session.scalars(sa.select(Body).order_by(Body.active.desc(), Body.name)).all()
    today = paris_day(utcnow())
    return render_template(
        "governance/bodies.html",
        **labels(),
        bodies=rows,
        in_office={b.id: len(services.members_in_office(b, today)) for b in rows},
        may_edit=can(current_user, EDIT),
    )


def _render_body_form(
    form: FlaskForm, body: Body | None, status: int, messages: list[str] | None = None
) -> Result:
    return render_template(
        "governance/body_form.html", **labels(), form=form, body=body, messages=messages or []
    ), status


@bp.route("/bodies/new", methods=["GET", "POST"])
@requires(EDIT)
def create_body() -> Result:
    form = BodyForm()
    if not form.validate_on_submit():
        return _render_body_form(form, None, 422 if form.errors else 200)
    try:
        body = services.create_body(
            name=form.name.data or "",
            members=[],
            code=form.code.data,
            missions=form.missions.data,
            quorum_rule=form.quorum_rule.data or "",
            majority_rule=form.majority_rule.data or "",
            max_proxies_per_holder=int(form.max_proxies_per_holder.data or 0),
            chair_casting_vote=bool(form.chair_casting_vote.data),
            yearly_duty=form.yearly_duty.data,
        )
    except DomainError as err:
        db.session.rollback()
        return _render_body_form(form, None, err.status, _attach(form, err, {"rules": "quorum_rule"}))
    db.session.commit()
    flash(_("Body %(name)s created: add its members.", name=body.name), "success")
    return redirect(url_for("governance.body", body_id=body.id))


@bp.route("/bodies/<int:body_id>/rules", methods=["GET", "POST"])
@requires(EDIT)
def edit_rules(body_id: int) -> Result:
    body = load_body(body_id)
    form = RulesForm(obj=body if request.method == "GET" else None)
    if request.method == "GET":
        form.quorum_rule.data = body.quorum_rule.value
        form.majority_rule.data = body.majority_rule.value
        form.yearly_duty.data = body.yearly_duty
    if not form.validate_on_submit():
        return _render_body_form(form, body, 422 if form.errors else 200)
    try:
        update_rules(body, form)
    except DomainError as err:
        db.session.rollback()
        return _render_body_form(form, load_body(body_id), err.status, _attach(form, err))
    db.session.commit()
    flash(_("The rules of %(name)s are saved.", name=body.name), "success")
    return redirect(url_for("governance.body", body_id=body.id))


def _member_form(formdata: bool = False) -> MemberForm:
    form = MemberForm(prefix="member") if formdata else MemberForm(formdata=None, prefix="member")
    form.organisation_id.choices = organisation_choices(_("(none)"))
    return form


def _render_body(
    body: Body,
    member_form: MemberForm | None = None,
    end_forms: dict[int, EndMembershipForm] | None = None,
    messages: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    today = paris_day(utcnow())
    meetings = db.session.scalars(
        sa.select(Meeting).where(Meeting.body_id == body.id).order_by(Meeting.starts_at.desc())
    ).all()
    decisions = db.session.scalars(services.search_decisions(body_id=body.id).limit(50)).all()
    forms = {m.id: EndMembershipForm(formdata=None, prefix=f"end-{m.id}") for m in body.members}
    forms.update(end_forms or {})
    return render_template(
        "governance/body.html",
        **labels(),
        body=body,
        today=today,
        members=body.members,
        meetings=meetings,
        decisions=decisions,
        member_form=member_form or _member_form(),
        end_forms=forms,
        messages=messages or [],
        may_edit=can(current_user, EDIT),
    ), status


@bp.route("/bodies/<int:body_id>")
@requires(VIEW)
def body(body_id: int) -> tuple[str, int]:
    return _render_body(load_body(body_id))


@bp.route("/bodies/<int:body_id>/members", methods=["POST"])
@requires(EDIT)
def add_member(body_id: int) -> Result:
    body = load_body(body_id)
    form = _member_form(formdata=True)
    if not form.validate():
        return _render_body(body, member_form=form, status=422)
    data = services.MemberData(
        name=form.name.data or "",
        organisation_id=form.organisation_id.data,
        email=form.email.data,
        role=form.role.data or "member",
        statutory=bool(form.statutory.data),
        since=form.since.data,
    )
    try:
        member = services.add_member(body, data, field="member")
    except DomainError as err:
        db.session.rollback()
        messages = _attach(form, err, {f"member.{k}": k for k in ("name", "organisation_id", "role")})
        return _render_body(load_body(body_id), member_form=form, messages=messages, status=err.status)
    db.session.commit()
    flash(_("%(name)s is a member of %(body)s.", name=member.name, body=body.name), "success")
    return redirect(url_for("governance.body", body_id=body.id, _anchor="members"))


@bp.route("/bodies/<int:body_id>/members/<int:member_id>/end", methods=["POST"])
@requires(EDIT)
def end_membership(body_id: int, member_id: int) -> Result:
    body = load_body(body_id)
    member = db.session.get(BodyMember, member_id)
    if member is None or member.body_id != body.id:
        abort(404)
    form = EndMembershipForm(prefix=f"end-{member.id}")
    if not form.validate():
        return _render_body(body, end_forms={member.id: form}, status=422)
    try:
        services.end_membership(member, form.until.data or date.min)
    except DomainError as err:
        db.session.rollback()
        messages = _attach(form, err)
        return _render_body(
            load_body(body_id), end_forms={member.id: form}, messages=messages, status=err.status
        )
    db.session.commit()
    flash(_("The membership of %(name)s ends on the day given.", name=member.name), "success")
    return redirect(url_for("governance.body", body_id=body.id, _anchor="members"))


# --- meetings ----------------------------------------------------------------------------------------


def _render_meeting_form(
    form: MeetingForm, body: Body, status: int, messages: list[str] | None = None
) -> Result:
    return render_template(
        "governance/meeting_form.html", **labels(), form=form, body=body, messages=messages or []
    ), status


@bp.route("/bodies/<int:body_id>/meetings/new", methods=["GET", "POST"])
@requires(EDIT)
def create_meeting(body_id: int) -> Result:
    body = load_body(body_id)
    form = MeetingForm()
    if not form.validate_on_submit():
        return _render_meeting_form(form, body, 422 if form.errors else 200)
    try:
        meeting = services.create_meeting(
            body,
            starts_at=_given(form.starts_at.data),
            place=form.place.data,
            video_link=form.video_link.data,
            title=form.title.data,
            agenda=(form.agenda.data or "").splitlines(),
            ends_at=form.ends_at.data,
            fulfils_duty=form.fulfils_duty.data,
        )
    except DomainError as err:
        db.session.rollback()
        return _render_meeting_form(form, load_body(body_id), err.status, _attach(form, err))
    db.session.commit()
    flash(_("Meeting created."), "success")
    return redirect(url_for("governance.meeting", meeting_id=meeting.id))


@dataclass
class AttendanceRow:
    member: BodyMember
    status: str  # "" when not recorded
    holder_id: int | None
    error: str | None = None
    holder_error: str | None = None


def _attendance_rows(
    meeting: Meeting, in_office: list[BodyMember], typed: dict[int, tuple[str, str]] | None = None
) -> list[AttendanceRow]:
    recorded = {a.member_id: a for a in meeting.attendance}
    rows = []
    for member in in_office:
        if typed is not None:
            status, holder = typed.get(member.id, ("", ""))
            rows.append(AttendanceRow(member, status, int(holder) if holder.isdigit() else None))
        elif member.id in recorded:
            a = recorded[member.id]
            rows.append(AttendanceRow(member, a.status.value, a.proxy_holder_id))
        else:
            rows.append(AttendanceRow(member, "", None))
    return rows


def later_meetings(meeting: Meeting) -> list[Meeting]:
    """The body's later meetings: where these minutes may be approved."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(Meeting.body_id == meeting.body_id, Meeting.starts_at > meeting.starts_at)
            .order_by(Meeting.starts_at)
        )
    )


def meeting_decisions(meeting: Meeting) -> list[Decision]:
    return list(
        db.session.scalars(
            sa.select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.number)
        )
    )


MEETING_FORMS: dict[str, type[FlaskForm]] = {
    "agenda": AgendaItemForm,
    "document": DocumentForm,
    "vote": VoteForm,
    "decision": DecisionForm,
    "action": ActionForm,
    "circulation": CirculationForm,
    "minutes": MinutesForm,
    "approve": ApproveMinutesForm,
}


def _meeting_forms(meeting: Meeting, posted: str | None = None) -> dict[str, Any]:
    """The forms of the meeting's page (each with its key as prefix), blank but for the one `posted`,
    which reads the request; the choices come from the meeting's records."""
    forms: dict[str, Any] = {}
    for key, cls in MEETING_FORMS.items():
        if key == posted:
            forms[key] = cls(prefix=key)
        elif key == "minutes":
            minutes = reading.minutes_of(meeting)
            text = minutes.current.text if minutes is not None and minutes.current else ""
            forms[key] = cls(formdata=None, prefix=key, data={"text": text})
        else:
            forms[key] = cls(formdata=None, prefix=key)
    none = _("(none)")
    forms["vote"].agenda_item_id.choices = choices(
        [("", none), *((i.id, f"{i.position}. {i.title}") for i in meeting.agenda)]
    )
    forms["decision"].vote_id.choices = choices(
        [("", _("(no vote)")), *((v.id, v.subject) for v in meeting.votes if v.adopted)]
    )
    forms["action"].owner_organisation_id.choices = organisation_choices(none)
    forms["action"].decision_id.choices = choices(
        [("", none), *((d.id, d.reference) for d in meeting_decisions(meeting))]
    )
    forms["approve"].at_meeting_id.choices = choices(
        (m.id, to_paris(m.starts_at).strftime("%d/%m/%Y %H:%M") + (f" — {m.title}" if m.title else ""))
        for m in later_meetings(meeting)
    )
    return forms


def _action_status_form(item: ActionItem, formdata: bool = False) -> ActionStatusForm:
    if formdata:
        return ActionStatusForm(prefix=f"action-{item.id}")
    return ActionStatusForm(formdata=None, prefix=f"action-{item.id}", data={"status": item.status.value})


def _meeting_actions(meeting: Meeting, decisions: list[Decision]) -> list[ActionItem]:
    """The actions this meeting decided, and the body's actions still open (a meeting reviews them)."""
    ids = [d.id for d in decisions]
    return list(
        db.session.scalars(
            sa.select(ActionItem)
            .where(
                ActionItem.body_id == meeting.body_id,
                sa.or_(
                    ActionItem.decision_id.in_(ids) if ids else sa.false(),
                    ActionItem.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
                ),
            )
            .order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)
        )
    )


def _render_meeting(
    meeting: Meeting,
    forms: dict[str, Any] | None = None,
    messages: list[str] | None = None,
    section: str | None = None,
    status: int = 200,
    typed_attendance: dict[int, tuple[str, str]] | None = None,
    attendance_errors: dict[int, dict[str, str]] | None = None,
    status_forms: dict[int, ActionStatusForm] | None = None,
    typed_secretary: str | None = None,
    secretary_error: str | None = None,
) -> tuple[str, int]:
    now = utcnow()
    minutes = reading.minutes_of(meeting)
    page_forms = forms if forms is not None else _meeting_forms(meeting)
    day = services.meeting_day(meeting)
    in_office = services.members_in_office(meeting.body, day)
    rows = _attendance_rows(meeting, in_office, typed_attendance)
    for row in rows:
        errs = (attendance_errors or {}).get(row.member.id, {})
        row.error = errs.get("status") or errs.get("member_id")
        row.holder_error = errs.get("proxy_holder_id")
    decisions = meeting_decisions(meeting)
    actions = _meeting_actions(meeting, decisions)
    action_forms = {a.id: _action_status_form(a) for a in actions}
    action_forms.update(status_forms or {})
    documents = db.session.scalars(
        sa.select(MeetingDocument)
        .where(MeetingDocument.meeting_id == meeting.id)
        .order_by(MeetingDocument.id)
    ).all()
    circulations = db.session.scalars(
        sa.select(Circulation).where(Circulation.meeting_id == meeting.id).order_by(Circulation.circulated_at)
    ).all()
    members = {m.id: m for m in meeting.body.members}
    quorum = services.quorum(meeting) if meeting.attendance else None
    context = {
        **labels(),
        "meeting": meeting,
        "body": meeting.body,
        "now": now,
        "forms": page_forms,
        "messages": messages or [],
        "error_section": section,
        "rows": rows,
        "in_office": in_office,
        "quorum": quorum,
        "voters": (quorum.present + quorum.represented) if quorum else 0,
        "decisions": decisions,
        "actions": actions,
        "action_forms": action_forms,
        "documents": documents,
        "circulations": circulations,
        "members": members,
        "secretary_value": typed_secretary.strip()
        if typed_secretary is not None
        else str(meeting.secretary_id or ""),
        "secretary_error": secretary_error,
        "minutes": minutes,
        "minutes_html": render_markdown(minutes.current.text) if minutes and minutes.current else None,
        "later_meetings": later_meetings(meeting),
        "with_email": sum(1 for m in in_office if m.email),
        "ics_url": export_url("governance_exports.meeting_ics", meeting_id=meeting.id),
        "pdf_url": export_url("governance_exports.minutes_pdf", meeting_id=meeting.id),
        "upload_mb": max(upload_limit() // (1024 * 1024), 1),
        "may_edit": can(current_user, EDIT),
    }
    return render_template("governance/meeting.html", **context), status


@bp.route("/meetings/<int:meeting_id>")
@requires(VIEW)
def meeting(meeting_id: int) -> tuple[str, int]:
    return _render_meeting(load_meeting(meeting_id))


def _back(meeting: Meeting, section: str) -> Response:
    return redirect(url_for("governance.meeting", meeting_id=meeting.id, _anchor=section))


def _act(
    meeting_id: int,
    key: str,
    perform: Callable[[Meeting, Any], str],
    section: str,
    aliases: dict[str, str] | None = None,
) -> Result:
    """Validate the posted form, call the service, commit and come back with a message; on an error,
    roll back and show the page again with the form as typed and its errors."""
    meeting = load_meeting(meeting_id)
    forms = _meeting_forms(meeting, key)
    form = forms[key]
    if not form.validate():
        return _render_meeting(meeting, forms, section=section, status=422)
    try:
        message = perform(meeting, form)
    except DomainError as err:
        db.session.rollback()
        meeting = load_meeting(meeting_id)
        messages = _attach(form, err, aliases)
        fresh = _meeting_forms(meeting)
        fresh[key] = form
        return _render_meeting(meeting, fresh, messages=messages, section=section, status=err.status)
    db.session.commit()
    flash(message, "success")
    return _back(meeting, section)


@bp.route("/meetings/<int:meeting_id>/agenda", methods=["POST"])
@requires(EDIT)
def add_agenda_item(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: AgendaItemForm) -> str:
        item = services.add_agenda_item(meeting, form.title.data or "")
        return _("Item %(n)d added to the agenda.", n=item.position)

    return _act(meeting_id, "agenda", perform, "agenda")


def upload_limit() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", storage.DEFAULT_MAX_BYTES))


@bp.route("/meetings/<int:meeting_id>/documents", methods=["POST"])
@requires(EDIT)
def upload_document(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: DocumentForm) -> str:
        upload = form.document.data
        if upload is None or not upload.filename:
            raise ValidationFailed(_("Choose a file to attach."), {"document": _("Choose a file.")})
        # One byte over the limit is enough for storage.check_upload to refuse it: never read more.
        content = upload.stream.read(upload_limit() + 1)
        document = attach_document(meeting, upload.filename, content)
        return _("%(name)s is attached to the meeting.", name=document.filename)

    return _act(meeting_id, "document", perform, "documents", {"attachment": "document"})


@bp.route("/meetings/<int:meeting_id>/documents/<int:document_id>")
@requires(VIEW)
def document(meeting_id: int, document_id: int) -> Response:
    doc = db.session.get(MeetingDocument, document_id)
    if doc is None or doc.meeting_id != meeting_id:
        abort(404)
    try:
        content = storage.read(doc.storage_key)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        io.BytesIO(content),
        mimetype=doc.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=doc.filename,
        conditional=False,
        etag=False,
        max_age=None,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/meetings/<int:meeting_id>/invitation", methods=["POST"])
@requires(EDIT)
def send_invitation(meeting_id: int) -> Response:
    meeting = load_meeting(meeting_id)
    count = services.send_invitation(meeting)
    db.session.commit()
    if count:
        flash(_("Invitation sent to %(count)d member(s), with the calendar file.", count=count), "success")
    else:
        flash(
            _("No new invitation to send: no member with an e-mail address, or all invited already."), "error"
        )
    return _back(meeting, "invitation")


def _secretary_choice(typed: str | None) -> int | services.Unchanged | None:
    """The secretary chosen in the attendance form: kept when the form sends none, none when left
    empty, and an unknown member (refused by the service) when the value is not an id."""
    if typed is None:
        return services.KEEP
    typed = typed.strip()
    if not typed:
        return None
    return int(typed) if typed.isascii() and typed.isdigit() and len(typed) <= 12 else 0


def _typed_attendance(in_office: list[BodyMember]) -> dict[int, tuple[str, str]]:
    return {
        m.id: (
            request.form.get(f"status-{m.id}", "").strip(),
            request.form.get(f"proxy-{m.id}", "").strip(),
        )
        for m in in_office
    }


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
@requires(EDIT)
def attendance(meeting_id: int) -> Result:
    meeting = load_meeting(meeting_id)
    in_office = services.members_in_office(meeting.body, services.meeting_day(meeting))
    typed = _typed_attendance(in_office)
    typed_secretary = request.form.get("secretary")
    entries: list[services.AttendanceEntry] = []
    order: list[int] = []
    for member in in_office:
        status, holder = typed[member.id]
        if not status:
            continue  # not recorded
        entries.append(services.AttendanceEntry(member.id, status, int(holder) if holder.isdigit() else None))
        order.append(member.id)
    try:
        result = services.set_attendance(meeting, entries, _secretary_choice(typed_secretary))
    except DomainError as err:
        db.session.rollback()
        meeting = load_meeting(meeting_id)
        row_errors: dict[int, dict[str, str]] = {}
        loose: list[str] = []
        for name, message in err.fields.items():
            if name == "secretary_id":
                continue  # shown next to its field
            parts = name.split(".")
            if (
                len(parts) == 3
                and parts[0] == "entries"
                and parts[1].isdigit()
                and int(parts[1]) < len(order)
            ):
                row_errors.setdefault(order[int(parts[1])], {})[parts[2]] = message
            else:
                loose.append(message)
        return _render_meeting(
            meeting,
            messages=[err.message, *loose],
            section="attendance",
            status=err.status,
            typed_attendance=typed,
            attendance_errors=row_errors,
            typed_secretary=typed_secretary,
            secretary_error=err.fields.get("secretary_id"),
        )
    db.session.commit()
    if result.reached:
        flash(
            _(
                "Attendance saved: quorum reached (%(present)d present, %(required)d required).",
                present=result.present,
                required=result.required,
            ),
            "success",
        )
    else:
        flash(
            _(
                "Attendance saved: quorum NOT reached (%(present)d present, %(required)d required).",
                present=result.present,
                required=result.required,
            ),
            "error",
        )
    return _back(meeting, "attendance")


@bp.route("/meetings/<int:meeting_id>/votes", methods=["POST"])
@requires(EDIT)
def vote(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: VoteForm) -> str:
        result = services.record_vote(
            meeting,
            subject=form.subject.data or "",
            votes_for=int(form.votes_for.data or 0),
            against=int(form.votes_against.data or 0),
            abstentions=int(form.abstentions.data or 0),
            agenda_item_id=form.agenda_item_id.data,
            chair_vote=form.chair_vote.data,
        )
        if result.adopted:
            return _("Vote recorded: adopted (%(cast)d votes cast).", cast=result.votes_cast)
        return _("Vote recorded: rejected (%(cast)d votes cast).", cast=result.votes_cast)

    aliases = {"for": "votes_for", "against": "votes_against"}
    return _act(meeting_id, "vote", perform, "votes", aliases)


@bp.route("/meetings/<int:meeting_id>/decisions", methods=["POST"])
@requires(EDIT)
def decision(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: DecisionForm) -> str:
        recorded = services.record_decision(meeting, form.text.data or "", vote_id=form.vote_id.data)
        return _("Decision %(reference)s recorded.", reference=recorded.reference)

    return _act(meeting_id, "decision", perform, "decisions")


@bp.route("/meetings/<int:meeting_id>/actions", methods=["POST"])
@requires(EDIT)
def create_action(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: ActionForm) -> str:
        linked = db.session.get(Decision, form.decision_id.data) if form.decision_id.data else None
        if linked is not None and linked.meeting_id != meeting.id:
            raise ValidationFailed(_("Not a decision of this meeting."), {"decision_id": _("Unknown.")})
        item = services.create_action_item(
            meeting.body,
            form.title.data or "",
            form.owner.data or "",
            due_date=form.due_date.data,
            decision=linked,
            owner_organisation_id=form.owner_organisation_id.data,
        )
        return _("Action “%(title)s” recorded.", title=item.title)

    return _act(meeting_id, "action", perform, "actions")


@bp.route("/actions/<int:action_id>/status", methods=["POST"])
@requires(EDIT)
def action_status(action_id: int) -> Result:
    item = db.get_or_404(ActionItem, action_id)
    back_meeting = db.session.get(Meeting, request.args.get("meeting_id", 0, type=int) or 0)
    if back_meeting is not None and back_meeting.body_id != item.body_id:
        back_meeting = None
    form = _action_status_form(item, formdata=True)
    try:
        if not form.validate():
            raise ValidationFailed(_("Some information is invalid."), {})
        services.set_action_status(item, form.status.data or "", form.notes.data)
    except DomainError as err:
        db.session.rollback()
        item = db.get_or_404(ActionItem, action_id)
        messages = _attach(form, err)
        if back_meeting is not None:
            meeting = load_meeting(back_meeting.id)
            return _render_meeting(
                meeting, messages=messages, section="actions", status=err.status, status_forms={item.id: form}
            )
        flash(" ".join(messages), "error")
        return redirect(url_for("governance.body", body_id=item.body_id))
    db.session.commit()
    flash(_("“%(title)s”: %(status)s.", title=item.title, status=ACTION_LABELS[item.status]), "success")
    if back_meeting is not None:
        return _back(back_meeting, "actions")
    return redirect(url_for("governance.body", body_id=item.body_id))


@bp.route("/meetings/<int:meeting_id>/circulations", methods=["POST"])
@requires(EDIT)
def circulation(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: CirculationForm) -> str:
        services.record_circulation(
            meeting.body,
            _given(form.circulated_at.data),
            form.recipients.data or "",
            form.summary.data,
            meeting,
        )
        return _("The circulation of the practical actions is recorded.")

    return _act(meeting_id, "circulation", perform, "circulation")


# --- minutes -----------------------------------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/minutes", methods=["POST"])
@requires(EDIT)
def save_minutes(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: MinutesForm) -> str:
        saved = services.save_minutes(meeting, form.text.data or "")
        return _("Minutes saved (version %(n)d).", n=saved.current.number if saved.current else 0)

    return _act(meeting_id, "minutes", perform, "minutes")


def _minutes_step(meeting_id: int, step: Callable[[Meeting], Any], message: str) -> Result:
    meeting = load_meeting(meeting_id)
    try:
        step(meeting)
    except DomainError as err:
        db.session.rollback()
        return _render_meeting(
            load_meeting(meeting_id), messages=[err.message], section="minutes", status=err.status
        )
    db.session.commit()
    flash(message, "success")
    return _back(meeting, "minutes")


@bp.route("/meetings/<int:meeting_id>/minutes/submit", methods=["POST"])
@requires(EDIT)
def submit_minutes(meeting_id: int) -> Result:
    return _minutes_step(meeting_id, services.submit_minutes, _("Minutes submitted for approval."))


@bp.route("/meetings/<int:meeting_id>/minutes/approve", methods=["POST"])
@requires(EDIT)
def approve_minutes(meeting_id: int) -> Result:
    def perform(meeting: Meeting, form: ApproveMinutesForm) -> str:
        at = db.session.get(Meeting, form.at_meeting_id.data) if form.at_meeting_id.data else None
        if at is None:
            raise ValidationFailed(
                _("Choose the later meeting that approved the minutes."),
                {"approved_at_meeting_id": _("Choose a later meeting of this body.")},
            )
        services.approve_minutes(meeting, at)
        return _("Minutes approved.")

    return _act(meeting_id, "approve", perform, "minutes", {"approved_at_meeting_id": "at_meeting_id"})


@bp.route("/meetings/<int:meeting_id>/minutes/publish", methods=["POST"])
@requires(EDIT)
def publish_minutes(meeting_id: int) -> Result:
    return _minutes_step(meeting_id, services.publish_minutes, _("Minutes published."))


@bp.route("/meetings/<int:meeting_id>/minutes")
@requires(Permission.SELF)  # partners read published minutes: checked by reading.minutes_readable()
def minutes(meeting_id: int) -> str:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        abort(404)
    record = reading.minutes_of(meeting)
    if not reading.minutes_readable(current_user, meeting, record):
        abort(404)
    reader = reading.reads_governance(current_user)
    version = None
    if record is not None and record.versions:
        wanted = request.args.get("version", type=int)
        # A partner reads the published text only, never an earlier draft.
        if wanted is not None and reader:
            version = next((v for v in record.versions if v.number == wanted), None)
            if version is None:
                abort(404)
        else:
            version = record.current
    attendance = {
        status: [a for a in meeting.attendance if a.status == status] for status in AttendanceStatus
    }
    decisions = db.session.scalars(
        sa.select(Decision).where(Decision.meeting_id == meeting.id).order_by(Decision.number)
    ).all()
    approved_at = (
        db.session.get(Meeting, record.approved_at_meeting_id)
        if record and record.approved_at_meeting_id
        else None
    )
    return render_template(
        "governance/minutes.html",
        **labels(),
        meeting=meeting,
        body=meeting.body,
        record=record,
        version=version,
        html=render_markdown(version.text) if version else None,
        attendance=attendance,
        in_office=len(services.members_in_office(meeting.body, services.meeting_day(meeting))),
        decisions=decisions,
        approved_at=approved_at,
        governance_reader=reader,
        pdf_url=export_url("governance_exports.minutes_pdf", meeting_id=meeting.id),
    )


# --- the decision register ---------------------------------------------------------------------------


@bp.route("/decisions")
@requires(Permission.SELF)  # partners read their bodies' decisions: scoped by reading.decision_scope()
def decisions() -> str:
    if not reading.reads_published(current_user):
        abort(403)
    bodies_allowed = reading.readable_bodies(current_user)
    q = request.args.get("q", "").strip()
    body_id = request.args.get("body_id", type=int)
    stmt = services.search_decisions(q or None, body_id).where(*reading.decision_scope(current_user))
    minutes_stmt = (
        sa.select(Meeting)
        .join(Minutes, Minutes.meeting_id == Meeting.id)
        .where(Minutes.status == MinutesStatus.PUBLISHED)
        .order_by(Meeting.starts_at.desc())
    )
    body_stmt = sa.select(Body).order_by(Body.name)
    if bodies_allowed is not None:
        # A partner: the published minutes of its bodies only.
        minutes_stmt = minutes_stmt.where(Meeting.body_id.in_(bodies_allowed))
        body_stmt = body_stmt.where(Body.id.in_(bodies_allowed))
    if body_id is not None:
        minutes_stmt = minutes_stmt.where(Meeting.body_id == body_id)
    page = db.paginate(stmt, per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    published_ids = set(
        db.session.scalars(
            reading.published_meetings().where(Minutes.meeting_id.in_([d.meeting_id for d in page.items]))
        )
    )
    return render_template(
        "governance/decisions.html",
        **labels(),
        page=page,
        decisions=page.items,
        q=q,
        body_id=body_id,
        bodies=db.session.scalars(body_stmt).all(),
        published_minutes=db.session.scalars(minutes_stmt.limit(20)).all(),
        published_ids=published_ids,
        args=request.args,
        governance_reader=bodies_allowed is None,
    )


@bp.route("/decisions/<int:decision_id>")
@requires(Permission.SELF)  # partners read their bodies' decisions: checked by reading.decision_readable()
def decision_page(decision_id: int) -> str:
    record = db.session.get(Decision, decision_id)
    if record is None or not reading.decision_readable(current_user, record):
        abort(404)
    reader = reading.reads_governance(current_user)
    return render_template(
        "governance/decision.html",
        **labels(),
        decision=record,
        vote=record.vote,
        actions=record.actions if reader else [],
        governance_reader=reader,
        published=reading.is_published(reading.minutes_of(record.meeting)),
    )
