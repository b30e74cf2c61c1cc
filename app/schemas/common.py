"""Base classes and shared field types for request and response bodies."""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from app.clock import local_today

T = TypeVar("T")

MAX_PAGE = 100_000
MAX_ID = 2_147_483_647  # ids are 32-bit integers in every database
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]


class StrictModel(BaseModel):
    """Unknown fields are refused, strings are stripped and may not hold NUL characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


EARLIEST_DATE = date(1900, 1, 1)


def _plausible_past(value: date) -> date:
    if value > local_today():
        raise ValueError("date must not be in the future")
    if value < EARLIEST_DATE:
        raise ValueError("date must not be before 1900-01-01")
    return value


PastDate = Annotated[date, AfterValidator(_plausible_past)]


def _no_negative_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value


# Amounts in yuan: JSON numbers or decimal strings, held as Decimal, serialised as strings so no
# client ever sees a binary float.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    AfterValidator(_no_negative_zero),
    PlainSerializer(lambda d: str(d.quantize(Decimal("0.01"))), return_type=str),
]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: str(d.quantize(Decimal("0.01"))), return_type=str)]


class ErrorItem(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(ErrorItem):
    errors: list[ErrorItem] | None = None


class PageParams(StrictModel):
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    page_size: int = Field(default=50, ge=1, le=500)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, items: Sequence[Any], total: int, params: PageParams) -> "Page[T]":
        """One page of `items` (models or ORM rows, validated into the page's item type)."""
        return cls.model_validate(
            {"items": list(items), "total": total, "page": params.page, "page_size": params.page_size},
            from_attributes=True,
        )
