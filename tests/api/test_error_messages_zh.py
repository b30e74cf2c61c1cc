"""A refusal says in Chinese what is wrong with each field (for the web app's users), beside the API's
English message (for integrators)."""

import re
from pathlib import Path

from fastapi.testclient import TestClient

import app
from app.errors import CHINESE
from tests.fixtures import Accounts, household_body, member_body


def _refused(client: TestClient, accounts: Accounts, body: dict[str, object]) -> dict[str, object]:
    response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
    assert response.status_code == 422, response.text
    refusal: dict[str, object] = response.json()
    return refusal


def test_a_wrong_id_check_digit_is_said_in_chinese(client: TestClient, accounts: Accounts) -> None:
    head = member_body()
    wrong = "0" if head["id_number"][-1] != "0" else "1"
    head["id_number"] = head["id_number"][:17] + wrong
    refusal = _refused(client, accounts, household_body(members=[head]))
    item = refusal["errors"][0]  # type: ignore[index]
    assert item["field"] == "members[0].id_number"
    assert item["message"].startswith("ID number checksum")  # the API's words stay
    assert item["message_zh"] == "身份证号校验位不对（GB 11643），请核对每一位"
    assert refusal["message_zh"] == "身份证号校验位不对（GB 11643），请核对每一位"


def test_pydantic_checks_are_said_in_chinese_with_their_limits(
    client: TestClient, accounts: Accounts
) -> None:
    body = household_body(address="组" * 1000, phone="123")
    del body["household_type"]
    body["members"][0]["birth_date"] = "2026-13-01"
    refusal = _refused(client, accounts, body)
    said = {e["field"]: e.get("message_zh") for e in refusal["errors"]}  # type: ignore[attr-defined]
    assert said["household_type"] == "必须填写"
    assert said["phone"] == "电话须为 11 位手机号或带区号的座机号"
    assert said["members[0].birth_date"] == "必须是日期（年-月-日）"
    assert str(said["address"]).startswith("最多 ")  # the limit, from the schema


def test_a_message_with_no_known_chinese_keeps_the_english_only(
    client: TestClient, accounts: Accounts
) -> None:
    body = household_body()
    body["monitoring_status"] = "monitored"  # only a procedure sets it
    refusal = _refused(client, accounts, body)
    item = refusal["errors"][0]  # type: ignore[index]
    assert item["field"] == "monitoring_status"
    assert item["message_zh"] == "不能在这里填写这一项"
    assert "case procedure" in item["message"]


def test_every_chinese_entry_still_names_a_message_the_code_writes() -> None:
    """An English message reworded in the code must not leave its Chinese behind unused."""
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in Path(app.__file__).parent.rglob("*.py")
        if path.name != "errors.py"
    ) + Path(app.__file__).parent.joinpath("api", "errors.py").read_text(encoding="utf-8")
    for pattern, _ in CHINESE:
        literal = re.sub(r"\((?:\\d|\\S)\+\)|\\d\+|\\S\+", "\x00", pattern.pattern.lstrip("^"))
        chunks = [c.replace("\\", "") for c in literal.split("\x00")]
        longest = max(chunks, key=len)
        assert len(longest) >= 12, pattern.pattern
        # the code may build the message around an f-string's value: its start and its end are written
        assert longest[:20] in source, pattern.pattern
        assert longest[-20:] in source, pattern.pattern


def test_a_service_refusal_carries_its_chinese(client: TestClient, accounts: Accounts) -> None:
    made = client.post("/api/v1/households", json=household_body(), headers=accounts["cadre_a"]).json()
    twice = client.post(
        "/api/v1/households",
        json=household_body(household_no=made["household_no"]),
        headers=accounts["cadre_a"],
    )
    assert twice.status_code == 409, twice.text
    assert twice.json()["message_zh"] == "这个户编号已经登记过"


def test_a_case_actions_refused_fields_are_said_in_chinese(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    household = client.post("/api/v1/households", json=household_body(), headers=cadre).json()
    signal = {"household_id": household["id"], "level": "high", "description": "户主住院"}
    case_id = client.post("/api/v1/cases", json=signal, headers=cadre).json()["case_id"]
    empty = {
        "action": "verify",
        "visited_on": "2026-12-02",
        "visitors": [],
        "findings": "",
        "consent_signed": True,
    }
    refused = client.post(f"/api/v1/cases/{case_id}/actions", json=empty, headers=cadre)
    assert refused.status_code == 422, refused.text
    said = {e["field"]: e.get("message_zh") for e in refused.json()["errors"]}
    assert said == {"visitors": "至少 1 项", "findings": "不能为空"}
    early = {**empty, "visitors": ["李文"], "findings": "属实", "visited_on": "2026-11-01"}
    refused = client.post(f"/api/v1/cases/{case_id}/actions", json=early, headers=cadre)
    assert refused.status_code == 422, refused.text
    assert refused.json()["message_zh"].startswith("入户核实日期不能早于 2026-12-02")


def test_an_unchosen_choice_says_choose(client: TestClient, accounts: Accounts) -> None:
    refusal = _refused(client, accounts, household_body(household_type=""))
    said = {e["field"]: e.get("message_zh") for e in refusal["errors"]}  # type: ignore[attr-defined]
    assert said["household_type"] == "请选择"
    refusal = _refused(client, accounts, household_body(household_type="贫困户"))
    said = {e["field"]: e.get("message_zh") for e in refusal["errors"]}  # type: ignore[attr-defined]
    assert said["household_type"].startswith("必须是以下之一：脱贫户、")
