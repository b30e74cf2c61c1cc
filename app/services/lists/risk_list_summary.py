"""A week's summary, computed from the frozen entries in the caller's region (so it never changes
either): counts by township and level, by risk type and reason, changes, cases by step, overdue cases
(by township too), median days to decision, the share of confirmed risk types with a matching measure,
and the trend of high and medium households over the last 12 weekly lists (the dashboard draws it, and
so does the PNG chart)."""

import statistics
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import RiskList, RiskListEntry, RiskRun
from app.models.enums import MonitoringStatus, Role
from app.risk.champion import LABELS as CHAMPION_LABELS
from app.schemas.risk_lists import (
    ClusterAlertBrief,
    RiskListSummary,
    ScoredBy,
    TownshipLevels,
    TrendTownship,
    TrendWeek,
)
from app.services.cases import procedure
from app.services.fieldwork import alerts
from app.services.lists import risk_lists
from app.services.lists.risk_lists import REASON_LABELS, Filters
from app.services.platform import access
from app.services.platform.access import Actor

WEEKS = 12
# the dashboard's figures are for those who oversee villages; a village's cadre works from the list itself
READERS = frozenset({Role.township_reviewer, Role.district_officer})


def readable(session: Session, actor: Actor, week: str) -> RiskList:
    """The week's current list, for a reader of summaries."""
    access.require_role(actor, READERS, "reading a week's summary")
    return risk_lists.readable(session, actor, week)


def summarise(session: Session, risk_list: RiskList, actor: Actor, filters: Filters) -> RiskListSummary:
    """Counted by the database in groups (a county's list has hundreds of thousands of entries; the
    groups of township, level, change and step number in the hundreds)."""
    entry = RiskListEntry
    groups = (
        entry.township_code,
        entry.level,
        entry.change,
        entry.case_step,
        entry.overdue,
        entry.monitoring_status,
        entry.helper_id.is_(None),
    )
    stmt = _grouped(
        risk_lists.entries(
            risk_list.id,
            actor,
            filters,
            *groups,
            func.min(entry.township_name),
            func.count(),
            func.sum(entry.risk_types_without_measure),
            func.sum(entry.risk_types_confirmed),
        ),
        *groups,
    )
    townships: dict[str, TownshipLevels] = {}
    changes: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    listed = overdue = confirmed = unmet = unpaired = 0
    for (
        t_code,
        level,
        change,
        step,
        late,
        status,
        no_helper,
        t_name,
        n,
        without,
        with_types,
    ) in session.execute(stmt):
        changes[change] += n
        if change == "resolved":
            continue
        listed += n
        row = townships.setdefault(
            t_code,
            TownshipLevels(
                township_code=t_code, township_name=t_name, high=0, medium=0, low=0, overdue_cases=0
            ),
        )
        if level == "high":
            row.high += n
        elif level == "medium":
            row.medium += n
        else:
            row.low += n
        if step:
            steps[step] += n
            overdue += n if late else 0
            row.overdue_cases += n if late else 0
        if status == MonitoringStatus.monitored and no_helper:
            unpaired += n
            row.monitored_without_helper += n
        confirmed += with_types or 0
        unmet += without or 0
    risk_types = _codes_counted(session, risk_list, actor, filters, entry.risk_types)
    reasons = _codes_counted(session, risk_list, actor, filters, entry.reason_codes)
    days = _decision_days(session, risk_list, actor, filters)
    return RiskListSummary(
        week=risk_list.week,
        list_id=risk_list.id,
        households=listed,
        by_township=sorted(townships.values(), key=lambda t: t.township_code),
        by_risk_type=_ranked(risk_types),
        by_reason=_ranked(reasons),
        changes={k: changes.get(k, 0) for k in ("new", "continuing", "level_up", "level_down", "resolved")},
        cases_by_step={step: steps[step] for step in STEPS if steps[step]},
        overdue_cases=overdue,
        monitored_without_helper=unpaired if risk_list.helpers_recorded else None,
        median_days_to_decision=statistics.median(days) if days else None,
        decisions=len(days),
        confirmed_risk_types_with_measure=round(1 - unmet / confirmed, 4) if confirmed else None,
        trend=trend(session, risk_list, actor, filters),
        reason_labels=REASON_LABELS,
        scored_by=scored_by(session, risk_list),
        cluster_alerts=cluster_alerts(session, risk_list, actor),
    )


def _ranked(counted: Counter[str]) -> dict[str, int]:
    """Most first; equal counts by code, so the same list always reads the same."""
    return dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


def _grouped(stmt: Select[Any], *keys: Any) -> Select[Any]:
    return stmt.order_by(None).group_by(*keys)


def _codes_counted(
    session: Session, risk_list: RiskList, actor: Actor, filters: Filters, column: Any
) -> Counter[str]:
    """How many listed (not resolved) entries carry each code of a "|a|b|" column."""
    stmt = _grouped(
        risk_lists.entries(risk_list.id, actor, filters, column, func.count()).where(
            RiskListEntry.change != "resolved"
        ),
        column,
    )
    counted: Counter[str] = Counter()
    for value, n in session.execute(stmt):
        for code in _split(value):
            counted[code] += n
    return counted


def cluster_alerts(session: Session, risk_list: RiskList, actor: Actor) -> list[ClusterAlertBrief]:
    first = risk_lists.week_start(risk_list.week)
    found = alerts.raised_between(session, actor, first, first + timedelta(days=6))
    names = alerts.region_names(session, found)
    return [
        ClusterAlertBrief(
            id=a.id,
            level=a.level,
            region_code=a.region_code,
            region_name=names.get(a.region_code, a.region_code),
            households=len(a.households),
            dominant_reason=a.dominant_reason,
            window_start=a.window_start,
            window_end=a.window_end,
        )
        for a in found
    ]


def scored_by(session: Session, risk_list: RiskList) -> ScoredBy | None:
    """Which scorer ranked the households of this list: the run's champion (or the rules alone)."""
    run = session.get(RiskRun, risk_list.run_id) if risk_list.run_id is not None else None
    if run is None:
        return None
    return ScoredBy(
        run_id=run.id,
        as_of=run.as_of,
        mode=run.mode,
        champion=run.champion,
        champion_label=CHAMPION_LABELS.get(run.champion or "", "政策规则（尚无训练）"),
        model_id=int(run.model_version) if run.model_version else None,
    )


def trend(session: Session, risk_list: RiskList, actor: Actor, filters: Filters) -> list[TrendWeek]:
    """High and medium households on each of the last 12 current lists up to `risk_list`'s week, in the
    actor's region (and the township or village asked for), overall and by township."""
    weeks = list(
        session.execute(
            select(RiskList.week, RiskList.id)
            .where(RiskList.status == "current", RiskList.week <= risk_list.week)
            .order_by(RiskList.week.desc())
            .limit(WEEKS)
        )
    )[::-1]
    stmt = (
        select(
            RiskListEntry.list_id,
            RiskListEntry.township_code,
            RiskListEntry.township_name,
            RiskListEntry.level,
            func.count(),
        )
        .where(
            RiskListEntry.list_id.in_([list_id for _, list_id in weeks]),
            RiskListEntry.change != "resolved",
            RiskListEntry.level.in_(("high", "medium")),
            RiskListEntry.village_code.in_(access.visible_village_codes(actor)),
        )
        .group_by(
            RiskListEntry.list_id,
            RiskListEntry.township_code,
            RiskListEntry.township_name,
            RiskListEntry.level,
        )
    )
    if filters.township is not None:
        stmt = stmt.where(RiskListEntry.township_code == filters.township)
    if filters.village is not None:
        stmt = stmt.where(RiskListEntry.village_code == filters.village)
    order = {list_id: i for i, (_, list_id) in enumerate(weeks)}
    counts: Counter[tuple[int, str, str]] = Counter()
    names: dict[str, tuple[int, str]] = {}
    for list_id, code, name, level, n in session.execute(stmt):
        counts[(list_id, code, level)] += n
        if code not in names or names[code][0] < order[list_id]:  # a renamed township: the newest name
            names[code] = (order[list_id], name)
    townships = sorted(names)
    found = []
    for week, list_id in weeks:
        rows = [
            TrendTownship(
                township_code=code,
                township_name=names[code][1],
                high=counts.get((list_id, code, "high"), 0),
                medium=counts.get((list_id, code, "medium"), 0),
            )
            for code in townships
        ]
        found.append(
            TrendWeek(
                week=week,
                list_id=list_id,
                high=sum(r.high for r in rows),
                medium=sum(r.medium for r in rows),
                by_township=rows,
            )
        )
    return found


STEPS = tuple(procedure.STEPS)


def _split(value: str) -> list[str]:
    return risk_lists.codes(value)


def _decision_days(session: Session, risk_list: RiskList, actor: Actor, filters: Filters) -> list[int]:
    villages = set(session.scalars(access.visible_village_codes(actor)))
    days: list[int] = []
    for village, values in risk_list.decision_days.items():
        if village not in villages:
            continue
        if filters.village is not None and village != filters.village:
            continue
        if filters.township is not None and village[:9] + "000" != filters.township:
            continue
        days.extend(values)
    return days


def township_trend(summary: RiskListSummary) -> list[tuple[str, list[int]]]:
    """Each township's high and medium households on each week of the trend (its name, and a count
    per week), the township with most first: what the charts draw, a line each. (Every week of the
    trend lists every township, with 0 where it had none.)"""
    counts: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for week in summary.trend:
        for t in week.by_township:
            counts.setdefault(t.township_code, []).append(t.high + t.medium)
            names[t.township_code] = t.township_name
    return [(names[code], counts[code]) for code in sorted(counts, key=lambda c: (-sum(counts[c]), c))]
