"""人均纯收入's rule, defined once for its two implementations: per report in Decimal for the API
(app/services/registry/income.py, the reference) and vectorised over every report in numpy for the risk
engine (app/risk/panel.py). tests/registry/test_income_agreement.py holds them to the same figures.

net = wages + business + property + transfer + insurance payouts (理赔, a transfer by the policy's formula)
− production_cost, per report period (NET_INCOME_TERMS). The figure at a report is annualised over the
WINDOW_MONTHS calendar months ending at its period_end: the report itself and the household's reports that
end in the window before it begins; one only partly in the window counts pro rata by days; when the reports
cover less than the whole window the sum is scaled up to a full year and the figure is marked estimated
(one quarter of tobacco or flower income is not a year's). It is divided by the household size at
period_end: the members who joined on or before that day and had not yet left.

The formulas take either plain values (dates, ints, Decimal) or numpy arrays of the same things (day
numbers, amounts as floats): one expression serves both. annual_net is the Decimal computation whole.
"""

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any, Final, NamedTuple, overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# report column -> +1 (adds to net income) or -1 (subtracts)
NET_INCOME_TERMS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "wages": +1,
        "business": +1,
        "property": +1,
        "transfer": +1,
        "insurance_payout": +1,
        "production_cost": -1,
    }
)
WINDOW_MONTHS: Final = 12
CENT: Final = Decimal("0.01")


def to_cents(amount: Decimal) -> Decimal:
    """Figures are rounded half up to the cent: away from zero at exactly half a cent."""
    return amount.quantize(CENT, ROUND_HALF_UP)


@overload
def net_of(amounts: Mapping[str, Decimal]) -> Decimal: ...
@overload
def net_of(amounts: Mapping[str, FloatArray]) -> FloatArray: ...
def net_of(amounts: Mapping[str, Any]) -> Any:
    """One period's net income from its amounts by report column (every term of NET_INCOME_TERMS)."""
    return sum(sign * amounts[column] for column, sign in NET_INCOME_TERMS.items())


@overload
def counts_before(end: date, window_start: date, target_start: date) -> bool: ...
@overload
def counts_before(end: int, window_start: int, target_start: int) -> bool: ...
@overload
def counts_before(end: IntArray, window_start: IntArray, target_start: IntArray) -> BoolArray: ...
def counts_before(end: Any, window_start: Any, target_start: Any) -> Any:
    """Whether an earlier report ending on `end` counts in the window of a report starting on
    target_start: it ends in the window, before the target begins (one overlapping the target is the
    report it corrects, or its correction)."""
    return (end >= window_start) & (end < target_start)


@overload
def pro_rata(amount: Decimal, days_in_window: int, period_days: int) -> Decimal: ...
@overload
def pro_rata(amount: FloatArray, days_in_window: FloatArray, period_days: IntArray) -> FloatArray: ...
def pro_rata(amount: Any, days_in_window: Any, period_days: Any) -> Any:
    """The part of a period's amount that falls in the window, by days."""
    return amount * days_in_window / period_days


@overload
def annualised(total: Decimal, covered_days: int, window_days: int) -> Decimal: ...
@overload
def annualised(total: FloatArray, covered_days: FloatArray, window_days: IntArray) -> FloatArray: ...
def annualised(total: Any, covered_days: Any, window_days: Any) -> Any:
    """The window's total scaled to the whole window from the days the reports cover."""
    return total * window_days / covered_days


class Part(NamedTuple):
    """One report's share of a window."""

    net: Decimal
    days_in_window: int
    period_days: int


def annual_net(parts: Iterable[Part], window_days: int) -> tuple[Decimal, int]:
    """The window's net income scaled to the whole window, to the cent, and the days the parts cover.
    Decimal: what the reports API shows; the risk engine reaches the same cents in floats, and comes
    here where floats cannot tell."""
    total = Decimal(0)
    covered = 0
    for part in parts:
        covered += part.days_in_window
        total += pro_rata(part.net, part.days_in_window, part.period_days)
    return to_cents(annualised(total, covered, window_days)), covered


@overload
def estimated(covered_days: int, window_days: int) -> bool: ...
@overload
def estimated(covered_days: FloatArray, window_days: IntArray) -> BoolArray: ...
def estimated(covered_days: Any, window_days: Any) -> Any:
    """Scaled up from part of the window: an estimate, and the figure says so."""
    return covered_days < window_days


@overload
def member_on(joined: date, left: date, day: date) -> bool: ...
@overload
def member_on(joined: IntArray, left: IntArray, day: IntArray) -> BoolArray: ...
def member_on(joined: Any, left: Any, day: Any) -> Any:
    """Counted in the household on `day`: joined on or before it and not yet left (a member leaving on
    period_end is not counted; one joining on it is). No joining date: always there; no leaving date:
    still there (pass the earliest and the latest day)."""
    return (joined <= day) & (left > day)
