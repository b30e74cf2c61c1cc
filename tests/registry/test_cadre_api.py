"""What the village cadre's pages read from the API, computed by the server: the list's risk level,
staleness, open case and head's name (by role), search by number or name, a report's line and whether it
is below it, the preview of a report before sending, and registering a household from an offline draft
exactly once."""

import time
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app import db
from app.clock import local_today
from app.config import get_settings
from app.risk import scorer
from app.services.platform import actor_cache
from tests.fixtures import VILLAGE_A, Accounts, household_body, member_body, new_household, report_body

LOW = report_body("low", "2025-12-01", "2026-11-30", wages="12000", business="0", prop="0", transfer="0")
HIGH_INCOME = report_body(
    "high", "2025-12-01", "2026-11-30", wages="90000", business="0", prop="0", transfer="0"
)


def _items(client: TestClient, headers: dict[str, str], query: str = "") -> dict[int, dict[str, Any]]:
    response = client.get(f"/api/v1/households?page_size=500{query}", headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


def test_the_list_carries_level_staleness_open_case_and_the_heads_name(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    poor = new_household(client, cadre)
    silent = new_household(client, cadre)
    assert client.post(f"/api/v1/households/{poor['id']}/reports", json=LOW, headers=cadre).status_code == 201
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    signal = {"household_id": silent["id"], "level": "medium", "description": "户主住院", "risk_type": "因病"}
    opened = client.post("/api/v1/cases", json=signal, headers=cadre)
    assert opened.status_code == 201, opened.text

    items = _items(client, cadre)
    assert items[poor["id"]]["risk_level"] == "high"  # (12,000 − 500) / 3 < 8,700
    assert items[poor["id"]]["stale"] is False
    assert items[poor["id"]]["open_case_id"] is None
    assert items[silent["id"]]["stale"] is True  # never reported
    assert items[silent["id"]]["last_report_end"] is None  # 尚无报告, not 久未报告
    assert items[poor["id"]]["last_report_end"] == "2026-11-30"
    assert items[silent["id"]]["open_case_id"] == opened.json()["case_id"]
    assert items[silent["id"]]["open_case_step"] == "village_verification"
    assert items[silent["id"]]["head_name"] == "测试户主"
    # the single household reads the same
    one = client.get(f"/api/v1/households/{silent['id']}", headers=cadre).json()
    assert one["open_case_id"] == opened.json()["case_id"]
    assert one["stale"] is True
    assert one["last_report_end"] is None

    township = _items(client, accounts["township_1"])
    assert township[poor["id"]]["risk_level"] == "high"
    assert township[poor["id"]]["head_name"] is None  # no names in a list beyond the village's own
    accounts.create("department")
    department = _items(client, accounts["department"])
    for item in department.values():
        assert item["risk_level"] is None
        assert item["head_name"] is None
        assert item["stale"] is None
        assert item["last_report_end"] is None
        assert item["open_case_id"] is None
        assert item["open_case_step"] is None


def test_a_report_sent_today_takes_the_household_off_the_stale_list(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    assert _items(client, cadre)[household["id"]]["stale"] is True
    client.post(f"/api/v1/households/{household['id']}/reports", json=LOW, headers=cadre)
    assert _items(client, cadre)[household["id"]]["stale"] is False  # live, as the visit list


def test_search_by_number_part_or_by_the_heads_name(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    wang = new_household(client, cadre, members=[member_body("户主", name="王小明", birth=date(1966, 2, 3))])
    other = new_household(client, cadre)
    assert set(_items(client, cadre, f"&q={wang['household_no'][-5:]}")) == {wang["id"]}
    assert set(_items(client, cadre, "&q=小明")) == {wang["id"]}
    assert set(_items(client, cadre, "&q=测试")) == {other["id"]}
    # a reviewer's list has no names: a name finds nothing there
    assert _items(client, accounts["township_1"], "&q=小明") == {}
    assert set(_items(client, accounts["township_1"], f"&q={wang['household_no']}")) == {wang["id"]}
    for bad in ("%25", "a%20b", "x" * 33, "", "%27--"):
        refused = client.get(f"/api/v1/households?q={bad}", headers=cadre)
        assert refused.status_code == 422, bad
        assert refused.json()["field"] == "q"


def test_a_report_says_its_line_and_whether_it_is_below(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    poor, rich = new_household(client, cadre), new_household(client, cadre)
    low = client.post(f"/api/v1/households/{poor['id']}/reports", json=LOW, headers=cadre).json()
    high = client.post(f"/api/v1/households/{rich['id']}/reports", json=HIGH_INCOME, headers=cadre).json()
    assert (low["per_capita_net_income"], low["monitoring_line"], low["below_line"]) == (
        "3833.33",
        "8700.00",
        True,
    )
    assert high["below_line"] is False
    listed = client.get(f"/api/v1/households/{poor['id']}/reports", headers=cadre).json()["items"][0]
    assert listed["monitoring_line"] == "8700.00"
    assert listed["below_line"] is True


def test_the_preview_gives_the_figure_and_stores_nothing(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    url = f"/api/v1/households/{household['id']}/reports"
    preview = client.post(f"{url}/preview", json=LOW, headers=cadre)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["per_capita_net_income"], body["monitoring_line"], body["below_line"]) == (
        "3833.33",
        "8700.00",
        True,
    )
    assert body["stored_report_id"] is None
    assert body["income_basis"]["report_ids"] == []
    assert client.get(url, headers=cadre).json()["total"] == 0  # nothing stored
    stored = client.post(url, json=LOW, headers=cadre).json()
    assert stored["per_capita_net_income"] == body["per_capita_net_income"]  # the same figure
    again = client.post(f"{url}/preview", json=LOW, headers=cadre).json()
    assert again["stored_report_id"] == stored["id"]  # a repeat of a sent draft


def test_the_preview_refuses_as_the_submission_would(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    url = f"/api/v1/households/{household['id']}/reports"
    bad = report_body("b", "2026-01-01", "2026-03-31", wages="-5")
    refused = client.post(f"{url}/preview", json=bad, headers=cadre)
    assert refused.status_code == 422
    assert refused.json()["field"] == "income.wages"
    client.post(url, json=LOW, headers=cadre)
    overlap = report_body("o", "2026-01-01", "2026-03-31")
    assert client.post(f"{url}/preview", json=overlap, headers=cadre).status_code == 409
    other = new_household(client, accounts["cadre_b"], village="530402202202")
    elsewhere = f"/api/v1/households/{other['id']}/reports/preview"
    assert client.post(elsewhere, json=LOW, headers=cadre).status_code == 404
    assert client.post(f"{url}/preview", json=LOW, headers=accounts["township_1"]).status_code == 403


def test_a_draft_registers_a_household_once(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    body = household_body(client_ref="draft-7f3a")
    first = client.post("/api/v1/households", json=body, headers=cadre)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/households", json=body, headers=cadre)
    assert again.status_code == 200  # the stored household, not a 409 nor a second copy
    assert again.json()["id"] == first.json()["id"]
    listed = _items(client, cadre, f"&q={body['household_no']}")
    assert len(listed) == 1
    changed = dict(body, address="二组 3 号")
    clash = client.post("/api/v1/households", json=changed, headers=cadre)
    assert clash.status_code == 409
    assert clash.json()["field"] == "client_ref"
    # the same client_ref in another village is another draft
    other = household_body("530402202202", client_ref="draft-7f3a")
    assert client.post("/api/v1/households", json=other, headers=accounts["cadre_b"]).status_code == 201
    bad = household_body(client_ref="no spaces")
    assert client.post("/api/v1/households", json=bad, headers=cadre).json()["field"] == "client_ref"


def test_the_forms_choices_are_the_apis_own(client: TestClient, accounts: Accounts) -> None:
    listed = client.get("/api/v1/households/choices", headers=accounts["cadre_a"])
    assert listed.status_code == 200
    choices = listed.json()
    assert "因病" in choices["risk_types"]
    assert "因自然灾害" in choices["risk_types"]
    assert choices["relations"][0] == "户主"
    assert choices["housing_grades"] == ["A", "B", "C", "D"]
    assert choices["disability_grades"] == [1, 2, 3, 4]
    assert "残疾" in choices["healths"]
    assert client.get("/api/v1/households/choices").status_code == 401


def test_a_disabled_member_is_saved_with_the_grade_the_choices_offer(
    client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    grade = client.get("/api/v1/households/choices", headers=cadre).json()["disability_grades"][1]
    without = household_body(members=[member_body(health="残疾")])
    refused = client.post("/api/v1/households", json=without, headers=cadre)
    assert refused.status_code == 422
    assert refused.json()["field"].endswith("disability_grade")
    body = household_body(members=[member_body(health="残疾", disability_grade=grade)])
    stored = client.post("/api/v1/households", json=body, headers=cadre)
    assert stored.status_code == 201, stored.text
    assert stored.json()["members"][0]["disability_grade"] == grade


def test_the_household_says_whether_its_reader_may_reveal(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    path = f"/api/v1/households/{household['id']}"
    assert client.get(path, headers=accounts["cadre_a"]).json()["can_reveal"] is True
    assert client.get(path, headers=accounts["township_1"]).json()["can_reveal"] is True
    accounts.create("department")
    department = client.get(path, headers=accounts["department"])
    assert department.status_code == 200, department.text
    assert department.json()["can_reveal"] is False
    assert client.get(path + "?reveal=true", headers=accounts["department"]).status_code == 403


def _queries(client: TestClient, headers: dict[str, str]) -> int:
    statements: list[str] = []
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        _items(client, headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_village_list_reads_in_a_fixed_number_of_queries(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both counts see the token's holder remembered: on a busy machine the seconds between them could
    # otherwise outlast the cache, and one count would include the look-up of the holder.
    now = time.monotonic()
    monkeypatch.setattr(actor_cache, "seconds_clock", lambda: now)
    cadre = accounts["cadre_a"]
    for _ in range(2):
        new_household(client, cadre)
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    few = _queries(client, cadre)
    for _ in range(5):
        household = new_household(client, cadre, village=VILLAGE_A)
        client.post(f"/api/v1/households/{household['id']}/reports", json=LOW, headers=cadre)
        signal = {"household_id": household["id"], "level": "high", "description": "困难"}
        client.post("/api/v1/cases", json=signal, headers=cadre)
    scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=local_today(), triggered_by="test")
    assert _queries(client, cadre) == few  # no query per household
