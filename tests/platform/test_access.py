"""Region scope and role rules (issue 2, acceptance point 2).

404 for a record outside the caller's region (indistinguishable from a record that does not exist),
403 for a forbidden action on a record the caller can see, 401 without a valid token.
Every endpoint that takes a household id is exercised, and every refused call leaves the household as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from tests.fixtures import (
    COUNTY,
    TOWNSHIP_1,
    TOWNSHIP_2,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    household_body,
    member_body,
    new_household,
    report_body,
)

Household = dict[str, Any]
Headers = dict[str, str]
MISSING_ID = 987654


# --- the endpoints that take a household id -----------------------------------------------------------------


def _report(ref: str, **target: Any) -> dict[str, Any]:
    return report_body(ref, "2024-01-01", "2024-12-31") | target


@dataclass(frozen=True)
class Call:
    """One endpoint that names a household, with a body that would succeed for the household's own cadre."""

    name: str
    method: str
    path: str
    body: Callable[[Household], Any] | None = None
    not_found_field: str = "household_id"

    def send(
        self, client: TestClient, headers: Headers, household: Household, household_id: int | None = None
    ) -> httpx.Response:
        hid = household["id"] if household_id is None else household_id
        url = self.path.format(id=hid, member_id=_non_head(household)["id"])
        body = self.body(household) if self.body is not None else None
        if body is not None and household_id is not None:
            body = _retarget(body, household_id)
        return client.request(self.method, url, json=body, headers=headers)


def _non_head(household: Household) -> dict[str, Any]:
    member: dict[str, Any] = next(m for m in household["members"] if m["relation"] != "户主")
    return member


def _retarget(body: Any, household_id: int) -> Any:
    """A batch body naming another (e.g. non-existent) household id."""
    if isinstance(body, dict) and "reports" in body and "household_id" in body["reports"][0]:
        return {"reports": [body["reports"][0] | {"household_id": household_id}]}
    return body


READS = [
    Call("read household", "GET", "/api/v1/households/{id}"),
    Call("read household revealed", "GET", "/api/v1/households/{id}?reveal=true"),
    Call("list reports", "GET", "/api/v1/households/{id}/reports"),
    Call("read history", "GET", "/api/v1/households/{id}/history"),
]
WRITES = [
    Call(
        "update household",
        "PATCH",
        "/api/v1/households/{id}",
        lambda h: {"version": h["version"], "address": "二组 99 号", "phone": "13900001111"},
    ),
    Call(
        "add member",
        "POST",
        "/api/v1/households/{id}/members",
        lambda _: member_body("之女", male=False, birth=date(2006, 6, 1)),
    ),
    Call(
        "update member",
        "PATCH",
        "/api/v1/households/{id}/members/{member_id}",
        lambda h: {"version": _non_head(h)["version"], "ethnicity": "彝族"},
    ),
    Call(
        "member leaves",
        "PATCH",
        "/api/v1/households/{id}/members/{member_id}",
        lambda h: {"version": _non_head(h)["version"], "left_on": "2024-06-30", "left_reason": "婚出"},
    ),
    Call("submit report", "POST", "/api/v1/households/{id}/reports", lambda _: _report("probe-1")),
    Call(
        "batch by household_id",
        "POST",
        "/api/v1/reports/batch",
        lambda h: {"reports": [_report("probe-2", household_id=h["id"])]},
        not_found_field="reports[0].household_id",
    ),
    Call(
        "batch by household_no",
        "POST",
        "/api/v1/reports/batch",
        lambda h: {"reports": [_report("probe-3", household_no=h["household_no"])]},
        not_found_field="reports[0].household_no",
    ),
]
BY_ID = READS + WRITES


def _ids(calls: list[Call]) -> list[str]:
    return [c.name for c in calls]


# --- arrangement --------------------------------------------------------------------------------------------


@pytest.fixture
def world(client: TestClient, accounts: Accounts) -> dict[str, Household]:
    """One household in each of villages A and B (township 1) and C (township 2); B has a report."""
    households = {
        "A": new_household(client, accounts["cadre_a"], village=VILLAGE_A),
        "B": new_household(client, accounts["cadre_b"], village=VILLAGE_B),
        "C": new_household(client, accounts["cadre_c"], village=VILLAGE_C),
    }
    response = client.post(
        f"/api/v1/households/{households['B']['id']}/reports",
        headers=accounts["cadre_b"],
        json=report_body("b-2023", "2023-01-01", "2023-12-31"),
    )
    assert response.status_code == 201, response.text
    return households


def snapshot(client: TestClient, accounts: Accounts, household: Household) -> dict[str, Any]:
    """Everything a user could see of a household: the record, its reports and its history."""
    headers = accounts["district"]
    hid = household["id"]
    record = client.get(f"/api/v1/households/{hid}", headers=headers)
    reports = client.get(f"/api/v1/households/{hid}/reports", headers=headers)
    history = client.get(f"/api/v1/households/{hid}/history", headers=headers)
    for response in (record, reports, history):
        assert response.status_code == 200, response.text
    return {"record": record.json(), "reports": reports.json(), "history_total": history.json()["total"]}


def assert_not_found(response: httpx.Response, field: str) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["code"] == "not_found"
    assert body["field"] == field


def listed_ids(client: TestClient, headers: Headers, **params: Any) -> set[int]:
    response = client.get("/api/v1/households", params={"page_size": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {item["id"] for item in body["items"]}


# --- the own cadre can do everything (so the refusals below are about scope, not broken bodies) -------------


@pytest.mark.parametrize("call", BY_ID, ids=_ids(BY_ID))
def test_own_village_cadre_may_use_every_endpoint(
    client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
) -> None:
    response = call.send(client, accounts["cadre_b"], world["B"])
    assert response.status_code in (200, 201), response.text


# --- village cadre of another village -----------------------------------------------------------------------


class TestCadreOfAnotherVillage:
    @pytest.mark.parametrize("call", BY_ID, ids=_ids(BY_ID))
    def test_every_endpoint_with_an_id_answers_404_and_changes_nothing(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        before = snapshot(client, accounts, world["B"])
        response = call.send(client, accounts["cadre_a"], world["B"])
        assert_not_found(response, call.not_found_field)
        assert snapshot(client, accounts, world["B"]) == before

    @pytest.mark.parametrize("call", BY_ID, ids=_ids(BY_ID))
    def test_out_of_scope_looks_like_missing(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        """The answer for another village's household is the answer for a household that does not exist."""
        outside = call.send(client, accounts["cadre_a"], world["B"])
        if call.name == "batch by household_no":
            missing = client.post(
                "/api/v1/reports/batch",
                headers=accounts["cadre_a"],
                json={"reports": [_report("probe-3", household_no="NO-SUCH-HOUSEHOLD")]},
            )
        else:
            missing = call.send(client, accounts["cadre_a"], world["B"], household_id=MISSING_ID)
        assert outside.status_code == missing.status_code == 404
        assert outside.json()["code"] == missing.json()["code"]
        assert outside.json()["field"] == missing.json()["field"]
        assert world["B"]["household_no"] not in outside.text

    def test_other_village_household_absent_from_list(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        headers = accounts["cadre_a"]
        assert listed_ids(client, headers) == {world["A"]["id"]}
        assert listed_ids(client, headers, village=VILLAGE_B) == set()
        assert listed_ids(client, headers, township=TOWNSHIP_1) == {world["A"]["id"]}
        assert listed_ids(client, headers, household_no=world["B"]["household_no"]) == set()

    def test_cannot_register_household_in_other_village(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        body = household_body(VILLAGE_B)
        response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert response.json()["field"] == "village_code"
        assert listed_ids(client, accounts["district"], household_no=body["household_no"]) == set()
        assert listed_ids(client, accounts["cadre_b"]) == {world["B"]["id"]}

    def test_cannot_patch_other_village_member_through_own_household(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        before = snapshot(client, accounts, world["B"])
        member = _non_head(world["B"])
        response = client.patch(
            f"/api/v1/households/{world['A']['id']}/members/{member['id']}",
            json={"version": member["version"], "ethnicity": "彝族"},
            headers=accounts["cadre_a"],
        )
        assert_not_found(response, "member_id")
        assert snapshot(client, accounts, world["B"]) == before

    def test_batch_mixing_own_and_other_village_writes_nothing(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        before_a = snapshot(client, accounts, world["A"])
        before_b = snapshot(client, accounts, world["B"])
        response = client.post(
            "/api/v1/reports/batch",
            headers=accounts["cadre_a"],
            json={
                "reports": [
                    _report("own", household_id=world["A"]["id"]),
                    _report("theirs", household_id=world["B"]["id"]),
                ]
            },
        )
        assert_not_found(response, "reports[1].household_id")
        assert snapshot(client, accounts, world["A"]) == before_a
        assert snapshot(client, accounts, world["B"]) == before_b


# --- township reviewer --------------------------------------------------------------------------------------


class TestTownshipReviewer:
    def test_lists_every_village_of_the_township_and_nothing_outside(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        headers = accounts["township_1"]
        assert listed_ids(client, headers) == {world["A"]["id"], world["B"]["id"]}
        assert listed_ids(client, headers, village=VILLAGE_B) == {world["B"]["id"]}
        assert listed_ids(client, headers, village=VILLAGE_C) == set()
        assert listed_ids(client, headers, township=TOWNSHIP_2) == set()
        assert listed_ids(client, accounts["township_2"]) == {world["C"]["id"]}

    @pytest.mark.parametrize("village", ["A", "B"])
    @pytest.mark.parametrize("call", READS, ids=_ids(READS))
    def test_reads_every_household_of_the_township(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call, village: str
    ) -> None:
        response = call.send(client, accounts["township_1"], world[village])
        assert response.status_code == 200, response.text
        if call.name.startswith("read household"):
            assert response.json()["id"] == world[village]["id"]
            assert response.json()["members"][0]["name"] == "测试户主"

    @pytest.mark.parametrize("call", BY_ID, ids=_ids(BY_ID))
    def test_every_endpoint_with_an_id_answers_404_outside_the_township(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        before = snapshot(client, accounts, world["C"])
        response = call.send(client, accounts["township_1"], world["C"])
        assert_not_found(response, call.not_found_field)
        assert snapshot(client, accounts, world["C"]) == before

    @pytest.mark.parametrize("call", WRITES, ids=_ids(WRITES))
    def test_writes_on_a_visible_household_are_forbidden(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        before = snapshot(client, accounts, world["A"])
        response = call.send(client, accounts["township_1"], world["A"])
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
        assert snapshot(client, accounts, world["A"]) == before

    def test_cannot_register_a_household(self, client: TestClient, accounts: Accounts) -> None:
        body = household_body(VILLAGE_A)
        response = client.post("/api/v1/households", json=body, headers=accounts["township_1"])
        assert response.status_code == 403, response.text
        assert listed_ids(client, accounts["district"], household_no=body["household_no"]) == set()


# --- district office, department user -----------------------------------------------------------------------


class TestCountyLevelRoles:
    def test_district_officer_sees_every_household(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        headers = accounts["district"]
        assert listed_ids(client, headers) == {h["id"] for h in world.values()}
        assert listed_ids(client, headers, township=TOWNSHIP_2) == {world["C"]["id"]}
        assert listed_ids(client, headers, village=VILLAGE_B) == {world["B"]["id"]}

    @pytest.mark.parametrize("call", READS, ids=_ids(READS))
    def test_district_officer_reads_households_of_every_township(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        for village in ("B", "C"):
            response = call.send(client, accounts["district"], world[village])
            assert response.status_code == 200, response.text

    def test_district_officer_reveal_shows_full_id_numbers(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        response = client.get(
            f"/api/v1/households/{world['C']['id']}", params={"reveal": "true"}, headers=accounts["district"]
        )
        assert response.status_code == 200, response.text
        assert response.json()["revealed"] is True
        assert all("*" not in m["id_number"] for m in response.json()["members"])
        assert response.json()["phone"] == "13812345678"

    @pytest.mark.parametrize("role", ["district", "department"])
    @pytest.mark.parametrize("call", WRITES, ids=_ids(WRITES))
    def test_county_readers_may_not_write(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call, role: str
    ) -> None:
        before = snapshot(client, accounts, world["A"])
        response = call.send(client, accounts[role], world["A"])
        assert response.status_code == 403, response.text
        assert snapshot(client, accounts, world["A"]) == before

    def test_department_user_sees_all_households_with_names_masked(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        headers = accounts["department"]
        assert listed_ids(client, headers) == {h["id"] for h in world.values()}
        response = client.get(f"/api/v1/households/{world['B']['id']}", headers=headers)
        assert response.status_code == 200, response.text
        names = [m["name"] for m in response.json()["members"]]
        assert names == [m["name"][0] + "*" * (len(m["name"]) - 1) for m in world["B"]["members"]]
        assert not any(m["name"] in names for m in world["B"]["members"])
        assert all("*" in m["id_number"] for m in response.json()["members"])

    def test_department_user_may_not_reveal(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        before = snapshot(client, accounts, world["B"])
        response = client.get(
            f"/api/v1/households/{world['B']['id']}",
            params={"reveal": "true"},
            headers=accounts["department"],
        )
        assert response.status_code == 403, response.text
        assert "13812345678" not in response.text
        assert snapshot(client, accounts, world["B"]) == before


# --- platform client, unauthenticated -----------------------------------------------------------------------


class TestPlatformClient:
    @pytest.mark.parametrize("call", BY_ID, ids=_ids(BY_ID))
    def test_refused_on_every_household_endpoint(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        before = snapshot(client, accounts, world["A"])
        response = call.send(client, accounts["platform"], world["A"])  # a platform account only signs:
        assert response.status_code == 401, response.text  # a token of its own is refused outright
        assert response.json()["code"] == "unauthorized"
        assert snapshot(client, accounts, world["A"]) == before

    def test_refused_list_and_register(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        headers = accounts["platform"]
        assert client.get("/api/v1/households", headers=headers).status_code == 401
        body = household_body(VILLAGE_A)
        assert client.post("/api/v1/households", json=body, headers=headers).status_code == 401
        assert listed_ids(client, accounts["district"]) == {h["id"] for h in world.values()}


class TestUnauthenticated:
    @pytest.mark.parametrize("call", BY_ID, ids=_ids(BY_ID))
    def test_every_endpoint_with_an_id_answers_401(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household], call: Call
    ) -> None:
        before = snapshot(client, accounts, world["A"])
        response = call.send(client, {}, world["A"])
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthorized"
        assert snapshot(client, accounts, world["A"]) == before

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/households"),
            ("POST", "/api/v1/households"),
            ("GET", "/api/v1/users"),
            ("GET", "/api/v1/regions"),
            ("GET", "/api/v1/auth/me"),
        ],
    )
    def test_collection_endpoints_answer_401(self, client: TestClient, method: str, path: str) -> None:
        body = household_body(VILLAGE_A) if method == "POST" else None
        response = client.request(method, path, json=body)
        assert response.status_code == 401, response.text

    @pytest.mark.parametrize("token", ["not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"])
    def test_garbage_token_answers_401(
        self, client: TestClient, world: dict[str, Household], token: str
    ) -> None:
        response = client.get(
            f"/api/v1/households/{world['A']['id']}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, response.text

    def test_refresh_token_is_not_an_access_token(
        self, client: TestClient, accounts: Accounts, world: dict[str, Household]
    ) -> None:
        refresh = accounts.tokens("cadre_a")["refresh_token"]
        response = client.get(
            f"/api/v1/households/{world['A']['id']}", headers={"Authorization": f"Bearer {refresh}"}
        )
        assert response.status_code == 401, response.text


def test_regions_are_scoped_too(client: TestClient, accounts: Accounts) -> None:
    """A cadre's region tree is their village; a township reviewer's is the township and its villages."""
    response = client.get("/api/v1/regions", params={"page_size": 500}, headers=accounts["cadre_a"])
    assert response.status_code == 200, response.text
    assert [r["code"] for r in response.json()["items"]] == [VILLAGE_A]
    response = client.get("/api/v1/regions", params={"page_size": 500}, headers=accounts["township_1"])
    codes = {r["code"] for r in response.json()["items"]}
    assert {TOWNSHIP_1, VILLAGE_A, VILLAGE_B} <= codes
    assert VILLAGE_C not in codes
    assert TOWNSHIP_2 not in codes
    assert COUNTY not in codes
