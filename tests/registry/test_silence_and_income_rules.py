"""Income and spending as the formula defines them, estimates that say so, and silence that is not
safety: each yuan counted once, 理赔 as transfer income, a partial year marked estimated, a household
nobody reports on flagged, listed and put on the village's list to visit."""

from datetime import date
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import db
from app.clock import local_today
from app.config import Settings, get_settings
from app.models import Visit
from app.risk import scorer
from app.risk.rules import evaluate
from app.schemas.policy import PolicyData
from app.services.lists import risk_list_generation, risk_lists
from app.services.platform.access import Actor
from tests.fixtures import VILLAGE_A, Accounts, new_household, report_body
from tests.risk.test_features import frame_for, submit
from tests.risk.test_rules import household, run

POLICY = PolicyData()


def codes(reasons: list[Any]) -> list[str]:
    return [r.code for r in reasons]


def test_an_events_loss_is_not_deducted_again_as_rigid_spending() -> None:
    # 9,000 a head, a 15,000 loss in the year: the lower income already carries it
    [reasons] = run(household(income_pc=9000.0, income_total=27000.0, event_loss=15000.0, event_kind=5.0))
    assert "rigid_spending" not in codes(reasons)
    assert "sudden_event" in codes(reasons)  # the event itself is still a (medium) signal
    [medical] = run(household(income_pc=9000.0, income_total=27000.0, oop_medical=2000.0))
    assert "rigid_spending" in codes(medical)  # compliant out-of-pocket spending is rigid spending


def test_insurance_payouts_count_as_transfer_income(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    hid = new_household(client, cadre)["id"]
    body = report_body("y2025", "2025-01-01", "2025-12-31", wages="20000", business="0", prop="0")
    stored = submit(client, cadre, hid, body | {"insurance_payout": "3000"})
    # (20,000 + 900 transfer + 3,000 payout − 500 cost) / 3
    assert stored["per_capita_net_income"] == "7800.00"
    assert frame_for(hid)["income_pc"] == 7800.0  # the scorer reads the same figure


def test_a_partial_year_is_an_estimate_and_the_rules_say_so(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    partial, whole = new_household(client, cadre)["id"], new_household(client, cadre)["id"]
    # one good quarter (flower harvest) of 7,500 for three: about 10,000 a head once scaled to a year
    none = {"business": "0", "prop": "0", "transfer": "0", "cost": "0"}
    submit(client, cadre, partial, report_body("q4", "2025-10-01", "2025-12-31", wages="7500", **none))
    submit(client, cadre, whole, report_body("y", "2025-01-01", "2025-12-31", wages="30000", **none))
    estimated, known = frame_for(partial), frame_for(whole)
    assert (estimated["income_pc"], known["income_pc"]) == (9918.48, 10000.0)
    assert estimated["income_covered_share"] < 0.3
    [partial_reasons, whole_reasons] = evaluate(
        {k: np.array([estimated[k], known[k]]) for k in estimated}, POLICY
    )
    flagged = next(r for r in partial_reasons if r.code == "income_estimated")
    assert flagged.level == "medium"
    assert "估算" in flagged.text
    assert "income_estimated" not in codes(whole_reasons)  # a whole year near the line passes
    [below] = run(household(income_pc=8000.0, income_total=24000.0, income_covered_share=0.25))
    assert "估算" in next(r for r in below if r.code == "income_below_line").text


def test_stale_rule_boundaries() -> None:
    never, five, seven = run(
        household(months_since_report=np.nan),
        household(months_since_report=6.0),
        household(months_since_report=6.1),
    )
    assert codes(never) == ["stale_report"]
    assert "stale_report" not in codes(five)
    assert codes(seven) == ["stale_report"]
    assert seven[0].level == "medium"
    [stricter] = run(household(months_since_report=4.0), policy=PolicyData(stale_report_months=3))
    assert codes(stricter) == ["stale_report"]


def test_months_since_report_is_measured_to_the_scoring_day(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    hid = new_household(client, cadre)["id"]
    submit(client, cadre, hid, report_body("q1", "2025-01-01", "2025-03-31"))
    submit(client, cadre, hid, report_body("q2", "2025-04-01", "2025-06-30"))
    assert frame_for(hid, as_of=date(2025, 7, 31))["months_since_report"] == 1.0
    assert frame_for(hid, as_of=date(2026, 6, 30))["months_since_report"] == 12.0  # not the 3-month gap


def test_a_silent_household_is_flagged_listed_and_put_on_the_village_visit_list(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    cadre = accounts["cadre_a"]
    silent = new_household(client, cadre)["id"]  # never reported
    old = new_household(client, cadre)["id"]  # last report more than six months ago
    recent = new_household(client, cadre)["id"]
    rich = {"wages": "90000", "business": "0", "prop": "0", "transfer": "0", "cost": "0"}
    submit(client, cadre, old, report_body("y", "2025-01-01", "2025-12-31", **rich))
    today = local_today()
    submit(client, cadre, recent, report_body("y", "2025-07-01", "2026-06-30", **rich))
    submit(client, cadre, recent, report_body("q", "2026-07-01", "2026-09-30", **rich))

    ran = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=today, triggered_by="test")
    levels = {r["household_id"]: r for r in _results(ran.id)}
    assert levels[silent]["level"] == "medium"
    assert levels[old]["level"] == "medium"
    assert "stale_report" in levels[old]["codes"]
    assert levels[recent]["level"] == "low"

    with db.session_scope() as session:
        week = risk_lists.week_of(today)
        risk_list_generation.generate(session, settings, Actor.system("test"), week, False)
    listed = client.get(
        f"/api/v1/risk-lists/{week}", headers=accounts["district"], params={"reason": "stale_report"}
    )
    assert listed.status_code == 200, listed.text
    assert {i["household_id"] for i in listed.json()["items"]} == {silent, old}

    due = client.get("/api/v1/visits/due", headers=cadre).json()
    assert [i["household_id"] for i in due["items"]] == [silent, old]  # never reported first
    assert due["items"][1]["last_report_end"] == "2025-12-31"
    assert due["items"][1]["months_since_report"] == 11
    assert due["stale_report_months"] == 6
    assert client.get("/api/v1/visits/due", headers=accounts["cadre_b"]).json()["total"] == 0
    assert client.get("/api/v1/visits/due", headers=accounts["township_1"]).json()["total"] == 2
    assert client.get("/api/v1/visits/due", headers=accounts["admin"]).status_code == 403
    # a report sent now takes the household off the list at once
    submit(client, cadre, old, report_body("q3", "2026-07-01", "2026-09-30", **rich))
    assert [i["household_id"] for i in client.get("/api/v1/visits/due", headers=cadre).json()["items"]] == [
        silent
    ]


def _results(run_id: int) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from app.models import RiskResult

    with db.session_scope() as session:
        rows = session.execute(
            select(RiskResult.household_id, RiskResult.level, RiskResult.reasons).where(
                RiskResult.run_id == run_id
            )
        ).all()
    return [
        {"household_id": h, "level": lvl, "codes": [r["code"] for r in reasons]} for h, lvl, reasons in rows
    ]


def test_a_household_nobody_lives_in_is_not_stale_and_one_quarter_below_the_line_is_not_high() -> None:
    [empty] = run(household(months_since_report=np.nan, active_members=0.0))
    assert "stale_report" not in codes(empty)
    thin, whole = run(
        household(income_pc=8000.0, income_total=24000.0, income_covered_share=0.25),
        household(income_pc=8000.0, income_total=24000.0, income_covered_share=1.0),
    )
    assert next(r for r in thin if r.code == "income_below_line").level == "medium"  # verify first
    assert next(r for r in whole if r.code == "income_below_line").level == "high"


def test_a_visit_within_the_policys_months_keeps_a_silent_household_off_the_stale_rule() -> None:
    never, recent, long_ago, old_report = run(
        household(months_since_report=np.nan, months_since_visit=np.nan),
        household(months_since_report=np.nan, months_since_visit=2.0),
        household(months_since_report=np.nan, months_since_visit=6.1),
        household(months_since_report=11.0, months_since_visit=1.0),
    )
    assert codes(never) == ["stale_report"]
    assert "stale_report" not in codes(recent) + codes(old_report)  # a visit is a look at the household
    assert codes(long_ago) == ["stale_report"]
    assert long_ago[0].text == "尚无收入报告，最近一次走访已过 6 个月，需入户走访核实"


def test_scoring_reads_the_visits_as_the_visit_list_does(
    client: TestClient, accounts: Accounts, session: Session
) -> None:
    cadre = accounts["cadre_a"]
    visited, long_ago = new_household(client, cadre)["id"], new_household(client, cadre)["id"]
    for hid, day in ((visited, date(2026, 11, 20)), (long_ago, date(2026, 3, 10))):
        session.add(
            Visit(
                household_id=hid,
                village_code=VILLAGE_A,
                visited_on=day,
                kind="routine",
                visitors=["李文"],
                client_ref=f"v{hid}",
                body_hash="0" * 64,
            )
        )
    session.commit()
    today = local_today()
    assert frame_for(visited, as_of=today)["months_since_visit"] == 0.4
    assert np.isnan(frame_for(visited, as_of=date(2026, 11, 19))["months_since_visit"])  # not yet made
    ran = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=today, triggered_by="test")
    levels = {r["household_id"]: r for r in _results(ran.id)}
    assert "stale_report" not in levels[visited]["codes"]
    assert "stale_report" in levels[long_ago]["codes"]
    due = client.get("/api/v1/visits/due", headers=cadre).json()
    assert [i["household_id"] for i in due["items"]] == [long_ago]
