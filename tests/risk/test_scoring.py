"""Scoring runs: every household scored by the rules, results current only once a run completes,
one run at a time, the policy version recorded."""

import gc
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app import collector, db
from app.cli import main
from app.config import get_settings
from app.models import RiskResult, RiskRun
from app.models.base import utcnow
from app.risk import rules, scorer
from app.services.platform import leases
from tests.conftest import IS_POSTGRES
from tests.fixtures import Accounts, new_household, report_body

AS_OF = date(2026, 1, 15)


@pytest.fixture
def district(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    """One poor household (7,000 a head in 2025), one comfortable one (20,000 a head)."""
    cadre = accounts["cadre_a"]
    poor, rich = new_household(client, cadre), new_household(client, cadre)
    for household, per_head in ((poor, 7000), (rich, 20000)):
        body = report_body(
            "2025",
            "2025-01-01",
            "2025-12-31",
            wages=str(per_head * 3),
            business="0",
            prop="0",
            transfer="0",
            cost="0",
        )
        response = client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre)
        assert response.status_code == 201
    return {"poor": poor["id"], "rich": rich["id"]}


def results(run_id: int) -> dict[int, RiskResult]:
    with db.session_scope() as session:
        return {
            r.household_id: r for r in session.scalars(select(RiskResult).where(RiskResult.run_id == run_id))
        }


def test_a_run_scores_every_household_with_reasons(district: dict[str, Any]) -> None:
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert (run.status, run.mode, run.policy_version) == ("completed", "rules", 1)
    assert (run.households_scored, run.flagged_high) == (2, 1)
    scored = results(run.id)
    assert scored[district["poor"]].level == "high"
    assert scored[district["poor"]].reasons[0]["text"] == "人均纯收入 7,000 元 < 监测线 8,700 元"
    assert scored[district["rich"]].level == "low"
    assert scored[district["rich"]].reasons == []


def test_changing_the_line_changes_the_next_run(
    district: dict[str, Any], client: TestClient, accounts: Accounts
) -> None:
    first = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    policy = client.get("/api/v1/policy", headers=accounts["admin"]).json()
    data = policy["data"]
    data["monitoring_lines"] = [
        {**line, "amount": "6500"} if line["year"] == 2025 else line for line in data["monitoring_lines"]
    ]
    assert (
        client.put("/api/v1/policy", json=data | {"version": 1}, headers=accounts["admin"]).status_code == 201
    )
    second = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert (first.policy_version, second.policy_version) == (1, 2)
    assert results(first.id)[district["poor"]].level == "high"
    assert results(second.id)[district["poor"]].level == "low"


def test_a_run_that_fails_half_way_leaves_the_previous_results_current(
    district: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    monkeypatch.setattr(scorer, "CHUNK", 1)
    calls = {"n": 0}
    original = rules.evaluate

    def dies_on_the_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(rules, "evaluate", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    with db.session_scope() as session:
        current = scorer.current_run(session)
        assert current is not None
        assert current.id == good.id
        failed = session.scalars(select(RiskRun).where(RiskRun.status == "failed")).one()
        assert "killed" in (failed.error or "")
        assert session.scalar(select(func.count()).where(RiskResult.run_id == failed.id)) == 0
    monkeypatch.setattr(rules, "evaluate", original)
    assert (
        scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test").status
        == "completed"
    )


def test_a_run_collects_the_young_generation_less_often_then_gives_the_setting_back(
    district: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoever runs it (the worker, `shouwang risk run`): 6 % of a 50k run was the collector's."""
    during: list[tuple[int, int, int]] = []
    write_results = scorer.write_results

    def writing(*args: Any) -> None:
        during.append(gc.get_threshold())
        write_results(*args)

    monkeypatch.setattr(scorer, "write_results", writing)
    before = gc.get_threshold()
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert during
    assert set(during) == {(collector.YOUNG_THRESHOLD, *collector.OLDER_THRESHOLDS)} != {before}
    assert gc.get_threshold() == before


def test_one_run_at_a_time(district: dict[str, Any]) -> None:
    assert leases.acquire(db.get_sessionmaker(), scorer.LEASE, "someone-else", timedelta(minutes=5))
    with pytest.raises(scorer.AlreadyRunning):
        scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    result = CliRunner().invoke(main, ["risk", "run"])
    assert result.exit_code == 3
    assert "in progress" in result.output


def test_an_expired_lease_is_taken_over_and_the_dead_run_marked(district: dict[str, Any]) -> None:
    with db.session_scope() as session:
        session.add(
            RiskRun(as_of=AS_OF, mode="rules", policy_version=1, triggered_by="dead", status="running")
        )
    assert leases.acquire(db.get_sessionmaker(), scorer.LEASE, "dead-process", timedelta(seconds=-1))
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert run.status == "completed"
    with db.session_scope() as session:
        dead = session.scalars(select(RiskRun).where(RiskRun.triggered_by == "dead")).one()
        assert (dead.status, dead.error) == ("failed", "abandoned")
        assert utcnow() > dead.started_at


def test_cli_run_prints_the_summary(district: dict[str, Any]) -> None:
    result = CliRunner().invoke(main, ["risk", "run", "--as-of", "2026-01-15"])
    assert result.exit_code == 0, result.output
    assert "2 households, 1 high" in result.output


class TestApi:
    def test_admin_requests_a_run_and_the_worker_runs_it(
        self, district: dict[str, Any], client: TestClient, accounts: Accounts
    ) -> None:
        from app.worker import jobs

        response = client.post("/api/v1/risk/runs", json={"as_of": "2026-01-15"}, headers=accounts["admin"])
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "requested"
        again = client.post("/api/v1/risk/runs", json={}, headers=accounts["admin"])
        assert again.json()["id"] == response.json()["id"]
        assert client.post("/api/v1/risk/runs", json={}, headers=accounts["district"]).status_code == 403

        jobs.requested_scoring()
        run = client.get(f"/api/v1/risk/runs/{response.json()['id']}", headers=accounts["district"]).json()
        assert (run["status"], run["households_scored"], run["flagged_high"]) == ("completed", 2, 1)
        listed = client.get("/api/v1/risk/runs", headers=accounts["district"]).json()
        assert listed["total"] == 1
        assert client.get("/api/v1/risk/runs", headers=accounts["cadre_a"]).status_code == 403

    def test_household_risk_and_list_filters(
        self, district: dict[str, Any], client: TestClient, accounts: Accounts
    ) -> None:
        url = f"/api/v1/households/{district['poor']}/risk"
        assert client.get(url, headers=accounts["cadre_a"]).status_code == 404  # not scored yet
        scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
        risk = client.get(url, headers=accounts["cadre_a"]).json()
        assert risk["level"] == "high"
        assert risk["score"] is None
        assert risk["reasons"][0]["feature"] == "income_pc"
        assert risk["reasons"][0]["value"] == 7000
        assert client.get(url, headers=accounts["cadre_b"]).status_code == 404
        high = client.get(
            "/api/v1/households", params={"risk_level": "high"}, headers=accounts["district"]
        ).json()
        assert [h["id"] for h in high["items"]] == [district["poor"]]
        low = client.get(
            "/api/v1/households", params={"risk_level": "low"}, headers=accounts["district"]
        ).json()
        assert [h["id"] for h in low["items"]] == [district["rich"]]
        by_reason = client.get(
            "/api/v1/households", params={"reason": "income_below_line"}, headers=accounts["district"]
        ).json()
        assert [h["id"] for h in by_reason["items"]] == [district["poor"]]
        bad = client.get("/api/v1/households", params={"reason": "x%"}, headers=accounts["district"])
        assert bad.status_code == 422


def test_worker_schedules_nightly_and_request_jobs(settings: Any) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from app.worker.schedule import add_jobs

    scheduler = BackgroundScheduler(timezone=settings.timezone)
    add_jobs(scheduler, settings)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "nightly_scoring",
        "requested_scoring",
        "requested_training",
        "scheduled_training",
        "case_escalation",
        "webhook_delivery",
        "weekly_risk_list",
        "risk_list_catch_up",
        "relief_delivery",
        "cluster_alerts",
        "imports",
    }
    assert jobs["nightly_scoring"].max_instances == 1
    assert "interval[0:00:05]" in str(jobs["imports"].trigger)  # an upload is picked up within seconds
    assert "hour='2'" in str(jobs["nightly_scoring"].trigger)
    assert "day_of_week='sun'" in str(jobs["scheduled_training"].trigger)


def test_a_household_with_no_income_does_not_break_the_run(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    flood = {"kind": "natural_disaster", "disaster_type": "洪涝", "occurred_on": "2025-06-01", "loss": "100"}
    body = report_body(
        "loss",
        "2025-01-01",
        "2025-12-31",
        wages="0",
        business="0",
        prop="0",
        transfer="0",
        cost="500",
        spending={"medical": "100", "education": "0"},
        events=[flood],
    )
    assert (
        client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre).status_code
        == 201
    )
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert run.status == "completed"
    risk = client.get(f"/api/v1/households/{household['id']}/risk", headers=cadre).json()
    assert risk["level"] == "high"
    assert any(r["code"] == "sudden_event" and r["value"] is None for r in risk["reasons"])


@pytest.mark.skipif(not IS_POSTGRES, reason="reads beside the scoring are PostgreSQL's")
@pytest.mark.parametrize(("pool_size", "reader_threads"), [(2, 0), (3, 1), (8, 2)])
def test_a_run_reads_ahead_only_on_connections_its_pool_can_spare(
    district: dict[str, Any], monkeypatch: pytest.MonkeyPatch, pool_size: int, reader_threads: int
) -> None:
    """A run holds one connection and renews its lease on another: the chunks read ahead use what the
    pool has left (a pool of 2 reads them in turn), and every household is scored either way."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from app.risk import panel_read

    read_by: set[str] = set()
    real_load = panel_read.load
    readers: list[int | None] = []

    def load(*args: Any, **kwargs: Any) -> Any:
        read_by.add(threading.current_thread().name)
        return real_load(*args, **kwargs)

    class Readers(ThreadPoolExecutor):
        def __init__(self, max_workers: int | None = None, **kwargs: Any) -> None:
            readers.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(panel_read, "load", load)
    monkeypatch.setattr(scorer, "ThreadPoolExecutor", Readers)
    monkeypatch.setattr(scorer, "CHUNK", 1)  # a chunk per household: two chunks
    engine = db.make_engine(get_settings().database_url, pool_size=pool_size)
    try:
        run = scorer.score_all(db.sessions_for(engine), get_settings(), as_of=AS_OF, triggered_by="test")
    finally:
        engine.dispose()
    assert (run.status, run.households_scored, run.flagged_high) == ("completed", 2, 1)
    assert readers == ([reader_threads] if reader_threads else [])
    # read in turn: on the run's own thread (and connection), never on a reader's
    assert (read_by == {threading.current_thread().name}) == (reader_threads == 0)


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL's planner statistics")
def test_a_run_its_cases_and_the_weekly_list_leave_fresh_planner_statistics(district: dict[str, Any]) -> None:
    """Autovacuum off (or late, as it is right after a bulk write): the weekly list read the run's rows
    on a plan made for an empty result table, and took 536 s instead of 6 s on 200,000 households."""
    from app.services.cases import cases
    from app.worker import jobs

    with db.session_scope() as session:
        session.execute(text("SELECT pg_stat_reset()"))
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert analyzed() == {"risk_result"}
    assert cases.open_for_run(db.get_sessionmaker(), get_settings(), run.id) == {"opened": 1}
    assert analyzed() >= {"risk_result", "case_signal", "case_file", "case_event", "notification"}
    jobs.weekly_risk_list()
    assert "risk_list_entry" in analyzed()
    with db.session_scope() as session:
        known = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'risk_result'"))
    assert known == 2  # the planner counts the run's two rows


def analyzed() -> set[str]:
    with db.session_scope() as session:
        return set(
            session.scalars(text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"))
        )


def test_results_are_stored_as_given_whatever_their_texts_hold(
    district: dict[str, Any], client: TestClient, accounts: Accounts
) -> None:
    """The scorer writes most rows as whole lines of COPY text on PostgreSQL: a reason's text with a tab,
    a backslash, a line break or quotes, and a factor's, must come back exactly as given."""
    tricky = 'tab\there, back\\slash, line\nbreak, "quoted" — 人均纯收入 7,000 元'
    reason = rules.Reason("income_below_line", "其他", "high", "income_pc", 7000.0, tricky)
    factor = {"feature": "income_pc", "text": tricky, "value": -0.25}
    third = new_household(client, accounts["cadre_a"])["id"]
    fourth = new_household(client, accounts["cadre_a"])["id"]
    with db.session_scope() as session:
        run = RiskRun(as_of=AS_OF, mode="model", policy_version=1, triggered_by="test")
        session.add(run)
        session.flush()
        scorer.write_results(
            session,
            run.id,
            [district["poor"], district["rich"], third, fourth],
            ["high", "low", "low", "medium"],
            [0.9312, None, 0.0417, 0.5],
            [[reason], [], [], []],
            [[factor], None, None, [factor]],
        )
        run_id = run.id
    stored = results(run_id)
    poor, rich = stored[district["poor"]], stored[district["rich"]]
    # a score and nothing else (the whole-line path), and factors without reasons
    assert (stored[third].score, stored[third].reasons, stored[third].factors) == (0.0417, [], None)
    assert (stored[fourth].level, stored[fourth].reasons, stored[fourth].factors) == ("medium", [], [factor])
    assert (poor.level, poor.score, poor.reason_codes) == ("high", 0.9312, "|income_below_line|")
    assert [r["text"] for r in poor.reasons] == [tricky]
    assert poor.reasons[0]["value"] == 7000.0
    assert poor.factors == [factor]
    assert (rich.level, rich.score, rich.reasons, rich.reason_codes, rich.factors) == (
        "low",
        None,
        [],
        "|",
        None,
    )
