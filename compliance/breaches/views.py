"""Breach pages: the register, the declaration, the breach's page with its follow-up forms, and the
acknowledgement of receipt (the link of the DPO's e-mail).

Views parse the forms, call one service, commit once and redirect with a message; on a domain error
they roll back and show the page again with the errors next to the fields and what was typed (422).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from compliance.breaches import services
from compliance.breaches.forms import (
    NATURE_HINTS,
    NATURE_LABELS,
    NOTIFICATION_KIND_LABELS,
    RISK_HINTS,
    RISK_LABELS,
    AcknowledgeForm,
    ActionForm,
    ActionStatusForm,
    AssessmentForm,
    AwarenessForm,
    BreachForm,
    CloseForm,
    CommunicationForm,
    NotificationForm,
)
from compliance.breaches.models import Breach, BreachAction, BreachStatus
from compliance.breaches.register import (
    ACTION_STATUS_LABELS,
    RISK_PENDING,
    STATUS_LABELS,
    BreachFilters,
    parse_filters,
    reported_or_created,
    sees_personal_data,
    visible_breach,
    visible_breaches,
)
from vigie.auth.access import can, get_in_org_or_404, reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.database import utcnow
from vigie.deadlines.models import Deadline
from vigie.deadlines.status import remaining_text
from vigie.deadlines.views import DeadlineRow, as_row, countdown_formats
from vigie.errors import DomainError, Forbidden, ValidationFailed
from vigie.extensions import db
from vigie.formerrors import attach_errors
from vigie.orgs.models import Organisation, OrganisationKind
from vigie.timeutil import to_paris
from vigie.web import paris as _paris_text

T = TypeVar("T")
bp = Blueprint("breaches", __name__, url_prefix="/breaches")

PAGE_SIZE = 50
Result = Response | str | tuple[str, int]


# --- shared pieces -----------------------------------------------------------------------------------


def labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "risk_labels": RISK_LABELS,
        "risk_hints": RISK_HINTS,
        "nature_labels": NATURE_LABELS,
        "nature_hints": NATURE_HINTS,
        "notification_kind_labels": NOTIFICATION_KIND_LABELS,
        "action_status_labels": ACTION_STATUS_LABELS,
    }


def _given(value: T | None) -> T:
    """A value its form's validators require (InputRequired): present once the form is valid."""
    if value is None:
        raise ValidationFailed(_("Some information is invalid."))
    return value


def _delay_text(delta: timedelta | None) -> str | None:
    return remaining_text(delta) if delta is not None else None


def _cnil_deadlines(breach_ids: list[int]) -> dict[int, Deadline]:
    """The latest CNIL clock of each breach (one query for a page of the register)."""
    if not breach_ids:
        return {}
    rows = db.session.scalars(
        sa.select(Deadline)
        .where(
            Deadline.subject_type == services.SUBJECT,
            Deadline.kind == services.CNIL_KIND,
            Deadline.subject_id.in_(breach_ids),
        )
        .order_by(Deadline.id)
    )
    return {d.subject_id: d for d in rows if d.subject_id is not None}


def _load(breach_id: int, permission: Permission) -> Breach:
    """The breach, if the user may reach it with `permission`; otherwise a 404, as for a missing one.
    A draft is its partner's (and its author's) until reported: compliance.breaches.register."""
    breach = get_in_org_or_404(Breach, breach_id, permission)
    if breach.status == BreachStatus.DRAFT and visible_breach(current_user, breach.id) is None:
        abort(404)
    return breach


# --- the register ------------------------------------------------------------------------------------


def _year_choices(now: datetime) -> list[int]:
    """From this year back to the year of the first breach the user may see."""
    first = db.session.scalar(
        visible_breaches(current_user).with_only_columns(sa.func.min(reported_or_created())).order_by(None)
    )
    this_year = to_paris(now).year
    first_year = to_paris(first).year if first is not None else this_year
    return list(range(this_year, min(first_year, this_year) - 1, -1))


def _partner_choices() -> list[Organisation]:
    """The partners the user may filter or declare for (none for a partner: it has only itself)."""
    if not reaches_all_organisations(current_user, Permission.COMPLIANCE_VIEW):
        return []
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrganisationKind.PARTNER)
            .order_by(Organisation.name)
        )
    )


@dataclass(frozen=True)
class RegisterRow:
    breach: Breach
    late: bool  # reported later than the threshold after discovery
    delay: str | None  # between discovery and report
    awaiting: str | None  # elapsed since the report, while no acknowledgement
    cnil: DeadlineRow | None


def _register_row(breach: Breach, cnil: Deadline | None, now: datetime) -> RegisterRow:
    awaiting = None
    if breach.reported_to_controller_at is not None and breach.acknowledged_at is None:
        awaiting = remaining_text(now - breach.reported_to_controller_at)
    return RegisterRow(
        breach=breach,
        late=services.report_is_late(breach),
        delay=_delay_text(breach.report_delay),
        awaiting=awaiting,
        cnil=as_row(cnil, now) if cnil is not None else None,
    )


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> tuple[str, int]:
    """The register for the DPO and the auditor (every partner's reported breaches); a partner's own
    breaches, drafts included. Who sees what, and the filters, are compliance.breaches.register's."""
    now = utcnow()
    context: dict[str, Any] = {
        **labels(),
        "now": now,
        "partners": _partner_choices(),
        "years": _year_choices(now),
        "risk_pending": RISK_PENDING,
        "countdown_formats": countdown_formats(),
        "filter_errors": {},
    }
    try:
        flt = parse_filters(request.args, extra=("page",))
    except ValidationFailed as err:
        # No list: a list that silently ignored the filter would look like an answer.
        context["filter_errors"] = err.fields
        return (
            render_template(
                "breaches/index.html", flt=BreachFilters(), filtered=True, page=None, rows=[], **context
            ),
            400,
        )
    page_number = request.args.get("page", 1, type=int) or 1
    stmt = flt.apply(visible_breaches(current_user)).order_by(reported_or_created().desc(), Breach.id.desc())
    page = db.paginate(stmt, page=page_number, per_page=PAGE_SIZE, max_per_page=PAGE_SIZE, error_out=False)
    items: list[Breach] = list(page.items)
    cnil = _cnil_deadlines([b.id for b in items])
    rows = [_register_row(b, cnil.get(b.id), now) for b in items]
    filtered = bool(flt.as_args())
    return (
        render_template("breaches/index.html", flt=flt, filtered=filtered, page=page, rows=rows, **context),
        200,
    )


# --- the declaration ---------------------------------------------------------------------------------


def _render_form(
    form: BreachForm, breach: Breach | None, status: int, messages: list[str] | None = None
) -> Any:
    return (
        render_template("breaches/form.html", form=form, breach=breach, messages=messages or [], **labels()),
        status,
    )


def _wants_report() -> bool:
    return request.form.get("action") == "report"


def _report_or_keep_draft(breach: Breach, form: BreachForm) -> Result:
    """Submit a saved draft; incomplete, the draft is kept and the form shows what is missing."""
    try:
        services.submit_breach(current_user, breach)
    except ValidationFailed as err:
        # submit_breach checks before it changes anything: the draft written just before stays.
        db.session.commit()
        messages = attach_errors(form, err)
        if not messages:
            messages = [err.message]
        return _render_form(form, breach, 422, messages)
    db.session.commit()
    flash(
        _(
            "Breach %(ref)s reported to the Département. The data protection officer has been e-mailed; "
            "you will receive an acknowledgement of receipt.",
            ref=breach.reference,
        ),
        "success",
    )
    return redirect(url_for("breaches.show", breach_id=breach.id))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT)
def create() -> Result:
    form = BreachForm()
    on_behalf = reaches_all_organisations(current_user, Permission.COMPLIANCE_EDIT)
    if on_behalf:
        form.organisation_id.choices = [(org.id, org.name) for org in _partner_choices()]
    else:
        del form.organisation_id
        # A partner declares for its own organisation only: a forged organisation is refused outright.
        named = (request.form.get("organisation_id") or "").strip()
        if request.method == "POST" and named and named != str(current_user.organisation_id):
            abort(403)
    if not form.validate_on_submit():
        return _render_form(form, None, 422 if form.errors else 200)
    if on_behalf:
        organisation = db.session.get(Organisation, form.organisation_id.data)
        if organisation is None:
            abort(404)
    else:
        organisation = current_user.organisation
    try:
        breach = services.create_breach(current_user, organisation, form.data_for_service(), submit=False)
    except Forbidden:
        raise
    except DomainError as err:
        db.session.rollback()
        return _render_form(form, None, err.status, attach_errors(form, err))
    if _wants_report():
        return _report_or_keep_draft(breach, form)
    db.session.commit()
    flash(_("Draft saved. Report it to the Département as soon as you can."), "success")
    return redirect(url_for("breaches.show", breach_id=breach.id))


@bp.route("/<int:breach_id>/edit", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT)
def edit(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_EDIT)
    if breach.status != BreachStatus.DRAFT:
        flash(_("This breach has been reported already: it can no longer be edited as a draft."), "error")
        return redirect(url_for("breaches.show", breach_id=breach.id))
    form = BreachForm(obj=breach)
    del form.organisation_id  # a draft stays with its partner
    if not form.validate_on_submit():
        return _render_form(form, breach, 422 if form.errors else 200)
    try:
        services.update_draft(current_user, breach, form.data_for_service())
    except Forbidden:
        raise
    except DomainError as err:
        db.session.rollback()
        return _render_form(form, breach, err.status, attach_errors(form, err))
    if _wants_report():
        return _report_or_keep_draft(breach, form)
    db.session.commit()
    flash(_("Draft saved. Report it to the Département as soon as you can."), "success")
    return redirect(url_for("breaches.show", breach_id=breach.id))


# --- the breach's page -------------------------------------------------------------------------------


def _default_forms(breach: Breach) -> dict[str, FlaskForm]:
    assessment_data: dict[str, Any] = {}
    if breach.risk_level is not None:
        assessment_data = {"risk_level": breach.risk_level.value, "risk_reasoning": breach.risk_reasoning}
    return {
        "acknowledge": AcknowledgeForm(formdata=None, prefix="ack"),
        "awareness": AwarenessForm(formdata=None, prefix="awareness"),
        "assessment": AssessmentForm(formdata=None, prefix="assessment", data=assessment_data),
        "notification": NotificationForm(formdata=None, prefix="notification"),
        "communication": CommunicationForm(formdata=None, prefix="communication"),
        "action": ActionForm(formdata=None, prefix="action"),
        "close": CloseForm(formdata=None, prefix="close"),
    }


def _status_form(action: BreachAction, formdata: bool = False) -> ActionStatusForm:
    if formdata:
        return ActionStatusForm(prefix=f"action-{action.id}")
    return ActionStatusForm(formdata=None, prefix=f"action-{action.id}", data={"status": action.status.value})


def _breach_deadlines(breach: Breach, now: datetime) -> list[DeadlineRow]:
    rows = db.session.scalars(
        sa.select(Deadline)
        .where(Deadline.subject_type == services.SUBJECT, Deadline.subject_id == breach.id)
        .order_by(Deadline.id)
    )
    return [as_row(d, now) for d in rows]


def _render_show(
    breach: Breach,
    forms: dict[str, FlaskForm] | None = None,
    messages: list[str] | None = None,
    section: str | None = None,
    status: int = 200,
    status_forms: dict[int, ActionStatusForm] | None = None,
) -> tuple[str, int]:
    now = utcnow()
    page_forms = _default_forms(breach)
    page_forms.update(forms or {})
    action_forms = {a.id: _status_form(a) for a in breach.actions}
    action_forms.update(status_forms or {})
    deadlines = _breach_deadlines(breach, now)
    cnil = next((row for row in reversed(deadlines) if row.deadline.kind == services.CNIL_KIND), None)
    awaiting = None
    if breach.reported_to_controller_at is not None and breach.acknowledged_at is None:
        awaiting = remaining_text(now - breach.reported_to_controller_at)
    context = {
        **labels(),
        "breach": breach,
        "now": now,
        "forms": page_forms,
        "action_forms": action_forms,
        "messages": messages or [],
        "error_section": section,
        "late": services.report_is_late(breach),
        "delay": _delay_text(breach.report_delay),
        "late_threshold": remaining_text(services.late_report_threshold()),
        "awaiting": awaiting,
        "deadlines": deadlines,
        "cnil": cnil,
        "countdown_formats": countdown_formats(),
        # The auditor reviews without the personal data (compliance.breaches.register).
        "personal": sees_personal_data(current_user, breach),
        "may_edit": can(current_user, Permission.COMPLIANCE_EDIT, breach.organisation_id),
        "may_control": can(current_user, Permission.COMPLIANCE_CONTROL, breach.organisation_id),
    }
    return render_template("breaches/show.html", **context), status


@bp.route("/<int:breach_id>")
@requires(Permission.COMPLIANCE_VIEW)
def show(breach_id: int) -> tuple[str, int]:
    breach = _load(breach_id, Permission.COMPLIANCE_VIEW)
    return _render_show(breach)


def _back(breach: Breach, section: str) -> Response:
    return redirect(url_for("breaches.show", breach_id=breach.id, _anchor=section))


def _act(
    breach: Breach,
    key: str,
    form: FlaskForm,
    perform: Callable[[], str],
    section: str,
    status_forms: dict[int, ActionStatusForm] | None = None,
) -> Result:
    """Validate the form, call the service, commit and come back with a message; on an error, roll back
    and show the page again with the form as typed and its errors."""
    forms = {key: form} if key else {}
    if not form.validate():
        db.session.rollback()
        return _render_show(breach, forms, [], section, 422, status_forms)
    try:
        message = perform()
    except Forbidden:
        raise  # the error page (403), rolled back by the handler
    except DomainError as err:
        db.session.rollback()
        return _render_show(breach, forms, attach_errors(form, err), section, err.status, status_forms)
    db.session.commit()
    flash(message, "success")
    return _back(breach, section)


@bp.route("/<int:breach_id>/submit", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
def submit(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_EDIT)
    try:
        services.submit_breach(current_user, breach)
    except Forbidden:
        raise
    except DomainError as err:
        db.session.rollback()
        return _render_show(breach, None, [err.message, *err.fields.values()], "declaration", err.status)
    db.session.commit()
    flash(
        _(
            "Breach %(ref)s reported to the Département. The data protection officer has been e-mailed; "
            "you will receive an acknowledgement of receipt.",
            ref=breach.reference,
        ),
        "success",
    )
    return _back(breach, "timeline")


def _already_acknowledged(breach: Breach) -> str:
    who = breach.acknowledged_by.name if breach.acknowledged_by is not None else "—"
    return _(
        "Already acknowledged on %(at)s by %(name)s: nothing was changed.",
        at=_paris_text(breach.acknowledged_at),
        name=who,
    )


@bp.route("/<int:breach_id>/acknowledge", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def acknowledge(breach_id: int) -> Result:
    """GET: the page the DPO's e-mail links to, with the button. POST: records the acknowledgement once."""
    breach = _load(breach_id, Permission.COMPLIANCE_CONTROL)
    if request.method == "GET":
        return render_template(
            "breaches/acknowledge.html",
            breach=breach,
            form=AcknowledgeForm(formdata=None, prefix="ack"),
            **labels(),
        )
    form = AcknowledgeForm(prefix="ack")
    outcome: dict[str, bool] = {}

    def perform() -> str:
        outcome["recorded"] = services.acknowledge_breach(
            current_user, breach, form.aware_at.data, form.reason.data
        )
        if not outcome["recorded"]:
            return _already_acknowledged(breach)
        return _(
            "Receipt acknowledged; the partner has been told. The CNIL notification is due by %(due)s "
            "if the breach is a risk for the people.",
            due=_paris_text(breach.cnil_deadline_at),
        )

    return _act(breach, "acknowledge", form, perform, "timeline")


@bp.route("/<int:breach_id>/awareness", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def awareness(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_CONTROL)
    form = AwarenessForm(prefix="awareness")

    def perform() -> str:
        services.record_awareness(current_user, breach, _given(form.aware_at.data), form.reason.data or "")
        return _(
            "Awareness time corrected: the CNIL notification is due by %(due)s.",
            due=_paris_text(breach.cnil_deadline_at),
        )

    return _act(breach, "awareness", form, perform, "timeline")


@bp.route("/<int:breach_id>/assessment", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def assessment(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_CONTROL)
    form = AssessmentForm(prefix="assessment")

    def perform() -> str:
        services.assess_risk(
            current_user,
            breach,
            form.risk_level.data or "",
            form.risk_reasoning.data or "",
            form.communication_due.data,
        )
        return _("Risk assessment recorded.")

    return _act(breach, "assessment", form, perform, "assessment")


@bp.route("/<int:breach_id>/notifications", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def notifications(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_CONTROL)
    form = NotificationForm(prefix="notification")

    def perform() -> str:
        services.add_notification(
            current_user,
            breach,
            form.kind.data or "",
            _given(form.notified_at.data),
            cnil_reference=form.cnil_reference.data,
            summary=form.summary.data,
            late_reasons=form.late_reasons.data,
        )
        return _("Notification to the CNIL recorded.")

    return _act(breach, "notification", form, perform, "notifications")


@bp.route("/<int:breach_id>/communication", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def communication(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_CONTROL)
    form = CommunicationForm(prefix="communication")

    def perform() -> str:
        services.record_communication(
            current_user,
            breach,
            _given(form.informed_at.data),
            form.channel.data or "",
            form.reached.data or 0,
        )
        return _("Communication to the people affected recorded.")

    return _act(breach, "communication", form, perform, "communication")


@bp.route("/<int:breach_id>/actions", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
def actions(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_EDIT)
    form = ActionForm(prefix="action")

    def perform() -> str:
        services.add_action(
            current_user, breach, form.description.data or "", form.owner.data or "", form.due_date.data
        )
        return _("Action added to the plan.")

    return _act(breach, "action", form, perform, "actions")


@bp.route("/<int:breach_id>/actions/<int:action_id>/status", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
def action_status(breach_id: int, action_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_EDIT)
    action = db.session.get(BreachAction, action_id)
    if action is None or action.breach_id != breach.id:
        abort(404)
    form = _status_form(action, formdata=True)

    def perform() -> str:
        services.set_action_status(current_user, action, form.status.data or "")
        return _("Status of the action changed.")

    return _act(breach, "", form, perform, "actions", status_forms={action.id: form})


@bp.route("/<int:breach_id>/close", methods=["POST"])
@requires(Permission.COMPLIANCE_CONTROL)
def close(breach_id: int) -> Result:
    breach = _load(breach_id, Permission.COMPLIANCE_CONTROL)
    form = CloseForm(prefix="close")

    def perform() -> str:
        services.close_breach(current_user, breach, form.closure_summary.data or "")
        return _("Breach closed.")

    return _act(breach, "close", form, perform, "closure")
