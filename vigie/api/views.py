from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask_login import current_user
from werkzeug.wrappers import Response

from vigie.api.errors import parse_body
from vigie.api.openapi import build_document, documented
from vigie.api.schemas import MeOut, OrganisationIn, OrganisationOut
from vigie.auth.access import public, requires, scope_to_user
from vigie.auth.roles import Permission
from vigie.extensions import csrf, db
from vigie.orgs import services as org_services
from vigie.orgs.models import Organisation

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens, not cookies, authenticate the API: there is no cross-site request to forge.
csrf.exempt(bp)


def organisation_json(org: Organisation) -> dict[str, Any]:
    return OrganisationOut(
        id=org.id,
        name=org.name,
        kind=org.kind.value,
        siren=org.siren,
        address=org.address,
        computerised_libraries=org.computerised_libraries,
        parent_id=org.parent_id,
        active=org.active,
    ).model_dump()


@bp.route("/openapi.json")
@public
@documented("This document")
def openapi() -> Response:
    return jsonify(build_document(current_app))


@bp.route("/me")
@requires(Permission.SELF)
@documented("The user the token belongs to", response=MeOut)
def me() -> Response:
    user = current_user
    return jsonify(
        {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "roles": sorted(r.value for r in user.roles),
            "organisation": organisation_json(user.organisation),
        }
    )


@bp.route("/organisations")
@requires(Permission.ORGS_VIEW)
@documented("Organisations the user may see", response=OrganisationOut, many=True)
def organisations() -> Response:
    stmt = scope_to_user(
        sa.select(Organisation).order_by(Organisation.id), Organisation.id, Permission.ORGS_VIEW
    )
    return jsonify([organisation_json(o) for o in db.session.scalars(stmt)])


@bp.route("/organisations/<int:org_id>")
@requires(Permission.ORGS_VIEW, org_arg="org_id")
@documented("One organisation", response=OrganisationOut)
def organisation(org_id: int) -> Response:
    return jsonify(organisation_json(db.get_or_404(Organisation, org_id)))


@bp.route("/organisations", methods=["POST"])
@requires(Permission.ORGS_MANAGE)
@documented("Create an organisation", body=OrganisationIn, response=OrganisationOut, status=201)
def create_organisation() -> tuple[Response, int]:
    data = parse_body(OrganisationIn)
    org = org_services.create_organisation(**data.model_dump())
    db.session.commit()
    return jsonify(organisation_json(org)), 201
