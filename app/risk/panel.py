"""The district's report history as numpy arrays, and the per-report figures both rules and model use.

A Panel holds every effective report (superseded ones dropped), its events and the members, as numpy
columns (app/risk/panel_read.py reads them from the database). Per report it computes what
services/registry/income.py computes for one, by the same rule (app/income_rule.py): the annualised
per-capita net income over the 12 months ending at period_end, pro rata by days, scaled to a year, divided
by the members active at period_end; so a flag and the report a cadre reads agree
(tests/registry/test_income_agreement.py). Everything is vectorised: a household's reports are consecutive
rows, and "the report k periods earlier" is the row k above when it belongs to the same household.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from app import income_rule as rule
from app.models.enums import CANNOT_WORK, Health
from app.schemas.policy import PolicyData

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NEVER = 10**7  # a day number after any date (a member who has not left)
ALWAYS = -(10**7)  # before any date (a member with no joining date)
SAME_PERIOD_TOLERANCE = 7
UNIX_DAY0 = date(1970, 1, 1).toordinal()
MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])  # by month number (1–12)


@dataclass
class Panel:
    household_ids: IntArray  # ascending
    township: IntArray  # per household: index into townships
    townships: list[str]
    lifted: FloatArray  # per household: 脱贫户
    reports: dict[str, Any]  # columns, one row per effective report, by (household, period_end)
    events: dict[str, Any]  # columns, one row per event of an effective report
    # columns, by household: one row per member and spell of its dated facts (joined/left bound the spell)
    members: dict[str, Any]
    derived: dict[str, Any] = field(default_factory=dict)
    # per household: the day number of its last visit on or before the panel's day (NaN: none; None: the
    # panel has no visits, e.g. one built from a dataset): with the reports, the stale rule's "seen"
    last_visit: FloatArray | None = None

    @property
    def hh(self) -> IntArray:
        """Per report: the household's index in household_ids."""
        return self.reports["hh"]  # type: ignore[no-any-return]


# the panel's names of report columns that are not their own (bench/real_panel.py builds panels with them)
SHORT_NAMES = {"insurance_payout": "payout", "production_cost": "cost"}
# panel column -> its report column, for each term of net income
NET_TERMS = {SHORT_NAMES.get(column, column): column for column in rule.NET_INCOME_TERMS}
REPORT_FLOATS = (
    *NET_TERMS,
    "medical",
    "education",
    "housing_unsafe",
    "water_unsafe",
    "food_clothing_insecure",
)
# a member row counts in the household on [joined, left); its facts (health … safety_net) hold from
# facts_from on, and are unknown before (app/risk/member_spells.py)
MEMBER_INTS = ("id", "joined", "left", "facts_from", "birth", "health")
MEMBER_FLOATS = ("can_work", "dropped_out", "insured", "safety_net")


# ---- per-report figures ---------------------------------------------------------------------------


def add_months(day: IntArray, months: int) -> IntArray:
    """app.clock.add_months over day numbers: the same day `months` later, clamped to the month's end."""
    year, month, dom = civil(day)
    target = year * 12 + (month - 1) + months
    target_year, target_month = target // 12, target % 12 + 1
    leap = (target_year % 4 == 0) & ((target_year % 100 != 0) | (target_year % 400 == 0))
    length = MONTH_DAYS[target_month] + (leap & (target_month == 2))
    return ordinal(target_year, target_month, np.minimum(dom, length))


def year_of(day: IntArray) -> IntArray:
    return civil(day)[0]


def month_of(day: IntArray) -> IntArray:
    """Months since January 1970 of each day number."""
    year, month, _ = civil(day)
    return (year - 1970) * 12 + month - 1


def civil(day: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(year, month, day of month) of each day number (date.toordinal), in integer arithmetic (H. Hinnant,
    "chrono-compatible low-level date algorithms"): numpy's datetime64 month and year conversions took a
    tenth of a scoring run."""
    z = np.asarray(day, dtype=np.int64) - UNIX_DAY0 + 719_468  # days since 0000-03-01
    era = z // 146_097
    of_era = z - era * 146_097
    year_of_era = (of_era - of_era // 1460 + of_era // 36_524 - of_era // 146_096) // 365
    of_year = of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)  # from March 1st
    shifted_month = (5 * of_year + 2) // 153  # March = 0
    dom = of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    return year_of_era + era * 400 + (month <= 2), month, dom


def ordinal(year: IntArray, month: IntArray, dom: IntArray) -> IntArray:
    """The day number (date.toordinal) of each (year, month, day of month); the inverse of `civil`."""
    y = np.asarray(year, dtype=np.int64) - (month <= 2)
    era = y // 400
    year_of_era = y - era * 400
    of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + dom - 1
    of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + of_year
    return era * 146_097 + of_era - 719_468 + UNIX_DAY0  # type: ignore[no-any-return]


def round_cents(value: FloatArray) -> FloatArray:
    """Decimal's ROUND_HALF_UP to cents (away from zero at exactly half a cent)."""
    with np.errstate(invalid="ignore"):
        return np.sign(value) * np.floor(np.abs(value) * 100 + 0.5 + 1e-9) / 100


def per_head(amount: FloatArray, size: FloatArray) -> FloatArray:
    """amount (whole cents) / size, rounded half up to cents as Decimal does it: in integer cents, since
    a float quotient of millions may land a hair below the half cent that Decimal rounds up."""
    cents = np.rint(np.nan_to_num(amount) * 100).astype(np.int64)
    by = np.maximum(size, 1).astype(np.int64)
    return np.sign(cents) * ((2 * np.abs(cents) + by) // (2 * by)) / 100  # type: ignore[no-any-return]


def lines(policy: PolicyData, day: IntArray) -> FloatArray:
    """The monitoring line of each day's year (a later year carries the last line forward)."""
    years = np.array([line.year for line in policy.monitoring_lines])
    amounts = np.array([float(line.amount) for line in policy.monitoring_lines])
    pos = np.searchsorted(years, year_of(day), side="right") - 1
    return amounts[np.maximum(pos, 0)]


def lagged(panel: Panel, k: int) -> tuple[IntArray, BoolArray]:
    """For each report, the row k above (k < 0: below), and whether it is the same household's."""
    idx = np.arange(len(panel.hh)) - k
    valid = (idx >= 0) & (idx < len(panel.hh))
    idx = np.where(valid, idx, 0)
    return idx, valid & (panel.hh[idx] == panel.hh)


def income(panel: Panel) -> dict[str, Any]:
    """Per report: the 12-month window and its annualised income, size, per-capita income, sums."""
    if "pc" in panel.derived:
        return panel.derived
    r = panel.reports
    start, end = r["start"], r["end"]
    net = rule.net_of({column: r[name] for name, column in NET_TERMS.items()})
    transfer = r["transfer"] + r["payout"]  # insurance payouts (理赔) are transfer income by the formula
    business = r["business"] - r["cost"]
    terms = sum(np.abs(r[name]) for name in NET_TERMS)
    length = end - start + 1
    ws = add_months(end + 1, -rule.WINDOW_MONTHS)
    sums = {
        name: np.zeros(len(end))
        for name in ("total", "covered", "medical", "education", "transfer", "wages", "business")
    }
    terms_in_window = np.zeros(len(end))

    def add(rows: IntArray, mask: BoolArray, overlap: FloatArray) -> None:
        def part(amount: FloatArray) -> FloatArray:
            return np.where(mask, rule.pro_rata(amount[rows], overlap, length[rows]), 0.0)

        sums["total"] += part(net)
        np.add(terms_in_window, part(terms), out=terms_in_window)
        sums["covered"] += np.where(mask, overlap, 0)
        sums["transfer"] += part(transfer)
        sums["wages"] += part(r["wages"])
        sums["business"] += part(business)
        sums["medical"] += np.where(mask, r["medical"][rows], 0.0)
        sums["education"] += np.where(mask, r["education"][rows], 0.0)

    rows = np.arange(len(end))
    add(rows, np.ones(len(end), dtype=bool), (end - np.maximum(start, ws) + 1).astype(float))
    k = 1
    while True:
        # effective reports never overlap: the rows above a report end ever earlier, so once no row k
        # above counts for any report, none further up does
        j, same = lagged(panel, k)
        used = same & rule.counts_before(end[j], ws, start)
        if not used.any():
            break
        add(j, used, (end[j] - np.maximum(start[j], ws) + 1).astype(float))
        k += 1
    window_days = end - ws + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        annual = rule.annualised(sums["total"], sums["covered"], window_days)
        # a float sum's error grows with its terms, not with the (maybe cancelling) total
        error = rule.annualised(terms_in_window, sums["covered"], window_days) * 1e-12
    annual = _to_cents(panel, annual, error, ws)
    size = member_values(panel, panel.hh, end)["size"]
    pc = np.where(size > 0, per_head(annual, size), np.nan)
    panel.derived |= {
        "net": net,
        "length": length,
        "window_start": ws,
        "annual": annual,
        "size": size,
        "pc": pc,
        "covered_share": sums["covered"] / window_days,
        "estimated": rule.estimated(sums["covered"], window_days),
        "window": sums,
        "prev_year": _same_period_a_year_earlier(panel),
    }
    return panel.derived


def _to_cents(panel: Panel, annual: FloatArray, error: FloatArray, window_start: IntArray) -> FloatArray:
    """Each row's annual income rounded half up to the cent, as the reports API rounds its Decimal; a row
    on a half cent, or too near one for floats to say which side, is computed again in Decimal."""
    cents = round_cents(annual)
    unsure = np.abs(np.abs(annual * 100) % 1 - 0.5) <= 1e-9 + error * 100
    for i in np.flatnonzero(unsure):
        cents[i] = float(_annual_in_decimal(panel, int(i), int(window_start[i])))
    return cents


def _annual_in_decimal(panel: Panel, i: int, window_start: int) -> Decimal:
    """Row i's annual net income as the reports API computes it: in Decimal, its own report first."""
    r = panel.reports
    start, end = int(r["start"][i]), int(r["end"][i])
    rows = [i]
    while (
        (j := rows[-1] - 1) >= 0
        and panel.hh[j] == panel.hh[i]
        and rule.counts_before(int(r["end"][j]), window_start, start)
    ):
        rows.append(j)
    parts = [
        rule.Part(
            rule.net_of(
                {column: Decimal(round(r[name][k] * 100)) / 100 for name, column in NET_TERMS.items()}
            ),
            int(r["end"][k]) - max(int(r["start"][k]), window_start) + 1,
            int(r["end"][k] - r["start"][k]) + 1,
        )
        for k in [i, *reversed(rows[1:])]
    ]
    return rule.annual_net(parts, end - window_start + 1)[0]


def _same_period_a_year_earlier(panel: Panel) -> IntArray:
    """Per report, the row of the same household's report ending nearest a year earlier (±7 days; -1)."""
    end = panel.reports["end"]
    target = add_months(end, -12)
    best = np.full(len(end), -1, dtype=np.int64)
    best_gap = np.full(len(end), SAME_PERIOD_TOLERANCE + 1)
    k = 1
    while True:
        j, same = lagged(panel, k)
        reachable = same & (end[j] >= target - SAME_PERIOD_TOLERANCE)
        if not reachable.any():
            break
        gap = np.abs(end[j] - target)
        better = reachable & (gap <= best_gap)  # ties: the earlier report, as the row-wise code does
        best = np.where(better, j, best)
        best_gap = np.where(better, gap, best_gap)
        k += 1
    return best


def member_values(panel: Panel, hh: IntArray, day: IntArray) -> dict[str, FloatArray]:
    """Member aggregates of household hh[i] on day[i] (members joined on or before, not yet left)."""
    m = panel.members
    n = len(hh)
    counts = (
        np.bincount(m["hh"], minlength=len(panel.household_ids))
        if len(m["hh"])
        else np.zeros(len(panel.household_ids), dtype=np.int64)
    )
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else counts
    out = {
        name: np.zeros(n)
        for name in (
            "size",
            "known_labour",
            "workers",
            "known_insured",
            "uninsured",
            "safety_net",
            "dropout_compulsory",
            "elderly",
            "children",
            "chronic",
            "serious",
        )
    }
    if n == 0 or not len(m["hh"]):
        return out
    hh_counts = counts[hh]
    day_y, day_md = _year_md(day)
    birth_y, birth_md = _year_md(m["birth"])
    for slot in range(int(hh_counts.max())):
        rows = np.flatnonzero(hh_counts > slot)
        member = first[hh[rows]] + slot
        d = day[rows]
        active = rule.member_on(m["joined"][member], m["left"][member], d)
        known = active & (d >= m["facts_from"][member])
        age = day_y[rows] - birth_y[member] - (day_md[rows] < birth_md[member])
        can_work = m["can_work"][member]
        insured = m["insured"][member]
        health = m["health"][member]
        for name, value in (
            ("size", active),
            ("known_labour", known & ~np.isnan(can_work)),
            ("workers", known & (can_work == 1)),
            ("known_insured", active & ~np.isnan(insured)),
            ("uninsured", active & (insured == 0)),
            ("safety_net", known & (m["safety_net"][member] == 1)),
            ("dropout_compulsory", known & (m["dropped_out"][member] == 1) & (age >= 6) & (age < 16)),
            ("elderly", active & (age >= 60)),
            ("children", active & (age < 16)),
            ("chronic", known & (health == HEALTH_CODES[Health.chronic])),
            ("serious", known & np.isin(health, SERIOUS_CODES)),
        ):
            out[name][rows] += value
    return out


HEALTH_CODES = {h: i for i, h in enumerate(Health)}
SERIOUS_CODES = [HEALTH_CODES[Health.serious_illness], HEALTH_CODES[Health.disabled]]
_ = CANNOT_WORK  # labour capacities other than ordinary and skilled count as not working


def _year_md(day: IntArray) -> tuple[IntArray, IntArray]:
    year, month, dom = civil(day)
    return year, month * 100 + dom


def event_values(panel: Panel, day: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per report row i, on day[i]: losses of the household's events in the last 12 months (and within
    the row's income window), the kind of the largest, and their count.

    An event counts for the rows at or after its own report, when it occurred in [since, day]."""
    d = income(panel)
    ev = panel.events
    n = len(panel.hh)
    loss, kind, count = np.zeros(n), np.full(n, np.nan), np.zeros(n)
    if not len(ev["row"]):
        return loss, kind, count
    since = np.maximum(d["window_start"], add_months(day, -12))
    pairs: list[tuple[IntArray, IntArray]] = []  # (target row, event index)
    k = 0
    while True:
        target = ev["row"] + k
        inside = target < n
        target = np.where(inside, target, 0)
        inside &= panel.hh[target] == panel.hh[ev["row"]]
        if not inside.any():
            break
        counts = inside & (ev["day"] >= since[target]) & (ev["day"] <= day[target])
        pairs.append((target[counts], np.flatnonzero(counts)))
        k += 1
    rows = np.concatenate([p[0] for p in pairs])
    events = np.concatenate([p[1] for p in pairs])
    np.add.at(loss, rows, ev["loss"][events])
    np.add.at(count, rows, 1)
    # the largest loss names the kind: sort by (row, loss) and take each row's last
    order = np.lexsort((-events, ev["loss"][events], rows))
    rows, events = rows[order], events[order]
    last = np.flatnonzero(np.append(rows[1:] != rows[:-1], True)) if len(rows) else rows
    kinds = ev["kind"][events[last]].astype(float)
    kind[rows[last]] = np.where(kinds >= 0, kinds, np.nan)
    return loss, kind, count
