"""``--clock``: run the tests as if today were another date.

``pytest --clock=2028-02-29`` or ``--clock=+45d`` moves the whole process's clock there (it keeps
ticking) with time-machine, so CI can prove that date-sensitive tests pass on any date, not just the
day they were written. Tests that need an exact instant still freeze or inject it themselves.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        default=None,
        help="run as if now were this date: YYYY-MM-DD (noon UTC) or +Nd / -Nd from today",
    )


def parse_clock(value: str, today: datetime | None = None) -> datetime:
    today = today or datetime.now(UTC)
    if match := re.fullmatch(r"([+-]\d+)d", value):
        return today + timedelta(days=int(match.group(1)))
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise pytest.UsageError(f"--clock takes YYYY-MM-DD or +Nd, not {value!r}") from None
    return day.replace(hour=12, tzinfo=UTC)


def pytest_configure(config):
    value = config.getoption("--clock")
    if not value:
        return
    import time_machine

    target = parse_clock(value)
    traveller = time_machine.travel(target, tick=True)
    traveller.start()
    config._clock_traveller = traveller
    config.stash[_clock_key] = target


_clock_key = pytest.StashKey[datetime]()


def pytest_report_header(config):
    if _clock_key in config.stash:
        return f"clock: tests run as if now were {config.stash[_clock_key]:%Y-%m-%d %H:%M} UTC"
    return None


def pytest_unconfigure(config):
    traveller = getattr(config, "_clock_traveller", None)
    if traveller is not None:
        traveller.stop()
