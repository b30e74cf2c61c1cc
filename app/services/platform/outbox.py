"""Region webhooks through a transactional outbox.

A message is written with the change it announces, so a rollback takes it back and a commit keeps it
until delivered. The worker posts due messages (signed: HMAC-SHA256 over "timestamp.body" with the
endpoint's secret) through the delivery core (services/platform/delivery.py: claimed, posted outside any
transaction, retried with exponential backoff, parked as dead after the configured number of attempts,
where an admin sees it and can send it again). Payloads carry ids, codes and steps: never personal data.
"""

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app import bulk
from app.config import Settings
from app.errors import Invalid, NotFound
from app.models import Base, OutboxMessage, WebhookEndpoint
from app.models.base import utcnow
from app.models.enums import Role
from app.pii import cipher_for
from app.schemas.common import PageParams
from app.services.platform import access, audit, delivery, egress, paging, webhook_hosts
from app.services.platform.access import Actor

ADMINS = frozenset({Role.admin})
OUTBOX_TABLE = Base.metadata.tables["outbox_message"]
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)


def check_url(session: Session, url: str) -> egress.Url:
    """A URL a webhook may have: http(s), a host on the allow-list, a web or unprivileged port, no
    credentials, no whitespace or control characters; 422 naming `url` otherwise (never echoing it)."""
    try:
        parsed = egress.parse(url)
        egress.check_port(parsed.port)
    except egress.Refused as exc:
        raise Invalid(exc.reason, field="url") from None
    if not webhook_hosts.is_allowed(session, parsed):
        raise Invalid(f"the URL's host {parsed.host} is not on the webhook allow-list", field="url")
    return parsed


def add_endpoint(
    session: Session, settings: Settings, actor: Actor, region_code: str, url: str, secret: str
) -> WebhookEndpoint:
    access.require_role(actor, ADMINS, "adding webhooks")
    check_url(session, url)
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


class CaseLike(Protocol):
    """What a webhook message and a notification say of a case: a stored case, or one just inserted."""

    @property
    def id(self) -> int: ...
    @property
    def step(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def village_code(self) -> str: ...
    @property
    def township_code(self) -> str: ...


def enqueue_case(session: Session, case: CaseLike, event: str) -> None:
    """Queue `event` about `case` for every active endpoint of its village, township or county."""
    enqueue_cases(session, [case], event)


def enqueue_cases(
    session: Session, cases: Sequence[CaseLike], event: str, cache: dict[Any, Any] | None = None
) -> None:
    """`enqueue_case` for a batch, in one INSERT; `cache` remembers the endpoints."""
    cache = {} if cache is None else cache
    at = utcnow().isoformat()
    rows: list[dict[str, Any]] = []
    if "endpoints" not in cache:  # every active endpoint, once per batch: there are few
        by_region: dict[str, list[int]] = defaultdict(list)
        found = session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.region_code)
            .where(WebhookEndpoint.active.is_(True))
            .order_by(WebhookEndpoint.id)
        )
        for endpoint_id, region in found:
            by_region[region].append(endpoint_id)
        cache["endpoints"] = by_region
    endpoints = cache["endpoints"]
    for case in cases:
        assert case.id, "a case is announced once it is stored"
        regions = (case.village_code, case.township_code, case.village_code[:6] + "000000")
        announced = sorted({e for region in regions for e in endpoints.get(region, ())})
        payload = {
            "event": event,
            "case_id": case.id,
            "step": case.step,
            "status": case.status,
            "village_code": case.village_code,
            "township_code": case.township_code,
            "at": at,
        }
        rows.extend({"endpoint_id": endpoint_id, "payload": payload} for endpoint_id in announced)
    bulk.insert_rows(session, OUTBOX_TABLE, rows)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Webhooks:
    """The region webhooks as a kind of message for the delivery core."""

    name = "webhook"
    model = OutboxMessage

    def policy(self, settings: Settings) -> delivery.Policy:
        return delivery.Policy(
            settings.webhook_max_attempts, BACKOFF_FIRST, BACKOFF_MAX, settings.webhook_timeout_seconds
        )

    def ready(self, stmt: Select[tuple[OutboxMessage]]) -> Select[tuple[OutboxMessage]]:
        return stmt

    def prepare(
        self, session: Session, settings: Settings, message: OutboxMessage, cache: dict[Any, Any]
    ) -> delivery.Work:
        endpoint = session.get(WebhookEndpoint, message.endpoint_id)
        if endpoint is None or not endpoint.active:
            return delivery.Park("endpoint removed or inactive")
        try:  # a URL stored before URLs were checked in full
            url = egress.parse(endpoint.url)
            egress.check_port(url.port)
        except egress.Refused as exc:
            return delivery.Park(f"the webhook's URL is not valid: {exc.reason}")
        if "addresses" not in cache:
            cache["addresses"] = webhook_hosts.addresses(session)
        body = json.dumps({"message_id": message.id, **message.payload}, ensure_ascii=False).encode()
        secret = cipher_for(settings).decrypt(endpoint.secret_encrypted)
        return delivery.Post(url, body, partial(_signed, secret, body), cache["addresses"])

    def describe(self, message: OutboxMessage) -> dict[str, Any]:
        return {"message_id": message.id, "endpoint_id": message.endpoint_id}


def _signed(secret: str, body: bytes, timestamp: str) -> dict[str, str]:
    return {"x-shouwang-timestamp": timestamp, "x-shouwang-signature": signature(secret, timestamp, body)}


def deliver_due(scope: delivery.Scope, settings: Settings, limit: int = 200) -> int:
    """Post the due messages (claimed first, so a concurrent worker skips them; posted outside any
    transaction); returns how many were delivered."""
    return delivery.deliver_due(scope, settings, Webhooks(), limit)


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
    """Send a dead message again (from now, with a fresh count of attempts); a message delivered or
    still pending is not sent again (409)."""
    access.require_role(actor, ADMINS, "replaying webhook messages")
    message = delivery.replay(session, OutboxMessage, message_id)
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
