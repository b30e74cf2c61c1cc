"""Amounts (Money): the fast path for amounts written plainly gives exactly what the full checks give, and
everything else still goes through those checks."""

import typing
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, TypeAdapter, ValidationError

from app.schemas import common
from app.schemas.common import Money
from tests.registry.test_input_edge import request_models

MONEY = TypeAdapter(Money)
# Money without its fast path: the checks every amount went through before it
_CHECKS = [m for m in typing.get_args(Money)[1:] if m is not common._PLAIN_AMOUNTS]
CHECKED_TYPE: Any = Annotated[(Decimal, *_CHECKS)]
CHECKED = TypeAdapter(CHECKED_TYPE)

ACCEPTED = [
    "0",
    "0.0",
    "0.00",
    "007",
    "12.5",
    "3000.50",
    "999999999999.99",
    "000000000000.01",
    0,
    1200,
    999_999_999_999,
    12.5,
    0.1,
    "-0",
    "-0.00",
    -0.0,
    " 12.50 ",
    "1e3",
    "+5",
    Decimal("4.20"),
    Decimal("-0"),
    "١٢",  # Arabic-Indic digits: not the fast path's (ASCII only); the full checks read them as 12
]
REFUSED = [
    1_000_000_000_000,  # 13 digits of yuan
    "-1",
    -1,
    "10.005",
    1.125,
    "1" * 13 + ".55",
    "12,50",
    "",
    "1.2.3",
    "NaN",
    "Infinity",
    True,
    None,
    [],
]


def outcome(adapter: TypeAdapter[Any], value: Any) -> tuple[str, Any]:
    try:
        amount = adapter.validate_python(value)
    except ValidationError as exc:
        return "refused", [(e["type"], e["msg"]) for e in exc.errors()]
    return "accepted", (str(amount), amount.as_tuple())


@pytest.mark.parametrize("value", ACCEPTED + REFUSED, ids=repr)
def test_an_amount_is_read_as_the_full_checks_read_it(value: Any) -> None:
    assert outcome(MONEY, value) == outcome(CHECKED, value)


@pytest.mark.parametrize("value", ACCEPTED, ids=repr)
def test_accepted_amounts_are_whole_fen_and_never_negative_zero(value: Any) -> None:
    amount = MONEY.validate_python(value)
    assert amount >= 0
    assert not amount.is_signed()
    assert amount == amount.quantize(Decimal("0.01"))


@pytest.mark.parametrize("value", REFUSED, ids=repr)
def test_refused_amounts_name_why(value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        MONEY.validate_python(value)
    assert refused.value.errors()[0]["type"] != "value_error"  # pydantic's own reasons, not a crash of ours


def outcome_json(item: Any, body: bytes) -> Any:
    try:
        return [(str(a), a.as_tuple()) for a in TypeAdapter(list[item]).validate_json(body)]
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]


def test_amounts_in_a_json_body_take_the_same_path() -> None:
    accepted = b'["3000.50", 1200, "0", "007", 12.5, "-0", " 4.2 "]'
    assert outcome_json(Money, accepted) == outcome_json(CHECKED_TYPE, accepted)
    assert len(outcome_json(Money, accepted)) == 7
    refused = b'["10.005", 1.125, "x", -1, "1000000000000"]'
    assert outcome_json(Money, refused) == outcome_json(CHECKED_TYPE, refused)
    assert [place for place, _ in outcome_json(Money, refused)] == [(0,), (1,), (2,), (3,), (4,)]


def test_plain_amounts_skip_the_full_checks_and_others_do_not() -> None:
    """What the fast path is for: a plain amount never reaches the checks behind it."""

    def checked(value: Decimal) -> Decimal:
        raise ValueError("the full checks ran")

    probe = TypeAdapter(Annotated[Decimal, AfterValidator(checked), common._PLAIN_AMOUNTS])
    assert probe.validate_python("3000.50") == Decimal("3000.50")
    assert probe.validate_python(1200) == Decimal(1200)
    for other in ("1e3", 12.5, " 1 ", "1.005"):
        with pytest.raises(ValidationError, match="the full checks ran|decimal"):
            probe.validate_python(other)
    assert common._PLAIN_AMOUNTS in typing.get_args(Money)


def test_no_request_model_is_strict() -> None:
    """The fast path takes "12.50" and 12 as amounts, which a strict model would refuse: it is right only
    while no request model is strict."""
    assert [m.__qualname__ for m in request_models() if m.model_config.get("strict")] == []


def test_an_amount_field_holds_no_text_to_check() -> None:
    """The fast path hands back a Decimal: Money fields get no text check (a Python call per amount)."""
    assert common.may_hold_text(Money) is False
