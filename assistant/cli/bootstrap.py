"""First start: migrate the store, load the seed catalog, build the index — with a progress bar."""

from __future__ import annotations

import typer
from tqdm import tqdm

from assistant.app.container import Container
from assistant.config import Settings
from assistant.matching.engine import build_matching


class ProgressBar:
    """A tqdm bar fed by ``(done, total)`` callbacks."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: tqdm | None = None  # type: ignore[type-arg]

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.description, unit="条")
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def bootstrap(settings: Settings) -> None:
    container = Container(settings)
    try:
        loaded = container.seed_if_empty()
        if loaded:
            typer.echo(f"已载入种子目录：{loaded} 条资源", err=True)
        if not container.has_users():
            from assistant.auth.service import create_user

            with container.db.session() as session:
                _, token = create_user(
                    session, name="admin", role="admin", county="420200", actor="bootstrap"
                )
            typer.echo(
                "首次启动：已创建管理员 admin。令牌只显示这一次，请妥善保存（登录工作台用）：", err=True
            )
            typer.echo(f"    {token}", err=True)
            typer.echo(
                "其他账号：assistant users create --name 姓名 --role caseworker --county 420222", err=True
            )
        bar = ProgressBar("建立检索索引")
        engine = build_matching(settings, container.db, container.catalog, progress=bar)
        bar.close()
        engine.close()
    finally:
        container.close()
