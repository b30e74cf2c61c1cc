"""The scorer judged by the verifiers' decisions (app/services/scoring/verification.py)."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, SessionDep
from app.schemas.common import ErrorBody, RecordDate
from app.schemas.verification import VerificationRead
from app.services.scoring import verification

router = APIRouter(
    tags=["risk"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.get(
    "/risk/verification",
    response_model=VerificationRead,
    summary="The scorer's precision against the verifiers' decisions (district, admin)",
)
def verification_precision(
    session: SessionDep,
    actor: CurrentActor,
    decided_from: Annotated[RecordDate | None, Query(description="decisions from this date")] = None,
    decided_to: Annotated[RecordDate | None, Query(description="decisions up to this date")] = None,
) -> VerificationRead:
    """Of the households the scorer flagged whose identification cases were decided (confirmed or
    rejected; a withdrawal is no decision), how many the verifiers confirmed, with 95 % Wilson intervals:
    for the level the run published, for the rules' own reasons and for the model's probability against
    the policy's cut-offs, each by level and by township. The flag is the one in force when the case
    opened (the run that opened it, or the latest run then); decisions are counted once each."""
    return verification.precision_report(session, actor, decided_from=decided_from, decided_to=decided_to)
