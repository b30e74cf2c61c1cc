from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from app.schemas.common import FreeLine, FreeText, Money, PlanDate, ReadModel, StrictModel

MeasureCategory = Literal[
    "产业帮扶",
    "就业帮扶",
    "金融帮扶",
    "公益岗位帮扶",
    "健康帮扶",
    "义务教育保障",
    "其他教育帮扶",
    "综合保障",
    "住房安全保障",
    "饮水安全保障",
    "社会帮扶",
    "搬迁",
    "生产生活条件改善",
    "基础设施建设",
]


MeasureStatus = Literal["planned", "in_progress", "done", "stopped"]


class AssistanceCreate(StrictModel):
    category: MeasureCategory
    item: FreeLine = Field(min_length=1, max_length=200)
    department: str = Field(min_length=1, max_length=40, description="the department responsible")
    started_on: PlanDate
    amount: Money | None = None
    status: MeasureStatus = "in_progress"


class AssistanceUpdate(StrictModel):
    status: MeasureStatus = Field(description="a stopped measure no longer answers its risk types")


class AssistanceRead(ReadModel):
    id: int
    household_id: int
    category: str
    item: str
    department: str
    started_on: date
    amount: Decimal | None
    status: str
    created_by: str
    created_at: datetime


class GapRead(ReadModel):
    risk_type: str
    days_without_measure: int


class AssistanceList(ReadModel):
    measures: list[AssistanceRead]
    gaps: list[GapRead] = Field(
        description="缺什么补什么: confirmed risk types still without a matching measure"
    )


class EliminationProposal(StrictModel):
    kind: Literal["帮扶消除", "自然消除"]
    reason: FreeText = Field(min_length=1, max_length=500)
