from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep
from app.schemas.common import ErrorBody, Page
from app.schemas.webhooks import AllowedHostCreate, AllowedHostRead, DeliveryRead, WebhookCreate, WebhookRead
from app.services.platform import outbox, webhook_hosts

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)


@router.post(
    "",
    response_model=WebhookRead,
    status_code=201,
    summary="Add a region's webhook (admin)",
    responses={422: {"model": ErrorBody}},
)
def add(body: WebhookCreate, session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> WebhookRead:
    """Posts carry case ids, codes and steps, never personal data; each is signed:
    `x-shouwang-signature` = hex HMAC-SHA256(secret, `x-shouwang-timestamp` + "." + body).
    The URL is checked in full (422 naming `url`, never echoing it); at delivery its host must resolve
    to a public address or to an address on the allow-list."""
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


@router.post(
    "/deliveries/{message_id}/replay",
    response_model=DeliveryRead,
    summary="Send a dead message again (admin)",
    responses={409: {"model": ErrorBody, "description": "the message is not dead"}},
)
def replay(
    message_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> DeliveryRead:
    """Only a dead message goes out again: a delivered one is never sent twice, a pending one is on its
    way (409)."""
    return DeliveryRead.model_validate(outbox.replay(session, settings, actor, message_id))


@router.delete("/{endpoint_id}", response_model=WebhookRead, summary="Deactivate a webhook (admin)")
def deactivate(
    endpoint_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> WebhookRead:
    """Nothing more is posted to it; undelivered messages are parked as dead, visible in its deliveries."""
    return WebhookRead.model_validate(outbox.deactivate(session, settings, actor, endpoint_id))


@router.get("/allowed-hosts", response_model=list[AllowedHostRead], summary="The webhook allow-list (admin)")
def allowed_hosts(session: SessionDep, actor: CurrentActor) -> list[AllowedHostRead]:
    return [AllowedHostRead.model_validate(h) for h in webhook_hosts.listing(session, actor)]


@router.post(
    "/allowed-hosts",
    response_model=AllowedHostRead,
    status_code=201,
    summary="Allow webhooks to point at a host (admin)",
    responses={200: {"model": AllowedHostRead, "description": "already allowed"}, 422: {"model": ErrorBody}},
)
def allow_host(
    body: AllowedHostCreate,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> AllowedHostRead:
    entry, added = webhook_hosts.allow(session, settings, actor, body.host)
    if not added:
        response.status_code = 200
    return AllowedHostRead.model_validate(entry)


@router.delete(
    "/allowed-hosts/{host}",
    status_code=204,
    summary="Remove a host from the allow-list (admin)",
    responses={409: {"model": ErrorBody}},
)
def disallow_host(
    host: Annotated[str, Path(max_length=253)],
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
) -> Response:
    """Refused (409) while an active webhook points at the host: deactivate it first."""
    webhook_hosts.disallow(session, settings, actor, host)
    return Response(status_code=204)
