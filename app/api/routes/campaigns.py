from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.models import Campaign
from app.schemas.common import ErrorBody, Page
from app.schemas.fieldwork import (
    CampaignCreate,
    CampaignProgress,
    CampaignRead,
    CampaignSummary,
    ClusterAlertRead,
    FieldTaskRead,
    VillageProgress,
)
from app.services.fieldwork import alerts as alert_service
from app.services.fieldwork import campaigns as campaign_service
from app.services.fieldwork import tasks as task_service

router = APIRouter(
    tags=["field work"],
    responses={
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/campaigns", response_model=CampaignRead, status_code=201, summary="Open a campaign (集中排查)")
def open_campaign(
    body: CampaignCreate, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> CampaignRead:
    """The district office opens it over the county or some townships, for every registered household or
    those of some types (脱贫户 …) or monitoring categories (边缘易致贫户 …); each household in scope gets a
    task, done by its first visit in the period (visits already made in the period count)."""
    return CampaignRead.model_validate(campaign_service.open_campaign(session, settings, actor, body))


@router.get("/campaigns", response_model=Page[CampaignRead], summary="Campaigns, the latest first")
def listing(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[CampaignRead]:
    rows, total = campaign_service.listing(session, actor, page)
    return Page[CampaignRead].of(rows, total, page)


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignProgress,
    summary="A campaign's progress by township and village, in the caller's region",
)
def progress(campaign_id: PathId, session: SessionDep, actor: CurrentActor) -> CampaignProgress:
    campaign, villages = campaign_service.progress(session, actor, campaign_id)
    return CampaignProgress(
        campaign=CampaignRead.model_validate(campaign),
        tasks=sum(v["tasks"] for v in villages),
        visited=sum(v["visited"] for v in villages),
        villages=[VillageProgress(**v) for v in villages],
    )


@router.post(
    "/campaigns/{campaign_id}/close",
    response_model=CampaignSummary,
    summary="Close a campaign: its summary (visited, cases opened, risks eliminated) is frozen",
)
def close(
    campaign_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> CampaignSummary:
    """By the district office; visits after it no longer change the summary."""
    campaign_service.close(session, settings, actor, campaign_id)
    return _summary(*campaign_service.summary(session, actor, campaign_id))


@router.get(
    "/campaigns/{campaign_id}/summary",
    response_model=CampaignSummary,
    summary="A closed campaign's summary (JSON, or XLSX with ?format=xlsx), in the caller's region",
    responses={200: {"content": {XLSX: {}}}},
)
def summary(
    campaign_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",  # noqa: A002
) -> CampaignSummary | Response:
    campaign, rows = campaign_service.summary(session, actor, campaign_id)
    if format == "xlsx":
        name = f"campaign-{campaign.id}.xlsx"
        workbook = campaign_service.summary_xlsx(campaign, rows)
        return Response(
            workbook, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    return _summary(campaign, rows)


def _summary(campaign: Campaign, rows: list[dict[str, Any]]) -> CampaignSummary:
    return CampaignSummary(
        campaign=CampaignRead.model_validate(campaign),
        totals=campaign_service.totals(rows),
        villages=[VillageProgress.model_validate(v) for v in rows],
    )


@router.get(
    "/field-tasks",
    response_model=Page[FieldTaskRead],
    summary="Households to visit: campaign tasks and follow-ups after an elimination (回头看)",
)
def tasks(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    kind: Annotated[Literal["campaign", "follow_up"] | None, Query()] = None,
    state: Annotated[Literal["open", "overdue", "done"] | None, Query()] = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[FieldTaskRead]:
    rows, total = task_service.listing(session, actor, page, kind=kind, state=state, campaign_id=campaign_id)
    return Page[FieldTaskRead].of(rows, total, page)


@router.get(
    "/cluster-alerts",
    response_model=Page[ClusterAlertRead],
    summary="Many households hit at once in a village or township (the township's and district's)",
)
def cluster_alerts(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    since: Annotated[date | None, Query(description="windows ending on or after")] = None,
) -> Page[ClusterAlertRead]:
    rows, total = alert_service.listing(session, actor, page, since)
    names = alert_service.region_names(session, rows)
    items = [
        ClusterAlertRead.model_validate(a).model_copy(
            update={
                "region_name": names.get(a.region_code, a.region_code),
                "dominant_reason_label": alert_service.reason_label(a.dominant_reason),
            }
        )
        for a in rows
    ]
    return Page[ClusterAlertRead].of(items, total, page)
