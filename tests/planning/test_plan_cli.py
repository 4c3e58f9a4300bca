"""``assistant plan`` end to end on the seed catalog: offline by default, through an LLM when configured.

The real CLI, container, matching engine and planner run; only the embedding model is the deterministic
hash embedder of the matching tests (the bundled model needs minutes to embed the catalog; matching quality
is measured elsewhere).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.cli.main import app
from assistant.config import get_settings
from tests.matching.conftest import HashEmbedder
from tests.planning.conftest import ID_NUMBER, MOBILE
from tests.utils.llm_stub import LLMStub, Reply

pytestmark = pytest.mark.integration

runner = CliRunner()
TEXT = f"78岁独居老人，身份证{ID_NUMBER}，电话{MOBILE}。腿脚不便，做饭困难，一个多月没洗澡，最近情绪低落。"
ARGS = ["plan", "--text", TEXT, "--county", "420203", "--group", "elderly", "--group", "dibao", "--age", "78"]


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSISTANT_LLM_BASE_URL", raising=False)
    monkeypatch.setattr("assistant.matching.engine.build_embedder", lambda *_args, **_kwargs: HashEmbedder())
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def eligible(payload: dict[str, Any]) -> set[str]:
    return {m["resource_id"] for n in payload["needs"] for m in n["matches"]}


def test_plan_without_llm_prints_a_readable_offline_plan() -> None:
    result = runner.invoke(app, ARGS)
    assert result.exit_code == 0, result.output
    assert "服务方案（草稿）" in result.output
    assert "离线规则生成（非大模型撰写）" in result.output
    assert "三、服务安排" in result.output and "四、回访安排" in result.output


def test_plan_json_has_needs_unmet_and_a_grounded_plan() -> None:
    result = runner.invoke(app, [*ARGS, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) >= {"needs", "unmet", "plan"}
    plan = payload["plan"]
    assert plan["author"] == "offline" and plan["items"]
    assert {i["resource_id"] for i in plan["items"]} <= eligible(payload)


def test_plan_with_an_llm_configured_goes_through_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with LLMStub(model="stub-glm") as stub:

        def answer(body: dict[str, Any]) -> Reply:
            user = body["messages"][-1]["content"]
            first = re.search(r"resource_id=([^｜\s]+)", user)
            assert first is not None
            return Reply.structured(
                {
                    "goals": ["保障基本生活"],
                    "items": [
                        {"need": "做饭困难", "category": "meal_assistance", "resource_id": first.group(1)},
                        {"need": "做饭困难", "category": "meal_assistance", "resource_id": "made-up-007"},
                    ],
                    "summary": "模型撰写的方案。",
                }
            )

        stub.responder = answer
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", stub.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "stub-glm")
        monkeypatch.setenv("ASSISTANT_LLM_NEED_EXTRACTION", "false")  # this test scripts the plan call only
        get_settings.cache_clear()
        result = runner.invoke(app, [*ARGS, "--json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        plan = payload["plan"]
        assert plan["author"] == "stub-glm" and plan["summary"] == "模型撰写的方案。"
        assert [d["resource_id"] for d in plan["dropped"]] == ["made-up-007"]
        assert {i["resource_id"] for i in plan["items"]} <= eligible(payload)
        assert ID_NUMBER not in stub.sent_text() and MOBILE not in stub.sent_text()


def test_unknown_county_is_a_clear_error() -> None:
    result = runner.invoke(app, ["plan", "--text", "做饭困难", "--county", "火星"])
    assert result.exit_code == 2
    assert "未知区县" in result.output
