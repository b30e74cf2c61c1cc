"""Per-request context readable from services (the request id for audit rows and log lines)."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
