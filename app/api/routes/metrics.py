"""GET /metrics for Prometheus, behind its own bearer token (SHOUWANG_METRICS_TOKEN)."""

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.config import Settings
from app.errors import NotFound, Unauthorized

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if settings.metrics_token is None:
        raise NotFound("metrics are off: set SHOUWANG_METRICS_TOKEN to serve them")
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    given = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        raise Unauthorized("send the metrics token as a bearer token")
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
