"""Base classes and shared field types for request and response bodies."""

import itertools
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SkipValidation,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.clock import local_today
from app.pii import mask_pii_text

T = TypeVar("T")

MAX_PAGE = 100_000
MAX_ID = 2_147_483_647  # ids are 32-bit integers in every database
RecordId = Annotated[int, Field(ge=1, le=MAX_ID, description="a record's id (1 to 2,147,483,647)")]
# a row's version (optimistic locking): an integer column like the ids
Version = Annotated[int, Field(ge=1, le=MAX_ID)]


class MultiLine:
    """Marks a string field that may hold line breaks and tabs (notes, findings, descriptions)."""


MULTILINE = MultiLine()
# Every string of a request: no unpaired surrogates (not text; they cannot even be stored or sent back)
# and no control characters. Line breaks and tabs only where a field is marked MULTILINE.
_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be a request's text (None if it can)."""
    bad = (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value)
    if bad is None:
        return None
    char = bad.group()
    if _SURROGATE.match(char):
        return "must be valid Unicode text (it holds an unpaired surrogate)"
    if char in "\n\r\t\u2028\u2029":
        return "must be a single line (no line breaks or tabs)"
    return f"must not contain control characters (U+{ord(char):04X})"


def _bad_strings(value: Any, *, multiline: bool) -> Iterator[tuple[tuple[int | str, ...], str]]:
    """(location, problem) of each string in `value`, nested lists and dicts included (not nested models:
    they check their own fields). Iterative, so a deeply nested body cannot exhaust the stack."""
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), value)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item, multiline=multiline)
            if problem is not None:
                yield loc, problem
        elif isinstance(item, dict):
            inside = []
            for key, inner in item.items():
                key_loc = (*loc, key if isinstance(key, int | str) else str(key))
                if isinstance(key, str) and (problem := text_problem(key)) is not None:
                    yield key_loc, f"field name {problem}"
                    continue
                inside.append((key_loc, inner))
            stack.extend(reversed(inside))  # reversed: problems come out in the order sent
        elif isinstance(item, list | tuple):
            stack.extend(reversed([((*loc, i), inner) for i, inner in enumerate(item)]))
        elif isinstance(item, set | frozenset):
            stack.extend((loc, inner) for inner in item)


def _multiline(annotation: Any, metadata: Sequence[Any] = ()) -> bool:
    if any(isinstance(m, MultiLine) for m in metadata):
        return True
    if get_origin(annotation) is Annotated:
        return _multiline(get_args(annotation)[0], annotation.__metadata__)
    return any(_multiline(arg) for arg in get_args(annotation))


# Field types whose values hold no text of the request's (nested models check their own fields).
_NO_TEXT = (int, float, Decimal, date, datetime, time, timedelta, Enum, BaseModel, type(None))
_text_checks = itertools.count()


def may_hold_text(annotation: Any) -> bool:
    """Whether a field of this type can hold a string after validation, at any depth: every type but
    numbers, dates, enums, nested models and literals (a type not known here counts as text)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        # a validator that replaces the type's own can hand back anything, text included
        replacing = (PlainValidator, WrapValidator, SkipValidation)
        if any(isinstance(m, replacing) and m not in _KEEPING_TYPE for m in annotation.__metadata__):
            return True
        return may_hold_text(get_args(annotation)[0])
    if origin is Literal:
        return False
    if origin in (Union, UnionType):
        return any(may_hold_text(arg) for arg in get_args(annotation))
    return not (isinstance(annotation, type) and issubclass(annotation, _NO_TEXT))


class StrictModel(BaseModel):
    """Unknown fields are refused; strings are stripped, and every string, at any depth, must be text
    (no unpaired surrogates) without control characters (line breaks and tabs only in MULTILINE fields);
    a refusal names the string's place, e.g. signals[3].note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __multiline_fields__: ClassVar[frozenset[str]] = frozenset()
    # fields whose items the route validates one by one, each through a StrictModel that checks its own
    # texts: walking them here as well took 9 ms of a 1,000-report batch
    __checked_by_items__: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The text check goes on the fields declared here that can hold text, not on every field: it was
        a Python call for each of a report's 17 fields and nested fields, 8 ms of a 1,000-report batch.
        Added before pydantic gathers the class's validators (it does so after this hook); a subclass's
        fields get their own check, under a name of their own, so that the parent's stays in force."""
        super().__init_subclass__(**kwargs)
        texts = [
            name
            for name, annotation in cls.__dict__.get("__annotations__", {}).items()
            if not name.startswith("_")
            and get_origin(annotation) is not ClassVar
            and may_hold_text(annotation)
        ]
        if texts:
            check = field_validator(*texts, mode="after", check_fields=False)(classmethod(_text_only))
            setattr(cls, f"_text_only_{next(_text_checks)}", check)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.__multiline_fields__ = frozenset(
            name for name, field in cls.model_fields.items() if _multiline(field.annotation, field.metadata)
        )


def _text_only(cls: type[StrictModel], value: Any, info: ValidationInfo) -> Any:
    # fast paths: this runs for every text field of every request (1,000 reports in a batch)
    if isinstance(value, str):
        if _BAD_IN_LINE.search(value) is None:
            return value
    elif not isinstance(value, list | tuple | dict | set | frozenset):
        return value
    elif info.field_name in cls.__checked_by_items__:
        return value
    multiline = info.field_name in cls.__multiline_fields__
    problems = list(_bad_strings(value, multiline=multiline))
    if problems:
        raise ValidationError.from_exception_data(
            cls.__name__,
            [
                InitErrorDetails(type=PydanticCustomError("invalid_text", problem), loc=loc, input="")
                for loc, problem in problems
            ],
        )
    return value


_set_attribute = object.__setattr__


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of_values(cls, values: dict[str, Any]) -> Self:
        """`model_construct` for values that give every field (no defaults, no aliases) and need no
        validation (read from the database, or built from a validated request): a third of its cost,
        which was 17 ms of a 1,000-report batch's answer. The dict becomes the model's own."""
        if values.keys() != cls.__pydantic_fields__.keys():
            raise TypeError(f"{cls.__name__} needs exactly its fields, got {sorted(values)}")
        model = cls.__new__(cls)
        _set_attribute(model, "__dict__", values)
        _set_attribute(model, "__pydantic_fields_set__", set(values))
        _set_attribute(model, "__pydantic_extra__", None)
        _set_attribute(model, "__pydantic_private__", None)
        return model


# Dates, by kind. Each is written YYYY-MM-DD (a number is not a date) and lies in a plausible range:
# a person's life (birth, joining or leaving a household) from 1900 to today; what the monitoring
# records (report periods, events, visits, reviews, signals) from 2000 — the first year of the
# policy's monitoring lines — to today; what may be planned ahead (a measure's start, a public notice)
# from 2000 to a year from today.
EARLIEST_DATE = date(1900, 1, 1)
EARLIEST_RECORD = date(2000, 1, 1)
PLAN_AHEAD_DAYS = 366
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _written_as_date(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD")
    if isinstance(value, int | float | Decimal):  # bool too: JSON true is no date either
        raise PydanticCustomError("date_type", "a date is written YYYY-MM-DD, not as a number")
    return value


# Validation context key: the district's date today, for a caller validating many bodies at once (a
# 1,000-report batch read the clock 2,000 times); otherwise each date reads it.
TODAY = "today"


def _between(earliest: date, ahead_days: int) -> AfterValidator:
    def check(value: date, info: ValidationInfo) -> date:
        today = info.context.get(TODAY) if info.context else None
        latest = (today or local_today()) + timedelta(days=ahead_days)
        if value < earliest:
            raise ValueError(f"date must not be before {earliest.isoformat()}")
        if value > latest:
            raise ValueError(
                "date must not be in the future" if ahead_days == 0 else f"date must not be after {latest}"
            )
        return value

    return AfterValidator(check)


PastDate = Annotated[
    date,
    BeforeValidator(_written_as_date),
    _between(EARLIEST_DATE, 0),
    Field(description="YYYY-MM-DD, from 1900-01-01 to today"),
]
RecordDate = Annotated[
    date,
    BeforeValidator(_written_as_date),
    _between(EARLIEST_RECORD, 0),
    Field(description="YYYY-MM-DD, from 2000-01-01 to today"),
]
PlanDate = Annotated[
    date,
    BeforeValidator(_written_as_date),
    _between(EARLIEST_RECORD, PLAN_AHEAD_DAYS),
    Field(description=f"YYYY-MM-DD, from 2000-01-01 to {PLAN_AHEAD_DAYS} days from today"),
]


def _free_text(value: str) -> str:
    return mask_pii_text(value.replace("\r\n", "\n").replace("\r", "\n"))


# Free text a person types (notes, findings, descriptions, addresses): ID numbers and phone numbers in
# it are masked before it is stored (first 6 and last 4 digits of an ID, the last 4 of a phone), so they
# never sit in clear in the database, lists, logs or messages sent out. FreeText may span lines.
FreeText = Annotated[
    str,
    AfterValidator(_free_text),
    MULTILINE,
    Field(description="free text; ID and phone numbers in it are stored masked"),
]
FreeLine = Annotated[
    str,
    AfterValidator(mask_pii_text),
    Field(description="one line of free text; ID and phone numbers in it are stored masked"),
]


def _no_negative_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value


_CENT = Decimal("0.01")


def _yuan(amount: Decimal) -> str:
    return str(amount.quantize(_CENT))


# an amount as clients mostly write it, which the checks below would pass unchanged: at most 12 digits
# of yuan and 2 of fen, no sign, no exponent, no spaces
_PLAIN_AMOUNT = re.compile(r"\d{1,12}(?:\.\d{1,2})?", re.ASCII)
_MAX_PLAIN_YUAN = 10**12


def _plain_amount(value: Any, checked: ValidatorFunctionWrapHandler) -> Decimal:
    """The common amounts straight to Decimal; anything else (floats, signs, exponents, errors) through
    the full checks. Those checks cost 0.7 µs an amount in pydantic's Python calls for digits and places:
    2 ms of a 1,000-report batch, with eight amounts a report."""
    kind = type(value)
    if kind is str:
        if _PLAIN_AMOUNT.fullmatch(value) is not None:
            return Decimal(value)
    elif kind is int and 0 <= value < _MAX_PLAIN_YUAN:
        return Decimal(value)
    amount: Decimal = checked(value)
    return amount


_PLAIN_AMOUNTS = WrapValidator(_plain_amount)
# validators that replace their type's but give back a value of that type (no text to check)
_KEEPING_TYPE: list[Any] = [_PLAIN_AMOUNTS]

# Amounts in yuan: JSON numbers or decimal strings, held as Decimal, serialised as strings so no
# client ever sees a binary float.
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    AfterValidator(_no_negative_zero),
    _PLAIN_AMOUNTS,
    PlainSerializer(_yuan, return_type=str),
]
MoneyOut = Annotated[Decimal, PlainSerializer(_yuan, return_type=str)]


class ErrorItem(BaseModel):
    code: str
    message: str
    field: str | None = None
    message_zh: str | None = Field(
        default=None, description="what is wrong, in Chinese, where known (the web app shows it)"
    )


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
