"""Signals open cases: one open case per household, no pile-up, every signal kept, cases scoped."""

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app import db
from app.clock import local_date, local_today
from app.config import Settings, get_settings
from app.models import Case, Household, Notification, Signal
from app.models.base import utcnow
from app.models.enums import MonitoringStatus, Role
from app.risk import scorer
from app.schemas.policy import PolicyData
from app.services.cases import cases
from app.services.platform.access import Actor
from tests.fixtures import (
    COUNTY,
    TOWNSHIP_1,
    VILLAGE_A,
    VILLAGE_B,
    VILLAGE_C,
    Accounts,
    new_household,
    report_body,
)

AS_OF = date(2026, 1, 15)
POLICY = PolicyData()
HIGH = [{"code": "income_below_line", "text": "人均纯收入 7,000 元 < 监测线 8,700 元"}]


def signal(settings: Settings, household_id: int, level: str = "high", reasons: Any = None) -> Signal:
    with db.session_scope() as session:
        [row] = cases.receive(
            session,
            settings,
            POLICY,
            Actor.system("test"),
            [cases.SignalIn(household_id, "risk_scorer", level, reasons if reasons is not None else HIGH)],
        )
        session.expunge(row)
        return row


def open_cases(household_id: int) -> list[Case]:
    with db.session_scope() as session:
        found = session.scalars(select(Case).where(Case.household_id == household_id, Case.status == "open"))
        return list(found)


def test_a_high_flag_opens_one_case_in_the_village_and_a_second_attaches(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    run = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert cases.open_for_run(db.get_sessionmaker(), settings, run.id) == {"opened": 1}
    again = scorer.score_all(db.get_sessionmaker(), get_settings(), as_of=AS_OF, triggered_by="test")
    assert cases.open_for_run(db.get_sessionmaker(), settings, again.id) == {"attached": 1}
    [case] = open_cases(poor)
    assert (case.step, case.source, case.level) == ("village_verification", "risk_scorer", "high")
    with db.session_scope() as session:
        assert session.get(Household, poor).monitoring_status == MonitoringStatus.under_verification  # type: ignore[union-attr]
    listed = client.get("/api/v1/cases", headers=accounts["cadre_a"]).json()
    assert [c["id"] for c in listed["items"]] == [case.id]
    detail = client.get(f"/api/v1/cases/{case.id}", headers=accounts["cadre_a"]).json()
    assert [e["action"] for e in detail["timeline"]] == ["opened", "signal"]
    assert detail["reasons"][0]["code"] == "income_below_line"
    assert detail["overdue"] is False


def test_the_database_itself_refuses_a_second_open_case(poor: int, settings: Settings) -> None:
    """The partial unique index, not only the code, keeps one open case per household."""
    from sqlalchemy.exc import IntegrityError

    first = signal(settings, poor)
    with db.session_scope() as session:
        case = session.get(Case, first.case_id)
        assert case is not None
        columns = {c.key: getattr(case, c.key) for c in Case.__table__.columns if c.key != "id"}
    with db.session_scope() as session:
        session.add(Case(**columns))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    with db.session_scope() as session:  # a closed one beside it is fine
        session.add(Case(**(columns | {"status": "closed", "outcome": "withdrawn"})))


def test_cases_are_scoped_to_the_region(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    assert client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_b"]).status_code == 404
    assert client.get("/api/v1/cases", headers=accounts["cadre_b"]).json()["total"] == 0
    assert client.get(f"/api/v1/cases/{case_id}", headers=accounts["township_1"]).status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}", headers=accounts["township_2"]).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=accounts["district"]).status_code == 200
    assert client.get("/api/v1/cases", headers=accounts["admin"]).status_code == 403


def test_a_monitored_household_gets_no_new_case(poor: int, settings: Settings) -> None:
    with db.session_scope() as session:
        session.execute(
            update(Household).where(Household.id == poor).values(monitoring_status=MonitoringStatus.monitored)
        )
    row = signal(settings, poor)
    assert (row.outcome, row.case_id) == ("monitored", None)
    assert open_cases(poor) == []


def test_a_monitored_households_signals_are_kept_on_its_monitoring_record(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    first = signal(settings, poor)  # opens a case
    with db.session_scope() as session:
        session.execute(
            update(Case).where(Case.id == first.case_id).values(status="closed", outcome="confirmed")
        )
        session.execute(
            update(Household).where(Household.id == poor).values(monitoring_status=MonitoringStatus.monitored)
        )
    flood = [{"code": "sudden_event", "risk_type": "因自然灾害", "text": "洪灾损失 12,000 元"}]
    signal(settings, poor, reasons=flood)
    url = f"/api/v1/households/{poor}/signals"
    record = client.get(url, headers=accounts["cadre_a"]).json()
    assert record["total"] == 2
    newest = record["items"][0]
    assert (newest["outcome"], newest["case_id"], newest["reasons"]) == ("monitored", None, flood)
    assert record["items"][1]["outcome"] == "opened"
    only = client.get(url, params={"outcome": "monitored"}, headers=accounts["township_1"]).json()
    assert [item["outcome"] for item in only["items"]] == ["monitored"]
    assert client.get(url, headers=accounts["cadre_b"]).status_code == 404  # another village
    assert client.get(url, headers=accounts["township_2"]).status_code == 404
    assert client.get(url, params={"outcome": "lost"}, headers=accounts["cadre_a"]).status_code == 422


def test_after_a_rejection_the_same_flag_is_suppressed_unless_it_rises(poor: int, settings: Settings) -> None:
    first = signal(settings, poor, level="medium")
    with db.session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == first.case_id)
            .values(status="closed", outcome="rejected", closed_at=utcnow() - timedelta(days=5))
        )
    assert signal(settings, poor, level="medium").outcome == "suppressed"
    assert signal(settings, poor, level="high").outcome == "opened"  # the level rose


def test_a_new_reason_reopens_after_a_rejection_and_the_suppression_ends(
    poor: int, settings: Settings
) -> None:
    first = signal(settings, poor)
    with db.session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == first.case_id)
            .values(status="closed", outcome="rejected", closed_at=utcnow() - timedelta(days=31))
        )
    assert signal(settings, poor).outcome == "opened"  # 31 days later: the suppression has ended
    with db.session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.household_id == poor, Case.status == "open")
            .values(status="closed", outcome="rejected", closed_at=utcnow())
        )
    assert signal(settings, poor).outcome == "suppressed"
    water = [{"code": "water_unsafe", "text": "饮水安全未保障"}]
    assert signal(settings, poor, reasons=water).outcome == "opened"


def test_next_months_same_department_row_stays_suppressed_after_a_rejection(
    poor: int, settings: Settings
) -> None:
    def medical(when: str, amount: str, department: str = "医保") -> list[dict[str, Any]]:
        return [
            {
                "code": "department_medical_self_pay",
                "department": department,
                "text": f"{department}部门预警：medical_self_pay，金额 {amount} 元（{when}）",
            }
        ]

    first = signal(settings, poor, reasons=medical("2026-10-05", "23500"))
    with db.session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == first.case_id)
            .values(status="closed", outcome="rejected", closed_at=utcnow() - timedelta(days=3))
        )
    assert signal(settings, poor, reasons=medical("2026-11-05", "1200")).outcome == "suppressed"
    assert signal(settings, poor, reasons=medical("2026-11-05", "1200", "民政")).outcome == "opened"


def test_an_unknown_household_is_kept_as_unmatched(settings: Settings) -> None:
    row = signal(settings, 999_999)
    assert (row.outcome, row.household_id) == ("unmatched", None)
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Signal)) == 1


def test_1000_flags_for_800_households_from_4_workers_give_800_cases(settings: Settings) -> None:
    from app.demo import district as demo

    with db.session_scope() as session:
        demo.generate(session, settings, households=800, seed=5, quarter_count=0)
        session.execute(update(Household).values(monitoring_status=MonitoringStatus.not_monitored))
        households = list(session.scalars(select(Household.id).order_by(Household.id)))
    flags = households + households[::4]  # 1,000 flags: every household once, 200 of them twice
    errors: list[BaseException] = []

    def worker(part: list[int]) -> None:
        try:
            for start in range(0, len(part), 50):  # batches, as a scoring run sends them
                with db.session_scope() as session:
                    cases.receive(
                        session,
                        settings,
                        POLICY,
                        Actor.system("test"),
                        [cases.SignalIn(h, "risk_scorer", "high", HIGH) for h in part[start : start + 50]],
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(flags[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.status == "open")) == 800
        assert session.scalar(select(func.count(func.distinct(Case.household_id)))) == 800
        assert session.scalar(select(func.count()).select_from(Signal)) == 1000
        attached = session.scalar(
            select(func.count()).select_from(Signal).where(Signal.outcome == "attached")
        )
        assert attached == 200


def test_signals_see_what_the_caller_changed_before_sending_them(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    """Cases are opened past the ORM (set-wise SQL): a change the caller made in the same transaction and
    has not yet written — here, a household just put under monitoring — must count, not be overwritten."""
    household = new_household(client, accounts["cadre_a"])
    with db.session_scope() as session:
        row = session.get(Household, household["id"])
        assert row is not None
        row.monitoring_status = MonitoringStatus.monitored
        [signal] = cases.receive(
            session,
            settings,
            POLICY,
            Actor.system("test"),
            [cases.SignalIn(row.id, "risk_scorer", "high", HIGH)],
        )
        assert (signal.outcome, signal.case_id) == ("monitored", None)
    with db.session_scope() as session:
        stored = session.get(Household, household["id"])
        assert stored is not None
        assert stored.monitoring_status == MonitoringStatus.monitored
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_one_batch_opens_cases_on_each_villages_desk_and_a_second_flag_joins_its_case(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    """A run's batch is written set-wise: each new case is on its own village's desk, timeline and
    webhook; a second flag in the same batch joins the case the first opened; and a cadre's edit sent
    with the household as read before the case opened is refused as stale."""
    from app.models import CaseEvent, OutboxMessage, WebhookEndpoint
    from app.pii import cipher_for

    a = new_household(client, accounts["cadre_a"])
    b = new_household(client, accounts["cadre_b"], village=VILLAGE_B)
    with db.session_scope() as session:
        hook = WebhookEndpoint(
            region_code=VILLAGE_B,
            url="http://hooks.example/b",
            secret_encrypted=cipher_for(settings).encrypt("s"),
            created_by="t",
        )
        session.add(hook)
        session.flush()
        hook_id = hook.id
    health = [{"code": "major_illness", "text": "大病"}]
    with db.session_scope() as session:
        rows = cases.receive(
            session,
            settings,
            POLICY,
            Actor.system("test"),
            [
                cases.SignalIn(a["id"], "risk_scorer", "medium", HIGH),
                cases.SignalIn(b["id"], "risk_scorer", "high", HIGH),
                cases.SignalIn(a["id"], "risk_scorer", "high", health),
            ],
        )
        outcomes = [(r.household_id, r.outcome, r.case_id) for r in rows]
    case_a, case_b = outcomes[0][2], outcomes[1][2]
    assert outcomes == [
        (a["id"], "opened", case_a),
        (b["id"], "opened", case_b),
        (a["id"], "attached", case_a),
    ]
    assert case_a != case_b

    detail = client.get(f"/api/v1/cases/{case_a}", headers=accounts["cadre_a"]).json()
    assert (detail["level"], [r["code"] for r in detail["reasons"]]) == (
        "high",
        ["income_below_line", "major_illness"],
    )
    assert [e["action"] for e in detail["timeline"]] == ["opened", "signal"]
    assert client.get(f"/api/v1/cases/{case_b}", headers=accounts["cadre_a"]).status_code == 404
    with db.session_scope() as session:
        told = session.execute(select(Notification.user_id, Notification.case_id, Notification.kind)).all()
        messages = session.scalars(select(OutboxMessage)).all()
        events = session.scalars(select(CaseEvent.case_id).order_by(CaseEvent.id)).all()
        statuses = {h.id: h.monitoring_status for h in session.scalars(select(Household))}
    ids = accounts.ids
    assert sorted(told) == sorted(
        [(ids["cadre_a"], case_a, "new_work"), (ids["cadre_b"], case_b, "new_work")]
    )
    assert [(m.endpoint_id, m.payload["case_id"], m.status) for m in messages] == [
        (hook_id, case_b, "pending")
    ]
    assert events == [case_a, case_b, case_a]
    assert statuses == {
        a["id"]: MonitoringStatus.under_verification,
        b["id"]: MonitoringStatus.under_verification,
    }

    # a flag for an open case stored before grows it; a copy the caller's session holds is read again
    with db.session_scope() as session:
        held = session.get(Case, case_b)
        assert held is not None
        assert held.version == 1
        [row] = cases.receive(
            session,
            settings,
            POLICY,
            Actor.system("test"),
            [cases.SignalIn(b["id"], "risk_scorer", "high", health)],
        )
        assert (row.outcome, row.case_id) == ("attached", case_b)
        assert [r["code"] for r in held.reasons] == ["income_below_line", "major_illness"]
        assert held.version == 2

    stale = client.patch(
        f"/api/v1/households/{a['id']}",
        headers=accounts["cadre_a"],
        json={"version": a["version"], "address": "二组 7 号"},
    )
    assert (stale.status_code, stale.json()["field"]) == (409, "version")


def test_a_batch_tells_each_village_its_own_cases_and_each_webhook_its_regions(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    """One batch over two townships: each village's cadre is told of their village's case only (a
    deactivated cadre of none), and a webhook hears of the cases in its village, township or county."""
    from app.models import OutboxMessage, User, WebhookEndpoint
    from app.pii import cipher_for

    a = new_household(client, accounts["cadre_a"])
    c = new_household(client, accounts["cadre_c"], village=VILLAGE_C)
    accounts.create("cadre_b")  # village B, township 1: no case of theirs in the batch
    with db.session_scope() as session:
        session.add(
            User(
                username="cadre_a_gone",
                password_hash="x",
                role=Role.village_cadre,
                region_code=VILLAGE_A,
                active=False,
            )
        )
        hooks = {
            region: WebhookEndpoint(
                region_code=region,
                url=f"http://hooks.example/{region}",
                secret_encrypted=cipher_for(settings).encrypt("s"),
                created_by="t",
            )
            for region in (VILLAGE_A, VILLAGE_B, TOWNSHIP_1, COUNTY, VILLAGE_C)
        }
        session.add_all(hooks.values())
        session.flush()
        hook_ids = {region: hook.id for region, hook in hooks.items()}
        rows = cases.receive(
            session,
            settings,
            POLICY,
            Actor.system("test"),
            [
                cases.SignalIn(a["id"], "risk_scorer", "high", HIGH),
                cases.SignalIn(c["id"], "risk_scorer", "high", HIGH),
            ],
        )
        case_a, case_c = (r.case_id for r in rows)
    with db.session_scope() as session:
        told = sorted(session.execute(select(Notification.user_id, Notification.case_id)).tuples())
        heard = session.execute(select(OutboxMessage.endpoint_id, OutboxMessage.payload)).tuples().all()
    ids = accounts.ids
    assert told == sorted([(ids["cadre_a"], case_a), (ids["cadre_c"], case_c)])  # each told once
    assert sorted((endpoint, payload["case_id"]) for endpoint, payload in heard) == sorted(
        [
            (hook_ids[VILLAGE_A], case_a),
            (hook_ids[TOWNSHIP_1], case_a),
            (hook_ids[COUNTY], case_a),
            (hook_ids[COUNTY], case_c),
            (hook_ids[VILLAGE_C], case_c),
        ]
    )


# ---- the procedure ------------------------------------------------------------------------------------


def act(client: TestClient, headers: dict[str, str], case_id: int | None, **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=headers)


VERIFY = {
    "action": "verify",
    "visited_on": local_today().isoformat(),
    "visitors": ["李文", "王华"],
    "findings": "收入下降属实",
    "consent_signed": True,
}
REVIEW = {"action": "review", "held_on": local_today().isoformat(), "outcome": "agreed", "attendees": 23}


def to_township(client: TestClient, accounts: Accounts, case_id: int | None, notice_days_ago: int) -> None:
    """Verify, review, and a notice that started today; then the clock moves on `notice_days_ago` days
    (the notice's end is moved back by as much: the service's clock is not mocked)."""
    cadre = accounts["cadre_a"]
    assert act(client, cadre, case_id, **VERIFY).json()["step"] == "democratic_review"
    assert act(client, cadre, case_id, **REVIEW).json()["step"] == "public_notice"
    response = act(
        client, cadre, case_id, action="notice", starts_on=local_today().isoformat(), objections=""
    )
    assert response.json()["step"] == "township_review", response.text
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.notice_ends_on is not None
        case.notice_ends_on -= timedelta(days=notice_days_ago)


def test_a_notice_cannot_be_backdated_and_a_disagreeing_review_ends_the_case(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    case_id = signal(settings, poor).case_id
    act(client, cadre, case_id, **VERIFY)
    act(client, cadre, case_id, **REVIEW)
    backdated = act(
        client, cadre, case_id, action="notice", starts_on=(local_today() - timedelta(days=6)).isoformat()
    )
    assert (backdated.status_code, backdated.json()["field"]) == (422, "starts_on")
    other = signal(settings, int(new_household(client, cadre)["id"])).case_id
    act(client, cadre, other, **VERIFY)
    ended = act(client, cadre, other, **(REVIEW | {"outcome": "disagreed"}))
    assert (ended.json()["status"], ended.json()["outcome"]) == ("closed", "rejected")


def test_admins_get_escalations_as_notifications_not_an_inbox(client: TestClient, accounts: Accounts) -> None:
    assert client.get("/api/v1/inbox", headers=accounts["admin"]).status_code == 403
    assert client.get("/api/v1/notifications", headers=accounts["admin"]).status_code == 200


def test_the_full_path_makes_the_household_monitored(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    to_township(client, accounts, case_id, notice_days_ago=6)
    assert (
        act(client, accounts["township_1"], case_id, action="approve").json()["step"] == "district_decision"
    )
    # the fixture's household is 脱贫户: 边缘易致贫户 is for 一般农户 (DOMAIN.md)
    wrong = act(
        client,
        accounts["district"],
        case_id,
        action="confirm",
        monitoring_category="边缘易致贫户",
        risk_types=["因务工就业不稳"],
    )
    assert (wrong.status_code, wrong.json()["field"]) == (422, "monitoring_category")
    decide = {"action": "confirm", "monitoring_category": "脱贫不稳定户"}
    # 因病 needs out-of-pocket medical spending on record; this household has none
    ill = act(client, accounts["district"], case_id, **decide, risk_types=["因病"])
    assert (ill.status_code, ill.json()["field"]) == (422, "risk_types")
    confirmed = act(client, accounts["district"], case_id, **decide, risk_types=["因务工就业不稳"])
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["outcome"]) == ("closed", "confirmed")
    with db.session_scope() as session:
        household = session.get(Household, poor)
        assert household is not None
        assert household.monitoring_status == MonitoringStatus.monitored
        assert (household.monitoring_category, household.risk_types) == ("脱贫不稳定户", ["因务工就业不稳"])
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=accounts["district"]).json()["timeline"]
    assert [e["action"] for e in timeline] == ["opened", "verify", "review", "notice", "approve", "confirm"]
    # a closed case takes no more actions
    assert act(client, accounts["cadre_a"], case_id, action="close", reason="x").status_code == 409


def test_township_approval_waits_for_the_notice_to_run_its_days(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    to_township(client, accounts, case_id, notice_days_ago=2)
    refused = act(client, accounts["township_1"], case_id, action="approve")
    assert refused.status_code == 409
    assert "public notice runs until" in refused.json()["message"]


def test_return_and_reject_paths(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    to_township(client, accounts, case_id, notice_days_ago=6)
    returned = act(client, accounts["township_1"], case_id, action="return", reason="家庭人口未核实")
    assert returned.json()["step"] == "village_verification"
    to_township(client, accounts, case_id, notice_days_ago=6)
    act(client, accounts["township_1"], case_id, action="approve")
    rejected = act(client, accounts["district"], case_id, action="reject", reason="收入未低于监测线")
    assert (rejected.json()["status"], rejected.json()["outcome"]) == ("closed", "rejected")
    with db.session_scope() as session:
        assert session.get(Household, poor).monitoring_status == MonitoringStatus.not_monitored  # type: ignore[union-attr]


def test_refusals_come_in_order_scope_step_role_body(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    assert act(client, accounts["cadre_b"], case_id, **VERIFY).status_code == 404  # another village
    skipped = act(client, accounts["cadre_a"], case_id, action="approve")  # skipping ahead: wrong step
    assert skipped.status_code == 409
    assert act(client, accounts["township_1"], case_id, **VERIFY).status_code == 403  # the village's step
    no_consent = act(client, accounts["cadre_a"], case_id, **(VERIFY | {"consent_signed": False}))
    assert (no_consent.status_code, no_consent.json()["field"]) == (422, "consent_signed")
    extra = act(client, accounts["cadre_a"], case_id, **(VERIFY | {"colour": "red"}))
    assert (extra.status_code, extra.json()["field"]) == (422, "colour")
    unknown = act(client, accounts["cadre_a"], case_id, action="teleport")
    assert (unknown.status_code, unknown.json()["field"]) == (422, "action")
    assert (
        client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["step"]
        == "village_verification"
    )


def test_risk_types_must_fit_the_household(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    to_township(client, accounts, case_id, notice_days_ago=6)
    act(client, accounts["township_1"], case_id, action="approve")
    body = {"action": "confirm", "monitoring_category": "脱贫不稳定户"}
    too_many = act(
        client,
        accounts["district"],
        case_id,
        **body,
        risk_types=["因病", "因学", "因残", "其他", "因意外事故", "缺劳动力"],
    )
    assert (too_many.status_code, too_many.json()["field"]) == (422, "risk_types")


# ---- deadlines, escalation, inbox --------------------------------------------------------------------


def test_an_overdue_village_step_is_escalated_to_the_township_exactly_once(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    from app.services.cases import escalation

    reviewer, other_reviewer = accounts["township_1"], accounts["township_2"]  # the accounts exist first
    case_id = signal(settings, poor).case_id
    with db.session_scope() as session:
        due = session.get(Case, case_id).due_at  # type: ignore[union-attr]
    later = due + timedelta(hours=1)  # a frozen clock, past the village's deadline
    with db.session_scope() as session:
        assert escalation.escalate_overdue(session, settings, now=due - timedelta(minutes=1)) == 0
    counts: list[int] = []

    def run() -> None:
        with db.session_scope() as session:
            counts.append(escalation.escalate_overdue(session, settings, now=later))

    threads = [threading.Thread(target=run) for _ in range(2)]  # the job twice at the same time
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == [0, 1]
    with db.session_scope() as session:
        assert escalation.escalate_overdue(session, settings, now=later) == 0  # and never again
    township = client.get("/api/v1/notifications", headers=reviewer).json()["items"]
    assert [(n["kind"], n["case_id"], n["step"]) for n in township] == [
        ("escalated", case_id, "village_verification")
    ]
    assert client.get("/api/v1/notifications", headers=other_reviewer).json()["items"] == []
    inbox = client.get("/api/v1/inbox", headers=accounts["township_1"]).json()["items"]
    assert [c["id"] for c in inbox] == [case_id]
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=accounts["township_1"]).json()["timeline"]
    assert [e["action"] for e in timeline].count("escalated") == 1
    with db.session_scope() as session:
        from app.models import AuditEntry

        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.escalate")).all()
        assert [(a.entity_id, a.changes["step"]) for a in audited] == [(str(case_id), "village_verification")]


def test_deadlines_follow_the_policy_windows_village_ten_township_three_district_two(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    from app.services.cases import escalation

    def read(case_id: int | None) -> dict[str, Any]:
        return dict(client.get(f"/api/v1/cases/{case_id}", headers=accounts["district"]).json())

    def days(later: str, earlier: str) -> float:
        delta = datetime.fromisoformat(later) - datetime.fromisoformat(earlier)
        return round(delta / timedelta(days=1), 2)

    accounts["township_1"]  # noqa: B018 - the reviewer exists before the escalation notifies
    case_id = signal(settings, poor).case_id
    opened = read(case_id)
    assert days(opened["due_at"], opened["opened_at"]) == 10  # verification, review and notice together
    assert days(opened["decision_due_at"], opened["opened_at"]) == 15  # first signal to decision
    with db.session_scope() as session:
        assert escalation.escalate_overdue(session, settings, now=utcnow() + timedelta(days=11)) == 1
    cadre = accounts["cadre_a"]
    act(client, cadre, case_id, **VERIFY)
    reviewed = act(client, cadre, case_id, **REVIEW).json()
    assert reviewed["due_at"] == opened["due_at"]  # the village's steps share one window...
    with db.session_scope() as session:  # ...escalated once, not again at each of its steps
        assert escalation.escalate_overdue(session, settings, now=utcnow() + timedelta(days=11)) == 0
    starts = local_today() + timedelta(days=1)
    noticed = act(client, cadre, case_id, action="notice", starts_on=starts.isoformat(), objections="").json()
    notice_ends = starts + timedelta(days=5)
    assert noticed["step"] == "township_review"
    assert local_date(datetime.fromisoformat(noticed["due_at"])) == notice_ends + timedelta(days=3)
    assert noticed["decision_due_at"] == opened["decision_due_at"]
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None
        assert case.notice_ends_on == notice_ends
        case.notice_ends_on = local_today()  # the notice has run
    approved = act(client, accounts["township_1"], case_id, action="approve").json()
    assert days(approved["due_at"], utcnow().isoformat()) == 2


def test_a_policy_with_per_step_deadlines_reads_as_windows() -> None:
    """Versions stored before the windows (days per step) stay readable, as the sums they made."""
    legacy = PolicyData().model_dump(mode="json") | {
        "case_deadlines": {
            "home_verification": 3,
            "democratic_review": 5,
            "public_notice": 5,
            "township_review": 2,
            "county_approval": 5,
            "total": 15,
        }
    }
    deadlines = PolicyData.model_validate(legacy).case_deadlines
    windows = (deadlines.village, deadlines.public_notice, deadlines.township, deadlines.district)
    assert windows == (13, 5, 2, 5)
    assert PolicyData().case_deadlines.total == 15
    with pytest.raises(ValueError, match="public notice must fit"):
        PolicyData.model_validate({"case_deadlines": {"village": 5, "public_notice": 5}})


def test_each_inbox_shows_exactly_the_cases_waiting_on_its_user_by_due_time(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    first = int(new_household(client, accounts["cadre_a"])["id"])
    second = int(new_household(client, accounts["cadre_a"])["id"])
    other_village = int(new_household(client, accounts["cadre_b"], village=VILLAGE_B)["id"])
    late, early, b_case = (signal(settings, h).case_id for h in (first, second, other_village))
    with db.session_scope() as session:
        session.execute(update(Case).where(Case.id == early).values(due_at=utcnow() + timedelta(hours=1)))
    inbox = client.get("/api/v1/inbox", headers=accounts["cadre_a"]).json()["items"]
    assert [c["id"] for c in inbox] == [early, late]
    assert [c["id"] for c in client.get("/api/v1/inbox", headers=accounts["cadre_b"]).json()["items"]] == [
        b_case
    ]
    assert (
        client.get("/api/v1/inbox", headers=accounts["township_1"]).json()["items"] == []
    )  # not their step yet
    assert client.get("/api/v1/inbox", headers=accounts["district"]).json()["items"] == []
    kinds = [
        n["kind"] for n in client.get("/api/v1/notifications", headers=accounts["cadre_a"]).json()["items"]
    ]
    assert kinds == ["new_work", "new_work"]


def test_a_cadre_reports_a_household_in_their_village(
    poor: int, client: TestClient, accounts: Accounts
) -> None:
    body = {"household_id": poor, "description": "户主突发脑梗住院"}
    response = client.post("/api/v1/cases", json=body, headers=accounts["cadre_a"])
    assert response.status_code == 201, response.text
    assert response.json()["outcome"] == "opened"
    case = client.get(f"/api/v1/cases/{response.json()['case_id']}", headers=accounts["cadre_a"]).json()
    assert (case["source"], case["reasons"][0]["code"]) == ("cadre_report", "cadre_report")
    assert client.post("/api/v1/cases", json=body, headers=accounts["cadre_b"]).status_code == 404
    assert client.post("/api/v1/cases", json=body, headers=accounts["township_1"]).status_code == 403
    assert (
        client.post("/api/v1/cases", json=body | {"extra": 1}, headers=accounts["cadre_a"]).status_code == 422
    )


def test_lists_count_overdue_cases_and_the_inbox_filters_by_risk_type(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    ill, flooded = (int(new_household(client, accounts["cadre_a"])["id"]) for _ in range(2))
    ill_case = signal(settings, ill, reasons=[{"code": "rigid_spending", "risk_type": "因病"}]).case_id
    signal(settings, flooded, reasons=[{"code": "sudden_event", "risk_type": "因自然灾害"}])
    with db.session_scope() as session:
        session.execute(update(Case).where(Case.id == ill_case).values(due_at=utcnow() - timedelta(days=1)))
    listed = client.get("/api/v1/cases", headers=accounts["cadre_a"]).json()
    assert (listed["total"], listed["overdue"]) == (2, 1)
    assert [c["overdue"] for c in listed["items"]] == [True, False]  # the overdue one is due first
    only_ill = client.get("/api/v1/inbox", params={"risk_type": "因病"}, headers=accounts["cadre_a"]).json()
    assert [c["id"] for c in only_ill["items"]] == [ill_case]
    assert only_ill["overdue"] == 1
    late = client.get("/api/v1/cases", params={"overdue": "true"}, headers=accounts["cadre_a"]).json()
    assert [c["id"] for c in late["items"]] == [ill_case]


def test_reassign_to_a_user_in_scope_and_close_as_withdrawn(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    from app.schemas.users import UserCreate
    from app.services.platform import users

    case_id = signal(settings, poor).case_id
    with db.session_scope() as session:
        colleague = users.create(
            session,
            settings,
            Actor.system("tests"),
            UserCreate(
                username="cadre_a2",
                password="correct-horse-battery",
                role="village_cadre",
                region_code=VILLAGE_A,
            ),
        ).id
    reviewer = accounts.create("township_1")  # not a village step's owner
    outsider = accounts.create("cadre_b")  # another village's cadre
    for wrong in (reviewer, outsider):
        refused = act(client, accounts["cadre_a"], case_id, action="reassign", user_id=wrong, reason="换人")
        assert (refused.status_code, refused.json()["field"]) == (422, "user_id")
    moved = act(
        client, accounts["cadre_a"], case_id, action="reassign", user_id=colleague, reason="驻村工作队跟进"
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["step"], moved.json()["assigned_user_id"]) == ("village_verification", colleague)
    assert (
        client.get("/api/v1/inbox", headers=accounts["cadre_a"]).json()["items"] == []
    )  # waits on the colleague
    with db.session_scope() as session:  # who is told
        told = session.scalars(
            select(Notification.user_id).where(
                Notification.case_id == case_id, Notification.kind == "assigned"
            )
        ).all()
    assert told == [colleague]
    closed = act(client, accounts["district"], case_id, action="close", reason="重复登记")
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "withdrawn")
    with db.session_scope() as session:
        assert session.get(Household, poor).monitoring_status == MonitoringStatus.not_monitored  # type: ignore[union-attr]


def test_dates_follow_the_procedure_visit_then_review(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    cadre = accounts["cadre_a"]
    case_id = signal(settings, poor).case_id
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    early = act(client, cadre, case_id, **(VERIFY | {"visited_on": yesterday}))  # before the case began
    assert (early.status_code, early.json()["field"]) == (422, "visited_on")
    act(client, cadre, case_id, **VERIFY)
    before_visit = act(client, cadre, case_id, **(REVIEW | {"held_on": yesterday}))
    assert (before_visit.status_code, before_visit.json()["field"]) == (422, "held_on")
    assert act(client, cadre, case_id, **REVIEW).json()["step"] == "public_notice"


def test_a_reassigned_township_case_waits_on_its_assignee_and_escalations_reach_the_district(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    from app.schemas.users import UserCreate
    from app.services.cases import escalation
    from app.services.platform import users

    district, admin = accounts.create("district"), accounts.create("admin")
    case_id = signal(settings, poor).case_id
    to_township(client, accounts, case_id, notice_days_ago=6)
    with db.session_scope() as session:
        colleague = users.create(
            session,
            settings,
            Actor.system("tests"),
            UserCreate(
                username="township_1b",
                password="correct-horse-battery",
                role="township_reviewer",
                region_code=TOWNSHIP_1,
            ),
        ).id
    act(client, accounts["township_1"], case_id, action="reassign", user_id=colleague, reason="分管")
    assert client.get("/api/v1/inbox", headers=accounts["township_1"]).json()["items"] == []
    with db.session_scope() as session:  # township review overdue: to the district's officers
        due = session.get(Case, case_id).due_at  # type: ignore[union-attr]
        assert escalation.escalate_overdue(session, settings, now=due + timedelta(hours=1)) == 1
    inbox = client.get("/api/v1/inbox", headers=accounts["district"]).json()["items"]
    assert [c["id"] for c in inbox] == [case_id]
    act(client, accounts["township_1"], case_id, action="approve")  # not theirs now, but still in scope
    with db.session_scope() as session:  # district decision overdue: to the district's officers
        due = session.get(Case, case_id).due_at  # type: ignore[union-attr]
        assert escalation.escalate_overdue(session, settings, now=due + timedelta(hours=1)) == 1
        told = session.execute(
            select(Notification.user_id, Notification.step).where(Notification.kind == "escalated")
        ).all()
    assert sorted(told) == sorted([(district, "township_review"), (district, "district_decision")])
    assert admin not in {user for user, _ in told}  # admins read no household data: they cannot act


def test_the_decision_deadline_shows_on_the_case(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    assert (
        client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["decision_overdue"]
        is False
    )
    with db.session_scope() as session:
        session.execute(
            update(Case).where(Case.id == case_id).values(decision_due_at=utcnow() - timedelta(days=1))
        )
    assert (
        client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["decision_overdue"] is True
    )


def test_notifications_are_marked_read_by_their_owner_only(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    signal(settings, poor)
    [note] = client.get(
        "/api/v1/notifications", params={"unread": "true"}, headers=accounts["cadre_a"]
    ).json()["items"]
    assert (
        client.post(f"/api/v1/notifications/{note['id']}/read", headers=accounts["cadre_b"]).status_code
        == 404
    )
    read = client.post(f"/api/v1/notifications/{note['id']}/read", headers=accounts["cadre_a"])
    assert read.json()["read_at"] is not None
    assert (
        client.get("/api/v1/notifications", params={"unread": "true"}, headers=accounts["cadre_a"]).json()[
            "items"
        ]
        == []
    )


def test_verification_may_store_the_corrected_indicators_as_a_report(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    case_id = signal(settings, poor).case_id
    corrected = report_body(
        "visit-2026-01",
        "2026-07-01",
        "2026-09-30",
        wages="1500",
        business="0",
        prop="0",
        transfer="300",
        cost="0",
    )
    bad = act(
        client,
        accounts["cadre_a"],
        case_id,
        **(VERIFY | {"report": corrected | {"period_end": "2026-06-30"}}),
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "report.period_end")  # before its start
    done = act(client, accounts["cadre_a"], case_id, **(VERIFY | {"report": corrected}))
    assert done.status_code == 200, done.text
    reports = client.get(f"/api/v1/households/{poor}/reports", headers=accounts["cadre_a"]).json()["items"]
    assert "visit-2026-01" in [r["client_ref"] for r in reports]
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["timeline"]
    assert timeline[-1]["data"]["report"]["client_ref"] == "visit-2026-01"
