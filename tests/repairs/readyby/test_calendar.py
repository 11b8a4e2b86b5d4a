"""Working-hours arithmetic: weekends, holidays, evenings and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured

from repairs.readyby.calendar import WorkingCalendar, parse_opening_hours
from repairs.readyby.wording import between_phrase, duration_phrase, likely_phrase

LONDON = ZoneInfo("Europe/London")
HOURS = parse_opening_hours("mon-fri 09:00-18:00, sat 10:00-16:00")


def cal(holidays=()) -> WorkingCalendar:
    return WorkingCalendar(HOURS, holidays, "Europe/London")


def at(y, m, d, h=0, minute=0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=LONDON)


def test_parsing_and_bad_specs():
    assert HOURS[0][0].hour == 9 and HOURS[4][1].hour == 18 and HOURS[5][1].hour == 16 and 6 not in HOURS
    for bad in ("mon 18:00-09:00", "funday 09:00-10:00", "mon-fri 9-5", ""):
        with pytest.raises(ImproperlyConfigured):
            parse_opening_hours(bad)


def test_hours_within_a_day_and_outside_opening_hours():
    c = cal()
    # Monday 7 December 2026
    assert c.hours_between(at(2026, 12, 7, 9), at(2026, 12, 7, 18)) == 9
    assert c.hours_between(at(2026, 12, 7, 7), at(2026, 12, 7, 10, 30)) == 1.5
    assert c.hours_between(at(2026, 12, 7, 19), at(2026, 12, 8, 8)) == 0  # the night counts nothing


def test_weekend_counts_saturday_only():
    c = cal()
    # Friday 17:00 → Monday 10:00: 1 h Friday + 6 h Saturday + 1 h Monday.
    assert c.hours_between(at(2026, 12, 11, 17), at(2026, 12, 14, 10)) == 8
    # 2 working hours from Friday 17:00: Friday's last hour, then Saturday 10–11.
    assert c.add_hours(at(2026, 12, 11, 17), 2) == at(2026, 12, 12, 11)
    # 7 hours from Saturday 10:00: Saturday's 6, then Monday 09–10 (Sunday closed).
    assert c.add_hours(at(2026, 12, 12, 10), 7) == at(2026, 12, 14, 10)


def test_holidays_are_skipped():
    c = cal(holidays=[date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 28)])
    # Thursday 24 Dec 17:00 + 3 h: 1 h Thursday, Fri 25 and Sat 26 and Mon 28 closed → Tue 29 11:00.
    assert c.add_hours(at(2026, 12, 24, 17), 3) == at(2026, 12, 29, 11)
    assert c.hours_between(at(2026, 12, 24, 18), at(2026, 12, 29, 9)) == 0


def test_daylight_saving_changes_keep_local_opening_hours():
    c = cal()
    # Clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026.
    assert c.hours_between(at(2026, 3, 27, 9), at(2026, 3, 30, 18)) == 9 + 6 + 9
    assert c.add_hours(at(2026, 3, 28, 15), 2) == at(2026, 3, 30, 10)
    assert c.add_hours(at(2026, 3, 28, 15), 2).utcoffset().total_seconds() == 3600  # BST on Monday
    assert c.add_hours(at(2026, 10, 24, 15), 2) == at(2026, 10, 26, 10)
    assert c.add_hours(at(2026, 10, 24, 15), 2).utcoffset().total_seconds() == 0  # GMT on Monday
    # Inputs in any zone mean the same instants.
    assert c.hours_between(datetime(2026, 7, 1, 8, tzinfo=UTC), datetime(2026, 7, 1, 17, tzinfo=UTC)) == 9


def test_add_and_between_are_inverse_and_next_opening():
    c = cal()
    start = at(2026, 12, 10, 16, 20)
    for hours in (0.25, 1, 7.5, 30, 100):
        assert abs(c.hours_between(start, c.add_hours(start, hours)) - hours) < 1e-6
    assert c.add_hours(start, 0) == start
    assert c.next_opening(at(2026, 12, 12, 20)) == at(2026, 12, 14, 9)  # Saturday night → Monday
    assert c.next_opening(at(2026, 12, 14, 11)) == at(2026, 12, 14, 11)
    with pytest.raises(ValueError):
        c.clock(datetime(2026, 12, 14, 11))  # naive


def test_wording():
    c = cal()
    now = at(2026, 12, 7, 10)  # Monday morning
    assert likely_phrase(at(2026, 12, 10, 14), now, c) == "Thursday afternoon"
    assert likely_phrase(at(2026, 12, 7, 16), now, c) == "this afternoon"
    assert likely_phrase(at(2026, 12, 8, 10), now, c) == "tomorrow morning"
    assert likely_phrase(at(2026, 12, 17, 10), now, c) == "Thursday 17 December, morning"
    assert (
        between_phrase(at(2026, 12, 9, 15), at(2026, 12, 11, 11, 50), now, c)
        == "most likely between Wednesday 3 pm and Friday noon"
    )
    assert duration_phrase(3.2, c) == "about 3 working hours"
    assert duration_phrase(9, c) == "about a working day"
    assert duration_phrase(30, c) == "about 4 working days"
