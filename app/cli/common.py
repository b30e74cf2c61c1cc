"""What every command shares: failing with a clear message and an exit code, the settings (invalid ones
reported, not traced), turning the service's errors into that message, and the schema steps (migrating,
refusing a schema not at head)."""

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from app.config import Settings, get_settings
from app.errors import AppError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid settings: {problems}", 2)
        raise AssertionError("unreachable") from None


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AppError as exc:
            details = "".join(f"\n  {e.field}: {e.message}" for e in exc.errors)
            fail(f"{exc.message}" + (f" ({exc.field})" if exc.field and not exc.errors else "") + details)
        except Exception as exc:  # a CLI must say what went wrong, not dump a trace
            from psycopg import Error as DriverError  # (a bulk COPY goes to the driver directly)
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError | DriverError):
                fail(f"database error: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            raise

    return wrapper  # type: ignore[return-value]


def migrate_schema(settings: Settings) -> None:
    """Upgrade to head, one process at a time (the others wait, then find the schema at head)."""
    from alembic.util.exc import CommandError

    from app.ops import schema

    try:
        migration = schema.upgrade_to_head(
            settings.database_url,
            on_wait=lambda: click.echo("another process is migrating the database: waiting", err=True),
        )
    except CommandError as exc:
        fail(f"cannot migrate: {exc}")
        return
    click.echo(migration.describe())


def require_schema(settings: Settings) -> None:
    """Demo mode migrates; production runs only on a schema at head (`shouwang migrate` is the step that
    migrates, so replicas starting together never race to do it)."""
    from app.ops import schema

    if settings.is_demo:
        migrate_schema(settings)
        return
    problem = schema.problem(settings.database_url)
    if problem is not None:
        fail(problem, 2)
