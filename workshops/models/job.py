from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class JobKind(enum.StrEnum):
    """What a job does; each kind's service declares the Celery task that carries it out."""

    IMPORT = "import"  # nominations (services.nominations)
    MEETING_IMPORT = "meeting_import"  # online attendance from a meeting report
    ANNOUNCEMENT = "announcement"  # a coordinator's message to participants
    CERTIFICATES = "certificates"  # a workshop's certificate batch
    BADGES = "badges"  # a large workshop's name badges (services.badges)
    EXPORT = "export"  # a download too large to make inside the request (services.downloads)


class JobStatus(enum.StrEnum):
    PREVIEW = "preview"  # waiting for a coordinator's confirmation
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """Bulk work done off the request (imports, mass emails, certificate batches), with progress."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in JobStatus) + ")", name="status_known"
        ),
        CheckConstraint("done >= 0 AND done <= total", name="progress_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.QUEUED)
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Touched whenever the job moves; a queued or running job left still longer than the
    # lease lost its worker (killed, or its task never reached the broker) and is handed out again.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The run that holds the job (services.jobs.claim), so a second copy of its task stops.
    runner: Mapped[str | None] = mapped_column(String(32))

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


class JobFile(Base):
    """A file a job produced (a merged PDF of certificates), kept in the database so every
    app server can serve it."""

    __tablename__ = "job_file"
    # A chunk's file marks the chunk done: two runs of the same chunk cannot both finish it.
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
