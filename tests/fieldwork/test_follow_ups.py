"""回头看: a confirmed risk elimination gives follow-up tasks at 3 and 6 months; a missed one is overdue; a
visit completes it."""

from datetime import UTC, datetime
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.clock import local_today
from app.models import Case
from tests.cases.test_assistance import READY, monitored, propose
from tests.fieldwork.test_visits import record, visit_body
from tests.fixtures import Accounts

TASKS = "/api/v1/field-tasks"


def eliminate(client: TestClient, accounts: Accounts) -> int:
    hid = monitored(client, accounts, ("30000", "30000", "30000"), **READY)
    case_id = propose(client, accounts, hid).json()["id"]
    today = local_today().isoformat()
    steps: list[tuple[str, dict[str, Any]]] = [
        (
            "cadre_a",
            {
                "action": "verify",
                "visited_on": today,
                "visitors": ["李文"],
                "findings": "收入稳定",
                "consent_signed": True,
            },
        ),
        ("cadre_a", {"action": "review", "held_on": today, "outcome": "agreed", "attendees": 15}),
        ("cadre_a", {"action": "notice", "starts_on": today}),
    ]
    for who, body in steps:
        done = client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=accounts[who])
        assert done.status_code == 200, done.text
    with db.session_scope() as session:
        case = session.scalars(select(Case).where(Case.id == case_id)).one()
        case.notice_ends_on = local_today()
    for who, body in (("township_1", {"action": "approve"}), ("district", {"action": "confirm"})):
        done = client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=accounts[who])
        assert done.status_code == 200, done.text
    return hid


def tasks(client: TestClient, accounts: Accounts, **params: str) -> list[tuple[int, str, bool, str | None]]:
    page = client.get(TASKS, params={"kind": "follow_up", **params}, headers=accounts["township_1"]).json()
    return [(t["months"], t["due_on"], t["overdue"], t["done_on"]) for t in page["items"]]


def test_follow_ups_come_at_three_and_six_months_and_are_overdue_when_missed(
    client: TestClient, accounts: Accounts
) -> None:
    hid = eliminate(client, accounts)  # on 2026-12-02, the district's day
    assert tasks(client, accounts) == [(3, "2027-03-02", False, None), (6, "2027-06-02", False, None)]
    assert client.get(TASKS, headers=accounts["cadre_b"]).json()["total"] == 0  # another village's

    with time_machine.travel(datetime(2027, 3, 10, 2, 0, tzinfo=UTC), tick=False):
        accounts.log_in_again()
        assert tasks(client, accounts, state="overdue") == [(3, "2027-03-02", True, None)]
        visited = record(
            client, accounts["cadre_a"], hid, visit_body("back-1", visited_on="2027-03-10", kind="follow_up")
        )
        assert visited.status_code == 201, visited.text
        assert tasks(client, accounts, state="overdue") == []
        assert tasks(client, accounts) == [
            (6, "2027-06-02", False, None),
            (3, "2027-03-02", False, "2027-03-10"),
        ]

    with time_machine.travel(datetime(2027, 6, 5, 2, 0, tzinfo=UTC), tick=False):
        accounts.log_in_again()
        assert tasks(client, accounts, state="overdue") == [(6, "2027-06-02", True, None)]
