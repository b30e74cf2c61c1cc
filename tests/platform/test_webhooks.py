"""Region webhooks: signed posts of case events through a transactional outbox, retried with backoff,
parked as dead after too many failures (visible, replayable), never carrying personal data."""

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from time_machine import Traveller

from app import db
from app.config import Settings
from app.models import AuditEntry, OutboxMessage, WebhookAllowedHost, WebhookEndpoint
from app.models.base import utcnow
from app.pii import cipher_for
from app.schemas.policy import PolicyData
from app.services.cases import cases
from app.services.platform import outbox
from app.services.platform.access import Actor
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
        # stopped within 0.05 s of close() (serve_forever polls for it every 0.5 s by default)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with db.session_scope() as session:
        session.add(WebhookAllowedHost(host="127.0.0.1", added_by="test"))
    monkeypatch.setattr(settings, "webhook_max_attempts", 3)
    r = Receiver()
    yield r
    r.close()


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


def deliver(settings: Settings) -> int:
    return outbox.deliver_due(db.session_scope, settings)


def backoff_passes() -> None:
    with db.session_scope() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


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
    for _ in range(2):
        backoff_passes()
        deliver(settings)
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
    from app.services.cases import escalation

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
        headers=accounts["district"],
    )
    assert closed.status_code == 200, closed.text
    assert deliver(settings) == 3
    events = [(p["event"], p["status"]) for p in (json.loads(raw) for _, raw in receiver.posts)]
    assert events == [("new_work", "open"), ("escalated", "open"), ("closed", "closed")]


# ---- issue 16: outbound delivery ------------------------------------------------------------------------


class Hanging:
    """A receiver that accepts connections and never answers, until released."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.accepted, self.release = threading.Event(), threading.Event()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with self.listener:
            while not self.release.is_set():
                try:
                    connection, _ = self.listener.accept()
                except TimeoutError:
                    continue
                self.connections += 1
                self.accepted.set()
                threading.Thread(target=self._hold, args=(connection,), daemon=True).start()

    def _hold(self, connection: socket.socket) -> None:
        with connection:
            self.release.wait(60)


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    h = Hanging()
    yield h
    h.release.set()


def add_webhook(client: TestClient, accounts: Accounts, url: str) -> Any:
    body = {"region_code": TOWNSHIP_1, "url": url, "secret": SECRET}
    return client.post("/api/v1/webhooks", json=body, headers=accounts["admin"])


def deliveries(client: TestClient, accounts: Accounts, endpoint: int) -> list[dict[str, Any]]:
    found = client.get(f"/api/v1/webhooks/{endpoint}/deliveries", headers=accounts["admin"])
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def outbox_messages() -> list[OutboxMessage]:
    with db.session_scope() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_receiver_that_never_answers_holds_no_lock_and_a_second_worker_does_not_repost(
    receiver: Receiver,
    hanging: Hanging,
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "webhook_timeout_seconds", 20.0)
    assert add_webhook(client, accounts, hanging.url).status_code == 201
    household = new_household(client, accounts["cadre_a"])
    open_case(client, accounts, settings)
    worker = threading.Thread(target=deliver, args=(settings,))
    worker.start()
    try:
        assert hanging.accepted.wait(10), "the worker never posted"
        # the post hangs: the household can still be changed, at once
        changed = client.patch(
            f"/api/v1/households/{household['id']}",
            json={"version": household["version"], "address": "洛河村二组 7 号"},
            headers=accounts["cadre_a"],
        )
        assert changed.status_code == 200, changed.text
        assert worker.is_alive(), "the change waited for the receiver"
        with db.session_scope() as session:  # no row lock held across the post either (PostgreSQL)
            session.scalars(select(OutboxMessage).with_for_update(nowait=True)).all()
        assert deliver(settings) == 0  # a second worker: the message is claimed, so not posted again
        assert hanging.connections == 1
    finally:
        hanging.release.set()
        worker.join(30)
    [message] = outbox_messages()
    assert (message.status, message.attempts, message.claimed_until) == ("pending", 1, None)
    assert message.last_error == "the receiver closed the connection without a valid answer"


def test_a_crashed_workers_claim_lapses_and_another_worker_sends(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings, clock: Traveller
) -> None:
    assert add_webhook(client, accounts, receiver.url).status_code == 201
    open_case(client, accounts, settings)
    with db.session_scope() as session:  # a worker claimed it and died
        session.execute(
            update(OutboxMessage).values(
                claimed_until=utcnow() + timedelta(minutes=5), claim_token="x" * 32, attempts=1
            )
        )
    assert deliver(settings) == 0
    clock.shift(timedelta(minutes=6))
    assert deliver(settings) == 1
    assert len(receiver.posts) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:abc/x",
        "http://127.0.0.1:70000/x",
        "http://127.0.0.1:0/x",
        "http://127.0.0.1:-1/x",
        "http://127.0.0.1:22/x",  # SSH: not a web port, and privileged
        "http://127.0.0.1/x\r\nX-Injected: 1",
        "http://127.0.0.1/x\ny",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/a\tb",
        "http://127.0.0.1/\x00",
        "ftp://127.0.0.1/x",
        "http:///x",
        "http://[::1/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://017700000001/x",
        "http://127.1/x",
    ],
)
def test_bad_urls_are_refused_at_creation_naming_the_field(
    receiver: Receiver, client: TestClient, accounts: Accounts, url: str
) -> None:
    refused = add_webhook(client, accounts, url)
    assert (refused.status_code, refused.json()["field"]) == (422, "url"), refused.text
    assert client.get("/api/v1/webhooks", headers=accounts["admin"]).json() == []


def test_credentials_in_a_url_are_refused_and_never_stored_or_echoed(
    receiver: Receiver, client: TestClient, accounts: Accounts
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    for url in (f"http://hooks:hunter2@127.0.0.1:{port}/x", f"http://hunter2@127.0.0.1:{port}/x"):
        refused = add_webhook(client, accounts, url)
        assert (refused.status_code, refused.json()["field"]) == (422, "url")
        assert "hunter2" not in refused.text
    assert client.get("/api/v1/webhooks", headers=accounts["admin"]).json() == []
    with db.session_scope() as session:
        assert "hunter2" not in json.dumps(session.scalars(select(AuditEntry.changes)).all())


def test_one_bad_message_does_not_stop_the_queue(
    receiver: Receiver,
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert add_webhook(client, accounts, receiver.url).status_code == 201
    with db.session_scope() as session:  # stored before URLs were checked, or damaged since
        session.add(WebhookAllowedHost(host="hooks.broken.example", added_by="test"))
        cipher = cipher_for(settings)
        for url, secret in (
            ("http://127.0.0.1:abc/x", cipher.encrypt(SECRET)),
            (receiver.url, b"not a token"),
            ("http://hooks.broken.example/x", cipher.encrypt(SECRET)),
        ):
            session.add(
                WebhookEndpoint(region_code=TOWNSHIP_1, url=url, secret_encrypted=secret, created_by="t")
            )
    real = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.broken.example":
            raise RuntimeError("something nobody expected")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    open_case(client, accounts, settings)
    assert deliver(settings) == 1
    backoff_passes()
    assert deliver(settings) == 0
    assert len(receiver.posts) == 1  # the good message went once, however the others failed
    good, bad_url, bad_secret, broken = outbox_messages()
    assert good.status == "delivered"
    assert (bad_url.status, bad_url.attempts) == ("dead", 1)  # it can never go: parked at once
    assert bad_url.last_error == "the webhook's URL is not valid: the port must be a number from 1 to 65535"
    assert (bad_secret.status, bad_secret.attempts) == ("pending", 2)
    assert bad_secret.last_error == "the message could not be prepared for sending"
    assert (broken.status, broken.attempts, broken.last_error) == ("pending", 2, "the delivery failed")


def test_the_allow_list_refuses_numeric_forms_and_allows_exact_addresses(
    client: TestClient, accounts: Accounts
) -> None:
    admin, hosts = accounts["admin"], "/api/v1/webhooks/allowed-hosts"
    for host in ("2130706433", "0x7f000001", "017700000001", "127.1", "10.0.0.0/8", "fe80::1%eth0"):
        refused = client.post(hosts, json={"host": host}, headers=admin)
        assert (refused.status_code, refused.json()["field"]) == (422, "host"), host
    added = client.post(hosts, json={"host": "10.20.30.40"}, headers=admin)
    assert (added.status_code, added.json()["kind"]) == (201, "address")
    named = client.post(hosts, json={"host": "hooks.yuxi.example.cn"}, headers=admin)
    assert named.json()["kind"] == "name"
    with db.session_scope() as session:
        changes = session.scalars(
            select(AuditEntry.changes)
            .where(AuditEntry.action == "webhook.allow_host")
            .order_by(AuditEntry.seq)
        ).all()
    assert changes[0] == {"host": "10.20.30.40", "kind": "address", "public": False}


@dataclass
class Named:
    """The receiver under a host name on the allow-list (127.0.0.1 itself is not). The name resolves to
    `answers` in turn (the last one stays): a second look-up may answer differently (DNS rebinding)."""

    receiver: Receiver
    answers: list[str] = field(default_factory=list)
    lookups: int = 0


@pytest.fixture
def named(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Named:
    with db.session_scope() as session:
        session.execute(delete(WebhookAllowedHost))
        session.add(WebhookAllowedHost(host="hooks.yuxi.example.cn", added_by="test"))
    named = Named(receiver)
    real = socket.getaddrinfo

    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.yuxi.example.cn":
            return real(host, port, *args, **kwargs)
        named.lookups += 1
        address = named.answers[0] if len(named.answers) == 1 else named.answers.pop(0)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    receiver.url = receiver.url.replace("127.0.0.1", "hooks.yuxi.example.cn")
    return named


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "169.254.169.254",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "fe80::1",
        "fc00::1",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
    ],
)
def test_a_host_that_resolves_to_a_non_public_address_is_refused_at_delivery(
    named: Named, client: TestClient, accounts: Accounts, settings: Settings, address: str
) -> None:
    receiver = named.receiver
    named.answers.append(address)
    endpoint = add_webhook(client, accounts, receiver.url).json()["id"]
    open_case(client, accounts, settings)
    assert deliver(settings) == 0
    assert receiver.posts == []
    [message] = deliveries(client, accounts, endpoint)
    assert message["last_error"] == (
        "the host's address is not public, and no admin allowed it (webhooks/allowed-hosts)"
    )
    assert address not in json.dumps(message)


def test_an_admin_allows_an_exact_address_and_the_post_goes_to_the_address_checked(
    named: Named, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    receiver = named.receiver
    named.answers.extend(["127.0.0.1", "10.255.255.1"])  # checked once; a second look-up would rebind
    hosts = "/api/v1/webhooks/allowed-hosts"
    assert client.post(hosts, json={"host": "127.0.0.1"}, headers=accounts["admin"]).status_code == 201
    assert add_webhook(client, accounts, receiver.url).status_code == 201
    open_case(client, accounts, settings)
    assert deliver(settings) == 1
    [(headers, _)] = receiver.posts
    assert headers["host"] == receiver.url.split("/")[2]  # the name, as the receiver expects it
    assert named.lookups == 1


def test_connection_errors_are_reported_without_mapping_the_network(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    endpoint = add_webhook(client, accounts, f"http://127.0.0.1:{port}/hook").json()["id"]
    open_case(client, accounts, settings)
    assert deliver(settings) == 0
    [message] = deliveries(client, accounts, endpoint)
    assert (message["last_status"], message["last_error"]) == (None, "could not connect to the receiver")


def test_a_delivered_message_is_not_replayed(
    receiver: Receiver, client: TestClient, accounts: Accounts, settings: Settings
) -> None:
    assert add_webhook(client, accounts, receiver.url).status_code == 201
    open_case(client, accounts, settings)
    assert deliver(settings) == 1
    [message] = outbox_messages()
    refused = client.post(f"/api/v1/webhooks/deliveries/{message.id}/replay", headers=accounts["admin"])
    assert (refused.status_code, refused.json()["field"]) == (409, "message_id")
    assert deliver(settings) == 0
    assert len(receiver.posts) == 1


def test_a_resolver_that_never_answers_does_not_stall_delivery(
    named: Named,
    client: TestClient,
    accounts: Accounts,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = add_webhook(client, accounts, named.receiver.url).json()["id"]
    open_case(client, accounts, settings)
    released = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *_, **__: released.wait(60))
    monkeypatch.setattr(settings, "webhook_timeout_seconds", 0.5)
    started = time.monotonic()
    try:
        assert deliver(settings) == 0
    finally:
        released.set()
    assert time.monotonic() - started < 5
    [message] = deliveries(client, accounts, endpoint)
    assert (message["attempts"], message["last_error"]) == (1, "the host name was not resolved in time")
