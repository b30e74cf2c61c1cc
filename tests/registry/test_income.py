"""Acceptance 8 (income half): per-capita net income, annualised over the 12 months ending at period_end.

net = wages + business + property + transfer − production_cost; divided by the household size at
period_end. Through the API (`per_capita_net_income`, `income_basis`) and the income module directly.
"""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services.registry.income import Membership, PeriodIncome, household_size_at, net_income, per_capita
from tests.fixtures import VILLAGE_A, member_body, new_household, report_body

HOUSEHOLDS = "/api/v1/households"
Body = dict[str, Any]


@pytest.fixture
def household(client: TestClient, cadre: dict[str, str]) -> Body:
    """Three members (head, spouse, son), all members since before any report."""
    return new_household(client, cadre, village=VILLAGE_A)


def submit(client: TestClient, cadre: dict[str, str], household: Body, body: Body) -> Body:
    response = client.post(f"{HOUSEHOLDS}/{household['id']}/reports", json=body, headers=cadre)
    assert response.status_code == 201, response.text
    result: Body = response.json()
    return result


def listed(client: TestClient, cadre: dict[str, str], household: Body) -> dict[str, Body]:
    response = client.get(f"{HOUSEHOLDS}/{household['id']}/reports", headers=cadre)
    assert response.status_code == 200, response.text
    return {r["client_ref"]: r for r in response.json()["items"]}


def income(wages: Any, business: Any, prop: Any, transfer: Any, cost: Any) -> dict[str, Any]:
    return {"wages": wages, "business": business, "prop": prop, "transfer": transfer, "cost": cost}


# 12000.50 + 8000 + 300.25 + 2400 − 3000.75 = 19700.00
ANNUAL = income("12000.50", "8000", "300.25", "2400", "3000.75")


# --- through the API ---------------------------------------------------------------------------------


def test_annual_report(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    report = submit(client, cadre, household, report_body("y2025", "2025-01-01", "2025-12-31", **ANNUAL))
    assert report["per_capita_net_income"] == "6566.67"  # 19700 / 3
    basis = report["income_basis"]
    assert basis == {
        "window_start": "2025-01-01",
        "window_end": "2025-12-31",
        "report_ids": [report["id"]],
        "covered_days": 365,
        "net_income": "19700.00",
        "household_size": 3,
        "estimated": False,
    }
    assert listed(client, cadre, household)["y2025"]["per_capita_net_income"] == "6566.67"


def test_earlier_year_is_outside_the_window(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    submit(client, cadre, household, report_body("y2024", "2024-01-01", "2024-12-31", wages="90000"))
    report = submit(client, cadre, household, report_body("y2025", "2025-01-01", "2025-12-31", **ANNUAL))
    assert report["income_basis"]["report_ids"] == [report["id"]]
    assert report["per_capita_net_income"] == "6566.67"


def test_four_quarters_summed_over_twelve_months(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    quarters = [
        ("q1", "2025-01-01", "2025-03-31", income("3000", "1000", "0", "500", "200")),  # 4300
        ("q2", "2025-04-01", "2025-06-30", income("3100.10", "2500", "50", "500", "900.10")),  # 5250
        ("q3", "2025-07-01", "2025-09-30", income("2900", "4000", "0", "600", "1500")),  # 6000
        ("q4", "2025-10-01", "2025-12-31", income("3300", "500", "25.50", "700", "100.50")),  # 4425
    ]
    reports = {
        ref: submit(client, cadre, household, report_body(ref, s, e, **amounts))
        for ref, s, e, amounts in quarters
    }
    q4 = reports["q4"]
    assert q4["income_basis"]["report_ids"] == sorted(r["id"] for r in reports.values())
    assert q4["income_basis"]["covered_days"] == 365
    assert q4["income_basis"]["net_income"] == "19975.00"
    assert q4["per_capita_net_income"] == "6658.33"  # 19975 / 3
    # The second quarter's report has half a year behind it, annualised: (4300 + 5250) × 365 / 181.
    q2 = listed(client, cadre, household)["q2"]
    assert q2["income_basis"]["report_ids"] == sorted([reports["q1"]["id"], reports["q2"]["id"]])
    assert q2["income_basis"]["covered_days"] == 181
    assert q2["income_basis"]["estimated"] is True  # half a year scaled up: an estimate, and it says so
    assert q2["income_basis"]["net_income"] == "19258.29"
    assert q2["per_capita_net_income"] == "6419.43"
    # Listing reads the same figures as the answers did.
    assert listed(client, cadre, household)["q4"] == q4


def test_quarters_across_a_year_boundary(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    """The window trails period_end: Q2 2025 uses Q3 2024 to Q2 2025, not Q1 2024."""
    periods = [
        ("2024q1", "2024-01-01", "2024-03-31"),
        ("2024q2", "2024-04-01", "2024-06-30"),
        ("2024q3", "2024-07-01", "2024-09-30"),
        ("2024q4", "2024-10-01", "2024-12-31"),
        ("2025q1", "2025-01-01", "2025-03-31"),
        ("2025q2", "2025-04-01", "2025-06-30"),
    ]
    ids = {
        ref: submit(
            client,
            cadre,
            household,
            report_body(ref, s, e, wages="1000", business="0", prop="0", transfer="0", cost="0"),
        )["id"]
        for ref, s, e in periods
    }
    report = listed(client, cadre, household)["2025q2"]
    assert report["income_basis"]["window_start"] == "2024-07-01"
    assert report["income_basis"]["report_ids"] == sorted(
        ids[r] for r in ("2024q3", "2024q4", "2025q1", "2025q2")
    )
    assert report["per_capita_net_income"] == "1333.33"  # 4 × 1000 / 3


def test_member_leaving_lowers_household_size(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    submit(client, cadre, household, report_body("y2024", "2024-01-01", "2024-12-31", **ANNUAL))
    before = submit(client, cadre, household, report_body("y2025", "2025-01-01", "2025-12-31", **ANNUAL))
    assert before["income_basis"]["household_size"] == 3
    son = next(m for m in household["members"] if m["relation"] == "之子")
    response = client.patch(
        f"{HOUSEHOLDS}/{household['id']}/members/{son['id']}",
        json={"left_on": "2025-06-30", "left_reason": "分户", "version": son["version"]},
        headers=cadre,
    )
    assert response.status_code == 200, response.text
    assert response.json()["left_on"] == "2025-06-30"

    reports = listed(client, cadre, household)
    # At the end of 2025 the son had left: 19700 / 2.
    assert reports["y2025"]["income_basis"]["household_size"] == 2
    assert reports["y2025"]["per_capita_net_income"] == "9850.00"
    # At the end of 2024 he was still there.
    assert reports["y2024"]["income_basis"]["household_size"] == 3
    assert reports["y2024"]["per_capita_net_income"] == "6566.67"
    # A report submitted after the leave agrees.
    later = submit(client, cadre, household, report_body("h2026", "2026-01-01", "2026-06-30", **ANNUAL))
    assert later["income_basis"]["household_size"] == 2


def test_member_leaving_on_period_end_is_not_counted(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    son = next(m for m in household["members"] if m["relation"] == "之子")
    response = client.patch(
        f"{HOUSEHOLDS}/{household['id']}/members/{son['id']}",
        json={"left_on": "2025-12-31", "left_reason": "死亡", "version": son["version"]},
        headers=cadre,
    )
    assert response.status_code == 200, response.text
    day_before = submit(client, cadre, household, report_body("a", "2025-01-01", "2025-12-30", **ANNUAL))
    assert day_before["income_basis"]["household_size"] == 3
    report = submit(client, cadre, household, report_body("b", "2025-12-31", "2025-12-31", wages="1"))
    assert report["income_basis"]["household_size"] == 2


def test_member_who_joined_after_period_end_not_counted(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    response = client.post(
        f"{HOUSEHOLDS}/{household['id']}/members",
        json=member_body("之儿媳", male=False, birth=date(2001, 2, 3), joined_on="2026-03-01"),
        headers=cadre,
    )
    assert response.status_code == 201, response.text
    y2025 = submit(client, cadre, household, report_body("y2025", "2025-01-01", "2025-12-31", **ANNUAL))
    assert y2025["income_basis"]["household_size"] == 3
    assert y2025["per_capita_net_income"] == "6566.67"
    h2026 = submit(client, cadre, household, report_body("h2026", "2026-03-01", "2026-06-30", **ANNUAL))
    assert h2026["income_basis"]["household_size"] == 4  # joined on period_end's side: counted


def test_household_registered_with_a_later_member(client: TestClient, cadre: dict[str, str]) -> None:
    members = [
        member_body("户主", birth=date(1965, 4, 4)),
        member_body("之孙女", male=False, birth=date(2025, 9, 1), joined_on="2025-09-01"),
    ]
    household = new_household(client, cadre, village=VILLAGE_A, members=members)
    h1 = submit(
        client,
        cadre,
        household,
        report_body(
            "h1", "2025-01-01", "2025-06-30", wages="1000", business="0", prop="0", transfer="0", cost="0"
        ),
    )
    assert h1["income_basis"]["household_size"] == 1
    h2 = submit(
        client,
        cadre,
        household,
        report_body(
            "h2", "2025-07-01", "2025-12-31", wages="1000", business="0", prop="0", transfer="0", cost="0"
        ),
    )
    assert h2["income_basis"]["household_size"] == 2
    assert h2["per_capita_net_income"] == "1000.00"


def test_half_year_is_annualised(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    # 184 days with net 1840 → 3650 a year → 1216.67 each.
    report = submit(
        client,
        cadre,
        household,
        report_body(
            "h2", "2025-07-01", "2025-12-31", wages="1840", business="0", prop="0", transfer="0", cost="0"
        ),
    )
    assert report["income_basis"]["covered_days"] == 184
    assert report["income_basis"]["net_income"] == "3650.00"
    assert report["per_capita_net_income"] == "1216.67"


def test_numbers_and_decimal_strings_agree(client: TestClient, cadre: dict[str, str]) -> None:
    as_numbers = new_household(client, cadre, village=VILLAGE_A)
    as_strings = new_household(
        client,
        cadre,
        village=VILLAGE_A,
        members=[
            member_body("户主", birth=date(1971, 1, 1)),
            member_body("配偶", male=False, birth=date(1973, 1, 1)),
            member_body("之女", male=False, birth=date(2001, 1, 1)),
        ],
    )
    numbers = submit(
        client,
        cadre,
        as_numbers,
        report_body(
            "y",
            "2025-01-01",
            "2025-12-31",
            wages=12000.5,
            business=8000,
            prop=300.25,
            transfer=2400,
            cost=3000.75,
        ),
    )
    strings = submit(
        client,
        cadre,
        as_strings,
        report_body(
            "y",
            "2025-01-01",
            "2025-12-31",
            wages="12000.50",
            business="8000.00",
            prop="300.25",
            transfer="2400",
            cost="3000.75",
        ),
    )
    assert (
        numbers["income"]
        == strings["income"]
        == {
            "wages": "12000.50",
            "business": "8000.00",
            "property": "300.25",
            "transfer": "2400.00",
            "production_cost": "3000.75",
        }
    )
    assert numbers["per_capita_net_income"] == strings["per_capita_net_income"] == "6566.67"
    assert numbers["income_basis"]["net_income"] == strings["income_basis"]["net_income"] == "19700.00"
    # No binary-float drift: 0.1 + 0.2 as numbers is exactly 0.30.
    tiny = submit(
        client,
        cadre,
        as_numbers,
        report_body("t", "2024-01-01", "2024-12-31", wages=0.1, business=0.2, prop=0, transfer=0, cost=0),
    )
    assert tiny["income_basis"]["net_income"] == "0.30"
    assert tiny["per_capita_net_income"] == "0.10"


def test_net_income_may_be_negative(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    report = submit(
        client,
        cadre,
        household,
        report_body(
            "loss",
            "2025-01-01",
            "2025-12-31",
            wages="0",
            business="1000",
            prop="0",
            transfer="0",
            cost="4000",
        ),
    )
    assert report["income_basis"]["net_income"] == "-3000.00"
    assert report["per_capita_net_income"] == "-1000.00"


def test_other_households_reports_not_used(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    other = new_household(client, cadre, village=VILLAGE_A)
    submit(client, cadre, other, report_body("q1", "2025-01-01", "2025-06-30", wages="99999"))
    mine = submit(
        client,
        cadre,
        household,
        report_body(
            "q2", "2025-07-01", "2025-12-31", wages="1840", business="0", prop="0", transfer="0", cost="0"
        ),
    )
    assert mine["income_basis"]["report_ids"] == [mine["id"]]
    assert mine["per_capita_net_income"] == "1216.67"


def test_nobody_left_gives_null(client: TestClient, cadre: dict[str, str]) -> None:
    household = new_household(client, cadre, village=VILLAGE_A, members=[member_body("户主")])
    head = household["members"][0]
    response = client.patch(
        f"{HOUSEHOLDS}/{household['id']}/members/{head['id']}",
        json={"left_on": "2025-06-30", "left_reason": "死亡", "version": head["version"]},
        headers=cadre,
    )
    assert response.status_code == 200, response.text
    report = submit(client, cadre, household, report_body("y", "2025-01-01", "2025-12-31"))
    assert report["income_basis"]["household_size"] == 0
    assert report["per_capita_net_income"] is None


def test_annual_report_ending_in_february_after_a_leap_year(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    """March 2024 – February 2025 is exactly twelve months: its income is the year's income, not more."""
    report = submit(
        client,
        cadre,
        household,
        report_body(
            "y", "2024-03-01", "2025-02-28", wages="3650", business="0", prop="0", transfer="0", cost="0"
        ),
    )
    assert report["per_capita_net_income"] == "1216.67"  # 3650 / 3
    assert report["income_basis"]["net_income"] == "3650.00"
    assert report["income_basis"]["window_start"] == "2024-03-01"


# --- app.services.registry.income, directly ---------------------------------------------------------------

ALWAYS = Membership(None, None)


def per_day(report_id: int, start: date, end: date, cents_a_day: int = 1000) -> PeriodIncome:
    """A report earning `cents_a_day` hundredths of a yuan every day: 10.00 a day by default."""
    days = (end - start).days + 1
    return PeriodIncome(report_id, start, end, Decimal(cents_a_day * days) / 100)


def test_net_income_formula() -> None:
    assert net_income(
        Decimal("12000.50"),
        Decimal("8000"),
        Decimal("300.25"),
        Decimal("2400"),
        Decimal("3000.75"),
        Decimal(0),
    ) == Decimal("19700.00")
    # 理赔 counts as transfer income (the policy's formula)
    assert net_income(
        Decimal("12000.50"),
        Decimal("8000"),
        Decimal("300.25"),
        Decimal("2400"),
        Decimal("3000.75"),
        Decimal(500),
    ) == Decimal("20200.00")


def test_unit_annual() -> None:
    result = per_capita(
        PeriodIncome(1, date(2025, 1, 1), date(2025, 12, 31), Decimal("19700")), [], [ALWAYS] * 3
    )
    assert result.window_start == date(2025, 1, 1)
    assert result.window_end == date(2025, 12, 31)
    assert result.report_ids == [1]
    assert result.covered_days == 365
    assert result.net_income == Decimal("19700.00")
    assert result.household_size == 3
    assert result.per_capita_net_income == Decimal("6566.67")


def test_unit_pro_rata_partial_overlap() -> None:
    # Oct 2024 – Mar 2025 (182 days) reaches 90 days into the window; Apr – Dec 2025 (275 days) fills it.
    earlier = per_day(1, date(2024, 10, 1), date(2025, 3, 31))
    target = per_day(2, date(2025, 4, 1), date(2025, 12, 31))
    result = per_capita(target, [earlier], [ALWAYS] * 2)
    assert result.report_ids == [1, 2]
    assert result.covered_days == 365
    assert result.net_income == Decimal("3650.00")  # 90 × 10 + 275 × 10
    assert result.per_capita_net_income == Decimal("1825.00")


def test_unit_partial_coverage_is_annualised() -> None:
    result = per_capita(per_day(1, date(2025, 7, 1), date(2025, 12, 31)), [], [ALWAYS])
    assert result.covered_days == 184
    assert result.net_income == Decimal("3650.00")
    gap = per_capita(
        per_day(2, date(2025, 10, 1), date(2025, 12, 31)),
        [per_day(1, date(2025, 1, 1), date(2025, 3, 31))],
        [ALWAYS],
    )
    assert gap.report_ids == [1, 2]
    assert gap.covered_days == 90 + 92
    assert gap.net_income == Decimal("3650.00")


def test_unit_ignores_later_overlapping_and_old_reports() -> None:
    target = per_day(5, date(2025, 4, 1), date(2025, 6, 30))
    others = [
        per_day(1, date(2024, 1, 1), date(2024, 6, 30), 99999),  # ends before the window
        per_day(2, date(2025, 7, 1), date(2025, 9, 30), 99999),  # after the target
        per_day(3, date(2025, 5, 1), date(2025, 5, 31), 99999),  # overlaps the target (a correction)
        per_day(4, date(2025, 1, 1), date(2025, 3, 31)),
        target,  # the target itself, if passed again, counts once
    ]
    result = per_capita(target, others, [ALWAYS])
    assert result.report_ids == [4, 5]
    assert result.covered_days == 90 + 91
    assert result.net_income == Decimal("3650.00")


def test_unit_leap_year() -> None:
    # Calendar 2024 has 366 days; a full-year report is the year's income as it stands.
    year = per_capita(PeriodIncome(1, date(2024, 1, 1), date(2024, 12, 31), Decimal("3660")), [], [ALWAYS])
    assert year.covered_days == 366
    assert year.net_income == Decimal("3660.00")
    # Ending on 29 February: the window is 1 March 2023 – 29 February 2024.
    feb29 = per_capita(PeriodIncome(1, date(2023, 3, 1), date(2024, 2, 29), Decimal("3660")), [], [ALWAYS])
    assert feb29.window_start == date(2023, 3, 1)
    assert feb29.covered_days == 366
    assert feb29.net_income == Decimal("3660.00")
    # Quarters of a year with 29 February in it, summed by the last quarter.
    quarters = [
        per_day(1, date(2024, 1, 1), date(2024, 3, 31)),
        per_day(2, date(2024, 4, 1), date(2024, 6, 30)),
        per_day(3, date(2024, 7, 1), date(2024, 9, 30)),
    ]
    q4 = per_capita(per_day(4, date(2024, 10, 1), date(2024, 12, 31)), quarters, [ALWAYS])
    assert q4.report_ids == [1, 2, 3, 4]
    assert q4.covered_days == 366
    assert q4.net_income == Decimal("3660.00")


def test_unit_twelve_months_ending_in_february_after_a_leap_year() -> None:
    """The 12 months ending 28 February 2025 are March 2024 – February 2025 (365 days), not from 29 Feb."""
    annual = per_capita(PeriodIncome(1, date(2024, 3, 1), date(2025, 2, 28), Decimal("3650")), [], [ALWAYS])
    assert annual.net_income == Decimal("3650.00")
    assert annual.window_start == date(2024, 3, 1)
    assert annual.covered_days == 365


def test_unit_quarters_ending_in_february_after_a_leap_year() -> None:
    """Quarters March 2024 – February 2025: the last one uses exactly those four, not the quarter before."""
    quarters = [
        per_day(1, date(2023, 12, 1), date(2024, 2, 29)),
        per_day(2, date(2024, 3, 1), date(2024, 5, 31)),
        per_day(3, date(2024, 6, 1), date(2024, 8, 31)),
        per_day(4, date(2024, 9, 1), date(2024, 11, 30)),
    ]
    last = per_capita(per_day(5, date(2024, 12, 1), date(2025, 2, 28)), quarters, [ALWAYS])
    assert last.report_ids == [2, 3, 4, 5]
    assert last.net_income == Decimal("3650.00")


def test_unit_household_size_at() -> None:
    members = [
        Membership(None, None),  # always there
        Membership(date(2025, 3, 1), None),  # joined in March
        Membership(None, date(2025, 6, 30)),  # left on 30 June
        Membership(date(2026, 1, 1), None),  # joined after
    ]
    assert household_size_at(members, date(2025, 2, 28)) == 2
    assert household_size_at(members, date(2025, 3, 1)) == 3
    assert household_size_at(members, date(2025, 6, 29)) == 3
    assert household_size_at(members, date(2025, 6, 30)) == 2
    assert household_size_at(members, date(2025, 12, 31)) == 2
    assert household_size_at(members, date(2026, 1, 1)) == 3
    result = per_capita(per_day(1, date(2025, 1, 1), date(2025, 12, 31)), [], members)
    assert result.household_size == 2
    assert result.per_capita_net_income == Decimal("1825.00")


def test_unit_empty_household_and_rounding() -> None:
    empty = per_capita(
        per_day(1, date(2025, 1, 1), date(2025, 12, 31)), [], [Membership(None, date(2025, 1, 1))]
    )
    assert empty.household_size == 0
    assert empty.per_capita_net_income is None
    # 100 / 3 = 33.333… → 33.33; 100.01 / 2 = 50.005 → 50.01 (half up).
    third = per_capita(
        PeriodIncome(1, date(2025, 1, 1), date(2025, 12, 31), Decimal("100")), [], [ALWAYS] * 3
    )
    assert third.per_capita_net_income == Decimal("33.33")
    half = per_capita(
        PeriodIncome(1, date(2025, 1, 1), date(2025, 12, 31), Decimal("100.01")), [], [ALWAYS] * 2
    )
    assert half.per_capita_net_income == Decimal("50.01")
