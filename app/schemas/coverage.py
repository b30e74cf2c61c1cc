"""Screening coverage (排查覆盖): a month's households seen and not seen, by village."""

from datetime import date
from typing import Literal

from pydantic import Field

from app.schemas.common import ReadModel


class CoverageCounts(ReadModel):
    registered: int = Field(description="households registered by the month's end")
    covered: int = Field(description="visited or reported on in the month")
    visited: int = Field(description="visited in the month (a visit dated in it)")
    reported_only: int = Field(
        description="not visited, but an effective report's period includes a day of the month"
    )
    not_covered: int
    share: float | None = Field(description="covered ÷ registered, 4 decimals; null for no households")


class VillageCoverageRead(CoverageCounts):
    village_code: str
    village_name: str
    township_code: str
    township_name: str


class TownshipCoverageRead(CoverageCounts):
    township_code: str
    township_name: str


class CoverageRead(ReadModel):
    month: str = Field(description="YYYY-MM, the district's month")
    stale_report_months: int = Field(
        description="the policy's months: a report counts for the month it was sent when its period ended "
        "within them before the month began; neither a report nor a visit for longer is the stale queue"
    )
    villages: list[VillageCoverageRead] = Field(description="every village of the region, by township")
    townships: list[TownshipCoverageRead]
    total: CoverageCounts


class HouseholdCoverageRead(ReadModel):
    household_id: int
    household_no: str
    monitoring_status: str
    covered: Literal["visited", "reported", "none"] = Field(
        description="visited (wins when both), reported on, or not covered in the month"
    )
    visited_on: date | None = Field(description="the day of the month's last visit")
    visits: int = Field(description="visits in the month")
    reported_on: date | None = Field(
        description="the end of the latest reported period that includes a day of the month"
    )
    stale: bool = Field(description="today, by the stale rule: on GET /visits/due")


class VillageCoveragePage(ReadModel):
    month: str
    village: VillageCoverageRead
    items: list[HouseholdCoverageRead] = Field(
        description="not covered first, then reported only, then visited"
    )
    total: int
    page: int
    page_size: int
