from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.models.base import Base, utcnow


class ImportJob(Base):
    """A file of a district's records sent through the API, checked (and written) by the worker: an import
    of 100,000 rows takes minutes, not a request. The file is kept encrypted for the workbook of rows to
    fix, and dropped once the job is older than the retention."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="households")
    # queued | running | done | failed
    status: Mapped[str] = mapped_column(String(8), default="queued", index=True)
    dry_run: Mapped[bool]
    skip_invalid: Mapped[bool]
    file_name: Mapped[str] = mapped_column(String(200))
    file_size: Mapped[int]
    content_encrypted: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    mapping_text: Mapped[str | None] = mapped_column(Text)  # null: the shipped mapping
    note: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]  # a worker that dies mid-run stops renewing: the job is run again
    phase: Mapped[str | None] = mapped_column(String(8))  # check | write
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None]  # known after the check pass
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
