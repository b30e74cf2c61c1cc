"""Risk results as users read them, and admins' requests for a run."""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import local_today
from app.errors import NotFound
from app.models import RiskResult, RiskRun
from app.models.enums import Role
from app.risk import scorer
from app.schemas.common import PageParams
from app.schemas.risk import HouseholdRiskRead, ReasonRead
from app.services import access, households
from app.services.access import Actor

RUN_READERS = frozenset({Role.district_officer, Role.admin})
RUN_REQUESTERS = frozenset({Role.admin})


def request(session: Session, actor: Actor, as_of: date | None) -> RiskRun:
    access.require_role(actor, RUN_REQUESTERS, "starting a scoring run")
    return scorer.request_run(session, as_of=as_of or local_today(), requested_by=actor.username)


def list_runs(session: Session, actor: Actor, page: PageParams) -> tuple[list[RiskRun], int]:
    access.require_role(actor, RUN_READERS, "reading scoring runs")
    total = session.scalar(select(func.count()).select_from(RiskRun)) or 0
    runs = session.scalars(
        select(RiskRun).order_by(RiskRun.id.desc()).offset(page.offset).limit(page.page_size)
    )
    return list(runs), total


def get_run(session: Session, actor: Actor, run_id: int) -> RiskRun:
    access.require_role(actor, RUN_READERS, "reading scoring runs")
    run = session.get(RiskRun, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", field="run_id")
    return run


def household_risk(session: Session, actor: Actor, household_id: int) -> HouseholdRiskRead:
    """The household's result in the current (latest completed) run."""
    households.load(session, actor, household_id, members=False)
    run = scorer.current_run(session)
    result = None
    if run is not None:
        result = session.get(RiskResult, (run.id, household_id))
    if run is None or result is None:
        raise NotFound("this household has not been scored yet", field="household_id")
    return HouseholdRiskRead(
        household_id=household_id,
        run_id=run.id,
        as_of=run.as_of,
        level=result.level,
        score=result.score,
        reasons=[ReasonRead.model_validate(r) for r in result.reasons],
    )
