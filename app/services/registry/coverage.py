"""Screening coverage (排查覆盖): for a month and each village, which households were seen and which not.

A household counts for a village's month when it was registered by the month's end. It is covered in the
month when it was visited (a Visit dated in the month) or reported on: an effective (not superseded)
report whose period includes a day of the month (a quarterly report covers its three months; a report
sent in December about last year covers last year's months, not December's). The stale queue
(visits.py) counts in the same calendar months: a household is stale exactly when none of the policy's
months, this one included, covers it. Visited wins over reported when both happened.

Live, from the visits and reports themselves: a visit recorded late (offline) counts for the month it was
made in. Every count is one statement over the region's households (no row per household in Python).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, aliased

from app.clock import add_months, district_zone, local_today
from app.errors import Invalid, NotFound
from app.models import Household, Region, Report, Visit
from app.models.enums import RegionLevel
from app.schemas.common import EARLIEST_RECORD, PageParams
from app.services.platform import access
from app.services.platform import policy as policy_service
from app.services.platform.access import Actor
from app.services.registry import visits

READERS = visits.VISIT_READERS
Covered = Literal["visited", "reported", "none"]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)


@dataclass(frozen=True, slots=True)
class Month:
    first: date
    last: date
    start_at: datetime  # the district's midnight opening the month, in UTC
    end_at: datetime  # … and the one closing it

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"


def parse_month(value: str | None) -> Month:
    """The district's month "YYYY-MM" (None: this month); 422 naming `month` when malformed, before 2000
    or not yet begun."""
    today = local_today()
    if value is None:
        first = today.replace(day=1)
    else:
        match = _MONTH.match(value)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise Invalid(f"month must be written YYYY-MM (e.g. {today:%Y-%m}), not {value!r}", field="month")
        first = date(int(match[1]), int(match[2]), 1)
        if first < EARLIEST_RECORD:
            raise Invalid(f"month must be {EARLIEST_RECORD:%Y-%m} or later", field="month")
        if first > today:
            raise Invalid(f"month {value} has not begun (today is {today})", field="month")
    following = add_months(first, 1)
    zone = district_zone()
    return Month(
        first,
        date.fromordinal(following.toordinal() - 1),
        datetime.combine(first, time(), zone).astimezone(UTC),
        datetime.combine(following, time(), zone).astimezone(UTC),
    )


@dataclass(frozen=True, slots=True)
class Counts:
    registered: int  # households registered by the month's end
    visited: int
    reported_only: int  # reported on, not visited

    @property
    def covered(self) -> int:
        return self.visited + self.reported_only

    @property
    def not_covered(self) -> int:
        return self.registered - self.covered

    @property
    def share(self) -> float | None:
        return round(self.covered / self.registered, 4) if self.registered else None


@dataclass(frozen=True, slots=True)
class VillageCoverage:
    village_code: str
    village_name: str
    township_code: str
    township_name: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class TownshipCoverage:
    township_code: str
    township_name: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class Coverage:
    month: Month
    stale_report_months: int
    villages: list[VillageCoverage]
    townships: list[TownshipCoverage]
    total: Counts


@dataclass(frozen=True, slots=True)
class HouseholdCoverage:
    household_id: int
    household_no: str
    monitoring_status: str
    covered: Covered
    visited_on: date | None  # the month's last visit
    visits: int  # visits in the month
    reported_on: date | None  # the end of the latest reported period that includes a day of the month
    stale: bool  # today, by the stale rule (GET /visits/due)


def _visits(month: Month, villages: Sequence[str]) -> Select[tuple[int]]:
    """The month's visits to households of the villages (by the village the visit recorded, which is how
    the index on visit reads a village's month)."""
    return select(Visit.household_id).where(
        Visit.village_code.in_(villages), Visit.visited_on >= month.first, Visit.visited_on <= month.last
    )


def _reports(month: Month, village: str | None) -> Select[tuple[int]]:
    """The effective reports whose period includes a day of the month; of one village's households when
    given (by the index on report.household_id; for more villages one pass over the reports is cheaper)."""
    newer = aliased(Report)
    stmt = select(Report.household_id).where(
        Report.period_start <= month.last,
        Report.period_end >= month.first,
        ~select(newer.id).where(newer.supersedes_id == Report.id).exists(),
    )
    if village is not None:
        stmt = stmt.where(
            Report.household_id.in_(select(Household.id).where(Household.village_code == village))
        )
    return stmt


def _villages(session: Session, actor: Actor, township: str | None, village: str | None) -> list[Any]:
    """The actor's villages (code, name, township code and name), narrowed by the filters; 404 naming the
    filter when it is not a township or village of the actor's region."""
    town = aliased(Region)
    stmt = (
        select(Region.code, Region.name, town.code, town.name)
        .join(town, town.code == Region.parent_code)
        .where(Region.code.in_(access.visible_village_codes(actor)))
    )
    if township is not None:
        stmt = stmt.where(town.code == township)
    if village is not None:
        stmt = stmt.where(Region.code == village)
    rows = list(session.execute(stmt.order_by(town.code, Region.code)).all())
    if not rows and (township is not None or village is not None):
        field = "village" if village is not None else "township"
        raise NotFound(f"no {field} {village or township} in your region", field=field)
    return rows


def summary(
    session: Session, actor: Actor, month_text: str | None, township: str | None, village: str | None
) -> Coverage:
    """The month's coverage of every village in the actor's region (narrowed by township or village),
    by township and in all."""
    access.require_role(actor, READERS, "reading screening coverage")
    month = parse_month(month_text)
    _, policy = policy_service.current_data(session)
    places = _villages(session, actor, township, village)
    codes = [code for code, *_ in places]
    visited = Household.id.in_(_visits(month, codes))
    only = codes[0] if len(codes) == 1 else None  # a village cadre's, or a village's page
    reported = Household.id.in_(_reports(month, only))
    stmt = (
        select(
            Household.village_code,
            func.count(),
            func.sum(case((visited, 1), else_=0)),
            func.sum(case((visited, 0), (reported, 1), else_=0)),
        )
        .where(Household.village_code.in_(codes), Household.created_at < month.end_at)
        .group_by(Household.village_code)
    )
    counted = {code: Counts(int(n), int(v or 0), int(r or 0)) for code, n, v, r in session.execute(stmt)}
    empty = Counts(0, 0, 0)
    rows = [
        VillageCoverage(code, name, t_code, t_name, counted.get(code, empty))
        for code, name, t_code, t_name in places
    ]
    townships: dict[str, TownshipCoverage] = {}
    for row in rows:
        before = townships.get(row.township_code)
        counts = _add(before.counts if before else empty, row.counts)
        townships[row.township_code] = TownshipCoverage(row.township_code, row.township_name, counts)
    total = empty
    for row in rows:
        total = _add(total, row.counts)
    return Coverage(month, policy.stale_report_months, rows, list(townships.values()), total)


def _add(a: Counts, b: Counts) -> Counts:
    return Counts(a.registered + b.registered, a.visited + b.visited, a.reported_only + b.reported_only)


def village_households(
    session: Session, actor: Actor, village_code: str, month_text: str | None, page: PageParams
) -> tuple[VillageCoverage, list[HouseholdCoverage], Month]:
    """The village's households and how each was covered in the month, those not covered first, then the
    reported only, then the visited (each by household number); 404 for a village outside the region."""
    access.require_role(actor, READERS, "reading screening coverage")
    month = parse_month(month_text)
    visible = select(Region.code).where(
        Region.code == village_code,
        Region.level == RegionLevel.village,
        Region.code.in_(access.visible_village_codes(actor)),
    )
    if session.scalar(visible) is None:
        raise NotFound(f"no village {village_code} in your region", field="village_code")
    [place] = summary(session, actor, month_text, None, village_code).villages
    visited = (
        _visits(month, [village_code])
        .with_only_columns(
            Visit.household_id, func.max(Visit.visited_on).label("visited_on"), func.count().label("visits")
        )
        .group_by(Visit.household_id)
        .subquery()
    )
    reported = (
        _reports(month, village_code)
        .with_only_columns(Report.household_id, func.max(Report.period_end).label("reported_at"))
        .group_by(Report.household_id)
        .subquery()
    )
    rank = case(
        (visited.c.household_id.is_not(None), 2),
        (reported.c.household_id.is_not(None), 1),
        else_=0,
    )
    stmt = (
        select(
            Household.id,
            Household.household_no,
            Household.monitoring_status,
            visited.c.visited_on,
            visited.c.visits,
            reported.c.reported_at,
        )
        .outerjoin(visited, visited.c.household_id == Household.id)
        .outerjoin(reported, reported.c.household_id == Household.id)
        .where(Household.village_code == village_code, Household.created_at < month.end_at)
        .order_by(rank, Household.household_no, Household.id)
        .offset(page.offset)
        .limit(page.page_size)
    )
    rows = session.execute(stmt).all()
    stale = _stale(session, [row[0] for row in rows])
    return place, [_household(row, stale[row[0]]) for row in rows], month


def _household(row: Any, stale: bool) -> HouseholdCoverage:
    hid, number, status, visited_on, visit_count, reported_at = row
    covered: Covered = (
        "visited" if visited_on is not None else "reported" if reported_at is not None else "none"
    )
    return HouseholdCoverage(
        hid,
        number,
        str(status),
        covered,
        visited_on,
        int(visit_count or 0),
        reported_at,
        stale,
    )


def _stale(session: Session, ids: Sequence[int]) -> dict[int, bool]:
    """Today's stale flag of each household (the stale rule, as the visit list and the household list)."""
    if not ids:
        return {}
    _, cutoff = visits.stale_cutoff(session, local_today())
    ends = dict(session.execute(visits.last_report_ends(ids)).tuples().all())
    seen = dict(session.execute(visits.last_visits(ids)).tuples().all())
    return {hid: visits.is_stale(ends.get(hid), seen.get(hid), cutoff) for hid in ids}
