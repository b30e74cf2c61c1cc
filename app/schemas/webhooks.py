from datetime import datetime
from typing import Any

from pydantic import Field

from app.schemas.common import ReadModel, StrictModel
from app.schemas.households import RegionCode


class WebhookCreate(StrictModel):
    region_code: RegionCode = Field(description="a village, township or the county: its cases are posted")
    url: str = Field(
        min_length=8, max_length=500, description="its host on the allow-list (/webhooks/allowed-hosts)"
    )
    secret: str = Field(min_length=32, max_length=200, description="signs every post (HMAC-SHA256)")


class WebhookRead(ReadModel):
    id: int
    region_code: str
    url: str
    active: bool
    created_by: str
    created_at: datetime
    messages: dict[str, int] = Field(default_factory=dict, description="messages by status")


class DeliveryRead(ReadModel):
    id: int
    payload: dict[str, Any]
    status: str = Field(description="pending | delivered | dead")
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


class AllowedHostCreate(StrictModel):
    host: str = Field(min_length=1, max_length=253, description="a host name or IP address, without port")


class AllowedHostRead(ReadModel):
    host: str
    added_by: str
    added_at: datetime
