"""Chat messages bound to a case, and the map from OpenAI-style conversations to cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assistant.db.base import Base, utcnow


class ChatMessage(Base):
    """One turn of a conversation about a case (the caseworker's question or the assistant's answer)."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key: the cases tables live on another migration branch; the service checks the case exists.
    case_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    role: Mapped[str] = mapped_column(String(12))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(20), default="workbench")  # workbench | openai
    # What the answer was about: intent, category, cited and proposed resource ids, mode (offline | llm).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChatConversation(Base):
    """An OpenAI-style conversation (keyed by user and first message) continued as one case."""

    __tablename__ = "chat_conversations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
