from datetime import datetime
from typing import Any

from app.schemas.common import ReadModel


class AuditEntryRead(ReadModel):
    seq: int
    occurred_at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    changes: dict[str, Any]
    request_id: str | None
