"""Chat shapes: workbench messages, and the OpenAI chat-completions subset front-ends send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MessageIn(BaseModel):
    content: str = Field(min_length=1, max_length=4_000, description="社工的问题或指令")


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: str
    created_at: datetime
    role: str = Field(description="user | assistant")
    content: str
    actor: str
    source: str = Field(description="workbench | openai")
    meta: dict[str, Any] = Field(
        default_factory=dict, description="意图、引用的资源编号、回答方式（offline / llm）"
    )


class ExchangeOut(BaseModel):
    """One question and its answer; ``plan_changed`` tells the page to reload the plan."""

    question: MessageOut
    answer: MessageOut
    plan_changed: bool


# -- OpenAI-compatible ---------------------------------------------------------------------------------


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(
            str(p.get("text", "")) for p in self.content or [] if p.get("type") in ("text", "input_text")
        )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The fields we use; everything else a client sends (temperature, top_p …) is accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = "huangshi-assistant"
    messages: list[OAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None
