"""Region webhooks through a transactional outbox.

A message is written with the change it announces, so a rollback takes it back and a commit keeps it
until delivered. The worker posts due messages (signed: HMAC-SHA256 over "timestamp.body" with the
endpoint's secret), retries failures with exponential backoff, and parks a message as dead after the
configured number of attempts, where an admin sees it and can send it again. Payloads carry ids, codes
and steps: never personal data.
"""

import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.config import Settings
from app.errors import Invalid, NotFound
from app.models import Case, OutboxMessage, WebhookEndpoint
from app.models.base import utcnow
from app.models.enums import Role
from app.pii import cipher_for
from app.schemas.common import PageParams
from app.services import access, audit, paging, webhook_hosts
from app.services.access import Actor

logger = logging.getLogger(__name__)
ADMINS = frozenset({Role.admin})
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)


def add_endpoint(
    session: Session, settings: Settings, actor: Actor, region_code: str, url: str, secret: str
) -> WebhookEndpoint:
    access.require_role(actor, ADMINS, "adding webhooks")
    if urlsplit(url).scheme not in ("https", "http") or not webhook_hosts.is_allowed(session, url):
        host = webhook_hosts.host_of(url) or "(none)"
        raise Invalid(f"the URL's host {host} is not on the webhook allow-list", field="url")
    endpoint = WebhookEndpoint(
        region_code=region_code,
        url=url,
        secret_encrypted=cipher_for(settings).encrypt(secret),
        created_by=actor.username,
    )
    session.add(endpoint)
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "webhook.add", "webhook_endpoint", endpoint.id, None, {"region_code": region_code, "url": url}
            )
        ],
    )
    return endpoint


def deactivate(session: Session, settings: Settings, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    """Stop posting to a webhook; its undelivered messages are parked as dead, where they stay visible."""
    access.require_role(actor, ADMINS, "removing webhooks")
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        raise NotFound(f"webhook {endpoint_id} not found", field="endpoint_id")
    if endpoint.active:
        endpoint.active = False
        audit.record(
            session,
            settings,
            actor,
            [
                audit.Change(
                    "webhook.deactivate", "webhook_endpoint", endpoint.id, None, {"url": endpoint.url}
                )
            ],
        )
    return endpoint


def enqueue_case(session: Session, case: Case, event: str, cache: dict[Any, Any] | None = None) -> None:
    """Queue `event` about `case` for every active endpoint of its village, township or county."""
    key = ("endpoints", case.village_code)
    if cache is None or key not in cache:
        regions = {case.village_code, case.township_code, case.village_code[:6] + "000000"}
        found = session.scalars(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.active.is_(True), WebhookEndpoint.region_code.in_(regions)
            )
        ).all()
        if cache is None:
            cache = {}
        cache[key] = list(found)
    endpoints = cache[key]
    payload = {
        "event": event,
        "case_id": case.id,
        "step": case.step,
        "status": case.status,
        "village_code": case.village_code,
        "township_code": case.township_code,
        "at": utcnow().isoformat(),
    }
    for endpoint_id in endpoints:
        session.add(OutboxMessage(endpoint_id=endpoint_id, payload=payload))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def deliver_due(session: Session, settings: Settings, now: datetime | None = None, limit: int = 100) -> int:
    """Post the due messages (each locked, skipped by a concurrent worker); returns how many were sent."""
    now = now or utcnow()
    due = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    cipher = cipher_for(settings)
    sent = 0
    with httpx.Client(timeout=settings.webhook_timeout_seconds) as client:
        for message in due:
            endpoint = session.get(WebhookEndpoint, message.endpoint_id)
            if endpoint is None or not endpoint.active:
                message.status, message.last_error = "dead", "endpoint removed or inactive"
                continue
            body = json.dumps({"message_id": message.id, **message.payload}, ensure_ascii=False).encode()
            timestamp = str(clock.unix_seconds())
            headers = {
                "content-type": "application/json",
                "x-shouwang-timestamp": timestamp,
                "x-shouwang-signature": signature(cipher.decrypt(endpoint.secret_encrypted), timestamp, body),
            }
            message.attempts += 1
            try:
                response = client.post(endpoint.url, content=body, headers=headers)
                message.last_status, message.last_error = response.status_code, None
                delivered = 200 <= response.status_code < 300
                if not delivered:
                    message.last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                message.last_status, message.last_error, delivered = (
                    None,
                    f"{type(exc).__name__}: {exc}"[:500],
                    False,
                )
            if delivered:
                message.status, message.delivered_at = "delivered", now
                sent += 1
            elif message.attempts >= settings.webhook_max_attempts:
                message.status = "dead"
                logger.warning(
                    "webhook message parked", extra={"message_id": message.id, "attempts": message.attempts}
                )
            else:
                message.next_attempt_at = now + min(BACKOFF_FIRST * 2 ** (message.attempts - 1), BACKOFF_MAX)
    return sent


def deliveries(
    session: Session, actor: Actor, endpoint_id: int, status: str | None, page: PageParams
) -> tuple[list[OutboxMessage], int]:
    access.require_role(actor, ADMINS, "reading webhook deliveries")
    if session.get(WebhookEndpoint, endpoint_id) is None:
        raise NotFound(f"webhook {endpoint_id} not found", field="endpoint_id")
    stmt = select(OutboxMessage).where(OutboxMessage.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return paging.page_of(session, stmt, page, OutboxMessage.id.desc())


def replay(session: Session, settings: Settings, actor: Actor, message_id: int) -> OutboxMessage:
    """Send a dead message again (from now, with a fresh count of attempts)."""
    access.require_role(actor, ADMINS, "replaying webhook messages")
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFound(f"message {message_id} not found", field="message_id")
    message.status, message.attempts, message.next_attempt_at = "pending", 0, utcnow()
    audit.record(
        session, settings, actor, [audit.Change("webhook.replay", "outbox_message", message.id, None, {})]
    )
    return message


def endpoints(session: Session, actor: Actor) -> list[tuple[WebhookEndpoint, dict[str, Any]]]:
    access.require_role(actor, ADMINS, "reading webhooks")
    counts: dict[int, dict[str, Any]] = {}
    for endpoint_id, status, n in session.execute(
        select(OutboxMessage.endpoint_id, OutboxMessage.status, func.count()).group_by(
            OutboxMessage.endpoint_id, OutboxMessage.status
        )
    ):
        counts.setdefault(endpoint_id, {})[status] = n
    return [
        (e, counts.get(e.id, {}))
        for e in session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    ]
