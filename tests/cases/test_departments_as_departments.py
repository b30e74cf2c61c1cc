"""Departments work as departments: an account belongs to one department and sends its rows only; a
department reads the details of households it has a signal or a referral about, and never case findings;
its rows are judged by its own thresholds; a person registered nowhere gets a provisional household and
a case; a confirmed need is referred to the department that owns the measure, which answers."""

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app import db
from app.models import AuditEntry, Case, Household, PolicyVersion, Signal
from app.models.enums import MonitoringStatus
from app.schemas.policy import PolicyData
from tests.fixtures import (
    COUNTY,
    TOWNSHIP_1,
    VILLAGE_A,
    Accounts,
    make_id,
    member_body,
    new_household,
    report_body,
)

HEADER = "department,id_number,name,village_code,signal_type,amount,occurred_on,note"
SIGNALS = "/api/v1/department-signals"


def row(
    department: str, id_number: str, signal_type: str, amount: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "department": department,
        "id_number": id_number,
        "name": "某某",
        "village_code": VILLAGE_A,
        "signal_type": signal_type,
        "occurred_on": "2026-11-20",
        **({"amount": amount} if amount is not None else {}),
        **extra,
    }


def send(client: TestClient, headers: dict[str, str], *rows: dict[str, Any]) -> dict[str, Any]:
    response = client.post(SIGNALS, json={"signals": list(rows)}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def head_of(household: dict[str, Any]) -> str:
    with db.session_scope() as session:
        from app.config import get_settings
        from app.models import Member
        from app.pii import cipher_for

        member = session.get(Member, household["members"][0]["id"])
        assert member is not None
        return cipher_for(get_settings()).decrypt(member.id_number_encrypted)


# ---- 11: one department per account ------------------------------------------------------------------


def test_an_account_sends_its_own_departments_rows_only(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    person = head_of(household)
    body = send(
        client,
        accounts["department"],  # 医保
        row("教育", person, "dropout"),
        row("医保", person, "dropout"),
        row("医保", person, "medical_self_pay"),  # an amount is needed against the threshold
    )
    assert {(p["line"], p["field"]) for p in body["invalid"]} == {
        (1, "department"),
        (2, "signal_type"),
        (3, "amount"),
    }
    assert body["outcomes"] == {"unmatched": 3}
    assert "医保's rows only" in body["invalid"][0]["message"]


def test_a_department_account_needs_a_department(client: TestClient, accounts: Accounts) -> None:
    base = {"password": "correct-horse-battery", "region_code": COUNTY}
    missing = client.post(
        "/api/v1/users",
        json=base | {"username": "dept-x", "role": "department_user"},
        headers=accounts["admin"],
    )
    assert (missing.status_code, missing.json()["field"]) == (422, "department")
    unknown = client.post(
        "/api/v1/users",
        json=base | {"username": "dept-y", "role": "department_user", "department": "外星"},
        headers=accounts["admin"],
    )
    assert (unknown.status_code, unknown.json()["field"]) == (422, "department")
    stray = client.post(
        "/api/v1/users",
        json=base | {"username": "officer-z", "role": "district_officer", "department": "医保"},
        headers=accounts["admin"],
    )
    assert (stray.status_code, stray.json()["field"]) == (422, "department")
    made = client.post(
        "/api/v1/users",
        json=base | {"username": "dept-ok", "role": "department_user", "department": "残联"},
        headers=accounts["admin"],
    )
    assert made.status_code == 201, made.text
    assert made.json()["department"] == "残联"


def test_a_department_reads_details_only_where_its_row_opened_a_case_and_never_case_findings(
    client: TestClient, accounts: Accounts
) -> None:
    sick = member_body("户主", birth=date(1966, 1, 1), health="患有大病")
    household = new_household(client, accounts["cadre_a"], members=[sick])
    hid = household["id"]
    client.post(
        f"/api/v1/households/{hid}/reports",
        json=report_body("y", "2025-12-01", "2026-11-30"),
        headers=accounts["cadre_a"],
    )
    medical = accounts["department"]  # 医保: nothing about this household yet
    seen = client.get(f"/api/v1/households/{hid}", headers=medical).json()
    assert seen["address"] == ""
    assert seen["members"][0]["health"] is None
    for path in ("reports", "history", "risk", "signals", "assistance"):
        refused = client.get(f"/api/v1/households/{hid}/{path}", headers=medical)
        assert refused.status_code == 403, (path, refused.text)
    listed = client.get("/api/v1/households", headers=medical).json()["items"]
    assert [h["address"] for h in listed] == [""]
    for finding in ({"reason": "income_below_line"}, {"risk_level": "high"}):
        searched = client.get("/api/v1/households", params=finding, headers=medical)
        assert searched.status_code == 403, searched.text
    for elsewhere in (
        "/api/v1/visits/due",
        f"/api/v1/households/{hid}/type-corrections",
        "/api/v1/type-corrections",
    ):
        assert client.get(elsewhere, headers=medical).status_code == 403, elsewhere

    # a 1-yuan row below the threshold is kept on the record and buys no access
    send(
        client, medical, row("医保", head_of(household), "outpatient_self_pay", "1", occurred_on="2026-11-02")
    )
    assert client.get(f"/api/v1/households/{hid}/reports", headers=medical).status_code == 403

    send(client, medical, row("医保", head_of(household), "medical_self_pay", "30000"))  # opens a case
    seen = client.get(f"/api/v1/households/{hid}", headers=medical).json()
    assert (seen["address"], seen["members"][0]["health"]) == ("一组 12 号", "患有大病")
    assert client.get(f"/api/v1/households/{hid}/reports", headers=medical).status_code == 200
    correction = {"household_type": "一般农户", "reason": "户主精神疾病，家属误报户类型"}
    proposed = client.post(
        f"/api/v1/households/{hid}/type-corrections", json=correction, headers=accounts["cadre_a"]
    )
    assert proposed.status_code == 201, proposed.text
    history = client.get(f"/api/v1/households/{hid}/history", headers=medical).json()["items"]
    assert history
    assert {e["action"].split(".")[0] for e in history} <= {"household", "member", "report", "assistance"}
    assert not [e for e in history if e["action"].startswith(("case.", "household.type"))]  # no findings
    assert "精神" not in str(history)
    district = client.get(f"/api/v1/households/{hid}/history", headers=accounts["district"]).json()["items"]
    assert [e for e in district if e["action"] == "case.open"]
    civil = accounts["department_2"]  # 民政 has no case or referral here: still no details
    assert client.get(f"/api/v1/households/{hid}/reports", headers=civil).status_code == 403
    send(client, civil, row("民政", head_of(household), "dibao"))  # a roster row: on the record only
    assert client.get(f"/api/v1/households/{hid}/reports", headers=civil).status_code == 403
    own = client.get(f"/api/v1/households/{hid}/signals", headers=medical).json()["items"]
    assert {s["source"] for s in own} == {"department"}
    assert len(own) == 2  # its own two rows, not 民政's nor the scorer's


def test_a_department_account_without_a_department_sees_nothing(
    client: TestClient, accounts: Accounts
) -> None:
    from app.models import User

    household = new_household(client, accounts["cadre_a"])
    send(client, accounts["department"], row("医保", head_of(household), "medical_self_pay", "30000"))
    headers = accounts["department_2"]
    with db.session_scope() as session:  # an account from before departments were data
        user = session.get(User, accounts.ids["department_2"])
        assert user is not None
        user.department = None
    for path in (
        f"/api/v1/households/{household['id']}/reports",
        f"/api/v1/households/{household['id']}/history",
    ):
        assert client.get(path, headers=headers).status_code == 403
    assert client.get(f"{SIGNALS}/unmatched", headers=headers).status_code == 403
    assert (
        client.post(SIGNALS, json={"signals": [row("民政", "x", "dibao")]}, headers=headers).status_code
        == 403
    )


# ---- 12: thresholds ---------------------------------------------------------------------------------------


def test_medical_rows_below_the_threshold_are_recorded_and_the_year_adds_up(
    client: TestClient, accounts: Accounts
) -> None:
    ordinary = new_household(client, accounts["cadre_a"], household_type="一般农户")
    lifted = new_household(client, accounts["cadre_a"])  # 脱贫户: 5,000 is enough
    medical = accounts["department"]
    first = send(client, medical, row("医保", head_of(ordinary), "medical_self_pay", "3000"))
    assert first["outcomes"] == {"recorded": 1, "unmatched": 0}
    assert client.get("/api/v1/cases", headers=accounts["district"]).json()["total"] == 0
    record = client.get(f"/api/v1/households/{ordinary['id']}/signals", headers=accounts["cadre_a"]).json()
    assert [s["outcome"] for s in record["items"]] == ["recorded"]  # on the household's record
    second = send(client, medical, row("医保", head_of(ordinary), "medical_self_pay", "17000"))
    assert second["outcomes"] == {"opened": 1, "unmatched": 0}  # 20,000 in twelve months
    case = client.get("/api/v1/cases", headers=accounts["district"]).json()["items"][0]
    assert "累计 20000" in case["reasons"][0]["text"]
    assert (
        send(client, medical, row("医保", head_of(lifted), "medical_self_pay", "6000"))["outcomes"]["opened"]
        == 1
    )


def test_thresholds_are_policy_data(client: TestClient, accounts: Accounts) -> None:
    policy = PolicyData()
    medical = policy.department("医保")
    assert medical is not None
    rule = medical.rule("medical_self_pay")
    assert rule is not None
    rule.threshold = rule.threshold_lifted = Decimal(2000)
    with db.session_scope() as session:
        session.add(PolicyVersion(version=2, created_by="test", data=policy.model_dump(mode="json")))
    ordinary = new_household(client, accounts["cadre_a"], household_type="一般农户")
    opened = send(client, accounts["department"], row("医保", head_of(ordinary), "medical_self_pay", "3000"))
    assert opened["outcomes"] == {"opened": 1, "unmatched": 0}


# ---- 13: people registered nowhere ----------------------------------------------------------------------


def test_a_person_registered_nowhere_gets_a_provisional_household_and_a_case(
    client: TestClient, accounts: Accounts
) -> None:
    stranger = make_id(date(1958, 4, 4))
    body = send(client, accounts["department_ems"], row("应急", stranger, "disaster", name="张某"))
    assert body["outcomes"] == {"opened": 1, "unmatched": 0}
    cases = client.get("/api/v1/cases", headers=accounts["cadre_a"]).json()["items"]
    assert len(cases) == 1
    with db.session_scope() as session:
        household = session.get(Household, cases[0]["household_id"])
        assert household is not None
        assert (household.provisional, household.village_code) == (True, VILLAGE_A)
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.household_id == household.id)
        ).all()
    assert "household.create_provisional" in actions
    again = send(client, accounts["department_ems"], row("应急", stranger, "disaster", name="张某"))
    assert again["outcomes"] == {"attached": 1, "unmatched": 0}  # the same person: the same household


def test_rows_that_cannot_be_placed_stay_unmatched_with_no_id_number_in_clear(
    client: TestClient, accounts: Accounts
) -> None:
    stranger, other = make_id(date(1959, 5, 5)), make_id(date(1960, 6, 6))
    nowhere = row("应急", stranger, "disaster", village_code=TOWNSHIP_1)  # a township, not a village
    assert send(client, accounts["department_ems"], nowhere)["outcomes"] == {"unmatched": 1}
    # Excel for Mac (bare CR line endings); the columns shifted: an ID number lands in the note
    shifted = f"{HEADER}\r应急,{other},某某,{VILLAGE_A},disaster,,2026-11-20,{other} 13812345678,extra\r"
    response = client.post(
        f"{SIGNALS}/import",
        content=shifted,
        headers=accounts["department_ems"] | {"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["outcomes"] == {"unmatched": 1}
    with db.session_scope() as session:
        stored = " ".join(f"{s.note} {s.reasons}" for s in session.scalars(select(Signal)))
    for number in (stranger, other, "13812345678"):
        assert number not in stored
    listed = client.get(f"{SIGNALS}/unmatched", headers=accounts["department_ems"]).json()
    assert listed["total"] == 2
    assert other not in str(listed)


# ---- 14: referrals ----------------------------------------------------------------------------------------


def _monitored(client: TestClient, accounts: Accounts, **body: Any) -> int:
    hid = int(new_household(client, accounts["cadre_a"], **body)["id"])
    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == hid)
            .values(
                monitoring_status=MonitoringStatus.monitored,
                risk_types=["因病"],
                monitored_since=date(2026, 6, 1),
            )
        )
    return hid


def test_a_referral_goes_to_its_department_which_answers_and_the_answer_becomes_the_measure(
    client: TestClient, accounts: Accounts
) -> None:
    hid = _monitored(client, accounts)
    refer = {"department": "民政", "measure_category": "综合保障", "need": "户主大病，申请纳入低保"}
    not_yet = new_household(client, accounts["cadre_a"])["id"]
    refused = client.post(f"/api/v1/households/{not_yet}/referrals", json=refer, headers=accounts["cadre_a"])
    assert refused.status_code == 409  # only a confirmed (monitored) household is referred
    made = client.post(f"/api/v1/households/{hid}/referrals", json=refer, headers=accounts["cadre_a"])
    assert made.status_code == 201, made.text
    rid = made.json()["id"]

    civil, medical = accounts["department_2"], accounts["department"]
    assert [r["id"] for r in client.get("/api/v1/referrals", headers=civil).json()["items"]] == [rid]
    assert client.get("/api/v1/referrals", headers=medical).json()["total"] == 0
    assert client.post(f"/api/v1/referrals/{rid}/accept", headers=medical).status_code == 404
    assert client.post(f"/api/v1/referrals/{rid}/accept", headers=accounts["cadre_a"]).status_code == 403
    assert (
        client.get(f"/api/v1/households/{hid}/reports", headers=civil).status_code == 200
    )  # it may look now
    answer = {
        "outcome": "granted",
        "answered_on": "2026-11-30",
        "answer": "批准纳入农村低保",
        "amount": "4800",
    }
    early = client.post(f"/api/v1/referrals/{rid}/answer", json=answer, headers=civil)
    assert early.status_code == 409  # accept first
    assert client.post(f"/api/v1/referrals/{rid}/accept", headers=civil).json()["status"] == "accepted"
    granted = client.post(f"/api/v1/referrals/{rid}/answer", json=answer, headers=civil)
    assert granted.json()["status"] == "granted", granted.text
    measures = client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["cadre_a"]).json()
    [measure] = measures["measures"]
    assert (measure["category"], measure["department"], measure["started_on"]) == (
        "综合保障",
        "民政",
        "2026-11-30",
    )
    assert measure["id"] == granted.json()["assistance_id"]
    assert measures["gaps"] == []  # 因病 answered by 综合保障
    with db.session_scope() as session:
        steps = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.startswith("referral."))
            .order_by(AuditEntry.seq)
        ).all()
    assert steps == ["referral.refer", "referral.accept", "referral.answer"]


def test_a_refused_referral_adds_no_measure(client: TestClient, accounts: Accounts) -> None:
    hid = _monitored(client, accounts)
    refer = {"department": "民政", "measure_category": "综合保障", "need": "申请临时救助"}
    rid = client.post(f"/api/v1/households/{hid}/referrals", json=refer, headers=accounts["cadre_a"]).json()[
        "id"
    ]
    civil = accounts["department_2"]
    client.post(f"/api/v1/referrals/{rid}/accept", headers=civil)
    answer = {"outcome": "refused", "answered_on": "2026-11-30", "answer": "家庭收入超过标准"}
    assert (
        client.post(f"/api/v1/referrals/{rid}/answer", json=answer, headers=civil).json()["status"]
        == "refused"
    )
    assert (
        client.get(f"/api/v1/households/{hid}/assistance", headers=accounts["cadre_a"]).json()["measures"]
        == []
    )


def test_suggestions_from_the_households_own_data(client: TestClient, accounts: Accounts) -> None:
    idle = [
        member_body("户主", birth=date(1975, 1, 1), employment="无"),
        member_body("配偶", male=False, birth=date(1976, 1, 1), employment="无"),
    ]
    hid = _monitored(client, accounts, members=idle)
    poor = report_body(
        "y", "2025-12-01", "2026-11-30", wages="0", business="6000", prop="0", transfer="0", cost="0"
    )
    client.post(f"/api/v1/households/{hid}/reports", json=poor, headers=accounts["cadre_a"])  # 3,000 a head
    found = client.get(f"/api/v1/households/{hid}/referral-suggestions", headers=accounts["cadre_a"]).json()
    assert [(s["department"], s["measure_category"]) for s in found] == [
        ("民政", "综合保障"),
        ("人社", "就业帮扶"),
    ]
    assert "低保标准 4,500" in found[0]["reason"]
    with db.session_scope() as session:  # on 低保 already, employed: nothing to suggest
        from app.models import Member

        session.execute(
            update(Member).where(Member.household_id == hid).values(dibao=True, employment="本地务工")
        )
    assert (
        client.get(f"/api/v1/households/{hid}/referral-suggestions", headers=accounts["cadre_a"]).json() == []
    )
    assert (
        client.get(
            f"/api/v1/households/{hid}/referral-suggestions", headers=accounts["department"]
        ).status_code
        == 403
    )


def test_the_same_event_sent_twice_counts_once_and_old_events_do_not_count(
    client: TestClient, accounts: Accounts
) -> None:
    ordinary = new_household(client, accounts["cadre_a"], household_type="一般农户")
    person, medical = head_of(ordinary), accounts["department"]
    bill = row("医保", person, "medical_self_pay", "10000", occurred_on="2026-10-01")
    assert send(client, medical, bill)["outcomes"] == {"recorded": 1, "unmatched": 0}
    assert send(client, medical, bill)["outcomes"] == {"recorded": 1, "unmatched": 0}  # a resend: not 20,000
    old = row("医保", person, "medical_self_pay", "15000", occurred_on="2025-06-01")  # outside 12 months
    assert send(client, medical, old)["outcomes"] == {"recorded": 1, "unmatched": 0}
    another = row("医保", person, "medical_self_pay", "10000", occurred_on="2026-11-01")
    assert send(client, medical, another)["outcomes"] == {"opened": 1, "unmatched": 0}  # 10,000 + 10,000


def test_a_persons_rows_add_up_before_they_are_registered_and_one_household_is_made(
    client: TestClient, accounts: Accounts
) -> None:
    from app.models import Member

    stranger, medical = make_id(date(1957, 7, 7)), accounts["department"]
    for n, day in enumerate(("2026-06-01", "2026-08-01")):
        bill = row("医保", stranger, "medical_self_pay", "8000", occurred_on=day)
        assert send(client, medical, bill)["outcomes"] == {"unmatched": 1}, n
    third = row("医保", stranger, "medical_self_pay", "8000", occurred_on="2026-10-01")
    assert send(client, medical, third)["outcomes"] == {"opened": 1, "unmatched": 0}  # 24,000 ≥ 20,000
    with db.session_scope() as session:
        [household] = session.scalars(select(Household).where(Household.provisional.is_(True))).all()
        session.execute(
            update(Member).where(Member.household_id == household.id).values(left_on=date(2026, 11, 1))
        )
        session.execute(update(Case).values(status="closed", outcome="rejected"))
    again = send(
        client, medical, row("医保", stranger, "medical_self_pay", "30000", occurred_on="2026-11-15")
    )
    assert again["outcomes"] in ({"opened": 1, "unmatched": 0}, {"suppressed": 1, "unmatched": 0})
    with db.session_scope() as session:  # the household made for them before, not a second one
        assert len(session.scalars(select(Household).where(Household.provisional.is_(True))).all()) == 1


def test_a_roster_row_is_kept_on_the_record_and_opens_nothing(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    stranger = make_id(date(1950, 1, 1))
    civil = accounts["department_2"]
    body = send(client, civil, row("民政", head_of(household), "dibao"), row("民政", stranger, "dibao"))
    assert body["outcomes"] == {"recorded": 1, "unmatched": 1}  # no case, no provisional household
    assert client.get("/api/v1/cases", headers=accounts["district"]).json()["total"] == 0


def test_the_village_cannot_withdraw_a_case_an_application_joined(
    client: TestClient, accounts: Accounts, settings: Any
) -> None:
    from app.services.cases import cases
    from app.services.platform.access import Actor

    household = new_household(client, accounts["cadre_a"])
    reported = client.post(
        "/api/v1/cases",
        json={"household_id": household["id"], "level": "high", "description": "户主受伤"},
        headers=accounts["cadre_a"],
    ).json()
    with db.session_scope() as session:  # the household's own application joins the case
        application = [{"code": "self_application", "text": "农户自主申报"}]
        cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("relief"),
            [cases.SignalIn(household["id"], "self_application", "high", application)],
        )
    withdrawn = client.post(
        f"/api/v1/cases/{reported['case_id']}/actions",
        json={"action": "close", "reason": "已解决"},
        headers=accounts["cadre_a"],
    )
    assert withdrawn.status_code == 403
    assert "self_application" in withdrawn.json()["message"]


def test_a_grant_for_a_household_no_longer_monitored_adds_no_measure_and_unknown_work_suggests_nothing(
    client: TestClient, accounts: Accounts
) -> None:
    hid = _monitored(client, accounts)  # members' employment not recorded
    assert (
        client.get(f"/api/v1/households/{hid}/referral-suggestions", headers=accounts["cadre_a"]).json() == []
    )
    refer = {"department": "人社", "measure_category": "就业帮扶", "need": "推荐就业"}
    made = client.post(f"/api/v1/households/{hid}/referrals", json=refer, headers=accounts["cadre_a"])
    rid = made.json()["id"]
    labour = accounts.create("department_hr")
    assert labour
    with db.session_scope() as session:
        session.execute(
            update(Household)
            .where(Household.id == hid)
            .values(monitoring_status=MonitoringStatus.risk_eliminated)
        )
    headers = accounts["department_hr"]
    client.post(f"/api/v1/referrals/{rid}/accept", headers=headers)
    answer = {"outcome": "granted", "answered_on": "2026-11-30", "answer": "安排公益岗位"}
    late = client.post(f"/api/v1/referrals/{rid}/answer", json=answer, headers=headers)
    assert (late.status_code, late.json()["field"]) == (409, "outcome")
