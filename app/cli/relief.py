"""The provincial relief platform: its signing keys and the outbox of messages posted to it."""

import click

from app.cli.common import handle_errors, load_settings


@click.group()
def relief() -> None:
    """The provincial relief platform: its signing keys and the messages posted to it."""


@relief.group("keys")
def relief_keys_group() -> None:
    """HMAC keys of platform_client accounts (kept encrypted in the database)."""


@relief_keys_group.command("create")
@click.option("--user", "username", required=True, help="a platform_client account")
@handle_errors
def relief_keys_create(username: str) -> None:
    """A new key: prints key_id=… and secret=… (the secret is shown this once)."""
    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.relief import relief_keys

    settings = load_settings()
    with session_scope() as session:
        key_id, secret = relief_keys.create(session, settings, Actor.system("cli"), username)
    click.echo(f"key_id={key_id}\nsecret={secret}")


@relief_keys_group.command("rotate")
@click.option("--user", "username", required=True, help="a platform_client account")
@click.option("--grace-hours", type=click.FloatRange(0, 24 * 90), default=24.0, show_default=True)
@handle_errors
def relief_keys_rotate(username: str, grace_hours: float) -> None:
    """A new key; the account's current keys stay valid for the grace period, then are refused."""
    from datetime import timedelta

    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.relief import relief_keys

    settings = load_settings()
    with session_scope() as session:
        key_id, secret, until = relief_keys.rotate(
            session, settings, Actor.system("cli"), username, timedelta(hours=grace_hours)
        )
    click.echo(f"key_id={key_id}\nsecret={secret}\nprevious keys accepted until {until.isoformat()}")


@relief.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "delivered", "dead"]), default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--replay-dead", is_flag=True, help="send every dead message again first")
@handle_errors
def relief_deliveries(status: str | None, limit: int, replay_dead: bool) -> None:
    """The outbox of messages to the platform, newest first (`--status dead`: the dead letters)."""
    from app.db import session_scope
    from app.schemas.common import PageParams
    from app.services.platform.access import Actor
    from app.services.relief import relief_outbox

    if replay_dead:
        with session_scope() as session:
            count = relief_outbox.replay_dead(session, load_settings(), Actor.system("cli"))
        click.echo(f"{count} dead messages will be sent again")
    with session_scope() as session:
        rows, total = relief_outbox.deliveries(session, status, PageParams(page=1, page_size=limit))
        click.echo(f"{total} messages" + (f" {status}" if status else ""))
        for m in rows:
            click.echo(
                f"{m.id:>7} {m.status:<9} {m.application_id:<24} #{m.sequence:<3} {m.event:<22} "
                f"attempts {m.attempts:<2} {m.last_error or ''}"
            )
