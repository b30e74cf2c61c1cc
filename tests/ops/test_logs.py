"""Log lines: JSON, one per event, each written while a request is served carrying its request id
(the caller's X-Request-ID, or one made up and returned), and no name, ID number or phone."""

import io
import itertools
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.logs import configure_logging
from tests.fixtures import Accounts, household_body, member_body


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("INFO", stream)
    yield stream
    root.handlers, root.level = saved[0], saved[1]


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    """The service's lines (not the test client's own "HTTP Request" line, written after the answer)."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["name"] != "httpx2"]


def test_every_line_of_a_request_carries_its_id_and_no_personal_data(
    client: TestClient, accounts: Accounts, log_lines: io.StringIO
) -> None:
    headers = accounts["cadre_a"]
    log_lines.truncate(0)
    log_lines.seek(0)
    head = member_body("户主", name="欧阳明月")
    body = household_body(members=[head], phone="13987654321")
    response = client.post(
        "/api/v1/households", json=body, headers={**headers, "X-Request-ID": "req-7f3a-001"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == "req-7f3a-001"
    lines = parsed(log_lines)
    messages = [line["message"] for line in lines]
    assert "audited" in messages  # a service's line
    assert "request" in messages  # the access line
    assert {line["request_id"] for line in lines} == {"req-7f3a-001"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", lines[0]["asctime"])  # with its offset
    text = log_lines.getvalue()
    for personal in ("欧阳明月", "\\u6b27\\u9633", head["id_number"], "13987654321", "一组 12 号"):
        assert personal not in text


def test_a_request_without_an_id_gets_one_returned_and_logged(
    client: TestClient, log_lines: io.StringIO
) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong-password"})
    assert response.status_code == 401
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    lines = [line for line in parsed(log_lines) if line.get("request_id") == request_id]
    assert [line["message"] for line in lines][-1] == "request"
    assert lines[-1]["path"] == "/api/v1/auth/token"
    assert lines[-1]["status"] == 401


def test_a_made_up_id_is_never_one_the_redaction_would_blank(
    client: TestClient, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """About one random hex id in 500 holds a run shaped like a phone number (13912345678): logged as
    "[redacted]", that request could not be traced. Such an id is drawn again."""
    real = uuid.uuid4
    drawn = itertools.chain([uuid.UUID("a13912345678b0000000000000000000"), uuid.UUID("0" * 31 + "f")])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn, None) or real())
    response = client.get("/healthz")
    assert response.headers["x-request-id"] == "0" * 31 + "f"
    assert [line["request_id"] for line in parsed(log_lines)][-1] == "0" * 31 + "f"


def test_a_harmful_request_id_is_replaced_not_logged(client: TestClient, log_lines: io.StringIO) -> None:
    sent = "530402198005170012"  # shaped like an ID number: never echoed into logs
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] != sent
    assert sent not in log_lines.getvalue()


def test_a_traceback_is_logged_without_its_message(log_lines: io.StringIO) -> None:
    """An error's message can quote a name that was sent; the line keeps where and what kind, not that."""
    logger = logging.getLogger("app.tests")
    name = "".join(["欧阳", "明月"])  # (the traceback shows this line of code, not the value)
    try:
        raise ValueError(f"no such person: {name}")
    except ValueError:
        logger.exception("unhandled error")
    [line] = parsed(log_lines)
    assert "欧阳明月" not in json.dumps(line, ensure_ascii=False)
    assert "builtins.ValueError: (message withheld)" in line["exc_info"]
    assert "test_a_traceback_is_logged_without_its_message" in line["exc_info"]
