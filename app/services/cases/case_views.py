"""Cases as their lists and pages show them: the caller's visible cases, one case with its timeline,
the household as its case page shows it, and the labels lists put beside each case."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.config import Settings
from app.errors import NotFound
from app.models import Case, CaseEvent, Household, Member, Region, Report
from app.models.enums import Role
from app.schemas.common import PageParams
from app.services.cases import case_queries
from app.services.platform import access
from app.services.platform.access import Actor

CASE_READERS = frozenset({Role.village_cadre, Role.township_reviewer, Role.district_officer})


def visible(actor: Actor) -> Any:
    access.require_role(actor, CASE_READERS, "reading cases")
    return select(Case).where(Case.village_code.in_(access.visible_village_codes(actor)))


def list_cases(
    session: Session, actor: Actor, page: PageParams, filters: dict[str, Any]
) -> tuple[list[Case], int, int]:
    return case_queries.page_of(session, case_queries.filtered(visible(actor), filters), page)


def get(session: Session, actor: Actor, case_id: int) -> tuple[Case, list[CaseEvent]]:
    case = session.scalars(visible(actor).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound(f"case {case_id} not found", field="case_id")
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    return case, list(events)


def household_on_case(session: Session, settings: Settings, actor: Actor, case: Case) -> dict[str, Any]:
    """The household as its case page shows it: who, where, how many, its latest report's per-capita
    net income against that year's monitoring line, and its risk in the current run (None: not scored)."""
    from app.services.platform import policy as policy_service
    from app.services.registry import report_views
    from app.services.scoring import risk

    try:
        current_risk = risk.household_risk(session, settings, actor, case.household_id)
    except NotFound:
        current_risk = None

    household = session.get(Household, case.household_id)
    assert household is not None
    names = dict(
        session.execute(
            select(Region.code, Region.name).where(Region.code.in_((case.village_code, case.township_code)))
        )
        .tuples()
        .all()
    )
    today = local_today()
    size = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(
            Member.household_id == household.id,
            or_(Member.joined_on.is_(None), Member.joined_on <= today),
            or_(Member.left_on.is_(None), Member.left_on > today),
        )
    )
    corrected = select(Report.supersedes_id).where(Report.supersedes_id.is_not(None))
    latest_id = session.scalar(
        select(Report.id)
        .where(Report.household_id == household.id, Report.id.not_in(corrected))
        .order_by(Report.period_end.desc(), Report.id.desc())
        .limit(1)
    )
    latest = None
    if latest_id is not None:
        [report] = report_views.read_many(session, [latest_id])
        _, policy = policy_service.current_data(session)
        line = policy.line_for(report.period_end.year)
        figure = report.per_capita_net_income
        latest = {
            "report_id": report.id,
            "period_end": report.period_end,
            "per_capita_net_income": figure,
            "estimated": report.income_basis.estimated,
            "monitoring_line": line,
            "below_line": None if figure is None else figure < line,
        }
    return {
        "id": household.id,
        "household_no": household.household_no,
        "village_name": names.get(case.village_code),
        "township_name": names.get(case.township_code),
        "household_type": household.household_type,
        "monitoring_status": household.monitoring_status,
        "monitoring_category": household.monitoring_category,
        "size": size or 0,
        "latest_income": latest,
        "risk": current_risk,
    }


def labels(session: Session, cases: Sequence[Case]) -> dict[int, dict[str, str | None]]:
    """Each case's household number and village name, as lists show them (one query for a page)."""
    household_ids = {c.household_id for c in cases}
    numbers = dict(
        session.execute(select(Household.id, Household.household_no).where(Household.id.in_(household_ids)))
        .tuples()
        .all()
    )
    villages = dict(
        session.execute(
            select(Region.code, Region.name).where(Region.code.in_({c.village_code for c in cases}))
        )
        .tuples()
        .all()
    )
    return {
        c.id: {"household_no": numbers.get(c.household_id), "village_name": villages.get(c.village_code)}
        for c in cases
    }
