"""``assistant`` console script: serve, catalog, index, match, plan, eval, users."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.app.container import Container
from assistant.catalog.io import (
    FORMATS,
    CatalogFileError,
    ParsedRow,
    detect_format,
    export_bytes,
    format_errors,
    parse_bytes,
    validate_rows,
)
from assistant.catalog.schemas import ResourceData, RowError
from assistant.cli.eval import eval_command
from assistant.cli.matching import index_app, match_command
from assistant.cli.plan import plan_command
from assistant.config import get_settings

app = typer.Typer(help="黄石市服务类社会救助匹配助手", no_args_is_help=True, pretty_exceptions_enable=False)
catalog_app = typer.Typer(help="资源目录：校验、导入、导出", no_args_is_help=True)
users_app = typer.Typer(help="用户与令牌", no_args_is_help=True)


@app.callback()
def _startup() -> None:
    """Every command: log records are redacted before they are written anywhere."""
    from assistant.privacy.log_redaction import install_log_redaction

    install_log_redaction()


app.add_typer(catalog_app, name="catalog")
app.add_typer(users_app, name="users")
app.add_typer(index_app, name="index")
app.command("match")(match_command)
app.command("eval")(eval_command)
app.command("plan")(plan_command)


def fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def container() -> Container:
    return Container(get_settings())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    workers: Annotated[int, typer.Option(help="进程数（多进程需 Chroma 服务器：ASSISTANT_CHROMA_URL）")] = 1,
) -> None:
    """启动 API 与网页工作台；首次启动且库为空时载入种子目录并建立索引。"""
    import uvicorn

    from assistant.cli.bootstrap import bootstrap

    settings = get_settings()
    if workers > 1 and not settings.chroma_url:
        fail("多进程运行需要 Chroma 服务器：请设置 ASSISTANT_CHROMA_URL（嵌入式 Chroma 只允许一个进程）")
    bootstrap(settings)
    typer.echo(f"工作台：http://{host}:{port}/    API 文档：http://{host}:{port}/docs")
    uvicorn.run("assistant.app.asgi:app", host=host, port=port, workers=workers)


def _read_catalog_file(
    path: Path, fmt: str | None
) -> tuple[list[ParsedRow], list[ResourceData], list[RowError]]:
    if not path.exists():
        fail(f"文件不存在：{path}", 2)
    try:
        rows = parse_bytes(path.read_bytes(), detect_format(path, fmt))
    except CatalogFileError as exc:
        fail(f"{path}：{exc}", 2)
        raise
    valid, errors = validate_rows(rows)
    return rows, valid, errors


@catalog_app.command("validate")
def catalog_validate(
    file: Path, format: Annotated[str | None, typer.Option(help="/".join(FORMATS))] = None
) -> None:
    """校验资源文件，逐行逐字段报告错误（不写入）。"""
    rows, valid, errors = _read_catalog_file(file, format)
    if errors:
        typer.echo(format_errors(errors), err=True)
        fail(f"{file}：{len({e.row for e in errors})} 行有错误（共 {len(rows)} 行）")
    typer.echo(f"{file}：{len(valid)} 条资源全部通过校验")


@catalog_app.command("import")
def catalog_import(
    file: Path, format: Annotated[str | None, typer.Option(help="/".join(FORMATS))] = None
) -> None:
    """导入资源文件（YAML/JSON/CSV/XLSX）：全部成功或全部不写入。"""
    rows, valid, errors = _read_catalog_file(file, format)
    if errors:
        typer.echo(format_errors(errors), err=True)
        fail(f"{file}：{len({e.row for e in errors})} 行有错误，未导入任何数据")
    c = container()
    report = c.catalog.import_resources(valid, None, "import", None, [r.row for r in rows])
    if not report.ok:
        typer.echo(format_errors(report.errors), err=True)
        fail("导入被拒绝，未写入任何数据")
    typer.echo(
        f"导入完成：新增 {len(report.created)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}"
    )


@catalog_app.command("export")
def catalog_export(
    format: Annotated[str, typer.Option(help="/".join(FORMATS))] = "json",
    out: Annotated[Path | None, typer.Option(help="输出文件（默认标准输出；xlsx 必须指定）")] = None,
) -> None:
    """导出资源目录。"""
    if format not in FORMATS:
        fail(f"不支持的格式 {format}：可选 {' / '.join(FORMATS)}", 2)
    c = container()
    c.seed_if_empty()
    content = export_bytes(c.catalog.all(), format)
    if out is None:
        if format == "xlsx":
            fail("xlsx 为二进制格式，请用 --out 指定输出文件", 2)
        sys.stdout.write(content.decode("utf-8-sig"))
        return
    out.write_bytes(content)
    typer.echo(f"已导出到 {out}", err=True)


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Option(help="用户名")],
    role: Annotated[str, typer.Option(help="caseworker | resource_manager | admin")],
    county: Annotated[str, typer.Option(help="辖区代码，420200 为全市")] = "420200",
) -> None:
    """新建用户并打印一次性令牌（库中只保存其哈希）。"""
    from assistant.auth.service import AuthError, create_user

    c = container()
    try:
        with c.db.session() as session:
            user, token = create_user(session, name=name, role=role, county=county, actor="cli")
            user_id = user.id
    except AuthError as exc:
        fail(str(exc), 2)
        return
    typer.echo(
        json.dumps({"id": user_id, "name": name, "role": role, "county": county}, ensure_ascii=False),
        err=True,
    )
    typer.echo("令牌只显示这一次，请妥善保存：", err=True)
    typer.echo(token)
