"""Running the service: the API server, the worker, migrations, and backup and restore."""

from pathlib import Path

import click

from app import collector
from app.cli.common import fail, handle_errors, load_settings, migrate_schema, require_schema
from app.cli.demo import bootstrap_demo, first_demo_run


@click.command()
@handle_errors
def migrate() -> None:
    """Upgrade the database schema to the newest revision (several at once: one migrates, the others
    wait and find it done)."""
    migrate_schema(load_settings())


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@handle_errors
def serve(host: str, port: int) -> None:
    """Serve the API. Production refuses a schema not at head (run `shouwang migrate` first); demo mode
    migrates, loads demo data and prints demo accounts."""
    import uvicorn

    from app.db import session_scope
    from app.demo import accounts as demo_accounts
    from app.logs import configure_logging
    from app.main import create_app

    settings = load_settings()
    require_schema(settings)
    with session_scope() as session:
        if settings.is_demo:
            bootstrap_demo(session, settings)
        elif demo_users := demo_accounts.active_demo_accounts(session):
            fail(f"production refuses demo accounts; deactivate them first: {', '.join(demo_users)}", 2)
    if settings.is_demo:
        first_demo_run(settings)
    configure_logging()
    app = create_app(settings)
    # what is loaded by now (modules, routes, schemas, the demo's first run collected) lives as long as the
    # process: frozen out of the collector's way, its full collections, which pause every request under
    # way, walk only what requests make
    collector.tune()
    scheduler = None
    if settings.scheduler_in_process:
        from apscheduler.schedulers.background import BackgroundScheduler

        from app.worker.schedule import add_jobs

        scheduler = BackgroundScheduler(timezone=settings.timezone)
        add_jobs(scheduler, settings)
        scheduler.start()
    try:
        # SIGTERM: stop accepting, let the requests under way finish (up to the grace), then exit
        uvicorn.run(
            app,
            host=host,
            port=port,
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )
    finally:
        if scheduler is not None:
            from app import lifecycle

            lifecycle.stopping.set()
            scheduler.shutdown(wait=True)


@click.command()
@handle_errors
def worker() -> None:
    """Run scheduled work (nightly scoring, admins' run requests, deliveries, escalation) until stopped.
    Production refuses a schema not at head (run `shouwang migrate` first); demo mode migrates."""
    from app.logs import configure_logging
    from app.worker import process

    settings = load_settings()
    require_schema(settings)
    configure_logging()
    collector.tune()
    click.echo(f"worker: scoring on '{settings.risk_schedule_cron}' ({settings.timezone}); Ctrl-C stops")
    try:
        process.run(settings)
    except process.CannotStart as exc:
        fail(str(exc), 2)


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="a new file")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="where the audit checkpoint of the backup goes (default: OUT.audit.json)",
)
@handle_errors
def backup(out: Path, checkpoint: Path | None) -> None:
    """Back up the database while the service runs (SQLite: online backup; PostgreSQL: pg_dump), with the
    audit chain's checkpoint taken in the same snapshot. Never overwrites a file."""
    from app.ops import backup as backup_service

    try:
        made = backup_service.backup(load_settings().database_url, out, checkpoint)
    except backup_service.BackupError as exc:
        fail(str(exc))
        return
    click.echo(f"backup written to {made.path} (audit chain: {made.checkpoint.length} entries)")
    click.echo(f"audit checkpoint written to {made.checkpoint_path}: keep both, away from the database")


@click.command()
@click.option(
    "--from", "source", required=True, type=click.Path(dir_okay=False, path_type=Path), help="a backup file"
)
@handle_errors
def restore(source: Path) -> None:
    """Load a backup made by `shouwang backup` into the configured database, which must be empty."""
    from app.ops import backup as backup_service
    from app.ops import schema

    settings = load_settings()
    try:
        backup_service.restore(settings.database_url, source)
    except backup_service.BackupError as exc:
        fail(str(exc))
        return
    revisions = schema.revisions(settings.database_url)
    click.echo(f"restored {source}; database schema at {schema.revisions_text(revisions)}")
    problem = schema.problem(settings.database_url)
    if problem is not None:
        click.echo(problem)
    checkpoint = backup_service.checkpoint_path_for(source)
    # verify rewrites the checkpoint it is given when the chain passes: the backup's own stays as it was
    click.echo(
        f"next: cp {checkpoint} restored-checkpoint.json && "
        "shouwang audit verify --checkpoint restored-checkpoint.json"
    )
