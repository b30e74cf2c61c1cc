"""The rules' feature frame (rules.FEATURES), read set-wise from reports, events and members.

One query per table for all households (no per-household ORM loop); grouping and arithmetic in Python
and numpy. The income figures use the same computation as the reports API (services/income.py), so a
flag and the report a cadre sees never disagree.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import add_months
from app.models import Household, Member, Report, ReportEvent
from app.models.enums import HousingGrade, LabourCapacity, Schooling
from app.risk.rules import EVENT_KINDS, FEATURES, Array
from app.schemas.policy import PolicyData
from app.services import reports as reports_service
from app.services.income import IncomeResult, Membership, PeriodIncome, net_income, per_capita

UNSAFE_HOUSING = {HousingGrade.c, HousingGrade.d}
CAN_WORK = {LabourCapacity.ordinary, LabourCapacity.skilled}
COMPULSORY_AGES = range(6, 16)  # 义务教育: primary and junior secondary
SAME_PERIOD_TOLERANCE = timedelta(days=7)


@dataclass
class Frame:
    household_ids: list[int]
    columns: dict[str, Array]
    as_of: date


@dataclass
class _Report:
    id: int
    period_start: date
    period_end: date
    net: Decimal
    medical: Decimal
    education: Decimal
    housing: HousingGrade | None
    water_safe: bool | None
    food: bool | None
    clothing: bool | None


def build(
    session: Session, policy: PolicyData, as_of: date, household_ids: Iterable[int] | None = None
) -> Frame:
    """Features of every household (or the given ones) as known on `as_of`."""
    ids = sorted(household_ids) if household_ids is not None else list(session.scalars(select(Household.id)))
    reports = _reports(session, ids, as_of)
    events = _events(session, ids, as_of)
    members = _members(session, ids)
    columns = {name: np.full(len(ids), np.nan) for name in FEATURES}
    for row, hid in enumerate(ids):
        values = _household(reports.get(hid, []), events.get(hid, []), members.get(hid, []), policy, as_of)
        for name, value in values.items():
            columns[name][row] = value
    return Frame(ids, columns, as_of)


def _reports(session: Session, ids: list[int], as_of: date) -> dict[int, list[_Report]]:
    superseded = set(reports_service.corrections(session, ids))
    rows = session.execute(
        select(
            Report.id,
            Report.household_id,
            Report.period_start,
            Report.period_end,
            Report.wages,
            Report.business,
            Report.property,
            Report.transfer,
            Report.production_cost,
            Report.spending_medical,
            Report.spending_education,
            Report.housing_grade,
            Report.drinking_water_safe,
            Report.food_secure,
            Report.clothing_secure,
        )
        .where(Report.household_id.in_(ids), Report.period_end <= as_of)
        .order_by(Report.household_id, Report.period_end)
    )
    grouped: dict[int, list[_Report]] = defaultdict(list)
    for r in rows:
        if r.id in superseded:
            continue
        net = net_income(r.wages, r.business, r.property, r.transfer, r.production_cost)
        grouped[r.household_id].append(
            _Report(
                r.id,
                r.period_start,
                r.period_end,
                net,
                r.spending_medical,
                r.spending_education,
                r.housing_grade,
                r.drinking_water_safe,
                r.food_secure,
                r.clothing_secure,
            )
        )
    return grouped


def _events(session: Session, ids: list[int], as_of: date) -> dict[int, list[tuple[date, Decimal, str, int]]]:
    """(occurred_on, loss, kind, report id) of events up to as_of (superseded reports' are dropped later)."""
    rows = session.execute(
        select(Report.household_id, ReportEvent.occurred_on, ReportEvent.loss, ReportEvent.kind, Report.id)
        .join(Report, ReportEvent.report_id == Report.id)
        .where(Report.household_id.in_(ids), ReportEvent.occurred_on <= as_of)
    )
    grouped: dict[int, list[tuple[date, Decimal, str, int]]] = defaultdict(list)
    for hid, occurred, loss, kind, report_id in rows:
        grouped[hid].append((occurred, loss, str(kind), report_id))
    return grouped


def _members(session: Session, ids: list[int]) -> dict[int, list[Any]]:
    rows = session.execute(
        select(
            Member.household_id,
            Member.joined_on,
            Member.left_on,
            Member.birth_date,
            Member.labour_capacity,
            Member.schooling,
            Member.basic_medical_insurance,
            Member.dibao,
            Member.tekun,
        ).where(Member.household_id.in_(ids))
    )
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.household_id].append(row)
    return grouped


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _household(
    reports: list[_Report],
    events: list[tuple[date, Decimal, str, int]],
    members: list[Any],
    policy: PolicyData,
    as_of: date,
) -> dict[str, float]:
    values: dict[str, float] = {}
    memberships = [Membership(m.joined_on, m.left_on) for m in members]
    incomes = [PeriodIncome(r.id, r.period_start, r.period_end, r.net) for r in reports]
    if reports:
        latest = reports[-1]
        current = per_capita(incomes[-1], incomes, memberships)
        values |= _income_values(current, policy, latest.period_end)
        in_window = {r.id for r in reports if r.id in current.report_ids}
        values["oop_medical"] = float(sum(r.medical for r in reports if r.id in in_window))
        values["oop_education"] = float(sum(r.education for r in reports if r.id in in_window))
        previous = _same_period_a_year_earlier(reports, latest)
        if previous is not None:
            prior = per_capita(incomes[reports.index(previous)], incomes, memberships)
            if prior.per_capita_net_income is not None:
                values["income_pc_prev"] = float(prior.per_capita_net_income)
        if latest.housing is not None:
            values["housing_unsafe"] = float(latest.housing in UNSAFE_HOUSING)
        if latest.water_safe is not None:
            values["water_unsafe"] = float(not latest.water_safe)
        if latest.food is not None or latest.clothing is not None:
            values["food_clothing_insecure"] = float(latest.food is False or latest.clothing is False)
        since = max(current.window_start, add_months(as_of, -12))  # "the last 12 months", even if reports lag
        values |= _event_values(events, {r.id for r in reports}, since)
    values |= _member_values(members, as_of)
    return values


def _income_values(result: IncomeResult, policy: PolicyData, period_end: date) -> dict[str, float]:
    values = {
        "line": float(policy.line_for(period_end.year)),
        "income_total": float(result.net_income),
        "size": float(result.household_size),
    }
    if result.per_capita_net_income is not None:
        values["income_pc"] = float(result.per_capita_net_income)
    return values


def _same_period_a_year_earlier(reports: list[_Report], latest: _Report) -> _Report | None:
    target = add_months(latest.period_end, -12)
    candidates = [r for r in reports if abs(r.period_end - target) <= SAME_PERIOD_TOLERANCE]
    return min(candidates, key=lambda r: abs(r.period_end - target)) if candidates else None


def _event_values(
    events: list[tuple[date, Decimal, str, int]], effective: set[int], since: date
) -> dict[str, float]:
    recent = [(loss, kind) for occurred, loss, kind, rid in events if rid in effective and occurred >= since]
    if not recent:
        return {"event_loss": 0.0}
    loss, kind = max(recent, key=lambda e: e[0])
    return {
        "event_loss": float(sum(e[0] for e in recent)),
        "event_kind": float(EVENT_KINDS.index(kind)) if kind in EVENT_KINDS else np.nan,
    }


def _member_values(members: list[Any], as_of: date) -> dict[str, float]:
    active = [
        m
        for m in members
        if (m.joined_on is None or m.joined_on <= as_of) and (m.left_on is None or m.left_on > as_of)
    ]
    values: dict[str, float] = {
        "dropout_compulsory": float(
            any(
                m.schooling == Schooling.dropped_out and _age(m.birth_date, as_of) in COMPULSORY_AGES
                for m in active
            )
        ),
        "safety_net": float(any(m.dibao or m.tekun for m in active)),
    }
    insured = [m.basic_medical_insurance for m in active if m.basic_medical_insurance is not None]
    if insured:
        values["uninsured_member"] = float(not all(insured))
    known = [m.labour_capacity for m in active if m.labour_capacity is not None]
    if known:
        # over all active members: an unrecorded capacity is not counted as labour
        values["labour_share"] = sum(1 for c in known if c in CAN_WORK) / len(active)
    return values
