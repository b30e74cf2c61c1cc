"""The registry's commands: the region tree and households brought into monitoring from elsewhere."""

from pathlib import Path
from typing import Any

import click

from app.cli.common import handle_errors, load_settings
from app.models.enums import MonitoringCategory


@click.group()
def regions() -> None:
    """The region tree."""


@regions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@handle_errors
def regions_import(file: Path) -> None:
    """Load or update a county's tree from a CSV (code,name,level,parent_code[,code_source])."""
    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.registry import regions as region_service

    settings = load_settings()
    with session_scope() as session:
        created, updated = region_service.import_file(session, settings, Actor.system("regions-import"), file)
    click.echo(f"regions: {created} created, {updated} updated")


@click.group()
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
@handle_errors
def households_import_monitored(
    household_no: str, category: str, risk_types: tuple[str, ...], identified_on: Any, note: str
) -> None:
    """Bring a household already monitored elsewhere into monitoring, audited (not a case decision)."""
    from app.db import session_scope
    from app.services.platform.access import Actor
    from app.services.registry import monitored_import

    settings = load_settings()
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
