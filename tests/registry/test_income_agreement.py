"""Per-capita net income has one rule (app/income_rule.py) and two implementations: the reports API's, in
Decimal per report (app/services/registry/income.py, the reference), and the risk engine's, in numpy over
every report at once (app/risk/panel.py). On random households both give every report the same figure
to the cent and the same estimated flag, so a flag and the report a cadre reads never disagree.

The random histories are what the API accepts: periods of 1 to 6 months (some ragged, starting on any
day), gaps, partial windows, members joining and leaving (on a period_end too), insurance payouts, and
production costs above the income (negative net). Effective reports never overlap (an overlapping one
must supersede, and the superseded one leaves both computations): the API test at the end covers that.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import db
from app import income_rule as rule
from app.clock import add_months, local_today
from app.risk import panel as pn
from app.risk import panel_read
from app.services.registry.income import IncomeResult, Membership, PeriodIncome, per_capita
from app.services.registry.report_views import report_net
from tests.fixtures import Accounts, member_body, new_household, report_body

SEEDS = range(10)
HOUSEHOLDS = 200  # per seed
NAMES = ["测试甲", "测试乙", "测试丙", "测试丁", "测试戊", "测试己"]


@dataclass
class Household:
    reports: list[tuple[PeriodIncome, dict[str, Decimal]]]  # with the amounts by report column
    members: list[Membership]


def money(rng: random.Random) -> Decimal:
    """Nothing, a few yuan, or up to millions (where float sums lose the half cent)."""
    if rng.random() < 0.3:
        return Decimal(0)
    return Decimal(rng.randint(0, rng.choice([100, 5_000, 50_000, 2_000_000]) * 100)) / 100


def period(rng: random.Random, start: date) -> date:
    """The end of a period of 1 to 6 months from start, now and then a few days more or less."""
    end = add_months(start, rng.randint(1, 6)) - timedelta(days=1)
    if rng.random() < 0.2:
        end += timedelta(days=rng.randint(-20, 20))
    return max(start, end)


def some_day(rng: random.Random, ends: list[date]) -> date:
    """Often a report's period_end (the boundary of the household-size rule), else any day around."""
    if rng.random() < 0.4:
        return rng.choice(ends) + timedelta(days=rng.choice([0, 0, 1, -1]))
    return ends[0] + timedelta(days=rng.randint(-400, (ends[-1] - ends[0]).days + 100))


def random_household(rng: random.Random, first_id: int, last_day: date = date.max) -> Household:
    """Up to 10 reports in a row (none ending after last_day) and 1 to 6 members; the first member
    always there."""
    start = date(2021, 1, 1) + timedelta(days=rng.randint(0, 3 * 365))
    if rng.random() < 0.5:
        start = start.replace(day=1)
    reports = []
    for report_id in range(first_id, first_id + rng.randint(1, 10)):
        end = period(rng, start)
        if end > last_day:
            break
        amounts = {column: money(rng) for column in rule.NET_INCOME_TERMS}
        if rng.random() < 0.15:  # a bad season: costs above the income
            amounts["production_cost"] += Decimal(rng.randint(0, 8_000_000)) / 100
        net = report_net(SimpleNamespace(**amounts))  # as the API computes it from a report's columns
        assert net == rule.net_of(amounts)  # which is the rule's sum
        reports.append((PeriodIncome(report_id, start, end, net), amounts))
        start = end + timedelta(days=1 if rng.random() < 0.6 else rng.randint(2, 300))
    ends = [r.period_end for r, _ in reports]
    members = [Membership(None, None)]
    for _ in range(rng.randint(0, 5)):
        joined = min(some_day(rng, ends), last_day) if rng.random() < 0.4 else None
        left = min(some_day(rng, ends), last_day) if rng.random() < 0.35 else None
        if joined is not None and left is not None and left < joined:
            joined, left = left, joined
        members.append(Membership(joined, left))
    if rng.random() < 0.05:  # everyone has left: no figure per head
        members = [Membership(None, ends[rng.randrange(len(ends))])]
    return Household(reports, members)


def as_panel(households: list[Household]) -> pn.Panel:
    """The households as the risk engine holds them: reports by (household, period_end), members by
    household; only the columns the income needs carry values."""
    report_rows = [(hh, r, amounts) for hh, h in enumerate(households) for r, amounts in h.reports]
    member_rows = [(hh, m) for hh, h in enumerate(households) for m in h.members]
    n, m = len(report_rows), len(member_rows)

    def day(value: date | None, missing: int) -> int:
        return missing if value is None else value.toordinal()

    reports: dict[str, Any] = {
        "hh": np.array([hh for hh, _, _ in report_rows], dtype=np.int64),
        "id": np.array([r.report_id for _, r, _ in report_rows], dtype=np.int64),
        "start": np.array([r.period_start.toordinal() for _, r, _ in report_rows], dtype=np.int64),
        "end": np.array([r.period_end.toordinal() for _, r, _ in report_rows], dtype=np.int64),
        **{name: np.zeros(n) for name in pn.REPORT_FLOATS},
    }
    for name, column in pn.NET_TERMS.items():
        reports[name] = np.array([float(amounts[column]) for _, _, amounts in report_rows])
    members: dict[str, Any] = {
        "hh": np.array([hh for hh, _ in member_rows], dtype=np.int64),
        "id": np.arange(1, m + 1, dtype=np.int64),
        "joined": np.array([day(x.joined_on, pn.ALWAYS) for _, x in member_rows], dtype=np.int64),
        "left": np.array([day(x.left_on, pn.NEVER) for _, x in member_rows], dtype=np.int64),
        "facts_from": np.full(m, pn.ALWAYS, dtype=np.int64),
        "birth": np.full(m, date(1970, 1, 1).toordinal(), dtype=np.int64),
        "health": np.zeros(m, dtype=np.int64),
        **{name: np.zeros(m) for name in pn.MEMBER_FLOATS},
    }
    no_events = np.zeros(0, dtype=np.int64)
    return pn.Panel(
        household_ids=np.arange(1, len(households) + 1, dtype=np.int64),
        township=np.zeros(len(households), dtype=np.int64),
        townships=["530402202000"],
        lifted=np.zeros(len(households)),
        reports=reports,
        events={"row": no_events, "day": no_events, "kind": no_events, "loss": np.zeros(0)},
        members=members,
    )


def cents(value: Decimal | float | None) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return round(Decimal(value) * 100) if isinstance(value, Decimal) else round(value * 100)


def compare(expected: IncomeResult, derived: dict[str, Any], row: int) -> dict[str, tuple[Any, Any]]:
    """What differs between the API's result and the engine's row: {name: (api, engine)}."""
    pairs = {
        "per_capita": (cents(expected.per_capita_net_income), cents(float(derived["pc"][row]))),
        "estimated": (expected.estimated, bool(derived["estimated"][row])),
        "net_income": (cents(expected.net_income), cents(float(derived["annual"][row]))),
        "household_size": (expected.household_size, int(derived["size"][row])),
        "covered_days": (expected.covered_days, int(derived["window"]["covered"][row])),
        "window_start": (expected.window_start.toordinal(), int(derived["window_start"][row])),
    }
    return {name: pair for name, pair in pairs.items() if pair[0] != pair[1]}


def disagreements(households: list[Household]) -> list[str]:
    derived = pn.income(as_panel(households))
    found = []
    row = 0
    for hh, household in enumerate(households):
        incomes = [r for r, _ in household.reports]
        for target in incomes:
            expected = per_capita(target, incomes, household.members)
            if differs := compare(expected, derived, row):
                found.append(f"household {hh} report {target.report_id}: {differs}")
            row += 1
    return found


def random_households(seed: int, count: int = HOUSEHOLDS, last_day: date = date.max) -> list[Household]:
    rng = random.Random(seed)
    households: list[Household] = []
    next_id = 1
    for _ in range(count):
        households.append(random_household(rng, next_id, last_day))
        next_id += len(households[-1].reports)
    return households


@pytest.mark.parametrize("seed", SEEDS)
def test_api_and_risk_engine_agree_on_random_households(seed: int) -> None:
    found = disagreements(random_households(seed))
    assert not found, f"{len(found)} report(s) differ:\n" + "\n".join(found[:10])


def test_the_random_households_reach_the_rule_s_corners(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the rule distinguishes does occur in the random histories, so that agreeing means something;
    among them figures on exactly half a cent, which floats cannot round as Decimal does on their own."""
    households = random_households(SEEDS[0])
    results = [
        (per_capita(r, [x for x, _ in h.reports], h.members), amounts)
        for h in households
        for r, amounts in h.reports
    ]
    assert {result.estimated for result, _ in results} == {True, False}
    assert any(len(result.report_ids) > 2 for result, _ in results)
    assert any(result.per_capita_net_income is None for result, _ in results)  # everyone has left
    assert len({result.household_size for result, _ in results}) >= 5
    assert any(result.net_income < 0 for result, _ in results)
    assert any(amounts["insurance_payout"] > 0 for _, amounts in results)
    assert any(
        result.household_size and (result.net_income * 200 / result.household_size) % 2 == 1
        for result, _ in results
    )
    redone: list[int] = []
    in_decimal = pn._annual_in_decimal

    def spy(panel: pn.Panel, i: int, window_start: int) -> Decimal:
        redone.append(i)
        return in_decimal(panel, i, window_start)

    monkeypatch.setattr(pn, "_annual_in_decimal", spy)
    pn.income(as_panel(households))
    assert redone


def test_reports_api_and_risk_engine_agree_through_the_database(
    client: TestClient, accounts: Accounts
) -> None:
    """The same through storage: random households sent through the API (members joining and leaving,
    corrections superseding reports), the API's figures read back, the engine's from panel_read.load."""
    cadre = accounts["cadre_a"]
    rng = random.Random(2026)
    today = local_today()
    households = random_households(11, count=20, last_day=today)
    items: list[dict[str, Any]] = []
    ids: list[int] = []
    for n, household in enumerate(households):
        members = [
            member_body(
                "户主" if k == 0 else "之子",
                name=NAMES[k],
                birth=date(1960, 1, 1),
                joined_on=None if m.joined_on is None else m.joined_on.isoformat(),
            )
            for k, m in enumerate(household.members)
        ]
        created = new_household(client, cadre, members=members)
        ids.append(created["id"])
        by_name = {m["name"]: m for m in created["members"]}
        for k, m in enumerate(household.members[1:], start=1):  # the head stays: a household needs one
            if m.left_on is not None:
                member = by_name[NAMES[k]]
                response = client.patch(
                    f"/api/v1/households/{created['id']}/members/{member['id']}",
                    json={
                        "left_on": m.left_on.isoformat(),
                        "left_reason": "分户",
                        "version": member["version"],
                    },
                    headers=cadre,
                )
                assert response.status_code == 200, response.text
        items += [
            api_report(f"h{n}r{r.report_id}", r.period_start, r.period_end, amounts)
            | {"household_id": created["id"]}
            for r, amounts in household.reports
        ]
    sent = batch(client, cadre, items)
    corrections = []
    for item, stored in zip(items, sent, strict=True):
        if rng.random() < 0.2:
            start, end = date.fromisoformat(item["period_start"]), date.fromisoformat(item["period_end"])
            start += timedelta(days=rng.randint(0, (end - start).days))  # still overlapping what it corrects
            amounts = {column: money(rng) for column in rule.NET_INCOME_TERMS}
            corrections.append(
                api_report(f"fix{stored['id']}", start, end, amounts)
                | {"household_id": item["household_id"], "supersedes": stored["id"]}
            )
    assert corrections
    batch(client, cadre, corrections)

    shown: dict[int, dict[str, Any]] = {}
    for hid in ids:
        response = client.get(f"/api/v1/households/{hid}/reports?page_size=100", headers=cadre)
        assert response.status_code == 200, response.text
        shown |= {r["id"]: r for r in response.json()["items"] if r["superseded_by"] is None}
    with db.session_scope() as session:
        panel = panel_read.load(session, household_ids=ids)
    derived = pn.income(panel)
    assert sorted(shown) == sorted(int(i) for i in panel.reports["id"])
    for row, report_id in enumerate(panel.reports["id"]):
        api = shown[int(report_id)]
        basis = api["income_basis"]
        figure = api["per_capita_net_income"]
        expected = (
            None if figure is None else cents(Decimal(figure)),
            basis["estimated"],
            cents(Decimal(basis["net_income"])),
            basis["household_size"],
        )
        engine = (
            cents(float(derived["pc"][row])),
            bool(derived["estimated"][row]),
            cents(float(derived["annual"][row])),
            int(derived["size"][row]),
        )
        assert engine == expected, (report_id, api)


def api_report(ref: str, start: date, end: date, amounts: dict[str, Decimal]) -> dict[str, Any]:
    body = report_body(
        ref,
        start.isoformat(),
        end.isoformat(),
        wages=str(amounts["wages"]),
        business=str(amounts["business"]),
        prop=str(amounts["property"]),
        transfer=str(amounts["transfer"]),
        cost=str(amounts["production_cost"]),
    )
    return body | {"insurance_payout": str(amounts["insurance_payout"])}


def batch(client: TestClient, cadre: dict[str, str], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post("/api/v1/reports/batch", json={"reports": items}, headers=cadre)
    assert response.status_code == 201, response.text
    stored: list[dict[str, Any]] = response.json()["items"]
    return stored


@pytest.mark.parametrize(
    "amounts",
    [
        ("0", "0", "0", "0", "0", "0"),
        ("0.00", "0", "0.00", "0", "0.00", "0.00"),
        ("1E+2", "0.5", "0", "12.30", "0", "112.80"),
        ("999999999999.99", "0.01", "0", "0", "0", "1000000000000"),
        ("0", "0", "0", "0", "0", "250.00"),
    ],
)
def test_a_report_s_net_is_the_rule_s_sum_to_the_last_digit(amounts: tuple[str, ...]) -> None:
    """report_net sums the rule's terms its own way: the same Decimal, written the same (trailing zeros,
    exponent, sign), as the rule's own sum — what the API shows is written from it."""
    values = dict(zip(rule.NET_INCOME_TERMS, (Decimal(a) for a in amounts), strict=True))
    assert str(report_net(SimpleNamespace(**values))) == str(rule.net_of(values))
