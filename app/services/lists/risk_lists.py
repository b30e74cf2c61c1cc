"""Weekly risk lists as they are read: weeks ("2026-W48"), finding a week's current list, every list with its
counts in the reader's region, the filtered entries, and the labels of risk reasons. Freezing a week's list
is in risk_list_generation.py."""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.models import Region, RiskList, RiskListEntry
from app.models.enums import RegionLevel, Role
from app.services.platform import access
from app.services.platform.access import Actor

WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")  # ASCII digits only: one spelling per week
READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})
GENERATORS = frozenset({Role.admin})
REASON_LABELS = {
    "income_below_line": "收入低于监测线",
    "sharp_income_drop": "收入骤减",
    "rigid_spending": "刚性支出过大",
    "medical_spending": "医疗自付负担重",
    "education_spending": "教育自付负担重",
    "housing_unsafe": "住房不安全",
    "compulsory_dropout": "义务教育辍学",
    "no_medical_insurance": "未参加基本医疗保险",
    "water_unsafe": "饮水不安全",
    "food_clothing": "吃穿未保障",
    "lack_of_labour": "缺劳动力",
    "sudden_event": "突发事件损失",
    "model_warning": "预警模型",
}


def codes(value: str | None) -> list[str]:
    """The codes of a "|a|b|" column ("|" or "" when there are none)."""
    return [code for code in (value or "").split("|") if code]


def parse_week(value: str) -> tuple[int, int]:
    """(ISO year, week) of "2026-W48"; 422 naming `week` when it is not an ISO week."""
    match = WEEK.match(value)
    if match:
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
            return year, week
        except ValueError:
            pass
    raise Invalid(f"{value!r} is not an ISO week like 2026-W48", field="week")


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(week: str) -> date:
    return date.fromisocalendar(*parse_week(week), 1)


def find(session: Session, week: str) -> RiskList:
    """The current list of `week` ("latest": the newest week that has one); 404 when there is none."""
    stmt = select(RiskList).where(RiskList.status == "current")
    if week == "latest":
        stmt = stmt.order_by(RiskList.week.desc()).limit(1)
    else:
        parse_week(week)
        stmt = stmt.where(RiskList.week == week)
    found = session.scalars(stmt).first()
    if found is None:
        raise NotFound(f"no risk list for {week}", field="week")
    return found


def listing(session: Session, actor: Actor) -> list[tuple[RiskList, int, int]]:
    """Every list with its counts (on the list, resolved) in the actor's region; newest week first,
    superseded ones after the week's current one."""
    access.require_role(actor, READERS | GENERATORS, "reading risk lists")
    found = list(
        session.scalars(select(RiskList).order_by(RiskList.week.desc(), RiskList.status, RiskList.id.desc()))
    )
    return [(risk_list, *counts(session, actor, risk_list)) for risk_list in found]


def counts(session: Session, actor: Actor, risk_list: RiskList) -> tuple[int, int]:
    """(on the list, resolved) in the actor's region: a county-wide count is the county's business."""
    if actor.region_level == RegionLevel.county:
        return risk_list.entries, risk_list.resolved
    resolved = RiskListEntry.change == "resolved"
    row = session.execute(
        select(
            func.count().filter(~resolved),
            func.count().filter(resolved),
        ).where(
            RiskListEntry.list_id == risk_list.id,
            RiskListEntry.village_code.in_(access.visible_village_codes(actor)),
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class Filters:
    township: str | None = None
    village: str | None = None
    level: str | None = None
    reason: str | None = None
    change: str | None = None
    overdue: bool | None = None


def entries(list_id: int, actor: Actor, filters: Filters, *columns: Any) -> Select[Any]:
    """`columns` of the list's entries in the actor's region that pass the filters, by township,
    village and household number."""
    stmt = select(*columns).where(
        RiskListEntry.list_id == list_id,
        RiskListEntry.village_code.in_(access.visible_village_codes(actor)),
    )
    if filters.township is not None:
        stmt = stmt.where(RiskListEntry.township_code == filters.township)
    if filters.village is not None:
        stmt = stmt.where(RiskListEntry.village_code == filters.village)
    if filters.level is not None:
        stmt = stmt.where(RiskListEntry.level == filters.level)
    if filters.reason is not None:
        stmt = stmt.where(RiskListEntry.reason_codes.contains(f"|{filters.reason}|", autoescape=True))
    if filters.change is not None:
        stmt = stmt.where(RiskListEntry.change == filters.change)
    if filters.overdue is not None:
        stmt = stmt.where(RiskListEntry.overdue.is_(filters.overdue))
    return stmt.order_by(
        RiskListEntry.township_code,
        RiskListEntry.village_code,
        RiskListEntry.household_no,
        RiskListEntry.household_id,
    )


def readable(session: Session, actor: Actor, week: str) -> RiskList:
    """The week's current list, for a reader (admins read no household data)."""
    access.require_role(actor, READERS, "reading risk lists")
    return find(session, week)


def county_reader(session: Session) -> Actor:
    """The command line reads for the whole county, as the district office does."""
    county = session.scalars(select(Region).where(Region.level == RegionLevel.county)).first()
    if county is None:
        raise NotFound("no county region: import the regions first", field="region")
    return Actor(None, "system:cli", Role.district_officer, county.code, RegionLevel.county)


def township_code(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"[0-9]{12}", value):
        raise Invalid(f"{value!r} is not a 12-digit township code", field="township")
    return value
