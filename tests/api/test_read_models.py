"""ReadModel.of_values: the answers' fast constructor gives what model_construct gives, and nothing less."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.schemas.reports import IncomeBasis, IncomeOut

BASIS: dict[str, Any] = {
    "window_start": date(2025, 4, 1),
    "window_end": date(2026, 3, 31),
    "report_ids": [3, 7],
    "covered_days": 182,
    "net_income": Decimal("10480.5"),
    "household_size": 3,
    "estimated": True,
}


def test_the_same_model_as_model_construct() -> None:
    built = IncomeBasis.of_values(dict(BASIS))
    constructed = IncomeBasis.model_construct(**BASIS)
    assert built == constructed
    assert built.model_dump_json() == constructed.model_dump_json()
    assert built.model_fields_set == constructed.model_fields_set
    assert built.net_income == Decimal("10480.5")
    assert '"net_income":"10480.50"' in built.model_dump_json()


def test_a_missing_or_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="IncomeBasis needs exactly its fields"):
        IncomeBasis.of_values({k: v for k, v in BASIS.items() if k != "estimated"})
    with pytest.raises(TypeError, match="colour"):
        IncomeOut.of_values(
            {"wages": 1, "business": 2, "property": 3, "transfer": 4, "production_cost": 5, "colour": 6}
        )
