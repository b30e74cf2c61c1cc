from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, SessionDep
from app.schemas.common import MAX_ID, ErrorBody
from app.schemas.drift import DriftReportRead
from app.services.scoring import drift as drift_service

router = APIRouter(tags=["risk"], responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}})


@router.get(
    "/risk/drift",
    response_model=DriftReportRead,
    summary="How far a scoring run's inputs and scores moved from the model's training window (PSI)",
)
def drift_report(
    session: SessionDep,
    actor: CurrentActor,
    run_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="a completed run (default: the latest)")
    ] = None,
) -> DriftReportRead:
    """Per feature of the model and for its score: the population stability index of the run against
    its reference, district-wide and per township (a shift in one township can vanish in the district's
    figure), each marked stable, watch or drift by the policy's thresholds. Stale reports count through
    `months_since_report`, measured to the run's date. District officers and admins."""
    return drift_service.report(session, actor, run_id)
