"""The district's report history as numpy arrays, and the per-report figures both rules and model use.

A Panel holds every effective report (superseded ones dropped), its events and the members, read
set-wise (app/risk/columns.py). Per report it computes what services/registry/income.py computes for one,
by the same rule (app/income_rule.py): the annualised per-capita net income over the 12 months ending at
period_end, pro rata by days, scaled to a year, divided by the members active at period_end; so a flag
and the report a cadre reads agree (tests/test_income_agreement.py). Everything is vectorised: a
household's reports are consecutive rows, and "the report k periods earlier" is the row k above when it
belongs to the same household.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, case, cast, exists, false, func, select
from sqlalchemy.orm import Session, aliased

from app import income_rule as rule
from app.models import Household, Member, Report, ReportEvent
from app.models.enums import CANNOT_WORK, Health, HouseholdType, HousingGrade, LabourCapacity, Schooling
from app.risk import columns as col
from app.risk.rules import EVENT_KINDS
from app.schemas.policy import PolicyData

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NEVER = 10**7  # a day number after any date (a member who has not left)
ALWAYS = -(10**7)  # before any date (a member with no joining date)
SAME_PERIOD_TOLERANCE = 7
UNIX_DAY0 = date(1970, 1, 1).toordinal()


@dataclass
class Panel:
    household_ids: IntArray  # ascending
    township: IntArray  # per household: index into townships
    townships: list[str]
    lifted: FloatArray  # per household: 脱贫户
    reports: dict[str, Any]  # columns, one row per effective report, by (household, period_end)
    events: dict[str, Any]  # columns, one row per event of an effective report
    members: dict[str, Any]  # columns, one row per member, by household
    derived: dict[str, Any] = field(default_factory=dict)

    @property
    def hh(self) -> IntArray:
        """Per report: the household's index in household_ids."""
        return self.reports["hh"]  # type: ignore[no-any-return]


def load(
    session: Session,
    *,
    as_of: date | None = None,
    household_ids: list[int] | None = None,
    id_range: tuple[int, int] | None = None,
    every: int = 1,
) -> Panel:
    """Reports ending on or before `as_of` (all if None) of the given households (all if None);
    with `every` = k, only households whose id is a multiple of k (a spread-out sample)."""
    dialect = session.connection().dialect.name
    cols = [
        col.Column("id", Household.id, "int", -1),
        # the township's code is the village's first 9 digits followed by 000
        col.Column("township", cast(func.substr(Household.village_code, 1, 9), BigInteger), "int", 0),
        col.Column("lifted", _flag(Household.household_type == HouseholdType.lifted, false()), "float", 0.0),
    ]
    households = select(*col.select_columns(cols, dialect))
    if household_ids is not None:
        households = households.where(Household.id.in_(household_ids))
    if id_range is not None:
        households = households.where(Household.id.between(*id_range))
    if every > 1:
        households = households.where(Household.id % every == 0)
    found = _sorted(col.read(session, households, cols), "id")
    ids = found["id"]
    prefixes, township = np.unique(found["township"], return_inverse=True)
    panel = Panel(
        household_ids=ids,
        township=township.astype(np.int64),
        townships=[f"{int(p):09d}000" for p in prefixes],
        lifted=found["lifted"],
        reports={},
        events={},
        members={},
    )
    if not len(ids):
        return _with_empty(panel)
    lo, hi = int(ids[0]), int(ids[-1])

    def scope(column: Any) -> Any:
        within = column.in_(household_ids) if household_ids is not None else column.between(lo, hi)
        return within & (column % every == 0) if every > 1 else within

    reports = _sorted(_read_reports(session, dialect, as_of, scope), "household_id", "end", "id")
    reports["hh"] = _index(ids, reports.pop("household_id"))
    panel.reports = _rows(reports, reports["hh"] >= 0)  # drop reports of households not in the set
    panel.events = _read_events(session, dialect, as_of, scope, panel.reports["id"])
    members = _sorted(_read_members(session, dialect, scope), "household_id", "id")
    members["hh"] = _index(ids, members.pop("household_id"))
    panel.members = _rows(members, members["hh"] >= 0)
    return panel


def _sorted(columns: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The rows ordered by `keys` (the first the primary key): sorting here spares the database."""
    order = np.lexsort([columns[k] for k in reversed(keys)])
    return {name: values[order] for name, values in columns.items()}


def _rows(columns: dict[str, Any], keep: BoolArray) -> dict[str, Any]:
    return columns if keep.all() else {name: values[keep] for name, values in columns.items()}


def _with_empty(panel: Panel) -> Panel:
    empty_i = np.zeros(0, dtype=np.int64)
    empty_f = np.zeros(0)
    panel.reports = dict.fromkeys(("hh", "id", "start", "end"), empty_i) | dict.fromkeys(
        REPORT_FLOATS, empty_f
    )
    panel.events = {"row": empty_i, "day": empty_i, "kind": empty_i, "loss": empty_f}
    panel.members = (
        dict.fromkeys(MEMBER_INTS, empty_i) | dict.fromkeys(MEMBER_FLOATS, empty_f) | {"hh": empty_i}
    )
    return panel


def _index(ids: IntArray, values: IntArray) -> IntArray:
    """Position of each value in the sorted ids (-1 if absent)."""
    pos = np.searchsorted(ids, values)
    pos = np.minimum(pos, len(ids) - 1)
    return np.where(ids[pos] == values, pos, -1).astype(np.int64)


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
MEMBER_INTS = ("id", "joined", "left", "birth", "health")
MEMBER_FLOATS = ("can_work", "dropped_out", "insured", "safety_net")


def _flag(condition: Any, unknown: Any) -> Any:
    """1.0 / 0.0, NULL where unknown (filled with NaN by the reader)."""
    return case((unknown, None), (condition, 1.0), else_=0.0)


def _read_reports(session: Session, dialect: str, as_of: date | None, scope: Any) -> dict[str, Any]:
    newer = aliased(Report)
    cols = [
        col.Column("household_id", Report.household_id, "int", -1),
        col.Column("id", Report.id, "int", -1),
        col.Column("start", col.days(Report.period_start, dialect), "int", 0),
        col.Column("end", col.days(Report.period_end, dialect), "int", 0),
        *(col.Column(name, getattr(Report, column), "float", 0.0) for name, column in NET_TERMS.items()),
        col.Column("medical", Report.spending_medical, "float", 0.0),
        col.Column("education", Report.spending_education, "float", 0.0),
        col.Column(
            "housing_unsafe",
            _flag(Report.housing_grade.in_([HousingGrade.c, HousingGrade.d]), Report.housing_grade.is_(None)),
            "float",
        ),
        col.Column(
            "water_unsafe",
            _flag(Report.drinking_water_safe.is_(False), Report.drinking_water_safe.is_(None)),
            "float",
        ),
        col.Column(
            "food_clothing_insecure",
            _flag(
                (Report.food_secure.is_(False)) | (Report.clothing_secure.is_(False)),
                Report.food_secure.is_(None) & Report.clothing_secure.is_(None),
            ),
            "float",
        ),
    ]
    stmt = select(*col.select_columns(cols, dialect)).where(
        scope(Report.household_id), ~exists().where(newer.supersedes_id == Report.id)
    )
    if as_of is not None:
        stmt = stmt.where(Report.period_end <= as_of)
    return col.read(session, stmt, cols)


def _read_events(
    session: Session, dialect: str, as_of: date | None, scope: Any, report_ids: IntArray
) -> dict[str, Any]:
    kind = case(*((ReportEvent.kind == k, i) for i, k in enumerate(EVENT_KINDS)), else_=-1)
    cols = [
        col.Column("report_id", ReportEvent.report_id, "int", -1),
        col.Column("day", col.days(ReportEvent.occurred_on, dialect), "int", 0),
        col.Column("kind", kind, "int", -1),
        col.Column("loss", ReportEvent.loss, "float", 0.0),
    ]
    stmt = select(*col.select_columns(cols, dialect)).join(Report, ReportEvent.report_id == Report.id)
    stmt = stmt.where(scope(Report.household_id))
    if as_of is not None:
        stmt = stmt.where(Report.period_end <= as_of, ReportEvent.occurred_on <= as_of)
    events = col.read(session, stmt, cols)
    order = np.argsort(report_ids, kind="stable")
    pos = np.searchsorted(report_ids, events["report_id"], sorter=order)
    pos = np.minimum(pos, max(len(order) - 1, 0))
    found = report_ids[order[pos]] == events["report_id"] if len(order) else np.zeros(len(pos), dtype=bool)
    rows = order[pos] if len(order) else pos
    # events of superseded reports have no row: drop them
    return {
        "row": rows[found].astype(np.int64),
        "day": events["day"][found],
        "kind": events["kind"][found],
        "loss": events["loss"][found],
    }


def _read_members(session: Session, dialect: str, scope: Any) -> dict[str, Any]:
    health = case(*((Member.health == h, i) for i, h in enumerate(Health)), else_=-1)
    cols = [
        col.Column("household_id", Member.household_id, "int", -1),
        col.Column("id", Member.id, "int", -1),
        col.Column("joined", col.days(Member.joined_on, dialect), "int", ALWAYS),
        col.Column("left", col.days(Member.left_on, dialect), "int", NEVER),
        col.Column("birth", col.days(Member.birth_date, dialect), "int", 0),
        col.Column("health", health, "int", -1),
        col.Column(
            "can_work",
            _flag(
                Member.labour_capacity.in_([LabourCapacity.ordinary, LabourCapacity.skilled]),
                Member.labour_capacity.is_(None),
            ),
            "float",
        ),
        col.Column("dropped_out", _flag(Member.schooling == Schooling.dropped_out, false()), "float", 0.0),
        col.Column(
            "insured",
            _flag(Member.basic_medical_insurance.is_(True), Member.basic_medical_insurance.is_(None)),
            "float",
        ),
        col.Column(
            "safety_net", _flag(Member.dibao.is_(True) | Member.tekun.is_(True), false()), "float", 0.0
        ),
    ]
    stmt = select(*col.select_columns(cols, dialect)).where(scope(Member.household_id))
    return col.read(session, stmt, cols)


# ---- per-report figures ---------------------------------------------------------------------------


def add_months(day: IntArray, months: int) -> IntArray:
    """app.clock.add_months over day numbers: the same day `months` later, clamped to the month's end."""
    d = (day - UNIX_DAY0).astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    offset = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    result = target.astype("datetime64[D]") + np.minimum(offset, length - 1)
    return result.astype(np.int64) + UNIX_DAY0  # type: ignore[no-any-return]


def year_of(day: IntArray) -> IntArray:
    return (day - UNIX_DAY0).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def month_of(day: IntArray) -> IntArray:
    """Months since January 1970 of each day number."""
    return (day - UNIX_DAY0).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


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
    for slot in range(int(hh_counts.max())):
        rows = np.flatnonzero(hh_counts > slot)
        member = first[hh[rows]] + slot
        d = day[rows]
        active = rule.member_on(m["joined"][member], m["left"][member], d)
        birth_y, birth_md = _year_md(m["birth"][member])
        age = day_y[rows] - birth_y - (day_md[rows] < birth_md)
        can_work = m["can_work"][member]
        insured = m["insured"][member]
        health = m["health"][member]
        for name, value in (
            ("size", active),
            ("known_labour", active & ~np.isnan(can_work)),
            ("workers", active & (can_work == 1)),
            ("known_insured", active & ~np.isnan(insured)),
            ("uninsured", active & (insured == 0)),
            ("safety_net", active & (m["safety_net"][member] == 1)),
            ("dropout_compulsory", active & (m["dropped_out"][member] == 1) & (age >= 6) & (age < 16)),
            ("elderly", active & (age >= 60)),
            ("children", active & (age < 16)),
            ("chronic", active & (health == HEALTH_CODES[Health.chronic])),
            ("serious", active & np.isin(health, SERIOUS_CODES)),
        ):
            out[name][rows] += value
    return out


HEALTH_CODES = {h: i for i, h in enumerate(Health)}
SERIOUS_CODES = [HEALTH_CODES[Health.serious_illness], HEALTH_CODES[Health.disabled]]
_ = CANNOT_WORK  # labour capacities other than ordinary and skilled count as not working


def _year_md(day: IntArray) -> tuple[IntArray, IntArray]:
    d = (day - UNIX_DAY0).astype("datetime64[D]")
    year = d.astype("datetime64[Y]")
    month = d.astype("datetime64[M]")
    month_no = (month - year.astype("datetime64[M]")).astype(np.int64) + 1
    day_no = (d - month.astype("datetime64[D]")).astype(np.int64) + 1
    return year.astype(np.int64) + 1970, month_no * 100 + day_no


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
