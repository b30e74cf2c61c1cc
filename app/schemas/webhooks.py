import ipaddress
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, computed_field

from app.schemas.common import ReadModel, StrictModel
from app.schemas.households import RegionCode


class WebhookCreate(StrictModel):
    region_code: RegionCode = Field(description="a village, township or the county: its cases are posted")
    url: str = Field(
        min_length=8,
        max_length=500,
        description="http(s), its host on the allow-list (/webhooks/allowed-hosts), port 80, 443 or "
        "1024-65535, no user name or password, no spaces or control characters",
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
    last_error: str | None = Field(description="a generic reason (the detail is in the service's log)")


class AllowedHostCreate(StrictModel):
    host: str = Field(
        min_length=1,
        max_length=253,
        description="a host name, or an exact IP address (a.b.c.d or IPv6), without port. Webhooks are "
        "posted only to public addresses, or to an address on this list: an IP address allows that "
        "one address even inside the county's network",
    )


class AllowedHostRead(ReadModel):
    host: str
    added_by: str
    added_at: datetime

    @computed_field(description="a host name, or an exact IP address")  # type: ignore[prop-decorator]
    @property
    def kind(self) -> Literal["name", "address"]:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return "name"
        return "address"
