from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.schemas.assistance import (
    AssistanceCreate,
    AssistanceList,
    AssistanceRead,
    AssistanceUpdate,
    EliminationProposal,
    GapRead,
)
from app.schemas.cases import CaseRead, SignalOutcome, SignalRecord
from app.schemas.common import ErrorBody, Page
from app.services.cases import assistance, case_queries

router = APIRouter(
    prefix="/households",
    tags=["cases"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)


@router.get("/{household_id}/assistance", response_model=AssistanceList, summary="Measures, and gaps")
def list_assistance(household_id: PathId, session: SessionDep, actor: CurrentActor) -> AssistanceList:
    measures, gaps = assistance.listing(session, actor, household_id)
    return AssistanceList(
        measures=[AssistanceRead.model_validate(m) for m in measures],
        gaps=[GapRead.model_validate(g) for g in gaps],
    )


@router.post(
    "/{household_id}/assistance", response_model=AssistanceRead, status_code=201, summary="Record a measure"
)
def add_assistance(
    household_id: PathId,
    body: AssistanceCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> AssistanceRead:
    return AssistanceRead.model_validate(assistance.add(session, settings, actor, household_id, body))


@router.patch(
    "/{household_id}/assistance/{measure_id}",
    response_model=AssistanceRead,
    summary="Change a measure's status",
)
def update_assistance(
    household_id: PathId,
    measure_id: PathId,
    body: AssistanceUpdate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> AssistanceRead:
    row = assistance.set_status(session, settings, actor, household_id, measure_id, body.status)
    return AssistanceRead.model_validate(row)


@router.post(
    "/{household_id}/elimination",
    response_model=CaseRead,
    status_code=201,
    summary="Propose risk elimination (风险消除): opens a case that runs the same steps",
)
def propose_elimination(
    household_id: PathId,
    body: EliminationProposal,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> CaseRead:
    """Refused (409, with the reasons) when income was below the line within the policy's months, when
    三保障, water or rigid spending is unresolved, and for a household without labour capacity living on
    the safety net (it stays monitored)."""
    case = assistance.propose_elimination(session, settings, actor, household_id, body.kind, body.reason)
    return CaseRead.of(case)


@router.get(
    "/{household_id}/signals",
    response_model=Page[SignalRecord],
    summary="The household's signals, newest first (its monitoring record once monitored)",
)
def list_signals(
    household_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    outcome: Annotated[SignalOutcome | None, Query()] = None,
) -> Page[SignalRecord]:
    """A monitored household's new flags, reports and department rows open no case: they are kept here
    (`outcome` = `monitored`) for its cadres to follow up."""
    rows, total = case_queries.signals_of(session, actor, household_id, page, outcome)
    return Page[SignalRecord].of(rows, total, page)
