from typing import Annotated

from fastapi import APIRouter, Body

from app.api.deps import CurrentActor, SessionDep, SettingsDep
from app.errors import Invalid
from app.schemas.common import ErrorBody
from app.schemas.department import DepartmentBatch, DepartmentResult
from app.services import department

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
