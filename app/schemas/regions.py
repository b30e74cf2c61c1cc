from app.models.enums import RegionLevel
from app.schemas.common import ReadModel


class RegionRead(ReadModel):
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    code_source: str
    illustrative: bool
