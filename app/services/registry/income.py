"""人均纯收入: per-capita net income, annualised over the 12 months ending at a report's period_end.

Pure functions over plain values, so the rule can be tested without a database.
net = wages + business + property + transfer + insurance payouts (理赔, a transfer by the policy's
formula) − production_cost, per report period. A report that only partly falls in the window counts pro
rata by days; when the reports cover less than the whole window the sum is scaled up to a full year and
the figure is marked estimated (one quarter of tobacco or flower income is not a year's).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from app.clock import add_months

CENT = Decimal("0.01")


class PeriodIncome(NamedTuple):
    report_id: int
    period_start: date
    period_end: date
    net: Decimal


class Membership(NamedTuple):
    joined_on: date | None
    left_on: date | None


@dataclass(frozen=True, slots=True)
class IncomeResult:
    window_start: date
    window_end: date
    report_ids: list[int]
    covered_days: int
    net_income: Decimal
    household_size: int
    per_capita_net_income: Decimal | None
    estimated: bool  # the reports cover less than the 12 months: scaled up from what they cover


def net_income(
    wages: Decimal, business: Decimal, prop: Decimal, transfer: Decimal, cost: Decimal, payout: Decimal
) -> Decimal:
    """人均纯收入's numerator for one period: insurance payouts count as transfer income."""
    return wages + business + prop + transfer + payout - cost


def household_size_at(members: Iterable[Membership], day: date) -> int:
    """Members active on `day`: joined on or before it (or always there) and not yet left."""
    return sum(
        1
        for m in members
        if (m.joined_on is None or m.joined_on <= day) and (m.left_on is None or m.left_on > day)
    )


def income_window(period_end: date) -> tuple[date, date]:
    """The 12 calendar months ending at period_end: 28 Feb 2025 → 1 Mar 2024 … 28 Feb 2025."""
    return add_months(period_end + timedelta(days=1), -12), period_end


def _days(start: date, end: date) -> int:
    return (end - start).days + 1


def per_capita(
    target: PeriodIncome, others: Sequence[PeriodIncome], members: Sequence[Membership]
) -> IncomeResult:
    """Annualised per-capita net income at target.period_end.

    `others` are the household's other effective reports; those overlapping the target (the report
    it corrects, or the one correcting it) are ignored, as are reports ending after it.
    """
    window_start, window_end = income_window(target.period_end)
    used = [target] + [
        r
        for r in others
        if r.report_id != target.report_id
        and r.period_end <= window_end
        and r.period_end >= window_start
        and (r.period_end < target.period_start or r.period_start > target.period_end)
    ]
    total = Decimal(0)
    covered = 0
    for r in used:
        overlap = _days(max(r.period_start, window_start), min(r.period_end, window_end))
        covered += overlap
        total += r.net * overlap / _days(r.period_start, r.period_end)
    window_days = _days(window_start, window_end)
    annual = (total * window_days / covered).quantize(CENT, ROUND_HALF_UP)
    size = household_size_at(members, window_end)
    return IncomeResult(
        window_start=window_start,
        window_end=window_end,
        report_ids=sorted(r.report_id for r in used),
        covered_days=covered,
        net_income=annual,
        household_size=size,
        per_capita_net_income=(annual / size).quantize(CENT, ROUND_HALF_UP) if size else None,
        estimated=covered < window_days,
    )
