"""What the processor-file pages read: every partner's file at a glance (a fixed number of grouped queries,
whatever the number of partners), a partner's DPO history and its referents for the digital services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from compliance.processor.models import PartnerDpo, StaffGrant, SubProcessor
from vigie.extensions import db
from vigie.orgs.models import Organisation, OrganisationKind, Person


@dataclass(frozen=True)
class FileSummary:
    organisation: Organisation
    dpo: PartnerDpo | None  # the current one; None: missing
    staff_count: int  # authorised on the day
    sub_processors: int  # current ones
    sub_processor_warnings: int  # current ones with at least one warning


def partner_files(day: date) -> list[FileSummary]:
    """Every partner with its current DPO, its staff authorised on `day` and its current sub-processors:
    four queries in all."""
    partners = list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrganisationKind.PARTNER)
            .order_by(Organisation.name, Organisation.id)
        )
    )
    dpos: dict[int, PartnerDpo] = {}
    for dpo in db.session.scalars(
        sa.select(PartnerDpo).where(PartnerDpo.until.is_(None)).order_by(PartnerDpo.id)
    ):
        dpos[dpo.organisation_id] = dpo  # the latest wins, as in services.current_dpo
    staff = {
        org_id: int(count)
        for org_id, count in db.session.execute(
            sa.select(StaffGrant.organisation_id, sa.func.count())
            .where(
                StaffGrant.granted_on <= day,
                sa.or_(StaffGrant.revoked_on.is_(None), StaffGrant.revoked_on > day),
            )
            .group_by(StaffGrant.organisation_id)
        )
    }
    warned = sa.case(
        (sa.or_(SubProcessor.clauses_in_place.is_(False), SubProcessor.data_outside_eu.is_(True)), 1),
        else_=0,
    )
    subs = {
        org_id: (int(count), int(warnings or 0))
        for org_id, count, warnings in db.session.execute(
            sa.select(SubProcessor.organisation_id, sa.func.count(), sa.func.sum(warned))
            .where(SubProcessor.ended_on.is_(None))
            .group_by(SubProcessor.organisation_id)
        )
    }
    return [
        FileSummary(
            organisation=org,
            dpo=dpos.get(org.id),
            staff_count=staff.get(org.id, 0),
            sub_processors=subs.get(org.id, (0, 0))[0],
            sub_processor_warnings=subs.get(org.id, (0, 0))[1],
        )
        for org in partners
    ]


def dpo_history(organisation_id: int) -> list[PartnerDpo]:
    """Every DPO the partner has named, the latest first."""
    return list(
        db.session.scalars(
            sa.select(PartnerDpo)
            .where(PartnerDpo.organisation_id == organisation_id)
            .order_by(PartnerDpo.since.desc(), PartnerDpo.id.desc())
        )
    )


def digital_referents(organisation_id: int) -> list[Person]:
    """The organisation's referents for the digital services (convention art. 3), kept in its record."""
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(Person.organisation_id == organisation_id, Person.is_digital_referent.is_(True))
            .order_by(Person.id)
        )
    )
