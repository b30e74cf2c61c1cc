"""Region webhooks: signed posts of case events through a transactional outbox, retried with backoff,
parked as dead after too many failures (visible, replayable), never carrying personal data."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import db
from app.config import Settings
from app.models import AuditEntry, WebhookAllowedHost
from app.models.base import utcnow
from app.schemas.policy import PolicyData
from app.services import cases, outbox
from app.services.access import Actor
from tests.fixtures import TOWNSHIP_1, Accounts, new_household

SECRET = "s" * 40


class Receiver:
    """A real HTTP server on 127.0.0.1 that records posts and answers with `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with db.session_scope() as session:
        session.add(WebhookAllowedHost(host="127.0.0.1", added_by="test"))
    monkeypatch.setattr(settings, "webhook_max_attempts", 3)
    r = Receiver()
    yield r
    r.server.shutdown()


def open_case(client: TestClient, accounts: Accounts, settings: Settings) -> int:
    household = int(new_household(client, accounts["cadre_a"])["id"])
    with db.session_scope() as session:
        [row] = cases.receive(
            session,
            settings,
            PolicyData(),
            Actor.system("test"),
            [cases.SignalIn(household, "risk_scorer", "high", [])],
        )
        assert row.case_id is not None
        return row.case_id


def deliver(settings: Settings, later: timedelta = timedelta(0)) -> int:
    with db.session_scope() as session:
        return outbox.deliver_due(session, settings, now=utcnow() + later)


def test_a_new_case_is_posted_signed_and_without_personal_data(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    body = {"region_code": TOWNSHIP_1, "url": receiver.url, "secret": SECRET}
    created = client.post("/api/v1/webhooks", json=body, headers=accounts["admin"])
    assert created.status_code == 201, created.text
    case_id = open_case(client, accounts, settings)
    assert deliver(settings) == 1
    [(headers, raw)] = receiver.posts
    expected = hmac.new(
        SECRET.encode(), headers["x-shouwang-timestamp"].encode() + b"." + raw, hashlib.sha256
    )
    assert headers["x-shouwang-signature"] == expected.hexdigest()
    payload = json.loads(raw)
    assert (payload["event"], payload["case_id"], payload["step"]) == (
        "new_work",
        case_id,
        "village_verification",
    )
    assert set(payload) == {
        "message_id",
        "event",
        "case_id",
        "step",
        "status",
        "village_code",
        "township_code",
        "at",
    }
    assert deliver(settings) == 0  # delivered once


def test_failures_back_off_then_park_and_an_admin_replays(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    endpoint = client.post(
        "/api/v1/webhooks",
        json={"region_code": TOWNSHIP_1, "url": receiver.url, "secret": SECRET},
        headers=accounts["admin"],
    ).json()["id"]
    receiver.status = 503
    open_case(client, accounts, settings)
    assert deliver(settings) == 0
    assert deliver(settings) == 0  # not due again yet: backing off
    assert len(receiver.posts) == 1
    deliver(settings, timedelta(hours=1))
    deliver(settings, timedelta(hours=2))
    dead = client.get(
        f"/api/v1/webhooks/{endpoint}/deliveries", params={"status": "dead"}, headers=accounts["admin"]
    )
    [message] = dead.json()["items"]
    assert (message["attempts"], message["last_status"], message["last_error"]) == (3, 503, "HTTP 503")
    assert client.get("/api/v1/webhooks", headers=accounts["admin"]).json()[0]["messages"] == {"dead": 1}
    receiver.status = 200
    replayed = client.post(f"/api/v1/webhooks/deliveries/{message['id']}/replay", headers=accounts["admin"])
    assert replayed.json()["status"] == "pending"
    assert deliver(settings) == 1


def test_only_admins_add_webhooks_and_only_to_allowed_hosts(
    receiver: Receiver, client: TestClient, accounts: Accounts
) -> None:
    body = {"region_code": TOWNSHIP_1, "url": receiver.url, "secret": SECRET}
    assert client.post("/api/v1/webhooks", json=body, headers=accounts["district"]).status_code == 403
    elsewhere = client.post(
        "/api/v1/webhooks", json=body | {"url": "https://example.org/hook"}, headers=accounts["admin"]
    )
    assert (elsewhere.status_code, elsewhere.json()["field"]) == (422, "url")


def test_admins_keep_the_allow_list_through_the_api(
    receiver: Receiver, client: TestClient, accounts: Accounts
) -> None:
    admin, hosts = accounts["admin"], "/api/v1/webhooks/allowed-hosts"
    hook = {"region_code": TOWNSHIP_1, "url": "https://hooks.yuxi.example.cn/shouwang", "secret": SECRET}
    assert client.post("/api/v1/webhooks", json=hook, headers=admin).status_code == 422  # not allowed yet
    assert (
        client.post(hosts, json={"host": "hooks.yuxi.example.cn"}, headers=accounts["district"]).status_code
        == 403
    )
    bad = client.post(hosts, json={"host": "evil.example/path"}, headers=admin)
    assert (bad.status_code, bad.json()["field"]) == (422, "host")
    assert client.post(hosts, json={"host": "x", "port": 1}, headers=admin).status_code == 422
    added = client.post(hosts, json={"host": "Hooks.Yuxi.Example.CN"}, headers=admin)
    assert (added.status_code, added.json()["host"]) == (201, "hooks.yuxi.example.cn")
    assert client.post(hosts, json={"host": "hooks.yuxi.example.cn"}, headers=admin).status_code == 200
    assert [h["host"] for h in client.get(hosts, headers=admin).json()] == [
        "127.0.0.1",
        "hooks.yuxi.example.cn",
    ]
    endpoint = client.post("/api/v1/webhooks", json=hook, headers=admin)
    assert endpoint.status_code == 201, endpoint.text
    in_use = client.delete(f"{hosts}/hooks.yuxi.example.cn", headers=admin)
    assert (in_use.status_code, in_use.json()["field"]) == (409, "host")
    assert client.delete(f"/api/v1/webhooks/{endpoint.json()['id']}", headers=admin).json()["active"] is False
    assert client.delete(f"{hosts}/hooks.yuxi.example.cn", headers=admin).status_code == 204
    assert client.delete(f"{hosts}/hooks.yuxi.example.cn", headers=admin).status_code == 404
    assert client.post("/api/v1/webhooks", json=hook, headers=admin).status_code == 422
    with db.session_scope() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("webhook.%")).order_by(AuditEntry.seq)
        ).all()
    assert actions == ["webhook.allow_host", "webhook.add", "webhook.deactivate", "webhook.disallow_host"]


def test_a_deactivated_webhooks_undelivered_messages_are_parked_not_lost(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    body = {"region_code": TOWNSHIP_1, "url": receiver.url, "secret": SECRET}
    endpoint = client.post("/api/v1/webhooks", json=body, headers=accounts["admin"]).json()["id"]
    open_case(client, accounts, settings)
    client.delete(f"/api/v1/webhooks/{endpoint}", headers=accounts["admin"])
    assert deliver(settings) == 0
    assert receiver.posts == []
    dead = client.get(
        f"/api/v1/webhooks/{endpoint}/deliveries", params={"status": "dead"}, headers=accounts["admin"]
    ).json()["items"]
    assert [m["last_error"] for m in dead] == ["endpoint removed or inactive"]


def test_escalations_and_outcomes_are_posted_too(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    from app.models import Case
    from app.services import escalation

    body = {"region_code": TOWNSHIP_1, "url": receiver.url, "secret": SECRET}
    client.post("/api/v1/webhooks", json=body, headers=accounts["admin"])
    accounts.create("township_1")
    case_id = open_case(client, accounts, settings)
    with db.session_scope() as session:
        due = session.get(Case, case_id).due_at  # type: ignore[union-attr]
        assert escalation.escalate_overdue(session, settings, now=due + timedelta(hours=1)) == 1
    closed = client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "close", "reason": "重复登记"},
        headers=accounts["cadre_a"],
    )
    assert closed.status_code == 200, closed.text
    assert deliver(settings) == 3
    events = [(p["event"], p["status"]) for p in (json.loads(raw) for _, raw in receiver.posts)]
    assert events == [("new_work", "open"), ("escalated", "open"), ("closed", "closed")]
