import io
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from app.api.deps import CurrentActor, SessionDep, SessionsDep, SettingsDep
from app.schemas.common import ErrorBody
from app.services.exports import decisions, monthly, notices

router = APIRouter(
    tags=["exports"],
    responses={403: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"schema": {"type": "string", "format": "binary"}}


def _file(data: bytes, media_type: str, name: str) -> Response:
    # personal data (names; ID numbers in the decisions): never kept by a shared cache
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get(
    "/villages/{village_code}/public-notice.pdf",
    summary="The village's public notice (公示) of its households at the notice step, to print",
    response_class=Response,
    responses={200: {"content": {"application/pdf": BINARY}, "description": "A4, Chinese"}},
)
def public_notice(
    village_code: Annotated[str, Path(pattern=r"^[0-9]{12}$")],
    session: SessionDep,
    actor: CurrentActor,
    starts_on: Annotated[date | None, Query(description="the notice's first day (default today)")] = None,
) -> Response:
    """For the village's cadres, its township and the district office. The notice shows each head's name
    (as the policy allows), the household's size and type, what is proposed, the period and where to
    object — never an ID number, phone, health detail, income or risk type."""
    notice = notices.gather(session, actor, village_code, starts_on)
    return _file(
        notices.render(notice), "application/pdf", f"public-notice-{village_code}-{notice.starts_on}.pdf"
    )


@router.get(
    "/exports/decisions.xlsx",
    summary="The county's decisions of a period, in the national system's layout (district office)",
    response_class=Response,
    responses={200: {"content": {XLSX: BINARY}, "description": "one row per member"}},
)
def decisions_export(
    session: SessionDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    actor: CurrentActor,
    start: Annotated[date, Query(alias="from", description="first day of the period")],
    end: Annotated[date, Query(alias="to", description="last day of the period (at most a year)")],
) -> Response:
    """Households identified or whose risk was eliminated in the period, with category, risk types and
    dates, in the shipped import mapping's columns: importing the file gives the same records."""
    out = io.BytesIO()
    decisions.write(session, sessions, settings, actor, start, end, out)
    return _file(out.getvalue(), XLSX, f"decisions-{start}-{end}.xlsx")


@router.get(
    "/exports/monthly.xlsx",
    summary="The month's tables for the city and province, by township (district office, admin)",
    response_class=Response,
    responses={200: {"content": {XLSX: BINARY}, "description": "a sheet per table"}},
)
def monthly_tables(
    session: SessionDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    actor: CurrentActor,
    month: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")],
) -> Response:
    out = io.BytesIO()
    monthly.write(session, sessions, settings, actor, month, out, settings.timezone)
    return _file(out.getvalue(), XLSX, f"monthly-{month}.xlsx")
