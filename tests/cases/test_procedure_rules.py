"""Who may end a case, where a household returns when a case is not confirmed, and who hears when the
district's own deadline passes."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.config import Settings
from app.models import Case, Household, Notification
from app.models.enums import MonitoringStatus
from app.services.cases import escalation
from tests.cases.test_cases import REVIEW, VERIFY, act, signal, to_township
from tests.fixtures import Accounts

WITHDRAW = {"action": "close", "reason": "情况已核清"}


def _cadre_case(client: TestClient, accounts: Accounts, household_id: int) -> int:
    reported = client.post(
        "/api/v1/cases",
        json={"household_id": household_id, "level": "high", "description": "户主住院，无人务工"},
        headers=accounts["cadre_a"],
    )
    assert reported.status_code == 201, reported.text
    return int(reported.json()["case_id"])


def test_the_village_withdraws_only_what_it_started_before_the_township_acts(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    flagged = signal(settings, poor).case_id  # the risk scorer's case
    refused = act(client, accounts["cadre_a"], flagged, **WITHDRAW)
    assert refused.status_code == 403
    assert "risk_scorer" in refused.json()["message"]
    # the township does not withdraw either: it sends back; the district may close
    assert act(client, accounts["township_1"], flagged, **WITHDRAW).status_code == 403
    closed = act(client, accounts["district"], flagged, **WITHDRAW)
    assert (closed.status_code, closed.json()["outcome"]) == (200, "withdrawn")

    own = _cadre_case(client, accounts, poor)  # the village's own report: it may withdraw it
    assert act(client, accounts["cadre_a"], own, **WITHDRAW).json()["outcome"] == "withdrawn"

    again = _cadre_case(client, accounts, poor)
    to_township(client, accounts, again, notice_days_ago=6)
    sent_back = act(client, accounts["township_1"], again, action="return", reason="收入核算有误")
    assert sent_back.json()["step"] == "village_verification"
    late = act(client, accounts["cadre_a"], again, **WITHDRAW)  # back at the village, but the township acted
    assert late.status_code == 403
    assert "township" in late.json()["message"]


def test_a_self_application_is_never_withdrawn_by_the_village(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    from app.schemas.policy import PolicyData
    from app.services.cases import cases
    from app.services.platform.access import Actor

    application = [{"code": "self_application", "text": "农户自主申报"}]
    with db.session_scope() as session:
        [row] = cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("relief"),
            [cases.SignalIn(poor, "self_application", "high", application)],
        )
        case_id = row.case_id
    refused = act(client, accounts["cadre_a"], case_id, **WITHDRAW)
    assert refused.status_code == 403
    assert "own application" in refused.json()["message"]


def test_a_refused_re_flag_leaves_an_eliminated_household_eliminated(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    with db.session_scope() as session:
        household = session.get(Household, poor)
        assert household is not None
        household.monitoring_status = MonitoringStatus.risk_eliminated
    for ending in ("reject", "disagree", "withdraw"):
        case_id = signal(settings, poor).case_id
        with db.session_scope() as session:
            assert session.get(Household, poor).monitoring_status == MonitoringStatus.under_verification  # type: ignore[union-attr]
        if ending == "reject":
            act(client, accounts["cadre_a"], case_id, **VERIFY)
            act(client, accounts["cadre_a"], case_id, **REVIEW)
            with db.session_scope() as session:  # the notice has run
                case = session.get(Case, case_id)
                assert case is not None
                case.step, case.notice_ends_on = "district_decision", None
            done = act(client, accounts["district"], case_id, action="reject", reason="收入已恢复")
        elif ending == "disagree":
            act(client, accounts["cadre_a"], case_id, **VERIFY)
            done = act(client, accounts["cadre_a"], case_id, **(REVIEW | {"outcome": "disagreed"}))
        else:
            done = act(client, accounts["district"], case_id, **WITHDRAW)
        assert done.json()["status"] == "closed", done.text
        with db.session_scope() as session:
            assert session.get(Household, poor).monitoring_status == MonitoringStatus.risk_eliminated  # type: ignore[union-attr]
        with db.session_scope() as session:  # after the suppression window, the next flag opens again
            for old in session.scalars(select(Case).where(Case.household_id == poor)):
                old.closed_at = old.closed_at - timedelta(days=365) if old.closed_at else None


def test_an_overdue_district_decision_goes_to_the_district_officers_not_the_admins(
    poor: int, settings: Settings, client: TestClient, accounts: Accounts
) -> None:
    district, admin = accounts.create("district"), accounts.create("admin")
    case_id = signal(settings, poor).case_id
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.step = "district_decision"
        case.assigned_user_id = district  # the officer it was given to sat on it
        due = case.due_at
    with db.session_scope() as session:
        assert escalation.escalate_overdue(session, settings, now=due + timedelta(hours=1)) == 1
    with db.session_scope() as session:
        told = set(session.scalars(select(Notification.user_id).where(Notification.kind == "escalated")))
    assert admin not in told
    assert district in told
    inbox = client.get("/api/v1/notifications", headers=accounts["district"]).json()
    assert any(n["kind"] == "escalated" for n in inbox["items"])
