import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from app import spawned
from app.api.deps import CurrentActor, PageDep, SessionDep, SessionsDep, SettingsDep
from app.errors import NotFound
from app.models import RiskList
from app.schemas.common import ErrorBody
from app.schemas.risk_lists import (
    Change,
    ExportFormat,
    Level,
    RiskListEntryRead,
    RiskListPage,
    RiskListRead,
    RiskListSummary,
)
from app.services.lists import (
    risk_list_charts,
    risk_list_export,
    risk_list_generation,
    risk_list_summary,
    risk_list_workbook,
    risk_lists,
)
from app.services.lists.risk_lists import Filters

router = APIRouter(
    prefix="/risk-lists",
    tags=["risk lists"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
logger = logging.getLogger(__name__)
CODE = r"^[0-9]{12}$"
WeekPath = Annotated[str, Path(max_length=8, description='ISO week ("2026-W48") or "latest"')]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {"csv": "text/csv", "xlsx": XLSX, "json": "application/json"}


@router.get("", response_model=list[RiskListRead], summary="The weeks that have a list (and superseded ones)")
def weeks(session: SessionDep, actor: CurrentActor) -> list[RiskListRead]:
    """Each list's counts are those of the caller's region."""
    return [
        _read(risk_list, entries, resolved)
        for risk_list, entries, resolved in risk_lists.listing(session, actor)
    ]


def _read(risk_list: RiskList, entries: int, resolved: int) -> RiskListRead:
    return RiskListRead.model_validate(risk_list).model_copy(
        update={"entries": entries, "resolved": resolved}
    )


@router.post(
    "/{week}",
    response_model=RiskListRead,
    status_code=201,
    summary="Freeze a week's list now (admin)",
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def generate(
    week: WeekPath,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    force: Annotated[
        bool, Query(description="regenerate a week that has a list (the old one is kept)")
    ] = False,
) -> RiskList:
    """The scheduled job does this every Monday morning. A week that has not begun is refused; a week
    that has a list needs `force=true`, and its old list stays, marked superseded."""
    return risk_list_generation.generate(session, settings, actor, week, force)


def _format(request: Request, format: ExportFormat | None) -> str:
    if format is not None:
        return format
    accept = request.headers.get("accept", "")
    if XLSX in accept:
        return "xlsx"
    if "text/csv" in accept:
        return "csv"
    return "json"


@router.get(
    "/{week}",
    response_model=RiskListPage,
    summary="A week's list in the caller's region: JSON (paginated), CSV or XLSX",
    responses={200: {"content": {"text/csv": {}, XLSX: {}}}, 422: {"model": ErrorBody}},
)
def read(
    week: WeekPath,
    request: Request,
    session: SessionDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    actor: CurrentActor,
    page: PageDep,
    township: Annotated[str | None, Query(pattern=CODE)] = None,
    village: Annotated[str | None, Query(pattern=CODE)] = None,
    level: Annotated[Level | None, Query()] = None,
    reason: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$", description="a reason code")] = None,
    change: Annotated[Change | None, Query()] = None,
    overdue: Annotated[bool | None, Query()] = None,
    format: Annotated[ExportFormat | None, Query(description="or by the Accept header")] = None,
) -> Any:
    """CSV is UTF-8 with a BOM and Chinese headers, streamed as it is read; XLSX has a summary sheet with
    the charts and one sheet per township. Cells a spreadsheet would read as formulas are escaped."""
    risk_list = risk_lists.readable(session, actor, week)
    filters = Filters(township, village, level, reason, change, overdue)
    chosen = _format(request, format)
    name = f"risk-list-{risk_list.week}"
    if chosen != "json":  # who took a whole list away, and which (no personal data in the log)
        logger.info(
            "risk list exported",
            extra={
                "user_id": actor.user_id,
                "week": risk_list.week,
                "format": chosen,
                "filters": asdict(filters),
            },
        )
    if chosen == "csv":
        chunks = risk_list_export.csv_chunks(
            risk_list_export.stream(sessions, settings, risk_list.id, actor, filters)
        )
        return StreamingResponse(
            chunks,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if chosen == "xlsx":
        # the workbook reads in transactions of its own: this one ends first, so that the request holds
        # one connection at a time (a request at work per connection, config.py)
        session.commit()
        handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="shouwang-")
        os.close(handle)
        try:
            risk_list_workbook.write_xlsx(
                FilePath(path),
                sessions,
                settings,
                risk_list.id,
                actor,
                filters,
                second_process=spawned.township_rows,
            )
        except BaseException:
            os.unlink(path)
            raise
        return FileResponse(
            path, media_type=XLSX, filename=f"{name}.xlsx", background=BackgroundTask(os.unlink, path)
        )
    items, total = risk_list_export.page(session, settings, risk_list, actor, filters, page)
    return RiskListPage(
        risk_list=_read(risk_list, *risk_lists.counts(session, actor, risk_list)),
        items=[RiskListEntryRead.model_validate(item) for item in items],
        total=total,
        page=page.page,
        page_size=page.page_size,
        reason_labels=risk_lists.REASON_LABELS,
    )


@router.get(
    "/{week}/summary", response_model=RiskListSummary, summary="A week's summary, in the caller's region"
)
def summary(
    week: WeekPath,
    session: SessionDep,
    actor: CurrentActor,
    township: Annotated[str | None, Query(pattern=CODE)] = None,
    village: Annotated[str | None, Query(pattern=CODE)] = None,
) -> RiskListSummary:
    """For township reviewers and the district office (a village's cadre works from the list itself)."""
    risk_list = risk_list_summary.readable(session, actor, week)
    return risk_list_summary.summarise(session, risk_list, actor, Filters(township, village))


@router.get(
    "/{week}/charts/{name}.png",
    summary="A chart (PNG): flagged-by-township (last 12 weeks) or reasons",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 503: {"model": ErrorBody}},
)
def chart(
    week: WeekPath,
    name: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    actor: CurrentActor,
    township: Annotated[str | None, Query(pattern=CODE)] = None,
    village: Annotated[str | None, Query(pattern=CODE)] = None,
) -> Response:
    if name not in risk_list_charts.NAMES:
        raise NotFound(f"no chart {name!r}; charts: {', '.join(risk_list_charts.NAMES)}", field="name")
    risk_list = risk_list_summary.readable(session, actor, week)
    summary = risk_list_summary.summarise(session, risk_list, actor, Filters(township, village))
    png = risk_list_charts.render(name, summary)
    return Response(png, media_type="image/png")
