"""部门筛查预警: departments' signals about residents, as JSON or CSV rows."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field

from app.schemas.common import MULTILINE, FreeText, Money, ReadModel, RecordDate, StrictModel
from app.schemas.households import IdNumberMixin, Name, RegionCode

CSV_COLUMNS = (
    "department",
    "id_number",
    "name",
    "village_code",
    "signal_type",
    "amount",
    "occurred_on",
    "note",
)


class DepartmentSignal(IdNumberMixin):
    department: str = Field(
        min_length=1, max_length=16, description="the sending account's department (the policy's list)"
    )
    id_number: str = Field(description="the resident's ID number; matched to a registered member")
    name: Name
    village_code: RegionCode
    signal_type: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z_]+$",
        description="e.g. medical_self_pay, dropout, disaster",
    )
    amount: Money | None = None
    occurred_on: RecordDate
    note: FreeText = Field(default="", max_length=500)


class DepartmentBatch(StrictModel):
    # MULTILINE: a note may span lines; each item's other fields are checked as a DepartmentSignal
    signals: Annotated[list[dict[str, Any]], MULTILINE] = Field(
        min_length=1,
        max_length=5000,
        description="items shaped as DepartmentSignal; each is checked on its own, and a bad one is"
        " reported (line = its number) and kept for review, not refusing the others",
    )


class LineProblem(ReadModel):
    line: int = Field(description="line in the CSV (the header is line 1); item number + 1 for JSON")
    field: str | None
    message: str


class DepartmentResult(ReadModel):
    received: int
    outcomes: dict[str, int] = Field(description="opened, attached, monitored, suppressed, unmatched")
    unmatched: list[LineProblem] = Field(description="rows whose ID number matches no registered member")
    invalid: list[LineProblem] = Field(description="rows that could not be read; kept for review")
    elsewhere: list[LineProblem] = Field(
        default_factory=list,
        description="rows matched by ID number to a household registered in another village than the row"
        " names: processed, the difference noted on the signal for the cadres to check",
    )
    received_on: date


class UnmatchedRead(ReadModel):
    id: int
    origin: str = Field(description="the file or batch and its line")
    note: str = Field(description="the masked ID number and why the row was kept")
    row: dict[str, str] = Field(description="the row's other fields (no name, no ID number)")
    received_at: datetime
