"""What the cadre and the reviewer read: a household's page gives the model's factors in the API's words
and the assistance measures; the inbox puts the overdue case first and marks it."""

from datetime import timedelta
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy import update

from app import db
from app.clock import local_today
from app.models import Household, RiskResult, RiskRun
from app.models.enums import MonitoringStatus
from tests.fixtures import PASSWORD, Accounts, new_household
from tests.web.conftest import shot

FACTOR = {"feature": "transfer_share", "value": 0.64, "effect": 0.21, "text": "转移性收入占比 64%"}
REASON: dict[str, Any] = {
    "code": "income_below_line",
    "risk_type": "其他",
    "level": "high",
    "feature": "per_capita_income",
    "value": 7000.0,
    "text": "人均纯收入 7,000 元 < 监测线 8,700 元",
}


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def test_a_household_page_gives_the_models_factors_and_the_measures(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts
) -> None:
    household = new_household(client, accounts["cadre_a"])
    with db.session_scope() as session:  # a monitored household; last night's run, by the model
        session.execute(
            update(Household)
            .where(Household.id == household["id"])
            .values(
                monitoring_status=MonitoringStatus.monitored,
                risk_types=["因病"],
                monitored_since=local_today() - timedelta(days=60),
            )
        )
        run = RiskRun(
            status="completed", as_of=local_today(), mode="model", policy_version=1, triggered_by="test"
        )
        session.add(run)
        session.flush()
        session.add(
            RiskResult(
                run_id=run.id,
                household_id=household["id"],
                level="high",
                score=0.81,
                reasons=[REASON],
                reason_codes="|income_below_line|",
                factors=[FACTOR],
            )
        )
    measure = {"category": "健康帮扶", "item": "大病救助", "department": "医保局", "started_on": "2026-06-01"}
    stored = client.post(
        f"/api/v1/households/{household['id']}/assistance", json=measure, headers=accounts["cadre_a"]
    )
    assert stored.status_code == 201, stored.text

    _log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/households/{household['id']}")
    risk = phone.locator("#risk")
    expect(risk.locator(".badge.high")).to_have_text("高风险")
    expect(risk).to_contain_text(REASON["text"])
    expect(risk).to_contain_text("转移性收入占比 64%")  # the model's factor, in the API's words
    measures = phone.locator("#assistance li")
    expect(measures).to_have_count(1)
    expect(measures.first).to_contain_text("健康帮扶 · 大病救助")
    expect(measures.first).to_contain_text("医保局")
    shot(phone, "cadre-household-factors-measures-390")
    assert phone.console_errors == [], phone.console_errors  # type: ignore[attr-defined]


def test_the_inbox_puts_the_overdue_case_first_and_marks_it(
    phone: Page, live_server: str, client: TestClient, accounts: Accounts, clock: time_machine.Traveller
) -> None:
    cadre = accounts["cadre_a"]
    early, late = new_household(client, cadre), new_household(client, cadre)
    signal = {"level": "high", "description": "户主住院"}
    first = client.post("/api/v1/cases", json={**signal, "household_id": early["id"]}, headers=cadre)
    assert first.status_code == 201, first.text
    clock.shift(timedelta(days=8))
    cadre = {"Authorization": f"Bearer {accounts.tokens('cadre_a')['access_token']}"}
    second = client.post("/api/v1/cases", json={**signal, "household_id": late["id"]}, headers=cadre)
    assert second.status_code == 201, second.text
    clock.shift(timedelta(days=3))  # the first case's village window (10 days) has passed; not the second's

    phone.clock.set_system_time(local_today().isoformat())
    _log_in(phone, live_server, "cadre_a")
    phone.goto(f"{live_server}/#/inbox")
    cards = phone.locator("#inbox li")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text(early["household_no"])  # by due time: the late one first
    expect(cards.nth(0).locator(".badge", has_text="已逾期")).to_be_visible()
    expect(cards.nth(1)).to_contain_text(late["household_no"])
    expect(cards.nth(1)).not_to_contain_text("已逾期")
    expect(phone.locator("#inbox-summary")).to_contain_text("其中已逾期 1 件")
    shot(phone, "inbox-overdue-first-390")
