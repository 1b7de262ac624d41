"""Working days and legal periods: French public holidays (the `holidays` package) plus the
Département's closure days, and the deadline arithmetic every clock uses (GDPR 12(3) and 33(1),
EU Regulation 1182/71 for periods in months). Dates are Europe/Paris dates; instants are aware UTC."""

from __future__ import annotations

import calendar as _monthcal
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import holidays

from vigie.timeutil import PARIS

EXTENSION_KEY = "vigie.calendar"

# e.g. "57" (Moselle) and "6AE" (Alsace) add Good Friday and 26 December; aliases "Moselle", "Alsace".
SUBDIVISIONS: tuple[str, ...] = (*holidays.France.subdivisions, *holidays.France.subdivisions_aliases)

# A period's last instant: the end of the day in Paris, to the second (as the DESIGN states it).
END_OF_DAY = time(23, 59, 59)


def _plain_date(value: date) -> date:
    # A datetime is a date subclass: accepting one would silently use its UTC date, not its Paris date.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"a date is expected, not {type(value).__name__}: convert to Europe/Paris first")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime refused: pass an aware datetime (Vigie stores UTC)")
    return value


class WorkingCalendar:
    """Monday to Friday, minus French public holidays (of a subdivision, if given) and closure days."""

    def __init__(self, subdivision: str | None = None, closures: Iterable[date] = ()) -> None:
        # Codes and aliases only: the package still takes deprecated names ("Alsace-Moselle") with a
        # warning, and will drop them in some release; an unknown code would fail mid-computation.
        if subdivision is not None and subdivision not in SUBDIVISIONS:
            raise ValueError(f"unknown French holiday subdivision {subdivision!r}: use one of {SUBDIVISIONS}")
        self.subdivision = subdivision
        self.closures: frozenset[date] = frozenset(_plain_date(d) for d in closures)
        # Each year is computed on first use and never changes afterwards, so a calendar shared by
        # the app's threads needs no lock (at worst a year is computed twice).
        self._years: dict[int, Mapping[date, str]] = {}

    def _holidays_of(self, year: int) -> Mapping[date, str]:
        found = self._years.get(year)
        if found is None:
            # French names whatever the server's locale (the package otherwise follows LANG).
            table = holidays.country_holidays("FR", subdiv=self.subdivision, years=year, language="fr")
            found = self._years[year] = dict(table)
        return found

    def holiday_name(self, d: date) -> str | None:
        d = _plain_date(d)
        return self._holidays_of(d.year).get(d)

    def is_working_day(self, d: date) -> bool:
        d = _plain_date(d)
        return d.weekday() < 5 and d not in self.closures and self.holiday_name(d) is None

    def roll_forward(self, d: date) -> date:
        """d if it is a working day, else the next working day."""
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d; d itself never counts, working day or not."""
        if n < 1:
            raise ValueError(f"at least one working day is expected, not {n}")
        d = _plain_date(d)
        while n:
            d += timedelta(days=1)
            if self.is_working_day(d):
                n -= 1
        return d

    def add_months(self, d: date, n: int) -> date:
        """Regulation 1182/71 art. 3: the same date n months later, or that month's last day when it
        has none (2(c)); a period ending on a Saturday, Sunday or public holiday ends with the next
        working day (4)."""
        # Only forward: a period counted backwards ("two months before expiry") must not roll forward.
        if n < 1:
            raise ValueError(f"at least one month is expected, not {n}")
        d = _plain_date(d)
        year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
        last_day = _monthcal.monthrange(year, month0 + 1)[1]
        return self.roll_forward(date(year, month0 + 1, min(d.day, last_day)))


def hours_after(start: datetime, hours: int) -> datetime:
    """start + hours of elapsed time (GDPR 33(1)): added in UTC, so a clock change in Paris never adds
    or loses an hour."""
    return _aware(start).astimezone(UTC) + timedelta(hours=hours)


def end_of_day(d: date) -> datetime:
    """23:59:59 Europe/Paris on d, as UTC."""
    return datetime.combine(_plain_date(d), END_OF_DAY, tzinfo=PARIS).astimezone(UTC)


def paris_date(moment: datetime) -> date:
    """The calendar date in Paris: 22:30 UTC on 6 May is already 7 May there."""
    return _aware(moment).astimezone(PARIS).date()


def working_days_deadline(start: datetime, n: int, cal: WorkingCalendar) -> tuple[date, datetime]:
    """(due_date, due_at): the n-th working day after the start's Paris date, due at its end."""
    due = cal.add_working_days(paris_date(start), n)
    return due, end_of_day(due)


def months_deadline(start: datetime, n: int, cal: WorkingCalendar) -> tuple[date, datetime]:
    """(due_date, due_at): n months after the start's Paris date (Regulation 1182/71), due at its end."""
    due = cal.add_months(paris_date(start), n)
    return due, end_of_day(due)


def _closure_dates(values: Iterable[Any]) -> tuple[date, ...]:
    # load_config yields dates; explicit overrides (tests, instance config) may give ISO strings.
    return tuple(sorted({date.fromisoformat(v) if isinstance(v, str) else _plain_date(v) for v in values}))


def calendar_for_app() -> WorkingCalendar:
    """The current app's calendar, built from HOLIDAY_SUBDIVISION and CLOSURE_DAYS and kept in
    app.extensions; rebuilt if that configuration changed since (tests change it)."""
    from flask import current_app

    key = (
        current_app.config.get("HOLIDAY_SUBDIVISION"),
        _closure_dates(current_app.config.get("CLOSURE_DAYS", ())),
    )
    cached: tuple[tuple[str | None, tuple[date, ...]], WorkingCalendar] | None = current_app.extensions.get(
        EXTENSION_KEY
    )
    if cached is not None and cached[0] == key:
        return cached[1]
    cal = WorkingCalendar(subdivision=key[0], closures=key[1])
    current_app.extensions[EXTENSION_KEY] = (key, cal)
    return cal
