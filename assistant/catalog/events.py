"""The change hook: the catalog publishes what changed after each commit; the index subscribes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogChange:
    """Resource ids whose stored content changed (``upserted``) or that were removed from the store."""

    upserted: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reason: str = ""


Listener = Callable[[CatalogChange], None]


@dataclass
class ChangeHub:
    listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def publish(self, change: CatalogChange) -> None:
        # A failing listener must not undo a committed change; the index can be mended by `index check`.
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception:
                log.exception("catalog change listener failed for %s", change)
