"""Administration: accounts, the encryption and look-up keys, and the audit chain's verification."""

import sys
from pathlib import Path

import click
from pydantic import ValidationError

from app.cli.common import fail, handle_errors, load_settings
from app.models.enums import Role


@click.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--region", "region_code", required=True, help="12-digit region code matching the role's level")
@click.option("--department", default=None, help="a department_user's department (医保, 民政 …)")
@handle_errors
def users_create(username: str, role: str, region_code: str, department: str | None) -> None:
    """Create an account; the password is read from stdin (or prompted for on a terminal)."""
    from app.db import session_scope
    from app.schemas.users import UserCreate
    from app.services.platform import users as user_service
    from app.services.platform.access import Actor

    settings = load_settings()
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        body = UserCreate(
            username=username,
            password=password,
            role=Role(role),
            region_code=region_code,
            department=department,
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return
    with session_scope() as session:
        user = user_service.create(session, settings, Actor.system("users-create"), body)
        click.echo(f"created user {user.username} (id {user.id}, {user.role.value}, {user.region_code})")


@users.command("deactivate")
@click.option("--username", required=True)
@handle_errors
def users_deactivate(username: str) -> None:
    """Deactivate an account: its tokens stop working at once."""
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import User
    from app.schemas.users import UserUpdate
    from app.services.platform import users as user_service
    from app.services.platform.access import Actor

    settings = load_settings()
    with session_scope() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            fail(f"no user named {username}")
            return
        user_service.update(
            session, settings, Actor.system("users-deactivate"), user.id, UserUpdate(active=False)
        )
    click.echo(f"deactivated {username}")


@click.group()
def keys() -> None:
    """Encryption and look-up keys."""


@keys.command("rewrap")
@handle_errors
def keys_rewrap() -> None:
    """Re-encrypt personal data under the newest key and re-hash ID numbers under the current look-up key."""
    from app.db import session_scope
    from app.services.platform import keys as key_service
    from app.services.platform.access import Actor

    settings = load_settings()
    with session_scope() as session:
        members, households = key_service.rewrap(session, settings, Actor.system("keys-rewrap"))
    click.echo(f"re-encrypted {members} ID numbers and {households} phones under the newest key")


@click.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file kept outside the database: checked against, then advanced when the chain is intact",
)
@handle_errors
def audit_verify(checkpoint: Path | None) -> None:
    """Check the audit chain: edited, inserted or deleted rows (including the last ones) are reported.

    With --checkpoint, a log wiped or rolled back (head included) since the last check is reported too.
    """
    from app.db import session_scope
    from app.services.platform import audit as audit_service

    settings = load_settings()
    seen = None
    if checkpoint is not None and checkpoint.exists():
        try:
            seen = audit_service.Checkpoint.from_json(checkpoint.read_text())
        except (ValueError, KeyError, TypeError) as exc:
            fail(f"cannot read checkpoint {checkpoint}: {exc}")
    with session_scope() as session:
        result = audit_service.verify(session, settings, checkpoint=seen)
    if result.ok:
        if checkpoint is not None:
            checkpoint.write_text(audit_service.Checkpoint(result.length, result.last_mac).to_json())
        click.echo(f"audit chain intact: {result.length} entries")
        return
    for problem in result.problems[:50]:
        click.echo(f"  {problem}", err=True)
    fail(f"audit chain broken: {len(result.problems)} problem(s) in {result.length} entries")
