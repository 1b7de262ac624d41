"""The people fields of the governance records, for the person search (vigie.people): called from
governance.init_app. Not indexed: a circulation's recipients (free text) and the minutes' text."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from vigie.people.registry import EMAIL, NAME, Found, joined, register_people
from vigie.timeutil import to_paris


def _signatories(found: Found) -> str:
    return joined(
        found.values["reference"] or found.values["title"],
        found.values["controller_signatory"],
        found.values["partner_signatory"],
    )


def register() -> None:
    from governance.bodies.models import ActionItem, BodyMember, MinutesVersion
    from governance.conventions.models import Convention, Deliberation

    register_people(
        BodyMember,
        _l("Members of the bodies"),
        {"name": NAME, "email": EMAIL},
        endpoint="governance.body",
        args=lambda f: {"body_id": f.values["body_id"]},
        organisation="organisation_id",
        columns=("body_id",),
    )
    register_people(
        ActionItem,
        _l("Action items (owner)"),
        {"owner": NAME},
        endpoint="governance.body",
        args=lambda f: {"body_id": f.values["body_id"]},
        organisation="owner_organisation_id",
        columns=("body_id", "title"),
        describe=lambda f: joined(f.values["title"], f.values["owner"]),
    )
    # Who saved a version of minutes: the user's address, in clear.
    register_people(
        MinutesVersion,
        _l("Minutes (versions saved)"),
        {"saved_by": EMAIL},
        columns=("saved_at",),
        describe=lambda f: joined(f.values["saved_by"], to_paris(f.values["saved_at"]).date()),
    )
    register_people(
        Convention,
        _l("Conventions (signatories)"),
        {"controller_signatory": NAME, "partner_signatory": NAME},
        endpoint="conventions.show",
        args=lambda f: {"convention_id": f.id},
        organisation="partner_id",
        columns=("reference", "title"),
        describe=_signatories,
        field_labels={
            "controller_signatory": _l("signatory for the Département"),
            "partner_signatory": _l("signatory for the partner"),
        },
    )
    register_people(
        Deliberation,
        _l("Deliberations (secretary of the meeting)"),
        {"secretary": NAME},
        organisation="organisation_id",
        columns=("number", "adopted_on"),
        describe=lambda f: joined(f.values["number"], f.values["adopted_on"], f.values["secretary"]),
    )
