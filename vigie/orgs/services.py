from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
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


@dataclass(frozen=True)
class _Checked:
    name: str
    kind: OrganisationKind
    siren: str | None
    address: str | None


def _check(
    name: str,
    kind: str,
    siren: str | None,
    address: str | None,
    parent_id: int | None,
    itself: Organisation | None = None,
) -> _Checked:
    """The values cleaned, or ValidationFailed / Conflict naming each wrong field."""
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
    if parent_id is not None:
        parent = db.session.get(Organisation, parent_id)
        if parent is None:
            fields["parent_id"] = _("No such organisation.")
        elif itself is not None and _descends_from(parent, itself):
            fields["parent_id"] = _("An organisation cannot belong to itself or to one of its own.")
    if fields:
        raise ValidationFailed(" ".join(fields.values()), fields)
    if clean_siren:
        holder = organisation_by_siren(clean_siren)
        if holder is not None and holder is not itself:
            raise Conflict(
                _("An organisation with SIREN %(siren)s already exists.", siren=clean_siren),
                {"siren": _("Already registered.")},
            )
    return _Checked(name, parsed_kind, clean_siren or None, (address or "").strip() or None)


def _descends_from(candidate: Organisation, ancestor: Organisation) -> bool:
    seen: set[int] = set()
    node: Organisation | None = candidate
    while node is not None and node.id not in seen:
        if node.id == ancestor.id:
            return True
        seen.add(node.id)
        node = node.parent
    return False


def create_organisation(
    name: str,
    kind: str,
    siren: str | None = None,
    address: str | None = None,
    computerised_libraries: bool = True,
    parent_id: int | None = None,
) -> Organisation:
    checked = _check(name, kind, siren, address, parent_id)
    org = Organisation(
        name=checked.name,
        kind=checked.kind,
        siren=checked.siren,
        address=checked.address,
        computerised_libraries=computerised_libraries,
        parent_id=parent_id,
    )
    db.session.add(org)
    db.session.flush()
    return org


def update_organisation(
    org: Organisation,
    name: str,
    kind: str,
    siren: str | None = None,
    address: str | None = None,
    computerised_libraries: bool = True,
    parent_id: int | None = None,
) -> None:
    checked = _check(name, kind, siren, address, parent_id, itself=org)
    org.name = checked.name
    org.kind = checked.kind
    org.siren = checked.siren
    org.address = checked.address
    org.computerised_libraries = computerised_libraries
    org.parent_id = parent_id
    db.session.flush()


def deactivate_organisation(org: Organisation, actor_id: int | None) -> int:
    """The organisation leaves the lists of choices and its users are deactivated with it (their
    sessions, API tokens and calendar feeds stop). Returns how many users were deactivated. Its records
    stay. Refused for the organisation of the one who asks (they would lock themselves out)."""
    from vigie.auth.models import User
    from vigie.auth.services import set_active

    if actor_id is not None and db.session.scalar(
        sa.select(User.id).where(User.id == actor_id, User.organisation_id == org.id)
    ):
        raise Conflict(_("You cannot deactivate your own organisation."))
    org.active = False
    users = db.session.scalars(sa.select(User).where(User.organisation_id == org.id, User.active.is_(True)))
    count = 0
    for user in users:
        set_active(user, False)
        count += 1
    db.session.flush()
    return count


def activate_organisation(org: Organisation) -> None:
    """Its users stay deactivated: an administrator reactivates those who should come back."""
    org.active = True
    db.session.flush()


@dataclass
class OrganisationFilter:
    q: str = ""
    kind: str = ""
    status: str = ""  # active, deactivated; all when empty


def organisations_query(flt: OrganisationFilter) -> sa.Select[Organisation]:
    stmt = sa.select(Organisation)
    q = flt.q.strip()
    if q:
        digits = normalise_siren(q)
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Organisation.name).contains(q.lower(), autoescape=True),
                Organisation.siren.startswith(digits, autoescape=True) if digits.isdigit() else sa.false(),
            )
        )
    if flt.kind:
        try:
            stmt = stmt.where(Organisation.kind == OrganisationKind(flt.kind))
        except ValueError:
            stmt = stmt.where(sa.false())
    if flt.status == "active":
        stmt = stmt.where(Organisation.active.is_(True))
    elif flt.status == "deactivated":
        stmt = stmt.where(Organisation.active.is_(False))
    return stmt.order_by(Organisation.kind, Organisation.name)


def partner_or_404(org_id: int) -> Organisation:
    """The partner a URL names (its access checked by @requires): any other organisation, or none, is a
    404, since only partners have a processor file, staff lists, a 30(2) record, a scorecard."""
    organisation = db.session.get(Organisation, org_id)
    if organisation is None or organisation.kind != OrganisationKind.PARTNER:
        abort(404)
    return organisation


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


def update_person(
    person: Person,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    function: str | None = None,
    is_digital_referent: bool = False,
) -> None:
    if not name.strip():
        raise ValidationFailed(_("A contact needs a name."), {"name": _("Enter a name.")})
    person.name = name.strip()
    person.email = (email or "").strip() or None
    person.phone = (phone or "").strip() or None
    person.function = (function or "").strip() or None
    person.is_digital_referent = is_digital_referent
    db.session.flush()


def remove_person(person: Person) -> None:
    db.session.delete(person)
    db.session.flush()
