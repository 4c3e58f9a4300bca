"""``assistant plan``: needs, matches and a drafted service plan for one assessment."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from assistant.app.container import Container
from assistant.cli.matching import _request as build_request
from assistant.config import get_settings


def plan_command(
    text: Annotated[str, typer.Option(help="需求评估文本")],
    county: Annotated[str, typer.Option(help="区县代码或名称，如 420222 / 阳新县")],
    group: Annotated[list[str] | None, typer.Option(help="对象类别（可多次）")] = None,
    age: Annotated[int | None, typer.Option(help="年龄")] = None,
    name: Annotated[list[str] | None, typer.Option(help="需脱敏的姓名（可多次），不会发送给大模型")] = None,
    config: Annotated[str, typer.Option(help="匹配配置")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """识别需求、匹配资源并起草服务方案（未配置大模型时由离线规则生成）。"""
    from assistant.planning.render import plan_to_text

    request = build_request(text, county, group, age)
    container = Container(get_settings())
    try:
        container.seed_if_empty()
        try:
            result = container.matcher.match(request, config=config)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        planner = container.planner
        plan = planner.draft(request, result, names=name or [])
        if as_json:
            payload = {**result.to_json(), "plan": plan.model_dump()}
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        else:
            typer.echo(plan_to_text(plan, planner.taxonomy, result))
    finally:
        container.close()
