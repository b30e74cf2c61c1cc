"""The monthly tables the city and the province ask for, by township: monitored households by category
at the month's end, those identified and those whose risk was eliminated in the month, measures by kind,
and the cases overdue at the month's end — one workbook, Chinese headers, a sheet per table."""

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import IO
from zoneinfo import ZoneInfo

import xlsxwriter
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.clock import add_months, local_today
from app.config import Settings
from app.db import Sessions
from app.errors import Invalid
from app.models import Assistance, Case, Household, Region
from app.models.enums import MonitoringCategory, RegionLevel, Role
from app.services.cases.procedure import STEPS
from app.services.platform import access, audit
from app.services.platform.access import Actor

READERS = frozenset({Role.district_officer, Role.admin})
CATEGORIES = [c for c in MonitoringCategory if c != MonitoringCategory.none]
MEASURES = ("planned", "in_progress", "done", "stopped")
MEASURE_STATUS = {"planned": "计划", "in_progress": "实施中", "done": "已完成", "stopped": "已停止"}


def month_bounds(month: str) -> tuple[date, date]:
    try:
        first = datetime.strptime(month, "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        raise Invalid("the month is written YYYY-MM", field="month") from None
    if first > local_today() or first.year < 2020:
        raise Invalid("a month from 2020 up to this one", field="month")
    return first, add_months(first, 1) - timedelta(days=1)


def write(
    session: Session,
    sessions: Sessions,
    settings: Settings,
    actor: Actor,
    month: str,
    out: IO[bytes],
    zone: str,
) -> None:
    access.require_role(actor, READERS, "reading the monthly tables")
    first, last = month_bounds(month)
    end_at = datetime.combine(last + timedelta(days=1), time(), ZoneInfo(zone))  # the month's end, local
    regions: dict[str, str | None] = dict(
        session.execute(select(Region.code, Region.parent_code).where(Region.level == RegionLevel.village))
        .tuples()
        .all()
    )
    names: dict[str, str] = dict(
        session.execute(
            select(Region.code, Region.name).where(
                Region.level == RegionLevel.township, Region.parent_code == actor.region_code
            )
        )
        .tuples()
        .all()
    )
    townships = sorted(names)
    # counts only, so admins may read them too: the actor's county, not visible_households' readers
    villages = access.visible_village_codes(actor)
    households = session.execute(
        select(
            Household.id,
            Household.village_code,
            Household.monitoring_category,
            Household.monitored_since,
            Household.risk_eliminated_on,
        ).where(
            Household.village_code.in_(villages),
            Household.monitoring_category != MonitoringCategory.none,
            Household.monitored_since.is_not(None),
        )
    ).all()
    monitored, identified, eliminated = (
        Counter[tuple[str, str]](),
        Counter[tuple[str, str]](),
        Counter[tuple[str, str]](),
    )
    township_of: dict[int, str] = {}
    for h in households:
        township = regions.get(h.village_code) or ""
        township_of[h.id] = township
        key = (township, h.monitoring_category.value)
        if h.monitored_since <= last and (h.risk_eliminated_on is None or h.risk_eliminated_on > last):
            monitored[key] += 1
        if first <= h.monitored_since <= last:
            identified[key] += 1
        if h.risk_eliminated_on is not None and first <= h.risk_eliminated_on <= last:
            eliminated[key] += 1
    # measures started in the month, and those planned or under way since earlier (by their status today)
    measures = Counter[tuple[str, str]]()
    for household_id, category in session.execute(
        select(Assistance.household_id, Assistance.category).where(
            Assistance.household_id.in_(list(township_of)),
            Assistance.started_on <= last,
            or_(Assistance.started_on >= first, Assistance.status.in_(("planned", "in_progress"))),
        )
    ):
        measures[(township_of[household_id], category)] += 1
    overdue = Counter[tuple[str, str]]()  # the step a late case is at, not the one it was late in
    # a case open at the month's end past its due
    for township, step in session.execute(
        select(Case.township_code, Case.step).where(
            Case.village_code.in_(villages),
            Case.opened_at < end_at,
            Case.due_at < end_at,
            or_(Case.closed_at.is_(None), Case.closed_at > end_at),
        )
    ):
        overdue[(township, step)] += 1

    book = xlsxwriter.Workbook(out, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1})
    plain = book.add_format({"border": 1})

    def table(title: str, columns: list[str], counts: Counter[tuple[str, str]], keys: list[str]) -> None:
        sheet = book.add_worksheet(title)
        sheet.write(0, 0, f"{title}（{first:%Y年%m月}）", book.add_format({"bold": True, "font_size": 14}))
        sheet.write_row(2, 0, ["乡（镇）", *columns, "合计"], bold)
        for row, township in enumerate(townships, start=3):
            values = [counts[(township, k)] for k in keys]
            sheet.write_row(row, 0, [names[township], *values, sum(values)], plain)
        totals = [sum(counts[(t, k)] for t in townships) for k in keys]
        sheet.write_row(3 + len(townships), 0, ["合计", *totals, sum(totals)], bold)
        sheet.set_column(0, 0, 18)
        sheet.set_column(1, len(columns) + 1, 14)

    labels = [c.value for c in CATEGORIES]
    table("监测对象（月末）", labels, monitored, labels)
    table("新识别监测对象", labels, identified, labels)
    table("风险消除", labels, eliminated, labels)
    kinds = sorted({k for _, k in measures})
    table("帮扶措施", kinds, measures, kinds)
    steps = [s.value for s in STEPS]
    table("逾期案件", [STEPS[s].label_zh for s in STEPS], overdue, steps)
    book.close()
    session.commit()  # the read ends first: a request holds one connection at a time
    audit.record_apart(
        sessions, settings, actor, [audit.Change("export.monthly", "export", None, None, {"month": month})]
    )
