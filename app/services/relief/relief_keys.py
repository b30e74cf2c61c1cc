"""The relief platform's HMAC keys: created and rotated from the command line, kept encrypted in the
database (so they rotate without a restart), checked on every request.

A request is signed over `timestamp + "." + body` with HMAC-SHA256, keyed with the secret's UTF-8 bytes;
`X-Shouwang-Signature` is "sha256=" + the hex digest. After a rotation the previous key is accepted until
its grace deadline, then refused.
"""

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import clock
from app.config import Settings
from app.errors import AppError, Invalid, NotFound
from app.models import PlatformKey, User
from app.models.base import utcnow
from app.models.enums import Role
from app.pii import cipher_for
from app.services.platform import audit, outbox
from app.services.platform.access import Actor

MAX_SKEW_SECONDS = 300
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureRefused(AppError):
    """401 with the platform's machine-readable code: unknown_key | bad_signature | stale_timestamp."""

    status_code = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, field=None)
        self.code = code


@dataclass(frozen=True)
class Signer:
    """Who signed: the platform account and the key used."""

    user_id: int
    username: str
    key_id: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The region webhooks' recipe (hex HMAC-SHA256 of timestamp.body), with the platform's prefix."""
    return f"sha256={outbox.signature(secret, timestamp, body)}"


def create(session: Session, settings: Settings, actor: Actor, username: str) -> tuple[str, str]:
    """A new key for a platform_client account; returns (key_id, secret). The secret is shown once."""
    user = _platform_user(session, username)
    key_id, secret = f"rp_{secrets.token_hex(8)}", secrets.token_urlsafe(32)
    session.add(
        PlatformKey(
            key_id=key_id,
            user_id=user.id,
            secret_encrypted=cipher_for(settings).encrypt(secret),
            created_by=actor.username,
        )
    )
    session.flush()
    audit.record(
        session,
        settings,
        actor,
        [audit.Change("relief.key_create", "platform_key", None, None, {"user": username, "key_id": key_id})],
    )
    return key_id, secret


def rotate(
    session: Session, settings: Settings, actor: Actor, username: str, grace: timedelta
) -> tuple[str, str, datetime]:
    """A new key; the account's other keys stay valid for `grace` at most, then are refused (a key still
    in an earlier rotation's grace period is cut short too: a zero grace revokes every old key now)."""
    user = _platform_user(session, username)
    deadline = utcnow() + grace
    current = session.scalars(
        select(PlatformKey)
        .where(
            PlatformKey.user_id == user.id,
            or_(PlatformKey.retires_at.is_(None), PlatformKey.retires_at > deadline),
        )
        .with_for_update()
    ).all()
    for key in current:
        key.retires_at = deadline
    key_id, secret = create(session, settings, actor, username)
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "relief.key_rotate",
                "platform_key",
                None,
                None,
                {"user": username, "new": key_id, "retiring": [k.key_id for k in current], "until": deadline},
            )
        ],
    )
    return key_id, secret, deadline


def _platform_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"no user {username}", field="user")
    if user.role != Role.platform_client:
        raise Invalid(f"{username} is a {user.role.value}, not a platform_client", field="user")
    return user


def verify(
    session: Session,
    settings: Settings,
    key_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
) -> Signer:
    """The signer of a request, or SignatureRefused with the platform's code."""
    key = session.scalars(select(PlatformKey).where(PlatformKey.key_id == (key_id or ""))).one_or_none()
    now = utcnow()
    if key is None or (key.retires_at is not None and key.retires_at <= now):
        raise SignatureRefused("unknown_key", "unknown or retired key id (X-Shouwang-Key-Id)")
    user = session.get(User, key.user_id)
    if user is None or not user.active or user.role != Role.platform_client:
        raise SignatureRefused("unknown_key", "the key's account is not an active platform client")
    if not timestamp or not TIMESTAMP.fullmatch(timestamp):
        raise SignatureRefused("stale_timestamp", "X-Shouwang-Timestamp must be Unix seconds")
    if abs(clock.unix_seconds() - int(timestamp)) > MAX_SKEW_SECONDS:
        raise SignatureRefused("stale_timestamp", "the timestamp is more than 5 minutes from our clock")
    expected = sign(cipher_for(settings).decrypt(key.secret_encrypted), timestamp, body)
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise SignatureRefused("bad_signature", "the signature does not match the body and timestamp")
    return Signer(user.id, user.username, key.key_id)


def signing_key(session: Session, settings: Settings, user_id: int | None) -> tuple[str, str] | None:
    """(key_id, secret) to sign our callbacks to the platform account `user_id` with: its oldest key
    still valid. During a rotation's grace period that is the old key, which the platform surely still
    has; when the grace ends, the new one. None: the account has no valid key, or is inactive.
    `user_id` None (an application received before its account was kept): any platform account's."""
    stmt = (
        select(PlatformKey)
        .join(User, User.id == PlatformKey.user_id)
        .where(
            User.role == Role.platform_client,
            User.active.is_(True),
            or_(PlatformKey.retires_at.is_(None), PlatformKey.retires_at > utcnow()),
        )
        .order_by(PlatformKey.id)
        .limit(1)
    )
    if user_id is not None:
        stmt = stmt.where(PlatformKey.user_id == user_id)
    key = session.scalars(stmt).first()
    if key is None:
        return None
    return key.key_id, cipher_for(settings).decrypt(key.secret_encrypted)
