"""人均纯收入: per-capita net income, annualised over the 12 months ending at a report's period_end.

Pure functions over plain values, so the rule can be tested without a database. The rule itself (the
terms of net income and their signs, the window, pro rata by days, scaling up a partial window, the
household size) is app/income_rule.py, shared with the risk engine's vectorised copy (app/risk/panel.py);
this is the reference implementation, the one the reports API shows.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from app import income_rule as rule
from app.clock import add_months


class PeriodIncome(NamedTuple):
    report_id: int
    period_start: date
    period_end: date
    net: Decimal


class Membership(NamedTuple):
    joined_on: date | None
    left_on: date | None


@dataclass(slots=True)  # not frozen: a frozen one's __init__ took a fifth of per_capita
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
    return rule.net_of(
        {
            "wages": wages,
            "business": business,
            "property": prop,
            "transfer": transfer,
            "insurance_payout": payout,
            "production_cost": cost,
        }
    )


def household_size_at(members: Iterable[Membership], day: date) -> int:
    """Members active on `day`: joined on or before it (or always there) and not yet left."""
    return sum(rule.member_on(m.joined_on or date.min, m.left_on or date.max, day) for m in members)


@functools.lru_cache(maxsize=4096)  # a batch has a few distinct period ends, each asked for many times
def income_window(period_end: date) -> tuple[date, date]:
    """The 12 calendar months ending at period_end: 28 Feb 2025 → 1 Mar 2024 … 28 Feb 2025."""
    return add_months(period_end + timedelta(days=1), -rule.WINDOW_MONTHS), period_end


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
        and rule.counts_before(r.period_end, window_start, target.period_start)
    ]
    parts = [
        rule.Part(
            r.net, _days(max(r.period_start, window_start), r.period_end), _days(r.period_start, r.period_end)
        )
        for r in used
    ]
    window_days = _days(window_start, window_end)
    annual, covered = rule.annual_net(parts, window_days)
    size = household_size_at(members, window_end)
    return IncomeResult(
        window_start=window_start,
        window_end=window_end,
        report_ids=sorted(r.report_id for r in used),
        covered_days=covered,
        net_income=annual,
        household_size=size,
        per_capita_net_income=rule.to_cents(annual / size) if size else None,
        estimated=rule.estimated(covered, window_days),
    )
