from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assistant.db.base import Base, utcnow


class UnmetNeedRecord(Base):
    """A need that found no eligible resource good enough; the raw material of gap reports (资源缺口)."""

    __tablename__ = "unmet_needs"
    __table_args__ = (Index("ix_unmet_needs_area_category", "county", "category", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    county: Mapped[str] = mapped_column(String(6))
    category: Mapped[str] = mapped_column(String(40))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    need_text: Mapped[str] = mapped_column(Text, default="")  # redacted
    person_relation: Mapped[str] = mapped_column(String(40), default="申请人")
    source: Mapped[str] = mapped_column(String(20), default="match")
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
