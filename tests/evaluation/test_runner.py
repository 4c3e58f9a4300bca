"""The runner on a fake matcher: every output written, contract shapes, privacy, configurations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.evaluation.cases import load_cases
from assistant.evaluation.runner import UnknownConfig, choose_configs, run_eval, write_outputs
from assistant.matching.types import MatchRequest, MatchResult, Person
from tests.evaluation.conftest import case_line, match, need, result, write_cases

PHONE = "13912345678"

RESOURCES: dict[str, dict[str, Any]] = {
    "meal-yx": {"county": "420222"},
    "escort-yx": {"county": "420222"},
    "meal-dy": {"county": "420281"},  # another county: ineligible for 阳新 cases
}


class FakeMatcher:
    """hybrid finds both needs; the whole-text baseline returns the first resources regardless of county."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool]] = []

    def match(
        self, request: MatchRequest, *, config: str = "hybrid", record_unmet: bool = True
    ) -> MatchResult:
        self.calls.append((request.text[:6], config, record_unmet))
        if config == "dense-whole-text":
            return result(
                need(
                    "",
                    match("meal-dy", "meal_assistance"),
                    match("escort-yx", "medical_escort"),
                    text=request.text,
                )
            )
        needs = [need("meal_assistance", match("meal-yx", "meal_assistance"), text=f"做饭困难，电话{PHONE}")]
        if "医" in request.text:
            needs.append(need("medical_escort", match("escort-yx", "medical_escort")))
        return result(*needs)

    def eligible(self, resource: dict[str, Any], person: Person, county: str) -> bool:
        return resource["county"] == county


@pytest.fixture
def cases(tmp_path: Path) -> list:  # type: ignore[type-arg]
    path = write_cases(
        tmp_path / "cases.jsonl",
        [
            case_line("t1", text=f"独居老人，联系电话{PHONE}，做饭困难，要去医院复查。"),
            case_line("t2", text="独居老人，做饭困难，腿脚不便，需要陪同就医。"),
            case_line(
                "d1", split="dev", expected_categories=["meal_assistance"], absent_categories=["tutoring"]
            ),
        ],
    )
    return load_cases(path)


def test_eval_writes_all_outputs_in_contract_shape(tmp_path: Path, cases: list) -> None:  # type: ignore[type-arg]
    matcher = FakeMatcher()
    run = run_eval(matcher, RESOURCES, cases, ["dense-whole-text", "hybrid"])
    out = tmp_path / "out"
    written = write_outputs(run, out)
    assert {
        "results.jsonl",
        "metrics.json",
        "report.md",
        "configs.png",
        "category_recall.png",
        "results-hybrid.jsonl",
        "results-dense-whole-text.jsonl",
    } <= set(written)
    assert all(record_unmet is False for *_, record_unmet in matcher.calls)

    lines = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["t1", "t2", "d1"]
    assert all(set(line) == {"id", "needs", "unmet"} for line in lines)
    assert lines[0]["needs"][0]["matches"][0]["resource_id"] == "meal-yx"  # from hybrid, the primary
    baseline = [json.loads(x) for x in (out / "results-dense-whole-text.jsonl").read_text().splitlines()]
    assert {line["config"] for line in baseline} == {"dense-whole-text"} and len(baseline) == 3

    everything = "".join(
        (out / name).read_text(encoding="utf-8") for name in written if name.endswith(("l", "n"))
    )
    assert PHONE not in everything  # need texts are redacted
    assert "独居老人，联系电话" not in everything  # and case texts never written to results or metrics
    for png in ("configs.png", "category_recall.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_compare_configurations_and_count_baseline_violations(tmp_path: Path, cases: list) -> None:  # type: ignore[type-arg]
    run = run_eval(FakeMatcher(), RESOURCES, cases, ["dense-whole-text", "hybrid"])
    write_outputs(run, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    test = {name: metrics["metrics"][name]["test"] for name in ("hybrid", "dense-whole-text")}
    assert test["hybrid"]["recall@5"] == 1.0
    # baseline: its one "need" carries meal-dy (meal) and escort-yx (escort), judged by resource categories
    assert test["dense-whole-text"]["recall@1"] == 0.5 and test["dense-whole-text"]["recall@5"] == 1.0
    assert (
        metrics["metrics"]["dense-whole-text"]["all"]["eligibility_violations"] == 3
    )  # meal-dy in every case
    assert metrics["metrics"]["hybrid"]["all"]["eligibility_violations"] == 0
    assert metrics["metrics"]["hybrid"]["dev"]["cases"] == 1
    assert metrics["primary_config"] == "hybrid" and metrics["baseline_config"] == "dense-whole-text"
    assert metrics["bootstrap"]["split"] == "test" and metrics["bootstrap"]["ci"]["hybrid"]["recall@5"] == [
        1.0,
        1.0,
    ]
    assert metrics["violations"]["dense-whole-text"][0]["resource_id"] == "meal-dy"


def test_report_has_side_by_side_tables_plots_and_redacted_worst_cases(tmp_path: Path, cases: list) -> None:  # type: ignore[type-arg]
    run = run_eval(FakeMatcher(), RESOURCES, cases, ["dense-whole-text", "hybrid"])
    write_outputs(run, tmp_path)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| 指标 | dense-whole-text | hybrid |" in report
    assert "![各配置对比](configs.png)" in report and "(category_recall.png)" in report
    assert "## 最差用例" in report and "## 指标定义" in report
    assert PHONE not in report


def test_worst_cases_never_print_test_texts(tmp_path: Path) -> None:
    secret = "测试集原文不应出现在报告里，做饭困难。"
    path = write_cases(tmp_path / "c.jsonl", [case_line("t9", text=secret, split="test")])
    run = run_eval(FakeMatcher(), RESOURCES, load_cases(path), ["hybrid"])
    write_outputs(run, tmp_path)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "测试集原文" not in report and "### t9" not in report
    assert "测试集（test）有 1 个用例未找全" in report


def test_worst_cases_show_what_was_missed(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path / "c.jsonl", [case_line("m1", text=f"电话{PHONE}，做饭困难，腿脚不便。", split="dev")]
    )
    run = run_eval(FakeMatcher(), RESOURCES, load_cases(path), ["hybrid"])
    write_outputs(run, tmp_path)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert (
        "### m1" in report
        and "**漏掉** 助医/送医陪护/上门医护 `medical_escort`：未识别出该需求" in report
        and "[电话]" in report
        and PHONE not in report
    )


def test_reranked_configuration_runs_only_with_a_reranker() -> None:
    configs, skipped = choose_configs([], reranker_model="")
    assert configs == ["dense-whole-text", "bm25", "dense", "hybrid"] and "hybrid+rerank" in skipped
    configs, skipped = choose_configs([], reranker_model="BAAI/bge-reranker-base")
    assert configs[-1] == "hybrid+rerank" and not skipped
    configs, skipped = choose_configs(["hybrid", "hybrid+rerank", "hybrid"], reranker_model="")
    assert configs == ["hybrid"] and "ASSISTANT_RERANKER_MODEL" in skipped["hybrid+rerank"]
    with pytest.raises(UnknownConfig, match="magic"):
        choose_configs(["magic"], reranker_model="")


def test_results_go_to_results_jsonl_from_the_first_config_when_hybrid_is_absent(
    tmp_path: Path, cases: list
) -> None:  # type: ignore[type-arg]
    run = run_eval(FakeMatcher(), RESOURCES, cases, ["dense-whole-text"])
    write_outputs(run, tmp_path)
    first = json.loads((tmp_path / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["needs"][0]["category"] == ""


def test_graded_cases_get_ndcg_and_unknown_resource_ids_are_reported(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path / "c.jsonl",
        [case_line("g1", text="做饭困难，要去医院。", relevant_resources={"escort-yx": 2, "ghost-001": 1})],
    )
    run = run_eval(FakeMatcher(), RESOURCES, load_cases(path), ["hybrid"])
    write_outputs(run, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    summary = metrics["metrics"]["hybrid"]["all"]
    # Run meal-yx, escort-yx: DCG = 2/log2(3) = 1.26186; IDCG = 2 + 1/log2(3) = 2.63093.
    assert summary["graded_cases"] == 1 and summary["nDCG@5"] == pytest.approx(1.261860 / 2.630930, abs=1e-5)
    assert summary["R@10"] == pytest.approx(0.5)
    assert metrics["unknown_relevant_resources"] == ["ghost-001"]
    assert "ghost-001" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_a_failing_case_is_named(cases: list) -> None:  # type: ignore[type-arg]
    class Broken(FakeMatcher):
        def match(
            self, request: MatchRequest, *, config: str = "hybrid", record_unmet: bool = True
        ) -> MatchResult:
            if "陪同就医" in request.text:
                raise ValueError("boom")
            return super().match(request, config=config, record_unmet=record_unmet)

    with pytest.raises(RuntimeError, match="用例 t2 在配置 hybrid 下匹配失败：boom"):
        run_eval(Broken(), RESOURCES, cases, ["hybrid"])
