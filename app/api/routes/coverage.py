from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from app.api.deps import CurrentActor, PageDep, SessionDep
from app.schemas.common import ErrorBody
from app.schemas.coverage import (
    CoverageCounts,
    CoverageRead,
    HouseholdCoverageRead,
    TownshipCoverageRead,
    VillageCoveragePage,
    VillageCoverageRead,
)
from app.services.registry import coverage as coverage_service

router = APIRouter(
    prefix="/coverage",
    tags=["households"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)

CODE = r"^[0-9]{12}$"
MonthQuery = Annotated[str | None, Query(description="YYYY-MM, the district's month (default: this month)")]


def _counts(counts: coverage_service.Counts) -> dict[str, Any]:
    return {
        "registered": counts.registered,
        "covered": counts.covered,
        "visited": counts.visited,
        "reported_only": counts.reported_only,
        "not_covered": counts.not_covered,
        "share": counts.share,
    }


def _village(row: coverage_service.VillageCoverage) -> VillageCoverageRead:
    return VillageCoverageRead(
        village_code=row.village_code,
        village_name=row.village_name,
        township_code=row.township_code,
        township_name=row.township_name,
        **_counts(row.counts),
    )


@router.get(
    "",
    response_model=CoverageRead,
    summary="Screening coverage of a month: households visited, reported on and not, by village",
)
def coverage(
    session: SessionDep,
    actor: CurrentActor,
    month: MonthQuery = None,
    township: Annotated[str | None, Query(pattern=CODE)] = None,
    village: Annotated[str | None, Query(pattern=CODE)] = None,
) -> CoverageRead:
    """Every village of the caller's region (a village cadre: its village; a township reviewer: its
    villages; a district officer: all), with township subtotals and the region's total. Visited: a visit
    dated in the month. Reported on: a report sent in the month whose period ended within the policy's
    `stale_report_months` before the month began."""
    found = coverage_service.summary(session, actor, month, township, village)
    return CoverageRead(
        month=found.month.label,
        stale_report_months=found.stale_report_months,
        villages=[_village(v) for v in found.villages],
        townships=[
            TownshipCoverageRead(
                township_code=t.township_code, township_name=t.township_name, **_counts(t.counts)
            )
            for t in found.townships
        ],
        total=CoverageCounts(**_counts(found.total)),
    )


@router.get(
    "/villages/{village_code}",
    response_model=VillageCoveragePage,
    summary="A village's households and how each was covered in a month (not covered first)",
)
def village_coverage(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    village_code: Annotated[str, Path(pattern=CODE)],
    month: MonthQuery = None,
) -> VillageCoveragePage:
    """404 for a village outside the caller's region. `stale` is today's flag (GET /visits/due)."""
    place, items, found = coverage_service.village_households(session, actor, village_code, month, page)
    return VillageCoveragePage(
        month=found.label,
        village=_village(place),
        items=[HouseholdCoverageRead.model_validate(i) for i in items],
        total=place.counts.registered,
        page=page.page,
        page_size=page.page_size,
    )
