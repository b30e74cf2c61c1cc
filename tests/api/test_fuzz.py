"""Issue 16: a fuzz pass over the OpenAPI document. Every operation, as the role that uses it, gets valid and
invalid requests generated from its schema (schemathesis); no answer may be a 5xx, every status must be one
the operation declares, and every body must match its declared schema."""

import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import IS_POSTGRES
from tests.fixtures import Accounts, new_household, report_body

# SQLite is enough to find what routing and validation let through; the PostgreSQL run stays short.
pytestmark = pytest.mark.skipif(IS_POSTGRES, reason="the fuzz pass runs on SQLite")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 20  # per operation: 55 operations, so over 1,000 cases in all
# generating and checking up to 1,000 reports a case: fewer of them keep the pass under a minute
FEWER = {"POST /api/v1/reports/batch": 8}
MINIMUM_CASES = 1000

# who fuzzes what: the role that can use the operation (by path prefix; the first match wins)
ROLES = [
    ("/api/v1/users", "admin"),
    ("/api/v1/webhooks", "admin"),
    ("/api/v1/integrations", "admin"),
    ("PUT /api/v1/policy", "admin"),
    ("POST /api/v1/risk/runs", "admin"),
    ("/api/v1/department-signals", "department"),
    ("/api/v1/risk", "district"),
    ("/api/v1/policy", "district"),
    ("/api/v1", "cadre_a"),
]
# run last: they can take the fuzzing accounts' own access away
LAST = ["PATCH /api/v1/users/{user_id}", "POST /api/v1/auth/logout", "DELETE /api/v1/auth/session"]


def _role(method: str, path: str) -> str | None:
    if not path.startswith("/api/v1"):
        return None
    for prefix, role in ROLES:
        if f"{method} {path}".startswith(prefix) or path.startswith(prefix):
            return role
    return None


def _known_ids(client: TestClient, accounts: Accounts) -> dict[str, Any]:
    """Records the fuzzer's path parameters can name, so that not every request is a 404."""
    cadre = accounts["cadre_a"]
    household = new_household(client, cadre)
    report = client.post(
        f"/api/v1/households/{household['id']}/reports",
        json=report_body("fuzz-1", "2025-01-01", "2025-03-31"),
        headers=cadre,
    )
    case = client.post(
        "/api/v1/cases",
        json={"household_id": household["id"], "level": "high", "description": "因病支出大"},
        headers=cadre,
    )
    assert (report.status_code, case.status_code) == (201, 201), (report.text, case.text)
    return {
        "household_id": household["id"],
        "member_id": household["members"][0]["id"],
        "case_id": case.json()["case_id"],
        "user_id": accounts.create("cadre_b"),  # not a fuzzing account
    }


def _fuzz(
    cases: st.SearchStrategy[Case[Any]],
    headers: dict[str, str],
    label: str,
    statuses: Counter[int],
    failures: list[str],
    examples: int,
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def fuzz(case: Case[Any]) -> None:
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # noqa: BLE001 (the app raised: a 500 in production)
            failures.append(
                f"{label}: unhandled {type(exc).__name__}: {exc}\n{case.as_curl_command()}"[:2000]
            )
            return
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as found:  # every failure is collected, then reported together
            failures.append(f"{label}: {found}"[:2000])

    fuzz()


def test_no_operation_answers_5xx_or_outside_its_declared_responses(
    app: FastAPI, client: TestClient, accounts: Accounts
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    known = _known_ids(client, accounts)
    results = list(schema.get_all_operations())
    assert not [r.err() for r in results if isinstance(r, Err)], "operations schemathesis cannot read"
    operations = sorted(
        (result.ok() for result in results if not isinstance(result, Err)),
        key=lambda op: (f"{op.method.upper()} {op.path}" in LAST, op.method, op.path),
    )
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    started = time.perf_counter()
    for operation in operations:
        role = _role(operation.method.upper(), operation.path)
        if role is None:
            continue
        fixed = {name: value for name, value in known.items() if "{" + name + "}" in operation.path}
        strategies = [
            operation.as_strategy(mode, path_parameters=ids)
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
            for ids in ([None, fixed] if fixed else [None])
        ]
        label, examples = f"{operation.label} as {role}", FEWER.get(operation.label, EXAMPLES)
        _fuzz(st.one_of(strategies), accounts[role], label, statuses, failures, examples)
    elapsed = time.perf_counter() - started
    print(f"{sum(statuses.values())} cases in {elapsed:.1f} s: {dict(sorted(statuses.items()))}")  # noqa: T201
    assert not failures, "\n\n".join(failures[:80])
    assert sum(statuses.values()) >= MINIMUM_CASES
