"""An import's job as the API answers it: where it is, and what it found or did."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import ReadModel


class ImportProblem(ReadModel):
    line: int = Field(
        description="the row's line in the file, as a spreadsheet numbers it (headers included)"
    )
    column: str = Field(description="the file's header of the column at fault (empty: the whole row)")
    column_letter: str = Field(description="the column's letter in a spreadsheet (A, B … AA)")
    field: str = Field(description="Shouwang's field the column maps to")
    message: str
    message_zh: str | None = Field(default=None, description="the same in Chinese, for the office")


class ImportReport(ReadModel):
    rows: int = Field(description="person rows read")
    households: dict[Literal["create", "update", "unchanged", "invalid"], int] = Field(
        description="households by what the import did, or would do in a dry run"
    )
    members_created: int
    members_updated: int
    reports: int = Field(description="years of income stored (new or correcting the imported one)")
    monitored: int = Field(description="households brought into monitoring with their record")
    problem_count: int = Field(
        description="every problem found; nothing is written while any is, unless skip_invalid"
    )
    problems: list[ImportProblem] = Field(description="the first 500 (the workbook has them all)")
    warnings: list[ImportProblem] = Field(description="what was kept as Shouwang has it, and why")
    written: bool = Field(description="whether anything was written (false for a dry run or a refused file)")


class ImportJobRead(ReadModel):
    id: int
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    dry_run: bool
    skip_invalid: bool
    file_name: str
    file_size: int
    note: str
    created_by: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    phase: Literal["check", "write"] | None = Field(
        description="while running: checking rows, or writing them"
    )
    rows_done: int = Field(description="rows of the current phase done so far")
    rows_total: int | None = Field(description="rows in the file, once the import is done")
    report: ImportReport | None
    error: str | None = Field(description="why a failed import stopped (e.g. the file is not a workbook)")
    error_zh: str | None = Field(default=None, description="the same in Chinese, for the office")
