from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.schemas.common import ErrorBody, Page
from app.schemas.type_corrections import TypeCorrectionCreate, TypeCorrectionDecision, TypeCorrectionRead
from app.services.registry import type_corrections as correction_service

router = APIRouter(
    tags=["households"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)


@router.post(
    "/households/{household_id}/type-corrections",
    response_model=TypeCorrectionRead,
    status_code=201,
    summary="Propose a correction of the household's type (户类型), with the reason",
)
def propose(
    household_id: PathId,
    body: TypeCorrectionCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> TypeCorrectionRead:
    """The household's village cadre proposes; the township decides. Refused while a proposal is pending,
    or when the household's monitoring category would not fit the new type."""
    row = correction_service.propose(session, settings, actor, household_id, body)
    return TypeCorrectionRead.model_validate(row)


@router.get(
    "/households/{household_id}/type-corrections",
    response_model=list[TypeCorrectionRead],
    summary="The household's type corrections, proposed and decided",
)
def of_household(household_id: PathId, session: SessionDep, actor: CurrentActor) -> list[TypeCorrectionRead]:
    rows = correction_service.for_household(session, actor, household_id)
    return [TypeCorrectionRead.model_validate(r) for r in rows]


@router.get(
    "/type-corrections",
    response_model=Page[TypeCorrectionRead],
    summary="Type corrections in the caller's region (a township's queue: status=proposed)",
)
def listing(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    status: Annotated[Literal["proposed", "approved", "rejected"] | None, Query()] = None,
) -> Page[TypeCorrectionRead]:
    items, total = correction_service.listing(session, actor, page, status)
    return Page[TypeCorrectionRead].of(items, total, page)


@router.post(
    "/type-corrections/{correction_id}/decision",
    response_model=TypeCorrectionRead,
    summary="The township approves or rejects a type correction",
)
def decide(
    correction_id: PathId,
    body: TypeCorrectionDecision,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> TypeCorrectionRead:
    """Approval changes the household's type (and its version), audited with the reason."""
    row = correction_service.decide(session, settings, actor, correction_id, body)
    return TypeCorrectionRead.model_validate(row)
