"""`shouwang export`: the public notice (公示) of a village, the county's decisions for the national
system and the monthly tables, written to a file."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from app.cli.common import handle_errors, load_settings

OUT = click.Path(dir_okay=False, writable=True, path_type=Path)


@click.group("export")
def export_group() -> None:
    """Paper and tables for the village's board and the levels above."""


@export_group.command("notice")
@click.argument("village_code")
@click.option("--starts-on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="default: today")
@click.option("--out", type=OUT, required=True, help="the PDF to write")
@handle_errors
def export_notice(village_code: str, starts_on: datetime | None, out: Path) -> None:
    """The public notice of VILLAGE_CODE's households at the notice step (A4 PDF)."""
    from app.db import read_only_session
    from app.services.exports import notices
    from app.services.platform.access import Actor

    with read_only_session() as session:
        notice = notices.gather(
            session, Actor.system("export", _county()), village_code, starts_on.date() if starts_on else None
        )
        out.write_bytes(notices.render(notice))
    click.echo(f"{out}: {len(notice.lines)} households, {notice.starts_on} to {notice.ends_on}")


@export_group.command("decisions")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--out", type=OUT, required=True, help="the XLSX to write (the national layout)")
@handle_errors
def export_decisions(start: datetime, end: datetime, out: Path) -> None:
    """The county's decisions of a period (identified, eliminated) in the shipped mapping's layout."""
    from app.db import get_sessionmaker, read_only_session
    from app.models.enums import RegionLevel, Role
    from app.services.exports import decisions
    from app.services.platform.access import Actor

    settings = load_settings()
    # the office's own export, as a district officer would download it (names and ID numbers)
    actor = Actor(None, "system:export", Role.district_officer, _county(), RegionLevel.county)
    with _partial(out) as partial, read_only_session() as session, partial.open("wb") as stream:
        count = decisions.write(
            session, get_sessionmaker(), settings, actor, start.date(), end.date(), stream
        )
    click.echo(f"{out}: {count} households")


@export_group.command("monthly")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--out", type=OUT, required=True, help="the XLSX to write")
@handle_errors
def export_monthly(month: str, out: Path) -> None:
    """The month's tables for the city and province, by township."""
    from app.db import get_sessionmaker, read_only_session
    from app.services.exports import monthly
    from app.services.platform.access import Actor

    settings = load_settings()
    actor = Actor.system("export", _county())
    with _partial(out) as partial, read_only_session() as session, partial.open("wb") as stream:
        monthly.write(session, get_sessionmaker(), settings, actor, month, stream, settings.timezone)
    click.echo(f"{out}: the tables of {month}")


@contextmanager
def _partial(out: Path) -> Iterator[Path]:
    """Where the file is written until it is whole and its export recorded: names and ID numbers are never
    left behind in a half-written or unaudited file."""
    partial = out.with_name(out.name + ".partial")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)


def _county() -> str:
    """The county the database holds: command-line work acts across it."""
    from sqlalchemy import select

    from app.db import read_only_session
    from app.models import Region
    from app.models.enums import RegionLevel

    with read_only_session() as session:
        code = session.scalar(select(Region.code).where(Region.level == RegionLevel.county).limit(1))
    return code or ""
