"""First start: migrate the store, load the seed catalog with a progress bar, build the index."""

from __future__ import annotations

import typer

from assistant.app.container import Container
from assistant.config import Settings


def bootstrap(settings: Settings) -> None:
    container = Container(settings)
    try:
        loaded = container.seed_if_empty()
        if loaded:
            typer.echo(f"已载入种子目录：{loaded} 条资源", err=True)
    finally:
        container.close()
