"""What a case page needs from GET /cases/{id}: the actions the caller may take now (exactly those the
actions endpoint accepts), the household with its latest income against the line, and whom the case can
be reassigned to."""

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app import db
from app.clock import local_today
from app.config import Settings
from app.models import Case
from app.services.cases.procedure import ACTIONS as RULES
from tests.cases.test_cases import REVIEW, VERIFY, act, signal, to_township
from tests.fixtures import Accounts, new_household, report_body

ROLES = ("cadre_a", "township_1", "district")


def detail(client: TestClient, headers: dict[str, str], case_id: int | None) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def accepted(client: TestClient, headers: dict[str, str], case_id: int | None) -> list[str]:
    """The actions the endpoint lets through to body validation: a body with an unknown field passes
    the case, step and role checks (404, 409, 403) and is then refused 422, changing nothing."""
    taken = []
    for action in RULES:
        response = act(client, headers, case_id, action=action, not_a_field=1)
        assert response.status_code in (403, 409, 422), response.text
        if response.status_code == 422:
            taken.append(action)
    return taken


def assert_offered_is_accepted(client: TestClient, accounts: Accounts, case_id: int | None) -> dict[str, Any]:
    offered = {}
    for role in ROLES:
        offered[role] = detail(client, accounts[role], case_id)["allowed_actions"]
        assert offered[role] == accepted(client, accounts[role], case_id), role
    return offered


def test_allowed_actions_are_exactly_what_the_actions_endpoint_accepts_at_every_step(
    client: TestClient, accounts: Accounts, poor: int
) -> None:
    cadre = accounts["cadre_a"]
    case_id = client.post(
        "/api/v1/cases", json={"household_id": poor, "description": "家中主要劳动力住院"}, headers=cadre
    ).json()["case_id"]
    steps = []

    def step(expected: dict[str, list[str]]) -> None:
        assert assert_offered_is_accepted(client, accounts, case_id) == expected
        steps.append(detail(client, cadre, case_id)["step"])

    # the cadre's own report: the village may still withdraw it (close)
    # a step is reassigned by its owners, the level it escalates to, or the district; never the village's
    # cadre once the case has left the village
    village = {
        "cadre_a": ["verify", "close", "reassign"],
        "township_1": ["reassign"],
        "district": ["close", "reassign"],
    }
    step(village)
    act(client, cadre, case_id, **VERIFY)
    step(village | {"cadre_a": ["review", "close", "reassign"]})
    act(client, cadre, case_id, **REVIEW)
    step(village | {"cadre_a": ["notice", "close", "reassign"]})
    act(client, cadre, case_id, action="notice", starts_on=local_today().isoformat())
    # the notice runs: nobody approves yet, and the village no longer withdraws
    running = {
        "cadre_a": [],
        "township_1": ["return", "reassign"],
        "district": ["close", "reassign"],
    }
    step(running)
    with (
        db.session_scope() as session
    ):  # the notice has run its days (tokens would expire if the clock moved)
        case = session.get(Case, case_id)
        assert case is not None
        assert case.notice_ends_on is not None
        case.notice_ends_on -= timedelta(days=6)
    step(running | {"township_1": ["approve", "return", "reassign"]})
    assert act(client, accounts["township_1"], case_id, action="approve").status_code == 200
    step(
        {
            "cadre_a": [],
            "township_1": [],
            "district": ["confirm", "reject", "close", "reassign"],
        }
    )
    assert steps == ["village_verification", "democratic_review", "public_notice", "township_review",
                     "township_review", "district_decision"]  # fmt: skip
    confirmed = act(
        client,
        accounts["district"],
        case_id,
        action="confirm",
        monitoring_category="脱贫不稳定户",
        risk_types=["因务工就业不稳"],
    )
    assert confirmed.status_code == 200, confirmed.text
    assert assert_offered_is_accepted(client, accounts, case_id) == dict.fromkeys(ROLES, [])
    # another township's reviewer does not see the case at all
    assert client.get(f"/api/v1/cases/{case_id}", headers=accounts["township_2"]).status_code == 404


def test_the_village_is_not_offered_to_withdraw_a_case_the_scorer_opened(
    client: TestClient, accounts: Accounts, settings: Settings, poor: int
) -> None:
    case_id = signal(settings, poor).case_id
    offered = assert_offered_is_accepted(client, accounts, case_id)
    assert offered["cadre_a"] == ["verify", "reassign"]


def test_the_case_shows_its_household_with_the_latest_income_against_the_line(
    client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    case_id = signal(settings, household["id"]).case_id
    assert detail(client, cadre, case_id)["household"]["latest_income"] is None  # no report yet
    body = report_body("y", "2025-12-01", "2026-11-30", wages="12000", business="0", prop="0", transfer="0")
    assert (
        client.post(f"/api/v1/households/{household['id']}/reports", json=body, headers=cadre).status_code
        == 201
    )
    shown = detail(client, accounts["district"], case_id)["household"]
    assert shown["household_no"] == household["household_no"]
    assert (shown["village_name"], shown["township_name"]) == ("洛河村", "洛河彝族乡")
    assert (shown["household_type"], shown["monitoring_status"], shown["size"]) == (
        "脱贫户",
        "under_verification",
        3,
    )
    income = shown["latest_income"]
    assert income["period_end"] == "2026-11-30"
    assert (income["per_capita_net_income"], income["monitoring_line"]) == ("3833.33", "8700.00")
    assert (income["below_line"], income["estimated"]) == (True, False)


def test_the_assignees_are_the_steps_owners_in_the_cases_region(
    client: TestClient, accounts: Accounts, settings: Settings, poor: int
) -> None:
    for name in ("cadre_b", "township_2"):
        accounts.create(name)  # another village's cadre, another township's reviewer: not choices
    accounts.create("cadre_a")
    case_id = signal(settings, poor).case_id
    choices = detail(client, accounts["district"], case_id)["assignees"]
    assert [(a["username"], a["role"]) for a in choices] == [("cadre_a", "village_cadre")]
    chosen = act(
        client,
        accounts["district"],
        case_id,
        action="reassign",
        user_id=choices[0]["id"],
        reason="熟悉该户",
    )
    assert chosen.status_code == 200, chosen.text
    to_township(client, accounts, case_id, notice_days_ago=6)
    choices = detail(client, accounts["township_1"], case_id)["assignees"]
    assert [a["username"] for a in choices] == ["township_1"]
    # a closed case cannot be reassigned: no choices
    act(client, accounts["district"], case_id, action="close", reason="重复录入")
    assert detail(client, accounts["district"], case_id)["assignees"] == []


def test_only_the_steps_owners_and_the_district_reassign_a_case(
    client: TestClient, accounts: Accounts, settings: Settings, poor: int
) -> None:
    accounts.create("township_1")
    case_id = signal(settings, poor).case_id
    cadre_id = detail(client, accounts["district"], case_id)["assignees"][0]["id"]
    # at the village's step the township, which a late visit escalates to, may hand it to another cadre
    taken = act(client, accounts["township_1"], case_id, action="reassign", user_id=cadre_id, reason="换人")
    assert taken.status_code == 200, taken.text
    to_township(client, accounts, case_id, notice_days_ago=6)
    reviewer_id = detail(client, accounts["township_1"], case_id)["assignees"][0]["id"]
    # at the township's review the village cadre is neither offered nor allowed to reassign it
    assert "reassign" not in detail(client, accounts["cadre_a"], case_id)["allowed_actions"]
    assert detail(client, accounts["cadre_a"], case_id)["assignees"] == []
    refused = act(client, accounts["cadre_a"], case_id, action="reassign", user_id=reviewer_id, reason="换人")
    assert refused.status_code == 403, refused.text
    for who in ("township_1", "district"):
        taken = act(client, accounts[who], case_id, action="reassign", user_id=reviewer_id, reason="分管")
        assert taken.status_code == 200, (who, taken.text)


def test_the_decision_form_offers_the_categories_confirm_accepts(
    client: TestClient, accounts: Accounts, settings: Settings, poor: int
) -> None:
    case_id = signal(settings, poor).case_id
    offered = detail(client, accounts["district"], case_id)["confirm_categories"]
    assert offered == ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]


def unread(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    notes = client.get("/api/v1/notifications", params={"unread": "true"}, headers=headers)
    items: list[dict[str, Any]] = notes.json()["items"]
    return items


def test_the_one_who_acts_is_not_notified_of_work_that_stays_with_them(
    client: TestClient, accounts: Accounts, poor: int
) -> None:
    cadre = accounts["cadre_a"]
    accounts.create("township_1")
    case_id = client.post(
        "/api/v1/cases", json={"household_id": poor, "description": "家中主要劳动力住院"}, headers=cadre
    ).json()["case_id"]
    act(client, cadre, case_id, **VERIFY)
    act(client, cadre, case_id, **REVIEW)
    # the cadre opened the case and moved it on twice: nothing of it is news to them
    assert [n for n in unread(client, cadre) if n["case_id"] == case_id] == []
    me = detail(client, accounts["district"], case_id)["assignees"]
    mine = next(a["id"] for a in me if a["username"] == "cadre_a")
    act(client, cadre, case_id, action="reassign", user_id=mine, reason="本人跟进")
    assert [n for n in unread(client, cadre) if n["case_id"] == case_id] == []
    # the township hears when the work reaches it
    act(client, cadre, case_id, action="notice", starts_on=local_today().isoformat())
    assert [n["kind"] for n in unread(client, accounts["township_1"]) if n["case_id"] == case_id] == [
        "new_work"
    ]


def test_all_notifications_are_marked_read_for_the_caller_only(
    client: TestClient, accounts: Accounts, poor: int
) -> None:
    case_id = client.post(
        "/api/v1/cases",
        json={"household_id": poor, "description": "家中主要劳动力住院"},
        headers=accounts["cadre_a"],
    ).json()["case_id"]
    accounts["township_2"]  # noqa: B018 - another township's reviewer, with nothing to read
    reviewer, district = accounts["township_1"], accounts["district"]
    to_township(client, accounts, case_id, notice_days_ago=6)
    assert act(client, reviewer, case_id, action="approve").status_code == 200
    assert unread(client, district)  # the district was told the decision waits on it
    before = len(unread(client, reviewer))
    assert before >= 1  # the case reaching the township
    marked = client.post("/api/v1/notifications/read-all", headers=reviewer)
    assert marked.status_code == 200, marked.text
    assert marked.json() == {"marked": before}
    assert unread(client, reviewer) == []
    assert unread(client, district), "another user's notifications stay unread"
    again = client.post("/api/v1/notifications/read-all", headers=reviewer)
    assert again.json() == {"marked": 0}
    assert client.post("/api/v1/notifications/read-all").status_code == 401
