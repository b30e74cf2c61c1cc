"""A column mapping: which column of a district's file holds which of Shouwang's fields, and how the
file spells their values. The shipped one (app/data/mappings/national_households.yaml) fits a typical
export of the national monitoring system; an office edits a copy for its own ledger."""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.errors import Invalid
from app.services.registry.member_rules import MEMBER_PLAIN_FIELDS

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "mappings" / "national_households.yaml"

HOUSEHOLD_FIELDS = (
    "household_no",
    "village_code",
    "township_name",
    "village_name",
    "address",
    "phone",
    "household_type",
    "monitoring_category",
    "risk_types",
    "identified_on",
    "risk_eliminated",
    "risk_eliminated_on",
)
MEMBER_FIELDS = ("name", "id_number", *MEMBER_PLAIN_FIELDS)  # the member's fields, as the registry keeps them
REPORT_FIELDS = (
    "income_year",
    "wages",
    "business",
    "property",
    "transfer",
    "production_cost",
    "spending_medical",
    "spending_education",
)
FIELDS = (*HOUSEHOLD_FIELDS, *MEMBER_FIELDS, *REPORT_FIELDS)
REQUIRED = ("household_no", "name", "id_number", "relation", "household_type")
BOOLEAN_FIELDS = frozenset(
    {
        "risk_eliminated",
        "basic_medical_insurance",
        "serious_illness_insurance",
        "basic_pension",
        "dibao",
        "tekun",
    }
)
DATE_FIELDS = frozenset({"identified_on", "risk_eliminated_on", "joined_on"})
MONEY_FIELDS = frozenset(REPORT_FIELDS) - {"income_year"}


class Mapping(BaseModel):
    """A mapping file's content (YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200, description="what file layout this mapping reads")
    sheet: str | None = Field(default=None, description="the XLSX sheet; default the first")
    header_row: int = Field(default=1, ge=1, le=50, description="the row holding the headers (1 = first)")
    encoding: Literal["utf-8-sig", "utf-8", "gb18030"] = Field(default="utf-8-sig", description="of a CSV")
    columns: dict[str, str] = Field(description="Shouwang's field -> the file's header, as it appears")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="per field: the file's spelling -> Shouwang's (enum value, 是/否 …)"
    )
    true_values: list[str] = Field(default_factory=lambda: ["是", "有", "Y", "y", "1", "true", "TRUE"])
    false_values: list[str] = Field(default_factory=lambda: ["否", "无", "N", "n", "0", "false", "FALSE"])
    date_formats: list[str] = Field(
        default_factory=lambda: ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"], min_length=1
    )
    list_separators: str = Field(default="、,，;；/ ", min_length=1, description="between risk types")

    @model_validator(mode="after")
    def _known_fields(self) -> "Mapping":
        unknown = sorted((set(self.columns) | set(self.values)) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
        missing = [f for f in REQUIRED if f not in self.columns]
        if "village_code" not in self.columns and "village_name" not in self.columns:
            missing.append("village_code or village_name")
        if missing:
            raise ValueError(f"the mapping needs columns for: {', '.join(missing)}")
        headers = list(self.columns.values())
        twice = sorted({h for h in headers if headers.count(h) > 1})
        if twice:
            raise ValueError(f"one column cannot hold two fields: {', '.join(twice)}")
        return self

    def translate(self, field: str, value: str) -> str:
        return self.values.get(field, {}).get(value, value)


def parse(text: str) -> Mapping:
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"the mapping is not valid YAML: {exc}", field="mapping") from None
    if not isinstance(content, dict):
        raise Invalid("the mapping must be a YAML mapping (name, columns, values …)", field="mapping")
    try:
        return Mapping.model_validate(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(
            f"the mapping is invalid at {where or 'top'}: {first['msg']}", field="mapping"
        ) from None


def load(path: Path | None = None) -> Mapping:
    return parse((path or SHIPPED).read_text(encoding="utf-8"))
