"""Assistance for monitored households, 缺什么补什么 gaps, and risk elimination through the same steps."""

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from app import db
from app.clock import local_today
from app.models import Case, Household, Member
from app.models.enums import MonitoringStatus
from tests.fixtures import Accounts, household_body, member_body, report_body


def last_quarters(count: int) -> list[tuple[str, date, date]]:
    """The last `count` quarters that have ended, oldest first: (ref, start, end)."""
    today = local_today()
    year, quarter = today.year, (today.month - 1) // 3  # the quarter before this one (0: last year's Q4)
    if quarter == 0:
        year, quarter = year - 1, 4
    found = []
    for _ in range(count):
        start = date(year, 3 * quarter - 2, 1)
        end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
        found.append((f"{year}q{quarter}", start, end))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return found[::-1]


def monitored(
    client: TestClient,
    accounts: Accounts,
    quarterly_wages: tuple[str, ...],
    since_days: int = 40,
    with_measure: bool = False,
    **body: Any,
) -> int:
    """A monitored household (因病, since `since_days`) with a report for each of the last quarters that
    have ended (as many as wages are given, oldest first), and a health measure in progress if asked."""
    cadre = accounts["cadre_a"]
    response = client.post("/api/v1/households", json=household_body(**body), headers=cadre)
    assert response.status_code == 201, response.text
    hid = int(response.json()["id"])
    for (ref, start, end), wages in zip(last_quarters(len(quarterly_wages)), quarterly_wages, strict=True):
        report = report_body(
            ref,
            start.isoformat(),
            end.isoformat(),
            wages=wages,
            business="0",
            prop="0",
            transfer="0",
            cost="0",
        )
        assert client.post(f"/api/v1/households/{hid}/reports", json=report, headers=cadre).status_code == 201
    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == hid)
            .values(
                monitoring_status=MonitoringStatus.monitored,
                risk_types=["因病"],
                monitored_since=local_today() - timedelta(days=since_days),
            )
        )
    if with_measure:
        created = client.post(f"/api/v1/households/{hid}/assistance", json=HEALTH, headers=cadre)
        assert created.status_code == 201, created.text
    return hid


HEALTH = {"category": "健康帮扶", "item": "大病救助", "department": "医保局", "started_on": "2026-06-01"}
# monitored half a year, its risk type answered
READY: dict[str, Any] = {"since_days": 200, "with_measure": True}


def propose(client: TestClient, accounts: Accounts, hid: int) -> Any:
    body = {"kind": "帮扶消除", "reason": "务工收入稳定"}
    return client.post(f"/api/v1/households/{hid}/elimination", json=body, headers=accounts["cadre_a"])


def test_a_measure_closes_the_gap_for_its_risk_type(client: TestClient, accounts: Accounts) -> None:
    hid = monitored(client, accounts, ("30000", "30000", "30000"))
    listed = client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["township_1"]).json()
    assert listed["gaps"] == [{"risk_type": "因病", "days_without_measure": 40}]
    measure = {
        "category": "健康帮扶",
        "item": "大病救助",
        "department": "医保局",
        "started_on": "2026-11-01",
        "amount": "3000",
    }
    created = client.post(f"/api/v1/households/{hid}/assistance", json=measure, headers=accounts["cadre_a"])
    assert created.status_code == 201, created.text
    listed = client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["cadre_a"]).json()
    assert listed["gaps"] == []
    assert [m["category"] for m in listed["measures"]] == ["健康帮扶"]
    url = f"/api/v1/households/{hid}/assistance/{created.json()['id']}"
    assert client.patch(url, json={"status": "stopped"}, headers=accounts["cadre_b"]).status_code == 404
    bad_status = client.patch(url, json={"status": "paused"}, headers=accounts["cadre_a"])
    assert (bad_status.status_code, bad_status.json()["field"]) == (422, "status")
    stopped = client.patch(url, json={"status": "stopped"}, headers=accounts["cadre_a"])
    assert stopped.json()["status"] == "stopped"
    listed = client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["cadre_a"]).json()
    assert [g["risk_type"] for g in listed["gaps"]] == ["因病"]  # a stopped measure answers nothing
    elsewhere = client.patch(
        f"/api/v1/households/{hid + 1000}/assistance/{created.json()['id']}",
        json={"status": "done"},
        headers=accounts["cadre_a"],
    )
    assert elsewhere.status_code == 404
    other = client.post(f"/api/v1/households/{hid}/assistance", json=measure, headers=accounts["cadre_b"])
    assert other.status_code == 404
    bad = client.post(
        f"/api/v1/households/{hid}/assistance",
        json=measure | {"category": "发钱"},
        headers=accounts["cadre_a"],
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "category")


def test_elimination_is_refused_when_income_fell_below_the_line_in_the_period(
    client: TestClient, accounts: Accounts
) -> None:
    hid = monitored(client, accounts, ("1000", "1000", "30000"), **READY)
    refused = propose(client, accounts, hid)
    assert refused.status_code == 409
    assert "below this year's line" in refused.json()["message"]


def test_elimination_needs_reports_covering_the_whole_period(client: TestClient, accounts: Accounts) -> None:
    """One good quarter is not six months above the line."""
    hid = monitored(client, accounts, ("30000",), **READY)
    refused = propose(client, accounts, hid)
    assert refused.status_code == 409
    assert "no report covers" in refused.json()["message"]


def test_elimination_is_refused_for_a_no_labour_household_on_the_safety_net(
    client: TestClient, accounts: Accounts
) -> None:
    members = [
        member_body("户主", birth=date(1940, 3, 1), labour_capacity="丧失劳动力", dibao=True),
        member_body("配偶", male=False, birth=date(1942, 6, 1), labour_capacity="丧失劳动力"),
    ]
    hid = monitored(client, accounts, ("30000", "30000", "30000"), members=members, **READY)
    refused = propose(client, accounts, hid)
    assert refused.status_code == 409
    assert "stays monitored" in refused.json()["message"]


def test_a_household_that_cannot_work_is_not_eliminated_even_before_the_safety_net(
    client: TestClient, accounts: Accounts
) -> None:
    members = [  # no 低保, no 特困 yet: income alone (a relative's support) does not end monitoring
        member_body("户主", birth=date(1940, 3, 1), labour_capacity="丧失劳动力"),
        member_body("配偶", male=False, birth=date(1942, 6, 1), labour_capacity="无劳动力"),
    ]
    hid = monitored(client, accounts, ("30000", "30000", "30000"), members=members, **READY)
    refused = propose(client, accounts, hid)
    assert refused.status_code == 409
    assert "兜底" in refused.json()["message"]


def test_elimination_names_every_missing_condition(client: TestClient, accounts: Accounts) -> None:
    hid = monitored(client, accounts, ("30000", "30000", "30000"))  # 40 days, no measure
    message = propose(client, accounts, hid).json()["message"]
    assert "at least 6 months" in message
    assert "no measure in place for 因病" in message
    planned = client.post(
        f"/api/v1/households/{hid}/assistance",
        json=HEALTH | {"status": "planned"},
        headers=accounts["cadre_a"],
    )
    assert planned.status_code == 201, planned.text
    assert "no measure in place for 因病" in propose(client, accounts, hid).json()["message"]  # not yet
    with db.session_scope() as session:
        session.execute(update(Household).where(Household.id == hid).values(monitored_since=date(2026, 1, 1)))
    client.patch(
        f"/api/v1/households/{hid}/assistance/{planned.json()['id']}",
        json={"status": "in_progress"},
        headers=accounts["cadre_a"],
    )
    assert propose(client, accounts, hid).status_code == 201


def test_elimination_holds_every_report_against_this_years_line(
    client: TestClient, accounts: Accounts, settings: Any
) -> None:
    from app.models import PolicyVersion
    from app.schemas.policy import MonitoringLine, PolicyData

    lines = [line for line in PolicyData().monitoring_lines if line.year != 2026]
    policy = PolicyData(
        monitoring_lines=[*lines, MonitoringLine(year=2026, amount=12000, verified=False)],
        elimination_months=12,
    )
    with db.session_scope() as session:
        session.add(PolicyVersion(version=2, created_by="test", data=policy.model_dump(mode="json")))
    # 7,500 a quarter for three people: 10,000 a head, above 2025's 8,700 but below 2026's 12,000
    hid = monitored(client, accounts, ("7500", "7500", "7500", "7500", "7500"), **READY)
    message = propose(client, accounts, hid).json()["message"]
    assert "below this year's line 12,000 in the report ending 2025-12-31" in message


def test_elimination_runs_the_steps_and_ends_monitoring(client: TestClient, accounts: Accounts) -> None:
    hid = monitored(client, accounts, ("30000", "30000", "30000"), **READY)
    proposed = propose(client, accounts, hid)
    assert proposed.status_code == 201, proposed.text
    case_id = proposed.json()["id"]

    def act(who: str, **body: Any) -> Any:
        response = client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=accounts[who])
        assert response.status_code == 200, response.text
        return response.json()

    act(
        "cadre_a",
        action="verify",
        visited_on=local_today().isoformat(),
        visitors=["李文"],
        findings="收入稳定",
        consent_signed=True,
    )
    act("cadre_a", action="review", held_on=local_today().isoformat(), outcome="agreed", attendees=15)
    act("cadre_a", action="notice", starts_on=local_today().isoformat())
    with db.session_scope() as session:  # the notice's days go by
        case = session.get(Case, case_id)
        assert case is not None
        assert case.notice_ends_on is not None
        case.notice_ends_on -= timedelta(days=6)
    act("township_1", action="approve")
    with db.session_scope() as session:  # meanwhile the household lost its labour and lives on 低保
        session.execute(update(Household).where(Household.id == hid).values(no_labour_capacity=True))
        session.execute(update(Member).where(Member.household_id == hid).values(dibao=True))
    stale = client.post(
        f"/api/v1/cases/{case_id}/actions", json={"action": "confirm"}, headers=accounts["district"]
    )
    assert (stale.status_code, "stays monitored" in stale.json()["message"]) == (409, True)
    with db.session_scope() as session:
        session.execute(update(Household).where(Household.id == hid).values(no_labour_capacity=False))
    done = act("district", action="confirm")
    assert (done["status"], done["outcome"]) == ("closed", "confirmed")
    with db.session_scope() as session:
        household = session.get(Household, hid)
        assert household is not None
        assert household.monitoring_status == MonitoringStatus.risk_eliminated
        assert (
            household.risk_eliminated_on == local_today()
        )  # the decisions export and monthly tables read it


def test_the_green_channel_helps_a_disaster_case_before_the_decision(
    client: TestClient, accounts: Accounts, settings: Any
) -> None:
    from app.schemas.policy import PolicyData
    from app.services.cases import cases
    from app.services.platform.access import Actor

    cadre = accounts["cadre_a"]
    flooded, ill = (
        int(client.post("/api/v1/households", json=household_body(), headers=cadre).json()["id"])
        for _ in range(2)
    )
    with db.session_scope() as session:
        cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [
                cases.SignalIn(
                    flooded, "risk_scorer", "medium", [{"code": "sudden_event", "risk_type": "因自然灾害"}]
                ),
                cases.SignalIn(ill, "risk_scorer", "high", [{"code": "rigid_spending", "risk_type": "因病"}]),
            ],
        )
    measure = {
        "category": "住房安全保障",
        "item": "临时安置",
        "department": "应急局",
        "started_on": "2026-11-20",
    }
    assert (
        client.post(f"/api/v1/households/{flooded}/assistance", json=measure, headers=cadre).status_code
        == 201
    )
    refused = client.post(f"/api/v1/households/{ill}/assistance", json=measure, headers=cadre)
    assert refused.status_code == 409


def test_a_cadre_reported_accident_opens_the_green_channel(client: TestClient, accounts: Accounts) -> None:
    cadre = accounts["cadre_a"]
    hid = int(client.post("/api/v1/households", json=household_body(), headers=cadre).json()["id"])
    measure = {"category": "健康帮扶", "item": "医疗救助", "department": "医保局", "started_on": "2026-11-20"}
    url = f"/api/v1/households/{hid}/assistance"
    reported = client.post(
        "/api/v1/cases", json={"household_id": hid, "description": "户主车祸住院"}, headers=cadre
    )
    assert reported.status_code == 201, reported.text
    assert client.post(url, json=measure, headers=cadre).status_code == 409  # the cause is not known
    again = {"household_id": hid, "description": "车祸，交警认定", "risk_type": "因意外事故"}
    assert client.post("/api/v1/cases", json=again, headers=cadre).json()["outcome"] == "attached"
    assert client.post(url, json=measure, headers=cadre).status_code == 201


def test_a_measure_finished_in_an_earlier_period_of_monitoring_answers_nothing_now(
    client: TestClient, accounts: Accounts
) -> None:
    hid = monitored(client, accounts, ("30000", "30000", "30000"), since_days=200)
    old = HEALTH | {"started_on": "2022-03-01", "status": "done"}  # before this identification
    assert (
        client.post(f"/api/v1/households/{hid}/assistance", json=old, headers=accounts["cadre_a"]).status_code
        == 201
    )
    listed = client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["cadre_a"]).json()
    assert [g["risk_type"] for g in listed["gaps"]] == ["因病"]
    assert "no measure in place for 因病" in propose(client, accounts, hid).json()["message"]
    planned = HEALTH | {"started_on": "2026-12-20", "status": "planned"}  # arranged: the gap warning closes
    client.post(f"/api/v1/households/{hid}/assistance", json=planned, headers=accounts["cadre_a"])
    assert (
        client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["cadre_a"]).json()["gaps"] == []
    )
    assert "no measure in place for 因病" in propose(client, accounts, hid).json()["message"]  # not under way
