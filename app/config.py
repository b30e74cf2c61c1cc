"""Settings: the only place that reads the environment."""

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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOUWANG_", env_file=".env", extra="ignore")

    env: Literal["demo", "production"] = "demo"
    database_url: str = "sqlite:///./shouwang.db"
    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    encryption_keys: SecretStr = SecretStr(DEMO_ENCRYPTION_KEY)
    lookup_key: SecretStr = SecretStr(DEMO_LOOKUP_KEY)

    timezone: str = "Asia/Shanghai"
    docs_enabled: bool = True
    db_pool_size: int = Field(default=8, ge=1)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    access_token_minutes: int = Field(default=30, ge=1)
    refresh_token_days: int = Field(default=14, ge=1)
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
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SHOUWANG_SECRET_KEY must be at least 32 characters in production")
        if len(self.lookup_key.get_secret_value()) < 32:
            raise ValueError("SHOUWANG_LOOKUP_KEY must be at least 32 characters in production")
        return self

    @property
    def fernet_keys(self) -> list[str]:
        return [k.strip() for k in self.encryption_keys.get_secret_value().split(",") if k.strip()]

    @property
    def is_demo(self) -> bool:
        return self.env == "demo"


@lru_cache
def get_settings() -> Settings:
    return Settings()
