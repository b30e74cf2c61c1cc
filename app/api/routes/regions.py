from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, SessionDep
from app.models.enums import RegionLevel
from app.schemas.common import Page
from app.schemas.regions import RegionRead
from app.services.registry import regions as region_service

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get("", response_model=Page[RegionRead], summary="The caller's part of the region tree")
def list_regions(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    level: Annotated[RegionLevel | None, Query()] = None,
    parent_code: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
) -> Page[RegionRead]:
    regions, total = region_service.list_visible(session, actor, level, parent_code, page)
    return Page[RegionRead].of(regions, total, page)
