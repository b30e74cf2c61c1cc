"""The provincial relief platform's side of the contract (docs/relief-platform.md)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from app.api.deps import CurrentActor, PageDep, PathId, SessionDep, SettingsDep, oauth2_scheme
from app.config import Settings
from app.errors import Unauthorized
from app.models.enums import Role
from app.schemas.common import ErrorBody, Page
from app.schemas.relief import (
    ApplicationAnswer,
    ApplicationOnCase,
    ReconcileItem,
    ReconcileOut,
    ReliefDeliveryRead,
)
from app.services.platform import access, auth
from app.services.relief import relief, relief_keys, relief_outbox
from app.services.relief.relief_keys import Signer

router = APIRouter(
    prefix="/integrations/relief-platform",
    tags=["relief platform"],
    responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
ADMINS = frozenset({Role.admin})


def _signer(session: Session, settings: Settings, headers: Headers, body: bytes) -> Signer:
    return relief_keys.verify(
        session,
        settings,
        headers.get("x-shouwang-key-id"),
        headers.get("x-shouwang-timestamp"),
        headers.get("x-shouwang-signature"),
        body,
    )


def _receive(session: Session, settings: Settings, headers: Headers, body: bytes) -> ApplicationAnswer:
    answer, _ = relief.receive(session, settings, _signer(session, settings, headers, body), body)
    return answer


@router.post(
    "/applications",
    response_model=ApplicationAnswer,
    status_code=202,
    summary="An application from the platform (HMAC-signed)",
)
async def receive_application(
    request: Request, session: SessionDep, settings: SettingsDep
) -> ApplicationAnswer:
    """Headers: X-Shouwang-Key-Id, X-Shouwang-Timestamp (Unix seconds), X-Shouwang-Signature
    ("sha256=" + hex HMAC-SHA256 of timestamp + "." + body). The same application id again gets the same
    answer; a changed payload under it is recorded as an amendment."""
    body = await request.body()
    return await run_in_threadpool(_receive, session, settings, request.headers, body)


def _reconcile(
    session: Session, settings: Settings, headers: Headers, body: bytes, token: str | None
) -> ReconcileOut:
    if headers.get("x-shouwang-key-id") is not None:
        _signer(session, settings, headers, body)
    elif token:
        access.require_role(
            auth.actor_from_token(session, settings, token), ADMINS, "reconciling applications"
        )
    else:
        raise Unauthorized("sign the request (X-Shouwang-*) or send an admin's bearer token")
    wanted = relief.parse_reconcile(body)
    return ReconcileOut(
        items=[ReconcileItem(**item) for item in relief.reconcile(session, wanted.application_ids)]
    )


@router.post(
    "/reconcile", response_model=ReconcileOut, summary="The true status of applications (platform or admin)"
)
async def reconcile(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> ReconcileOut:
    """Body: {"application_ids": [...]} (at most 500). Ids never received come back `unknown`."""
    body = await request.body()
    return await run_in_threadpool(_reconcile, session, settings, request.headers, body, token)


@router.get(
    "/deliveries", response_model=Page[ReliefDeliveryRead], summary="Messages to the platform (admin)"
)
def deliveries(
    session: SessionDep,
    actor: CurrentActor,
    page: PageDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
) -> Page[ReliefDeliveryRead]:
    """`status=dead`: the messages parked after too many failed attempts (the dead letters)."""
    access.require_role(actor, ADMINS, "reading relief deliveries")
    items, total = relief_outbox.deliveries(session, status, page)
    return Page[ReliefDeliveryRead].of(items, total, page)


@router.post(
    "/deliveries/{message_id}/replay",
    response_model=ReliefDeliveryRead,
    summary="Send a message again (admin)",
)
def replay(
    message_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> ReliefDeliveryRead:
    access.require_role(actor, ADMINS, "replaying relief deliveries")
    return ReliefDeliveryRead.model_validate(relief_outbox.replay(session, settings, actor, message_id))


@router.post("/deliveries/replay-dead", summary="Send every dead message again (admin)")
def replay_dead(session: SessionDep, settings: SettingsDep, actor: CurrentActor) -> dict[str, int]:
    """After a long outage each application's first message may be parked, holding back the rest."""
    access.require_role(actor, ADMINS, "replaying relief deliveries")
    return {"replayed": relief_outbox.replay_dead(session, settings, actor)}


case_router = APIRouter(
    prefix="/cases", tags=["cases"], responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}}
)


@case_router.get(
    "/{case_id}/applications",
    response_model=list[ApplicationOnCase],
    summary="The relief platform applications behind a case (for its verifiers)",
)
def applications_on_case(
    case_id: PathId, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> list[ApplicationOnCase]:
    """What the household declared (size, loss, who filed it, attachments); ID number and phones masked."""
    return [ApplicationOnCase.model_validate(a) for a in relief.on_case(session, settings, actor, case_id)]
