"""The `shouwang` command. Every subcommand prints a clear error and exits non-zero on failure."""

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from app.config import Settings, get_settings
from app.errors import AppError
from app.models.enums import MonitoringCategory, Role

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        _fail(f"invalid settings: {problems}", 2)
        raise AssertionError("unreachable") from None


def _handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AppError as exc:
            details = "".join(f"\n  {e.field}: {e.message}" for e in exc.errors)
            _fail(f"{exc.message}" + (f" ({exc.field})" if exc.field and not exc.errors else "") + details)
        except Exception as exc:  # a CLI must say what went wrong, not dump a trace
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                _fail(f"database error: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            raise

    return wrapper  # type: ignore[return-value]


@click.group()
def main() -> None:
    """Shouwang (守望): return-to-poverty monitoring service."""


def _migrate(settings: Settings) -> None:
    """Upgrade to head, one process at a time (the others wait, then find the schema at head)."""
    from alembic.util.exc import CommandError

    from app.services.platform import schema

    try:
        migration = schema.upgrade_to_head(
            settings.database_url,
            on_wait=lambda: click.echo("another process is migrating the database: waiting", err=True),
        )
    except CommandError as exc:
        _fail(f"cannot migrate: {exc}")
        return
    click.echo(migration.describe())


def _require_schema(settings: Settings) -> None:
    """Demo mode migrates; production runs only on a schema at head (`shouwang migrate` is the step that
    migrates, so replicas starting together never race to do it)."""
    from app.services.platform import schema

    if settings.is_demo:
        _migrate(settings)
        return
    problem = schema.problem(settings.database_url)
    if problem is not None:
        _fail(problem, 2)


@main.command()
@_handle_errors
def migrate() -> None:
    """Upgrade the database schema to the newest revision (several at once: one migrates, the others
    wait and find it done)."""
    _migrate(_settings())


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@_handle_errors
def serve(host: str, port: int) -> None:
    """Serve the API. Production refuses a schema not at head (run `shouwang migrate` first); demo mode
    migrates, loads demo data and prints demo accounts."""
    import uvicorn

    from app.db import session_scope
    from app.demo import accounts as demo_accounts
    from app.logs import configure_logging
    from app.main import create_app

    settings = _settings()
    _require_schema(settings)
    with session_scope() as session:
        if settings.is_demo:
            _bootstrap_demo(session, settings)
        elif demo_users := demo_accounts.active_demo_accounts(session):
            _fail(f"production refuses demo accounts; deactivate them first: {', '.join(demo_users)}", 2)
    if settings.is_demo:
        _first_demo_run(settings)
    configure_logging()
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
            create_app(settings),
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


def _first_demo_run(settings: Settings) -> None:
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
    click.echo(
        f"demo scoring: {run.households_scored} households ({run.mode}), {run.flagged_high} high, "
        f"{run.flagged_medium} medium; {counts.get('opened', 0)} cases opened"
    )
    jobs.weekly_risk_list()
    with session_scope() as session:
        week = risk_lists.week_of(local_today())
        listed = session.scalar(
            select(RiskList.entries).where(RiskList.week == week, RiskList.status == "current")
        )
    click.echo(f"demo weekly list: {week}, {listed or 0} households")


def _bootstrap_demo(session: Any, settings: Settings) -> None:
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


@main.group()
def regions() -> None:
    """The region tree."""


@regions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_handle_errors
def regions_import(file: Path) -> None:
    """Load or update a county's tree from a CSV (code,name,level,parent_code[,code_source])."""
    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.registry import regions as region_service

    settings = _settings()
    with session_scope() as session:
        created, updated = region_service.import_file(session, settings, Actor.system("regions-import"), file)
    click.echo(f"regions: {created} created, {updated} updated")


@main.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--region", "region_code", required=True, help="12-digit region code matching the role's level")
@click.option("--department", default=None, help="a department_user's department (医保, 民政 …)")
@_handle_errors
def users_create(username: str, role: str, region_code: str, department: str | None) -> None:
    """Create an account; the password is read from stdin (or prompted for on a terminal)."""
    from app.db import session_scope
    from app.schemas.users import UserCreate
    from app.services.platform import users as user_service
    from app.services.platform.access import Actor

    settings = _settings()
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
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return
    with session_scope() as session:
        user = user_service.create(session, settings, Actor.system("users-create"), body)
        click.echo(f"created user {user.username} (id {user.id}, {user.role.value}, {user.region_code})")


@users.command("deactivate")
@click.option("--username", required=True)
@_handle_errors
def users_deactivate(username: str) -> None:
    """Deactivate an account: its tokens stop working at once."""
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import User
    from app.schemas.users import UserUpdate
    from app.services.platform import users as user_service
    from app.services.platform.access import Actor

    settings = _settings()
    with session_scope() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            _fail(f"no user named {username}")
            return
        user_service.update(
            session, settings, Actor.system("users-deactivate"), user.id, UserUpdate(active=False)
        )
    click.echo(f"deactivated {username}")


@main.group()
def households() -> None:
    """The household registry."""


@households.command("import-monitored")
@click.option("--household-no", required=True, help="the registered household's number (户编号)")
@click.option(
    "--category",
    required=True,
    type=click.Choice([c.value for c in MonitoringCategory if c != MonitoringCategory.none]),
)
@click.option("--risk-type", "risk_types", required=True, multiple=True, help="1 to 5, repeat the option")
@click.option("--identified-on", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--note", required=True, help="where the record comes from (audited)")
@_handle_errors
def households_import_monitored(
    household_no: str, category: str, risk_types: tuple[str, ...], identified_on: Any, note: str
) -> None:
    """Bring a household already monitored elsewhere into monitoring, audited (not a case decision)."""
    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.registry import monitored_import

    settings = _settings()
    with session_scope() as session:
        household = monitored_import.import_monitored(
            session,
            settings,
            Actor.system("import-monitored"),
            household_no=household_no,
            category=MonitoringCategory(category),
            risk_types=risk_types,
            identified_on=identified_on.date(),
            note=note,
        )
        click.echo(
            f"household {household.household_no} is monitored as {category} since {household.monitored_since}"
        )


DEMO_CHUNK = 20_000


@main.command("demo-data")
@click.option("--households", default=3000, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--years", default=3, show_default=True, type=click.IntRange(1, 20), help="years of quarterly reports"
)
@_handle_errors
def demo_data(households: int, seed: int, years: int) -> None:
    """Fill the database with a plausible district (demo mode only)."""
    from app.db import session_scope
    from app.demo import district as demo

    settings = _settings()
    if not settings.is_demo:
        _fail("demo data is refused in production", 2)
    _migrate(settings)
    started = time.perf_counter()
    count = 0
    # a large district is written in chunks, each in its own transaction (and seeded from --seed)
    for number, offset in enumerate(range(0, households, DEMO_CHUNK)):
        size = min(DEMO_CHUNK, households - offset)
        with session_scope() as session:
            count += demo.generate(
                session, settings, households=size, seed=seed + 7919 * number, quarter_count=4 * years
            )
        if households > DEMO_CHUNK:
            rate = count / (time.perf_counter() - started)
            click.echo(f"  {count:,} / {households:,} households ({rate:.0f}/s)", err=True)
    elapsed = time.perf_counter() - started
    click.echo(f"demo data: {count} households in {elapsed:.1f} s ({count / elapsed:.0f} households/s)")


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file kept outside the database: checked against, then advanced when the chain is intact",
)
@_handle_errors
def audit_verify(checkpoint: Path | None) -> None:
    """Check the audit chain: edited, inserted or deleted rows (including the last ones) are reported.

    With --checkpoint, a log wiped or rolled back (head included) since the last check is reported too.
    """
    from app.db import session_scope
    from app.services.platform import audit as audit_service

    settings = _settings()
    seen = None
    if checkpoint is not None and checkpoint.exists():
        try:
            seen = audit_service.Checkpoint.from_json(checkpoint.read_text())
        except (ValueError, KeyError, TypeError) as exc:
            _fail(f"cannot read checkpoint {checkpoint}: {exc}")
    with session_scope() as session:
        result = audit_service.verify(session, settings, checkpoint=seen)
    if result.ok:
        if checkpoint is not None:
            checkpoint.write_text(audit_service.Checkpoint(result.length, result.last_mac).to_json())
        click.echo(f"audit chain intact: {result.length} entries")
        return
    for problem in result.problems[:50]:
        click.echo(f"  {problem}", err=True)
    _fail(f"audit chain broken: {len(result.problems)} problem(s) in {result.length} entries")


@main.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="a new file")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    help="where the audit checkpoint of the backup goes (default: OUT.audit.json)",
)
@_handle_errors
def backup(out: Path, checkpoint: Path | None) -> None:
    """Back up the database while the service runs (SQLite: online backup; PostgreSQL: pg_dump), with the
    audit chain's checkpoint taken in the same snapshot. Never overwrites a file."""
    from app.services.platform import backup as backup_service

    try:
        made = backup_service.backup(_settings().database_url, out, checkpoint)
    except backup_service.BackupError as exc:
        _fail(str(exc))
        return
    click.echo(f"backup written to {made.path} (audit chain: {made.checkpoint.length} entries)")
    click.echo(f"audit checkpoint written to {made.checkpoint_path}: keep both, away from the database")


@main.command()
@click.option(
    "--from", "source", required=True, type=click.Path(dir_okay=False, path_type=Path), help="a backup file"
)
@_handle_errors
def restore(source: Path) -> None:
    """Load a backup made by `shouwang backup` into the configured database, which must be empty."""
    from app.services.platform import backup as backup_service
    from app.services.platform import schema

    settings = _settings()
    try:
        backup_service.restore(settings.database_url, source)
    except backup_service.BackupError as exc:
        _fail(str(exc))
        return
    revisions = schema.revisions(settings.database_url)
    click.echo(f"restored {source}; database schema at {schema.revisions_text(revisions)}")
    problem = schema.problem(settings.database_url)
    if problem is not None:
        click.echo(problem)
    checkpoint = backup_service.checkpoint_path_for(source)
    click.echo(f"next: shouwang audit verify --checkpoint {checkpoint}")


@main.group()
def risk() -> None:
    """The risk engine."""


@risk.command("run")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), help="default: today")
@_handle_errors
def risk_run(as_of: Any) -> None:
    """Score every household now (one run at a time across all processes)."""
    from app.clock import local_today
    from app.db import get_sessionmaker
    from app.risk import scorer

    _settings()
    try:
        run = scorer.score_all(
            get_sessionmaker(),
            _settings(),
            as_of=as_of.date() if as_of else local_today(),
            triggered_by="cli",
        )
    except scorer.AlreadyRunning as exc:
        _fail(str(exc), 3)
        return
    click.echo(
        f"run {run.id} ({run.mode}, policy v{run.policy_version}): {run.households_scored} households, "
        f"{run.flagged_high} high, {run.flagged_medium} medium, in {run.duration_ms} ms"
    )
    from app.db import get_sessionmaker
    from app.services.cases import cases

    counts = cases.open_for_run(get_sessionmaker(), _settings(), run.id)
    if counts:
        click.echo("signals: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))


@risk.command("train")
@_handle_errors
def risk_train() -> None:
    """Train the early-warning model on the district's history, compare it with the baselines on the
    newest hold-out, and install it unless it scores worse than the model in use."""
    from app.db import get_sessionmaker
    from app.risk import model, training

    settings = _settings()
    try:
        outcome = training.train(get_sessionmaker(), settings, triggered_by="cli")
    except model.ColdStart as exc:
        _fail(f"not enough history to train; scoring stays on rules alone: {exc}", 4)
        return
    except training.AlreadyTraining as exc:
        _fail(str(exc), 3)
        return
    m = outcome.model
    click.echo(
        f"model {m.id}: {m.status} — {m.decision}\n"
        f"trained on {m.train_from}..{m.train_to} ({m.examples_train} examples), hold-out {m.test_period} "
        f"({m.examples_test} households, {m.positives_test} below the line within the horizon)\n"
    )
    names = ["roc_auc", "pr_auc", "brier", "recall_at_5", "precision_at_5", "recall_at_10", "precision_at_10"]
    click.echo("| scorer | " + " | ".join(names) + " |")
    click.echo("|---" * (len(names) + 1) + "|")
    for row in outcome.table:
        cells = [
            "—" if row[n] is None else f"{row[n]['value']:.3f} [{row[n]['low']:.3f}, {row[n]['high']:.3f}]"
            for n in names
        ]
        click.echo(f"| {row['scorer']} | " + " | ".join(cells) + " |")


@main.command()
@_handle_errors
def worker() -> None:
    """Run scheduled work (nightly scoring, admins' run requests, deliveries, escalation) until stopped.
    Production refuses a schema not at head (run `shouwang migrate` first); demo mode migrates."""
    from app.logs import configure_logging
    from app.worker import process

    settings = _settings()
    _require_schema(settings)
    configure_logging()
    click.echo(f"worker: scoring on '{settings.risk_schedule_cron}' ({settings.timezone}); Ctrl-C stops")
    process.run(settings)


@main.group()
def keys() -> None:
    """Encryption and look-up keys."""


@keys.command("rewrap")
@_handle_errors
def keys_rewrap() -> None:
    """Re-encrypt personal data under the newest key and re-hash ID numbers under the current look-up key."""
    from app.db import session_scope
    from app.services.platform import keys as key_service
    from app.services.platform.access import Actor

    settings = _settings()
    with session_scope() as session:
        members, households = key_service.rewrap(session, settings, Actor.system("keys-rewrap"))
    click.echo(f"re-encrypted {members} ID numbers and {households} phones under the newest key")


@main.group()
def lists() -> None:
    """Weekly risk lists."""


@lists.command("generate")
@click.option("--week", required=True, help='ISO week, e.g. 2026-W48 (or "current")')
@click.option("--force", is_flag=True, help="regenerate a week that has a list (the old one is kept)")
@_handle_errors
def lists_generate(week: str, force: bool) -> None:
    """Freeze a week's risk list now (the worker does it every Monday morning)."""
    from app.clock import local_today
    from app.db import session_scope
    from app.services.lists import risk_list_generation, risk_lists
    from app.services.platform.access import Actor

    settings = _settings()
    week = risk_lists.week_of(local_today()) if week == "current" else week
    with session_scope() as session:
        made = risk_list_generation.generate(session, settings, Actor.system("cli"), week, force)
        click.echo(
            f"risk list {made.week} (id {made.id}): {made.entries} households, {made.resolved} resolved "
            f"since the week before, scoring run {made.run_id}"
        )


@lists.command("export")
@click.option("--week", required=True, help='ISO week, e.g. 2026-W48, or "latest"')
@click.option("--format", "fmt", required=True, type=click.Choice(["json", "csv", "xlsx"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--township", default=None, help="12-digit township code: only its households")
@click.option("--quiet", is_flag=True, help="no progress bar")
@_handle_errors
def lists_export(week: str, fmt: str, out: Path, township: str | None, quiet: bool) -> None:
    """Write a week's list to a file (the whole county, or one township), with a progress bar."""
    from app.db import session_scope
    from app.schemas.risk_lists import RiskListRead
    from app.services.lists import risk_list_export, risk_lists

    settings = _settings()
    with session_scope() as session:
        actor = risk_lists.county_reader(session)
        risk_list = risk_lists.readable(session, actor, week)
        filters = risk_lists.Filters(township=risk_lists.township_code(township))
        total = risk_list_export.count(session, risk_list_export.rows(risk_list.id, actor, filters))
        header = RiskListRead.model_validate(risk_list).model_dump(mode="json")
    partial = out.with_name(out.name + ".partial")
    try:
        _write_export(settings, risk_list.id, actor, filters, header, fmt, partial, total, quiet)
    except BaseException:
        partial.unlink(missing_ok=True)  # names and masked IDs: no half-written file left behind
        raise
    partial.replace(out)  # a half-written file never carries the final name
    click.echo(f"{total} rows of {risk_list.week} written to {out}", err=True)


def _write_export(
    settings: Settings,
    list_id: int,
    actor: Any,
    filters: Any,
    header: dict[str, Any],
    fmt: str,
    partial: Path,
    total: int,
    quiet: bool,
) -> None:
    from tqdm import tqdm

    from app.db import get_sessionmaker
    from app.services.lists import risk_list_export

    with tqdm(total=total, unit=" households", disable=quiet, file=sys.stderr) as bar:
        if fmt == "xlsx":
            risk_list_export.write_xlsx(
                partial, get_sessionmaker(), settings, list_id, actor, filters, bar.update
            )
            return
        batches = risk_list_export.stream(get_sessionmaker(), settings, list_id, actor, filters, bar.update)
        chunks = (
            risk_list_export.csv_chunks(batches)
            if fmt == "csv"
            else risk_list_export.json_chunks(header, batches)
        )
        with partial.open("wb") as f:
            for chunk in chunks:
                f.write(chunk)


@main.group()
def relief() -> None:
    """The provincial relief platform: its signing keys and the messages posted to it."""


@relief.group("keys")
def relief_keys_group() -> None:
    """HMAC keys of platform_client accounts (kept encrypted in the database)."""


@relief_keys_group.command("create")
@click.option("--user", "username", required=True, help="a platform_client account")
@_handle_errors
def relief_keys_create(username: str) -> None:
    """A new key: prints key_id=… and secret=… (the secret is shown this once)."""
    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.relief import relief_keys

    settings = _settings()
    with session_scope() as session:
        key_id, secret = relief_keys.create(session, settings, Actor.system("cli"), username)
    click.echo(f"key_id={key_id}\nsecret={secret}")


@relief_keys_group.command("rotate")
@click.option("--user", "username", required=True, help="a platform_client account")
@click.option("--grace-hours", type=click.FloatRange(0, 24 * 90), default=24.0, show_default=True)
@_handle_errors
def relief_keys_rotate(username: str, grace_hours: float) -> None:
    """A new key; the account's current keys stay valid for the grace period, then are refused."""
    from datetime import timedelta

    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.relief import relief_keys

    settings = _settings()
    with session_scope() as session:
        key_id, secret, until = relief_keys.rotate(
            session, settings, Actor.system("cli"), username, timedelta(hours=grace_hours)
        )
    click.echo(f"key_id={key_id}\nsecret={secret}\nprevious keys accepted until {until.isoformat()}")


@relief.command("deliveries")
@click.option("--status", type=click.Choice(["pending", "delivered", "dead"]), default=None)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--replay-dead", is_flag=True, help="send every dead message again first")
@_handle_errors
def relief_deliveries(status: str | None, limit: int, replay_dead: bool) -> None:
    """The outbox of messages to the platform, newest first (`--status dead`: the dead letters)."""
    from app.db import session_scope
    from app.schemas.common import PageParams
    from app.services.platform.access import Actor
    from app.services.relief import relief_outbox

    if replay_dead:
        with session_scope() as session:
            count = relief_outbox.replay_dead(session, _settings(), Actor.system("cli"))
        click.echo(f"{count} dead messages will be sent again")
    with session_scope() as session:
        rows, total = relief_outbox.deliveries(session, status, PageParams(page=1, page_size=limit))
        click.echo(f"{total} messages" + (f" {status}" if status else ""))
        for m in rows:
            click.echo(
                f"{m.id:>7} {m.status:<9} {m.application_id:<24} #{m.sequence:<3} {m.event:<22} "
                f"attempts {m.attempts:<2} {m.last_error or ''}"
            )


if __name__ == "__main__":
    main()
