from fastapi import APIRouter

from app.api.deps import CurrentActor, PageDep, SessionDep
from app.schemas.common import ErrorBody
from app.schemas.visits import DueVisitPage, DueVisitRead
from app.services.registry import visits as visit_service

router = APIRouter(
    prefix="/visits",
    tags=["households"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.get(
    "/due",
    response_model=DueVisitPage,
    summary="Households to visit: neither a report nor a visit within the policy's months (never seen first)",
)
def due(session: SessionDep, actor: CurrentActor, page: PageDep) -> DueVisitPage:
    """A household nobody has reported on or visited is not a safe household: the village's list of whom
    to see (the stale queue; a report counts from the end of its period, a visit from its day)."""
    items, total, months = visit_service.due(session, actor, page)
    return DueVisitPage(
        items=[DueVisitRead.model_validate(i) for i in items],
        total=total,
        page=page.page,
        page_size=page.page_size,
        stale_report_months=months,
    )
