"""Department signals (部门筛查预警): matched by any member's ID number, unmatched and malformed rows
reported by line and kept for review, never dropped."""

import json
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import db
from app.models import Case, Signal
from tests.fixtures import VILLAGE_A, VILLAGE_B, Accounts, household_body, make_id, member_body

HEADER = "department,id_number,name,village_code,signal_type,amount,occurred_on,note"


def household_with(client: TestClient, accounts: Accounts, spouse_birth: date) -> tuple[int, str]:
    """A household whose spouse (not the head) will be named by the departments; returns her ID number."""
    spouse = member_body("配偶", male=False, birth=spouse_birth)
    members = [member_body("户主", birth=date(1970, 3, 1)), spouse]
    response = client.post(
        "/api/v1/households", json=household_body(members=members), headers=accounts["cadre_a"]
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"]), str(spouse["id_number"])


def test_a_csv_with_good_unmatched_and_malformed_rows(client: TestClient, accounts: Accounts) -> None:
    household, spouse = household_with(client, accounts, date(1972, 8, 9))
    stranger = make_id(date(1965, 1, 2))
    bad_checksum = spouse[:-1] + ("0" if spouse[-1] != "0" else "1")
    csv_text = "\n".join(
        [
            HEADER,
            # line 2: matched through a member who is not the head
            f"医保,{spouse},测试配偶,{VILLAGE_A},medical_self_pay,23500.00,2026-01-05,住院自付",
            # line 3: nobody registered with this ID number, below the threshold (no case to open)
            f"医保,{stranger},某某,{VILLAGE_A},medical_self_pay,8000,2026-01-06,",
            # line 4: a bad checksum; line 5: a bad amount; line 6: too few columns
            f"医保,{bad_checksum},测试配偶,{VILLAGE_A},medical_self_pay,6000,2026-01-07,",
            f"医保,{spouse},测试配偶,{VILLAGE_A},medical_self_pay,abc,2026-01-08,",
            "医保,only,three",
            # line 7: the same household again: attaches to its case
            f"医保,{spouse},测试配偶,{VILLAGE_A},medical_self_pay,1200,2026-01-09,门诊",
        ]
    )
    response = client.post(
        "/api/v1/department-signals/import",
        content="\ufeff" + csv_text,
        headers=accounts["department"] | {"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["received"] == 6
    assert body["outcomes"] == {"opened": 1, "attached": 1, "unmatched": 4}
    assert [p["line"] for p in body["unmatched"]] == [3]
    invalid = {(p["line"], p["field"]) for p in body["invalid"]}
    assert (4, "id_number") in invalid
    assert (5, "amount") in invalid
    assert (6, None) in invalid
    with db.session_scope() as session:
        [case] = session.scalars(select(Case)).all()
        assert (case.household_id, case.source) == (household, "department")
    timeline = client.get(f"/api/v1/cases/{case.id}", headers=accounts["district"]).json()["timeline"]
    assert [e["action"] for e in timeline] == ["opened", "signal"]  # line 7 attached after line 2 opened
    with db.session_scope() as session:
        kept = session.scalars(select(Signal).where(Signal.outcome == "unmatched")).all()
        assert len(kept) == 4  # never dropped
        assert all(s.id_number_encrypted for s in kept if s.origin != "csv line 6")
        assert not any(stranger in (s.note + str(s.reasons)) for s in kept)  # no ID number in clear
        assert session.scalar(select(func.count()).select_from(Signal)) == 6


def test_json_signals_and_who_may_send_them(client: TestClient, accounts: Accounts) -> None:
    _, spouse = household_with(client, accounts, date(1973, 4, 4))
    item = {
        "department": "医保",
        "id_number": spouse,
        "name": "测试配偶",
        "village_code": VILLAGE_A,
        "signal_type": "medical_self_pay",
        "amount": "30000",
        "occurred_on": "2026-01-03",
    }
    ok = client.post("/api/v1/department-signals", json={"signals": [item]}, headers=accounts["department"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["outcomes"] == {"opened": 1, "unmatched": 0}
    refused = client.post("/api/v1/department-signals", json={"signals": [item]}, headers=accounts["cadre_a"])
    assert refused.status_code == 403
    empty = client.post("/api/v1/department-signals", json={"signals": []}, headers=accounts["department"])
    assert (empty.status_code, empty.json()["field"]) == (422, "signals")
    not_a_batch = client.post(
        "/api/v1/department-signals", json={"signals": [item], "x": 1}, headers=accounts["department"]
    )
    assert (not_a_batch.status_code, not_a_batch.json()["field"]) == (422, "x")
    wrong_header = client.post(
        "/api/v1/department-signals/import",
        content="a,b,c\n1,2,3",
        headers=accounts["department"] | {"content-type": "text/csv"},
    )
    assert (wrong_header.status_code, wrong_header.json()["field"]) == (422, "header")


def test_unmatched_rows_are_listed_for_review_masked(client: TestClient, accounts: Accounts) -> None:
    stranger = make_id(date(1961, 2, 3))
    csv_text = f"{HEADER}\n医保,{stranger},某某,{VILLAGE_A},medical_self_pay,8000,2026-01-06,住院"
    headers = accounts["department"] | {"content-type": "text/csv"}
    assert (
        client.post("/api/v1/department-signals/import", content=csv_text, headers=headers).status_code == 200
    )
    listed = client.get("/api/v1/department-signals/unmatched", headers=accounts["district"]).json()
    [row] = listed["items"]
    assert row["origin"] == "csv line 2"
    assert stranger not in str(row)
    assert row["note"].startswith(stranger[:6] + "********")
    assert row["row"]["signal_type"] == "medical_self_pay"
    assert "name" not in row["row"]
    assert client.get("/api/v1/department-signals/unmatched", headers=accounts["cadre_a"]).status_code == 403


def test_a_row_naming_another_village_is_matched_by_id_and_the_difference_reported(
    client: TestClient, accounts: Accounts
) -> None:
    household, spouse = household_with(client, accounts, date(1974, 5, 6))
    csv_text = f"{HEADER}\n应急,{spouse},测试配偶,{VILLAGE_B},disaster,8000,2026-01-06,"
    response = client.post(
        "/api/v1/department-signals/import",
        content=csv_text,
        headers=accounts["department_ems"] | {"content-type": "text/csv"},
    )
    body = response.json()
    assert body["outcomes"] == {"opened": 1, "unmatched": 0}
    [problem] = body["elsewhere"]
    assert (problem["line"], problem["field"]) == (2, "village_code")
    assert VILLAGE_A in problem["message"]
    case = client.get("/api/v1/cases", headers=accounts["cadre_a"]).json()["items"][0]
    assert case["household_id"] == household
    assert case["reasons"][0]["reported_village_code"] == VILLAGE_B  # the cadres see the difference


def test_a_bad_json_item_is_kept_for_review_and_the_others_go_on(
    client: TestClient, accounts: Accounts
) -> None:
    _, spouse = household_with(client, accounts, date(1975, 7, 8))
    good = {
        "department": "医保",
        "id_number": spouse,
        "name": "测试配偶",
        "village_code": VILLAGE_A,
        "signal_type": "medical_self_pay",
        "amount": "30000",
        "occurred_on": "2026-01-03",
    }
    bad = good | {"department": "外星", "colour": "red"}
    response = client.post(
        "/api/v1/department-signals", json={"signals": [good, bad]}, headers=accounts["department"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcomes"] == {"opened": 1, "unmatched": 1}
    assert {(p["line"], p["field"]) for p in body["invalid"]} == {(2, "colour")}
    kept = client.get("/api/v1/department-signals/unmatched", headers=accounts["department"]).json()
    assert [item["row"]["department"] for item in kept["items"]] == ["外星"]


def test_an_unreadable_csv_is_refused_naming_the_line(client: TestClient, accounts: Accounts) -> None:
    huge = "x" * 200_000  # past the CSV reader's field limit
    csv_text = f'{HEADER}\n医保,1,a,{VILLAGE_A},dropout,,2026-01-05,"{huge}"\n'
    response = client.post(
        "/api/v1/department-signals/import",
        content=csv_text,
        headers=accounts["department"] | {"content-type": "text/csv"},
    )
    assert (response.status_code, response.json()["field"]) == (422, "file")
    assert response.json()["message"].startswith("line 2:")


def test_each_department_reviews_its_own_unmatched_rows_without_notes(
    client: TestClient, accounts: Accounts
) -> None:
    stranger = make_id(date(1962, 2, 3))
    csv_text = f"{HEADER}\n医保,{stranger},某某,{VILLAGE_A},medical_self_pay,8000,2026-01-06,住院：肝癌晚期"
    client.post(
        "/api/v1/department-signals/import",
        content=csv_text,
        headers=accounts["department"] | {"content-type": "text/csv"},
    )
    mine = client.get("/api/v1/department-signals/unmatched", headers=accounts["department"]).json()["items"]
    assert len(mine) == 1
    assert "note" not in mine[0]["row"]
    assert "肝癌" not in json.dumps(mine, ensure_ascii=False)
    district = client.get("/api/v1/department-signals/unmatched", headers=accounts["district"]).json()
    assert district["total"] == 1
    other = accounts["department_2"]
    assert client.get("/api/v1/department-signals/unmatched", headers=other).json()["total"] == 0
