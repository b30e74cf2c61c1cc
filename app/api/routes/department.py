from typing import Annotated

from fastapi import APIRouter, Body

from app.api.deps import CurrentActor, PageDep, SessionDep, SettingsDep
from app.errors import Invalid
from app.schemas.common import ErrorBody, Page
from app.schemas.department import DepartmentBatch, DepartmentResult, UnmatchedRead
from app.services.cases import department

router = APIRouter(
    prefix="/department-signals",
    tags=["cases"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)


@router.post("", response_model=DepartmentResult, summary="Department signals as JSON (department users)")
def receive_json(
    body: DepartmentBatch, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> DepartmentResult:
    """Each signal is matched to a household by the ID number of any active member. Matched signals open
    or attach cases; unmatched ones are listed and kept for review."""
    return department.receive_rows(session, settings, actor, department.parse_json(body.signals), "json")


@router.post(
    "/import",
    response_model=DepartmentResult,
    summary="Department signals as CSV (UTF-8, with or without BOM)",
)
def receive_csv(
    body: Annotated[bytes, Body(media_type="text/csv")],
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> DepartmentResult:
    """Columns: department,id_number,name,village_code,signal_type,amount,occurred_on,note. Good rows open
    or attach cases; unmatched and malformed rows are reported by line and kept as unmatched signals for
    review, never dropped."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the file must be UTF-8", field="file") from None
    rows = department.parse_csv(text)
    return department.receive_rows(session, settings, actor, rows, "csv")


@router.get("/unmatched", response_model=Page[UnmatchedRead], summary="Rows kept for review")
def unmatched(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[UnmatchedRead]:
    """Rows that matched no registered member or could not be read, newest first: a department user's
    own rows, every department's for district officers. ID numbers are masked (the encrypted copy stays
    for the district to follow up); names and the free-text note are not shown."""
    rows, total = department.unmatched(session, actor, page)
    items = [
        UnmatchedRead(
            id=r.id,
            origin=r.origin,
            note=r.note,
            # a department's free-text note may hold health details: not shown in the review list
            row={k: v for k, v in (r.reasons[0].get("row", {}) if r.reasons else {}).items() if k != "note"},
            received_at=r.received_at,
        )
        for r in rows
    ]
    return Page[UnmatchedRead].of(items, total, page)
