from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.models import Helper, HelperAssignment
from app.schemas.common import ErrorBody, Page
from app.schemas.fieldwork import (
    AssignmentCreate,
    AssignmentEnd,
    AssignmentRead,
    HelperCreate,
    HelperPhone,
    HelperRead,
    HelperUpdate,
)
from app.services.fieldwork import helpers as helper_service

router = APIRouter(
    tags=["field work"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)


def _read(helper: Helper, households: int) -> HelperRead:
    return HelperRead.model_validate(helper).model_copy(update={"households": households})


def _assignment(row: HelperAssignment, helper: Helper) -> AssignmentRead:
    return AssignmentRead(
        id=row.id,
        household_id=row.household_id,
        helper_id=helper.id,
        helper_name=helper.name,
        helper_unit=helper.unit,
        helper_phone_masked=helper.phone_masked,
        started_on=row.started_on,
        ended_on=row.ended_on,
        end_reason=row.end_reason,
        assigned_by=row.assigned_by,
        ended_by=row.ended_by,
    )


@router.post("/helpers", response_model=HelperRead, status_code=201, summary="Register a helper (帮扶责任人)")
def create(body: HelperCreate, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> HelperRead:
    """A township reviewer or district officer registers a helper; the phone is stored encrypted."""
    return _read(helper_service.create(session, settings, actor, body), 0)


@router.get("/helpers", response_model=Page[HelperRead], summary="The district's helpers, by name")
def listing(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    q: Annotated[str | None, Query(min_length=1, max_length=50, description="part of a name or unit")] = None,
    active: Annotated[bool | None, Query()] = None,
) -> Page[HelperRead]:
    rows, total = helper_service.listing(session, actor, page, q, active)
    return Page[HelperRead].of([_read(h, n) for h, n in rows], total, page)


@router.get("/helpers/{helper_id}", response_model=HelperRead, summary="One helper")
def read(helper_id: PathId, session: SessionDep, actor: CurrentActor) -> HelperRead:
    return _read(*helper_service.get(session, actor, helper_id))


@router.patch(
    "/helpers/{helper_id}", response_model=HelperRead, summary="Change a helper's unit, phone or status"
)
def update(
    helper_id: PathId, body: HelperUpdate, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> HelperRead:
    """By the township or district that registered the helper (the district changes any); `version` is the
    one read (409 if it changed since)."""
    helper = helper_service.update(session, settings, actor, helper_id, body)
    return _read(*helper_service.get(session, actor, helper.id))


@router.post(
    "/helpers/{helper_id}/phone", response_model=HelperPhone, summary="The helper's phone in full (audited)"
)
def phone(helper_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> HelperPhone:
    return HelperPhone(id=helper_id, phone=helper_service.reveal_phone(session, settings, actor, helper_id))


@router.get(
    "/households/{household_id}/helpers",
    response_model=list[AssignmentRead],
    summary="The household's helpers: the current one first, then the past ones",
)
def of_household(household_id: PathId, session: SessionDep, actor: CurrentActor) -> list[AssignmentRead]:
    return [_assignment(row, helper) for row, helper in helper_service.history(session, actor, household_id)]


@router.post(
    "/households/{household_id}/helpers",
    response_model=AssignmentRead,
    status_code=201,
    summary="Pair a helper with the household (replacing the current one, which stays in the history)",
)
def assign(
    household_id: PathId,
    body: AssignmentCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> AssignmentRead:
    return _assignment(*helper_service.assign(session, settings, actor, household_id, body))


@router.post(
    "/households/{household_id}/helpers/end",
    response_model=AssignmentRead,
    summary="End the household's current pairing (e.g. 风险消除), kept in the history",
)
def end(
    household_id: PathId, body: AssignmentEnd, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> AssignmentRead:
    return _assignment(*helper_service.end(session, settings, actor, household_id, body))
