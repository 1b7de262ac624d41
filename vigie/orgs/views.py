from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from vigie.auth.access import requires, scope_to_user
from vigie.auth.roles import Permission
from vigie.errors import DomainError
from vigie.extensions import db
from vigie.orgs import services
from vigie.orgs.forms import OrganisationForm
from vigie.orgs.models import Organisation
from vigie.pdf import pdf_response, render_pdf

bp = Blueprint("orgs", __name__, url_prefix="/organisations")


@bp.route("/")
@requires(Permission.ORGS_VIEW)
def index() -> str:
    stmt = scope_to_user(
        sa.select(Organisation).order_by(Organisation.kind, Organisation.name),
        Organisation.id,
        Permission.ORGS_VIEW,
    )
    return render_template("orgs/index.html", organisations=db.session.scalars(stmt).all())


@bp.route("/<int:org_id>")
@requires(Permission.ORGS_VIEW, org_arg="org_id")
def show(org_id: int) -> str:
    org = db.get_or_404(Organisation, org_id)
    return render_template("orgs/show.html", org=org)


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
    if form.validate_on_submit():
        try:
            org = services.create_organisation(
                name=form.name.data or "",
                kind=form.kind.data or "",
                siren=form.siren.data,
                address=form.address.data,
                computerised_libraries=bool(form.computerised_libraries.data),
            )
        except DomainError as err:
            db.session.rollback()
            for field, message in err.fields.items():
                if field in form:
                    form[field].errors = [*form[field].errors, message]
            if not err.fields:
                flash(err.message, "error")
            return render_template("orgs/form.html", form=form), 422
        db.session.commit()
        flash(_("Organisation %(name)s created.", name=org.name), "success")
        return redirect(url_for("orgs.show", org_id=org.id))
    return render_template("orgs/form.html", form=form), 422 if form.errors else 200
