"""`shouwang import households`: a district's existing records (the national system's export, its
own ledgers) into the registry, checked first (--dry-run), written only when nothing is wrong or, with
--skip-invalid, for the valid households."""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from app.cli.common import fail, handle_errors, load_settings

if TYPE_CHECKING:
    from app.services.imports.runner import Summary
    from app.services.platform.access import Actor


@click.group("import")
def import_group() -> None:
    """Import a district's existing records."""


@import_group.command("households")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="the column mapping (YAML); default: the shipped national-system layout",
)
@click.option("--dry-run", is_flag=True, help="check every row and say what would change; write nothing")
@click.option("--skip-invalid", is_flag=True, help="write the valid households, list the others")
@click.option(
    "--problems",
    "problems_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="write the rows at fault here (XLSX) to fix and import again",
)
@click.option("--note", default="", help="where the records come from (audited); default: the file's name")
@click.option(
    "--by",
    "username",
    default=None,
    help="the district officer or admin account the audit names (default: the command line, system:import)",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@handle_errors
def import_households(
    file: Path,
    mapping_path: Path | None,
    dry_run: bool,
    skip_invalid: bool,
    problems_path: Path | None,
    note: str,
    username: str | None,
    as_json: bool,
) -> None:
    """Import households, members, a year's income and monitoring records from FILE (XLSX or CSV)."""
    from tqdm import tqdm

    from app.db import get_sessionmaker
    from app.services.imports import mapping, problems, runner

    settings = load_settings()
    columns = mapping.load(mapping_path)

    @contextmanager
    def opener() -> Iterator[IO[bytes]]:
        with file.open("rb") as stream:
            yield stream

    bar = tqdm(unit=" rows", file=sys.stderr, disable=as_json or not sys.stderr.isatty())
    phase = ""

    def progress(step: str, rows: int) -> None:
        nonlocal phase
        if step != phase:
            phase = step
            bar.reset()
            bar.set_description("checking" if step == "check" else "writing")
        bar.n = rows
        bar.refresh()

    summary = runner.run(
        get_sessionmaker(),
        settings,
        _importer(username),
        opener,
        columns,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        note=note or f"imported from {file.name}",
        progress=progress,
    )
    bar.close()
    if problems_path is not None and summary.problem_count:
        with file.open("rb") as source, problems_path.open("wb") as out:
            problems.write(source, columns, summary.problems, set(summary.invalid_households), out)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        click.echo(_report(summary, dry_run))
    if summary.problem_count and not summary.written:
        fail(f"nothing was written: {summary.problem_count} problems (fix them, or use --skip-invalid)", 1)


def _importer(username: str | None) -> "Actor":
    """Who the audit rows name: an active district officer or admin, or the command line itself."""
    from sqlalchemy import select

    from app.db import session_scope
    from app.models import User
    from app.models.enums import ROLE_REGION_LEVEL
    from app.services.imports.jobs import IMPORTERS
    from app.services.platform.access import Actor

    if username is None:
        return Actor.system("import")
    with session_scope() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None or not user.active or user.role not in IMPORTERS:
            fail(f"--by: {username} is not an active district officer or admin account", 2)
            raise AssertionError("unreachable")
        return Actor(user.id, user.username, user.role, user.region_code, ROLE_REGION_LEVEL[user.role])


def _report(summary: "Summary", dry_run: bool) -> str:
    done = "would be" if dry_run or not summary.written else "were"
    counts = summary.households
    lines = [
        f"{summary.rows} rows, {sum(counts.values())} households: {counts['create']} {done} created, "
        f"{counts['update']} {done} updated, {counts['unchanged']} unchanged, {counts['invalid']} invalid",
        f"members: {summary.members_created} new, {summary.members_updated} changed; "
        f"{summary.reports} years of income; {summary.monitored} monitoring records",
    ]
    for problem in summary.problems[:200]:
        lines.append(
            f"  line {problem.line}, {problem.column or '-'} ({problem.letter or '-'}): {problem.message}"
        )
    if summary.problem_count > 200:
        lines.append(
            f"  … and {summary.problem_count - 200} more (--json or --problems FILE.xlsx lists them)"
        )
    for warning in summary.warnings[:50]:
        lines.append(f"  note: line {warning.line}, {warning.column}: {warning.message}")
    return "\n".join(lines)
