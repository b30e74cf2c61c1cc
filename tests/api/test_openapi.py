"""Issue 16: the OpenAPI document is a contract a generated client can use: every schema has its own title,
every status a route can answer is declared with its body, and case actions are documented per action.
(tests/api/test_generated_client.py generates a client from it; tests/api/test_fuzz.py checks the answers.)"""

import inspect
import re
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from app.schemas.case_actions import ACTIONS

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
WRITES = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_schema_has_its_own_title(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    titles = Counter(schema.get("title", name) for name, schema in schemas.items())
    assert [title for title, count in titles.items() if count > 1] == []
    # the policy's monitoring line reads a number or a string and answers a string: two schemas, two names
    assert {"MonitoringLineInput", "MonitoringLineOutput"} <= {s.get("title") for s in schemas.values()}


def test_every_error_is_declared_with_the_error_body(document: dict[str, Any]) -> None:
    wrong = [
        f"{method.upper()} {path} {status}"
        for method, path, operation in _operations(document)
        for status, response in operation["responses"].items()
        if int(status) >= 400
        and path.startswith("/api/")
        and response.get("content", {}).get("application/json", {}).get("schema") != ERROR_BODY
    ]
    assert wrong == []
    # FastAPI's own {"detail": [...]} is never sent: the handlers answer {"code", "message", "field"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_errors_a_route_can_answer_are_declared(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in _operations(document):
        if not path.startswith("/api/"):
            continue
        expected = {"503"}  # the database is busy or down
        if "{" in path:
            expected.add("404")
        if operation.get("security"):
            expected |= {"401", "403"}
        if operation.get("parameters") or method in WRITES:
            expected.add("422")
        if method in WRITES:
            expected |= {"400", "409", "413"}  # bad Content-Length, a race the database refuses, too large
        if any(p["name"].lower() == "if-match" for p in operation.get("parameters", [])):
            expected |= {"412", "428"}
        missing += [f"{method.upper()} {path} {s}" for s in sorted(expected - set(operation["responses"]))]
    assert missing == []


# a status a route sets itself: `response.status_code = 200`, `status_code=201 if created else 200`
SET_STATUS = re.compile(r"status_code\s*=\s*(\d{3})(?:\s+if\s[^\n]*?\selse\s+(\d{3}))?")


def test_every_status_a_route_sets_is_declared(app: FastAPI, document: dict[str, Any]) -> None:
    undeclared = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        answered = {str(route.status_code or 200)} | {
            code
            for match in SET_STATUS.findall(inspect.getsource(route.original_route.endpoint))
            for code in match
            if code
        }
        for method in route.methods or ():
            declared = set(document["paths"][route.path_format][method.lower()]["responses"])
            undeclared += [f"{method} {route.path_format} {s}" for s in sorted(answered - declared)]
    assert undeclared == []


def test_a_resent_report_or_batch_is_documented_as_200_with_its_body(document: dict[str, Any]) -> None:
    single = document["paths"]["/api/v1/households/{household_id}/reports"]["post"]["responses"]
    batch = document["paths"]["/api/v1/reports/batch"]["post"]["responses"]
    assert single["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReportRead"
    }
    assert batch["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchReportsOut"
    }
    assert "X-Reports-Created" in batch["200"]["headers"]


def test_each_case_action_is_documented_with_its_own_fields(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/cases/{case_id}/actions"]["post"]["requestBody"]
    union = body["content"]["application/json"]["schema"]
    assert union["discriminator"]["propertyName"] == "action"
    mapping = union["discriminator"]["mapping"]
    assert set(mapping) == set(ACTIONS)
    schemas = document["components"]["schemas"]
    for action, model in ACTIONS.items():
        schema = schemas[mapping[action].rsplit("/", 1)[1]]
        assert set(schema["properties"]) == set(model.model_fields), action
        assert schema["properties"]["action"]["const"] == action
