"""The case procedure is one table (app/services/cases/procedure.py): the action handler, the inboxes,
escalation, the case page's allowed actions and the web app all read it, and the API serves it."""

import dataclasses
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app import db
from app.config import Settings
from app.models import Case
from app.models.enums import CaseStep, Role
from app.services.cases import escalation, procedure
from tests.cases.test_cases import REVIEW, VERIFY, act, signal, to_township
from tests.fixtures import Accounts


def test_the_api_serves_the_steps_in_order_with_owners_windows_and_the_actions(
    client: TestClient, accounts: Accounts
) -> None:
    assert client.get("/api/v1/cases/procedure").status_code == 401
    answer = client.get("/api/v1/cases/procedure", headers=accounts["cadre_a"]).json()
    assert [(s["step"], s["label_zh"], s["owner"], s["window_days"]) for s in answer["steps"]] == [
        ("village_verification", "入户核实", "village_cadre", 10),
        ("democratic_review", "民主评议", "village_cadre", None),
        ("public_notice", "公示", "village_cadre", None),
        ("township_review", "乡镇审核", "township_reviewer", 3),
        ("district_decision", "县级审定", "district_officer", 2),
    ]
    actions = {a["action"]: a for a in answer["actions"]}
    assert (actions["approve"]["steps"], actions["approve"]["next_step"]) == (
        ["township_review"],
        "district_decision",
    )
    assert (actions["reject"]["roles"], actions["reject"]["outcome"]) == (["district_officer"], "rejected")
    assert len(actions["close"]["steps"]) == 5


def test_the_windows_follow_the_current_policy(client: TestClient, accounts: Accounts) -> None:
    policy = client.get("/api/v1/policy", headers=accounts["admin"]).json()
    deadlines = policy["data"]["case_deadlines"] | {"township": 4}
    changed = client.put(
        "/api/v1/policy",
        json={"case_deadlines": deadlines, "version": policy["version"]},
        headers=accounts["admin"],
    )
    assert changed.status_code in (200, 201), changed.text
    steps = client.get("/api/v1/cases/procedure", headers=accounts["district"]).json()["steps"]
    assert {s["step"]: s["window_days"] for s in steps}["township_review"] == 4


def test_each_action_moves_the_case_to_the_step_the_table_names(
    poor: int,
    settings: Settings,
    client: TestClient,
    accounts: Accounts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = signal(settings, poor).case_id
    cadre = accounts["cadre_a"]
    for body in (VERIFY, REVIEW):
        moved = act(client, cadre, case_id, **body).json()["step"]
        assert moved == procedure.ACTIONS[str(body["action"])].next_step
    to_notice = act(client, cadre, case_id, action="notice", starts_on=VERIFY["visited_on"])
    assert to_notice.json()["step"] == procedure.ACTIONS["notice"].next_step
    # the handler follows the table, not a step of its own: a table that sends returned cases back to the
    # democratic review sends this one there
    rule = procedure.ACTIONS["return"]
    monkeypatch.setitem(
        procedure.ACTIONS, "return", dataclasses.replace(rule, next_step=CaseStep.democratic_review)
    )
    returned = act(client, accounts["township_1"], case_id, action="return", reason="材料不全")
    assert returned.json()["step"] == "democratic_review"


def test_every_action_the_endpoint_takes_is_in_the_table() -> None:
    from app.schemas.case_actions import ACTIONS as BODIES

    assert set(procedure.ACTIONS) == set(BODIES)


def test_the_inbox_and_escalation_read_the_owners_from_the_table(
    poor: int,
    settings: Settings,
    client: TestClient,
    accounts: Accounts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Change the table (the district works the township's review, and hears of it late): the inboxes and
    the escalation follow, with no other change."""
    case_id = signal(settings, poor).case_id
    to_township(client, accounts, case_id, notice_days_ago=6)
    rule = procedure.STEPS[CaseStep.township_review]
    changed = dataclasses.replace(rule, owner=Role.district_officer, escalates_to=Role.township_reviewer)
    monkeypatch.setitem(procedure.STEPS, CaseStep.township_review, changed)
    district_inbox = client.get("/api/v1/inbox", headers=accounts["district"]).json()["items"]
    assert [c["id"] for c in district_inbox] == [case_id]
    assert client.get("/api/v1/inbox", headers=accounts["township_1"]).json()["items"] == []
    with db.session_scope() as session:
        due = session.get(Case, case_id).due_at  # type: ignore[union-attr]
    with db.session_scope() as session:
        assert escalation.escalate_overdue(session, settings, now=due + timedelta(hours=1)) == 1
    notes = client.get("/api/v1/notifications", headers=accounts["township_1"]).json()["items"]
    assert [(n["kind"], n["step"]) for n in notes] == [("escalated", "township_review")]


def test_allowed_actions_come_from_the_table(
    poor: int,
    settings: Settings,
    client: TestClient,
    accounts: Accounts,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = signal(settings, poor).case_id
    allowed = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["allowed_actions"]
    assert "verify" in allowed
    verify = procedure.ACTIONS["verify"]
    monkeypatch.setitem(procedure.ACTIONS, "verify", dataclasses.replace(verify, roles=frozenset()))
    allowed = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["allowed_actions"]
    assert "verify" not in allowed
    assert act(client, accounts["cadre_a"], case_id, **VERIFY).status_code == 403
