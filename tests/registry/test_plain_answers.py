"""A batch's answer is serialised from plain dicts (app/schemas/plain.py), not from ReportRead objects: the
client must get exactly the JSON the model gives, byte for byte, whatever the report holds."""

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ConfigDict, Field, computed_field

from app.models.enums import EventKind
from app.schemas.common import ReadModel
from app.schemas.plain import of_tree, plain_adapter, plain_form
from app.schemas.reports import BatchReportsOut, ReportRead
from tests.fixtures import VILLAGE_A, new_household, report_body

BATCH = "/api/v1/reports/batch"


def test_a_batch_answer_is_the_json_the_report_model_gives(client: TestClient, cadre: dict[str, str]) -> None:
    """New reports with and without events, a correction, and a stored report sent again twice (a
    replay answered twice, now marked as corrected): each item as the household's report list, made
    of ReportRead objects, serialises it."""
    household = new_household(client, cadre, village=VILLAGE_A)
    hid = household["id"]
    path = f"/api/v1/households/{hid}/reports"
    old = client.post(path, json=report_body("q1", "2025-01-01", "2025-03-31"), headers=cadre).json()
    flood = {"kind": "natural_disaster", "disaster_type": "洪涝", "occurred_on": "2025-05-02", "loss": "8000"}
    items = [
        {**report_body("q2", "2025-04-01", "2025-06-30", events=[flood]), "household_id": hid},
        {
            **report_body("q1-fix", "2025-01-01", "2025-03-31", wages="-0", supersedes=old["id"]),
            "household_id": hid,
        },
        {**report_body("q1", "2025-01-01", "2025-03-31"), "household_id": hid},
        {**report_body("q1", "2025-01-01", "2025-03-31"), "household_no": household["household_no"]},
        {**report_body("q3", "2025-07-01", "2025-09-30", insurance_payout="12.5"), "household_id": hid},
    ]
    response = client.post(BATCH, json={"reports": items}, headers=cadre)
    assert response.status_code == 201, response.text
    answered = response.json()["items"]
    assert answered[2]["superseded_by"] == answered[1]["id"]
    assert answered[0]["events"][0]["loss"] == "8000.00"
    listed = client.get(path, headers=cadre).json()["items"]  # serialised from ReportRead objects
    stored = {r["id"]: ReportRead.model_validate(r) for r in listed}
    models = [stored[item["id"]] for item in answered]
    assert response.content == BatchReportsOut(items=models).model_dump_json().encode()


def _values() -> dict[str, Any]:
    return {
        "id": 7,
        "household_id": 3,
        "client_ref": "r-1",
        "period_start": date(2025, 1, 1),
        "period_end": date(2025, 3, 31),
        "income": {
            f: Decimal(n)
            for n, f in enumerate(("wages", "business", "property", "transfer", "production_cost"))
        },
        "insurance_payout": Decimal("0.5"),
        "spending": {"medical": Decimal("1E+3"), "education": Decimal(0)},
        "housing_grade": None,
        "drinking_water_safe": None,
        "food_secure": True,
        "clothing_secure": False,
        "events": [
            {
                "kind": EventKind.illness,
                "disaster_type": None,
                "occurred_on": date(2025, 2, 1),
                "loss": Decimal("-0.00"),
            }
        ],
        "supersedes": None,
        "superseded_by": 9,
        "created_at": datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        "per_capita_net_income": None,
        "income_basis": {
            "window_start": date(2024, 4, 1),
            "window_end": date(2025, 3, 31),
            "report_ids": [7],
            "covered_days": 90,
            "net_income": Decimal("20.456"),
            "household_size": 0,
            "estimated": True,
        },
        "monitoring_line": Decimal(8700),
        "below_line": None,
    }


def test_the_models_made_from_plain_values_leave_the_values_as_they_were() -> None:
    values = _values()
    before = copy.deepcopy(values)
    read = of_tree(ReportRead, values)
    assert plain_adapter(ReportRead).dump_json(values) == read.model_dump_json().encode()
    assert read.income.production_cost == Decimal(4)
    assert read.events[0].loss == Decimal("-0.00")
    read.income_basis.report_ids = []  # as the preview leaves out the report it has not stored
    read.income.wages = Decimal(99)
    assert values == before  # the same values can be answered twice


def test_a_model_the_plain_form_cannot_follow_is_refused() -> None:
    class Inner(ReadModel):
        n: int

    class Outer(ReadModel):
        by_name: dict[str, Inner]

    class Computed(ReadModel):
        n: int

        @computed_field  # type: ignore[prop-decorator]
        @property
        def twice(self) -> int:
            return 2 * self.n

    class Hidden(ReadModel):
        secret: str = Field(exclude=True)

    class Renamed(ReadModel):
        n: int = Field(serialization_alias="number")

    class Base64(ReadModel):
        model_config = ConfigDict(ser_json_bytes="base64")
        data: bytes

    class Either(ReadModel):
        one: Inner | Computed

    for model in (Outer, Computed, Hidden, Renamed, Base64, Either):
        with pytest.raises(TypeError, match="no plain form"):
            plain_form(model)
    assert set(plain_form(ReportRead).__annotations__) == set(ReportRead.model_fields)
