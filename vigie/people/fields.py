"""The people fields of vigie/'s own records: user accounts, organisation contacts, the mail outbox."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from vigie.people.registry import EMAIL, NAME, Found, register_people
from vigie.timeutil import to_paris

_OUTBOX_STATUS = {
    "queued": _l("waiting to be sent"),
    "sending": _l("being sent"),
    "sent": _l("sent"),
    "failed": _l("not delivered"),
}


def _user(found: Found) -> str:
    return f"{found.values['name']} <{found.values['email']}>"


def _outbox(found: Found) -> str:
    queued = to_paris(found.values["created_at"])
    status = str(found.values["status"])
    return f"{found.values['recipient']} · {queued:%d/%m/%Y %H:%M} · {_OUTBOX_STATUS.get(status, status)}"


def register() -> None:
    from vigie.auth.models import User
    from vigie.mail.models import OutboxMessage
    from vigie.orgs.models import Person

    # The login address is in clear on the account; indexed too, so one search covers every table.
    # The link: what this account did, in the audit trail.
    register_people(
        User,
        _l("User accounts"),
        {"email": EMAIL, "name": NAME},
        endpoint="audit.index",
        args=lambda f: {"actor": f.values["email"]},
        organisation="organisation_id",
        describe=_user,
    )
    register_people(
        Person,
        _l("Organisation contacts"),
        {"name": NAME, "email": EMAIL},
        endpoint="orgs.show",
        args=lambda f: {"org_id": f.organisation_id},
        organisation="organisation_id",
    )
    # E-mails queued or sent: no page shows them; the line says to whom, when, and where it stands.
    register_people(
        OutboxMessage,
        _l("E-mails sent by Vigie"),
        {"recipient": EMAIL},
        columns=("created_at", "status"),
        describe=_outbox,
    )
