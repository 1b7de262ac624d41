"""The people fields of the compliance records, for the person search (vigie.people): called from
compliance.init_app. Free text that may name someone (a breach's circumstances, a request's text, an
inquiry's search details) is not indexed: only the columns that hold a name or an address."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from vigie.people.registry import EMAIL, NAME, joined, json_rows, register_people
from vigie.timeutil import to_paris

_PROCESSOR_PAGE = "processor.show"  # the partner's processor file


def register() -> None:
    from compliance.access_requests.models import AccessRequest
    from compliance.breaches.models import Breach, BreachAction
    from compliance.processor.models import PartnerDpo, StaffGrant
    from compliance.staff_lists.models import StaffListSnapshot

    register_people(
        PartnerDpo,
        _l("Partners' data protection officers"),
        {"name": NAME, "email": EMAIL},
        endpoint=_PROCESSOR_PAGE,
        args=lambda f: {"org_id": f.organisation_id},
        organisation="organisation_id",
    )
    # granted_by / revoked_by hold the address of the user who recorded the change (in clear).
    register_people(
        StaffGrant,
        _l("Authorised staff"),
        {"name": NAME, "email": EMAIL, "granted_by": EMAIL, "revoked_by": EMAIL},
        endpoint=_PROCESSOR_PAGE,
        args=lambda f: {"org_id": f.organisation_id},
        organisation="organisation_id",
        columns=("granted_on", "revoked_on"),
        describe=lambda f: joined(f.values["name"], f.values["email"], f.values["granted_on"]),
        field_labels={
            "granted_by": _l("authorisation recorded by"),
            "revoked_by": _l("revocation recorded by"),
        },
    )
    # A certified list freezes the people authorised that day: it names them as long as it is kept.
    register_people(
        StaffListSnapshot,
        _l("Certified staff lists"),
        {
            "rows_json": json_rows(name=NAME, email=EMAIL, granted_by=EMAIL),
            "certified_by_name": NAME,
        },
        endpoint="staff_lists.snapshot",
        args=lambda f: {"staff_snapshot_id": f.id},
        organisation="organisation_id",
        columns=("organisation_name", "certified_at"),
        describe=lambda f: joined(f.values["organisation_name"], to_paris(f.values["certified_at"]).date()),
    )
    register_people(
        AccessRequest,
        _l("Rights requests (the person who asked)"),
        {"subject_name": NAME, "subject_email": EMAIL},
        endpoint="access_requests.show",
        args=lambda f: {"request_id": f.id},
        organisation="received_by_organisation_id",
        columns=("reference",),
        describe=lambda f: joined(f.values["reference"], f.values["subject_name"], f.values["subject_email"]),
    )
    register_people(
        Breach,
        _l("Breaches (contact point)"),
        {"contact_name": NAME, "contact_email": EMAIL},
        endpoint="breaches.show",
        args=lambda f: {"breach_id": f.id},
        organisation="organisation_id",
        columns=("reference",),
        describe=lambda f: joined(f.values["reference"], f.values["contact_name"], f.values["contact_email"]),
    )
    register_people(
        BreachAction,
        _l("Breach action plans (owner)"),
        {"owner": NAME},
        endpoint="breaches.show",
        args=lambda f: {"breach_id": f.values["breach_id"]},
        organisation="organisation_id",  # its breach's
        columns=("breach_id",),
    )
