"""The relief platform's contract (docs/relief-platform.md): applications in, reconciliation, deliveries."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from app.schemas.common import FreeLine, FreeText, Money, ReadModel, StrictModel
from app.schemas.households import Name, PhoneMixin

DifficultyType = Literal["living", "employment", "education", "medical", "housing", "drinking_water", "other"]
# 两不愁三保障 and drinking water: what monitoring covers; employment and "other" are verified all the same
WITHIN_SCOPE = frozenset({"living", "education", "medical", "housing", "drinking_water"})
# ASCII only: one spelling per id
ApplicationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]


class OnBehalfOf(PhoneMixin):
    name: Name
    phone: str
    relation: str = Field(min_length=1, max_length=20)


class Attachment(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ApplicationIn(PhoneMixin):
    """The ID number is checked apart (its own error code); every other field here."""

    application_id: ApplicationId
    applicant_name: Name
    id_number: str = Field(min_length=1, max_length=40)
    phone: str
    address: FreeLine = Field(default="", max_length=200)
    region_code: str = Field(pattern=r"^[0-9]{12}$")
    household_size: int = Field(ge=1, le=30)
    difficulty_type: DifficultyType
    description: FreeText = Field(min_length=1, max_length=2000)
    submitted_at: AwareDatetime
    stated_loss: Money | None = None
    on_behalf_of: OnBehalfOf | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=20)


class ApplicationAnswer(BaseModel):
    application_id: str
    case_id: int | None = Field(description="null when the household is already monitored (no new case)")
    status: str


class ReconcileIn(StrictModel):
    application_ids: list[ApplicationId] = Field(min_length=1, max_length=500)


class ReconcileItem(BaseModel):
    application_id: str
    status: str = Field(description="the status last reported, or unknown")
    case_id: int | None


class ReconcileOut(BaseModel):
    items: list[ReconcileItem]


class ReliefDeliveryRead(ReadModel):
    id: int
    message_id: str
    application_id: str
    sequence: int
    event: str
    payload: dict[str, Any]
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None


class ApplicationOnCase(BaseModel):
    application_id: str
    received_at: datetime
    amendments: int
    status: str
    provisional_household: bool
    applicant_name: str
    id_number: str = Field(description="masked")
    phone: str = Field(description="masked")
    address: str
    household_size: int = Field(description="as declared; the village's visit establishes the members")
    difficulty_type: str
    description: str
    submitted_at: datetime
    stated_loss: str | None
    on_behalf_of: dict[str, Any] | None
    attachments: list[dict[str, Any]]
