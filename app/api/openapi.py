"""The OpenAPI document, made complete enough for a generated client (openapi-python-client, schemathesis).

- Every schema has its own title: a model whose input and output schemas differ (a `Money` field is a
  number or a string going in, a string coming out) appears twice, `-Input` and `-Output`, and a client
  generator that names classes by title would otherwise merge or drop them.
- Every status a route can answer is declared, with the one error body `ErrorBody`. The statuses follow
  from what the route is made of (see `error_statuses`): a route declares by hand only what its own
  service adds (429, a second success status).
"""

import json
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from app.api.deps import get_current_actor, get_session, oauth2_scheme

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DESCRIPTIONS = {
    400: "Malformed request (e.g. a bad Content-Length or form)",
    401: "Not authenticated: no, an expired or a revoked token",
    403: "The caller's role may not do this",
    404: "Not found in the caller's region",
    409: "Conflicts with stored data (a stale version, a duplicate, a step not open now)",
    412: "The If-Match version is stale",
    413: "The request body is too large",
    422: "Invalid input: `field` names the first problem, `errors` lists them all",
    428: "Send the version you read (body `version` or If-Match)",
    429: "Too many attempts: wait and retry",
    503: "The database is busy or unreachable: retry",
}
HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    503: {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}},
}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def error_statuses(dependant: Dependant, method: str) -> set[int]:
    """The error statuses a route can answer, from its dependencies, parameters and method."""
    parts = list(_dependants(dependant))
    calls = {part.call for part in parts}
    params = [
        p
        for part in parts
        for p in (part.path_params + part.query_params + part.header_params + part.body_params)
    ]
    authenticated = get_current_actor in calls or oauth2_scheme in calls
    statuses: set[int] = set()
    if get_session in calls:
        statuses.add(503)  # OperationalError: the database is locked or down
    if authenticated:
        statuses |= {401, 403}
    if params or method in WRITES:
        statuses.add(422)
    if any(part.path_params for part in parts) or (
        method in WRITES and authenticated and any(part.body_params for part in parts)
    ):
        statuses.add(404)  # the path's record, or a record the body names
    if method in WRITES:
        statuses |= {400, 409, 413}  # the body-size middleware; a race the database refuses
    if any(p.alias.lower() == "if-match" for part in parts for p in part.header_params):
        statuses |= {409, 412, 428}
    return statuses


def _error_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    description = (existing or {}).get("description")
    if description in (None, HTTPStatus(status).phrase, "Validation Error"):  # FastAPI's placeholders
        description = DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _unique_titles(schemas: dict[str, Any]) -> None:
    titles: dict[str, int] = {}
    for schema in schemas.values():
        titles[schema.get("title", "")] = titles.get(schema.get("title", ""), 0) + 1
    for key, schema in schemas.items():
        if titles.get(schema.get("title", ""), 0) > 1:
            schema["title"] = key.replace("-", "")  # MonitoringLine-Input → MonitoringLineInput


def _drop_unreferenced(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for name in names:
        others = {key: schema for key, schema in schemas.items() if key != name}
        if name in schemas and f'"#/components/schemas/{name}"' not in json.dumps(
            [document["paths"], others]
        ):
            del schemas[name]


def complete(document: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """`document` with unique titles and every route's error statuses declared (idempotent)."""
    _unique_titles(document.get("components", {}).get("schemas", {}))
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for status in sorted(error_statuses(route.dependant, method) | declared):
                responses[str(status)] = _error_response(status, responses.get(str(status)))
            operation["responses"] = dict(sorted(responses.items()))
    # FastAPI's own 422 body ({"detail": [...]}) is never sent: the handlers answer ErrorBody
    _drop_unreferenced(document, ("HTTPValidationError", "ValidationError"))
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (and to /docs)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return complete(generate(), app.routes)

    app.openapi = openapi  # type: ignore[method-assign]
