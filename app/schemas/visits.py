from datetime import date

from pydantic import Field

from app.schemas.common import ReadModel


class DueVisitRead(ReadModel):
    household_id: int
    household_no: str
    village_code: str
    monitoring_status: str
    last_report_end: date | None = Field(description="the latest report's period_end (null: never reported)")
    months_since_report: int | None
    last_visit_on: date | None = Field(description="the day of the last recorded visit (null: never visited)")


class DueVisitPage(ReadModel):
    items: list[DueVisitRead]
    total: int
    page: int
    page_size: int
    stale_report_months: int = Field(
        description="the policy's months: neither a report nor a visit for longer is a finding"
    )
