"""One row of a district's file made into Shouwang's values: each cell translated by the mapping and
checked on its own (an ID number's check digit, a date, an amount, a known category), every problem
named by its line and column. No database: what needs the registry is checked in households.py."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, get_args

from app.clock import local_today
from app.errors import Invalid, message_zh
from app.models.enums import (
    DropoutReason,
    Employment,
    Health,
    HouseholdType,
    LabourCapacity,
    MonitoringCategory,
    Relation,
    Schooling,
    SchoolLevel,
    Sex,
)
from app.pii import normalise_id_number, validate_id_number, validate_phone
from app.schemas.case_actions import RiskType
from app.services.imports.mapping import BOOLEAN_FIELDS, DATE_FIELDS, MONEY_FIELDS, Mapping
from app.services.imports.sources import Row

ENUMS: dict[str, type[StrEnum]] = {
    "household_type": HouseholdType,
    "monitoring_category": MonitoringCategory,
    "sex": Sex,
    "relation": Relation,
    "labour_capacity": LabourCapacity,
    "health": Health,
    "schooling": Schooling,
    "school_level": SchoolLevel,
    "dropout_reason": DropoutReason,
    "employment": Employment,
}
RISK_TYPES = frozenset(get_args(RiskType))
INTEGERS = {"disability_grade": (1, 4), "migrant_months": (0, 12)}
TEXT_LIMITS = {"name": 50, "address": 200, "ethnicity": 20, "township_name": 64, "village_name": 64}
MONEY_LIMIT = Decimal("999999999999.99")
# Excel keeps 15 significant digits of a number: an 18-digit ID number typed as one has lost its last three
NUMBER_ID = (
    "the ID number is stored as a number in Excel, which keeps only 15 digits: format the column as text"
)


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: str  # the file's header
    letter: str  # the column's letter in a spreadsheet ("" for a problem of the whole row)
    field: str
    message: str

    @property
    def message_zh(self) -> str | None:
        return message_zh(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "column_letter": self.letter,
            "field": self.field,
            "message": self.message,
            "message_zh": self.message_zh,
        }


@dataclass(slots=True)
class ParsedRow:
    line: int
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


def check_values(mapping: Mapping) -> None:
    """A translation to no value the field has is the mapping's fault, refused before any row is read."""
    for name, spellings in mapping.values.items():
        kind = ENUMS.get(name)
        wrong = [v for v in spellings.values() if kind is not None and v not in set(kind)]
        if wrong:
            raise Invalid(
                f"the mapping translates {name} to {wrong[0]!r}, not one of its values", field="mapping"
            )


class RowParser:
    """Parses rows under one mapping and the file's column letters."""

    def __init__(self, mapping: Mapping, letters: dict[str, str]) -> None:
        self.mapping = mapping
        self.letters = letters
        self.today = local_today()
        self.trues = frozenset(mapping.true_values)
        self.falses = frozenset(mapping.false_values)
        check_values(mapping)

    def problem(self, line: int, name: str, message: str) -> Problem:
        header = self.mapping.columns.get(name, "")
        return Problem(line, header, self.letters.get(header, ""), name, message)

    def parse(self, row: Row) -> ParsedRow:
        parsed = ParsedRow(row.line, {})
        for name, header in self.mapping.columns.items():
            text = row.cells.get(header, "")
            if not text:
                continue
            if name == "id_number" and header in row.numbers:
                parsed.problems.append(self.problem(row.line, name, NUMBER_ID))
                continue
            try:
                parsed.values[name] = self._value(name, self.mapping.translate(name, text))
            except ValueError as exc:
                parsed.problems.append(self.problem(row.line, name, str(exc)))
        for name in ("household_no", "name", "id_number", "relation", "household_type"):
            if name not in parsed.values and not any(p.field == name for p in parsed.problems):
                parsed.problems.append(self.problem(row.line, name, "required; the cell is empty"))
        self._sex_matches_id(parsed)
        return parsed

    def _value(self, name: str, text: str) -> Any:
        if name in ENUMS:
            return _enum(ENUMS[name], text)
        if name in BOOLEAN_FIELDS:
            if text in self.trues:
                return True
            if text in self.falses:
                return False
            raise ValueError(
                f"{text!r} is neither yes nor no ({'/'.join(self.mapping.true_values[:1])}, "
                f"{'/'.join(self.mapping.false_values[:1])})"
            )
        if name in DATE_FIELDS:
            return self._date(text)
        if name in MONEY_FIELDS:
            return _money(text)
        if name in INTEGERS:
            return _integer(text, *INTEGERS[name])
        match name:
            case "income_year":
                year = _integer(text, 2000, self.today.year)
                if year >= self.today.year:
                    raise ValueError(f"the year {year} is not over: import a year's income once it has ended")
                return year
            case "id_number":
                number = normalise_id_number(text)
                validate_id_number(number, today=self.today)
                return number
            case "phone":
                return validate_phone(text)
            case "risk_types":
                return self._risk_types(text)
            case "household_no":
                if not (
                    1 <= len(text) <= 32 and all(c.isascii() and (c.isalnum() or c == "-") for c in text)
                ):
                    raise ValueError("a household number is 1 to 32 letters, digits or hyphens")
                return text
            case "village_code":
                if not (len(text) == 12 and text.isdigit()):
                    raise ValueError("a village code is the 12-digit 统计用区划代码")
                return text
        text = " ".join(text.split())  # a line break typed in a cell (Alt+Enter) is a space in one line
        limit = TEXT_LIMITS.get(name, 200)
        if len(text) > limit:
            raise ValueError(f"at most {limit} characters")
        return text

    def _date(self, text: str) -> date:
        for fmt in self.mapping.date_formats:
            try:
                day = datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar day, no time of day
            except ValueError:
                continue
            if not date(1900, 1, 1) <= day <= self.today:
                raise ValueError(f"{day} is not between 1900-01-01 and today")
            return day
        try:  # a date written with a time of day (2024-03-15 09:30): the day
            day = datetime.fromisoformat(text).date()
        except ValueError:
            raise ValueError(
                f"not a date in the mapping's formats ({', '.join(self.mapping.date_formats)})"
            ) from None
        if not date(1900, 1, 1) <= day <= self.today:
            raise ValueError(f"{day} is not between 1900-01-01 and today")
        return day

    def _risk_types(self, text: str) -> list[str]:
        parts = [text]
        for separator in self.mapping.list_separators:
            parts = [piece for part in parts for piece in part.split(separator)]
        types = [self.mapping.translate("risk_types", p.strip()) for p in parts if p.strip()]
        unknown = [t for t in types if t not in RISK_TYPES]
        if unknown:
            raise ValueError(
                f"unknown risk type {unknown[0]!r}; risk types are {'、'.join(get_args(RiskType))}"
            )
        if len(set(types)) != len(types) or not 1 <= len(types) <= 5:
            raise ValueError("one to five risk types, each once")
        return types

    def _sex_matches_id(self, parsed: ParsedRow) -> None:
        number, sex = parsed.values.get("id_number"), parsed.values.get("sex")
        if number is None:
            return
        encoded = Sex.male if int(number[16]) % 2 else Sex.female  # GB 11643: the 17th digit, odd for men
        if sex is None:
            parsed.values["sex"] = encoded
        elif sex != encoded:
            parsed.problems.append(
                self.problem(parsed.line, "sex", f"the ID number says {encoded.value}, the row {sex.value}")
            )


def _enum(kind: type[StrEnum], text: str) -> StrEnum:
    try:
        return kind(text)
    except ValueError:
        allowed = "、".join(v.value for v in kind if v.value != "none")
        raise ValueError(
            f"unknown value {text!r}; expected one of {allowed} (or a translation in the mapping)"
        ) from None


def _money(text: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", "").replace("，", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount in yuan") from None
    if not amount.is_finite() or amount < 0 or amount > MONEY_LIMIT:
        raise ValueError("an amount is between 0 and 999,999,999,999.99 yuan")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("an amount has at most 2 decimals (fen)")
    return amount + 0  # -0 becomes 0


def _integer(text: str, low: int, high: int) -> int:
    try:
        number = int(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a whole number") from None
    if Decimal(text) != number or not low <= number <= high:
        raise ValueError(f"a whole number from {low} to {high}")
    return number
