from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.schemas.common import ErrorBody, Page
from app.schemas.webhooks import DeliveryRead, WebhookCreate, WebhookRead
from app.services import outbox

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


@router.post("", response_model=WebhookRead, status_code=201, summary="Add a region's webhook (admin)")
def add(body: WebhookCreate, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> WebhookRead:
    """Posts carry case ids, codes and steps, never personal data; each is signed:
    `x-shouwang-signature` = hex HMAC-SHA256(secret, `x-shouwang-timestamp` + "." + body)."""
    endpoint = outbox.add_endpoint(session, settings, actor, body.region_code, body.url, body.secret)
    return WebhookRead.model_validate(endpoint)


@router.get("", response_model=list[WebhookRead], summary="Webhooks and their messages by status (admin)")
def list_webhooks(session: SessionDep, actor: CurrentActor) -> list[WebhookRead]:
    return [
        WebhookRead.model_validate(e).model_copy(update={"messages": counts})
        for e, counts in outbox.endpoints(session, actor)
    ]


@router.get("/{endpoint_id}/deliveries", response_model=Page[DeliveryRead], summary="Messages (admin)")
def deliveries(
    endpoint_id: PathId,
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
) -> Page[DeliveryRead]:
    """`status=dead`: the messages parked after too many failed attempts."""
    items, total = outbox.deliveries(session, actor, endpoint_id, status, page)
    return Page[DeliveryRead].of(items, total, page)


@router.post("/deliveries/{message_id}/replay", response_model=DeliveryRead, summary="Send again (admin)")
def replay(
    message_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> DeliveryRead:
    return DeliveryRead.model_validate(outbox.replay(session, settings, actor, message_id))
