"""The region tree: import from CSV (code,name,level,parent_code,code_source), list, look up."""

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import AppError, Invalid, NotFound
from app.models import Region
from app.models.enums import RegionLevel
from app.schemas.common import PageParams
from app.services.platform import access, audit, paging
from app.services.platform.access import Actor

REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
PARENT_LEVEL = {
    RegionLevel.county: None,
    RegionLevel.township: RegionLevel.county,
    RegionLevel.village: RegionLevel.township,
}
_CODE = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    code_source: str
    illustrative: bool


def shipped_hongta_csv() -> str:
    return resources.files("app").joinpath("data/hongta_regions.csv").read_text(encoding="utf-8")


def parse_csv(text: str) -> list[RegionRow]:
    """Parse and check a region CSV; every problem is reported with its line number."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise Invalid(f"the CSV lacks the column(s) {', '.join(missing)}", field="header")
    rows: list[RegionRow] = []
    errors: list[AppError] = []
    for line, raw in enumerate(reader, start=2):
        code = (raw.get("code") or "").strip()
        parent = (raw.get("parent_code") or "").strip() or None
        level_text = (raw.get("level") or "").strip()
        name = (raw.get("name") or "").strip()
        source = (raw.get("code_source") or "").strip()
        if not _CODE.match(code):
            errors.append(Invalid(f"line {line}: code must be 12 digits", field=f"line {line}.code"))
            continue
        if level_text not in RegionLevel.__members__:
            errors.append(
                Invalid(f"line {line}: level must be county, township or village", field=f"line {line}.level")
            )
            continue
        if not name:
            errors.append(Invalid(f"line {line}: name is empty", field=f"line {line}.name"))
            continue
        illustrative = (raw.get("illustrative") or "").strip().lower() in {"1", "true", "yes"} or (
            "illustrative" in source.lower()
        )
        rows.append(RegionRow(code, name[:64], RegionLevel(level_text), parent, source[:200], illustrative))
    if errors:
        raise Invalid(f"{len(errors)} line(s) of the CSV are invalid", field=errors[0].field, errors=errors)
    return rows


def import_rows(session: Session, settings: Settings, actor: Actor, rows: list[RegionRow]) -> tuple[int, int]:
    """Insert new regions and update changed names; parents must exist at the right level."""
    existing = {r.code: r for r in session.scalars(select(Region)).all()}
    levels = {code: r.level for code, r in existing.items()} | {r.code: r.level for r in rows}
    errors: list[AppError] = []
    for row in rows:
        expected = PARENT_LEVEL[row.level]
        if expected is None:
            if row.parent_code is not None and row.parent_code not in levels:
                errors.append(Invalid(f"{row.code}: parent {row.parent_code} is unknown", field=row.code))
            continue
        if row.parent_code is None or levels.get(row.parent_code) != expected:
            errors.append(
                Invalid(f"{row.code}: a {row.level.value} needs a {expected.value} parent", field=row.code)
            )
    if errors:
        raise Invalid("the region tree is inconsistent", field=errors[0].field, errors=errors)
    created = updated = 0
    order = {RegionLevel.county: 0, RegionLevel.township: 1, RegionLevel.village: 2}
    for row in sorted(rows, key=lambda r: order[r.level]):
        region = existing.get(row.code)
        if region is None:
            session.add(
                Region(
                    code=row.code,
                    name=row.name,
                    level=row.level,
                    parent_code=row.parent_code,
                    code_source=row.code_source,
                    illustrative=row.illustrative,
                )
            )
            created += 1
        elif (region.name, region.parent_code, region.code_source, region.illustrative) != (
            row.name,
            row.parent_code,
            row.code_source,
            row.illustrative,
        ):
            region.name, region.parent_code = row.name, row.parent_code
            region.code_source, region.illustrative = row.code_source, row.illustrative
            updated += 1
        session.flush()
    audit.record(
        session,
        settings,
        actor,
        [
            audit.Change(
                "regions.import",
                "region",
                None,
                None,
                {"created": created, "updated": updated, "rows": len(rows)},
            )
        ],
    )
    return created, updated


def import_file(session: Session, settings: Settings, actor: Actor, path: Path) -> tuple[int, int]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"cannot read {path}: {exc}", field="file") from exc
    return import_rows(session, settings, actor, parse_csv(text))


def get(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"region {code} does not exist", field="region_code")
    return region


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Region)) or 0


def list_visible(
    session: Session, actor: Actor, level: RegionLevel | None, parent_code: str | None, page: PageParams
) -> tuple[list[Region], int]:
    """The actor's region and everything below it."""
    stmt = select(Region).where(Region.code.in_(access.regions_within(actor)))
    if level is not None:
        stmt = stmt.where(Region.level == level)
    if parent_code is not None:
        stmt = stmt.where(Region.parent_code == parent_code)
    return paging.page_of(session, stmt, page, Region.code)
