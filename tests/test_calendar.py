"""Working-day calendar and deadline arithmetic: French holidays, Alsace-Moselle, closure days,
Regulation 1182/71 month periods, clock changes and the Paris date of a UTC instant.

Every expected date below was checked against the real 2024-2026 calendars (weekday and holiday)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask

from vigie.config import ConfigurationError, load_config
from vigie.deadlines.calendar import (
    WorkingCalendar,
    calendar_for_app,
    end_of_day,
    hours_after,
    months_deadline,
    paris_date,
    working_days_deadline,
)
from vigie.timeutil import PARIS

FRANCE = WorkingCalendar()
ALSACE_MOSELLE = WorkingCalendar(subdivision="57")  # "6AE" (Alsace) has the same two extra days


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


def test_working_days_skip_weekends_and_holidays() -> None:
    assert FRANCE.add_working_days(date(2025, 4, 18), 3) == date(2025, 4, 24)  # Easter Monday 21 April
    assert FRANCE.add_working_days(date(2025, 5, 7), 3) == date(2025, 5, 13)  # 8 May
    assert FRANCE.add_working_days(date(2025, 5, 28), 3) == date(2025, 6, 3)  # Ascension 29 May
    assert FRANCE.add_working_days(date(2025, 5, 10), 3) == date(2025, 5, 14)  # from a Saturday
    assert FRANCE.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 2)  # across the year


def test_the_start_day_never_counts() -> None:
    assert FRANCE.add_working_days(date(2025, 5, 5), 1) == date(2025, 5, 6)  # a working Monday
    assert FRANCE.add_working_days(date(2025, 5, 8), 1) == date(2025, 5, 9)  # a holiday
    with pytest.raises(ValueError, match="at least one working day"):
        FRANCE.add_working_days(date(2025, 5, 5), 0)


def test_french_public_holidays() -> None:
    assert not FRANCE.is_working_day(date(2025, 6, 9))  # Whit Monday
    for day in (
        date(2025, 11, 11),
        date(2025, 12, 25),
        date(2026, 1, 1),
        date(2025, 7, 14),
        date(2025, 8, 15),
        date(2025, 11, 1),
    ):
        assert FRANCE.holiday_name(day) is not None, day
        assert not FRANCE.is_working_day(day), day
    assert FRANCE.holiday_name(date(2025, 7, 14)) == "Fête nationale"  # French whatever LANG says
    assert FRANCE.holiday_name(date(2025, 7, 15)) is None
    assert FRANCE.is_working_day(date(2025, 7, 15))
    assert not FRANCE.is_working_day(date(2025, 5, 10))  # a Saturday
    assert FRANCE.holiday_name(date(2087, 12, 25)) == "Noël"  # any year, loaded on demand


def test_alsace_moselle_adds_good_friday_and_26_december() -> None:
    assert FRANCE.is_working_day(date(2025, 4, 18))
    assert FRANCE.is_working_day(date(2025, 12, 26))
    assert not ALSACE_MOSELLE.is_working_day(date(2025, 4, 18))
    assert not ALSACE_MOSELLE.is_working_day(date(2025, 12, 26))
    assert not WorkingCalendar(subdivision="6AE").is_working_day(date(2025, 4, 18))
    assert ALSACE_MOSELLE.add_working_days(date(2025, 4, 17), 1) == date(2025, 4, 22)


def test_unknown_or_deprecated_subdivision_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown French holiday subdivision"):
        WorkingCalendar(subdivision="67")
    with pytest.raises(ValueError, match="unknown French holiday subdivision"):
        WorkingCalendar(subdivision="Alsace-Moselle")  # deprecated by the holidays package


def test_closure_days_are_skipped() -> None:
    cal = WorkingCalendar(closures=[date(2025, 5, 9)])  # the Friday after 8 May
    assert not cal.is_working_day(date(2025, 5, 9))
    assert cal.holiday_name(date(2025, 5, 9)) is None  # closed, but not a public holiday
    assert cal.add_working_days(date(2025, 5, 7), 3) == date(2025, 5, 14)
    assert FRANCE.add_working_days(date(2025, 5, 7), 3) == date(2025, 5, 13)


def test_datetimes_are_refused_where_a_paris_date_is_expected() -> None:
    with pytest.raises(TypeError, match="a date is expected"):
        FRANCE.is_working_day(datetime(2025, 5, 6, 22, 30, tzinfo=UTC))


def test_roll_forward() -> None:
    assert FRANCE.roll_forward(date(2025, 5, 7)) == date(2025, 5, 7)
    assert FRANCE.roll_forward(date(2025, 5, 8)) == date(2025, 5, 9)
    assert FRANCE.roll_forward(date(2025, 5, 10)) == date(2025, 5, 12)


def test_months_follow_regulation_1182_71() -> None:
    assert FRANCE.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)  # no 31 February
    assert FRANCE.add_months(date(2025, 4, 1), 1) == date(2025, 5, 2)  # 1 May is a holiday
    assert FRANCE.add_months(date(2025, 3, 31), 1) == date(2025, 4, 30)
    assert FRANCE.add_months(date(2024, 1, 30), 1) == date(2024, 2, 29)  # leap year, a Thursday
    assert FRANCE.add_months(date(2025, 5, 15), 3) == date(2025, 8, 18)  # 15 August, a Friday
    assert FRANCE.add_months(date(2025, 6, 14), 1) == date(2025, 7, 15)  # 14 July, a Monday
    assert FRANCE.add_months(date(2025, 11, 30), 3) == date(2026, 3, 2)  # 28 Feb 2026 is a Saturday
    with pytest.raises(ValueError, match="at least one month"):
        FRANCE.add_months(date(2025, 5, 15), -2)


def test_72_hours_are_elapsed_time_across_clock_changes() -> None:
    spring = hours_after(paris(2025, 3, 28, 10), 72)  # clocks go forward on the 30th
    assert spring == paris(2025, 3, 31, 11)
    assert spring.tzinfo is UTC
    assert hours_after(paris(2025, 10, 24, 10), 72) == paris(2025, 10, 27, 9)  # back on the 26th
    with pytest.raises(ValueError, match="naive"):
        hours_after(datetime(2025, 3, 28, 10), 72)


def test_end_of_day_is_paris_midnight_minus_a_second() -> None:
    assert end_of_day(date(2025, 5, 13)) == datetime(2025, 5, 13, 21, 59, 59, tzinfo=UTC)
    assert end_of_day(date(2025, 1, 13)) == datetime(2025, 1, 13, 22, 59, 59, tzinfo=UTC)
    assert end_of_day(date(2025, 3, 30)) == datetime(2025, 3, 30, 21, 59, 59, tzinfo=UTC)  # change day


def test_working_days_deadline_counts_from_the_paris_date() -> None:
    start = datetime(2025, 5, 6, 22, 30, tzinfo=UTC)  # already Wednesday 7 May, 00:30, in Paris
    assert paris_date(start) == date(2025, 5, 7)
    due_date, due_at = working_days_deadline(start, 3, FRANCE)
    assert due_date == date(2025, 5, 13)  # from 6 May it would be 12 May
    assert due_at == datetime(2025, 5, 13, 21, 59, 59, tzinfo=UTC)
    assert due_at.astimezone(PARIS) == paris(2025, 5, 13, 23, 59, 59)

    winter_date, winter_at = working_days_deadline(datetime(2025, 1, 13, 9, tzinfo=UTC), 3, FRANCE)
    assert winter_date == date(2025, 1, 16)
    assert winter_at == datetime(2025, 1, 16, 22, 59, 59, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        working_days_deadline(datetime(2025, 5, 6, 22, 30), 3, FRANCE)


def test_months_deadline_counts_from_the_paris_date() -> None:
    start = datetime(2025, 3, 31, 22, 30, tzinfo=UTC)  # already 1 April in Paris
    assert months_deadline(start, 1, FRANCE) == (
        date(2025, 5, 2),
        datetime(2025, 5, 2, 21, 59, 59, tzinfo=UTC),
    )
    assert months_deadline(paris(2025, 5, 15, 16), 3, FRANCE)[0] == date(2025, 8, 18)


def test_closure_days_from_the_environment(tmp_path: Path) -> None:
    env = {"VIGIE_ENV": "development", "VIGIE_CLOSURE_DAYS": " 2025-12-24, 2025-05-02,,2025-05-02"}
    assert load_config(tmp_path, env=env)["CLOSURE_DAYS"] == (date(2025, 5, 2), date(2025, 12, 24))
    assert load_config(tmp_path, env={"VIGIE_ENV": "development"})["CLOSURE_DAYS"] == ()
    for bad in ("2025-13-01", "02/05/2025", "20250502", "2025-02-30"):
        env = {"VIGIE_ENV": "development", "VIGIE_CLOSURE_DAYS": f"2025-05-02,{bad}"}
        with pytest.raises(ConfigurationError, match=f"VIGIE_CLOSURE_DAYS holds '{bad}'"):
            load_config(tmp_path, env=env)


def test_holiday_subdivision_from_the_environment(tmp_path: Path) -> None:
    env = {"VIGIE_ENV": "development", "VIGIE_HOLIDAY_SUBDIVISION": "6AE"}
    assert load_config(tmp_path, env=env)["HOLIDAY_SUBDIVISION"] == "6AE"
    assert load_config(tmp_path, env={"VIGIE_ENV": "development"})["HOLIDAY_SUBDIVISION"] is None
    env["VIGIE_HOLIDAY_SUBDIVISION"] = "Alsace-Moselle"
    with pytest.raises(ConfigurationError, match="VIGIE_HOLIDAY_SUBDIVISION='Alsace-Moselle'"):
        load_config(tmp_path, env=env)


@pytest.fixture
def calendar_config(app: Flask) -> Iterator[dict[str, object]]:
    saved = {k: app.config[k] for k in ("HOLIDAY_SUBDIVISION", "CLOSURE_DAYS")}
    yield app.config
    app.config.update(saved)


def test_calendar_for_app_follows_the_configuration(app: Flask, calendar_config: dict[str, object]) -> None:
    default = calendar_for_app()
    assert calendar_for_app() is default  # built once per app
    assert default.is_working_day(date(2025, 4, 18))

    calendar_config["HOLIDAY_SUBDIVISION"] = "57"
    calendar_config["CLOSURE_DAYS"] = ("2025-05-09",)  # an override may give ISO strings
    local = calendar_for_app()
    assert not local.is_working_day(date(2025, 4, 18))
    assert not local.is_working_day(date(2025, 5, 9))
    assert local.add_working_days(date(2025, 5, 7), 3) == date(2025, 5, 14)
