"""Regression gate: matching quality on the dev split of ``eval/cases.jsonl``, on the real engine.

A change that lowers need-category recall@5 below the floor, or lets one ineligible resource through,
fails the suite. The report of a full run (``assistant eval``) says where the cases fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.app.container import Container
from assistant.config import Settings
from assistant.evaluation.cases import load_cases
from assistant.evaluation.metrics import summarize
from assistant.evaluation.runner import EvalRun, catalog_snapshot, run_eval

pytestmark = pytest.mark.integration

CASES = Path(__file__).resolve().parent.parent / "eval" / "cases.jsonl"
CONFIG = "hybrid"
# Just under or over the tuned dev figures. Dev grew to 965 cases on 2026-12-03 (session 3: five more writers who
# never saw the rules, exemplars or cases); measured then: recall@5 0.922, absent-category FP 0.091. Session 4 added
# two more blind writers (1,125 dev cases; their denials are harder): recall@5 0.933, absent-category FP 0.099.
RECALL_AT_5_FLOOR = 0.90
ABSENT_FP_CEILING = 0.11


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EvalRun]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("gate") / "data", environment="test")
    container = Container(settings)
    try:
        container.seed_if_empty()
        resources = catalog_snapshot(container.catalog)
        yield run_eval(container.matcher, resources, load_cases(CASES, "dev"), [CONFIG])
    finally:
        container.close()


def test_no_ineligible_resource_is_ever_offered(dev_run: EvalRun) -> None:
    offenders = [
        f"{s.case_id}: {v.resource_id} ({v.problem}, {v.person})"
        for s in dev_run.config(CONFIG).scores
        for v in s.violations
    ]
    assert not offenders, "资格违规：\n" + "\n".join(offenders[:20])


def test_need_category_recall_at_5_stays_above_floor(dev_run: EvalRun) -> None:
    scores = dev_run.config(CONFIG).scores
    recall = summarize(scores)["recall@5"]
    missed = [f"{s.case_id}: {', '.join(s.missed(5))}" for s in scores if s.missed(5)]
    assert recall >= RECALL_AT_5_FLOOR, (
        f"dev recall@5 = {recall:.3f} < {RECALL_AT_5_FLOOR}; missed:\n" + "\n".join(missed[:30])
    )


def test_denied_needs_stay_denied(dev_run: EvalRun) -> None:
    summary = summarize(dev_run.config(CONFIG).scores)
    rate = summary["absent_fp_rate"]
    assert rate is not None and rate <= ABSENT_FP_CEILING, f"dev absent-category FP rate = {rate:.3f}"
