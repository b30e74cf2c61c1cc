"""The service's notion of "today": the district's local date, not UTC."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.config import get_settings


def local_today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def local_date(moment: datetime) -> date:
    """The district's local date of a moment."""
    return moment.astimezone(ZoneInfo(get_settings().timezone)).date()


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
