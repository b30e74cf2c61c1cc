"""Entry points of processes this service spawns (a new interpreter each). Like a command or a worker
job, such an entry point opens its process's engine (one per process), passes its sessions to the
service, which never opens its own, and closes the engine when the work is done."""

from typing import TYPE_CHECKING

from app.config import Settings
from app.db import engine_for, sessions_for
from app.services.platform.access import Actor

if TYPE_CHECKING:
    from app.services.lists.risk_list_sheets import Written
    from app.services.lists.risk_lists import Filters

# the other process reads one list through one cursor: it needs no pool to speak of
POOL_SIZE = 2


def township_rows(
    settings: Settings, list_id: int, actor: Actor, filters: "Filters", codes: tuple[str, ...], folder: str
) -> list["Written"]:
    """A workbook's other process (app/services/lists/risk_list_sheets.py): its townships' rows."""
    from app.services.lists import risk_list_sheets

    engine = engine_for(settings.database_url, POOL_SIZE)
    try:
        sessions = sessions_for(engine)
        return risk_list_sheets.write_rows(sessions, settings, list_id, actor, filters, codes, folder)
    finally:
        engine.dispose()
