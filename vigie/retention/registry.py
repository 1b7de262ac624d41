"""The registry of retention policies, and the period arithmetic they share.

A policy says which records are due (`due(now)`: one SQL query giving each record's id and a label that
names no one) and what happens to them (`apply(candidates, now)`: anonymise, delete or erase, through
the ORM so the audit trail records every row it changes). Its period comes from the configuration
(`setting`, set by the environment variable `env_var`), checked when the policy runs.

Periods are counted in whole days, Europe/Paris: a record whose reference moment (an answer, the end of
a convention, a sign-in) falls on day D is due from the day D + period, that day included. Months and
years are calendar months: the same date N months later, or that month's last day when it has none
(31 January + 1 month = 28 or 29 February). Retention periods are not procedural deadlines: they never
roll forward to a working day.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from vigie.errors import DomainError
from vigie.timeutil import PARIS, to_paris


class Unit(enum.StrEnum):
    DAYS = "days"
    MONTHS = "months"
    YEARS = "years"


class Action(enum.StrEnum):
    ANONYMISE = "anonymise"  # identity fields replaced by a marker, the record stays
    DELETE = "delete"  # rows deleted (and their files)
    ERASE = "erase"  # content erased: rows deleted, or emptied when something must stay (a key)


UNIT_LABELS = {
    Unit.DAYS: _l("days"),
    Unit.MONTHS: _l("months"),
    Unit.YEARS: _l("years"),
}

ACTION_LABELS = {
    Action.ANONYMISE: _l("anonymise"),
    Action.DELETE: _l("delete"),
    Action.ERASE: _l("erase"),
}


class RetentionSettingError(DomainError):
    """A period that cannot be applied (zero, negative, not a number): the command stops before any change."""

    code = "retention_setting"


def _shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def _is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount < 1:
            raise ValueError(f"a retention period is at least one {self.unit.value[:-1]}, not {self.amount}")

    @property
    def months(self) -> int:
        return self.amount * 12 if self.unit == Unit.YEARS else self.amount

    def after(self, day: date) -> date:
        """The day a record of `day` becomes due."""
        if self.unit == Unit.DAYS:
            return day + timedelta(days=self.amount)
        return _shift_months(day, self.months)

    def limit(self, today: date) -> date:
        """The latest reference day whose records are due on `today`: after(d) <= today ⟺ d <= limit."""
        if self.unit == Unit.DAYS:
            return today - timedelta(days=self.amount)
        earlier = _shift_months(today, -self.months)
        if _is_month_end(today):
            # 28 February is one month after 28, 29, 30 and 31 January: the whole end of January is due.
            return earlier.replace(day=calendar.monthrange(earlier.year, earlier.month)[1])
        return earlier

    def describe(self) -> str:
        if self.unit == Unit.DAYS:
            return ngettext("%(num)d day", "%(num)d days", self.amount)
        if self.unit == Unit.MONTHS:
            return ngettext("%(num)d month", "%(num)d months", self.amount)
        return ngettext("%(num)d year", "%(num)d years", self.amount)


@dataclass(frozen=True)
class Cutoff:
    """What is due on one run: reference days up to `day` (Paris), reference instants before `before`."""

    day: date

    @property
    def before(self) -> datetime:
        """The first instant that is not due: midnight in Paris at the start of the day after `day`."""
        return datetime.combine(self.day + timedelta(days=1), time.min, tzinfo=PARIS).astimezone(UTC)


@dataclass(frozen=True)
class Candidate:
    id: int
    label: str | None  # a reference or an organisation's name: never personal data


@dataclass
class Applied:
    count: int = 0
    # Storage keys of files to delete once the transaction is committed (never before: a rollback would
    # leave records pointing at files that are gone).
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Policy:
    name: str  # an identifier: "access_requests"
    description: Any  # a lazy translated string
    counted_from: Any  # a lazy translated string: "after the answer"
    action: Action
    unit: Unit
    setting: str  # the configuration key holding the number of units
    env_var: str  # the environment variable that sets it
    # The due records for a cutoff: a SELECT of two columns, the record's id and a label (or NULL).
    find: Callable[[Cutoff], sa.Select[int, str]]
    # Anonymise, delete or erase those ids (flush, never commit); what was done.
    change: Callable[[list[int], datetime], Applied]

    def period(self) -> Period:
        raw = current_app.config.get(self.setting)
        amount = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if amount is None and isinstance(raw, str) and raw.strip().isdigit():
            amount = int(raw.strip())
        if amount is None or amount < 1:
            raise RetentionSettingError(
                _(
                    "The retention period of “%(policy)s” must be a whole number of %(unit)s above zero, "
                    "not %(value)s: set %(env)s.",
                    policy=self.name,
                    unit=str(UNIT_LABELS[self.unit]),
                    value=repr(raw),
                    env=self.env_var,
                )
            )
        return Period(amount, self.unit)

    def cutoff(self, now: datetime) -> Cutoff:
        return Cutoff(self.period().limit(to_paris(now).date()))

    def due(self, now: datetime) -> sa.Select[int, str]:
        """The records due at `now`, as a query (id, label): nothing is read until it is executed."""
        return self.find(self.cutoff(now))

    def apply(self, candidates: Sequence[Candidate], now: datetime) -> Applied:
        if not candidates:
            return Applied()
        return self.change([c.id for c in candidates], now)


_REGISTRY: dict[str, Policy] = {}


def register_policy(policy: Policy) -> Policy:
    """Add a policy (once: every app the process creates registers the same objects)."""
    existing = _REGISTRY.get(policy.name)
    if existing is not None and existing is not policy:
        raise ValueError(f"retention policy {policy.name!r} is already registered")
    _REGISTRY[policy.name] = policy
    return policy


def all_policies() -> list[Policy]:
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def get_policy(name: str) -> Policy:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown retention policy {name!r}") from None
