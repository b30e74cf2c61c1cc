"""End to end, as separate processes talking HTTP: Shouwang's API (`shouwang serve`), its worker
(`shouwang worker`) and a stand-in relief platform (tests/relief_standin.py). Applications go in signed,
the case moves through its steps, and every message comes back signed and in order — also when the
platform is down for a while, or too slow to answer in time."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.clock import local_today
from app.services.relief import relief_keys
from tests.fixtures import make_id

ROOT = Path(__file__).resolve().parents[2]
VILLAGE = "530402202201"  # the demo cadre's village
# the processes use their own SQLite file: run once, in the SQLite pass
pytestmark = [
    pytest.mark.skipif(
        bool(os.environ.get("SHOUWANG_TEST_DATABASE_URL")), reason="runs once, in the SQLite pass"
    ),
    pytest.mark.real_clock,
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    # upper bounds for real processes on a loaded 2-core machine, not timings: a pass takes seconds
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


class World:
    def __init__(self, service: str, standin: str, db_file: Path, log: Path) -> None:
        self.service, self.standin, self.db_file, self.log = service, standin, db_file, log
        output = log.read_text()
        self.passwords = dict(re.findall(r"^\s+(demo-[a-z]+)\s+(\S+)\s+", output, flags=re.M))
        found = re.search(r"demo-platform\s+key_id=(\S+) secret=(\S+)", output)
        assert found, output
        self.key_id, self.secret = found.group(1), found.group(2)
        self.tokens: dict[str, str] = {}

    def headers(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            answer = httpx.post(
                f"{self.service}/api/v1/auth/token", data={"username": who, "password": self.passwords[who]}
            )
            self.tokens[who] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def act(self, who: str, case_id: int, **body: Any) -> None:
        answer = httpx.post(
            f"{self.service}/api/v1/cases/{case_id}/actions", json=body, headers=self.headers(who), timeout=30
        )
        assert answer.status_code == 200, answer.text

    def send(self, payload: dict[str, Any], path: str = "applications") -> dict[str, Any]:
        answer = httpx.post(
            f"{self.standin}/control/send", json={"payload": payload, "path": path}, timeout=30
        )
        result: dict[str, Any] = answer.json()
        return result

    def deliveries(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = httpx.get(f"{self.standin}/control/deliveries").json()
        return result

    def mode(self, mode: str, delay: float = 0) -> None:
        httpx.post(f"{self.standin}/control/mode", json={"mode": mode, "delay": delay})

    def end_notice(self, case_id: int) -> None:
        """The notice's days go by (the processes' clock is real): it ends today."""
        with sqlite3.connect(self.db_file) as connection:
            connection.execute(
                "UPDATE case_file SET notice_ends_on = ? WHERE id = ?", (local_today().isoformat(), case_id)
            )


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    service_port, standin_port = _port(), _port()
    db_file = tmp_path / "shouwang.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")} | {
        "PYTHONPATH": str(ROOT),
        "SHOUWANG_DATABASE_URL": f"sqlite:///{db_file}",
        "SHOUWANG_DEMO_HOUSEHOLDS": "0",
        "SHOUWANG_PASSWORD_MEMORY_KIB": "1024",
        "SHOUWANG_PASSWORD_TIME_COST": "1",
        "SHOUWANG_RELIEF_CALLBACK_URL": f"http://127.0.0.1:{standin_port}/callbacks",
        "SHOUWANG_RELIEF_POLL_SECONDS": "0.3",
        "SHOUWANG_RELIEF_BACKOFF_SECONDS": "0.3",
        "SHOUWANG_RELIEF_BACKOFF_MAX_SECONDS": "1",
        "SHOUWANG_RELIEF_TIMEOUT_SECONDS": "1",
        "SHOUWANG_RELIEF_MAX_ATTEMPTS": "100",
    }
    service, standin = f"http://127.0.0.1:{service_port}", f"http://127.0.0.1:{standin_port}"
    log = tmp_path / "serve.log"
    processes = [
        _start(
            [sys.executable, "-m", "uvicorn", "tests.relief_standin:app", "--port", str(standin_port)],
            env,
            tmp_path / "standin.log",
        ),
        _start([sys.executable, "-m", "app.cli", "serve", "--port", str(service_port)], env, log),
    ]
    try:
        _wait(lambda: httpx.get(f"{service}/readyz").status_code == 200, "the service", 120)
        _wait(lambda: httpx.get(f"{standin}/control/deliveries").status_code == 200, "the stand-in")
        processes.append(_start([sys.executable, "-m", "app.cli", "worker"], env, tmp_path / "worker.log"))
        w = World(service, standin, db_file, log)
        httpx.post(
            f"{standin}/control/configure", json={"key_id": w.key_id, "secret": w.secret, "service": service}
        )
        yield w
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


APPLICANT = make_id(date(1968, 9, 9), male=False)


def application(application_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "application_id": application_id,
        "applicant_name": "王春梅",
        "id_number": APPLICANT,
        "phone": "13800001111",
        "region_code": VILLAGE,
        "household_size": 3,
        "difficulty_type": "housing",
        "description": "房屋漏雨，墙体开裂",
        "submitted_at": "2026-11-28T10:00:00+08:00",
    } | changes


def messages_of(world: World, application_id: str) -> list[dict[str, Any]]:
    import json

    accepted = [d for d in world.deliveries() if d["mode"] in ("ok", "slow", "timeout")]
    return [
        json.loads(d["body"]) for d in accepted if json.loads(d["body"])["application_id"] == application_id
    ]


def walk(world: World, case_id: int) -> None:
    today = local_today().isoformat()
    world.act(
        "demo-cadre",
        case_id,
        action="verify",
        visited_on=today,
        visitors=["李文"],
        findings="属实",
        consent_signed=True,
    )
    world.act("demo-cadre", case_id, action="review", held_on=today, outcome="agreed", attendees=18)
    world.act("demo-cadre", case_id, action="notice", starts_on=today, objections="")
    world.end_notice(case_id)
    world.act("demo-township", case_id, action="approve")
    world.act(
        "demo-district",
        case_id,
        action="confirm",
        monitoring_category="突发严重困难户",
        risk_types=["因自然灾害"],
    )


EVENTS = ["received", "village_verification", "public_notice", "township_review", "decided"]


def test_an_application_goes_through_the_steps_and_every_step_comes_back_signed_in_order(
    world: World,
) -> None:
    sent = world.send(application("E2E-1"))
    assert sent["status"] == 202, sent
    again = world.send(application("E2E-1"))
    assert again == sent  # the same delivery twice: the same answer
    refused = world.send(application("E2E-bad", region_code="110101001001"))
    assert (refused["status"], refused["body"]["code"]) == (422, "region_outside_county")
    walk(world, sent["body"]["case_id"])
    _wait(lambda: len(messages_of(world, "E2E-1")) >= 5, "five callbacks")
    got = messages_of(world, "E2E-1")
    assert [m["event"] for m in got] == EVENTS
    assert [m["sequence"] for m in got] == [1, 2, 3, 4, 5]
    assert got[-1]["status"] == "confirmed"
    assert all(d["signature_valid"] for d in world.deliveries())
    reconciled = world.send({"application_ids": ["E2E-1", "E2E-404"]}, path="reconcile")
    assert [(i["application_id"], i["status"]) for i in reconciled["body"]["items"]] == [
        ("E2E-1", "confirmed"),
        ("E2E-404", "unknown"),
    ]


def test_the_platform_down_then_slow_loses_nothing_and_keeps_the_order(world: World) -> None:
    world.mode("fail")
    first = world.send(application("E2E-A"))
    second = world.send(application("E2E-B", id_number=make_id(date(1980, 1, 1))))
    walk(world, first["body"]["case_id"])
    _wait(lambda: len([d for d in world.deliveries() if d["mode"] == "fail"]) >= 6, "failed attempts")
    world.mode("timeout", delay=1.5)  # answers after Shouwang has given up: it will post again
    _wait(lambda: len(world.deliveries()) >= 10, "slow attempts", 60)
    world.mode("ok")
    everything_of_a = 5
    _wait(lambda: len({m["message_id"] for m in messages_of(world, "E2E-A")}) >= everything_of_a, "A's", 180)
    _wait(lambda: len({m["message_id"] for m in messages_of(world, "E2E-B")}) >= 1, "B's message", 60)
    a = messages_of(world, "E2E-A")
    first_seen: dict[int, str] = {}
    for m in a:  # duplicates (at least once) carry the same message_id for the same sequence
        assert first_seen.setdefault(m["sequence"], m["message_id"]) == m["message_id"]
    order = [m["sequence"] for m in a]
    assert sorted(set(order)) == [1, 2, 3, 4, 5]
    assert order == sorted(order)  # never a later message before an earlier one
    assert [m["event"] for m in {m["sequence"]: m for m in a}.values()] == EVENTS
    assert [m["sequence"] for m in messages_of(world, "E2E-B")][:1] == [1]
    assert second["body"]["status"] == "received"


def test_the_documented_signature_example_holds() -> None:
    body = '{"application_id":"YN-2026-000123","applicant_name":"李秀英"}'.encode()
    expected = "sha256=c61eafe15be69a4868b0ad5896923a8ff6eb93f696456e519583350794698011"
    assert relief_keys.sign("s3cr3t-example-only", "1764403200", body) == expected
    assert expected in (ROOT / "docs" / "relief-platform.md").read_text()
