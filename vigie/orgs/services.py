from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from vigie.errors import Conflict, NotFound, ValidationFailed
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind, Person
from vigie.orgs.siren import normalise_siren, siren_error


def parse_kind(value: str) -> OrganisationKind:
    try:
        return OrganisationKind(value)
    except ValueError as exc:
        raise ValidationFailed(
            _(
                "Unknown kind %(kind)s: choose among %(kinds)s.",
                kind=repr(value),
                kinds=", ".join(k.value for k in OrganisationKind),
            ),
            {"kind": _("Unknown kind.")},
        ) from exc


def create_organisation(
    name: str,
    kind: str,
    siren: str | None = None,
    address: str | None = None,
    computerised_libraries: bool = True,
    parent_id: int | None = None,
) -> Organisation:
    fields: dict[str, str] = {}
    name = name.strip()
    if not name:
        fields["name"] = _("Enter the organisation's name.")
    elif len(name) > 200:
        fields["name"] = _("At most 200 characters.")
    parsed_kind = parse_kind(kind)
    clean_siren = normalise_siren(siren) if siren else None
    if clean_siren:
        problem = siren_error(clean_siren)
        if problem:
            fields["siren"] = problem
    if parent_id is not None and db.session.get(Organisation, parent_id) is None:
        fields["parent_id"] = _("No such organisation.")
    if fields:
        raise ValidationFailed(" ".join(fields.values()), fields)
    if clean_siren and organisation_by_siren(clean_siren) is not None:
        raise Conflict(
            _("An organisation with SIREN %(siren)s already exists.", siren=clean_siren),
            {"siren": _("Already registered.")},
        )
    org = Organisation(
        name=name,
        kind=parsed_kind,
        siren=clean_siren or None,
        address=(address or "").strip() or None,
        computerised_libraries=computerised_libraries,
        parent_id=parent_id,
    )
    db.session.add(org)
    db.session.flush()
    return org


def organisation_by_siren(siren: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.siren == siren))


def find_organisation(ref: str) -> Organisation:
    """An organisation by id or by SIREN (the CLI accepts either)."""
    ref = ref.strip()
    org = None
    if ref.isdigit() and len(ref) == 9:
        org = organisation_by_siren(ref)
    if org is None and ref.isdigit():
        org = db.session.get(Organisation, int(ref))
    if org is None:
        raise NotFound(_("No organisation has the id or SIREN %(ref)s.", ref=ref))
    return org


def add_person(
    organisation: Organisation,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    function: str | None = None,
    is_digital_referent: bool = False,
) -> Person:
    if not name.strip():
        raise ValidationFailed(_("A contact needs a name."), {"name": _("Enter a name.")})
    person = Person(
        organisation=organisation,
        name=name.strip(),
        email=email,
        phone=phone,
        function=function,
        is_digital_referent=is_digital_referent,
    )
    db.session.add(person)
    db.session.flush()
    return person
