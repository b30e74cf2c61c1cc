"""The panel's calendar arithmetic over arrays of day numbers agrees with Python's dates on every day of
two centuries: a wrong month end or leap day would shift every income window it touches."""

from datetime import date

import numpy as np
import pytest

from app.clock import add_months
from app.risk import panel as pn

DAYS = np.arange(date(1899, 12, 1).toordinal(), date(2101, 3, 1).toordinal(), dtype=np.int64)
DATES = [date.fromordinal(int(day)) for day in DAYS]


def test_each_day_number_gives_its_year_month_and_day_and_back() -> None:
    year, month, dom = pn.civil(DAYS)
    assert year.tolist() == [d.year for d in DATES]
    assert month.tolist() == [d.month for d in DATES]
    assert dom.tolist() == [d.day for d in DATES]
    assert (pn.ordinal(year, month, dom) == DAYS).all()
    assert pn.year_of(DAYS).tolist() == [d.year for d in DATES]
    assert pn.month_of(DAYS).tolist() == [(d.year - 1970) * 12 + d.month - 1 for d in DATES]


@pytest.mark.parametrize("months", [-25, -12, -1, 1, 12, 13])
def test_months_are_added_as_the_clock_adds_them_clamped_to_the_months_end(months: int) -> None:
    expected = [add_months(d, months).toordinal() for d in DATES]
    assert pn.add_months(DAYS, months).tolist() == expected
    # the cases that go wrong first: the 31st into a shorter month, and 29 February
    assert pn.add_months(np.array([date(2024, 1, 31).toordinal()]), 1).tolist() == [
        date(2024, 2, 29).toordinal()
    ]
    assert pn.add_months(np.array([date(2024, 2, 29).toordinal()]), -12).tolist() == [
        date(2023, 2, 28).toordinal()
    ]
