"""Refusals the case use cases give again and again, worded once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from assistant.errors import Conflict, Invalid


def stale(what: str) -> Conflict:
    """Someone else changed the record first (a lost race, or an optimistic-lock failure)."""
    return Conflict(f"{what}刚被他人修改，请刷新后重试")


def unknown(what: str, value: str, options: Iterable[str], **extra: Any) -> Invalid:
    """A code that is not one of ``options``; the message lists them."""
    return Invalid(f"未知的{what} {value!r}，可选：{'、'.join(options)}", extra=extra or None)
