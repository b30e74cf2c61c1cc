"""帮扶责任人: helpers registered by the township or district, paired with households by dated pairings
that keep their history, and a monitored household without one counted as a gap on the weekly list."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from app import db
from app.clock import local_today
from app.models import Household
from app.models.enums import MonitoringStatus
from app.services.lists import risk_lists
from tests.fixtures import TOWNSHIP_1, Accounts, new_household

HELPERS = "/api/v1/helpers"
THIS_WEEK = risk_lists.week_of(local_today())


def helper(
    client: TestClient, headers: dict[str, str], name: str, phone: str = "13912345678"
) -> dict[str, Any]:
    response = client.post(
        HELPERS, json={"name": name, "unit": "红塔区农业农村局", "phone": phone}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def pair(client: TestClient, headers: dict[str, str], household: int, **body: Any) -> Any:
    return client.post(f"/api/v1/households/{household}/helpers", json=body, headers=headers)


def test_assigning_reassigning_and_ending_a_helper_keeps_the_history(
    client: TestClient, accounts: Accounts
) -> None:
    township = accounts["township_1"]
    household = int(new_household(client, accounts["cadre_a"])["id"])
    first, second = helper(client, township, "张帮"), helper(client, township, "李扶", "0877-2012345")
    assert first["phone_masked"] == "*******5678"
    assert "phone" not in first

    assert (
        pair(client, township, household, helper_id=first["id"], started_on="2026-06-01").status_code == 201
    )
    moved = pair(
        client, township, household, helper_id=second["id"], started_on="2026-09-01", reason="工作调动"
    )
    assert moved.status_code == 201, moved.text
    ended = client.post(
        f"/api/v1/households/{household}/helpers/end",
        json={"ended_on": "2026-11-30", "reason": "风险消除"},
        headers=accounts["district"],
    )
    assert ended.status_code == 200, ended.text

    history = client.get(f"/api/v1/households/{household}/helpers", headers=accounts["cadre_a"]).json()
    assert [(h["helper_name"], h["started_on"], h["ended_on"], h["end_reason"]) for h in history] == [
        ("李扶", "2026-09-01", "2026-11-30", "风险消除"),
        ("张帮", "2026-06-01", "2026-09-01", "工作调动"),
    ]
    assert {h["helper_phone_masked"] for h in history} == {"*******5678", "********2345"}
    # nobody is paired now: the helper's count says so, and a new pairing may start again
    assert client.get(f"{HELPERS}/{second['id']}", headers=township).json()["households"] == 0
    again = pair(client, township, household, helper_id=first["id"], started_on="2026-12-01")
    assert again.status_code == 201, again.text
    assert client.get(f"{HELPERS}/{first['id']}", headers=township).json()["households"] == 1
    # the cadre may call the helper: the full phone, on request, audited
    revealed = client.post(f"{HELPERS}/{second['id']}/phone", headers=accounts["cadre_a"])
    assert revealed.json()["phone"] == "0877-2012345"


def test_pairing_is_refused_outside_the_region_and_for_the_wrong_dates(
    client: TestClient, accounts: Accounts
) -> None:
    township = accounts["township_1"]
    household = int(new_household(client, accounts["cadre_a"])["id"])
    someone = helper(client, township, "张帮")
    other = helper(client, accounts["township_2"], "王助")
    # only the township and the district register and pair helpers
    refused = client.post(
        HELPERS, json={"name": "甲", "unit": "乙", "phone": "13912345678"}, headers=accounts["cadre_a"]
    )
    assert refused.status_code == 403
    assert (
        pair(
            client, accounts["cadre_a"], household, helper_id=someone["id"], started_on="2026-06-01"
        ).status_code
        == 403
    )
    assert (
        pair(
            client, accounts["township_2"], household, helper_id=other["id"], started_on="2026-06-01"
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/households/{household}/helpers", headers=accounts["cadre_b"]).status_code == 404
    )
    assert client.get(HELPERS, headers=accounts["department"]).status_code == 403
    bad_phone = client.post(HELPERS, json={"name": "甲", "unit": "乙", "phone": "12"}, headers=township)
    assert (bad_phone.status_code, bad_phone.json()["field"]) == (422, "phone")
    missing = pair(client, township, household, helper_id=999999, started_on="2026-06-01")
    assert (missing.status_code, missing.json()["field"]) == (422, "helper_id")
    # another township's helper is not changed by this one
    assert (
        client.patch(
            f"{HELPERS}/{other['id']}", json={"unit": "新单位", "version": 1}, headers=township
        ).status_code
        == 403
    )

    assert (
        pair(client, township, household, helper_id=someone["id"], started_on="2026-06-01").status_code == 201
    )
    same = pair(client, township, household, helper_id=someone["id"], started_on="2026-07-01")
    assert (same.status_code, same.json()["field"]) == (409, "helper_id")
    earlier = pair(client, township, household, helper_id=other["id"], started_on="2026-05-01")
    assert (earlier.status_code, earlier.json()["field"]) == (422, "started_on")
    history = client.get(f"/api/v1/households/{household}/helpers", headers=township).json()
    assert [(h["helper_name"], h["ended_on"]) for h in history] == [("张帮", None)]  # nothing half-written
    end = f"/api/v1/households/{household}/helpers/end"
    early_end = client.post(end, json={"ended_on": "2026-05-31", "reason": "调离"}, headers=township)
    assert (early_end.status_code, early_end.json()["field"]) == (422, "ended_on")
    # a paired helper is not made inactive (the household would look paired with nobody working for it)
    busy = client.patch(f"{HELPERS}/{someone['id']}", json={"active": False, "version": 1}, headers=township)
    assert (busy.status_code, busy.json()["field"]) == (409, "active")
    assert (
        client.post(end, json={"ended_on": "2026-11-01", "reason": "调离"}, headers=township).status_code
        == 200
    )
    assert (
        client.post(end, json={"ended_on": "2026-11-02", "reason": "调离"}, headers=township).status_code
        == 409
    )
    # a new pairing starts no earlier than the last one ended: the history never overlaps
    overlap = pair(client, township, household, helper_id=other["id"], started_on="2026-10-01")
    assert (overlap.status_code, overlap.json()["field"]) == (422, "started_on")
    # an inactive helper is kept in the history but not paired again
    stale = client.patch(f"{HELPERS}/{someone['id']}", json={"active": False, "version": 1}, headers=township)
    assert stale.status_code == 200
    assert stale.json()["active"] is False
    assert (
        pair(client, township, household, helper_id=someone["id"], started_on="2026-11-05").status_code == 409
    )


def test_a_monitored_household_without_a_helper_is_a_gap_in_the_weekly_summary(
    client: TestClient, accounts: Accounts
) -> None:
    ids = [int(new_household(client, accounts["cadre_a"])["id"]) for _ in range(3)]
    paired, unpaired, _not_monitored = ids
    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id.in_(ids[:2]))
            .values(monitoring_status=MonitoringStatus.monitored)
        )
    someone = helper(client, accounts["township_1"], "张帮")
    assert (
        pair(
            client, accounts["township_1"], paired, helper_id=someone["id"], started_on="2026-06-01"
        ).status_code
        == 201
    )

    made = client.post(f"/api/v1/risk-lists/{THIS_WEEK}", headers=accounts["admin"])
    assert made.status_code in (200, 201), made.text
    summary = client.get(f"/api/v1/risk-lists/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert summary["monitored_without_helper"] == 1
    [township] = [t for t in summary["by_township"] if t["township_code"] == TOWNSHIP_1]
    assert township["monitored_without_helper"] == 1
    assert summary["households"] == 2  # both monitored households are on the list, paired or not
    entries = client.get(f"/api/v1/risk-lists/{THIS_WEEK}", headers=accounts["district"]).json()["items"]
    assert {e["household_id"]: e["helper_name"] for e in entries} == {paired: "张帮", unpaired: None}
    csv = client.get(
        f"/api/v1/risk-lists/{THIS_WEEK}", params={"format": "csv"}, headers=accounts["district"]
    )
    header, *rows = csv.content.decode("utf-8-sig").splitlines()
    column = header.split(",").index("帮扶责任人")
    assert sorted(r.split(",")[column] for r in rows) == ["", "张帮"]
    # a pairing after the list was made does not change that week's list
    assert (
        pair(
            client, accounts["township_1"], unpaired, helper_id=someone["id"], started_on="2026-06-01"
        ).status_code
        == 201
    )
    again = client.get(f"/api/v1/risk-lists/{THIS_WEEK}/summary", headers=accounts["district"]).json()
    assert again["monitored_without_helper"] == 1
