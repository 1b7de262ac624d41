"""The processor-file endpoints of the JSON API (DESIGN.md contracts): staff grants and revocations, the
list on a date, the partner's DPO, its sub-processors."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from werkzeug.wrappers import Response

from compliance.processor import services
from compliance.processor.models import PartnerDpo, StaffGrant, SubProcessor
from vigie.api.errors import parse_body
from vigie.api.openapi import documented
from vigie.api.views import bp
from vigie.auth.access import get_in_org_or_404, requires
from vigie.auth.roles import Permission
from vigie.errors import ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StaffIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    function: str | None = Field(default=None, max_length=200)
    granted_on: date
    scope: list[str] | None = None


class RevokeIn(_Strict):
    revoked_on: date
    reason: str = Field(min_length=1)


class DpoIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)
    cnil_designation: str | None = Field(default=None, max_length=40)
    since: date | None = None


class StaffOut(BaseModel):
    id: int
    organisation_id: int
    name: str
    email: str | None
    function: str | None
    scope: list[str]
    granted_on: date
    granted_by: str
    revoked_on: date | None
    revoked_by: str | None
    revocation_reason: str | None


class DpoOut(BaseModel):
    id: int
    organisation_id: int
    name: str
    email: str
    phone: str | None
    address: str | None
    cnil_designation: str | None
    since: date
    until: date | None


class SubProcessorOut(BaseModel):
    id: int
    organisation_id: int
    company: str
    service: str
    data_concerned: str | None
    clauses_in_place: bool
    clauses_signed_on: date | None
    data_outside_eu: bool
    location: str | None
    warnings: list[str]


def staff_json(grant: StaffGrant) -> dict[str, Any]:
    return StaffOut(
        id=grant.id,
        organisation_id=grant.organisation_id,
        name=grant.name,
        email=grant.email,
        function=grant.function,
        scope=grant.scope.split(","),
        granted_on=grant.granted_on,
        granted_by=grant.granted_by,
        revoked_on=grant.revoked_on,
        revoked_by=grant.revoked_by,
        revocation_reason=grant.revocation_reason,
    ).model_dump(mode="json")


def dpo_json(dpo: PartnerDpo) -> dict[str, Any]:
    return DpoOut.model_validate(dpo, from_attributes=True).model_dump(mode="json")


def sub_processor_json(sub: SubProcessor) -> dict[str, Any]:
    return SubProcessorOut.model_validate(sub, from_attributes=True).model_dump(mode="json")


@bp.route("/organisations/<int:org_id>/staff", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
@documented(
    "Authorise a person at a partner to see personal data", body=StaffIn, response=StaffOut, status=201
)
def grant_staff(org_id: int) -> tuple[Response, int]:
    data = parse_body(StaffIn)
    organisation = db.get_or_404(Organisation, org_id)
    grant = services.grant_staff(
        current_user,
        organisation,
        services.GrantData(
            name=data.name,
            granted_on=data.granted_on,
            email=str(data.email) if data.email else None,
            function=data.function,
            scope=data.scope,
        ),
    )
    db.session.commit()
    return jsonify(staff_json(grant)), 201


@bp.route("/staff/<int:grant_id>/revoke", methods=["POST"])
@requires(Permission.COMPLIANCE_EDIT)
@documented("Revoke an authorisation (kept in the history)", body=RevokeIn, response=StaffOut)
def revoke_staff(grant_id: int) -> Response:
    grant = get_in_org_or_404(StaffGrant, grant_id, Permission.COMPLIANCE_EDIT)
    data = parse_body(RevokeIn)
    services.revoke_staff(current_user, grant, data.revoked_on, data.reason)
    db.session.commit()
    return jsonify(staff_json(grant))


@bp.route("/organisations/<int:org_id>/staff")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
@documented("The people authorised on a day (today by default)", response=StaffOut, many=True, query=("on",))
def staff_list(org_id: int) -> Response:
    db.get_or_404(Organisation, org_id)
    raw = request.args.get("on")
    try:
        day = date.fromisoformat(raw) if raw else services.today()
    except ValueError as exc:
        raise ValidationFailed(_("Give the day as YYYY-MM-DD."), {"on": _("Invalid date.")}) from exc
    return jsonify([staff_json(g) for g in services.staff_on(org_id, day)])


@bp.route("/organisations/<int:org_id>/dpo", methods=["PUT"])
@requires(Permission.COMPLIANCE_EDIT, org_arg="org_id")
@documented("Record the partner's DPO (the previous one is kept in the history)", body=DpoIn, response=DpoOut)
def put_dpo(org_id: int) -> Response:
    data = parse_body(DpoIn)
    organisation = db.get_or_404(Organisation, org_id)
    dpo = services.set_dpo(
        current_user,
        organisation,
        data.name,
        str(data.email),
        phone=data.phone,
        address=data.address,
        cnil_designation=data.cnil_designation,
        since=data.since,
    )
    db.session.commit()
    return jsonify(dpo_json(dpo))


@bp.route("/organisations/<int:org_id>/sub-processors")
@requires(Permission.COMPLIANCE_VIEW, org_arg="org_id")
@documented("A partner's sub-processors, with warnings", response=SubProcessorOut, many=True)
def sub_processors(org_id: int) -> Response:
    db.get_or_404(Organisation, org_id)
    return jsonify([sub_processor_json(s) for s in services.sub_processors_of(org_id)])
