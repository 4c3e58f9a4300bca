"""Hand-made cases and results for the evaluation tests (no engine, no embeddings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.matching.types import Match, MatchResult, Need, NeedMatches, Person, Unmet


def case_line(case_id: str = "c1", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": case_id,
        "split": "test",
        "text": "独居老人，82岁，做饭困难，需要有人陪同去医院复查。",
        "county": "420222",
        "groups": ["elderly"],
        "age": 82,
        "expected_categories": ["meal_assistance", "medical_escort"],
    }
    data.update(overrides)
    return data


def write_cases(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def match(resource_id: str, *categories: str) -> Match:
    return Match(
        resource_id=resource_id,
        name=f"资源{resource_id}",
        categories=list(categories),
        service_areas=["420222"],
        target_groups=[],
        score=1.0,
    )


def need(category: str, *matches: Match, relation: str = "申请人", text: str = "需求") -> NeedMatches:
    return NeedMatches(
        need=Need(text=text, category=category, person=Person(relation=relation)), matches=list(matches)
    )


def result(*needs: NeedMatches, unmet: tuple[str, ...] = ()) -> MatchResult:
    return MatchResult(
        needs=list(needs), unmet=[Unmet(text="需求", category=c, reason="本区县暂无该类服务") for c in unmet]
    )
