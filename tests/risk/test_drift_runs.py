"""Drift recorded by scoring runs and served as a report: a township whose incomes halve is flagged and
its income features named; an unchanged district re-scored flags nothing; training's window becomes
the reference; only the district's officers and admins read the report."""

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app import db
from app.clock import local_today
from app.config import Settings, get_settings
from app.demo import district as demo
from app.models import Household, Report, RiskProfile
from app.risk import drift, scorer, training
from tests.fixtures import TOWNSHIP_1, TOWNSHIP_2, VILLAGE_A, VILLAGE_C, Accounts

URL = "/api/v1/risk/drift"
INCOME_FEATURES = {"income_pc", "line_ratio", "latest_quarter_ratio"}
HALVED = ("wages", "business", "property", "transfer", "production_cost")


@pytest.fixture
def two_townships(settings: Settings) -> None:
    """500 generated households with two years of quarterly reports, half in each of two townships."""
    with db.session_scope() as session:
        demo.generate(
            session, settings, households=500, seed=5, quarter_count=8, villages=[VILLAGE_A, VILLAGE_C]
        )


def score() -> int:
    return scorer.score_all(
        db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test"
    ).id


def halve_incomes(village: str) -> None:
    """Every report of the village's households at half its income (and half its production cost)."""
    with db.session_scope() as session:
        households = select(Household.id).where(Household.village_code == village)
        session.execute(
            update(Report)
            .where(Report.household_id.in_(households))
            .values({name: getattr(Report, name) / 2 for name in HALVED})
        )


def township(body: dict[str, Any], code: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in body["townships"] if t["township_code"] == code)
    return found


def test_incomes_halved_in_one_township_are_flagged_there_and_named(
    two_townships: None, client: TestClient, accounts: Accounts
) -> None:
    first = score()
    halve_incomes(VILLAGE_C)
    second = score()
    body = client.get(URL, headers=accounts["district"]).json()
    assert (body["run_id"], body["reference"]["kind"], body["reference"]["run_id"]) == (
        second,
        "first_run",
        first,
    )
    assert "first completed run" in body["reference"]["note"]
    shifted, unchanged = township(body, TOWNSHIP_2), township(body, TOWNSHIP_1)
    assert shifted["status"] == "drift"
    assert INCOME_FEATURES <= set(shifted["drifted"])
    assert {f"{TOWNSHIP_2}:{name}" for name in INCOME_FEATURES} <= set(body["drifted"])
    income = next(f for f in shifted["features"] if f["name"] == "income_pc")
    assert (income["label"], income["status"]) == ("人均纯收入", "drift")
    assert income["psi"] > 0.2
    # the other township's households did not change: nothing moved there
    assert (unchanged["status"], unchanged["drifted"]) == ("stable", [])
    assert all(f["psi"] == 0 for f in unchanged["features"])
    assert shifted["township_name"]
    assert shifted["households"] == 250


def test_an_unchanged_district_rescored_flags_nothing(
    two_townships: None, client: TestClient, accounts: Accounts
) -> None:
    first = score()
    alone = client.get(URL, headers=accounts["admin"]).json()
    assert (alone["run_id"], alone["reference"]["kind"]) == (first, "self")
    score()
    body = client.get(URL, headers=accounts["district"]).json()
    assert body["drifted"] == []
    for scope in (body["district"], *body["townships"]):
        assert scope["status"] == "stable"
        assert all(f["status"] == "stable" for f in scope["features"])
    # months since the last report is a profiled input, measured to the scoring day
    stale = next(f for f in body["district"]["features"] if f["name"] == "months_since_report")
    assert stale["missing_share"] == 0
    assert client.get(URL, params={"run_id": first}, headers=accounts["district"]).json()["run_id"] == first


def test_a_run_over_an_empty_district_is_no_reference(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    score()  # the first night, before any household is registered
    with db.session_scope() as session:
        demo.generate(session, settings, households=60, seed=7, quarter_count=8, villages=[VILLAGE_A])
    first = score()
    assert client.get(URL, headers=accounts["district"]).json()["reference"]["kind"] == "self"
    score()
    reference = client.get(URL, headers=accounts["district"]).json()["reference"]
    assert (reference["kind"], reference["run_id"]) == ("first_run", first)


def test_a_run_counted_in_small_chunks_records_the_same_profile(
    two_townships: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    score()  # the reference, whose cuts the next runs count on
    whole = score()
    monkeypatch.setattr(scorer, "CHUNK", 37)
    chunked = score()
    with db.session_scope() as session:
        profiles = {
            p.run_id: p.data
            for p in session.scalars(select(RiskProfile).where(RiskProfile.run_id.in_([whole, chunked])))
        }
    assert profiles[whole] == profiles[chunked]
    assert drift.from_json(profiles[whole]).households().sum() == 500


def test_training_stores_the_reference_of_the_runs_after_it(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    with db.session_scope() as session:
        demo.generate(session, settings, households=700, seed=21, quarter_count=12)
    outcome = training.train(db.get_sessionmaker(), settings, triggered_by="test")
    run = score()
    body = client.get(URL, headers=accounts["district"]).json()
    assert body["run_id"] == run
    reference = body["reference"]
    assert (reference["kind"], reference["model_id"]) == ("training", outcome.model.id)
    assert reference["window_from"] < reference["window_to"] < local_today().isoformat()
    assert body["district"]["reference_count"] > body["district"]["households"]  # household-periods
    assert body["district"]["score"]["psi"] is not None  # both sides scored by the model


@pytest.mark.parametrize("who", ["cadre_a", "township_1", "department"])
def test_only_district_officers_and_admins_read_the_report(
    two_townships: None, client: TestClient, accounts: Accounts, who: str
) -> None:
    score()
    refused = client.get(URL, headers=accounts[who])
    assert refused.status_code == 403
    assert "drift report" in refused.json()["message"]


def test_a_missing_or_unscored_run_is_a_clear_404(client: TestClient, accounts: Accounts) -> None:
    none_yet = client.get(URL, headers=accounts["district"])
    assert (none_yet.status_code, none_yet.json()["field"]) == (404, "run_id")
    assert client.get(URL, params={"run_id": 999}, headers=accounts["district"]).status_code == 404
    bad = client.get(URL, params={"run_id": "x"}, headers=accounts["district"])
    assert (bad.status_code, bad.json()["field"]) == (422, "run_id")


def test_the_policy_sets_the_thresholds(client: TestClient, accounts: Accounts) -> None:
    policy = client.get("/api/v1/policy", headers=accounts["admin"]).json()["data"]
    assert (policy["drift_watch_psi"], policy["drift_psi"], policy["drift_min_households"]) == (
        "0.10",
        "0.20",
        200,
    )
    assert {"drift_watch_psi", "drift_psi", "drift_min_households"} <= set(policy["unverified"])
    crossed = client.put(
        "/api/v1/policy", json={"version": 1, "drift_psi": "0.05"}, headers=accounts["admin"]
    )
    assert crossed.status_code == 422
    assert "drift_watch_psi must be below drift_psi" in crossed.text
    changed = client.put(
        "/api/v1/policy",
        json={"version": 1, "drift_psi": "0.3", "drift_watch_psi": "0.15"},
        headers=accounts["admin"],
    )
    assert changed.status_code == 201, changed.text
    assert Decimal(changed.json()["data"]["drift_psi"]) == Decimal("0.3")


@pytest.fixture
def trained(settings: Settings) -> None:
    """1,000 generated households over two townships with three years of quarterly reports, and a
    champion trained on them: the runs' reference is the training window."""
    with db.session_scope() as session:
        demo.generate(
            session, settings, households=1000, seed=8, quarter_count=12, villages=[VILLAGE_A, VILLAGE_C]
        )
    training.train(db.get_sessionmaker(), settings, triggered_by="test")


def test_against_the_training_window_an_unchanged_district_flags_nothing(
    trained: None, client: TestClient, accounts: Accounts
) -> None:
    score()
    score()
    body = client.get(URL, headers=accounts["district"]).json()
    assert body["reference"]["kind"] == "training"
    assert body["drifted"] == []
    # training measures each example on its report's end: a report's age is shown, never compared there
    stale = next(f for f in body["district"]["features"] if f["name"] == "months_since_report")
    assert (stale["status"], stale["psi"]) == ("not_comparable", None)


def test_against_the_training_window_incomes_halved_in_one_township_are_flagged_there(
    trained: None, client: TestClient, accounts: Accounts
) -> None:
    halve_incomes(VILLAGE_C)
    score()
    body = client.get(URL, headers=accounts["district"]).json()
    assert body["reference"]["kind"] == "training"
    shifted, unchanged = township(body, TOWNSHIP_2), township(body, TOWNSHIP_1)
    assert INCOME_FEATURES <= set(shifted["drifted"])
    assert unchanged["drifted"] == []
