"""Assembly: one engine per process, LLM need extraction only when an LLM is configured."""

from __future__ import annotations

from pathlib import Path

from assistant.app.container import Container
from assistant.config import Settings
from assistant.matching.needs import RuleNeedExtractor
from assistant.planning.extraction import LLMNeedExtractor


def test_rules_extract_needs_without_llm_and_llm_wraps_them_when_configured(tmp_path: Path) -> None:
    offline = Container(Settings(data_dir=tmp_path / "a", environment="test"))
    assert isinstance(offline.matcher.extractor, RuleNeedExtractor)
    assert offline.planner.llm is None
    offline.close()

    online = Container(
        Settings(
            data_dir=tmp_path / "b",
            environment="test",
            llm_base_url="http://127.0.0.1:9/v1",
            llm_model="qwen",
        )
    )
    extractor = online.matcher.extractor
    assert isinstance(extractor, LLMNeedExtractor)
    assert extractor.fallback is online.matcher.rule_extractor
    online.close()
