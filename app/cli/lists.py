"""Weekly risk lists: freezing a week's list and exporting it to a file."""

import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import click

from app.cli.common import handle_errors, load_settings
from app.config import Settings


@click.group()
def lists() -> None:
    """Weekly risk lists."""


@lists.command("generate")
@click.option("--week", required=True, help='ISO week, e.g. 2026-W48 (or "current")')
@click.option("--force", is_flag=True, help="regenerate a week that has a list (the old one is kept)")
@handle_errors
def lists_generate(week: str, force: bool) -> None:
    """Freeze a week's risk list now (the worker does it every Monday morning)."""
    from app.clock import local_today
    from app.db import session_scope
    from app.services.lists import risk_list_generation, risk_lists
    from app.services.platform.access import Actor

    settings = load_settings()
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
@handle_errors
def lists_export(week: str, fmt: str, out: Path, township: str | None, quiet: bool) -> None:
    """Write a week's list to a file (the whole county, or one township), with a progress bar."""
    from app.db import read_only_session
    from app.schemas.risk_lists import RiskListRead
    from app.services.lists import risk_list_export, risk_lists

    settings = load_settings()
    with read_only_session() as session:
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

    from app import spawned
    from app.db import get_sessionmaker
    from app.services.lists import risk_list_export

    with tqdm(total=total, unit=" households", disable=quiet, file=sys.stderr) as bar:
        if fmt == "xlsx":
            from app.services.lists import risk_list_workbook  # (its summary needs scikit-learn)

            sessions = get_sessionmaker()
            risk_list_workbook.write_xlsx(
                partial, sessions, settings, list_id, actor, filters, bar.update, spawned.township_rows
            )
            return
        read = risk_list_export.read_ahead(
            risk_list_export.stream(get_sessionmaker(), settings, list_id, actor, filters, bar.update)
        )
        # closed however the writing ends (a full disk, Ctrl-C): its reader stops, its transaction ends
        with closing(read) as batches, partial.open("wb") as f:
            chunks = (
                risk_list_export.csv_chunks(batches)
                if fmt == "csv"
                else risk_list_export.json_chunks(header, batches)
            )
            for chunk in chunks:
                f.write(chunk)
