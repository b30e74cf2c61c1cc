"""The demo's regions: Hongta's tree as shipped, illustrative villages for every township that has none,
and the demo township and village the demo accounts and staged cases belong to."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import Region
from app.models.enums import RegionLevel
from app.services.platform import audit
from app.services.platform.access import Actor
from app.services.registry import regions

COUNTY = "530402000000"
DEMO_TOWNSHIP = "530402202000"
DEMO_VILLAGE = "530402202201"
ILLUSTRATIVE_VILLAGES_PER_TOWNSHIP = 3


def ensure_regions(session: Session, settings: Settings) -> None:
    """Load Hongta's tree if no region exists, then give every village-less township illustrative villages."""
    actor = Actor.system("demo")
    audit.lock_chain(session)  # two demo starts at once would both add the same villages
    if regions.count(session) == 0:
        regions.import_rows(session, settings, actor, regions.parse_csv(regions.shipped_hongta_csv()))
    townships = session.scalars(select(Region).where(Region.level == RegionLevel.township)).all()
    with_villages = set(
        session.scalars(
            select(Region.parent_code).where(Region.level == RegionLevel.village).distinct()
        ).all()
    )
    rows = []
    for township in townships:
        if township.code in with_villages:
            continue
        for i in range(1, ILLUSTRATIVE_VILLAGES_PER_TOWNSHIP + 1):
            rows.append(
                regions.RegionRow(
                    code=township.code[:9] + f"{200 + i:03d}",
                    name=f"{township.name[:2]}示例{i}村",
                    level=RegionLevel.village,
                    parent_code=township.code,
                    code_source="illustrative (demo data, not an official village)",
                    illustrative=True,
                )
            )
    if rows:
        regions.import_rows(session, settings, actor, rows)
