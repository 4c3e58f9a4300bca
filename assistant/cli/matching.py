"""``assistant match`` and ``assistant index rebuild|check``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from assistant.app.container import Container
from assistant.cli.bootstrap import ProgressBar
from assistant.config import get_settings
from assistant.matching.engine import CONFIGS
from assistant.matching.types import MatchRequest, MatchResult
from assistant.taxonomy import get_taxonomy

index_app = typer.Typer(help="检索索引：重建与校验", no_args_is_help=True)


def _request(text: str, county: str, group: list[str] | None, age: int | None) -> MatchRequest:
    taxonomy = get_taxonomy()
    if county not in taxonomy.areas:
        resolved = taxonomy.resolve("area", county)
        if resolved is None:
            typer.echo(
                f"未知区县：{county}（可用：{'、'.join(f'{a.code} {a.label}' for a in taxonomy.areas.values())}）",
                err=True,
            )
            raise typer.Exit(2)
        county = resolved
    groups = []
    for g in group or []:
        code = taxonomy.resolve("group", g)
        if code is None:
            typer.echo(f"未知对象类别：{g}（可用：{'、'.join(taxonomy.groups)}）", err=True)
            raise typer.Exit(2)
        groups.append(code)
    return MatchRequest(text=text, county=county, groups=groups, age=age)


def print_result(result: MatchResult) -> None:
    taxonomy = get_taxonomy()
    for i, item in enumerate(result.needs, 1):
        who = "" if item.need.person.relation == "申请人" else f"（{item.need.person.relation}）"
        typer.echo(f"\n需求{i}：{taxonomy.category_label(item.need.category)}{who} ——“{item.need.text}”")
        for m in item.matches:
            typer.echo(f"  · [{m.resource_id}] {m.name}  得分 {m.score:.2f}")
            typer.echo(f"      {'；'.join(m.reasons[1:])}")
    for u in result.unmet:
        typer.echo(f"\n未满足：{taxonomy.category_label(u.category)} ——“{u.text}”：{u.reason}")


def match_command(
    text: Annotated[str, typer.Option(help="需求评估文本")],
    county: Annotated[str, typer.Option(help="区县代码或名称，如 420222 / 阳新县")],
    group: Annotated[list[str] | None, typer.Option(help="对象类别（可多次）")] = None,
    age: Annotated[int | None, typer.Option(help="年龄")] = None,
    config: Annotated[str, typer.Option(help="/".join(CONFIGS))] = "hybrid",
    top_k: Annotated[int, typer.Option(help="每项需求返回的资源数")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """识别需求并匹配符合资格的本地资源。"""
    request = _request(text, county, group, age).model_copy(update={"top_k": top_k})
    container = Container(get_settings())
    container.seed_if_empty()
    try:
        result = container.matcher.match(request, config=config)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print_result(result)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """从资源库重建向量与 BM25 索引。"""
    container = Container(get_settings())
    container.seed_if_empty()
    bar = ProgressBar("重建索引")
    count = container.matcher.rebuild_index(bar)
    bar.close()
    typer.echo(f"索引已重建：{count} 条资源（嵌入模型 {container.matcher.embedder.identity}）")


@index_app.command("check")
def index_check() -> None:
    """报告资源库与索引之间的差异；有差异时退出码为 1。"""
    from assistant.matching.embedders import build_embedder
    from assistant.matching.engine import MatchingEngine

    settings = get_settings()
    container = Container(settings)
    engine = MatchingEngine(
        settings,
        container.db,
        container.catalog,
        build_embedder(settings.embedding_model),
        get_taxonomy(settings.catalog_dir / "taxonomy.yaml"),
    )
    report = engine.check_index()
    typer.echo(f"嵌入模型：{report.embedder}；资源库 {report.store_count} 条，索引 {report.index_count} 条")
    if report.mismatch:
        typer.echo(report.mismatch)
    for label, ids in (
        ("索引缺少", report.missing),
        ("索引多余", report.extra),
        ("文本已变、需重新嵌入", report.stale_text),
        ("资格信息过期", report.stale_metadata),
    ):
        if ids:
            typer.echo(f"{label}：{len(ids)} 条（{'、'.join(ids[:10])}{' …' if len(ids) > 10 else ''}）")
    if report.ok:
        typer.echo("索引与资源库一致")
        return
    typer.echo("修复：运行 assistant index rebuild（全部重建），或启动服务时自动增量同步", err=True)
    raise typer.Exit(1)
