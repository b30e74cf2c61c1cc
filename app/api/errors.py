"""Exception handlers: every error leaves as {"code", "message", "field"} (+ "errors")."""

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import AppError, Invalid
from app.errors import message_zh as errors_zh

logger = logging.getLogger("app.errors")


def _field(loc: tuple[Any, ...]) -> str | None:
    parts = list(loc)
    if parts == ["body"]:
        return "body"
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith(
            ("function-", "json-or-python")
        ):
            continue
        else:
            text += f".{part}" if text else str(part)
    return text or None


# fields a client may send to no route, because only a procedure changes them
PROCEDURE_ONLY = {
    "monitoring_status": "set only by the case procedure (a district decision) or the audited import of "
    "households already monitored (shouwang households import-monitored)",
    "monitoring_category": "set only by the district's decision on a case (confirm)",
    "household_type": "the household type is registry history: propose a correction "
    "(POST /api/v1/households/{id}/type-corrections), which the township approves",
}


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        loc = error.get("loc") or ()
        return PROCEDURE_ONLY.get(str(loc[-1]) if loc else "", "unknown field")
    if error.get("type") == "missing":
        return "field required"
    if error.get("type") == "string_unicode":
        return "must be valid Unicode text (it holds an unpaired surrogate)"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


# The web app's users read Chinese: each refused field also says in Chinese what is wrong, for pydantic's
# own checks (by their type) and the checks in app.errors.CHINESE; `message` stays the API's English for
# integrators.
_ZH_BY_TYPE: dict[str, str] = {
    "missing": "必须填写",
    "string_too_long": "最多 {max_length} 个字",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "int_parsing": "必须是整数",
    "int_type": "必须是整数",
    "int_from_float": "必须是整数",
    "float_parsing": "必须是数字",
    "float_type": "必须是数字",
    "decimal_parsing": "必须是数字",
    "decimal_type": "必须是数字",
    "decimal_max_places": "最多 {decimal_places} 位小数",
    "decimal_max_digits": "数字位数太多",
    "decimal_whole_digits": "数字位数太多",
    "finite_number": "必须是有限的数字",
    "date_parsing": "必须是日期（年-月-日）",
    "date_from_datetime_parsing": "必须是日期（年-月-日）",
    "date_type": "必须是日期（年-月-日）",
    "bool_parsing": "必须是“是”或“否”",
    "bool_type": "必须是“是”或“否”",
    "string_pattern_mismatch": "格式不对",
    "string_type": "必须是文字",
    "list_type": "必须是一组值",
    "json_invalid": "不是有效的 JSON",
}


def message_zh(error: dict[str, Any]) -> str | None:
    """What is wrong with a field, in Chinese, where it is known; None otherwise."""
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "string_too_short":
        least = context.get("min_length", 1)
        return "不能为空" if least == 1 else f"至少 {least} 个字"
    if kind == "extra_forbidden":
        return "不能在这里填写这一项"
    if kind in ("literal_error", "enum"):
        if error.get("input") in ("", None):
            return "请选择"
        choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        return f"必须是以下之一：{'、'.join(choices)}" if choices else None
    if kind in _ZH_BY_TYPE:
        try:
            return _ZH_BY_TYPE[kind].format(**{k: str(v) for k, v in context.items()})
        except (KeyError, IndexError):
            return None
    return errors_zh(_message(error))


def validation_errors(exc: ValidationError, prefix: str = "") -> list[AppError]:
    """A pydantic error list as AppErrors whose fields carry `prefix` (e.g. "reports[3].")."""
    return [
        Invalid(
            _message(dict(e)),
            field=(prefix + (_field(tuple(e["loc"])) or "")).rstrip("."),
            message_zh=message_zh(dict(e)),
        )
        for e in exc.errors()
    ]


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    # An error can quote what was sent (a field's name, an action): text that cannot be encoded must not
    # turn the refusal into a 500.
    return JSONResponse(status_code=status, content=_encodable(body), headers=headers)


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(v) for v in value]
    return value


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return _json(exc.status_code, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items: list[dict[str, str | None]] = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            if error.get("type") == "json_invalid":
                items.append(
                    {
                        "code": "invalid",
                        "message": "the body is not valid JSON",
                        "field": "body",
                        "message_zh": "不是有效的 JSON",
                    }
                )
                continue
            item = {"code": "invalid", "message": _message(error), "field": _field(loc)}
            chinese = message_zh(dict(error))
            if chinese is not None:
                item["message_zh"] = chinese
            items.append(item)
        first: dict[str, str | None] = items[0] if items else {"message": "invalid request", "field": None}
        body: dict[str, Any] = {
            "code": "invalid",
            "message": f"{len(items)} invalid field(s): {first['message']}",
            "field": first["field"],
            "errors": items,
        }
        if first.get("message_zh"):
            many = f"（共 {len(items)} 项有误）" if len(items) > 1 else ""
            body["message_zh"] = f"{first['message_zh']}{many}"
        return _json(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "invalid",
            404: "not_found",
            405: "method_not_allowed",
            413: "too_large",
            401: "unauthorized",
        }.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        return _json(exc.status_code, {"code": code, "message": str(exc.detail), "field": None}, headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # A race the service's own checks could not see (two requests at once): report it as a conflict.
        logger.info("integrity conflict", extra={"constraint": type(exc.orig).__name__})
        return _json(
            409,
            {
                "code": "conflict",
                "message": "the change conflicts with stored data; read and retry",
                "field": None,
            },
        )

    @app.exception_handler(StaleDataError)
    async def _stale(_request: Request, _exc: StaleDataError) -> JSONResponse:
        return _json(
            409,
            {
                "code": "conflict",
                "message": "the record was changed by someone else; read it again",
                "field": "version",
            },
        )

    @app.exception_handler(DataError)
    async def _data(_request: Request, exc: DataError) -> JSONResponse:
        # Input the schema let through but the database cannot store (e.g. a NUL character).
        logger.info("data refused by the database", extra={"error": type(exc.orig).__name__})
        return _json(
            422,
            {"code": "invalid", "message": "a value cannot be stored (e.g. a NUL character)", "field": None},
        )

    @app.exception_handler(UnicodeError)
    async def _unicode(_request: Request, exc: UnicodeError) -> JSONResponse:
        # Text that is not valid Unicode got past the checks and could not be encoded to be stored.
        logger.info("text refused: not valid Unicode", extra={"error": type(exc).__name__})
        return _json(422, {"code": "invalid", "message": "a value is not valid Unicode text", "field": None})

    @app.exception_handler(OperationalError)
    async def _operational(_request: Request, exc: OperationalError) -> JSONResponse:
        logger.error("database unavailable", extra={"error": type(exc.orig).__name__})
        return _json(
            503,
            {"code": "unavailable", "message": "the database is busy or unreachable; retry", "field": None},
            {"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return _json(
            500, {"code": "internal", "message": "internal error; it has been logged", "field": None}
        )
