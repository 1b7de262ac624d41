"""The clocks of the processor obligations (convention art. 11; GDPR art. 12, 28, 33, 34)."""

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from vigie.auth.roles import Role
from vigie.deadlines.kinds import DeadlineKind, register_kind

# The partner sees its own organisation's clocks; the DPO and the auditor see every partner's.
_SHARED = frozenset({Role.DPO, Role.AUDITOR, Role.PARTNER})
_CONTROLLER = frozenset({Role.DPO, Role.AUDITOR})

KINDS = (
    DeadlineKind(
        "breach.cnil_notification",
        _l("Notify the CNIL of a personal-data breach (72 hours)"),
        actor=Role.DPO,
        visible_to=_SHARED,
        due_soon=timedelta(hours=24),
        hour_based=True,
    ),
    DeadlineKind(
        "breach.subject_communication",
        _l("Inform the people affected by a high-risk breach"),
        actor=Role.DPO,
        visible_to=_SHARED,
        due_soon=timedelta(days=1),
    ),
    DeadlineKind(
        "access.inquiry",
        _l("Supply what the Département needs for an access request (3 working days)"),
        actor=Role.PARTNER,
        visible_to=_SHARED,
        due_soon=timedelta(days=1),
    ),
    DeadlineKind(
        "access.response",
        _l("Answer the person who exercised a right (one month)"),
        actor=Role.DPO,
        visible_to=_CONTROLLER,
        due_soon=timedelta(days=7),
    ),
    DeadlineKind(
        "processor.dpo_contact",
        _l("Supply the DPO's contact details (due at signature)"),
        actor=Role.PARTNER,
        visible_to=_SHARED,
        due_soon=timedelta(days=7),
    ),
    DeadlineKind(
        "processor.staff_review",
        _l("Review the list of authorised staff"),
        actor=Role.PARTNER,
        visible_to=_SHARED,
        due_soon=timedelta(days=30),
    ),
    DeadlineKind(
        "processor.staff_list_request",
        _l("Hand over the list of authorised staff"),
        actor=Role.PARTNER,
        visible_to=_SHARED,
        due_soon=timedelta(days=1),
    ),
)


def register() -> None:
    for kind in KINDS:
        register_kind(kind)
