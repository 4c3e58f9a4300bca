"""``POST /api/match`` and ``assistant match --json`` on the real engine and seed catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.app.container import Container
from assistant.app.main import create_app
from tests.utils.factories import UserFactory
from tests.utils.live_server import prepared_container

TEXT = "独居老人，82岁，做饭困难，站不住；上个月在卫生间滑倒过；儿女在外地，很少有人来看他。"


@pytest.fixture
def indexed(tmp_path: Path) -> Iterator[Container]:
    container = prepared_container(tmp_path / "data")
    yield container
    container.close()


@pytest.mark.integration
def test_match_answers_the_contract_shape_with_only_eligible_resources(indexed: Container) -> None:
    users = UserFactory(indexed)
    with TestClient(create_app(container=indexed)) as client:
        body = {"text": TEXT, "county": "420222", "groups": ["elderly", "dibao"], "age": 82}
        response = client.post("/api/match", json=body, headers=users.headers("caseworker", "420222"))
        assert response.status_code == 200, response.text
        result = response.json()
        assert set(result) >= {"needs", "unmet"}
        categories = {n["category"] for n in result["needs"]} | {u["category"] for u in result["unmet"]}
        assert {"meal_assistance", "home_modification"} <= categories
        for need in result["needs"]:
            for match in need["matches"]:
                assert set(match) >= {
                    "resource_id",
                    "name",
                    "categories",
                    "service_areas",
                    "target_groups",
                    "score",
                    "reasons",
                }
                stored = indexed.catalog.get(match["resource_id"])
                assert stored["status"] == "active"
                assert "420222" in stored["service_areas"] or "420200" in stored["service_areas"]
                assert need["category"] in stored["categories"]
                assert match["reasons"][0].startswith("评估中")

        other_county = client.post("/api/match", json=body, headers=users.headers("caseworker", "420281"))
        assert other_county.status_code == 403
        bad = client.post("/api/match", json={**body, "county": "123456"}, headers=users.headers("admin"))
        assert bad.status_code == 422 and "区县代码" in bad.json()["detail"]
        assert client.post("/api/match", json=body).status_code == 401


@pytest.mark.integration
def test_cli_match_json_prints_the_contract(indexed: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.cli.main import app
    from assistant.config import get_settings

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(indexed.settings.data_dir))
    get_settings.cache_clear()
    indexed.close()
    try:
        result = CliRunner().invoke(
            app,
            ["match", "--text", TEXT, "--county", "阳新县", "--group", "elderly", "--age", "82", "--json"],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["needs"] and all(m["resource_id"] for n in payload["needs"] for m in n["matches"])
    unknown = CliRunner().invoke(app, ["match", "--text", TEXT, "--county", "火星"])
    assert unknown.exit_code == 2
