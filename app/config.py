"""Settings: the only place that reads the environment."""

import base64
import binascii
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Demo values are public (they are in this file); production refuses to start with any of them.
DEMO_SECRET_KEY = "demo-secret-key-not-for-production-0000000000"
DEMO_ENCRYPTION_KEY = "ZGVtby1rZXktbm90LWZvci1wcm9kdWN0aW9uLTAwMDA="
DEMO_LOOKUP_KEY = "demo-lookup-key-not-for-production"
DEMO_VALUES = frozenset({DEMO_SECRET_KEY, DEMO_ENCRYPTION_KEY, DEMO_LOOKUP_KEY})
# What a demo value looks like however it is re-encoded: the strings and the demo Fernet key's bytes.
_DEMO_MATERIAL = tuple(
    v.lower() for v in (*(d.encode() for d in DEMO_VALUES), base64.urlsafe_b64decode(DEMO_ENCRYPTION_KEY))
)
# Below these a secret is guessable whatever its length. A random 32-character hex key has 9 or fewer
# distinct characters about once in 15,000 draws and 7 or fewer practically never; 32 random bytes
# (a Fernet key) practically always have more than 20 distinct values.
MIN_DISTINCT_CHARACTERS = 8
MIN_DISTINCT_KEY_BYTES = 16
_DECODING_DEPTH = 3
# requests at work at once in one API process, at most: below the server's 40 threads
MAX_THREADS_AT_WORK = 39


def _decode_once(value: bytes) -> list[bytes]:
    """What `value` decodes to as hex, base64 (standard or url-safe, padded or not) or base32."""
    text = b"".join(value.split()).rstrip(b"=")
    decoded = []
    decoders: tuple[Callable[[bytes], bytes], ...] = (
        lambda t: bytes.fromhex(t.decode("ascii")),
        lambda t: base64.b64decode(t + b"=" * (-len(t) % 4), validate=True),
        lambda t: base64.b64decode(t + b"=" * (-len(t) % 4), altchars=b"-_", validate=True),
        lambda t: base64.b32decode(t + b"=" * (-len(t) % 8), casefold=True),
    )
    for decode in decoders:
        try:
            decoded.append(decode(text))
        except (binascii.Error, ValueError):
            continue
    return decoded


def decodes_to_demo_value(value: str | bytes) -> bool:
    """True if `value`, or what it decodes to (nested encodings too), contains a demo secret."""
    seen = {value.encode() if isinstance(value, str) else value}
    frontier = list(seen)
    for _ in range(_DECODING_DEPTH):
        frontier = [d for v in frontier for d in _decode_once(v) if d and d not in seen]
        seen.update(frontier)
    return any(demo in candidate.lower() for candidate in seen for demo in _DEMO_MATERIAL)


def _shortest_period(value: bytes | str) -> int:
    """The length of the shortest unit `value` is made of, the last copy possibly cut short (KMP)."""
    if not value:
        return 0
    border = [0] * len(value)
    k = 0
    for i in range(1, len(value)):
        while k and value[i] != value[k]:
            k = border[k - 1]
        if value[i] == value[k]:
            k += 1
        border[i] = k
    return len(value) - border[-1]


def weakness(value: bytes | str, min_distinct: int) -> str | None:
    """Why a secret is guessable whatever its length: blank, few distinct symbols, a repeated unit, or
    (for key bytes) printable text, which 32 random bytes are with a chance of about 10^-14."""
    if isinstance(value, str) and not value.strip():
        return "is blank"
    distinct = len(set(value))
    if distinct < min_distinct:
        return f"has only {distinct} distinct {'characters' if isinstance(value, str) else 'byte values'}"
    period = _shortest_period(value)
    if period <= len(value) // 2:
        return f"repeats a unit of {period}"
    if isinstance(value, bytes) and all(0x20 <= b < 0x7F for b in value):
        return "is printable text, not random bytes"
    return None


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting's error must not print the secrets it was given.
    model_config = SettingsConfigDict(
        env_prefix="SHOUWANG_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["demo", "production"] = "demo"
    database_url: str = "sqlite:///./shouwang.db"
    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    encryption_keys: SecretStr = SecretStr(DEMO_ENCRYPTION_KEY)
    lookup_key: SecretStr = SecretStr(DEMO_LOOKUP_KEY)

    timezone: str = "Asia/Shanghai"
    docs_enabled: bool = True
    # a scoring run holds one connection and renews its lease on another (readers use two more if there)
    db_pool_size: int = Field(default=8, ge=2)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # a visit's photo (a bill, the house): what a phone sends after the web app has scaled it down
    visit_photo_max_bytes: int = Field(default=3 * 1024 * 1024, ge=1024)
    visit_photo_max_count: int = Field(default=9, ge=1, le=50)
    # a district's file sent to POST /api/v1/imports/households (100,000 person rows are ≈ 10 MiB as XLSX);
    # the worker looks for queued imports every import_poll_seconds, and files are dropped after retention
    import_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    import_poll_seconds: int = Field(default=5, ge=1)
    import_retention_days: int = Field(default=30, ge=1)
    # GET /metrics answers only with this bearer token (unset: /metrics is off). The worker serves its own
    # on worker_metrics_host:worker_metrics_port (0: off), by default reachable from this host only.
    metrics_token: SecretStr | None = None
    # on SIGTERM, how long requests under way may take to finish before `serve` exits regardless
    shutdown_grace_seconds: int = Field(default=25, ge=1, le=600)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)

    # requests at work at once in one API process (the rest wait their turn, in order): fewer than the
    # server's 40 threads, or requests waiting for a database connection could take every thread
    # (middleware.py). Unset: one per database connection (requests_in_flight).
    max_requests_in_flight: int | None = Field(default=None, ge=1, le=MAX_THREADS_AT_WORK)
    access_token_minutes: int = Field(default=30, ge=1)
    # How long one API process trusts what it read of a token's holder (account, role, login) before reading
    # it again. A change made through this process (logout, role, deactivation) applies at once; one made
    # through another replica within this many seconds. 0 reads it for every request.
    actor_cache_seconds: int = Field(default=5, ge=0, le=60)
    refresh_token_days: int = Field(default=14, ge=1)
    # How long a just-spent refresh token is still honoured (README: "Refresh tokens"); 0 turns it off.
    refresh_reuse_grace_seconds: int = Field(default=30, ge=0, le=300)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    probe_limit_per_hour: int = Field(default=10, ge=1)

    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=8)

    demo_households: int = Field(default=3000, ge=0)

    # Scoring schedule (crontab, in `timezone`) and how often the worker looks for admins' run requests.
    risk_schedule_cron: str = "0 2 * * *"
    # region webhooks' delivery (the hosts they may point at are data: /api/v1/webhooks/allowed-hosts)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_poll_seconds: int = Field(default=30, ge=1, le=3600)
    case_escalation_minutes: int = Field(default=10, ge=1, le=1440)  # how often overdue steps are checked
    risk_list_cron: str = "0 6 * * 1"  # freeze the week's risk list, Monday 06:00
    risk_train_cron: str = "0 3 * * 0"  # retrain weekly, Sunday 03:00 (installed only if not worse)
    risk_request_poll_seconds: int = Field(default=30, ge=1)
    # The provincial relief platform: where case news is posted back, and how hard to try.
    relief_callback_url: str = ""
    relief_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    relief_max_attempts: int = Field(default=12, ge=1, le=100)
    relief_backoff_seconds: float = Field(default=30.0, gt=0, le=3600)  # doubled after each failure…
    relief_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=86400)  # …up to this
    relief_poll_seconds: float = Field(default=10.0, gt=0, le=3600)
    # Single-process demo only: `serve` also runs the scheduler (never with several API workers).
    scheduler_in_process: bool = False

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys_valid(cls, value: SecretStr) -> SecretStr:
        keys = [k.strip() for k in value.get_secret_value().split(",") if k.strip()]
        if not keys:
            raise ValueError("at least one Fernet key is required")
        for key in keys:
            try:
                Fernet(key)
            except (ValueError, TypeError) as exc:
                raise ValueError("each key must be a url-safe base64 Fernet key of 32 bytes") from exc
        return value

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: object) -> object:
        # left blank in .env: metrics are off, not open to anyone sending "Bearer "
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @model_validator(mode="after")
    def _production_refuses_demo_values(self) -> "Settings":
        if self.env != "production":
            return self
        for name in ("secret_key", "encryption_keys", "lookup_key"):
            secret: SecretStr = getattr(self, name)
            raw = secret.get_secret_value()
            parts = {p.strip() for p in raw.split(",")}
            if not raw or parts & DEMO_VALUES:
                raise ValueError(f"SHOUWANG_{name.upper()} must be set to a non-demo value in production")
        for name in ("secret_key", "lookup_key"):
            raw = getattr(self, name).get_secret_value()
            variable = f"SHOUWANG_{name.upper()}"
            if decodes_to_demo_value(raw):
                raise ValueError(f"{variable} is a demo key in another encoding; generate a new one")
            problem = weakness(raw, MIN_DISTINCT_CHARACTERS)
            if problem is not None:
                raise ValueError(f"{variable} {problem}: generate a random one (README, Running it for real)")
            if len(raw) < 32:
                raise ValueError(f"{variable} must be at least 32 characters in production")
        if self.metrics_token is not None:
            raw = self.metrics_token.get_secret_value()
            problem = weakness(raw, MIN_DISTINCT_CHARACTERS)
            if problem is not None or len(raw) < 32:
                raise ValueError(
                    "SHOUWANG_METRICS_TOKEN must be at least 32 random characters in production "
                    f"({problem or 'too short'}): generate one (README, Running it for real)"
                )
        keys = self.fernet_keys
        for number, key in enumerate(keys, start=1):
            where = f"SHOUWANG_ENCRYPTION_KEYS (key {number} of {len(keys)})"
            # Fernet decodes leniently (stray characters and unused low bits are ignored), so the key's
            # bytes are compared too, not only its spelling.
            key_bytes = base64.urlsafe_b64decode(key)
            if decodes_to_demo_value(key) or decodes_to_demo_value(key_bytes):
                raise ValueError(f"{where} is the demo Fernet key; generate a new one")
            problem = weakness(key_bytes, MIN_DISTINCT_KEY_BYTES)
            if problem is not None:
                raise ValueError(f"{where} {problem}: generate one with Fernet.generate_key()")
        return self

    @property
    def fernet_keys(self) -> list[str]:
        return [k.strip() for k in self.encryption_keys.get_secret_value().split(",") if k.strip()]

    @property
    def requests_in_flight(self) -> int:
        """max_requests_in_flight, or as many as the pool's connections. More only wait for a connection
        on a thread of their own, fighting the others for the interpreter: at 32 clients on 2 cores, 32 at
        work gave a p99 of 528 ms for a household's page, 8 gave 215 ms and served more (bench/RESULTS.md)."""
        return self.max_requests_in_flight or min(self.db_pool_size, MAX_THREADS_AT_WORK)

    @property
    def is_demo(self) -> bool:
        return self.env == "demo"


@lru_cache
def get_settings() -> Settings:
    return Settings()
