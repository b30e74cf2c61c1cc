"""The procedure is the only way into monitoring: registration cannot set it, a household already
monitored elsewhere comes in through the audited import, and the household type changes only by a
correction the township approves."""

from datetime import date

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.cli import main
from app.models import AuditEntry, Household
from app.models.enums import MonitoringStatus
from tests.fixtures import Accounts, household_body, member_body, new_household

API = "/api/v1/households"
runner = CliRunner()


def test_registration_cannot_make_a_household_monitored(client: TestClient, accounts: Accounts) -> None:
    for field, value in (("monitoring_status", "monitored"), ("monitoring_category", "脱贫不稳定户")):
        body = household_body(household_type="一般农户") | {field: value}
        refused = client.post(API, json=body, headers=accounts["cadre_a"])
        assert (refused.status_code, refused.json()["field"]) == (422, field)
        assert "procedure" in refused.json()["message"] or "decision" in refused.json()["message"]
    with db.session_scope() as session:
        assert session.scalars(select(Household)).first() is None  # nothing half-written
    created = new_household(client, accounts["cadre_a"])
    assert (created["monitoring_status"], created["monitoring_category"]) == ("not_monitored", "none")


def _import(household_no: str, *extra: str, category: str = "脱贫不稳定户") -> tuple[int, str]:
    result = runner.invoke(
        main,
        [
            "households",
            "import-monitored",
            "--household-no",
            household_no,
            "--category",
            category,
            "--identified-on",
            "2025-03-01",
            "--note",
            "国家监测系统 2025 年台账",
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_a_household_monitored_elsewhere_comes_in_by_the_audited_import(
    client: TestClient, accounts: Accounts
) -> None:
    created = new_household(client, accounts["cadre_a"])  # 脱贫户, three able members
    no = created["household_no"]
    assert _import(no)[0] != 0  # risk types are required
    code, output = _import(no, "--risk-type", "缺劳动力")  # three of three can work: not 缺劳动力
    assert code == 1
    assert "缺劳动力" in output
    code, output = _import(no, "--risk-type", "因务工就业不稳", category="边缘易致贫户")
    assert code == 1
    assert "一般农户" in output  # the category must fit the type
    code, output = _import(no, "--risk-type", "因务工就业不稳", "--risk-type", "因学")
    assert code == 0, output
    with db.session_scope() as session:
        household = session.scalars(select(Household).where(Household.household_no == no)).one()
        assert household.monitoring_status == MonitoringStatus.monitored
        assert household.risk_types == ["因务工就业不稳", "因学"]
        assert household.monitored_since == date(2025, 3, 1)
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "household.import_monitored")
        ).one()
        assert entry.actor == "system:import-monitored"
    # monitored since March 2025 with no measure: its 缺什么补什么 gaps show at once
    gaps = client.get(f"{API}/{household.id}/assistance", headers=accounts["cadre_a"]).json()["gaps"]
    assert {g["risk_type"] for g in gaps} == {"因务工就业不稳", "因学"}
    assert _import(no, "--risk-type", "因学")[0] == 1  # already monitored: not twice


def test_the_import_refuses_an_identification_date_in_the_future_or_before_the_mechanism(
    client: TestClient, accounts: Accounts
) -> None:
    no = new_household(client, accounts["cadre_a"], members=[member_body()])["household_no"]
    for day in ("2019-12-31", "2027-01-01"):
        result = runner.invoke(
            main,
            [
                "households",
                "import-monitored",
                "--household-no",
                no,
                "--category",
                "突发严重困难户",
                "--risk-type",
                "因意外事故",
                "--identified-on",
                day,
                "--note",
                "县台账",
            ],
        )
        assert result.exit_code == 1, result.output
        assert "identified_on" in result.output


def test_the_household_type_changes_only_by_a_correction_the_township_approves(
    client: TestClient, accounts: Accounts
) -> None:
    created = new_household(client, accounts["cadre_a"])  # 脱贫户
    hid = created["id"]
    patched = client.patch(
        f"{API}/{hid}", json={"version": 1, "household_type": "一般农户"}, headers=accounts["cadre_a"]
    )
    assert (patched.status_code, patched.json()["field"]) == (422, "household_type")
    assert "correction" in patched.json()["message"]

    corrections = f"{API}/{hid}/type-corrections"
    body = {"household_type": "一般农户", "reason": "2014 年建档时误录为脱贫户，经比对扶贫系统台账更正"}
    assert client.post(corrections, json=body, headers=accounts["township_1"]).status_code == 403
    proposed = client.post(corrections, json=body, headers=accounts["cadre_a"])
    assert proposed.status_code == 201, proposed.text
    assert (
        client.post(corrections, json=body, headers=accounts["cadre_a"]).status_code == 409
    )  # one at a time
    queue = client.get("/api/v1/type-corrections?status=proposed", headers=accounts["township_1"]).json()
    assert [c["id"] for c in queue["items"]] == [proposed.json()["id"]]
    assert client.get("/api/v1/type-corrections", headers=accounts["township_2"]).json()["total"] == 0
    decision = f"/api/v1/type-corrections/{proposed.json()['id']}/decision"
    assert client.post(decision, json={"decision": "approve"}, headers=accounts["cadre_a"]).status_code == 403
    assert (
        client.post(decision, json={"decision": "approve"}, headers=accounts["township_2"]).status_code == 404
    )
    unchanged = client.get(f"{API}/{hid}", headers=accounts["cadre_a"]).json()
    assert (unchanged["household_type"], unchanged["version"]) == ("脱贫户", 1)  # not before the decision

    approved = client.post(
        decision, json={"decision": "approve", "note": "核实无误"}, headers=accounts["township_1"]
    )
    assert approved.json()["status"] == "approved", approved.text
    after = client.get(f"{API}/{hid}", headers=accounts["cadre_a"]).json()
    assert (after["household_type"], after["version"]) == ("一般农户", 2)  # a stale edit is now refused
    assert (
        client.post(decision, json={"decision": "reject"}, headers=accounts["township_1"]).status_code == 409
    )
    with db.session_scope() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.household_id == hid)).all()
    assert "household.type_correction.approved" in actions


def test_a_type_correction_carries_the_category_that_fits_the_new_type(
    client: TestClient, accounts: Accounts
) -> None:
    no = new_household(client, accounts["cadre_a"])["household_no"]  # 脱贫户
    code, output = _import(no, "--risk-type", "因学")  # monitored as 脱贫不稳定户
    assert code == 0, output
    with db.session_scope() as session:
        hid = session.scalars(select(Household.id).where(Household.household_no == no)).one()
    proposed = client.post(
        f"{API}/{hid}/type-corrections",
        json={"household_type": "一般农户", "reason": "误录为脱贫户"},
        headers=accounts["cadre_a"],
    )
    assert proposed.status_code == 201, proposed.text
    decision = f"/api/v1/type-corrections/{proposed.json()['id']}/decision"
    approved = client.post(decision, json={"decision": "approve"}, headers=accounts["township_1"])
    assert approved.status_code == 200, approved.text
    after = client.get(f"{API}/{hid}", headers=accounts["cadre_a"]).json()
    # a 脱贫不稳定户 that was never a 脱贫户 is a 边缘易致贫户: monitored still, the category fitting
    assert (after["household_type"], after["monitoring_category"], after["monitoring_status"]) == (
        "一般农户",
        "边缘易致贫户",
        "monitored",
    )
    with db.session_scope() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "household.type_correction.approved")
        ).one()
    assert entry.changes["monitoring_category"] == {"before": "脱贫不稳定户", "after": "边缘易致贫户"}


def test_a_provisional_households_type_is_set_at_the_visit_without_a_township_decision(
    client: TestClient, accounts: Accounts
) -> None:
    hid = new_household(client, accounts["cadre_a"], household_type="一般农户")["id"]
    with db.session_scope() as session:  # as a department's row or an application makes one
        household = session.get(Household, hid)
        assert household is not None
        household.provisional = True
    set_now = client.post(
        f"{API}/{hid}/type-corrections",
        json={"household_type": "脱贫户", "reason": "入户核实：2016 年建档立卡脱贫户"},
        headers=accounts["cadre_a"],
    )
    assert set_now.json()["status"] == "approved", set_now.text
    assert client.get(f"{API}/{hid}", headers=accounts["cadre_a"]).json()["household_type"] == "脱贫户"


def test_a_household_made_monitored_before_the_rules_can_have_its_record_completed(
    client: TestClient, accounts: Accounts
) -> None:
    created = new_household(client, accounts["cadre_a"])
    with db.session_scope() as session:  # as the old registration path left it: no risk types, no date
        household = session.get(Household, created["id"])
        assert household is not None
        household.monitoring_status = MonitoringStatus.monitored
    code, output = _import(created["household_no"], "--risk-type", "因学")
    assert code == 0, output
    with db.session_scope() as session:
        household = session.get(Household, created["id"])
        assert household is not None
        assert (household.risk_types, household.monitored_since) == (["因学"], date(2025, 3, 1))
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.household_id == household.id))
        assert "household.complete_monitoring_record" in list(actions)
    assert _import(created["household_no"], "--risk-type", "因学")[0] == 1  # complete now: not again
