"""Roles and the permissions they carry (DESIGN.md, "People and organisations")."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(enum.StrEnum):
    ADMIN = "admin"
    DPO = "dpo"
    PARTNER = "partner"
    COMMITTEE = "committee"
    LEGAL = "legal"
    AUDITOR = "auditor"


class Permission(enum.StrEnum):
    ORGS_VIEW = "orgs.view"
    ORGS_MANAGE = "orgs.manage"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    COMPLIANCE_VIEW = "compliance.view"
    COMPLIANCE_EDIT = "compliance.edit"
    # The controller's side of compliance: acknowledging, assessing, asking partners.
    COMPLIANCE_CONTROL = "compliance.control"
    GOVERNANCE_VIEW = "governance.view"
    GOVERNANCE_EDIT = "governance.edit"
    CONVENTIONS_VIEW = "conventions.view"
    CONVENTIONS_EDIT = "conventions.edit"
    # Find everything the system holds about one person (vigie.people), across every organisation.
    PEOPLE_SEARCH = "people.search"
    SELF = "self"  # what every signed-in user may do about their own account


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({P.SELF, P.ORGS_VIEW, P.ORGS_MANAGE, P.USERS_MANAGE, P.AUDIT_VIEW}),
    Role.DPO: frozenset(
        {
            P.SELF,
            P.ORGS_VIEW,
            P.AUDIT_VIEW,
            P.COMPLIANCE_VIEW,
            P.COMPLIANCE_EDIT,
            P.COMPLIANCE_CONTROL,
            P.PEOPLE_SEARCH,
        }
    ),
    Role.PARTNER: frozenset({P.SELF, P.ORGS_VIEW, P.COMPLIANCE_VIEW, P.COMPLIANCE_EDIT}),
    Role.COMMITTEE: frozenset({P.SELF, P.ORGS_VIEW, P.GOVERNANCE_VIEW, P.GOVERNANCE_EDIT}),
    Role.LEGAL: frozenset({P.SELF, P.ORGS_VIEW, P.CONVENTIONS_VIEW, P.CONVENTIONS_EDIT, P.GOVERNANCE_VIEW}),
    Role.AUDITOR: frozenset(
        {
            P.SELF,
            P.ORGS_VIEW,
            P.AUDIT_VIEW,
            P.COMPLIANCE_VIEW,
            P.GOVERNANCE_VIEW,
            P.CONVENTIONS_VIEW,
            P.PEOPLE_SEARCH,
        }
    ),
}

# Roles whose permissions reach only their own organisation's records (the tenant boundary).
TENANT_SCOPED_ROLES: frozenset[Role] = frozenset({Role.PARTNER})

ROLE_LABELS = {
    Role.ADMIN: _l("administrator"),
    Role.DPO: _l("data protection officer"),
    Role.PARTNER: _l("partner library"),
    Role.COMMITTEE: _l("steering committee"),
    Role.LEGAL: _l("legal service"),
    Role.AUDITOR: _l("auditor"),
}
