"""Acceptance 3: every refused input gets a 4xx in the one error shape, naming the field, and changes nothing.

Each refusal is sent between two snapshots of the database (row counts of every table, a digest of every
row, and the audit chain's head); the snapshots must be equal.
"""

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from app import db
from app.clock import local_today
from app.models import AuditHead, Base
from app.pii import id_check_digit
from app.services.platform.audit import HEAD_ID
from tests.fixtures import (
    VILLAGE_A,
    Accounts,
    household_body,
    make_id,
    member_body,
    new_household,
    report_body,
)

HOUSEHOLDS = "/api/v1/households"
BATCH = "/api/v1/reports/batch"

Body = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------


def db_state() -> dict[str, Any]:
    """Row count and a digest of the rows of every table, plus the audit chain's head length and mac."""
    state: dict[str, Any] = {}
    with db.session_scope() as session:
        for table in Base.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in session.execute(select(table)))
            state[table.name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        head = session.get(AuditHead, HEAD_ID)
        assert head is not None
        state["audit_head.length"] = head.length
        state["audit_head.last_mac"] = head.last_mac
    return state


@contextmanager
def unchanged() -> Iterator[None]:
    """Asserts that whatever runs inside writes nothing to the database."""
    before = db_state()
    yield
    after = db_state()
    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    assert not changed, f"the refused request changed the database: {changed}"


def assert_refused(response: Response, status: int, field: str) -> Body:
    """The one error shape, the expected 4xx, and `field` naming the offending field."""
    assert response.status_code == status, response.text
    body: Body = response.json()
    assert {"code", "message", "field"} <= body.keys(), body
    assert isinstance(body["code"], str)
    assert isinstance(body["message"], str)
    assert body["code"]
    assert body["message"]
    assert body["field"] == field, body
    for item in body.get("errors") or []:
        assert {"code", "message", "field"} <= item.keys(), item
    if body.get("errors"):
        assert field in [e["field"] for e in body["errors"]], body
    return body


Case = tuple[str, Body, int, str]  # name, request body, expected status, expected field


def check_cases(cases: list[Case], send: Callable[[Body], Response]) -> None:
    """Send each refused body between two snapshots; report every case that is not refused as it should be."""
    problems: list[str] = []
    for name, body, status, field in cases:
        before = db_state()
        response = send(body)
        after = db_state()
        if before != after:
            changed = sorted(k for k in before if before[k] != after.get(k))
            problems.append(f"{name}: the database changed ({', '.join(changed)})")
        try:
            assert_refused(response, status, field)
        except AssertionError as exc:
            problems.append(
                f"{name}: expected {status} naming {field!r}, got {response.status_code} "
                f"{response.text[:300]} ({str(exc).splitlines()[0][:200]})"
            )
    assert not problems, f"{len(problems)} of {len(cases)} cases wrong:\n" + "\n".join(problems)


def tomorrow() -> str:
    return (local_today() + timedelta(days=1)).isoformat()


def bad_checksum(id_number: str) -> str:
    good = id_number[-1]
    return id_number[:-1] + next(c for c in "0123456789X" if c != good)


def id_with_date(yyyymmdd: str) -> str:
    first17 = f"530402{yyyymmdd}123"
    return first17 + id_check_digit(first17)


@pytest.fixture
def household(client: TestClient, cadre: dict[str, str]) -> Body:
    return new_household(client, cadre, village=VILLAGE_A)


@pytest.fixture
def reports_url(household: Body) -> str:
    return f"{HOUSEHOLDS}/{household['id']}/reports"


# --- the helpers themselves ----------------------------------------------------------------------


def test_unchanged_detects_a_write(client: TestClient, cadre: dict[str, str]) -> None:
    """Guard: the snapshot would notice if a request did write."""
    with pytest.raises(AssertionError, match="changed the database"), unchanged():
        new_household(client, cadre, village=VILLAGE_A)


# --- registering a household ---------------------------------------------------------------------


def _set(path: list[Any], value: Any) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _members_id(index: int, make: Callable[[str], str]) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        body["members"][index]["id_number"] = make(body["members"][index]["id_number"])

    return mutate


def _duplicate_id(body: Body) -> None:
    body["members"][2]["id_number"] = body["members"][0]["id_number"]
    body["members"][2]["birth_date"] = body["members"][0]["birth_date"]


HOUSEHOLD_CASES: list[tuple[str, Callable[[Body], None], int, str]] = [
    ("id-bad-checksum", _members_id(1, bad_checksum), 422, "members[1].id_number"),
    ("id-17-chars", _members_id(1, lambda s: s[:17]), 422, "members[1].id_number"),
    ("id-letters", _members_id(1, lambda s: "A" + s[1:]), 422, "members[1].id_number"),
    ("id-nonexistent-date", _members_id(1, lambda _s: id_with_date("19810230")), 422, "members[1].id_number"),
    ("id-month-13", _members_id(0, lambda _s: id_with_date("19801301")), 422, "members[0].id_number"),
    ("birth-date-mismatch", _set(["members", 1, "birth_date"], "1972-08-10"), 422, "members[1].birth_date"),
    ("birth-date-future", _set(["members", 2, "birth_date"], "2099-01-01"), 422, "members[2].birth_date"),
    ("joined-on-future", lambda b: b["members"][2].update(joined_on=tomorrow()), 422, "members[2].joined_on"),
    ("two-heads", _set(["members", 1, "relation"], "户主"), 422, "members[1].relation"),
    ("no-head", _set(["members", 0, "relation"], "之父"), 422, "members"),
    ("same-person-twice", _duplicate_id, 422, "members[2].id_number"),
    ("unknown-field-top", _set(["nickname"], "x"), 422, "nickname"),
    ("unknown-field-member", _set(["members", 1, "nickname"], "x"), 422, "members[1].nickname"),
    ("household-no-chars", _set(["household_no"], "A 1/2"), 422, "household_no"),
    ("household-no-too-long", _set(["household_no"], "A" * 33), 422, "household_no"),
    ("village-code-shape", _set(["village_code"], "5304"), 422, "village_code"),
    ("village-code-unknown", _set(["village_code"], "530402202299"), 422, "village_code"),
    ("enum-household-type", _set(["household_type"], "富裕户"), 422, "household_type"),
    ("enum-monitoring-status", _set(["monitoring_status"], "watched"), 422, "monitoring_status"),
    ("enum-relation", _set(["members", 1, "relation"], "之叔"), 422, "members[1].relation"),
    ("enum-sex", _set(["members", 0, "sex"], "M"), 422, "members[0].sex"),
    ("enum-labour", _set(["members", 2, "labour_capacity"], "强劳动力"), 422, "members[2].labour_capacity"),
    ("bad-phone", _set(["phone"], "12345"), 422, "phone"),
    ("missing-members", lambda b: b.pop("members"), 422, "members"),
    ("empty-members", _set(["members"], []), 422, "members"),
    ("missing-name", lambda b: b["members"][1].pop("name"), 422, "members[1].name"),
    (
        "disabled-without-grade",
        lambda b: b["members"][0].update(health="残疾"),
        422,
        "members[0].disability_grade",
    ),
]


def test_household_refusals(client: TestClient, cadre: dict[str, str]) -> None:
    new_household(client, cadre, village=VILLAGE_A)  # something in the database to keep intact
    cases: list[Case] = []
    for name, mutate, status, field in HOUSEHOLD_CASES:
        body = household_body(VILLAGE_A)
        mutate(body)
        cases.append((name, body, status, field))
    check_cases(cases, lambda body: client.post(HOUSEHOLDS, json=body, headers=cadre))


def test_valid_household_is_accepted(client: TestClient, cadre: dict[str, str]) -> None:
    """Guard for the cases above: the unmutated body is fine, so each refusal is due to its one change."""
    response = client.post(HOUSEHOLDS, json=household_body(VILLAGE_A), headers=cadre)
    assert response.status_code == 201, response.text


def test_household_several_problems_all_listed(client: TestClient, cadre: dict[str, str]) -> None:
    body = household_body(VILLAGE_A)
    body["members"][0]["id_number"] = bad_checksum(body["members"][0]["id_number"])
    body["members"][2]["joined_on"] = tomorrow()
    body["bonus"] = 1
    with unchanged():
        response = client.post(HOUSEHOLDS, json=body, headers=cadre)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"members[0].id_number", "members[2].joined_on", "bonus"} <= fields


def test_duplicate_household_no_conflicts(client: TestClient, cadre: dict[str, str]) -> None:
    first = new_household(client, cadre, village=VILLAGE_A)
    with unchanged():
        response = client.post(
            HOUSEHOLDS, json=household_body(VILLAGE_A, household_no=first["household_no"]), headers=cadre
        )
    assert_refused(response, 409, "household_no")


# --- members ---------------------------------------------------------------------------------------


def test_add_member_refusals(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    def body(**change: Any) -> Body:
        member = member_body("之女", male=False, birth=date(1999, 1, 1))
        if "id_number" in change:
            member.pop("birth_date")
        return {**member, **change}

    good_id = make_id(date(1999, 1, 1), male=False)
    cases: list[Case] = [
        ("bad-checksum", body(id_number=bad_checksum(good_id)), 422, "id_number"),
        ("nonexistent-date", body(id_number=id_with_date("19800230")), 422, "id_number"),
        ("birth-mismatch", body(birth_date="1999-01-02"), 422, "birth_date"),
        ("joined-future", body(joined_on=tomorrow()), 422, "joined_on"),
        ("second-head", body(relation="户主"), 409, "relation"),
        ("enum-relation", body(relation="表亲"), 422, "relation"),
        ("unknown-field", body(nickname="x"), 422, "nickname"),
    ]
    elsewhere = household_body(VILLAGE_A)
    assert client.post(HOUSEHOLDS, json=elsewhere, headers=cadre).status_code == 201
    registered = elsewhere["members"][0]
    cases.append(("registered-elsewhere", body(id_number=registered["id_number"]), 409, "id_number"))
    url = f"{HOUSEHOLDS}/{household['id']}/members"
    check_cases(cases, lambda b: client.post(url, json=b, headers=cadre))


def test_update_member_refusals(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    son = next(m for m in household["members"] if m["relation"] == "之子")  # born 2000-01-15
    v = son["version"]
    cases: list[Case] = [
        ("left-future", {"version": v, "left_on": tomorrow(), "left_reason": "迁出"}, 422, "left_on"),
        ("no-reason", {"version": v, "left_on": "2025-03-01"}, 422, "left_reason"),
        ("enum-reason", {"version": v, "left_on": "2025-03-01", "left_reason": "出走"}, 422, "left_reason"),
        ("reason-without-date", {"version": v, "left_reason": "死亡"}, 422, "left_on"),
        ("left-before-born", {"version": v, "left_on": "1990-01-01", "left_reason": "迁出"}, 422, "left_on"),
        ("enum-sex", {"version": v, "sex": "unknown"}, 422, "sex"),
        ("unknown-field", {"version": v, "nickname": "x"}, 422, "nickname"),
        (
            "bad-checksum",
            {"version": v, "id_number": bad_checksum(make_id(date(2000, 1, 15)))},
            422,
            "id_number",
        ),
        ("birth-mismatch", {"version": v, "birth_date": "2000-01-16"}, 422, "birth_date"),
        ("stale-version", {"version": v + 5, "name": "新名"}, 409, "version"),
    ]
    url = f"{HOUSEHOLDS}/{household['id']}/members/{son['id']}"
    check_cases(cases, lambda b: client.patch(url, json=b, headers=cadre))


def test_update_household_refusals(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    v = household["version"]
    cases: list[Case] = [
        ("enum-status", {"version": v, "monitoring_status": "watched"}, 422, "monitoring_status"),
        ("enum-type", {"version": v, "household_type": "富裕户"}, 422, "household_type"),
        ("not-changeable", {"version": v, "village_code": VILLAGE_A}, 422, "village_code"),
        ("bad-phone", {"version": v, "phone": "12"}, 422, "phone"),
        ("stale-version", {"version": v + 1, "address": "二组"}, 409, "version"),
    ]
    url = f"{HOUSEHOLDS}/{household['id']}"
    check_cases(cases, lambda b: client.patch(url, json=b, headers=cadre))


# --- reports ---------------------------------------------------------------------------------------


def _income(name: str, value: Any) -> Callable[[Body], None]:
    return _set(["income", name], value)


def _event(**fields: Any) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        body["events"] = [{"kind": "illness", "occurred_on": "2025-02-01", "loss": "100", **fields}]

    return mutate


REPORT_CASES: list[tuple[str, Callable[[Body], None], str]] = [
    ("period-end-future", _set(["period_end"], "future"), "period_end"),
    ("period-start-future", lambda b: b.update(period_start="future", period_end="future"), "period_start"),
    ("event-future", _event(occurred_on="future"), "events[0].occurred_on"),
    ("event-after-period", _event(occurred_on="2025-04-02"), "events[0].occurred_on"),
    ("negative-string", _income("wages", "-0.01"), "income.wages"),
    ("negative-number", _income("transfer", -5), "income.transfer"),
    ("negative-cost", _income("production_cost", "-100"), "income.production_cost"),
    ("three-places-string", _income("business", "10.005"), "income.business"),
    ("three-places-number", _income("property", 1.125), "income.property"),
    ("not-a-number", _income("wages", "abc"), "income.wages"),
    ("nan", _income("wages", "NaN"), "income.wages"),
    ("infinity", _income("wages", "Infinity"), "income.wages"),
    ("too-large", _income("wages", "1e20"), "income.wages"),
    ("boolean-amount", _income("wages", True), "income.wages"),
    ("missing-amount", lambda b: b["income"].pop("wages"), "income.wages"),
    ("negative-insurance", _set(["insurance_payout"], "-1"), "insurance_payout"),
    ("three-places-spending", _set(["spending"], {"medical": "1.001"}), "spending.medical"),
    ("negative-loss", _event(loss="-1"), "events[0].loss"),
    ("unknown-top", _set(["bonus"], "1"), "bonus"),
    ("unknown-income", _income("bonus", "1"), "income.bonus"),
    ("unknown-spending", _set(["spending"], {"medical": "1", "food": "2"}), "spending.food"),
    ("unknown-event", _event(note="x"), "events[0].note"),
    (
        "period-13-months",
        lambda b: b.update(period_start="2025-01-01", period_end="2026-01-01"),
        "period_end",
    ),
    (
        "period-24-months",
        lambda b: b.update(period_start="2024-01-01", period_end="2025-12-31"),
        "period_end",
    ),
    (
        "end-before-start",
        lambda b: b.update(period_start="2025-03-01", period_end="2025-02-28"),
        "period_end",
    ),
    ("date-not-a-date", _set(["period_end"], "2025-02-30"), "period_end"),
    ("enum-housing", _set(["housing_grade"], "E"), "housing_grade"),
    ("enum-event-kind", _event(kind="flood"), "events[0].kind"),
    ("enum-disaster", _event(kind="natural_disaster", disaster_type="台风"), "events[0].disaster_type"),
    ("disaster-without-type", _event(kind="natural_disaster"), "events[0].disaster_type"),
    ("client-ref-chars", _set(["client_ref"], "has space"), "client_ref"),
    ("client-ref-empty", _set(["client_ref"], ""), "client_ref"),
    ("flag-not-bool", _set(["food_secure"], "maybe"), "food_secure"),
]


def _report_case(mutate: Callable[[Body], None]) -> Body:
    body = report_body("r-1", "2025-01-01", "2025-03-31")
    mutate(body)
    for key in ("period_start", "period_end"):
        if body[key] == "future":
            body[key] = tomorrow()
    for event in body.get("events", []):
        if event.get("occurred_on") == "future":
            event["occurred_on"] = tomorrow()
    return body


def test_report_refusals(client: TestClient, cadre: dict[str, str], reports_url: str) -> None:
    assert client.post(
        reports_url, json=report_body("old", "2024-01-01", "2024-06-30"), headers=cadre
    ).is_success
    cases: list[Case] = [(name, _report_case(mutate), 422, field) for name, mutate, field in REPORT_CASES]
    check_cases(cases, lambda body: client.post(reports_url, json=body, headers=cadre))


def test_batch_item_refusals(client: TestClient, cadre: dict[str, str], household: Body) -> None:
    """The same refusals inside a batch name the item: reports[i].field."""
    good = {**report_body("ok", "2024-01-01", "2024-03-31"), "household_id": household["id"]}
    cases: list[Case] = [
        (
            name,
            {"reports": [good, {**_report_case(mutate), "household_id": household["id"]}]},
            422,
            f"reports[1].{field}",
        )
        for name, mutate, field in REPORT_CASES
    ]
    check_cases(cases, lambda body: client.post(BATCH, json=body, headers=cadre))


def test_valid_report_is_accepted(client: TestClient, cadre: dict[str, str], reports_url: str) -> None:
    """Guard for the cases above: the unmutated body (with a valid event) is stored."""
    body = report_body("r-1", "2025-01-01", "2025-03-31")
    _event()(body)
    response = client.post(reports_url, json=body, headers=cadre)
    assert response.status_code == 201, response.text


def test_report_period_of_exactly_12_months_is_accepted(
    client: TestClient, cadre: dict[str, str], reports_url: str
) -> None:
    response = client.post(reports_url, json=report_body("y", "2025-01-01", "2025-12-31"), headers=cadre)
    assert response.status_code == 201, response.text


def test_overlapping_periods_conflict(client: TestClient, cadre: dict[str, str], reports_url: str) -> None:
    stored = client.post(reports_url, json=report_body("h1", "2025-01-01", "2025-06-30"), headers=cadre)
    assert stored.status_code == 201, stored.text
    periods = {
        "inside": ("2025-03-01", "2025-05-31"),
        "touches-first-day": ("2024-12-01", "2025-01-01"),
        "touches-last-day": ("2025-06-30", "2025-09-30"),
        "same-period": ("2025-01-01", "2025-06-30"),
        "contains-it": ("2024-07-01", "2025-06-30"),
    }
    cases: list[Case] = [
        (name, report_body(f"h2-{name}", s, e), 409, "period_start") for name, (s, e) in periods.items()
    ]
    check_cases(cases, lambda body: client.post(reports_url, json=body, headers=cadre))


def test_adjacent_period_is_not_an_overlap(
    client: TestClient, cadre: dict[str, str], reports_url: str
) -> None:
    assert (
        client.post(
            reports_url, json=report_body("h1", "2025-01-01", "2025-06-30"), headers=cadre
        ).status_code
        == 201
    )
    response = client.post(reports_url, json=report_body("h2", "2025-07-01", "2025-09-30"), headers=cadre)
    assert response.status_code == 201, response.text


def test_client_ref_reused_with_other_body_conflicts(
    client: TestClient, cadre: dict[str, str], reports_url: str
) -> None:
    assert (
        client.post(
            reports_url, json=report_body("h1", "2025-01-01", "2025-03-31"), headers=cadre
        ).status_code
        == 201
    )
    with unchanged():
        response = client.post(
            reports_url, json=report_body("h1", "2025-01-01", "2025-03-31", wages="3001"), headers=cadre
        )
    assert_refused(response, 409, "client_ref")


def test_supersedes_report_of_another_household(
    client: TestClient, cadre: dict[str, str], reports_url: str
) -> None:
    other = new_household(client, cadre, village=VILLAGE_A)
    foreign = client.post(
        f"{HOUSEHOLDS}/{other['id']}/reports",
        json=report_body("o", "2025-01-01", "2025-03-31"),
        headers=cadre,
    )
    assert foreign.status_code == 201
    with unchanged():
        response = client.post(
            reports_url,
            json=report_body("h", "2025-01-01", "2025-03-31", supersedes=foreign.json()["id"]),
            headers=cadre,
        )
    assert_refused(response, 422, "supersedes")


def test_batch_item_unknown_field_is_named(
    client: TestClient, cadre: dict[str, str], household: Body
) -> None:
    good = {**report_body("b0", "2025-01-01", "2025-03-31"), "household_id": household["id"]}
    bad = {**report_body("b1", "2025-04-01", "2025-06-30"), "household_id": household["id"]}
    bad["income"]["bonus"] = "5"
    with unchanged():
        response = client.post(BATCH, json={"reports": [good, bad]}, headers=cadre)
    assert_refused(response, 422, "reports[1].income.bonus")
    with unchanged():
        response = client.post(BATCH, json={"reports": [good], "device": "phone-7"}, headers=cadre)
    assert_refused(response, 422, "device")


# --- bodies that are not what the endpoint takes --------------------------------------------------


def _raw_cases(
    client: TestClient, cadre: dict[str, str], url: str, raw: dict[str, tuple[bytes, str]]
) -> None:
    problems: list[str] = []
    for name, (content, content_type) in raw.items():
        before = db_state()
        response = client.post(url, content=content, headers={**cadre, "Content-Type": content_type})
        if db_state() != before:
            problems.append(f"{name}: the database changed")
        try:
            assert_refused(response, 422, "body")
        except AssertionError:
            problems.append(f"{name}: {response.status_code} {response.text[:200]}")
    assert not problems, "\n".join(problems)


def test_malformed_json_body(client: TestClient, cadre: dict[str, str], reports_url: str) -> None:
    new_household(client, cadre, village=VILLAGE_A)
    raw = {
        "broken": (b"{not json", "application/json"),
        "truncated": (b'{"household_no": "A-1",', "application/json"),
        "binary": (b"\xff\xfe\x00garbage", "application/json"),
    }
    _raw_cases(client, cadre, HOUSEHOLDS, raw)
    _raw_cases(client, cadre, reports_url, raw)
    _raw_cases(client, cadre, BATCH, raw)


def test_body_not_a_json_object(client: TestClient, cadre: dict[str, str], reports_url: str) -> None:
    """Not JSON at all, or JSON that is not an object: the refusal names the body, as for broken JSON."""
    new_household(client, cadre, village=VILLAGE_A)
    raw = {
        "form": (b"household_no=A-1", "application/x-www-form-urlencoded"),
        "text": (b"hello", "text/plain"),
        "empty": (b"", "application/json"),
        "array": (b"[1, 2]", "application/json"),
        "string": (b'"a string"', "application/json"),
        "null": (b"null", "application/json"),
    }
    _raw_cases(client, cadre, HOUSEHOLDS, raw)
    _raw_cases(client, cadre, reports_url, raw)


# --- ids no database column can hold: a 4xx, never a 500 -------------------------------------------


@pytest.mark.parametrize("big", [2**31, 2**63, 2**70], ids=["2^31", "2^63", "2^70"])
def test_huge_ids_are_a_4xx(client: TestClient, cadre: dict[str, str], big: int) -> None:
    """Ids beyond what the id columns hold (PostgreSQL INTEGER: 2^31 − 1) are just ids that do not exist."""
    household = new_household(client, cadre, village=VILLAGE_A)
    requests: list[tuple[str, str, Body | None]] = [
        ("GET", f"{HOUSEHOLDS}/{big}", None),
        ("GET", f"{HOUSEHOLDS}/{big}/reports", None),
        ("POST", f"{HOUSEHOLDS}/{big}/reports", report_body("x", "2025-01-01", "2025-03-31")),
        ("POST", BATCH, {"reports": [{**report_body("x", "2025-01-01", "2025-03-31"), "household_id": big}]}),
        (
            "POST",
            BATCH,
            {
                "reports": [
                    {
                        **report_body("x", "2025-01-01", "2025-03-31"),
                        "household_id": household["id"],
                        "supersedes": big,
                    }
                ]
            },
        ),
        ("PATCH", f"{HOUSEHOLDS}/{household['id']}/members/{big}", {"version": 1, "name": "x"}),
        ("PATCH", f"{HOUSEHOLDS}/{big}", {"version": 1, "address": "x"}),
    ]
    statuses = {}
    with unchanged():
        for method, url, body in requests:
            response = client.request(method, url, json=body, headers=cadre)
            statuses[f"{method} {url} {body}"[:160]] = response.status_code
    assert all(400 <= s < 500 for s in statuses.values()), statuses


def test_inputs_that_used_to_crash_are_4xx(client: TestClient, accounts: Accounts) -> None:
    """No input gives a 500: ancient dates, absurd page numbers, NUL characters."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    ancient = client.post(
        f"/api/v1/households/{household['id']}/reports",
        json=report_body("old", "0001-01-01", "0001-03-31"),
        headers=cadre,
    )
    assert ancient.status_code == 422
    assert ancient.json()["field"] == "period_start"
    for path in ("/api/v1/households", f"/api/v1/households/{household['id']}/history", "/api/v1/regions"):
        response = client.get(path, params={"page": 10**20}, headers=cadre)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == "page"
    nul = client.post("/api/v1/households", json=household_body(address="一组\x0012号"), headers=cadre)
    assert nul.status_code == 422
    assert nul.json()["field"] == "address"
    login = client.post("/api/v1/auth/token", data={"username": "cadre_a\x00", "password": "x" * 12})
    assert 400 <= login.status_code < 500


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_full_width_id_number_is_refused(client: TestClient, accounts: Accounts) -> None:
    household = new_household(client, accounts["cadre_a"])
    ascii_id = client.get(
        f"/api/v1/households/{household['id']}", params={"reveal": "true"}, headers=accounts["cadre_a"]
    ).json()["members"][0]["id_number"]
    disguised = ascii_id[:17].translate(FULL_WIDTH) + ascii_id[17]
    body = household_body(members=[member_body("户主") | {"id_number": disguised, "birth_date": None}])
    response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
    assert response.status_code == 422
    assert response.json()["field"] == "members[0].id_number"


def test_full_width_phone_is_refused(client: TestClient, accounts: Accounts) -> None:
    body = household_body(phone="1380000000０")
    response = client.post("/api/v1/households", json=body, headers=accounts["cadre_a"])
    assert response.status_code == 422
    assert response.json()["field"] == "phone"
