"""Login with throttling and lockout, token refresh (rotation, reuse detection), and token → actor."""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import clock
from app.config import Settings
from app.errors import TooManyRequests, Unauthorized
from app.models import RateEvent, RefreshFamily, User
from app.models.base import utcnow
from app.models.enums import ROLE_REGION_LEVEL, Role
from app.schemas.users import TokenPair
from app.security import (
    TokenType,
    decode_token,
    hash_password,
    issue_token,
    password_hasher,
    verify_password,
)
from app.services.platform import actor_cache, audit, rates
from app.services.platform.access import Actor

_BAD_LOGIN = "incorrect username or password"
_dummy_hash: dict[tuple[int, int], str] = {}


def _retry_after(until: datetime, now: datetime) -> str:
    return str(max(1, int((until - now).total_seconds() + 0.999)))


def _failure_delay(settings: Settings, failures: int) -> timedelta:
    """Each failure doubles the wait before the next attempt; at the limit the account locks."""
    if failures >= settings.login_max_failures:
        return timedelta(minutes=settings.login_lockout_minutes)
    return timedelta(seconds=2 ** (failures - 1)) if failures > 1 else timedelta(0)


def _record_failure(settings: Settings, user: User, now: datetime) -> None:
    """Count a failed login on the (locked) row: each failure doubles the wait, the limit locks."""
    user.failed_logins += 1
    delay = _failure_delay(settings, user.failed_logins)
    user.locked_until = now + delay if delay else None
    if user.failed_logins >= settings.login_max_failures:
        user.failed_logins = 0


def _verify_dummy(settings: Settings, password: str) -> None:
    """Spend the same time on an unknown username as on a known one."""
    key = (settings.password_time_cost, settings.password_memory_kib)
    if key not in _dummy_hash:
        _dummy_hash[key] = hash_password(settings, "not-a-real-password")
    verify_password(settings, _dummy_hash[key], password)


def _refuse_if_locked(until: datetime | None, now: datetime) -> None:
    if until is not None and until > now:
        retry = _retry_after(until, now)
        raise TooManyRequests(
            f"too many failed logins; try again in {retry} s",
            field="username",
            headers={"Retry-After": retry},
        )


def _unknown_locked_until(session: Session, settings: Settings, key: str, now: datetime) -> datetime | None:
    window = timedelta(minutes=settings.login_lockout_minutes)
    failures = session.scalars(
        select(RateEvent.occurred_at)
        .where(RateEvent.key == key, RateEvent.occurred_at > now - window)
        .order_by(RateEvent.occurred_at.desc())
    ).all()
    if not failures:
        return None
    return failures[0] + _failure_delay(settings, len(failures))


def _pair(settings: Settings, user: User, family: RefreshFamily) -> TokenPair:
    """A new access token and the family's current refresh token."""
    return TokenPair(
        access_token=issue_token(
            settings, user_id=user.id, token_version=user.token_version, kind="access", family=family.id
        ),
        refresh_token=issue_token(
            settings,
            user_id=user.id,
            token_version=user.token_version,
            kind="refresh",
            family=family.id,
            jti=family.current_jti,
            expires_at=family.current_expires_at,
        ),
        expires_in=settings.access_token_minutes * 60,
    )


def tokens_for(session: Session, settings: Settings, user: User) -> TokenPair:
    """Tokens of a new login: a new refresh family (the user's expired ones are dropped)."""
    now = clock.now()
    session.execute(
        delete(RefreshFamily).where(RefreshFamily.user_id == user.id, RefreshFamily.current_expires_at < now)
    )
    family = RefreshFamily(
        id=secrets.token_hex(16),
        user_id=user.id,
        created_at=now,
        current_jti=secrets.token_hex(16),
        current_expires_at=now + timedelta(days=settings.refresh_token_days),
    )
    session.add(family)
    session.flush()
    return _pair(settings, user, family)


def login(session: Session, settings: Settings, username: str, password: str) -> TokenPair:
    # Locked for the whole attempt: parallel guesses wait their turn and each sees the previous failure.
    user = session.scalars(select(User).where(User.username == username).with_for_update()).one_or_none()
    now = utcnow()
    if user is not None and user.is_demo and not settings.is_demo:
        user = None  # production never lets a demo account in, however the app was started
    if user is not None and user.role == Role.platform_client:
        user = None  # the relief platform signs its requests (HMAC keys); it has no password to log in with
    if user is None or not user.active:
        # An unknown name is throttled like a known one, so the answers do not tell which names exist.
        key = (
            "login:"
            + hashlib.sha256(settings.lookup_key.get_secret_value().encode() + username.encode()).hexdigest()[
                :40
            ]
        )
        _refuse_if_locked(_unknown_locked_until(session, settings, key, now), now)
        _verify_dummy(settings, password)
        rates.hit(session, key, timedelta(minutes=settings.login_lockout_minutes))
        raise Unauthorized(_BAD_LOGIN, field="username", persist=True)
    _refuse_if_locked(user.locked_until, now)
    if not verify_password(settings, user.password_hash, password):
        _record_failure(settings, user, now)
        session.flush()
        raise Unauthorized(_BAD_LOGIN, field="username", persist=True)
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
    if password_hasher(settings).check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(settings, password)
    session.flush()
    return tokens_for(session, settings, user)


def _holder(session: Session, settings: Settings, token: str, kind: TokenType) -> tuple[dict[str, Any], User]:
    """The token's claims and its active user; refused if forged, expired or revoked by token_version."""
    claims = decode_token(settings, token, kind=kind)
    if claims is None:
        raise Unauthorized("token is invalid or expired")
    try:
        user_id = int(str(claims["sub"]))
    except ValueError:
        raise Unauthorized("token is invalid or expired") from None
    user = session.get(User, user_id)
    if user is None or not user.active or user.token_version != claims.get("tv"):
        raise Unauthorized("token is no longer valid")
    if user.role == Role.platform_client:  # it signs its requests; a token of its own opens nothing
        raise Unauthorized("platform accounts sign their requests (docs/relief-platform.md)")
    return claims, user


def _family(session: Session, claims: dict[str, Any], user: User, *, lock: bool = False) -> RefreshFamily:
    """The token's login family, refused once revoked (a spent refresh token came back)."""
    stmt = select(RefreshFamily).where(RefreshFamily.id == str(claims["fam"]))
    family = session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if family is None or family.user_id != user.id or family.revoked_at is not None:
        raise Unauthorized("token is no longer valid")
    return family


def refresh(session: Session, settings: Settings, refresh_token: str) -> TokenPair:
    """Spend the refresh token for a new pair. A spent one revokes its family (a copy is in other hands),
    except the one just replaced, within the grace: that is the same phone retrying a lost answer, and
    it gets the family's current refresh token again rather than a new one."""
    claims, user = _holder(session, settings, refresh_token, "refresh")
    # Locked: two exchanges of the same token run one after the other, the second sees the first.
    family = _family(session, claims, user, lock=True)
    now = clock.now()
    jti = str(claims["jti"])
    if jti == family.current_jti:
        family.previous_jti, family.rotated_at = jti, now
        family.current_jti = secrets.token_hex(16)
        family.current_expires_at = now + timedelta(days=settings.refresh_token_days)
    elif not (
        jti == family.previous_jti
        and family.rotated_at is not None
        and now - family.rotated_at <= timedelta(seconds=settings.refresh_reuse_grace_seconds)
    ):
        family.revoked_at = now
        actor = Actor(user.id, user.username, user.role, user.region_code, ROLE_REGION_LEVEL[user.role])
        audit.record(
            session,
            settings,
            actor,
            [
                audit.Change(
                    "user.refresh_reuse", "user", user.id, None, {"family_created": family.created_at}
                )
            ],
        )
        session.flush()
        raise Unauthorized(
            "refresh token was already used: every token of that login is revoked; log in again",
            field="refresh_token",
            persist=True,
        )
    session.flush()
    return _pair(settings, user, family)


def logout_everywhere(session: Session, settings: Settings, actor: Actor) -> None:
    """Revoke every access and refresh token the actor holds (a lost phone, a shared password)."""
    user = session.scalars(select(User).where(User.id == actor.user_id).with_for_update()).one_or_none()
    if user is not None:
        user.token_version += 1
        audit.record(session, settings, actor, [audit.Change("user.logout", "user", user.id, None, {})])
        session.flush()


def end_login(session: Session, settings: Settings, token: str) -> None:
    """Revoke the one login (device) a token of it belongs to: a web session's logout, which must work
    even when its access token has expired, and must not end the user's sessions elsewhere. A token
    that is no longer valid ends nothing (there is nothing left to end)."""
    try:
        claims, user = _holder(session, settings, token, "refresh")
    except Unauthorized:
        try:
            claims, user = _holder(session, settings, token, "access")
        except Unauthorized:
            return
    try:
        family = _family(session, claims, user, lock=True)
    except Unauthorized:
        return
    family.revoked_at = clock.now()
    actor = Actor(user.id, user.username, user.role, user.region_code, ROLE_REGION_LEVEL[user.role])
    audit.record(session, settings, actor, [audit.Change("user.logout_session", "user", user.id, None, {})])
    session.flush()


def cached_actor(token: str) -> Actor | None:
    """The token's holder if this process read it within `actor_cache_seconds` (no I/O)."""
    return actor_cache.get(token, clock.now().timestamp())


def actor_from_token(session: Session, settings: Settings, token: str) -> Actor:
    """The access token's holder. What was read of it is kept for `actor_cache_seconds` (never past the
    token's expiry): two statements less on every request of a busy phone or desk."""
    cached = cached_actor(token)
    if cached is not None:
        return cached
    claims = decode_token(settings, token, kind="access")
    if claims is None:
        raise Unauthorized("token is invalid or expired")
    user_id = _user_id(claims)
    read_at = actor_cache.generation(user_id)
    user, family = _holder_and_family(session, user_id, str(claims["fam"]))
    if user is None or not user.active or user.token_version != claims.get("tv"):
        raise Unauthorized("token is no longer valid")
    if user.role == Role.platform_client:  # it signs its requests; a token of its own opens nothing
        raise Unauthorized("platform accounts sign their requests (docs/relief-platform.md)")
    if family is None or family.revoked_at is not None:
        raise Unauthorized("token is no longer valid")
    actor = Actor(
        user.id, user.username, user.role, user.region_code, ROLE_REGION_LEVEL[user.role], user.department
    )
    actor_cache.put(token, actor, float(claims["exp"]), settings.actor_cache_seconds, read_at)
    return actor


def _user_id(claims: dict[str, Any]) -> int:
    try:
        return int(str(claims["sub"]))
    except ValueError:
        raise Unauthorized("token is invalid or expired") from None


def _holder_and_family(
    session: Session, user_id: int, family_id: str
) -> tuple[User | None, RefreshFamily | None]:
    """The token's user and its login family, in one statement (an unknown family: None)."""
    row = session.execute(
        select(User, RefreshFamily)
        .outerjoin(RefreshFamily, (RefreshFamily.id == family_id) & (RefreshFamily.user_id == User.id))
        .where(User.id == user_id)
    ).first()
    return (None, None) if row is None else (row[0], row[1])
