"""Who reads what in governance (governance/bodies/reading.py), the one place the pages, the API and the
minutes PDF ask: the governance roles read everything; a partner the published minutes, and the
decisions of those meetings, of the bodies its organisation sits in (a past seat included); the DPO and
the administrator nothing. The query form (decision_scope) selects exactly the decisions the record form
(decision_readable) lets each reader see."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from governance.bodies import reading, services
from governance.bodies.models import Body, Decision, Meeting
from governance.bodies.services import MemberData
from vigie.auth.services import set_active
from vigie.extensions import db

PARIS = ZoneInfo("Europe/Paris")


def _meeting(body: Body, when: datetime) -> Meeting:
    return services.create_meeting(body, when, place="Hôtel du Département, Digne-les-Bains")


def _publish(meeting: Meeting, at: Meeting) -> None:
    services.save_minutes(meeting, "Le comité se réunit.")
    services.submit_minutes(meeting)
    services.approve_minutes(meeting, at)
    services.publish_minutes(meeting)


@pytest.fixture
def world(factory: Any) -> dict[str, Any]:
    """Two bodies: partner A sits in the first, partner B sat in the second until 2024 (a past seat),
    partner C in none. In each body a meeting with published minutes and one with draft minutes, each
    with a decision."""
    controller = factory.org("controller", name="Département des Alpes de Haute-Provence")
    a, b, c = (factory.org("partner", name=f"Partenaire {n}") for n in "ABC")
    first = services.create_body(
        "Comité de pilotage",
        [MemberData("Membre A", organisation_id=a.id, since=date(2024, 1, 1))],
        code="COPIL",
    )
    second = services.create_body(
        "Ressources en ligne",
        [
            MemberData("Membre B", organisation_id=b.id, since=date(2020, 1, 1)),
            MemberData("Membre D", organisation_id=controller.id, since=date(2020, 1, 1)),
        ],
        code="REL",
    )
    services.end_membership(second.members[0], date(2024, 12, 31))
    decisions: dict[str, Decision] = {}
    meetings: dict[str, Meeting] = {}
    for body in (first, second):
        published = _meeting(body, datetime(2025, 3, 4, 14, 0, tzinfo=PARIS))
        draft = _meeting(body, datetime(2025, 6, 10, 14, 0, tzinfo=PARIS))
        _publish(published, draft)
        services.save_minutes(draft, "Projet de procès-verbal.")
        meetings[f"{body.code}-published"], meetings[f"{body.code}-draft"] = published, draft
        decisions[f"{body.code}-published"] = services.record_decision(published, "Décision publiée")
        decisions[f"{body.code}-draft"] = services.record_decision(draft, "Décision en attente")
    db.session.commit()
    users = {
        role: factory.user(role, org=controller) for role in ("committee", "legal", "auditor", "dpo", "admin")
    }
    users |= {f"partner {org.name[-1]}": factory.user("partner", org=org) for org in (a, b, c)}
    return {
        "users": users,
        "bodies": {"COPIL": first, "REL": second},
        "decisions": decisions,
        "meetings": meetings,
    }


# What each reader sees: the keys of the decisions (and of the meetings whose minutes it reads).
EVERYTHING = {"COPIL-published", "COPIL-draft", "REL-published", "REL-draft"}
EXPECTED = {
    "committee": EVERYTHING,
    "legal": EVERYTHING,
    "auditor": EVERYTHING,
    "partner A": {"COPIL-published"},
    "partner B": {"REL-published"},  # a past seat still opens the body's published records
    "partner C": set(),
    "dpo": set(),
    "admin": set(),
}


@pytest.mark.parametrize("who", list(EXPECTED))
def test_each_reader_reads_its_decisions_and_minutes_and_nothing_else(
    world: dict[str, Any], who: str
) -> None:
    user = world["users"][who]
    governance = who in ("committee", "legal", "auditor")
    partner = who.startswith("partner")
    assert reading.reads_governance(user) is governance
    assert reading.reads_as_partner(user) is partner
    assert reading.reads_published(user) is (governance or partner)

    bodies = reading.readable_bodies(user)
    if governance:
        assert bodies is None
    else:
        codes = {code for code, body in world["bodies"].items() if bodies is not None and body.id in bodies}
        assert codes == {key.split("-")[0] for key in EXPECTED[who]}

    readable = {key for key, d in world["decisions"].items() if reading.decision_readable(user, d)}
    assert readable == EXPECTED[who]
    minutes = {
        key
        for key, m in world["meetings"].items()
        if reading.minutes_readable(user, m, reading.minutes_of(m))
    }
    assert minutes == EXPECTED[who]
    # The query form selects exactly the same decisions.
    scoped = set(db.session.scalars(sa.select(Decision.id).where(*reading.decision_scope(user))))
    assert scoped == {world["decisions"][key].id for key in EXPECTED[who]}


def test_a_deactivated_partner_reads_nothing(world: dict[str, Any]) -> None:
    user = world["users"]["partner A"]
    set_active(user, False)
    db.session.commit()
    assert not reading.reads_published(user)
    assert reading.readable_bodies(user) == set()
    assert not reading.decision_readable(user, world["decisions"]["COPIL-published"])
    assert db.session.scalars(sa.select(Decision.id).where(*reading.decision_scope(user))).all() == []


def test_published_means_the_minutes_are_published(world: dict[str, Any]) -> None:
    published, draft = world["meetings"]["COPIL-published"], world["meetings"]["COPIL-draft"]
    assert reading.is_published(reading.minutes_of(published))
    assert reading.minutes_of(draft) is not None
    assert not reading.is_published(reading.minutes_of(draft))
    assert not reading.is_published(None)
    ids = set(db.session.scalars(reading.published_meetings()))
    assert ids == {world["meetings"]["COPIL-published"].id, world["meetings"]["REL-published"].id}
