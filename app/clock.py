"""The service's clock. "Today" is the district's local date (Asia/Shanghai by default), never the
host's: a server or test machine on UTC is eight hours behind the district, so between 16:00 and 24:00
UTC the two dates differ. Every reading of the time goes through here."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.config import get_settings

_replay_shift: ContextVar[timedelta] = ContextVar("replay_shift", default=timedelta(0))


def now() -> datetime:
    """This moment, timezone-aware, in UTC (how moments are stored)."""
    return datetime.now(UTC) + _replay_shift.get()


@contextmanager
def replaying(moment: datetime) -> Iterator[None]:
    """Within the block, this thread's clock reads `moment` (and runs on from there): the demo plays a
    district's past weeks through the real code paths, so every rule sees the dates it would have."""
    token = _replay_shift.set(moment - datetime.now(UTC))
    try:
        yield
    finally:
        _replay_shift.reset(token)


def district_zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def local_now() -> datetime:
    """This moment on the district's wall clock."""
    return now().astimezone(district_zone())


def local_today() -> date:
    return local_now().date()


def local_date(moment: datetime) -> date:
    """The district's local date of a moment."""
    return moment.astimezone(district_zone()).date()


def unix_seconds() -> int:
    """Whole seconds since the epoch (signature timestamps)."""
    return int(now().timestamp())


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
