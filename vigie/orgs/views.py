from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.auth.access import requires, scope_to_user
from vigie.auth.forms import EmptyForm
from vigie.auth.roles import Permission
from vigie.errors import DomainError
from vigie.extensions import db
from vigie.orgs import services
from vigie.orgs.forms import OrganisationForm, PersonForm
from vigie.orgs.models import Organisation, OrganisationKind, Person
from vigie.pdf import pdf_response, render_pdf

bp = Blueprint("orgs", __name__, url_prefix="/organisations")
PAGE_SIZE = 50


def _apply_errors(form: Any, err: DomainError) -> None:
    placed = False
    for field, message in err.fields.items():
        if field in form:
            form[field].errors = [*form[field].errors, message]
            placed = True
    if not placed:
        flash(err.message, "error")


def _parent_choices(itself: Organisation | None = None) -> list[tuple[Any, str]]:
    organisations = db.session.scalars(
        sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    )
    choices: list[tuple[Any, str]] = [("", _("(none)"))]
    choices += [(org.id, org.name) for org in organisations if itself is None or org.id != itself.id]
    if itself is not None and itself.parent is not None and itself.parent_id not in [c[0] for c in choices]:
        choices.append((itself.parent_id, itself.parent.name))
    return choices


@bp.route("/")
@requires(Permission.ORGS_VIEW)
def index() -> str:
    args = request.args
    flt = services.OrganisationFilter(
        q=args.get("q", ""), kind=args.get("kind", ""), status=args.get("status", "")
    )
    stmt = scope_to_user(services.organisations_query(flt), Organisation.id, Permission.ORGS_VIEW)
    page = db.paginate(stmt, per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    return render_template(
        "orgs/index.html",
        organisations=page.items,
        page=page,
        flt=flt,
        args=args,
        kinds=list(OrganisationKind),
    )


@bp.route("/<int:org_id>")
@requires(Permission.ORGS_VIEW, org_arg="org_id")
def show(org_id: int) -> str:
    org = db.get_or_404(Organisation, org_id)
    return render_template("orgs/show.html", org=org, form=EmptyForm())


@bp.route("/<int:org_id>/sheet.pdf")
@requires(Permission.ORGS_VIEW, org_arg="org_id")
def sheet(org_id: int) -> Response:
    """The organisation sheet as a PDF (or, without a converter, the printable page)."""
    org = db.get_or_404(Organisation, org_id)
    return pdf_response(render_pdf("pdf/organisation.html", org=org), f"organisation-{org.id}.pdf")


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.ORGS_MANAGE)
def create() -> Response | tuple[str, int] | str:
    form = OrganisationForm()
    form.parent_id.choices = _parent_choices()
    if form.validate_on_submit():
        try:
            org = services.create_organisation(
                name=form.name.data or "",
                kind=form.kind.data or "",
                siren=form.siren.data,
                address=form.address.data,
                computerised_libraries=bool(form.computerised_libraries.data),
                parent_id=form.parent_id.data,
            )
        except DomainError as err:
            db.session.rollback()
            _apply_errors(form, err)
            return render_template("orgs/form.html", form=form, org=None), 422
        db.session.commit()
        flash(_("Organisation %(name)s created.", name=org.name), "success")
        return redirect(url_for("orgs.show", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=None), 422 if form.errors else 200


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@requires(Permission.ORGS_MANAGE, org_arg="org_id")
def edit(org_id: int) -> Response | tuple[str, int]:
    org = db.get_or_404(Organisation, org_id)
    form = OrganisationForm(obj=org if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = org.kind.value
    form.parent_id.choices = _parent_choices(org)
    if form.validate_on_submit():
        try:
            services.update_organisation(
                org,
                name=form.name.data or "",
                kind=form.kind.data or "",
                siren=form.siren.data,
                address=form.address.data,
                computerised_libraries=bool(form.computerised_libraries.data),
                parent_id=form.parent_id.data,
            )
        except DomainError as err:
            db.session.rollback()
            _apply_errors(form, err)
            return render_template("orgs/form.html", form=form, org=org), 422
        db.session.commit()
        flash(_("Organisation %(name)s updated.", name=org.name), "success")
        return redirect(url_for("orgs.show", org_id=org.id))
    return render_template("orgs/form.html", form=form, org=org), 422 if form.errors else 200


@bp.route("/<int:org_id>/deactivate", methods=["POST"])
@requires(Permission.ORGS_MANAGE, org_arg="org_id")
def deactivate(org_id: int) -> Response:
    org = db.get_or_404(Organisation, org_id)
    if EmptyForm().validate_on_submit():
        try:
            count = services.deactivate_organisation(org, actor_id=current_user.id)
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
        else:
            db.session.commit()
            flash(
                ngettext(
                    "%(name)s is deactivated, with its %(num)d active user account.",
                    "%(name)s is deactivated, with its %(num)d active user accounts.",
                    count,
                    name=org.name,
                ),
                "success",
            )
    return redirect(url_for("orgs.show", org_id=org.id))


@bp.route("/<int:org_id>/activate", methods=["POST"])
@requires(Permission.ORGS_MANAGE, org_arg="org_id")
def activate(org_id: int) -> Response:
    org = db.get_or_404(Organisation, org_id)
    if EmptyForm().validate_on_submit():
        services.activate_organisation(org)
        db.session.commit()
        flash(
            _(
                "%(name)s is active again. Its users stay deactivated until you reactivate them.",
                name=org.name,
            ),
            "success",
        )
    return redirect(url_for("orgs.show", org_id=org.id))


# --- Contacts and referents ---


def _person_or_404(org: Organisation, person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None or person.organisation_id != org.id:
        abort(404)
    return person


@bp.route("/<int:org_id>/contacts/new", methods=["GET", "POST"])
@requires(Permission.ORGS_MANAGE, org_arg="org_id")
def add_contact(org_id: int) -> Response | tuple[str, int]:
    org = db.get_or_404(Organisation, org_id)
    form = PersonForm()
    if form.validate_on_submit():
        try:
            services.add_person(
                org,
                name=form.name.data or "",
                email=(form.email.data or "").strip() or None,
                phone=(form.phone.data or "").strip() or None,
                function=(form.function.data or "").strip() or None,
                is_digital_referent=bool(form.is_digital_referent.data),
            )
        except DomainError as err:
            db.session.rollback()
            _apply_errors(form, err)
            return render_template("orgs/contact_form.html", form=form, org=org, person=None), 422
        db.session.commit()
        flash(_("Contact added."), "success")
        return redirect(url_for("orgs.show", org_id=org.id))
    status = 422 if form.errors else 200
    return render_template("orgs/contact_form.html", form=form, org=org, person=None), status


@bp.route("/<int:org_id>/contacts/<int:person_id>/edit", methods=["GET", "POST"])
@requires(Permission.ORGS_MANAGE, org_arg="org_id")
def edit_contact(org_id: int, person_id: int) -> Response | tuple[str, int]:
    org = db.get_or_404(Organisation, org_id)
    person = _person_or_404(org, person_id)
    form = PersonForm(obj=person if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_person(
                person,
                name=form.name.data or "",
                email=form.email.data,
                phone=form.phone.data,
                function=form.function.data,
                is_digital_referent=bool(form.is_digital_referent.data),
            )
        except DomainError as err:
            db.session.rollback()
            _apply_errors(form, err)
            return render_template("orgs/contact_form.html", form=form, org=org, person=person), 422
        db.session.commit()
        flash(_("Contact updated."), "success")
        return redirect(url_for("orgs.show", org_id=org.id))
    status = 422 if form.errors else 200
    return render_template("orgs/contact_form.html", form=form, org=org, person=person), status


@bp.route("/<int:org_id>/contacts/<int:person_id>/delete", methods=["POST"])
@requires(Permission.ORGS_MANAGE, org_arg="org_id")
def delete_contact(org_id: int, person_id: int) -> Response:
    org = db.get_or_404(Organisation, org_id)
    person = _person_or_404(org, person_id)
    if EmptyForm().validate_on_submit():
        services.remove_person(person)
        db.session.commit()
        flash(_("Contact removed."), "success")
    return redirect(url_for("orgs.show", org_id=org.id))
