from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.api.errors import validation_errors
from app.clock import local_today
from app.errors import AppError
from app.schemas.common import TODAY, ErrorBody, Page, PastDate
from app.schemas.plain import plain_adapter
from app.schemas.reports import (
    BatchReportItem,
    BatchReportsIn,
    BatchReportsOut,
    ReportCreate,
    ReportPreview,
    ReportRead,
)
from app.services.registry import report_submission, report_views
from app.services.registry.report_checks import Item

router = APIRouter(
    tags=["reports"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)


CREATED = {"X-Reports-Created": {"schema": {"type": "integer"}, "description": "reports this call stored"}}


@router.get(
    "/households/{household_id}/reports",
    response_model=Page[ReportRead],
    summary="A household's reports, newest first (superseded ones marked)",
)
def list_reports(
    household_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    since: Annotated[PastDate | None, Query(description="periods ending on or after")] = None,
) -> Page[ReportRead]:
    items, total = report_views.list_for_household(session, actor, household_id, page, since)
    return Page[ReportRead].of(items, total, page)


@router.post(
    "/households/{household_id}/reports",
    response_model=ReportRead,
    status_code=201,
    summary="Submit one dated indicator report",
    responses={200: {"model": ReportRead, "description": "Sent before: the stored report, nothing stored"}},
)
def submit_report(
    household_id: PathId,
    body: ReportCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    response: Response,
) -> ReportRead:
    """201 when stored; 200 with the stored report when the same `client_ref` and body were sent before;
    409 when that `client_ref` was used for a different body or the period overlaps another report."""
    items, created = report_submission.submit(
        session, settings, actor, [Item(body=body, prefix="", household_id=household_id)]
    )
    if not created:
        response.status_code = 200
    return items[0]


@router.post(
    "/households/{household_id}/reports/preview",
    response_model=ReportPreview,
    summary="What a report would give if sent now (per-capita income against the line); stores nothing",
)
def preview_report(
    household_id: PathId, body: ReportCreate, session: SessionDep, actor: CurrentActor
) -> ReportPreview:
    """The same checks and refusals as submitting the report (403, 404, 409, 422 naming the field), then
    the per-capita net income over the 12 months to `period_end` with this report counted, this year's
    monitoring line and whether the figure is below it. Nothing is stored or audited."""
    return report_submission.preview(session, actor, household_id, body)


@router.post(
    "/reports/batch",
    response_model=BatchReportsOut,
    status_code=201,
    summary="Submit up to 1,000 reports at once (all or nothing)",
    responses={
        200: {
            "model": BatchReportsOut,
            "description": "Sent before: the stored reports, nothing stored",
            "headers": CREATED,
        },
        201: {"headers": CREATED},
    },
)
def submit_batch(
    body: BatchReportsIn, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> Response:
    """Every item is checked first; if any is invalid nothing is stored and the answer lists every item's
    errors (`reports[i].field`). Re-sending a batch stores nothing new and answers the same body (200);
    header `X-Reports-Created` counts what this call stored."""
    items: list[Item] = []
    invalid: list[AppError] = []
    context = {TODAY: local_today()}
    for i, raw in enumerate(body.reports):
        prefix = f"reports[{i}]."
        try:
            item = BatchReportItem.model_validate(raw, context=context)
        except ValidationError as exc:
            invalid.extend(validation_errors(exc, prefix))
            continue
        items.append(
            Item(body=item, prefix=prefix, household_id=item.household_id, household_no=item.household_no)
        )
    reads, created = report_submission.submit_plain(session, settings, actor, items, invalid=invalid)
    # Serialised here, once, from plain dicts: returning the model would make FastAPI dump and re-validate
    # 1,000 items, and making the models costs more than serialising them (schemas/plain.py).
    return Response(
        content=plain_adapter(BatchReportsOut).dump_json({"items": reads}),
        media_type="application/json",
        status_code=201 if created else 200,
        headers={"X-Reports-Created": str(created)},
    )
