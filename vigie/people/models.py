"""The blind index of people, and the log of the searches made in it."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from vigie.audit.mixins import Audited
from vigie.database import Base, UTCDateTime, str_enum, utcnow


class IndexKind(enum.StrEnum):
    EMAIL = "email"
    NAME = "name"


class PersonIndexEntry(Base):
    """One keyed hash of one normalised value (an address, a whole name, one word of a name) found in one
    field of one row. Holds no personal data in clear: a token is HMAC-SHA256 under VIGIE_BLIND_INDEX_KEY,
    so without the key it tells nothing, and with another key it is another token. Derived data, kept up
    to date by vigie.people.index at every flush and rebuilt by `vigie people reindex`: not audited."""

    __tablename__ = "person_index"
    __table_args__ = (sa.Index("ix_person_index_entity_row_id", "entity", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[IndexKind] = mapped_column(str_enum(IndexKind))
    entity: Mapped[str] = mapped_column(sa.String(64))  # the table's name
    row_id: Mapped[int] = mapped_column()
    field: Mapped[str] = mapped_column(sa.String(64))
    # The tenant of the row, when it has one: a search by a tenant-scoped user sees only its own.
    organisation_id: Mapped[int | None] = mapped_column()


class PersonSearch(Audited, Base):
    """A search made in the blind index: who searched, when, for which kind of value, how many records
    were found. The query itself is kept only as its keyed hash (the one the index compares), never in
    clear: whoever holds the key can check whether a given person was looked up, nobody else can read
    who was. Audited, so every search is also in the audit trail."""

    __tablename__ = "person_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    searched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    searched_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    kind: Mapped[IndexKind] = mapped_column(str_enum(IndexKind))
    query_token: Mapped[str] = mapped_column(sa.String(64))
    results: Mapped[int] = mapped_column(default=0)
