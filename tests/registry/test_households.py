"""Households and members through the API: register, read (masked / revealed), change with a version,
members joining and leaving, history, duplicate people, look-up, list filters and pagination."""

import json
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app import db
from app.config import Settings
from app.models import Household, Member
from app.models.enums import MonitoringStatus
from app.pii import cipher_for
from tests.fixtures import (
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    household_body,
    make_id,
    member_body,
    new_household,
)

API = "/api/v1/households"
PHONE = "13812345678"  # household_body's phone
PHONE_MASKED = "*******5678"


def masked(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:]


def read(client: TestClient, headers: dict[str, str], household_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/{household_id}", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def history(client: TestClient, headers: dict[str, str], household_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{household_id}/history", headers=headers, params={"page_size": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def actions(entries: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in entries]


def member_by_relation(household: dict[str, Any], relation: str) -> dict[str, Any]:
    return next(m for m in household["members"] if m["relation"] == relation and m["active"])


def leave(
    client: TestClient,
    headers: dict[str, str],
    household_id: int,
    member: dict[str, Any],
    *,
    on: str = "2024-06-01",
    reason: str = "婚出",
    **extra: Any,
) -> Any:
    return client.patch(
        f"{API}/{household_id}/members/{member['id']}",
        headers=headers,
        json={"version": member["version"], "left_on": on, "left_reason": reason, **extra},
    )


# --- register ----------------------------------------------------------------------------------


def test_register_answers_201_with_etag_members_and_size(client: TestClient, accounts: Accounts) -> None:
    body = household_body(VILLAGE_A)
    response = client.post(API, json=body, headers=accounts["cadre_a"])

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["ETag"] == f'"{created["version"]}"'
    assert created["version"] == 1
    assert created["household_no"] == body["household_no"]
    assert created["village_code"] == VILLAGE_A
    assert created["township_code"] == TOWNSHIP_1
    assert created["size"] == 3
    assert created["no_labour_capacity"] is False
    assert [m["relation"] for m in created["members"]] == ["户主", "配偶", "之子"]
    assert all(m["active"] for m in created["members"])
    # The answer to a registration is masked like any other read.
    assert [m["id_number"] for m in created["members"]] == [masked(m["id_number"]) for m in body["members"]]
    assert created["phone"] == PHONE_MASKED
    assert created["revealed"] is False
    # And it was stored: the household reads back.
    assert read(client, accounts["cadre_a"], created["id"])["household_no"] == body["household_no"]


@pytest.mark.parametrize(
    ("capacities", "expected"),
    [
        (["丧失劳动力", "无劳动力"], True),
        (["丧失劳动力", "丧失劳动力"], True),
        (["丧失劳动力", "普通劳动力"], False),
        (["技能劳动力", "无劳动力"], False),
    ],
)
def test_no_labour_capacity_is_computed_from_members(
    client: TestClient, accounts: Accounts, capacities: list[str], expected: bool
) -> None:
    members = [
        member_body("户主", birth=date(1950, 1, 2), labour_capacity=capacities[0]),
        member_body("配偶", male=False, birth=date(1952, 3, 4), labour_capacity=capacities[1]),
    ]
    created = new_household(client, accounts["cadre_a"], members=members)
    assert created["no_labour_capacity"] is expected
    assert read(client, accounts["cadre_a"], created["id"])["no_labour_capacity"] is expected


def test_no_labour_capacity_counts_only_active_members(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    members = [
        member_body("户主", birth=date(1950, 1, 2), labour_capacity="丧失劳动力"),
        member_body("之子", birth=date(1980, 3, 4), labour_capacity="普通劳动力"),
    ]
    created = new_household(client, cadre, members=members)
    assert created["no_labour_capacity"] is False

    son = member_by_relation(created, "之子")
    assert leave(client, cadre, created["id"], son, reason="迁出").status_code == 200

    after = read(client, cadre, created["id"])
    assert after["no_labour_capacity"] is True
    listed = client.get(API, headers=cadre, params={"no_labour_capacity": "true"}).json()
    assert [h["id"] for h in listed["items"]] == [created["id"]]


def test_no_labour_capacity_follows_a_member_change(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    members = [
        member_body("户主", birth=date(1950, 1, 2), labour_capacity="无劳动力"),
        member_body("之子", birth=date(1980, 3, 4), labour_capacity="普通劳动力"),
    ]
    created = new_household(client, cadre, members=members)
    son = member_by_relation(created, "之子")
    response = client.patch(
        f"{API}/{created['id']}/members/{son['id']}",
        headers=cadre,
        json={"version": son["version"], "labour_capacity": "丧失劳动力"},
    )
    assert response.status_code == 200, response.text
    assert read(client, cadre, created["id"])["no_labour_capacity"] is True


# --- read and reveal ---------------------------------------------------------------------------


def test_read_masks_id_numbers_and_phone(client: TestClient, accounts: Accounts) -> None:
    body = household_body(VILLAGE_A)
    created = client.post(API, json=body, headers=accounts["cadre_a"]).json()

    response = client.get(f"{API}/{created['id']}", headers=accounts["cadre_a"])
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    household = response.json()
    assert household["revealed"] is False
    assert household["phone"] == PHONE_MASKED
    for shown, sent in zip(household["members"], body["members"], strict=True):
        assert shown["id_number"] == sent["id_number"][:6] + "********" + sent["id_number"][-4:]
    for sent in body["members"]:
        assert sent["id_number"] not in response.text
    assert PHONE not in response.text


@pytest.mark.parametrize("who", ["cadre_a", "township_1", "district"])
def test_reveal_shows_full_values_and_is_audited(client: TestClient, accounts: Accounts, who: str) -> None:
    body = household_body(VILLAGE_A)
    created = client.post(API, json=body, headers=accounts["cadre_a"]).json()

    revealed = read(client, accounts[who], created["id"], reveal="true")

    assert revealed["revealed"] is True
    assert revealed["phone"] == PHONE
    assert [m["id_number"] for m in revealed["members"]] == [m["id_number"] for m in body["members"]]
    entries = [e for e in history(client, accounts[who], created["id"]) if e["action"] == "household.reveal"]
    assert len(entries) == 1
    assert entries[0]["actor"] == who
    assert entries[0]["occurred_at"]
    # The audit entry records that a reveal happened, not the values revealed.
    assert body["members"][0]["id_number"] not in json.dumps(entries[0], ensure_ascii=False)


def test_admin_manages_accounts_but_reads_no_household(client: TestClient, accounts: Accounts) -> None:
    created = new_household(client, accounts["cadre_a"])
    for params in ({}, {"reveal": "true"}):
        response = client.get(f"{API}/{created['id']}", headers=accounts["admin"], params=params)
        assert response.status_code == 403
    assert client.get(API, headers=accounts["admin"]).status_code == 403
    assert client.get(f"{API}/{created['id']}/history", headers=accounts["admin"]).status_code == 403


@pytest.mark.parametrize("who", ["department"])
def test_reveal_is_forbidden_to_other_readers(client: TestClient, accounts: Accounts, who: str) -> None:
    body = household_body(VILLAGE_A)
    created = client.post(API, json=body, headers=accounts["cadre_a"]).json()

    plain = client.get(f"{API}/{created['id']}", headers=accounts[who])
    assert plain.status_code == 200, plain.text
    response = client.get(f"{API}/{created['id']}", headers=accounts[who], params={"reveal": "true"})

    assert response.status_code == 403, response.text
    assert body["members"][0]["id_number"] not in response.text
    assert PHONE not in response.text
    assert "household.reveal" not in actions(history(client, accounts["district"], created["id"]))


def test_reveal_outside_scope_is_404(client: TestClient, accounts: Accounts) -> None:
    created = new_household(client, accounts["cadre_a"])
    for who in ("cadre_b", "township_2"):
        response = client.get(f"{API}/{created['id']}", headers=accounts[who], params={"reveal": "true"})
        assert response.status_code == 404, (who, response.text)
    assert "household.reveal" not in actions(history(client, accounts["district"], created["id"]))


# --- PATCH with a version ----------------------------------------------------------------------


def test_patch_with_version_field(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    hid = created["id"]

    # the monitoring status follows the case procedure: a cadre cannot set it
    procedure = client.patch(
        f"{API}/{hid}", headers=cadre, json={"version": 1, "monitoring_status": "monitored"}
    )
    assert (procedure.status_code, procedure.json()["field"]) == (422, "monitoring_status")
    category = client.patch(
        f"{API}/{hid}", headers=cadre, json={"version": 1, "monitoring_category": "边缘易致贫户"}
    )
    assert (category.status_code, category.json()["field"]) == (422, "monitoring_category")
    response = client.patch(f"{API}/{hid}", headers=cadre, json={"version": 1, "address": "二组 7 号"})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert response.json()["address"] == "二组 7 号"

    stale = client.patch(f"{API}/{hid}", headers=cadre, json={"version": 1, "address": "三组 1 号"})
    assert stale.status_code == 409, stale.text
    assert stale.json()["field"] == "version"

    after = read(client, cadre, hid)
    assert after["address"] == "二组 7 号"
    assert after["monitoring_status"] == "not_monitored"
    assert after["version"] == 2
    updates = [e for e in history(client, cadre, hid) if e["action"] == "household.update"]
    assert len(updates) == 1
    assert updates[0]["changes"]["address"] == {"before": "一组 12 号", "after": "二组 7 号"}


def test_patch_with_if_match_header(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = client.post(API, json=household_body(), headers=cadre)
    hid, etag = created.json()["id"], created.headers["ETag"]

    response = client.patch(
        f"{API}/{hid}", headers={**cadre, "If-Match": etag}, json={"address": "二组 7 号"}
    )
    assert response.status_code == 200, response.text
    new_etag = response.headers["ETag"]
    assert new_etag == '"2"'

    stale = client.patch(f"{API}/{hid}", headers={**cadre, "If-Match": etag}, json={"address": "三组 1 号"})
    assert stale.status_code == 412, stale.text

    missing = client.patch(f"{API}/{hid}", headers=cadre, json={"address": "四组 2 号"})
    assert missing.status_code == 428, missing.text

    after = read(client, cadre, hid)
    assert after["address"] == "二组 7 号"
    assert after["version"] == 2
    assert actions(history(client, cadre, hid)).count("household.update") == 1

    weak = client.patch(
        f"{API}/{hid}", headers={**cadre, "If-Match": f"W/{new_etag}"}, json={"address": "五组"}
    )
    assert weak.status_code == 200, weak.text
    assert read(client, cadre, hid)["address"] == "五组"


def test_patch_by_reader_or_outside_scope_changes_nothing(client: TestClient, accounts: Accounts) -> None:
    created = new_household(client, accounts["cadre_a"])
    hid = created["id"]
    assert (
        client.patch(
            f"{API}/{hid}", headers=accounts["township_1"], json={"version": 1, "address": "x"}
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"{API}/{hid}", headers=accounts["cadre_b"], json={"version": 1, "address": "x"}
        ).status_code
        == 404
    )
    after = read(client, accounts["cadre_a"], hid)
    assert (after["address"], after["version"]) == ("一组 12 号", 1)


def test_patch_that_changes_nothing_writes_nothing(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    response = client.patch(
        f"{API}/{created['id']}", headers=cadre, json={"version": 1, "address": created["address"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 1
    assert "household.update" not in actions(history(client, cadre, created["id"]))


# --- members -----------------------------------------------------------------------------------


def test_add_member(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    body = member_body("之女", male=False, birth=date(2005, 7, 8), schooling="在校", school_level="高中")

    response = client.post(f"{API}/{created['id']}/members", headers=cadre, json=body)

    assert response.status_code == 201, response.text
    member = response.json()
    assert member["id"]
    assert member["relation"] == "之女"
    assert member["id_number"] == masked(body["id_number"])
    assert member["active"] is True
    after = read(client, cadre, created["id"])
    assert after["size"] == 4
    assert member["id"] in [m["id"] for m in after["members"]]
    assert after["version"] > created["version"]
    assert actions(history(client, cadre, created["id"]))[-1] == "member.create"


def test_adding_a_second_head_is_409(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)

    response = client.post(
        f"{API}/{created['id']}/members", headers=cadre, json=member_body("户主", birth=date(1960, 2, 2))
    )

    assert response.status_code == 409, response.text
    assert response.json()["field"] == "relation"
    after = read(client, cadre, created["id"])
    assert after["size"] == 3
    assert [m["relation"] for m in after["members"]].count("户主") == 1


def test_member_leaving_is_kept_with_date_and_reason(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    son = member_by_relation(created, "之子")

    response = leave(client, cadre, created["id"], son, on="2024-06-01", reason="婚出")

    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    after = read(client, cadre, created["id"])
    assert after["size"] == 2
    gone = next(m for m in after["members"] if m["id"] == son["id"])
    assert gone["active"] is False
    assert gone["left_on"] == "2024-06-01"
    assert gone["left_reason"] == "婚出"
    assert len(after["members"]) == 3
    listed = client.get(API, headers=cadre).json()["items"]
    assert next(h for h in listed if h["id"] == created["id"])["size"] == 2

    entry = next(e for e in history(client, cadre, created["id"]) if e["action"] == "member.leave")
    assert entry["actor"] == "cadre_a"
    assert entry["occurred_at"]
    assert entry["entity_id"] == str(son["id"])
    assert entry["changes"]["left_on"] == {"before": None, "after": "2024-06-01"}
    assert entry["changes"]["left_reason"] == {"before": None, "after": "婚出"}


def test_leaving_needs_a_reason(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    son = member_by_relation(created, "之子")
    response = client.patch(
        f"{API}/{created['id']}/members/{son['id']}",
        headers=cadre,
        json={"version": son["version"], "left_on": "2024-06-01"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "left_reason"
    assert read(client, cadre, created["id"])["size"] == 3


def test_head_leaving_names_a_successor(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    head, spouse = member_by_relation(created, "户主"), member_by_relation(created, "配偶")

    missing = leave(client, cadre, created["id"], head, reason="死亡")
    assert missing.status_code == 422, missing.text
    assert missing.json()["field"] == "successor_head_id"
    unchanged = read(client, cadre, created["id"])
    assert member_by_relation(unchanged, "户主")["id"] == head["id"]
    assert unchanged["size"] == 3

    response = leave(client, cadre, created["id"], head, reason="死亡", successor_head_id=spouse["id"])
    assert response.status_code == 200, response.text

    after = read(client, cadre, created["id"])
    assert member_by_relation(after, "户主")["id"] == spouse["id"]
    old_head = next(m for m in after["members"] if m["id"] == head["id"])
    assert old_head["active"] is False
    assert old_head["left_reason"] == "死亡"
    assert after["size"] == 2
    entries = history(client, cadre, created["id"])
    assert actions(entries)[-2:] == ["member.leave", "member.update"]
    assert entries[-1]["entity_id"] == str(spouse["id"])
    assert entries[-1]["changes"]["relation"] == {"before": "配偶", "after": "户主"}


def test_a_member_who_left_cannot_be_edited(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    son = member_by_relation(created, "之子")
    gone = leave(client, cadre, created["id"], son).json()

    response = client.patch(
        f"{API}/{created['id']}/members/{son['id']}",
        headers=cadre,
        json={"version": gone["version"], "ethnicity": "彝族"},
    )
    assert response.status_code == 409, response.text

    stored = next(m for m in read(client, cadre, created["id"])["members"] if m["id"] == son["id"])
    assert stored["ethnicity"] is None
    assert (stored["left_on"], stored["left_reason"]) == ("2024-06-01", "婚出")


def test_member_patch_with_stale_version_changes_nothing(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    son = member_by_relation(created, "之子")
    url = f"{API}/{created['id']}/members/{son['id']}"

    ok = client.patch(url, headers=cadre, json={"version": son["version"], "ethnicity": "彝族"})
    assert ok.status_code == 200, ok.text
    stale = client.patch(url, headers=cadre, json={"version": son["version"], "ethnicity": "白族"})
    assert stale.status_code == 409, stale.text
    assert (
        client.patch(
            url, headers={**cadre, "If-Match": f'"{son["version"]}"'}, json={"ethnicity": "白族"}
        ).status_code
        == 412
    )
    assert client.patch(url, headers=cadre, json={"ethnicity": "白族"}).status_code == 428
    stored = next(m for m in read(client, cadre, created["id"])["members"] if m["id"] == son["id"])
    assert stored["ethnicity"] == "彝族"


def test_member_patch_that_changes_nothing_writes_nothing(client: TestClient, accounts: Accounts) -> None:
    """Like a household PATCH without changes: no new household version (which would refuse other
    people's pending edits as stale) and no empty audit entry."""
    cadre = accounts["cadre_a"]
    created = new_household(client, cadre)
    son = member_by_relation(created, "之子")

    response = client.patch(
        f"{API}/{created['id']}/members/{son['id']}",
        headers=cadre,
        json={"version": son["version"], "ethnicity": son["ethnicity"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["version"] == son["version"]
    assert read(client, cadre, created["id"])["version"] == created["version"]
    assert actions(history(client, cadre, created["id"]))[-1] == "member.create"


# --- history -----------------------------------------------------------------------------------


def test_history_lists_every_change_in_order(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    body = household_body(VILLAGE_A)
    created = client.post(API, json=body, headers=cadre).json()
    hid = created["id"]
    changed = client.patch(f"{API}/{hid}", headers=cadre, json={"version": 1, "phone": "13900001111"})
    assert changed.status_code == 200, changed.text
    new_member = member_body("之女", male=False, birth=date(2001, 4, 5))
    assert client.post(f"{API}/{hid}/members", headers=cadre, json=new_member).status_code == 201
    son = member_by_relation(read(client, cadre, hid), "之子")
    assert leave(client, cadre, hid, son).status_code == 200
    read(client, accounts["township_1"], hid, reveal="true")

    entries = history(client, accounts["district"], hid)

    assert actions(entries) == [
        "household.create",
        "member.create",
        "member.create",
        "member.create",
        "household.update",
        "member.create",
        "member.leave",
        "household.reveal",
    ]
    assert [e["actor"] for e in entries] == ["cadre_a"] * 7 + ["township_1"]
    seqs = [e["seq"] for e in entries]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    times = [e["occurred_at"] for e in entries]
    assert all(times)
    assert entries[4]["changes"]["phone"] == {"before": PHONE_MASKED, "after": "*******1111"}
    text = json.dumps(entries, ensure_ascii=False)
    for raw in [m["id_number"] for m in body["members"]] + [new_member["id_number"], PHONE, "13900001111"]:
        assert raw not in text
    # Personal data appears only masked.
    assert masked(body["members"][0]["id_number"]) in text


def test_history_outside_scope_is_404(client: TestClient, accounts: Accounts) -> None:
    created = new_household(client, accounts["cadre_a"])
    assert client.get(f"{API}/{created['id']}/history", headers=accounts["cadre_b"]).status_code == 404
    assert client.get(f"{API}/{created['id']}/history", headers=accounts["township_2"]).status_code == 404
    assert client.get(f"{API}/{created['id']}/history", headers=accounts["township_1"]).status_code == 200


# --- duplicate people --------------------------------------------------------------------------


def test_same_person_in_same_village_names_the_household(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    birth = date(1972, 8, 9)
    wife = member_body("配偶", male=False, birth=birth)
    first = new_household(client, cadre, members=[member_body("户主"), wife])
    second = household_body(VILLAGE_A, members=[{**wife, "relation": "户主"}])

    response = client.post(API, json=second, headers=cadre)

    assert response.status_code == 409, response.text
    assert first["household_no"] in response.text
    assert response.json()["field"] == "members[0].id_number"
    assert client.get(API, headers=cadre).json()["total"] == 1

    added = client.post(f"{API}/{first['id']}/members", headers=cadre, json={**wife, "relation": "其他"})
    assert added.status_code == 409, added.text
    assert first["household_no"] in added.text
    assert read(client, cadre, first["id"])["size"] == 2


def test_changing_an_id_number_to_a_registered_person_is_409(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    birth = date(1972, 8, 9)
    wife = member_body("配偶", male=False, birth=birth)
    first = new_household(client, cadre, members=[member_body("户主"), wife])
    second = new_household(
        client, cadre, members=[member_body("户主"), member_body("配偶", male=False, birth=birth)]
    )
    other_wife = member_by_relation(second, "配偶")

    response = client.patch(
        f"{API}/{second['id']}/members/{other_wife['id']}",
        headers=cadre,
        json={"version": other_wife["version"], "id_number": wife["id_number"]},
    )

    assert response.status_code == 409, response.text
    assert first["household_no"] in response.text
    stored = member_by_relation(read(client, cadre, second["id"]), "配偶")
    assert stored["id_number"] == other_wife["id_number"]


def _elsewhere_body(id_number: str, birth: date) -> dict[str, Any]:
    return household_body(VILLAGE_B, members=[member_body("户主", birth=birth, id_number=id_number)])


def test_same_person_outside_scope_says_only_registered_elsewhere(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    birth = date(1970, 3, 1)
    id_number = make_id(birth)
    head = member_body("户主", birth=birth, id_number=id_number)
    first = new_household(client, accounts["cadre_a"], members=[head])

    response = client.post(API, json=_elsewhere_body(id_number, birth), headers=accounts["cadre_b"])

    assert response.status_code == 409, response.text
    assert first["household_no"] not in response.text
    assert VILLAGE_A not in response.text
    answer = response.json()
    messages = " ".join([answer["message"]] + [e["message"] for e in answer.get("errors", [])])
    assert "registered" in messages
    assert "elsewhere" in messages or "another household" in messages
    assert client.get(API, headers=accounts["cadre_b"]).json()["total"] == 0


def test_registered_elsewhere_answers_are_rate_limited(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    birth = date(1970, 3, 1)
    id_number = make_id(birth)
    head = member_body("户主", birth=birth, id_number=id_number)
    first = new_household(client, accounts["cadre_a"], members=[head])

    for attempt in range(settings.probe_limit_per_hour):
        response = client.post(API, json=_elsewhere_body(id_number, birth), headers=accounts["cadre_b"])
        assert response.status_code == 409, (attempt, response.text)
    limited = client.post(API, json=_elsewhere_body(id_number, birth), headers=accounts["cadre_b"])
    assert limited.status_code == 429, limited.text
    assert first["household_no"] not in limited.text
    assert "Retry-After" in limited.headers
    # The look-up endpoint is the same probe and shares the limit.
    probe = client.post(f"{API}/lookup", json={"id_number": id_number}, headers=accounts["cadre_b"])
    assert probe.status_code == 429, probe.text
    # The limit is per caller: inside their own scope a cadre still gets the named answer.
    own = client.post(
        API,
        json=household_body(VILLAGE_A, members=[member_body("户主", birth=birth, id_number=id_number)]),
        headers=accounts["cadre_a"],
    )
    assert own.status_code == 409, own.text
    assert first["household_no"] in own.text


def test_a_person_who_left_can_join_another_household(client: TestClient, accounts: Accounts) -> None:
    birth = date(1996, 9, 9)
    id_number = make_id(birth, male=False)
    bride = member_body("之女", male=False, birth=birth, id_number=id_number)
    first = new_household(client, accounts["cadre_a"], members=[member_body("户主"), bride])
    daughter = member_by_relation(first, "之女")

    groom = member_body("户主", birth=date(1994, 1, 1))
    before = client.post(
        API,
        json=household_body(VILLAGE_B, members=[groom, {**bride, "relation": "配偶"}]),
        headers=accounts["cadre_b"],
    )
    assert before.status_code == 409, before.text

    assert leave(client, accounts["cadre_a"], first["id"], daughter, reason="婚出").status_code == 200
    second = client.post(
        API,
        json=household_body(VILLAGE_B, members=[groom, {**bride, "relation": "配偶"}]),
        headers=accounts["cadre_b"],
    )

    assert second.status_code == 201, second.text
    found = client.post(f"{API}/lookup", json={"id_number": id_number}, headers=accounts["township_1"])
    assert found.status_code == 200, found.text
    assert [h["id"] for h in found.json()] == [second.json()["id"]]
    # Her old household keeps her, as a member who left.
    assert any(
        m["id"] == daughter["id"] and not m["active"]
        for m in read(client, accounts["cadre_a"], first["id"])["members"]
    )


# --- look-up -----------------------------------------------------------------------------------


def test_lookup_finds_the_household_within_scope(client: TestClient, accounts: Accounts) -> None:
    birth = date(1970, 3, 1)
    id_number = make_id(birth)
    head = member_body("户主", birth=birth, id_number=id_number)
    created = new_household(client, accounts["cadre_a"], members=[head])
    new_household(client, accounts["cadre_a"])

    for who in ("cadre_a", "township_1", "district"):
        response = client.post(f"{API}/lookup", json={"id_number": id_number}, headers=accounts[who])
        assert response.status_code == 200, (who, response.text)
        found = response.json()
        assert [h["id"] for h in found] == [created["id"]], who
        assert found[0]["household_no"] == created["household_no"]
        assert id_number not in response.text

    spaced = client.post(f"{API}/lookup", json={"id_number": f" {id_number} "}, headers=accounts["cadre_a"])
    assert [h["id"] for h in spaced.json()] == [created["id"]]
    # An unknown person is an empty answer.
    unknown = client.post(
        f"{API}/lookup", json={"id_number": make_id(date(1988, 8, 8))}, headers=accounts["cadre_a"]
    )
    assert unknown.status_code == 200
    assert unknown.json() == []

    outside = client.post(f"{API}/lookup", json={"id_number": id_number}, headers=accounts["cadre_c"])
    assert outside.status_code == 409, outside.text
    assert created["household_no"] not in outside.text

    bad_checksum = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    invalid = client.post(f"{API}/lookup", json={"id_number": bad_checksum}, headers=accounts["cadre_a"])
    assert invalid.status_code == 422
    assert invalid.json()["field"] == "id_number"


# --- lists -------------------------------------------------------------------------------------


@pytest.fixture
def spread(client: TestClient, accounts: Accounts) -> dict[str, dict[str, Any]]:
    """Households in villages A (two), B and C; one of A's is 一般农户 and one is monitored."""
    a1 = new_household(client, accounts["cadre_a"])
    a2 = new_household(client, accounts["cadre_a"], household_type="一般农户")
    b1 = new_household(client, accounts["cadre_b"], village=VILLAGE_B)
    c1 = new_household(client, accounts["cadre_c"], village=VILLAGE_C)
    with db.session_scope() as session:  # as a district decision leaves it
        session.execute(
            update(Household)
            .where(Household.id == a1["id"])
            .values(monitoring_status=MonitoringStatus.monitored)
        )
    return {"a1": a1, "a2": a2, "b1": b1, "c1": c1}


def _listed(client: TestClient, headers: dict[str, str], **params: Any) -> set[int]:
    response = client.get(API, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {h["id"] for h in body["items"]}


def test_list_filters(client: TestClient, accounts: Accounts, spread: dict[str, dict[str, Any]]) -> None:
    ids = {k: v["id"] for k, v in spread.items()}
    district = accounts["district"]

    assert _listed(client, district) == set(ids.values())
    assert _listed(client, district, village=VILLAGE_A) == {ids["a1"], ids["a2"]}
    assert _listed(client, district, village=VILLAGE_C) == {ids["c1"]}
    assert _listed(client, district, township=TOWNSHIP_1) == {ids["a1"], ids["a2"], ids["b1"]}
    assert _listed(client, district, township=TOWNSHIP_2) == {ids["c1"]}
    assert _listed(client, district, status="monitored") == {ids["a1"]}
    assert _listed(client, district, status="not_monitored") == {ids["a2"], ids["b1"], ids["c1"]}
    assert _listed(client, district, household_type="一般农户") == {ids["a2"]}
    assert _listed(client, district, household_type="脱贫户", township=TOWNSHIP_1) == {ids["a1"], ids["b1"]}
    assert _listed(client, district, household_no=spread["b1"]["household_no"]) == {ids["b1"]}
    # Filters narrow the caller's scope, never widen it.
    assert _listed(client, accounts["cadre_a"]) == {ids["a1"], ids["a2"]}
    assert _listed(client, accounts["cadre_a"], village=VILLAGE_B) == set()
    assert _listed(client, accounts["township_1"]) == {ids["a1"], ids["a2"], ids["b1"]}
    assert _listed(client, accounts["township_1"], township=TOWNSHIP_2) == set()

    assert client.get(API, headers=district, params={"status": "bogus"}).status_code == 422
    assert client.get(API, headers=district, params={"household_type": "x"}).status_code == 422
    assert client.get(API, headers=district, params={"village": "123"}).status_code == 422


def test_list_masks_phone_and_lists_no_id_numbers(
    client: TestClient, accounts: Accounts, spread: dict[str, dict[str, Any]]
) -> None:
    response = client.get(API, headers=accounts["district"])
    assert response.status_code == 200
    assert {h["phone"] for h in response.json()["items"]} == {PHONE_MASKED}
    assert PHONE not in response.text


def test_pagination(client: TestClient, accounts: Accounts, spread: dict[str, dict[str, Any]]) -> None:
    district = accounts["district"]
    pages = []
    for page in (1, 2, 3):
        response = client.get(API, headers=district, params={"page": page, "page_size": 2})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == 4
        assert (body["page"], body["page_size"]) == (page, 2)
        pages.append([h["id"] for h in body["items"]])
    assert [len(p) for p in pages] == [2, 2, 0]
    assert set(pages[0]) | set(pages[1]) == {h["id"] for h in spread.values()}

    assert client.get(API, headers=district, params={"page_size": 500}).status_code == 200
    too_big = client.get(API, headers=district, params={"page_size": 501})
    assert too_big.status_code == 422
    assert too_big.json()["field"] == "page_size"
    assert client.get(API, headers=district, params={"page": 0}).status_code == 422
    assert client.get(API, headers=district, params={"page_size": 0}).status_code == 422
    # History is a list too.
    hid = spread["a1"]["id"]
    assert client.get(f"{API}/{hid}/history", headers=district, params={"page_size": 501}).status_code == 422
    first = client.get(f"{API}/{hid}/history", headers=district, params={"page_size": 2}).json()
    assert len(first["items"]) == 2
    assert first["total"] == 4  # create and three members


def test_lookup_finds_a_household_beyond_the_first_500_in_scope(
    client: TestClient, accounts: Accounts, session: Session
) -> None:
    """A district officer's scope holds thousands of households; the look-up must not stop at a page."""
    session.execute(
        insert(Household),
        [
            {
                "household_no": f"FILL-{i:05d}",
                "village_code": VILLAGE_C,
                "address": "",
                "household_type": "一般农户",
            }
            for i in range(501)
        ],
    )
    session.commit()
    birth = date(1970, 3, 1)
    id_number = make_id(birth)
    target = new_household(
        client, accounts["cadre_a"], members=[member_body("户主", birth=birth, id_number=id_number)]
    )

    for who in ("cadre_a", "district"):
        response = client.post(f"{API}/lookup", json={"id_number": id_number}, headers=accounts[who])
        assert response.status_code == 200, response.text
        assert [h["id"] for h in response.json()] == [target["id"]], who


class TestMaskingCannotBeUndone:
    def test_unrevealed_read_does_not_give_away_the_birth_date_digits(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        household = new_household(client, accounts["cadre_a"])
        revealed = client.get(
            f"/api/v1/households/{household['id']}", params={"reveal": "true"}, headers=accounts["cadre_a"]
        ).json()
        for role in ("cadre_a", "township_1", "district", "department"):
            body = client.get(f"/api/v1/households/{household['id']}", headers=accounts[role]).text
            for member in revealed["members"]:
                middle = member["id_number"][6:14]
                assert middle not in body
                assert member["birth_date"] not in body
        masked = client.get(f"/api/v1/households/{household['id']}", headers=accounts["cadre_a"]).json()
        assert all(m["birth_date"] is None and m["birth_year"] > 1900 for m in masked["members"])
        assert all(m["birth_date"] for m in revealed["members"])


class TestChangesHiddenByMasksAreStillAudited:
    def test_phone_change_with_the_same_last_four_digits(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        household = new_household(client, accounts["cadre_a"])
        response = client.patch(
            f"/api/v1/households/{household['id']}",
            json={"version": household["version"], "phone": "13912345678"},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 200
        assert response.json()["version"] == household["version"] + 1
        revealed = client.get(
            f"/api/v1/households/{household['id']}", params={"reveal": "true"}, headers=accounts["cadre_a"]
        ).json()
        assert revealed["phone"] == "13912345678"
        assert revealed["version"] == response.json()["version"]
        history = client.get(
            f"/api/v1/households/{household['id']}/history", headers=accounts["cadre_a"]
        ).json()
        updates = [e for e in history["items"] if e["action"] == "household.update"]
        assert updates
        assert "phone" in updates[-1]["changes"]
        assert "13912345678" not in str(history)
        assert "13812345678" not in str(history)

    def test_name_change_with_the_same_mask(self, client: TestClient, accounts: Accounts) -> None:
        household = new_household(client, accounts["cadre_a"])
        member = household["members"][1]
        response = client.patch(
            f"/api/v1/households/{household['id']}/members/{member['id']}",
            json={"version": member["version"], "name": member["name"][0] + "改" + member["name"][2:]},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 200
        assert response.json()["version"] == member["version"] + 1
        history = client.get(
            f"/api/v1/households/{household['id']}/history", headers=accounts["cadre_a"]
        ).json()
        assert any(e["action"] == "member.update" and "name" in e["changes"] for e in history["items"])

    def test_health_details_are_not_in_the_audit_log(self, client: TestClient, accounts: Accounts) -> None:
        household = new_household(client, accounts["cadre_a"])
        member = household["members"][0]
        response = client.patch(
            f"/api/v1/households/{household['id']}/members/{member['id']}",
            json={"version": member["version"], "health": "残疾", "disability_grade": 2},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 200
        history = client.get(
            f"/api/v1/households/{household['id']}/history", headers=accounts["district"]
        ).json()
        text = str(history)
        assert "残疾" not in text
        assert "健康" not in text
        change = next(e for e in history["items"] if e["action"] == "member.update")
        assert change["changes"]["health"] == {"before": None, "after": "***"}


def test_over_the_probe_limit_every_lookup_waits(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    """A 429 only for registered people would itself reveal who is registered."""
    elsewhere = new_household(client, accounts["cadre_c"], village=VILLAGE_C)
    with db.session_scope() as session:
        member = session.scalars(select(Member).where(Member.household_id == elsewhere["id"])).first()
        assert member is not None
        known = cipher_for(settings).decrypt(member.id_number_encrypted)
    for _ in range(settings.probe_limit_per_hour):
        answer = client.post(f"{API}/lookup", json={"id_number": known}, headers=accounts["cadre_a"])
        assert answer.status_code == 409
    unknown = make_id(date(1990, 1, 1), seq=777)
    for id_number in (known, unknown):
        answer = client.post(f"{API}/lookup", json={"id_number": id_number}, headers=accounts["cadre_a"])
        assert answer.status_code == 429, answer.text


class TestCorrectingALeaving:
    def _leave(self, client: TestClient, accounts: Accounts) -> tuple[dict[str, Any], dict[str, Any]]:
        household = new_household(client, accounts["cadre_a"])
        member = household["members"][2]
        response = client.patch(
            f"{API}/{household['id']}/members/{member['id']}",
            json={"version": member["version"], "left_on": "2025-05-01", "left_reason": "死亡"},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 200
        return household, response.json()

    def test_date_and_reason_can_be_corrected(self, client: TestClient, accounts: Accounts) -> None:
        household, left = self._leave(client, accounts)
        response = client.patch(
            f"{API}/{household['id']}/members/{left['id']}",
            json={"version": left["version"], "left_on": "2025-04-20", "left_reason": "婚出"},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 200, response.text
        assert response.json()["left_on"] == "2025-04-20"
        assert response.json()["left_reason"] == "婚出"
        history = client.get(f"{API}/{household['id']}/history", headers=accounts["cadre_a"]).json()
        corrected = [e for e in history["items"] if e["action"] == "member.leave_corrected"]
        assert corrected[0]["changes"]["left_on"] == {"before": "2025-05-01", "after": "2025-04-20"}

    def test_a_mistaken_leaving_can_be_undone(self, client: TestClient, accounts: Accounts) -> None:
        household, left = self._leave(client, accounts)
        response = client.patch(
            f"{API}/{household['id']}/members/{left['id']}",
            json={"version": left["version"], "left_on": None, "left_reason": None},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 200, response.text
        assert response.json()["active"] is True
        assert client.get(f"{API}/{household['id']}", headers=accounts["cadre_a"]).json()["size"] == 3

    def test_other_fields_of_a_member_who_left_stay_history(
        self, client: TestClient, accounts: Accounts
    ) -> None:
        household, left = self._leave(client, accounts)
        response = client.patch(
            f"{API}/{household['id']}/members/{left['id']}",
            json={"version": left["version"], "name": "改名"},
            headers=accounts["cadre_a"],
        )
        assert response.status_code == 409
        assert response.json()["field"] == "name"
