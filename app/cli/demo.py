"""Demo mode: the demo district, accounts and cases on a demo server's start, its first scoring run and
weekly list, and `demo-data` (a plausible district of any size, demo mode only)."""

import time
from typing import Any

import click

from app.cli.common import fail, handle_errors, load_settings, migrate_schema
from app.config import Settings
from app.models.enums import Role


def first_demo_run(settings: Settings) -> None:
    """On the demo's first start: train the model (when the history allows), score every household,
    open the cases and freeze this week's list, so the inboxes and the district's dashboard have work in
    them."""
    from sqlalchemy import select

    from app.clock import local_today
    from app.db import get_sessionmaker, session_scope
    from app.models import RiskList
    from app.risk import model, scorer, training
    from app.services.cases import cases
    from app.services.lists import risk_lists
    from app.worker import jobs

    with session_scope() as session:
        if scorer.current_run(session) is not None:
            return
    try:
        training.train(get_sessionmaker(), settings, triggered_by="demo")
    except (model.ColdStart, training.AlreadyTraining):
        pass
    try:
        run = scorer.score_all(get_sessionmaker(), settings, as_of=local_today(), triggered_by="demo")
    except scorer.AlreadyRunning:
        return
    counts = cases.open_for_run(get_sessionmaker(), settings, run.id)
    used = run.champion or "rules alone"
    click.echo(
        f"demo scoring: {run.households_scored} households ({run.mode}: {used}), {run.flagged_high} high, "
        f"{run.flagged_medium} medium; {counts.get('opened', 0)} cases opened"
    )
    jobs.weekly_risk_list()
    with session_scope() as session:
        week = risk_lists.week_of(local_today())
        listed = session.scalar(
            select(RiskList.entries).where(RiskList.week == week, RiskList.status == "current")
        )
    click.echo(f"demo weekly list: {week}, {listed or 0} households")


def bootstrap_demo(session: Any, settings: Settings) -> None:
    from sqlalchemy import func, select

    from app.demo import accounts as demo_accounts
    from app.demo import cases as demo_cases
    from app.demo import district as demo
    from app.demo import regions as demo_regions
    from app.models import Household

    demo_regions.ensure_regions(session, settings)
    fresh = not session.scalar(select(func.count()).select_from(Household)) and settings.demo_households
    if fresh:
        started = time.perf_counter()
        count = demo.generate(session, settings, households=settings.demo_households, seed=1)
        click.echo(f"demo data: {count} households in {time.perf_counter() - started:.1f} s")
    accounts = demo_accounts.reset_demo_accounts(session, settings)
    if fresh:  # the demo village's cases at every step, played through the procedure by the demo accounts
        click.echo(f"demo cases: {demo_cases.stage_cases(session, settings)} at every step of the procedure")
    click.echo("\nDemo accounts (passwords are new at every start; log in at / or at /docs → Authorize):")
    for username, password, role, region in accounts:
        if role == Role.platform_client:  # the platform signs its requests: a fresh key instead
            from datetime import timedelta

            from app.services.platform.access import Actor
            from app.services.relief import relief_keys

            key_id, secret, _ = relief_keys.rotate(
                session, settings, Actor.system("demo"), username, timedelta(0)
            )
            click.echo(f"  {username:<16} key_id={key_id} secret={secret} (docs/relief-platform.md)")
            continue
        click.echo(f"  {username:<16} {password:<18} {role.value:<18} {region}")
    click.echo("")


@click.command("demo-data")
@click.option("--households", default=3000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--years", default=3, show_default=True, type=click.IntRange(1, 20), help="years of quarterly reports"
)
@click.option(
    "--jobs",
    type=click.Choice(["1", "2", "4"]),  # chunks.JOBS (imported with the command, not the CLI)
    help="processes writing chunks of 20,000 households side by side (PostgreSQL; default 2, SQLite 1)",
)
@handle_errors
def demo_data(households: int, seed: int, years: int, jobs: str | None) -> None:
    """Fill the database with a plausible district (demo mode only)."""
    from app import collector
    from app.demo import chunks

    settings = load_settings()
    if not settings.is_demo:
        fail("demo data is refused in production", 2)
    on_sqlite = settings.database_url.startswith("sqlite")
    if on_sqlite and jobs not in (None, "1"):
        fail("--jobs: SQLite takes one writer at a time; only --jobs 1 works on it", 2)
    migrate_schema(settings)
    collector.tune()  # the chunks written in this process (SQLite, --jobs 1)
    started = time.perf_counter()
    count = chunks.write(
        settings,
        households=households,
        seed=seed,
        quarter_count=4 * years,
        jobs=int(jobs or (1 if on_sqlite else 2)),
        chunk_households=chunks.CHUNK_HOUSEHOLDS,
    )
    elapsed = time.perf_counter() - started
    click.echo(f"demo data: {count} households in {elapsed:.1f} s ({count / elapsed:.0f} households/s)")
