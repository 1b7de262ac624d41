"""Who reads what in governance: the one place the pages, the API and the exports ask.

- The governance roles (the committee, the legal service, the auditor: Permission.GOVERNANCE_VIEW) read
  every body, meeting, minutes and decision.
- A partner holds no governance permission, but reads the PUBLISHED minutes of the bodies its
  organisation sits in, and the decisions taken at those meetings (once their minutes are published);
  any other record is, to it, as absent as one that does not exist.
- Anyone else (the DPO, the administrator) reads no governance record.

Plain functions: the callers decide how a refusal answers (403 for a role that reads nothing, 404 for a
record the reader may not see).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from governance.bodies.models import BodyMember, Decision, Meeting, Minutes, MinutesStatus
from vigie.auth.access import can
from vigie.auth.roles import Permission, Role
from vigie.extensions import db


def reads_governance(user: Any) -> bool:
    """The committee, the legal service and the auditor: every body, meeting, minutes and decision."""
    return can(user, Permission.GOVERNANCE_VIEW)


def reads_as_partner(user: Any) -> bool:
    """A signed-in, active partner user: the published records of its organisation's bodies."""
    return can(user, Permission.SELF) and Role.PARTNER in user.roles


def reads_published(user: Any) -> bool:
    """Whether the user reads any governance record at all (the others get 403)."""
    return reads_governance(user) or reads_as_partner(user)


def bodies_of_organisation(organisation_id: int) -> set[int]:
    """The bodies an organisation sits in (through one of its members, past or present)."""
    return set(
        db.session.scalars(
            sa.select(BodyMember.body_id).where(BodyMember.organisation_id == organisation_id).distinct()
        )
    )


def readable_bodies(user: Any) -> set[int] | None:
    """The bodies whose published minutes and decisions the user reads: None for every body (the
    governance roles), the bodies its organisation sits in for a partner, none for anyone else."""
    if reads_governance(user):
        return None
    if reads_as_partner(user) and user.organisation_id is not None:
        return bodies_of_organisation(user.organisation_id)
    return set()


def minutes_of(meeting: Meeting) -> Minutes | None:
    return db.session.scalar(sa.select(Minutes).where(Minutes.meeting_id == meeting.id))


def is_published(minutes: Minutes | None) -> bool:
    return minutes is not None and minutes.status == MinutesStatus.PUBLISHED


def published_meetings() -> sa.Select[Any]:
    """The ids of the meetings whose minutes are published."""
    return sa.select(Minutes.meeting_id).where(Minutes.status == MinutesStatus.PUBLISHED)


def minutes_readable(user: Any, meeting: Meeting, minutes: Minutes | None) -> bool:
    """Every minutes for the governance roles; the published ones of its bodies for a partner."""
    bodies = readable_bodies(user)
    if bodies is None:
        return True
    return is_published(minutes) and meeting.body_id in bodies


def decision_readable(user: Any, decision: Decision) -> bool:
    """Every decision for the governance roles; for a partner, one of its bodies whose meeting's minutes
    are published."""
    bodies = readable_bodies(user)
    if bodies is None:
        return True
    return decision.body_id in bodies and is_published(minutes_of(decision.meeting))


def decision_scope(user: Any) -> list[sa.ColumnElement[bool]]:
    """decision_readable() as conditions on a query of decisions (nothing for a user who reads none)."""
    bodies = readable_bodies(user)
    if bodies is None:
        return []
    return [Decision.body_id.in_(bodies), Decision.meeting_id.in_(published_meetings())]
