"""Domain errors carry their HTTP status; one handler renders them all in one body shape.

Body: {"code", "message", "field"} plus "errors" (a list of the same shape) when there are several.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list["AppError"] | None = None,
        headers: dict[str, str] | None = None,
        after_rollback: Callable[[Session], None] | None = None,
        persist: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or []
        self.headers = headers or {}
        # Work that must persist although the request fails (e.g. counting a failed login);
        # the session dependency runs it in a new transaction after rolling back.
        self.after_rollback = after_rollback
        # The request fails, but what it wrote stands (a failed login counts, under the row lock).
        self.persist = persist

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.errors:
            body["errors"] = [e.item() for e in self.errors]
        return body

    def item(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field}


class Invalid(AppError):
    status_code = 422
    code = "invalid"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class PreconditionFailed(AppError):
    status_code = 412
    code = "precondition_failed"


class PreconditionRequired(AppError):
    status_code = 428
    code = "precondition_required"


class TooManyRequests(AppError):
    status_code = 429
    code = "too_many_requests"


def combine(errors: list[AppError], message: str) -> AppError:
    """One error for several: 422 if any is invalid input, else 404 if any is unknown, else 409."""
    for cls in (Invalid, NotFound, Conflict):
        if any(isinstance(e, cls) for e in errors):
            first = next(e for e in errors if isinstance(e, cls))
            return cls(message, field=first.field, errors=errors)
    return Invalid(message, field=errors[0].field, errors=errors)
