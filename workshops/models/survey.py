from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .i18n import Bilingual, current_language

if TYPE_CHECKING:  # only for the relationships' types; the mapper resolves them by name
    from .workshop import Workshop

QUESTION_KINDS = ("rating", "nps", "single", "multiple", "short_text", "long_text")
# What each kind is called on the question form and in the downloads.
QUESTION_KIND_LABELS = {
    "rating": _l("Rating 1–5"),
    "nps": _l("Likelihood to recommend 0–10"),
    "single": _l("Single choice"),
    "multiple": _l("Multiple choice"),
    "short_text": _l("Short text"),
    "long_text": _l("Long text"),
}


class Survey(Bilingual, Base):
    """The post-event survey of one workshop."""

    __tablename__ = "survey"
    __table_args__ = (CheckConstraint("reminder_after_days >= 0", name="reminder_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshop.id", ondelete="CASCADE"), unique=True)
    intro_en: Mapped[str] = mapped_column(Text, default="")
    intro_zh: Mapped[str] = mapped_column(Text, default="")
    # Anonymous: answers carry no link to the person (one answer each, not editable).
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # default: when the workshop ends
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Days from each person's own invitation to their reminder (0: no reminder).
    reminder_after_days: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    workshop: Mapped[Workshop] = relationship()  # noqa: F821
    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="Question.position"
    )

    @property
    def intro(self) -> str:
        return self.localized("intro")


class Question(Bilingual, Base):
    __tablename__ = "question"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('rating', 'nps', 'single', 'multiple', 'short_text', 'long_text')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Template questions share a key, so workshops of a programme compare on the same question.
    key: Mapped[str] = mapped_column(String(40), default="")
    section_en: Mapped[str] = mapped_column(String(200), default="")
    section_zh: Mapped[str] = mapped_column(String(200), default="")
    text_en: Mapped[str] = mapped_column(String(500), default="")
    text_zh: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(12))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    # Choices of single/multiple questions: [{"en": ..., "zh": ...}].
    options: Mapped[list] = mapped_column(JSON, default=list)
    low_label_en: Mapped[str] = mapped_column(String(100), default="")
    low_label_zh: Mapped[str] = mapped_column(String(100), default="")
    high_label_en: Mapped[str] = mapped_column(String(100), default="")
    high_label_zh: Mapped[str] = mapped_column(String(100), default="")

    survey: Mapped[Survey] = relationship(back_populates="questions")

    @property
    def text(self) -> str:
        return self.localized("text")

    @property
    def section(self) -> str:
        return self.localized("section")

    def option_labels(self, language: str | None = None) -> list[str]:
        language = language or current_language()
        other = "en" if language == "zh" else "zh"
        return [o.get(language) or o.get(other) or "" for o in self.options]

    @property
    def scale(self) -> list[int]:
        return (
            list(range(1, 6)) if self.kind == "rating" else list(range(0, 11)) if self.kind == "nps" else []
        )


class Response(Base):
    """One person's answers. For anonymous surveys ``registration_id`` is empty."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("survey_id", "registration_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id", ondelete="SET NULL"))
    # Copied at answer time so summaries filter without joining people (and anonymous ones can too).
    mode: Mapped[str] = mapped_column(String(10), default="")
    organisation_type: Mapped[str] = mapped_column(String(12), default="")
    gender: Mapped[str] = mapped_column(String(12), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")


class Answer(Base):
    """A number (rating, NPS, the index of a chosen option) or a text. Multiple choice: one row per option."""

    __tablename__ = "answer"
    __table_args__ = (Index("ix_answer_question_number", "question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    number: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")

    response: Mapped[Response] = relationship(back_populates="answers")


class SurveyParticipation(Base):
    """Who has answered an anonymous survey (so each answers once), kept apart from the answers."""

    __tablename__ = "survey_participation"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), primary_key=True
    )


class SurveyInvitation(Base):
    """One person asked to answer a survey: invited once, reminded at most once.

    Kept per person, not per survey, because attendance keeps arriving after the first
    invitations (a meeting report imported the next morning, an offline phone's late sync):
    whoever has no row yet is invited at the next sweep. The primary key is what stops two
    sweeps from inviting anyone twice.
    """

    __tablename__ = "survey_invitation"

    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True)
    # Indexed for the response rate, which asks per person whether they were invited.
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
