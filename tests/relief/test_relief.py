"""The relief platform integration, in process: signed applications in (idempotent, amended, matched,
refused with the platform's codes), messages back in order through the outbox, key rotation, and
reconciliation. tests/test_relief_e2e.py runs the same exchange between real processes."""

import json
import socket
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app import clock, db
from app.clock import local_today, unix_seconds
from app.config import Settings
from app.models import Case, CaseEvent, Household, Member, PlatformKey, ReliefApplication, ReliefMessage
from app.models.base import utcnow
from app.models.enums import Role
from app.schemas.users import UserCreate
from app.services.cases import relief_news
from app.services.platform import users
from app.services.platform.access import Actor
from app.services.relief import relief_keys, relief_outbox
from tests.fixtures import COUNTY, PASSWORD, VILLAGE_A, Accounts, household_body, make_id, member_body
from tests.platform.test_webhooks import Hanging, Receiver

URL = "/api/v1/integrations/relief-platform"


class Platform:
    """Signs like the provincial platform."""

    def __init__(self, client: TestClient, key_id: str, secret: str) -> None:
        self.client, self.key_id, self.secret = client, key_id, secret

    def post(
        self, path: str, payload: Any, *, timestamp: int | None = None, secret: str | None = None
    ) -> Any:
        body = json.dumps(payload, ensure_ascii=False).encode() if not isinstance(payload, bytes) else payload
        ts = str(timestamp if timestamp is not None else unix_seconds())
        headers = {
            "content-type": "application/json",
            "x-shouwang-key-id": self.key_id,
            "x-shouwang-timestamp": ts,
            "x-shouwang-signature": relief_keys.sign(secret or self.secret, ts, body),
        }
        return self.client.post(f"{URL}/{path}", content=body, headers=headers)


@pytest.fixture
def platform(client: TestClient, accounts: Accounts, settings: Settings) -> Platform:
    accounts.create("platform")
    with db.session_scope() as session:
        key_id, secret = relief_keys.create(session, settings, Actor.system("test"), "platform")
    return Platform(client, key_id, secret)


APPLICANT_ID = make_id(date(1975, 4, 2), male=False)


def application(**changes: Any) -> dict[str, Any]:
    return {
        "application_id": "YN-2026-000123",
        "applicant_name": "李秀英",
        "id_number": APPLICANT_ID,
        "phone": "13912345678",
        "address": "洛河村三组 5 号",
        "region_code": VILLAGE_A,
        "household_size": 4,
        "difficulty_type": "medical",
        "description": "丈夫住院，自付医疗费 3 万元",
        "submitted_at": "2026-06-08T09:30:00+08:00",
        "stated_loss": "30000",
        "attachments": [{"name": "诊断书.jpg", "url": "https://zhaozhengfu.example/a/1", "sha256": "a" * 64}],
    } | changes


def messages() -> list[ReliefMessage]:
    with db.session_scope() as session:
        return list(session.scalars(select(ReliefMessage).order_by(ReliefMessage.id)))


# ---- acceptance 1: signed, idempotent, refused with codes --------------------------------------------


def test_a_signed_application_opens_one_case_and_a_repeat_gets_the_same_answer(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    first = platform.post("applications", application())
    assert first.status_code == 202, first.text
    answer = first.json()
    assert answer["status"] == "received"
    case = client.get(f"/api/v1/cases/{answer['case_id']}", headers=accounts["cadre_a"]).json()
    assert (case["source"], case["village_code"], case["step"]) == (
        "self_application",
        VILLAGE_A,
        "village_verification",
    )
    assert "自主申报" in case["reasons"][0]["text"]
    again = platform.post("applications", application())
    assert (again.status_code, again.json()) == (202, answer)
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        household = session.scalars(select(Household)).one()
        # nobody had this ID number: a provisional household, the applicant its head
        assert household.provisional
        relations = session.scalars(select(Member.relation).where(Member.household_id == household.id)).all()
        assert [r.value for r in relations] == ["户主"]
    assert [m.event for m in messages()] == ["received"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"region_code": "110101001001"}, 422, "region_outside_county"),
        ({"id_number": "530402197504020001"}, 422, "invalid_id_number"),
        ({"household_size": 0}, 422, "invalid_payload"),
        ({"difficulty_type": "lottery"}, 422, "invalid_payload"),
        ({"submitted_at": "2026-06-08T09:30:00"}, 422, "invalid_payload"),  # no offset
        ({"colour": "red"}, 422, "invalid_payload"),
    ],
)
def test_refusals_carry_the_platforms_codes(
    platform: Platform, change: dict[str, Any], status: int, code: str
) -> None:
    refused = platform.post("applications", application(**change))
    assert (refused.status_code, refused.json()["code"]) == (status, code)
    assert messages() == []


def test_bad_signatures_old_timestamps_and_unknown_keys_are_refused(platform: Platform) -> None:
    body = application()
    forged = platform.post("applications", body, secret="not-the-secret")
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    stale = platform.post("applications", body, timestamp=unix_seconds() - 301)
    assert (stale.status_code, stale.json()["code"]) == (401, "stale_timestamp")
    unknown = Platform(platform.client, "rp_nobody", platform.secret).post("applications", body)
    assert (unknown.status_code, unknown.json()["code"]) == (401, "unknown_key")
    assert platform.post("applications", b"{not json").json()["code"] == "invalid_payload"
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_changed_payload_under_the_same_id_is_an_amendment(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    answer = platform.post("applications", application()).json()
    amended = platform.post(
        "applications", application(description="丈夫住院，自付 4 万元", stated_loss="40000")
    )
    assert (amended.status_code, amended.json()) == (202, answer)
    timeline = client.get(f"/api/v1/cases/{answer['case_id']}", headers=accounts["cadre_a"]).json()[
        "timeline"
    ]
    [event] = [e for e in timeline if e["action"] == "amended"]
    assert event["data"]["fields"] == ["description", "stated_loss"]
    assert "4 万" not in json.dumps(event)  # field names, never values, on the timeline
    with db.session_scope() as session:
        assert session.scalars(select(ReliefApplication.amendments)).one() == 1


def test_an_applicant_who_is_a_member_is_matched_to_their_household(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    daughter = member_body("之女", male=False, birth=date(1998, 6, 1))
    members = [member_body("户主", birth=date(1970, 3, 1)), daughter]
    existing = client.post(
        "/api/v1/households", json=household_body(members=members), headers=accounts["cadre_a"]
    )
    answer = platform.post("applications", application(id_number=daughter["id_number"])).json()
    with db.session_scope() as session:
        case = session.get(Case, answer["case_id"])
        assert case is not None
        assert case.household_id == existing.json()["id"]
        assert session.scalar(select(func.count()).select_from(Household)) == 1  # no provisional one


# ---- acceptance 2 and 3: messages back, in order, signed; failures park and replay ---------------------


def walk(client: TestClient, accounts: Accounts, case_id: int) -> None:
    today = local_today().isoformat()

    def act(who: str, **body: Any) -> None:
        response = client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=accounts[who])
        assert response.status_code == 200, response.text

    act("cadre_a", action="verify", visited_on=today, visitors=["李文"], findings="属实", consent_signed=True)
    act("cadre_a", action="review", held_on=today, outcome="agreed", attendees=20)
    act("cadre_a", action="notice", starts_on=today, objections="")
    with db.session_scope() as session:
        session.execute(update(Case).where(Case.id == case_id).values(notice_ends_on=local_today()))
    act("township_1", action="approve")
    act("district", action="confirm", monitoring_category="突发严重困难户", risk_types=["因意外事故"])


@pytest.fixture
def callback(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    receiver = Receiver()
    monkeypatch.setattr(settings, "relief_callback_url", receiver.url)
    monkeypatch.setattr(settings, "relief_max_attempts", 3)
    monkeypatch.setattr(settings, "relief_backoff_seconds", 0.01)
    yield receiver
    receiver.close()


def test_the_steps_are_posted_back_in_order_and_signed(
    platform: Platform, callback: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    case_id = platform.post("applications", application()).json()["case_id"]
    walk(client, accounts, case_id)
    measure = {
        "category": "健康帮扶",
        "item": "医疗救助",
        "department": "医保局",
        "started_on": local_today().isoformat(),
    }
    hid = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["household_id"]
    assert (
        client.post(
            f"/api/v1/households/{hid}/assistance", json=measure, headers=accounts["cadre_a"]
        ).status_code
        == 201
    )
    assert relief_outbox.deliver_due(db.session_scope, settings) == 6
    posted = [json.loads(body) for _, body in callback.posts]
    assert [(p["sequence"], p["event"], p["status"]) for p in posted] == [
        (1, "received", "received"),
        (2, "village_verification", "village_verified"),
        (3, "public_notice", "public_notice"),
        (4, "township_review", "township_approved"),
        (5, "decided", "confirmed"),
        (6, "assistance_started", "assistance_started"),
    ]
    assert posted[4]["assistance"] == []  # confirmed before any measure
    assert posted[5]["measure"]["category"] == "健康帮扶"
    for headers, body in callback.posts:
        expected = relief_keys.sign(platform.secret, headers["x-shouwang-timestamp"], body)
        assert headers["x-shouwang-signature"] == expected
        assert headers["x-shouwang-key-id"] == platform.key_id
    assert all(p["application_id"] == "YN-2026-000123" for p in posted)
    first = callback.posts[0][1].decode()
    assert "id_number" not in first
    assert "李秀英" not in first  # no personal data goes back


def test_failures_back_off_park_hold_back_the_rest_and_replay_in_order(
    platform: Platform, callback: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    case_id = platform.post("applications", application()).json()["case_id"]
    callback.status = 503
    for _ in range(3):
        relief_outbox.deliver_due(db.session_scope, settings)
        with db.session_scope() as session:  # the backoff has passed
            session.execute(update(ReliefMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    [dead] = messages()
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, "HTTP 503")
    walk(client, accounts, case_id)  # more news while the first message is parked
    callback.status = 200
    assert (
        relief_outbox.deliver_due(db.session_scope, settings) == 0
    )  # held back behind the dead one: order is kept
    listed = client.get(f"{URL}/deliveries", params={"status": "dead"}, headers=accounts["admin"]).json()
    assert [m["id"] for m in listed["items"]] == [dead.id]
    assert client.get(f"{URL}/deliveries", headers=accounts["district"]).status_code == 403
    assert client.post(f"{URL}/deliveries/{dead.id}/replay", headers=accounts["admin"]).status_code == 200
    assert relief_outbox.deliver_due(db.session_scope, settings) == 5
    delivered = [json.loads(body) for _, body in callback.posts[-5:]]
    assert [p["sequence"] for p in delivered] == [1, 2, 3, 4, 5]
    ids = [json.loads(body)["message_id"] for _, body in callback.posts]
    assert ids.count(dead.message_id) == 4  # three failed tries and the replay: one message_id throughout


# ---- acceptance 4 and 5: key rotation, reconciliation ------------------------------------------------


def test_both_secrets_work_during_the_grace_period_and_only_the_new_one_after(
    platform: Platform, settings: Settings
) -> None:
    with db.session_scope() as session:
        new_id, new_secret, _ = relief_keys.rotate(
            session, settings, Actor.system("test"), "platform", timedelta(hours=2)
        )
    new = Platform(platform.client, new_id, new_secret)
    assert platform.post("applications", application(application_id="A1")).status_code == 202
    assert new.post("applications", application(application_id="A2")).status_code == 202
    with db.session_scope() as session:  # the grace period ends
        session.execute(
            update(PlatformKey)
            .where(PlatformKey.key_id == platform.key_id)
            .values(retires_at=utcnow() - timedelta(seconds=1))
        )
    assert platform.post("applications", application(application_id="A3")).json()["code"] == "unknown_key"
    assert new.post("applications", application(application_id="A4")).status_code == 202


def test_reconciliation_tells_the_truth_unknown_ids_included(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    answer = platform.post("applications", application()).json()
    body = {"application_ids": ["YN-2026-000123", "YN-NEVER-SENT"]}
    expected = {
        "items": [
            {"application_id": "YN-2026-000123", "status": "received", "case_id": answer["case_id"]},
            {"application_id": "YN-NEVER-SENT", "status": "unknown", "case_id": None},
        ]
    }
    signed = platform.post("reconcile", body)
    assert (signed.status_code, signed.json()) == (200, expected)
    assert client.post(f"{URL}/reconcile", json=body, headers=accounts["admin"]).json() == expected
    assert client.post(f"{URL}/reconcile", json=body, headers=accounts["district"]).status_code == 403
    assert client.post(f"{URL}/reconcile", json=body).status_code == 401
    assert platform.post("reconcile", {"application_ids": []}).json()["code"] == "invalid_payload"


def test_an_out_of_scope_difficulty_is_verified_and_its_rejection_says_so(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    case_id = platform.post("applications", application(difficulty_type="employment")).json()["case_id"]
    today = local_today().isoformat()
    client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={
            "action": "verify",
            "visited_on": today,
            "visitors": ["李文"],
            "findings": "有工作",
            "consent_signed": True,
        },
        headers=accounts["cadre_a"],
    )
    client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "review", "held_on": today, "outcome": "disagreed", "attendees": 15},
        headers=accounts["cadre_a"],
    )
    decided = messages()[-1].payload
    assert (decided["event"], decided["status"], decided["within_scope"]) == ("decided", "rejected", False)
    assert "两不愁三保障" in decided["note"]
    with db.session_scope() as session:
        assert session.scalar(select(CaseEvent.action).where(CaseEvent.action == "review")) == "review"


def test_the_cli_creates_and_rotates_keys_and_lists_deliveries(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    import re

    from click.testing import CliRunner

    from app.cli import main

    runner = CliRunner()
    assert platform.post("applications", application()).status_code == 202
    made = runner.invoke(main, ["relief", "keys", "create", "--user", "platform"])
    assert made.exit_code == 0, made.output
    assert re.search(r"^key_id=rp_[0-9a-f]{16}$", made.output, flags=re.M)
    rotated = runner.invoke(main, ["relief", "keys", "rotate", "--user", "platform", "--grace-hours", "1"])
    assert rotated.exit_code == 0, rotated.output
    new_id = re.search(r"^key_id=(\S+)$", rotated.output, flags=re.M)
    new_secret = re.search(r"^secret=(\S+)$", rotated.output, flags=re.M)
    assert new_id
    assert new_secret
    fresh = Platform(platform.client, new_id.group(1), new_secret.group(1))
    assert fresh.post("applications", application(application_id="CLI-2")).status_code == 202
    assert platform.post("applications", application(application_id="CLI-3")).status_code == 202  # grace
    accounts.create("cadre_a")
    wrong = runner.invoke(main, ["relief", "keys", "create", "--user", "cadre_a"])
    assert wrong.exit_code != 0
    assert "not a platform_client" in wrong.output
    listed = runner.invoke(main, ["relief", "deliveries", "--status", "pending"])
    assert listed.exit_code == 0, listed.output
    assert "3 messages pending" in listed.output
    assert "YN-2026-000123" in listed.output


# ---- review fixes -------------------------------------------------------------------------------------


def test_a_rejected_households_new_application_is_verified_again(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    first = platform.post("applications", application()).json()
    with db.session_scope() as session:
        session.execute(
            update(Case)
            .where(Case.id == first["case_id"])
            .values(status="closed", outcome="rejected", closed_at=utcnow())
        )
    again = platform.post("applications", application(application_id="YN-2026-000124")).json()
    assert again["status"] == "received"
    assert again["case_id"] not in (None, first["case_id"])


def test_amendments_are_checked_and_older_versions_change_nothing(platform: Platform) -> None:
    platform.post("applications", application())
    other_person = platform.post("applications", application(id_number=make_id(date(1990, 1, 1))))
    assert (other_person.status_code, other_person.json()["field"]) == (422, "id_number")
    outside = platform.post("applications", application(region_code="110101001001", description="改"))
    assert outside.json()["code"] == "region_outside_county"
    older = platform.post(
        "applications", application(submitted_at="2026-06-07T09:30:00+08:00", description="旧")
    )
    assert older.status_code == 202
    newer = platform.post(
        "applications", application(submitted_at="2026-06-09T09:30:00+08:00", difficulty_type="housing")
    )
    assert newer.status_code == 202
    with db.session_scope() as session:
        stored = session.scalars(select(ReliefApplication)).one()
        assert (stored.amendments, stored.difficulty_type) == (1, "housing")


def test_odd_headers_and_bodies_are_refused_not_crashed(platform: Platform) -> None:
    body = json.dumps(application()).encode()
    for headers, code in (
        ({"x-shouwang-timestamp": "²"}, "stale_timestamp"),
        ({"x-shouwang-timestamp": str(unix_seconds() + 600)}, "stale_timestamp"),  # from the future
        ({"x-shouwang-signature": "sha256=签名"}, "bad_signature"),
        ({"x-shouwang-signature": ""}, "bad_signature"),
    ):
        ts = headers.get("x-shouwang-timestamp", str(unix_seconds()))
        sent = {
            "content-type": "application/json",
            "x-shouwang-key-id": platform.key_id,
            "x-shouwang-timestamp": ts,
            "x-shouwang-signature": relief_keys.sign(platform.secret, ts, body),
        } | headers
        raw = {k.encode(): v.encode() for k, v in sent.items()}  # as sent on the wire: UTF-8 bytes
        answer = platform.client.post(f"{URL}/applications", content=body, headers=raw)
        assert (answer.status_code, answer.json()["code"]) == (401, code), headers
    missing = platform.client.post(f"{URL}/applications", content=body)
    assert (missing.status_code, missing.json()["code"]) == (401, "unknown_key")
    deep = b"[" * 100_000 + b"]" * 100_000
    assert platform.post("applications", deep).json()["code"] == "invalid_payload"


def test_callbacks_are_signed_with_the_old_key_until_the_grace_ends(
    platform: Platform, callback: Receiver, settings: Settings
) -> None:
    platform.post("applications", application())
    with db.session_scope() as session:
        new_id, _, _ = relief_keys.rotate(
            session, settings, Actor.system("test"), "platform", timedelta(hours=1)
        )
    relief_outbox.deliver_due(db.session_scope, settings)
    assert callback.posts[-1][0]["x-shouwang-key-id"] == platform.key_id  # the platform surely has it
    with db.session_scope() as session:
        session.execute(
            update(PlatformKey)
            .where(PlatformKey.key_id == platform.key_id)
            .values(retires_at=utcnow() - timedelta(seconds=1))
        )
    with db.session_scope() as session:  # the grace is over: the next message goes with the new key
        [application_row] = session.scalars(select(ReliefApplication)).all()
        relief_news.enqueue(session, application_row, "received", "received", {})
    relief_outbox.deliver_due(db.session_scope, settings)
    assert callback.posts[-1][0]["x-shouwang-key-id"] == new_id


def test_only_dead_messages_replay_and_all_of_them_at_once(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    platform.post("applications", application())
    [pending] = messages()
    refused = client.post(f"{URL}/deliveries/{pending.id}/replay", headers=accounts["admin"])
    assert (refused.status_code, refused.json()["field"]) == (409, "message_id")
    with db.session_scope() as session:
        session.execute(update(ReliefMessage).values(status="dead"))
    done = client.post(f"{URL}/deliveries/replay-dead", headers=accounts["admin"])
    assert done.json() == {"replayed": 1}
    assert [m.status for m in messages()] == ["pending"]


def test_verifiers_see_the_application_masked(
    platform: Platform, client: TestClient, accounts: Accounts
) -> None:
    helper = {"name": "李文", "phone": "13700001234", "relation": "村民小组长"}
    case_id = platform.post("applications", application(on_behalf_of=helper)).json()["case_id"]
    [shown] = client.get(f"/api/v1/cases/{case_id}/applications", headers=accounts["cadre_a"]).json()
    assert (shown["household_size"], shown["stated_loss"], shown["difficulty_type"]) == (
        4,
        "30000.00",
        "medical",
    )
    assert shown["id_number"].count("*") == 8
    assert shown["phone"].endswith("5678")
    assert "1391234" not in shown["phone"]
    assert shown["on_behalf_of"]["phone"].endswith("1234")
    assert shown["on_behalf_of"]["name"] == "李文"
    assert client.get(f"/api/v1/cases/{case_id}/applications", headers=accounts["cadre_b"]).status_code == 404


def test_assistance_started_is_said_once(platform: Platform, client: TestClient, accounts: Accounts) -> None:
    case_id = platform.post("applications", application()).json()["case_id"]
    walk(client, accounts, case_id)
    hid = client.get(f"/api/v1/cases/{case_id}", headers=accounts["cadre_a"]).json()["household_id"]
    for item in ("医疗救助", "临时救助"):
        measure = {
            "category": "健康帮扶",
            "item": item,
            "department": "医保局",
            "started_on": local_today().isoformat(),
        }
        client.post(f"/api/v1/households/{hid}/assistance", json=measure, headers=accounts["cadre_a"])
    events = [m.event for m in messages()]
    assert events.count("assistance_started") == 1
    assert "医疗救助" not in json.dumps([m.payload for m in messages()], ensure_ascii=False)
    assert all("risk_types" not in m.payload for m in messages())


# ---- issue 16: outbound delivery ------------------------------------------------------------------------


class Trickling:
    """A platform that answers a byte at a time, each byte well within any per-read timeout, the whole
    answer taking far longer than the delivery may."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/callbacks"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        answer = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 300 + b"\r\nContent-Length: 0\r\n\r\n"
        with self.listener:
            while not self.stop.is_set():
                try:
                    connection, _ = self.listener.accept()
                except TimeoutError:
                    continue
                with connection:
                    connection.recv(65536)
                    for i in range(len(answer)):
                        if self.stop.wait(0.1):
                            return
                        try:
                            connection.sendall(answer[i : i + 1])
                        except OSError:
                            break


def test_a_platform_trickling_its_answer_does_not_stall_delivery(
    platform: Platform, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    trickling = Trickling()
    monkeypatch.setattr(settings, "relief_callback_url", trickling.url)
    monkeypatch.setattr(settings, "relief_timeout_seconds", 1.0)
    platform.post("applications", application())
    started = time.monotonic()
    try:
        assert relief_outbox.deliver_due(db.session_scope, settings) == 0
    finally:
        trickling.stop.set()
    assert time.monotonic() - started < 5  # the whole answer would take over 30 s
    [message] = messages()
    assert (message.status, message.attempts, message.last_error) == (
        "pending",
        1,
        "no answer within the time limit",
    )


def test_a_platform_that_never_answers_holds_no_lock(
    platform: Platform,
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hanging = Hanging()
    monkeypatch.setattr(settings, "relief_callback_url", hanging.url)
    monkeypatch.setattr(settings, "relief_timeout_seconds", 20.0)
    platform.post("applications", application())
    worker = threading.Thread(target=relief_outbox.deliver_due, args=(db.session_scope, settings))
    worker.start()
    try:
        assert hanging.accepted.wait(10), "the worker never posted"
        registered = client.post("/api/v1/households", json=household_body(), headers=accounts["cadre_a"])
        assert registered.status_code == 201, registered.text
        assert worker.is_alive(), "the registration waited for the platform's answer"
        with db.session_scope() as session:  # no row lock held across the post either (PostgreSQL)
            session.scalars(select(ReliefMessage).with_for_update(nowait=True)).all()
        assert relief_outbox.deliver_due(db.session_scope, settings) == 0  # claimed: not posted twice
        assert hanging.connections == 1
    finally:
        hanging.release.set()
        worker.join(30)


def test_a_zero_grace_rotation_revokes_keys_still_in_an_earlier_grace(
    platform: Platform, settings: Settings
) -> None:
    with db.session_scope() as session:
        second_id, second_secret, _ = relief_keys.rotate(
            session, settings, Actor.system("test"), "platform", timedelta(hours=2)
        )
    assert platform.post("applications", application(application_id="A1")).status_code == 202  # grace
    with db.session_scope() as session:  # the second key leaked: rotate again, at once
        third_id, third_secret, _ = relief_keys.rotate(
            session, settings, Actor.system("test"), "platform", timedelta(0)
        )
    for old in (platform, Platform(platform.client, second_id, second_secret)):
        refused = old.post("applications", application(application_id="A2"))
        assert (refused.status_code, refused.json()["code"]) == (401, "unknown_key")
    third = Platform(platform.client, third_id, third_secret)
    assert third.post("applications", application(application_id="A3")).status_code == 202


def test_callbacks_are_signed_with_the_key_of_the_account_the_application_came_from(
    platform: Platform, callback: Receiver, settings: Settings
) -> None:
    with db.session_scope() as session:  # a second platform account (the hotline's), made later
        actor = Actor.system("test")
        users.create(
            session,
            settings,
            actor,
            UserCreate(username="hotline", password=PASSWORD, role=Role.platform_client, region_code=COUNTY),
        )
        hotline = Platform(platform.client, *relief_keys.create(session, settings, actor, "hotline"))
    assert hotline.post("applications", application(application_id="H-1")).status_code == 202
    assert platform.post("applications", application(application_id="P-1")).status_code == 202
    assert relief_outbox.deliver_due(db.session_scope, settings) == 2
    signers = {json.loads(body)["application_id"]: headers for headers, body in callback.posts}
    for application_id, sender in (("H-1", hotline), ("P-1", platform)):
        headers = signers[application_id]
        assert headers["x-shouwang-key-id"] == sender.key_id
        body = next(b for _, b in callback.posts if json.loads(b)["application_id"] == application_id)
        assert headers["x-shouwang-signature"] == relief_keys.sign(
            sender.secret, headers["x-shouwang-timestamp"], body
        )


def test_a_far_future_submitted_at_is_refused_and_does_not_block_later_amendments(
    platform: Platform,
) -> None:
    now = clock.now()
    ahead = platform.post("applications", application(submitted_at=(now + timedelta(days=365)).isoformat()))
    assert (ahead.status_code, ahead.json()["code"], ahead.json()["field"]) == (
        422,
        "invalid_payload",
        "submitted_at",
    )
    assert platform.post("applications", application(submitted_at=now.isoformat())).status_code == 202
    far = platform.post(
        "applications",
        application(submitted_at="2099-01-01T00:00:00+08:00", description="改为 2099 年"),
    )
    assert (far.status_code, far.json()["code"], far.json()["field"]) == (
        422,
        "invalid_payload",
        "submitted_at",
    )
    skewed = (now + timedelta(minutes=2)).isoformat()  # a platform clock a little fast is fine
    later = platform.post("applications", application(submitted_at=skewed, difficulty_type="housing"))
    assert later.status_code == 202, later.text
    with db.session_scope() as session:
        stored = session.scalars(select(ReliefApplication)).one()
        assert (stored.amendments, stored.difficulty_type) == (1, "housing")


def test_a_body_with_a_number_of_thousands_of_digits_is_refused_not_a_500(platform: Platform) -> None:
    """Python refuses to read an integer past 4,300 digits (a ValueError, not a JSONDecodeError)."""
    body = b'{"application_id": ' + b"9" * 5000 + b"}"
    response = platform.post("applications", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_payload"
