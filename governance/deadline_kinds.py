"""The clocks of the governance and of the convention itself (convention art. 7-10)."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from vigie.auth.roles import Role
from vigie.deadlines.kinds import DeadlineKind, register_kind

_GOVERNANCE = frozenset({Role.COMMITTEE, Role.LEGAL, Role.AUDITOR})
_CONVENTION = frozenset({Role.LEGAL, Role.COMMITTEE, Role.AUDITOR})

KINDS = (
    DeadlineKind(
        "governance.action_item",
        _l("Carry out an action decided by a body"),
        actor=Role.COMMITTEE,
        visible_to=_GOVERNANCE,
        due_soon=timedelta(days=7),
    ),
    DeadlineKind(
        "governance.yearly_meeting",
        _l("Hold the yearly meeting of all partner libraries (art. 8)"),
        actor=Role.COMMITTEE,
        visible_to=_GOVERNANCE,
        due_soon=timedelta(days=60),
    ),
    DeadlineKind(
        "governance.professional_day",
        _l('Hold the yearly professional day of the "Ressources en ligne" group (art. 8)'),
        actor=Role.COMMITTEE,
        visible_to=_GOVERNANCE,
        due_soon=timedelta(days=60),
    ),
    DeadlineKind(
        "convention.evaluation",
        _l("Evaluate the service two months before the convention expires (art. 9)"),
        actor=Role.LEGAL,
        visible_to=_CONVENTION,
        due_soon=timedelta(days=60),
    ),
    DeadlineKind(
        "convention.formal_notice",
        _l("End of the 30 days given by a formal notice (art. 10)"),
        actor=Role.LEGAL,
        visible_to=_CONVENTION,
        due_soon=timedelta(days=7),
    ),
)


def register() -> None:
    for kind in KINDS:
        register_kind(kind)
