from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vigie.audit.mixins import Audited
from vigie.crypto import EncryptedString
from vigie.database import Base, TimestampMixin, str_enum


class OrganisationKind(enum.StrEnum):
    CONTROLLER = "controller"
    PARTNER = "partner"
    OTHER = "other"


class Organisation(Audited, TimestampMixin, Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind))
    siren: Mapped[str | None] = mapped_column(sa.String(9), unique=True)
    address: Mapped[str | None] = mapped_column(sa.Text)
    # Non-computerised libraries register users on single-use paper cards (convention art. 3-4).
    computerised_libraries: Mapped[bool] = mapped_column(default=True)
    # A partner's library belongs to its commune or communauté de communes.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])
    people: Mapped[list[Person]] = relationship(back_populates="organisation", order_by="Person.id")

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class Person(Audited, TimestampMixin, Base):
    """A contact at an organisation: a referent, a director, a DPO. Personal data is encrypted."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedString())
    email: Mapped[str | None] = mapped_column(EncryptedString())
    phone: Mapped[str | None] = mapped_column(EncryptedString())
    function: Mapped[str | None] = mapped_column(sa.String(200))
    # Art. 3: the referent for the digital services (the library director by default).
    is_digital_referent: Mapped[bool] = mapped_column(default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="people")
