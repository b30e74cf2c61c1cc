from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.schemas.common import ErrorBody, Page
from app.schemas.referrals import ReferralAnswer, ReferralCreate, ReferralRead, ReferralSuggestion
from app.services.cases import referrals as referral_service

router = APIRouter(
    tags=["assistance"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)


@router.post(
    "/households/{household_id}/referrals",
    response_model=ReferralRead,
    status_code=201,
    summary="Refer a monitored household's need to a department (交有关部门)",
)
def refer(
    household_id: PathId,
    body: ReferralCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> ReferralRead:
    return ReferralRead.model_validate(referral_service.refer(session, settings, actor, household_id, body))


@router.get(
    "/households/{household_id}/referrals",
    response_model=list[ReferralRead],
    summary="The household's referrals (a department sees its own)",
)
def of_household(household_id: PathId, session: SessionDep, actor: CurrentActor) -> list[ReferralRead]:
    return [
        ReferralRead.model_validate(r) for r in referral_service.for_household(session, actor, household_id)
    ]


@router.get(
    "/households/{household_id}/referral-suggestions",
    response_model=list[ReferralSuggestion],
    summary="Referrals the household's data suggests (below the 低保 standard → 民政; 零就业 → 人社)",
)
def suggestions(household_id: PathId, session: SessionDep, actor: CurrentActor) -> list[ReferralSuggestion]:
    return referral_service.suggestions(session, actor, household_id)


@router.get(
    "/referrals",
    response_model=Page[ReferralRead],
    summary="Referrals: a department's queue (its own), or those in the caller's region",
)
def queue(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    status: Annotated[Literal["referred", "accepted", "granted", "refused"] | None, Query()] = None,
) -> Page[ReferralRead]:
    items, total = referral_service.queue(session, actor, page, status)
    return Page[ReferralRead].of(items, total, page)


@router.post("/referrals/{referral_id}/accept", response_model=ReferralRead, summary="The department accepts")
def accept(
    referral_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> ReferralRead:
    return ReferralRead.model_validate(referral_service.accept(session, settings, actor, referral_id))


@router.post(
    "/referrals/{referral_id}/answer",
    response_model=ReferralRead,
    summary="The department answers with the outcome and its date (granted: the household's measure)",
)
def answer(
    referral_id: PathId, body: ReferralAnswer, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> ReferralRead:
    return ReferralRead.model_validate(referral_service.answer(session, settings, actor, referral_id, body))
