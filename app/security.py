"""Password hashing (argon2id) and signed tokens (JWT, HS256)."""

import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app import clock
from app.config import Settings

TokenType = Literal["access", "refresh"]


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(settings.password_time_cost, settings.password_memory_kib)


def hash_password(settings: Settings, password: str) -> str:
    return password_hasher(settings).hash(password)


def verify_password(settings: Settings, password_hash: str, password: str) -> bool:
    try:
        return password_hasher(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def issue_token(
    settings: Settings,
    *,
    user_id: int,
    token_version: int,
    kind: TokenType,
    family: str,
    jti: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """A signed token of the login `family`; a refresh token is minted with the family's jti and expiry."""
    now = clock.now()
    lifetime = (
        timedelta(minutes=settings.access_token_minutes)
        if kind == "access"
        else timedelta(days=settings.refresh_token_days)
    )
    claims = {
        "sub": str(user_id),
        "typ": kind,
        "tv": token_version,
        "fam": family,
        "iat": now,
        "exp": expires_at or now + lifetime,
        "jti": jti or secrets.token_hex(8),
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm="HS256")


def decode_token(settings: Settings, token: str, *, kind: TokenType) -> dict[str, Any] | None:
    """The token's claims if it is genuine, unexpired and of the expected kind; otherwise None."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=["HS256"],
            options={"require": ["sub", "typ", "tv", "fam", "jti", "exp"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != kind:
        return None
    return claims
