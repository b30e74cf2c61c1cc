"""Acceptance 1 of the risk engine: each rule fires exactly on its boundary, and says why in words."""

from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from app.risk.rules import EVENT_KINDS, FEATURES, Reason, evaluate, level_of
from app.schemas.policy import PolicyData

POLICY = PolicyData()
LINE = 8700.0


def household(**values: Any) -> dict[str, float]:
    """A household no rule flags, with the given features changed."""
    base = {
        "income_pc": 20000.0,
        "line": LINE,
        "income_pc_prev": 20000.0,
        "size": 3.0,
        "income_total": 60000.0,
        "oop_medical": 0.0,
        "oop_education": 0.0,
        "event_loss": 0.0,
        "event_kind": np.nan,
        "housing_unsafe": 0.0,
        "dropout_compulsory": 0.0,
        "uninsured_member": 0.0,
        "water_unsafe": 0.0,
        "food_clothing_insecure": 0.0,
        "labour_share": 0.5,
        "safety_net": 0.0,
        "months_since_report": 2.0,
        "months_since_visit": np.nan,
        "income_covered_share": 1.0,
        "active_members": 3.0,
    }
    assert set(base) == set(FEATURES)
    return base | values


def run(*households: dict[str, float], policy: PolicyData = POLICY) -> list[list[Reason]]:
    frame = {name: np.array([h[name] for h in households], dtype=np.float64) for name in FEATURES}
    return evaluate(frame, policy)


def codes(reasons: list[Reason]) -> set[str]:
    return {r.code for r in reasons}


def test_a_comfortable_household_has_no_reason() -> None:
    assert run(household()) == [[]]


class TestIncomeBelowLine:
    def test_boundary(self) -> None:
        below, at, above = run(
            household(income_pc=8699.99, income_total=26099.97),
            household(income_pc=8700.0, income_total=26100.0),
            household(income_pc=8700.01, income_total=26100.03),
        )
        assert "income_below_line" in codes(below)
        assert "income_below_line" not in codes(at)
        assert "income_below_line" not in codes(above)
        reason = next(r for r in below if r.code == "income_below_line")
        assert reason.level == "high"
        assert reason.text == "人均纯收入 8,699.99 元 < 监测线 8,700 元"
        assert reason.feature == "income_pc"

    def test_text_names_the_values(self) -> None:
        [reasons] = run(household(income_pc=7420.0, income_total=22260.0))
        assert reasons[0].text == "人均纯收入 7,420 元 < 监测线 8,700 元"

    def test_the_line_is_the_policys(self) -> None:
        lower = POLICY.model_copy(update={"sharp_drop_margin": Decimal("1.5")})
        [reasons] = run(household(income_pc=8000.0, line=7000.0, income_total=24000.0), policy=lower)
        assert "income_below_line" not in codes(reasons)


class TestSharpDrop:
    def test_29_percent_does_not_fire_30_does(self) -> None:
        near = 10000.0  # within 1.5 × the line
        d29, d30 = run(
            household(income_pc=near, income_pc_prev=near / 0.71, income_total=30000.0),
            household(income_pc=near, income_pc_prev=near / 0.70, income_total=30000.0),
        )
        assert "sharp_income_drop" not in codes(d29)
        assert "sharp_income_drop" in codes(d30)
        reason = next(r for r in d30 if r.code == "sharp_income_drop")
        assert reason.level == "medium"
        assert "30%" in reason.text

    def test_only_within_the_margin_above_the_line(self) -> None:
        at_margin, inside = run(
            household(income_pc=LINE * 1.5, income_pc_prev=LINE * 3, income_total=LINE * 4.5),
            household(income_pc=LINE * 1.5 - 1, income_pc_prev=LINE * 3, income_total=LINE * 4.5),
        )
        assert "sharp_income_drop" not in codes(at_margin)
        assert "sharp_income_drop" in codes(inside)

    def test_no_previous_year_no_drop(self) -> None:
        [reasons] = run(household(income_pc=9000.0, income_pc_prev=np.nan, income_total=27000.0))
        assert "sharp_income_drop" not in codes(reasons)


class TestRigidSpending:
    def test_income_above_the_line_but_not_after_medical_costs(self) -> None:
        # 3 people, 30,000 yuan: 10,000 each; after 3,904 of medical costs 8,698.67 < 8,700
        just_below, at = run(
            household(income_pc=10000.0, income_total=30000.0, oop_medical=3904.0),
            household(income_pc=10000.0, income_total=30000.0, oop_medical=3900.0),
        )
        rigid = next(r for r in just_below if r.code == "rigid_spending")
        assert rigid.level == "high"
        assert rigid.risk_type == "因病"
        assert "rigid_spending" not in codes(at)

    def test_education_costs_are_因学(self) -> None:
        [reasons] = run(household(income_pc=10000.0, income_total=30000.0, oop_education=5000.0))
        assert next(r for r in reasons if r.code == "rigid_spending").risk_type == "因学"

    @pytest.mark.parametrize(
        ("column", "code", "risk_type"),
        [("oop_medical", "medical_spending", "因病"), ("oop_education", "education_spending", "因学")],
    )
    def test_spending_share_boundary(self, column: str, code: str, risk_type: str) -> None:
        at, above = run(household(**{column: 18000.0}), household(**{column: 18000.02}))
        assert code not in codes(at)
        reason = next(r for r in above if r.code == code)
        assert (reason.level, reason.risk_type) == ("medium", risk_type)
        assert "30%" in reason.text


@pytest.mark.parametrize(
    ("column", "code", "risk_type"),
    [
        ("housing_unsafe", "housing_unsafe", "住房安全"),
        ("dropout_compulsory", "compulsory_dropout", "义务教育"),
        ("uninsured_member", "no_medical_insurance", "基本医疗"),
        ("water_unsafe", "water_unsafe", "饮水安全"),
        ("food_clothing_insecure", "food_clothing", "吃穿"),
    ],
)
def test_three_guarantees_water_and_food_are_high(column: str, code: str, risk_type: str) -> None:
    yes, no, unknown = run(
        household(**{column: 1.0}), household(**{column: 0.0}), household(**{column: np.nan})
    )
    reason = next(r for r in yes if r.code == code)
    assert (reason.level, reason.risk_type) == ("high", risk_type)
    assert code not in codes(no)
    assert code not in codes(unknown)


NEAR = {"income_pc": 12000.0, "income_total": 36000.0}  # below 1.5 × the line: near enough to ask


class TestLackOfLabour:
    def test_a_quarter_fires_more_does_not(self) -> None:
        quarter, more = run(household(labour_share=0.25, **NEAR), household(labour_share=0.26, **NEAR))
        reason = next(r for r in quarter if r.code == "lack_of_labour")
        assert (reason.level, reason.risk_type) == ("medium", "缺劳动力")
        assert "25%" in reason.text
        assert "lack_of_labour" not in codes(more)

    def test_safety_net_income_silences_it(self) -> None:
        [reasons] = run(household(labour_share=0.0, safety_net=1.0, **NEAR))
        assert "lack_of_labour" not in codes(reasons)

    def test_a_comfortable_household_with_few_hands_is_not_asked_about(self) -> None:
        """An elderly couple living well on pensions and their children's support is not a risk."""
        comfortable, near = run(
            household(labour_share=0.0, income_pc=13050.0, income_total=39150.0),
            household(labour_share=0.0, income_pc=13049.99, income_total=39149.97),
        )
        assert "lack_of_labour" not in codes(comfortable)
        assert "lack_of_labour" in codes(near)


class TestSuddenEvent:
    def test_loss_share_boundary_and_risk_type(self) -> None:
        disaster = float(EVENT_KINDS.index("natural_disaster"))
        at, above = run(
            household(event_loss=10800.0, event_kind=disaster, **NEAR),
            household(event_loss=10800.02, event_kind=disaster, **NEAR),
        )
        assert "sudden_event" not in codes(at)
        reason = next(r for r in above if r.code == "sudden_event")
        assert (reason.level, reason.risk_type) == ("medium", "因自然灾害")
        assert "自然灾害" in reason.text
        assert "10,800" in reason.text

    def test_a_loss_that_leaves_the_household_comfortable_is_not_asked_about(self) -> None:
        disaster = float(EVENT_KINDS.index("natural_disaster"))
        # 60,000 for three, a 20,000 loss: 13,333 a head net of it, above 1.5 × 8,700 = 13,050
        [comfortable] = run(household(event_loss=20000.0, event_kind=disaster))
        assert "sudden_event" not in codes(comfortable)
        [struck] = run(household(event_loss=21000.0, event_kind=disaster))  # 13,000 net: near the line
        assert "sudden_event" in codes(struck)


def test_level_is_the_highest_reason() -> None:
    medium, high, none = run(
        household(labour_share=0.2, **NEAR),
        household(labour_share=0.2, water_unsafe=1.0, **NEAR),
        household(),
    )
    assert level_of(medium) == "medium"
    assert level_of(high) == "high"
    assert level_of(none) is None


def test_every_reason_names_a_feature_and_its_value() -> None:
    [reasons] = run(
        household(
            income_pc=5000.0,
            income_total=15000.0,
            oop_medical=9000.0,
            housing_unsafe=1.0,
            labour_share=0.0,
            event_loss=9000.0,
            event_kind=0.0,
        )
    )
    assert len(reasons) >= 5
    for reason in reasons:
        assert reason.feature in FEATURES or reason.feature.startswith(("income_pc", "oop_", "event_"))
        assert reason.text
        assert any(ch.isdigit() for ch in reason.text) or reason.value == 1.0


def test_no_income_or_nobody_living_there_never_breaks_a_rule() -> None:
    empty, negative = run(
        household(income_pc=np.nan, size=0.0, income_total=-500.0, oop_medical=100.0),
        household(
            income_pc=-100.0,
            size=3.0,
            income_total=-300.0,
            oop_medical=100.0,
            event_loss=100.0,
            event_kind=float(EVENT_KINDS.index("natural_disaster")),
        ),
    )
    assert "rigid_spending" not in codes(empty)
    shares = [r for r in negative if r.code in {"medical_spending", "sudden_event"}]
    assert {r.code for r in shares} == {"medical_spending", "sudden_event"}
    assert all(r.value is None for r in shares)
    assert all("inf" not in r.text and "nan" not in r.text for r in negative)
