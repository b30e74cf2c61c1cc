"""The scorer judged by the verifiers: of the households it flagged whose cases were decided, how many
were confirmed, served at GET /api/v1/risk/verification for the district."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import db
from app.clock import local_today
from app.config import Settings
from app.models import RiskResult, RiskRun
from app.models.base import utcnow
from app.services.cases import cases
from app.services.scoring.verification import wilson
from tests.fixtures import (
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    decide_case,
    new_household,
    report_body,
)

URL = "/api/v1/risk/verification"
RULE = {"high": "income_below_line", "medium": "sharp_income_drop"}
PROBABILITY = {"high": 0.7, "medium": 0.3, None: 0.05}  # the policy's cut-offs are 0.50 and 0.20


def household(client: TestClient, accounts: Accounts, village: str) -> int:
    """A 脱贫户 of three at 7,000 a head in 2025."""
    cadre = accounts[{VILLAGE_A: "cadre_a", VILLAGE_B: "cadre_b", VILLAGE_C: "cadre_c"}[village]]
    hid = int(new_household(client, cadre, village=village)["id"])
    body = report_body(
        "2025", "2025-01-01", "2025-12-31", wages="21000", business="0", prop="0", transfer="0", cost="0"
    )
    assert client.post(f"/api/v1/households/{hid}/reports", json=body, headers=cadre).status_code == 201
    return hid


def completed_run(champion: str | None, levels: dict[int, str | None]) -> int:
    """A completed run with these levels, scored by `champion` (None: the rules alone, no champion). A
    learned or baseline champion alone flags: its warning, and a probability on the right side of the
    policy's cut-offs. Otherwise a rule's reason says each level (a rules champion only ranks: a
    probability, no flag of its own)."""
    flags_alone = champion not in (None, "rules")
    with db.session_scope() as session:
        run = RiskRun(
            status="completed",
            as_of=local_today(),
            mode="rules" if champion is None else "model" if champion == "model" else "baseline",
            policy_version=1,
            model_version=None if champion is None else "7",
            champion=champion,
            triggered_by="test",
            finished_at=utcnow(),
        )
        session.add(run)
        session.flush()
        for hid, level in levels.items():
            code = ("model_warning" if flags_alone else RULE[level]) if level else None
            reasons = [{"code": code, "risk_type": "其他", "level": level, "text": "…"}] if code else []
            session.add(
                RiskResult(
                    run_id=run.id,
                    household_id=hid,
                    level=level or "low",
                    score=None if champion is None else PROBABILITY[level],
                    reasons=reasons,
                    reason_codes="|" + (f"{code}|" if code else ""),
                )
            )
        return run.id


@pytest.mark.parametrize(
    ("champion", "source", "other"),
    [
        (None, "rules", "model"),
        ("model", "model", "rules"),
        ("distance_to_line", "model", "rules"),  # a baseline champion flags by the cut-offs too
        ("rules", "rules", "model"),  # a rules champion's probability is no flag of its own
    ],
)
def test_precision_against_the_verifiers_is_right_for_a_constructed_district(
    champion: str | None, source: str, other: str, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    """Five flagged households: three confirmed, one rejected, one withdrawn; and one the scorer did not
    flag, found by a cadre and confirmed. Precision is 3 of 4: the withdrawal is no decision, the miss is
    no flag."""
    h = {
        "confirmed_1": household(client, accounts, VILLAGE_A),
        "confirmed_2": household(client, accounts, VILLAGE_A),
        "confirmed_medium": household(client, accounts, VILLAGE_B),
        "rejected": household(client, accounts, VILLAGE_C),
        "withdrawn": household(client, accounts, VILLAGE_C),
        "missed": household(client, accounts, VILLAGE_A),
    }
    levels: dict[str, str | None] = {
        "confirmed_1": "high",
        "confirmed_2": "high",
        "confirmed_medium": "medium",
        "rejected": "high",
        "withdrawn": "high",
        "missed": None,
    }
    run_id = completed_run(champion, {h[k]: level for k, level in levels.items()})
    # the run's high flags open cases; a medium flag does not (policy), a cadre reports that household
    assert cases.open_for_run(db.get_sessionmaker(), settings, run_id) == {"opened": 4}
    for key, cadre in (("confirmed_medium", "cadre_b"), ("missed", "cadre_a")):
        body = {"household_id": h[key], "description": "户主务工收入中断"}
        assert client.post("/api/v1/cases", json=body, headers=accounts[cadre]).status_code == 201
    case_of = {
        c["household_id"]: c["id"]
        for c in client.get("/api/v1/cases?page_size=50", headers=accounts["district"]).json()["items"]
    }
    for key, outcome, village in (
        ("confirmed_1", "confirmed", VILLAGE_A),
        ("confirmed_2", "confirmed", VILLAGE_A),
        ("confirmed_medium", "confirmed", VILLAGE_B),
        ("rejected", "rejected", VILLAGE_C),
        ("withdrawn", "withdrawn", VILLAGE_C),
        ("missed", "confirmed", VILLAGE_A),
    ):
        decide_case(client, accounts, case_of[h[key]], outcome, village)

    response = client.get(URL, headers=accounts["district"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["decided"], body["confirmed"], body["rejected"]) == (5, 4, 1)
    assert (body["unflagged_decided"], body["unflagged_confirmed"]) == (1, 1)
    sources = {s["source"]: s for s in body["sources"]}
    low, high = wilson(3, 4) or (0.0, 0.0)
    assert (round(low, 4), round(high, 4)) == (0.3006, 0.9544)  # Wilson 95 % for 3 of 4
    for name in ("scorer", source):
        flagged = sources[name]
        assert (flagged["decided"], flagged["confirmed"], flagged["precision"]) == (4, 3, 0.75)
        assert (flagged["ci_low"], flagged["ci_high"]) == (0.3006, 0.9544)
        by_level = {row["level"]: row for row in flagged["by_level"]}
        assert (by_level["high"]["decided"], by_level["high"]["confirmed"]) == (3, 2)
        assert (by_level["medium"]["decided"], by_level["medium"]["confirmed"]) == (1, 1)
        by_township = {row["township_code"]: row for row in flagged["by_township"]}
        assert sorted(by_township) == [TOWNSHIP_2, TOWNSHIP_1]
        assert (by_township[TOWNSHIP_1]["decided"], by_township[TOWNSHIP_1]["precision"]) == (3, 1.0)
        assert (by_township[TOWNSHIP_2]["decided"], by_township[TOWNSHIP_2]["precision"]) == (1, 0.0)
        assert by_township[TOWNSHIP_1]["township_name"] == "洛河彝族乡"
    # the source that was not in use flagged nothing: no figure rather than a made-up one
    assert (sources[other]["decided"], sources[other]["precision"], sources[other]["ci_low"]) == (
        0,
        None,
        None,
    )


def test_only_the_district_and_admins_read_it_and_dates_are_checked(
    client: TestClient, accounts: Accounts
) -> None:
    assert client.get(URL, headers=accounts["admin"]).status_code == 200
    for role in ("township_1", "cadre_a", "department"):
        refused = client.get(URL, headers=accounts[role])
        assert refused.status_code == 403, role
    assert client.get(URL).status_code == 401
    reversed_window = client.get(
        URL, params={"decided_from": "2026-11-01", "decided_to": "2026-10-01"}, headers=accounts["district"]
    )
    assert (reversed_window.status_code, reversed_window.json()["field"]) == (422, "decided_from")
    not_a_date = client.get(URL, params={"decided_to": "yesterday"}, headers=accounts["district"])
    assert (not_a_date.status_code, not_a_date.json()["field"]) == (422, "decided_to")
    empty = client.get(URL, headers=accounts["district"]).json()
    assert empty["decided"] == 0
    assert all(s["precision"] is None for s in empty["sources"])


def test_the_decision_window_counts_decisions_made_within_it(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    hid = household(client, accounts, VILLAGE_A)
    run_id = completed_run(None, {hid: "high"})
    cases.open_for_run(db.get_sessionmaker(), settings, run_id)
    [case] = client.get("/api/v1/cases", headers=accounts["district"]).json()["items"]
    decide_case(client, accounts, case["id"], "rejected")
    today = local_today().isoformat()

    def decided(**params: Any) -> int:
        body = client.get(URL, params=params, headers=accounts["district"]).json()
        return int(body["sources"][0]["decided"])

    assert decided(decided_from=today, decided_to=today) == 1
    assert decided(decided_to="2026-11-30") == 0
