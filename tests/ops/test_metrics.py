"""GET /metrics: what the engineer on call scrapes — requests by route, the pool, scoring runs, outbox
backlogs and dead letters, overdue steps and the age of the last run and list — behind its own token."""

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app import db
from app.config import Settings, get_settings
from app.main import create_app
from app.risk import scorer
from app.services.platform import outbox
from app.worker import jobs
from tests.fixtures import TOWNSHIP_1, Accounts
from tests.platform.test_webhooks import SECRET, Receiver, open_case, receiver  # noqa: F401 - the fixture

TOKEN = "m" * 40
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def metered(settings: Settings, clean_db: None) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(TOKEN)}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format (None: not exposed)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[2] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match[3])
    return None


def test_metrics_need_their_token_and_are_off_without_one(metered: TestClient, client: TestClient) -> None:
    assert metered.get("/metrics").status_code == 401
    assert metered.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40}).status_code == 401
    assert metered.get("/metrics", headers=SCRAPE).status_code == 200
    assert client.get("/metrics", headers=SCRAPE).status_code == 404  # no token configured: off


def test_a_request_is_counted_by_its_route_template(metered: TestClient, accounts: Accounts) -> None:
    accounts.client = metered
    headers = accounts["district"]
    assert metered.get("/api/v1/households/987654", headers=headers).status_code == 404
    assert metered.get("/static/core.js").status_code == 200
    assert metered.get("/no/such/page").status_code == 404
    text = metered.get("/metrics", headers=SCRAPE).text
    route = "/api/v1/households/{household_id}"
    assert sample(text, "shouwang_http_requests_total", method="GET", route=route, status="404") == 1
    assert sample(text, "shouwang_http_request_duration_seconds_count", method="GET", route=route) == 1
    assert "987654" not in text  # the path a client typed is never a label
    assert sample(text, "shouwang_http_requests_total", route="/static/{path}", status="200") == 1
    assert sample(text, "shouwang_http_requests_total", route="unmatched", status="404") == 1
    assert "/no/such/page" not in text
    assert sample(text, "shouwang_db_pool_connections", state="size") is not None
    assert sample(text, "shouwang_database_up") == 1


def test_a_scoring_run_shows_its_households_flags_mode_and_age(
    metered: TestClient, poor: int, settings: Settings
) -> None:
    before = metered.get("/metrics", headers=SCRAPE).text
    assert sample(before, "shouwang_risk_last_run_households") is None  # no run yet
    run = scorer.score_all(
        db.get_sessionmaker(), get_settings(), as_of=date(2026, 12, 1), triggered_by="tests"
    )
    text = metered.get("/metrics", headers=SCRAPE).text
    assert sample(text, "shouwang_risk_last_run_households") == 1
    assert sample(text, "shouwang_risk_last_run_flagged", level="high") == run.flagged_high == 1
    assert sample(text, "shouwang_risk_last_run_info", mode="rules", champion="none") == 1
    assert sample(text, "shouwang_risk_runs", status="completed") == 1
    age = sample(text, "shouwang_risk_last_run_age_seconds")
    assert age is not None
    assert 0 <= age < 60
    duration = sample(text, "shouwang_risk_last_run_duration_seconds")
    assert duration is not None
    assert duration >= 0
    assert sample(text, "shouwang_risk_list_last_age_seconds") is None  # no weekly list yet
    jobs.weekly_risk_list()
    text = metered.get("/metrics", headers=SCRAPE).text
    list_age = sample(text, "shouwang_risk_list_last_age_seconds")
    assert list_age is not None
    assert 0 <= list_age < 60


def test_a_failed_delivery_shows_in_the_backlog_then_as_a_dead_letter(
    metered: TestClient,
    receiver: Receiver,  # noqa: F811 - the fixture imported above
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts.client = metered
    body = {"region_code": TOWNSHIP_1, "url": receiver.url, "secret": SECRET}
    assert metered.post("/api/v1/webhooks", json=body, headers=accounts["admin"]).status_code == 201
    open_case(metered, accounts, settings)
    text = metered.get("/metrics", headers=SCRAPE).text
    assert sample(text, "shouwang_outbox_backlog", kind="webhook") == 1
    assert sample(text, "shouwang_outbox_dead", kind="webhook") == 0
    assert sample(text, "shouwang_case_steps_overdue") == 0
    receiver.status = 503
    monkeypatch.setattr(settings, "webhook_max_attempts", 1)
    assert outbox.deliver_due(db.session_scope, settings) == 0
    text = metered.get("/metrics", headers=SCRAPE).text
    assert sample(text, "shouwang_outbox_backlog", kind="webhook") == 0
    assert sample(text, "shouwang_outbox_dead", kind="webhook") == 1
    assert sample(text, "shouwang_outbox_dead", kind="relief") == 0


def test_overdue_steps_are_counted(
    metered: TestClient, accounts: Accounts, settings: Settings, clock: object
) -> None:
    from time_machine import Traveller

    assert isinstance(clock, Traveller)
    accounts.client = metered
    open_case(metered, accounts, settings)
    clock.shift(60 * 60 * 24 * 30)  # a month later the village's verification is long overdue
    text = metered.get("/metrics", headers=SCRAPE).text
    assert sample(text, "shouwang_case_steps_overdue") == 1


def test_the_app_the_jobs_and_the_cli_share_one_engine(settings: Settings) -> None:
    """One pool per process: the app's sessions and the worker's or CLI's (db.get_sessionmaker) are on
    the same engine, so the pool metric counts every connection the process holds."""
    app = create_app(settings)
    assert app.state.engine is db.get_engine()
    assert app.state.sessionmaker is db.get_sessionmaker()


def test_a_blank_token_in_the_environment_keeps_metrics_off(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOUWANG_METRICS_TOKEN", "")
    app = create_app(Settings())
    with TestClient(app) as client:
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
