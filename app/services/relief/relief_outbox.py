"""Messages to the relief platform: written in the transaction of the change they report (a
transactional outbox), posted by the worker through the delivery core (services/platform/delivery.py: claimed,
posted outside any transaction within one overall deadline, retried with exponential backoff, parked as
dead after the set attempts, visible, replayable) in order per application, signed like the platform's
requests with the key of the platform account the application came from.

Delivery is at least once: a message posted whose answer is lost is posted again, with the same
`message_id`; the platform drops a `message_id` it has seen. Within an application, a message is not
posted before every earlier one (by `sequence`) is delivered, so a dead message holds back the ones
after it until it is replayed.
"""

import json
import logging
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session, aliased

from app.config import Settings
from app.models import ReliefApplication, ReliefMessage
from app.schemas.common import PageParams
from app.services.platform import audit, delivery, egress, paging
from app.services.platform.access import Actor
from app.services.relief import relief_keys

logger = logging.getLogger(__name__)


def body_of(message: ReliefMessage) -> bytes:
    """The bytes posted: the same on every attempt."""
    return json.dumps(message.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class Callbacks:
    """The relief platform's messages as a kind of message for the delivery core."""

    name = "relief"
    model = ReliefMessage

    def __init__(self, url: egress.Url) -> None:
        self.url = url

    def policy(self, settings: Settings) -> delivery.Policy:
        return delivery.Policy(
            settings.relief_max_attempts,
            timedelta(seconds=settings.relief_backoff_seconds),
            timedelta(seconds=settings.relief_backoff_max_seconds),
            settings.relief_timeout_seconds,
        )

    def ready(self, stmt: Select[tuple[ReliefMessage]]) -> Select[tuple[ReliefMessage]]:
        """Only messages whose earlier messages (same application) are all delivered."""
        earlier = aliased(ReliefMessage)
        held_back = exists().where(
            earlier.application_id == ReliefMessage.application_id,
            earlier.sequence < ReliefMessage.sequence,
            earlier.status != "delivered",
        )
        return stmt.where(~held_back)

    def prepare(
        self, session: Session, settings: Settings, message: ReliefMessage, cache: dict[Any, Any]
    ) -> delivery.Work:
        account = session.scalar(
            select(ReliefApplication.platform_user_id).where(
                ReliefApplication.application_id == message.application_id
            )
        )
        if ("key", account) not in cache:
            cache[("key", account)] = relief_keys.signing_key(session, settings, account)
        signing = cache[("key", account)]
        if signing is None:
            return delivery.Fail("no platform key to sign with (shouwang relief keys create)")
        key_id, secret = signing
        body = body_of(message)
        return delivery.Post(self.url, body, partial(_signed, key_id, secret, body), None)

    def describe(self, message: ReliefMessage) -> dict[str, Any]:
        return {"message_id": message.message_id, "application_id": message.application_id}


def _signed(key_id: str, secret: str, body: bytes, timestamp: str) -> dict[str, str]:
    return {
        "x-shouwang-key-id": key_id,
        "x-shouwang-timestamp": timestamp,
        "x-shouwang-signature": relief_keys.sign(secret, timestamp, body),
    }


def deliver_due(scope: delivery.Scope, settings: Settings, limit: int = 200) -> int:
    """Post due messages in order per application; returns how many were delivered. The callback URL
    is the county's setting, so any address may be reached (tests and stand-ins run on 127.0.0.1)."""
    if not settings.relief_callback_url:
        return 0
    try:
        url = egress.parse(settings.relief_callback_url)
    except egress.Refused as exc:
        logger.error("SHOUWANG_RELIEF_CALLBACK_URL is not usable: %s", exc.reason)
        return 0
    return delivery.deliver_due(scope, settings, Callbacks(url), limit)


def deliveries(session: Session, status: str | None, page: PageParams) -> tuple[list[ReliefMessage], int]:
    stmt = select(ReliefMessage)
    if status is not None:
        stmt = stmt.where(ReliefMessage.status == status)
    return paging.page_of(session, stmt, page, ReliefMessage.id.desc())


def replay(session: Session, settings: Settings, actor: Actor, message_id: int) -> ReliefMessage:
    """A dead message goes out again from now, with a fresh count of attempts and the same message_id."""
    message = delivery.replay(session, ReliefMessage, message_id)
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "relief.replay", "relief_message", message.id, None, {"message_id": message.message_id}
            )
        ],
    )
    return message


def replay_dead(session: Session, settings: Settings, actor: Actor) -> int:
    """Every dead message again (after a long outage, each application's first message is parked)."""
    dead = session.scalars(
        select(ReliefMessage).where(ReliefMessage.status == "dead").with_for_update()
    ).all()
    for message in dead:
        delivery.revive(message)
    if dead:
        audit.record(
            session,
            settings,
            actor,
            [audit.Change("relief.replay_dead", "relief_message", None, None, {"count": len(dead)})],
        )
    return len(dead)
