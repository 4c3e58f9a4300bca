"""``assistant eval``: a broken case file fails with line and field before anything runs; a real run
writes every output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.main import app
from tests.evaluation.conftest import case_line, write_cases

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from assistant.config import get_settings

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSISTANT_RERANKER_MODEL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_broken_case_line_exits_nonzero_with_line_and_field(tmp_path: Path) -> None:
    cases = write_cases(
        tmp_path / "cases.jsonl",
        [case_line("a"), case_line("b", county="999999"), case_line("c")],
    )
    result = runner.invoke(app, ["eval", "--cases", str(cases), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "第 2 行" in result.stderr and "county" in result.stderr and "999999" in result.stderr
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "data").exists()  # nothing was started


def test_unknown_config_and_split_are_usage_errors(tmp_path: Path) -> None:
    cases = write_cases(tmp_path / "cases.jsonl", [case_line("a")])
    out = str(tmp_path / "out")
    bad_config = runner.invoke(app, ["eval", "--cases", str(cases), "--out", out, "--config", "magic"])
    assert bad_config.exit_code == 2 and "magic" in bad_config.stderr
    bad_split = runner.invoke(app, ["eval", "--cases", str(cases), "--out", out, "--split", "train"])
    assert bad_split.exit_code == 2 and "--split" in bad_split.stderr


@pytest.mark.integration
def test_eval_on_the_real_engine_writes_all_outputs(tmp_path: Path) -> None:
    cases = write_cases(
        tmp_path / "cases.jsonl",
        [
            case_line("t1", text="阳新县独居老人，82岁，腿脚不便，做饭困难，常吃泡面。"),
            case_line(
                "d1",
                split="dev",
                county="420202",
                text="黄石港区，男，84岁，特困，每月要去医院复查开药，没人陪同。",
                groups=["tekun", "elderly"],
                age=84,
                expected_categories=["medical_escort"],
            ),
        ],
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "eval",
            "--cases",
            str(cases),
            "--out",
            str(out),
            "--config",
            "dense-whole-text",
            "--config",
            "hybrid",
        ],
    )
    assert result.exit_code == 0, result.stderr
    for name in ("results.jsonl", "metrics.json", "report.md", "configs.png", "category_recall.png"):
        assert (out / name).stat().st_size > 0, name
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["t1", "d1"] and all("text" not in line for line in lines)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["configs"] == ["dense-whole-text", "hybrid"]
    assert metrics["metrics"]["hybrid"]["all"]["eligibility_violations"] == 0
    assert "hybrid+rerank" not in metrics["skipped"]  # configs were given explicitly
    assert "recall@5" in result.stdout
