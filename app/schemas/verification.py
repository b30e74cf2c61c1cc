"""The scorer's precision against the verifiers' decisions (GET /api/v1/risk/verification)."""

from datetime import date
from typing import Literal

from pydantic import Field

from app.schemas.common import ReadModel

Source = Literal["scorer", "rules", "model"]


class Precision(ReadModel):
    decided: int = Field(description="flagged households whose cases were decided (confirmed or rejected)")
    confirmed: int = Field(description="of those, how many the verifiers confirmed")
    precision: float | None = Field(description="confirmed ÷ decided; null when none was decided")
    ci_low: float | None = Field(description="95 % Wilson interval, lower end")
    ci_high: float | None = Field(description="95 % Wilson interval, upper end")


class LevelPrecision(Precision):
    level: Literal["high", "medium"]


class TownshipPrecision(Precision):
    township_code: str
    township_name: str | None


class SourcePrecision(Precision):
    source: Source = Field(
        description="scorer: the level the run published (high or medium); rules: the rules' own "
        "reasons; model: the champion's probability against the run's policy cut-offs (runs whose "
        "champion was the learned model or a baseline that flags by probability; a rules champion "
        "only ranks)"
    )
    by_level: list[LevelPrecision]
    by_township: list[TownshipPrecision] = Field(description="townships with a decided flag, by code")


class VerificationRead(ReadModel):
    decided_from: date | None = Field(description="decisions from this local date (null: from the first)")
    decided_to: date | None = Field(description="decisions up to this local date (null: to today)")
    decided: int = Field(description="identification cases decided in the window, flagged or not")
    confirmed: int
    rejected: int
    unflagged_decided: int = Field(description="decided cases the scorer had not flagged at their signal")
    unflagged_confirmed: int = Field(
        description="of those, confirmed: households in need that the scorer missed (found by a cadre, a "
        "department or the household itself)"
    )
    sources: list[SourcePrecision]
