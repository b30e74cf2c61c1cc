"""A week's summary, computed from the frozen entries in the caller's region (so it never changes
either): counts by township and level, by risk type and reason, changes, cases by step, overdue cases,
median days to decision, and the share of confirmed risk types with a matching measure."""

import statistics
from collections import Counter

from sqlalchemy.orm import Session

from app.models import RiskList, RiskListEntry
from app.schemas.risk_lists import RiskListSummary, TownshipLevels
from app.services import access, risk_lists
from app.services.access import Actor
from app.services.risk_lists import Filters

BATCH = 5000


def summarise(session: Session, risk_list: RiskList, actor: Actor, filters: Filters) -> RiskListSummary:
    stmt = risk_lists.entries(
        risk_list.id,
        actor,
        filters,
        RiskListEntry.township_code,
        RiskListEntry.township_name,
        RiskListEntry.village_code,
        RiskListEntry.level,
        RiskListEntry.change,
        RiskListEntry.case_step,
        RiskListEntry.overdue,
        RiskListEntry.risk_types,
        RiskListEntry.reason_codes,
        RiskListEntry.risk_types_without_measure,
        RiskListEntry.risk_types_confirmed,
    )
    townships: dict[str, TownshipLevels] = {}
    changes: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    risk_types: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    listed = overdue = confirmed = unmet = 0
    for (
        t_code,
        t_name,
        _village,
        level,
        change,
        step,
        late,
        types,
        codes,
        without,
        with_types,
    ) in session.execute(stmt.execution_options(yield_per=BATCH)):
        changes[change] += 1
        if change == "resolved":
            continue
        listed += 1
        row = townships.setdefault(
            t_code, TownshipLevels(township_code=t_code, township_name=t_name, high=0, medium=0, low=0)
        )
        if level == "high":
            row.high += 1
        elif level == "medium":
            row.medium += 1
        else:
            row.low += 1
        if step:
            steps[step] += 1
            overdue += bool(late)
        risk_types.update(_split(types))
        reasons.update(_split(codes))
        confirmed += with_types
        unmet += without
    days = _decision_days(session, risk_list, actor, filters)
    return RiskListSummary(
        week=risk_list.week,
        list_id=risk_list.id,
        households=listed,
        by_township=sorted(townships.values(), key=lambda t: t.township_code),
        by_risk_type=dict(risk_types.most_common()),
        by_reason=dict(reasons.most_common()),
        changes={k: changes.get(k, 0) for k in ("new", "continuing", "level_up", "level_down", "resolved")},
        cases_by_step={step: steps[step] for step in STEPS if steps[step]},
        overdue_cases=overdue,
        median_days_to_decision=statistics.median(days) if days else None,
        decisions=len(days),
        confirmed_risk_types_with_measure=round(1 - unmet / confirmed, 4) if confirmed else None,
    )


STEPS = ("village_verification", "democratic_review", "public_notice", "township_review", "district_decision")


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
