"""``assistant eval``: score matching on labelled cases, several configurations side by side."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from assistant.config import Settings, get_settings
from assistant.evaluation.cases import SPLITS, CaseFileError, EvalCase, load_cases
from assistant.evaluation.runner import KNOWN_CONFIGS, TOP_K, UnknownConfig, choose_configs


def eval_command(
    cases: Annotated[Path, typer.Option("--cases", help="评估用例文件（JSON Lines）")],
    out: Annotated[Path, typer.Option("--out", help="输出目录：results.jsonl、metrics.json、report.md 和图")],
    config: Annotated[
        list[str] | None,
        typer.Option(
            "--config",
            help=f"要比较的配置，可重复：{' / '.join(KNOWN_CONFIGS)}；默认全部（有重排模型时含 hybrid+rerank）",
        ),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="dev | test | all")] = "all",
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=20, help="每个需求取前几个资源")] = TOP_K,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="在临时库中载入种子目录后评估（与当前库无关，结果可复现）")
    ] = False,
) -> None:
    """在标注用例上评估匹配质量，多种配置并列比较，输出结果、指标、报告与图。"""
    if split not in (*SPLITS, "all"):
        _fail(f"--split 应为 dev、test 或 all，收到 {split}", 2)
    try:
        loaded = load_cases(cases, split)
    except CaseFileError as exc:
        _fail(str(exc), 1)
    if not loaded:
        _fail(f"{cases} 中没有 {split} 部分的用例", 1)
    settings = get_settings()
    try:
        configs, skipped = choose_configs(config or [], settings.reranker_model)
    except UnknownConfig as exc:
        _fail(str(exc), 2)
    for name, reason in skipped.items():
        typer.echo(f"{name}：{reason}", err=True)
    if not configs:
        _fail("没有可运行的配置", 2)
    if fresh:
        with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
            _evaluate(
                _fresh_settings(settings, Path(tmp)), loaded, configs, skipped, cases, out, split, top_k
            )
    else:
        _evaluate(settings, loaded, configs, skipped, cases, out, split, top_k)


def _fresh_settings(settings: Settings, data_dir: Path) -> Settings:
    return settings.model_copy(update={"data_dir": data_dir, "database_url": "", "chroma_url": ""})


def _evaluate(
    settings: Settings,
    loaded: list[EvalCase],
    configs: list[str],
    skipped: dict[str, str],
    cases_file: Path,
    out: Path,
    split: str,
    top_k: int,
) -> None:
    from tqdm import tqdm

    from assistant.app.container import Container
    from assistant.evaluation.runner import build_info, catalog_snapshot, run_eval, write_outputs

    # No embedding cache: configurations share need queries, so a cache would make whichever runs second
    # look faster, and a caseworker's new assessment is never cached either.
    container = Container(settings.model_copy(update={"embedding_cache_entries": 0}))
    try:
        loaded_seed = container.seed_if_empty()
        if loaded_seed:
            typer.echo(f"已载入种子目录：{loaded_seed} 条资源", err=True)
        typer.echo("加载嵌入模型并同步索引……", err=True)
        matcher = container.matcher
        resources = catalog_snapshot(container.catalog)
        info = build_info(settings, cases_file, split)
        try:
            with tqdm(total=len(loaded) * len(configs), desc="评估", unit="次", file=sys.stderr) as bar:
                run = run_eval(
                    matcher,
                    resources,
                    loaded,
                    configs,
                    top_k=top_k,
                    skipped=skipped,
                    info=info,
                    on_step=lambda _case, _config: bar.update(),
                )
        except RuntimeError as exc:  # a case the matcher could not handle: name it, no traceback
            _fail(str(exc), 1)
        written = write_outputs(run, out)
    finally:
        container.close()
    _print_summary(out, written)


def _print_summary(out: Path, written: dict[str, Path]) -> None:
    import json

    metrics = json.loads(written["metrics.json"].read_text(encoding="utf-8"))
    split = metrics["bootstrap"]["split"]
    typer.echo(f"{split} 部分（{metrics['cases'][split]} 个用例）：")
    for name in metrics["configs"]:
        s = metrics["metrics"][name][split]
        typer.echo(
            f"  {name:<18} recall@1 {s['recall@1']:.3f}  recall@5 {s['recall@5']:.3f}  "
            f"排除误报 {_pct(s['absent_fp_rate'])}  资格违规 {s['eligibility_violations']}  "
            f"p50 {s['latency_p50_ms']:.0f} ms"
        )
    typer.echo(f"已写入 {out}：{'、'.join(sorted(written))}")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)
