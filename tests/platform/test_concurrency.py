"""Acceptance 5: concurrent writers. Two updates of one household with the same version: exactly one wins,
the other is refused (409/412) and the winning edit is intact. Two submissions of the same batch at once:
one stores, the other replays or conflicts; never a duplicate row, never a 500.

Each thread has its own TestClient on the one app (one engine, one pool), and a barrier releases both
requests together, so on PostgreSQL they really overlap inside the database.
"""

import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import db
from app.models import Report
from tests.fixtures import VILLAGE_A, Accounts, household_body, member_body, new_household, report_body

API = "/api/v1/households"
ROUNDS = 6


@pytest.fixture
def two_clients(app: FastAPI) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(app) as first, TestClient(app) as second:
        yield first, second


def race(
    clients: tuple[TestClient, TestClient], calls: list[Callable[[TestClient], httpx.Response]]
) -> list[httpx.Response]:
    """Run calls[i] on clients[i] in two threads released together; return the responses in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index](clients[index])
        except BaseException as exc:  # reported below, in the test's thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a request never finished (deadlock?)"
    responses: list[httpx.Response] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        responses.append(result)
    return responses


def call(method: str, url: str, **kwargs: Any) -> Callable[[TestClient], httpx.Response]:
    """A request to make later, on whichever client runs it."""
    return lambda c: c.request(method, url, **kwargs)


def _updates(client: TestClient, headers: dict[str, str], household_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{household_id}/history", headers=headers, params={"page_size": 500})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["action"] == "household.update"]


@pytest.mark.parametrize("how", ["version", "if_match"])
def test_concurrent_updates_with_the_same_version(
    client: TestClient, accounts: Accounts, two_clients: tuple[TestClient, TestClient], how: str
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    hid, version = household["id"], household["version"]

    for round_no in range(ROUNDS):
        addresses = [f"round {round_no} writer {i}" for i in range(2)]

        if how == "version":
            calls = [
                call("PATCH", f"{API}/{hid}", headers=cadre, json={"version": version, "address": a})
                for a in addresses
            ]
        else:
            calls = [
                call(
                    "PATCH",
                    f"{API}/{hid}",
                    headers={**cadre, "If-Match": f'"{version}"'},
                    json={"address": a},
                )
                for a in addresses
            ]

        responses = race(two_clients, calls)

        codes = sorted(r.status_code for r in responses)
        assert codes[0] == 200, [r.text for r in responses]
        assert codes[1] in (409, 412), [r.text for r in responses]
        winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
        loser = responses[1 - winner]
        assert loser.json()["code"] in ("conflict", "precondition_failed")
        assert responses[winner].json()["address"] == addresses[winner]
        assert responses[winner].json()["version"] == version + 1

        after = client.get(f"{API}/{hid}", headers=cadre)
        assert after.status_code == 200
        assert after.json()["address"] == addresses[winner]
        assert after.json()["version"] == version + 1
        assert after.headers["ETag"] == f'"{version + 1}"'
        updates = _updates(client, cadre, hid)
        assert len(updates) == round_no + 1
        assert updates[-1]["changes"]["address"]["after"] == addresses[winner]
        version += 1


def test_concurrent_member_changes_and_household_update(
    client: TestClient, accounts: Accounts, two_clients: tuple[TestClient, TestClient]
) -> None:
    """A member change bumps the household's version, so a household edit racing it with the old version
    either goes first or is refused; neither is lost silently and nothing fails with a 500."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    hid = household["id"]
    for round_no in range(ROUNDS):
        current = client.get(f"{API}/{hid}", headers=cadre).json()
        son = next(m for m in current["members"] if m["relation"] == "之子")
        ethnicity = f"族{round_no}"
        address = f"round {round_no}"
        responses = race(
            two_clients,
            [
                call(
                    "PATCH",
                    f"{API}/{hid}",
                    headers=cadre,
                    json={"version": current["version"], "address": address},
                ),
                call(
                    "PATCH",
                    f"{API}/{hid}/members/{son['id']}",
                    headers=cadre,
                    json={"version": son["version"], "ethnicity": ethnicity},
                ),
            ],
        )
        assert all(r.status_code in (200, 409, 412) for r in responses), [r.text for r in responses]
        assert responses[1].status_code == 200, responses[1].text
        after = client.get(f"{API}/{hid}", headers=cadre).json()
        assert next(m for m in after["members"] if m["id"] == son["id"])["ethnicity"] == ethnicity
        if responses[0].status_code == 200:
            assert after["address"] == address
        else:
            assert after["address"] == current["address"]


def _count_reports(household_ids: list[int]) -> int:
    """Rows actually stored, counted in the database rather than trusted from the answers."""
    with db.session_scope() as session:
        stmt = select(func.count()).select_from(Report).where(Report.household_id.in_(household_ids))
        return session.scalar(stmt) or 0


def _quarters(prefix: str, household_id: int) -> list[dict[str, Any]]:
    spans = [
        ("2024-01-01", "2024-03-31"),
        ("2024-04-01", "2024-06-30"),
        ("2024-07-01", "2024-09-30"),
        ("2024-10-01", "2024-12-31"),
    ]
    return [
        {**report_body(f"{prefix}-q{i + 1}", start, end), "household_id": household_id}
        for i, (start, end) in enumerate(spans)
    ]


def test_concurrent_batches_with_the_same_client_refs(
    client: TestClient, accounts: Accounts, two_clients: tuple[TestClient, TestClient]
) -> None:
    cadre = accounts["cadre_a"]
    for round_no in range(ROUNDS // 2):
        households = [new_household(client, cadre)["id"] for _ in range(2)]
        batch = {"reports": [r for hid in households for r in _quarters(f"r{round_no}", hid)]}

        responses = race(two_clients, [call("POST", "/api/v1/reports/batch", headers=cadre, json=batch)] * 2)

        codes = sorted(r.status_code for r in responses)
        assert codes[0] in (200, 201, 409), [r.text for r in responses]
        assert codes == [200, 201] or codes == [201, 409], [r.text for r in responses]
        assert _count_reports(households) == 8
        created = next(r for r in responses if r.status_code == 201)
        assert created.headers["X-Reports-Created"] == "8"
        other = next(r for r in responses if r is not created)
        if other.status_code == 200:
            # A replay answers the same reports and stores nothing.
            assert other.headers["X-Reports-Created"] == "0"
            assert [i["id"] for i in other.json()["items"]] == [i["id"] for i in created.json()["items"]]

        # Sent once more, afterwards: nothing new, the same answer.
        again = client.post("/api/v1/reports/batch", headers=cadre, json=batch)
        assert again.status_code == 200, again.text
        assert [i["id"] for i in again.json()["items"]] == [i["id"] for i in created.json()["items"]]
        assert _count_reports(households) == 8


def test_concurrent_batches_same_client_ref_different_bodies(
    client: TestClient, accounts: Accounts, two_clients: tuple[TestClient, TestClient]
) -> None:
    cadre = accounts["cadre_a"]
    for round_no in range(ROUNDS // 2):
        hid = new_household(client, cadre)["id"]
        first = {"reports": _quarters(f"d{round_no}", hid)}
        second = {"reports": [{**r, "income": {**r["income"], "wages": "9999"}} for r in first["reports"]]}

        responses = race(
            two_clients,
            [call("POST", "/api/v1/reports/batch", headers=cadre, json=b) for b in (first, second)],
        )

        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409], [r.text for r in responses]
        winner = responses[0] if responses[0].status_code == 201 else responses[1]
        assert _count_reports([hid]) == 4
        stored = client.get(f"{API}/{hid}/reports", headers=cadre).json()["items"]
        assert sorted(r["id"] for r in stored) == sorted(i["id"] for i in winner.json()["items"])
        wages = {r["income"]["wages"] for r in stored}
        assert wages == {winner.json()["items"][0]["income"]["wages"]}


def test_concurrent_registrations_of_the_same_person(
    client: TestClient, accounts: Accounts, two_clients: tuple[TestClient, TestClient]
) -> None:
    """Both requests may pass the service's duplicate check before either commits; the database's unique
    index on active people must still let only one through, answered 409 rather than 500."""
    cadre = accounts["cadre_a"]
    for round_no in range(ROUNDS // 2):
        person = member_body("户主", birth=date(1960 + round_no, 1, 1))
        bodies = [household_body(VILLAGE_A, members=[person]) for _ in range(2)]

        responses = race(two_clients, [call("POST", API, headers=cadre, json=b) for b in bodies])

        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409], [r.text for r in responses]
        found = client.post(f"{API}/lookup", json={"id_number": person["id_number"]}, headers=cadre)
        assert len(found.json()) == 1


def test_concurrent_registrations_with_the_same_household_no(
    client: TestClient, accounts: Accounts, two_clients: tuple[TestClient, TestClient]
) -> None:
    cadre = accounts["cadre_a"]
    for round_no in range(ROUNDS // 2):
        bodies = [household_body(VILLAGE_A, household_no=f"RACE-{round_no}") for _ in range(2)]

        responses = race(two_clients, [call("POST", API, headers=cadre, json=b) for b in bodies])

        codes = sorted(r.status_code for r in responses)
        assert codes == [201, 409], [r.text for r in responses]
        listed = client.get(API, headers=cadre, params={"household_no": f"RACE-{round_no}"}).json()
        assert listed["total"] == 1
