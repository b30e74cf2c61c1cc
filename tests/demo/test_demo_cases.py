"""The demo's cases: the demo village holds cases at every step of the procedure, played through the
real case code by the demo accounts, so the reviewer and the district office have real work to do."""

from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.config import Settings
from app.demo import accounts as demo_accounts
from app.demo import cases as demo_cases
from app.demo import district as demo
from app.demo.regions import DEMO_VILLAGE
from app.models import Case, Household
from app.models.enums import MonitoringStatus


def _demo_district(settings: Settings) -> dict[str, str]:
    with db.session_scope() as session:
        demo.generate(session, settings, households=60, seed=1, villages=[DEMO_VILLAGE])
        passwords = {
            name: password for name, password, _, _ in demo_accounts.reset_demo_accounts(session, settings)
        }
        assert demo_cases.stage_cases(session, settings) == sum(n for n, _ in demo_cases.CASE_SCRIPTS)
    return passwords


def _headers(client: TestClient, username: str, password: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_the_demo_village_has_cases_at_every_step_through_the_procedure(
    client: TestClient, settings: Settings
) -> None:
    passwords = _demo_district(settings)
    with db.session_scope() as session:
        cases = session.scalars(select(Case)).all()
        steps = Counter(c.step for c in cases if c.status == "open")
        assert steps == {
            "village_verification": 4,
            "democratic_review": 2,
            "public_notice": 2,
            "township_review": 7,
            "district_decision": 3,
        }
        [closed] = [c for c in cases if c.status == "closed"]
        assert closed.outcome == "confirmed"
        household = session.get(Household, closed.household_id)
        assert household is not None
        assert household.monitoring_status == MonitoringStatus.monitored
        assert all(c.source == "cadre_report" for c in cases)

    township = _headers(client, "demo-township", passwords["demo-township"])
    inbox = client.get("/api/v1/inbox?page_size=100", headers=township).json()
    # the township's reviews, and the village's overdue visits escalated to it
    assert Counter(c["step"] for c in inbox["items"]) == {"township_review": 7, "village_verification": 2}
    assert inbox["overdue"] == 4  # 2 visits and 2 reviews past their days
    actions: list[list[str]] = []
    for item in inbox["items"]:
        if item["step"] == "township_review":
            detail: dict[str, Any] = client.get(f"/api/v1/cases/{item['id']}", headers=township).json()
            actions.append(detail["allowed_actions"])
            timeline = [e["action"] for e in detail["timeline"]]
            assert timeline[:4] == ["opened", "verify", "review", "notice"]  # then escalated if overdue
    # approval waits for the notice: 5 of the 7 have run theirs
    assert sorted(actions).count(["approve", "return", "reassign"]) == 5
    assert sorted(actions).count(["return", "reassign"]) == 2

    district = _headers(client, "demo-district", passwords["demo-district"])
    decisions = client.get("/api/v1/inbox?step=district_decision", headers=district).json()
    assert (decisions["total"], decisions["overdue"]) == (3, 1)
    first = client.get(f"/api/v1/cases/{decisions['items'][0]['id']}", headers=district).json()
    assert first["allowed_actions"] == ["confirm", "reject", "close", "reassign"]

    cadre = _headers(client, "demo-cadre", passwords["demo-cadre"])
    village = client.get("/api/v1/inbox?page_size=100", headers=cadre).json()
    assert (village["total"], village["overdue"]) == (8, 2)
