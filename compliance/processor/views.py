"""The processor-file pages: every partner's file at a glance for the DPO and the auditor, and a partner's
file (its DPO and their history, its referents for the digital services, the staff authorised on a chosen
day, its sub-processors) with the forms that keep it.

Views parse the forms, call one service, commit once and redirect with a message; on bad input they roll
back and show the page again with the errors next to the fields and what was typed (422).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from compliance.processor import overview, services
from compliance.processor.forms import (
    SCOPE_LABELS,
    WARNING_LABELS,
    DpoForm,
    EndSubProcessorForm,
    GrantForm,
    RevokeForm,
    SubProcessorForm,
    given,
)
from compliance.processor.models import StaffGrant, SubProcessor
from vigie.auth.access import can, get_in_org_or_404, reaches_all_organisations, requires
from vigie.auth.roles import Permission
from vigie.errors import DomainError, Forbidden
from vigie.extensions import db
from vigie.formerrors import attach_errors
from vigie.orgs.models import Organisation
from vigie.orgs.services import partner_or_404

bp = Blueprint("processor", __name__, url_prefix="/processor")

Result = Response | str | tuple[str, int]


def labels() -> dict[str, Any]:
    return {"scope_labels": SCOPE_LABELS, "warning_labels": WARNING_LABELS}


def _grant_of(organisation: Organisation, grant_id: int) -> StaffGrant:
    grant = get_in_org_or_404(StaffGrant, grant_id, Permission.COMPLIANCE_EDIT)
    if grant.organisation_id != organisation.id:
        abort(404)
    return grant


def _sub_processor_of(organisation: Organisation, sub_processor_id: int) -> SubProcessor:
    sub = get_in_org_or_404(SubProcessor, sub_processor_id, Permission.COMPLIANCE_EDIT)
    if sub.organisation_id != organisation.id:
        abort(404)
    return sub


# --- every partner's file ---------------------------------------------------------------------------


@bp.route("/")
@requires(Permission.COMPLIANCE_VIEW)
def index() -> Result:
    """Every partner's file for the DPO and the auditor; a partner goes to its own file."""
    if not reaches_all_organisations(current_user, Permission.COMPLIANCE_VIEW):
        return redirect(url_for("processor.show", org_id=current_user.organisation_id))
    day = services.today()
    return render_template("processor/index.html", files=overview.partner_files(day), day=day)


# --- a partner's file ---------------------------------------------------------------------------------


def _default_forms() -> dict[str, FlaskForm]:
    today = services.today()
    return {
        "dpo": DpoForm(formdata=None, prefix="dpo"),
        "grant": GrantForm(
            formdata=None, prefix="grant", data={"granted_on": today, "scope": ["registrations"]}
        ),
        "sub": SubProcessorForm(formdata=None, prefix="sub"),
    }


def _revoke_form(grant: StaffGrant, formdata: bool = False) -> RevokeForm:
    prefix = f"revoke-{grant.id}"
    if formdata:
        return RevokeForm(prefix=prefix)
    return RevokeForm(formdata=None, prefix=prefix, data={"revoked_on": services.today()})


def _end_form(sub: SubProcessor, formdata: bool = False) -> EndSubProcessorForm:
    prefix = f"end-{sub.id}"
    if formdata:
        return EndSubProcessorForm(prefix=prefix)
    return EndSubProcessorForm(formdata=None, prefix=prefix, data={"ended_on": services.today()})


def _chosen_day() -> tuple[date, str | None, str | None]:
    """The day of the staff list (`?on=YYYY-MM-DD`, today in Paris by default); a day that cannot be
    read gives an error and no list: a list that ignored it would look like an answer."""
    raw = (request.args.get("on") or "").strip()
    if not raw:
        return services.today(), None, None
    try:
        return date.fromisoformat(raw), raw, None
    except ValueError:
        return services.today(), raw, _("“%(value)s” is not a date: give it as YYYY-MM-DD.", value=raw)


def _render_show(
    organisation: Organisation,
    forms: dict[str, FlaskForm] | None = None,
    messages: list[str] | None = None,
    section: str | None = None,
    status: int = 200,
    revoke_forms: dict[int, RevokeForm] | None = None,
    end_forms: dict[int, EndSubProcessorForm] | None = None,
) -> tuple[str, int]:
    page_forms = _default_forms()
    page_forms.update(forms or {})
    day, typed_day, day_error = _chosen_day()
    today = services.today()
    staff = [] if day_error else services.staff_on(organisation.id, day)
    may_edit = can(current_user, Permission.COMPLIANCE_EDIT, organisation.id)
    revocable = {g.id: _revoke_form(g) for g in staff if g.revoked_on is None} if may_edit else {}
    revocable.update(revoke_forms or {})
    subs = services.sub_processors_of(organisation.id)
    endable = {s.id: _end_form(s) for s in subs} if may_edit else {}
    endable.update(end_forms or {})
    dpos = overview.dpo_history(organisation.id)
    current = next((d for d in dpos if d.until is None), None)
    context = {
        **labels(),
        "org": organisation,
        "dpo": current,
        "dpo_history": [d for d in dpos if d is not current],
        "referents": overview.digital_referents(organisation.id),
        "day": day,
        "today": today,
        "typed_day": typed_day,
        "day_error": day_error,
        "staff": staff,
        "sub_processors": subs,
        "ended_sub_processors": services.ended_sub_processors_of(organisation.id),
        "forms": page_forms,
        "revoke_forms": revocable,
        "end_forms": endable,
        "messages": messages or [],
        "error_section": section,
        "may_edit": may_edit,
        "sees_every_file": reaches_all_organisations(current_user, Permission.COMPLIANCE_VIEW),
    }
    if day_error and status == 200:
        status = 400
    return render_template("processor/show.html", **context), status


@bp.route("/<int:org_id>")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
def show(org_id: int) -> tuple[str, int]:
    return _render_show(partner_or_404(org_id))


def _act(
    organisation: Organisation,
    key: str,
    form: FlaskForm,
    perform: Callable[[], str],
    section: str,
    revoke_forms: dict[int, RevokeForm] | None = None,
    end_forms: dict[int, EndSubProcessorForm] | None = None,
) -> Result:
    """Validate the form, call the service, commit and come back with a message; on an error, roll back
    and show the page again with the form as typed and its errors."""
    forms = {key: form} if key else {}

    def again(messages: list[str], status: int) -> tuple[str, int]:
        return _render_show(organisation, forms, messages, section, status, revoke_forms, end_forms)

    if not form.validate():
        db.session.rollback()
        return again([], 422)
    try:
        message = perform()
    except Forbidden:
        raise  # the error page (403), rolled back by the handler
    except DomainError as err:
        db.session.rollback()
        return again(attach_errors(form, err), err.status)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("processor.show", org_id=organisation.id, _anchor=section))


@bp.route("/<int:org_id>/dpo", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def set_dpo(org_id: int) -> Result:
    organisation = partner_or_404(org_id)
    form = DpoForm(prefix="dpo")

    def perform() -> str:
        dpo = services.set_dpo(
            current_user,
            organisation,
            (form.name.data or "").strip(),
            (form.email.data or "").strip(),
            phone=form.phone.data,
            address=form.address.data,
            cnil_designation=form.cnil_designation.data,
            since=form.since.data,
        )
        return _(
            "%(name)s is recorded as the data protection officer of %(org)s.",
            name=dpo.name,
            org=organisation.name,
        )

    return _act(organisation, "dpo", form, perform, "dpo")


@bp.route("/<int:org_id>/staff", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def grant_staff(org_id: int) -> Result:
    organisation = partner_or_404(org_id)
    form = GrantForm(prefix="grant")

    def perform() -> str:
        grant = services.grant_staff(current_user, organisation, form.data_for_service())
        return _("%(name)s is authorised to see personal data.", name=grant.name)

    return _act(organisation, "grant", form, perform, "staff")


@bp.route("/<int:org_id>/staff/<int:grant_id>/revoke", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def revoke_staff(org_id: int, grant_id: int) -> Result:
    organisation = partner_or_404(org_id)
    grant = _grant_of(organisation, grant_id)
    form = _revoke_form(grant, formdata=True)

    def perform() -> str:
        revoked_on = given(form.revoked_on.data)
        services.revoke_staff(current_user, grant, revoked_on, form.reason.data or "")
        return _(
            "The authorisation of %(name)s ends on %(day)s.",
            name=grant.name,
            day=format_date(revoked_on, "long"),
        )

    return _act(organisation, "", form, perform, "staff", revoke_forms={grant.id: form})


@bp.route("/<int:org_id>/sub-processors", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def add_sub_processor(org_id: int) -> Result:
    organisation = partner_or_404(org_id)
    form = SubProcessorForm(prefix="sub")

    def perform() -> str:
        sub = services.add_sub_processor(current_user, organisation, form.data_for_service())
        return _("Sub-processor %(company)s added.", company=sub.company)

    return _act(organisation, "sub", form, perform, "sub-processors")


def _render_edit(
    organisation: Organisation, sub: SubProcessor, form: SubProcessorForm, status: int, messages: list[str]
) -> tuple[str, int]:
    return (
        render_template(
            "processor/sub_processor_form.html", org=organisation, sub=sub, form=form, messages=messages
        ),
        status,
    )


@bp.route("/<int:org_id>/sub-processors/<int:sub_processor_id>/edit", methods=["GET", "POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def edit_sub_processor(org_id: int, sub_processor_id: int) -> Result:
    organisation = partner_or_404(org_id)
    sub = _sub_processor_of(organisation, sub_processor_id)
    if sub.ended_on is not None:
        flash(_("This sub-processor has ended: it can no longer be changed."), "error")
        return redirect(url_for("processor.show", org_id=organisation.id, _anchor="sub-processors"))
    if request.method == "GET":
        return _render_edit(organisation, sub, SubProcessorForm(obj=sub), 200, [])
    form = SubProcessorForm()
    if not form.validate():
        return _render_edit(organisation, sub, form, 422, [])
    try:
        services.update_sub_processor(current_user, sub, form.data_for_service())
    except Forbidden:
        raise
    except DomainError as err:
        db.session.rollback()
        return _render_edit(organisation, sub, form, err.status, attach_errors(form, err))
    db.session.commit()
    flash(_("Sub-processor %(company)s updated.", company=sub.company), "success")
    return redirect(url_for("processor.show", org_id=organisation.id, _anchor="sub-processors"))


@bp.route("/<int:org_id>/sub-processors/<int:sub_processor_id>/end", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
def end_sub_processor(org_id: int, sub_processor_id: int) -> Result:
    organisation = partner_or_404(org_id)
    sub = _sub_processor_of(organisation, sub_processor_id)
    form = _end_form(sub, formdata=True)

    def perform() -> str:
        services.end_sub_processor(current_user, sub, given(form.ended_on.data))
        return _("Sub-processor %(company)s ended.", company=sub.company)

    return _act(organisation, "", form, perform, "sub-processors", end_forms={sub.id: form})
