"""CLI: validate/import/export, non-zero exit with row and field detail, users create."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli.main import app
from tests.utils.factories import resource_payload

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.config import get_settings

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_SEED_CATALOG_DIR", str(tmp_path / "no-seed"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_import_with_one_bad_row_exits_nonzero_and_changes_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps([resource_payload("a-1"), resource_payload("a-2")], ensure_ascii=False))
    assert runner.invoke(app, ["catalog", "import", str(good)]).exit_code == 0

    mixed = tmp_path / "mixed.json"
    rows = [
        resource_payload("a-3"),
        resource_payload("a-4", service_areas=["999999"]),
        resource_payload("a-5"),
    ]
    mixed.write_text(json.dumps(rows, ensure_ascii=False))
    result = runner.invoke(app, ["catalog", "import", str(mixed)])
    assert result.exit_code != 0
    assert "第 2 行" in result.stderr and "service_areas" in result.stderr and "999999" in result.stderr

    exported = runner.invoke(app, ["catalog", "export", "--format", "json"])
    assert [r["id"] for r in json.loads(exported.stdout)] == ["a-1", "a-2"]


def test_validate_reports_rows_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "编号,名称,服务类别,服务区域,最小年龄,最大年龄\nv-1,甲,助餐,阳新县,80,60\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["catalog", "validate", str(path)])
    assert result.exit_code == 1
    assert "第 2 行" in result.stderr and "maximum_age" in result.stderr


def test_missing_file_and_unknown_format_are_usage_errors(tmp_path: Path) -> None:
    assert runner.invoke(app, ["catalog", "import", str(tmp_path / "nope.json")]).exit_code == 2
    odd = tmp_path / "r.txt"
    odd.write_text("x")
    result = runner.invoke(app, ["catalog", "validate", str(odd)])
    assert result.exit_code == 2 and "不支持的文件格式" in result.stderr


def test_users_create_prints_token_once_and_stores_only_hash(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["users", "create", "--name", "王社工", "--role", "caseworker", "--county", "420222"]
    )
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("hsa_")
    import sqlite3

    db = sqlite3.connect(tmp_path / "data" / "assistant.db")
    stored = [row[0] for row in db.execute("select token_hash from api_tokens")]
    assert stored and token not in stored and all(len(h) == 64 for h in stored)
    again = runner.invoke(app, ["users", "create", "--name", "王社工", "--role", "caseworker"])
    assert again.exit_code == 2 and "已存在" in again.stderr
    bad_role = runner.invoke(app, ["users", "create", "--name", "李", "--role", "boss"])
    assert bad_role.exit_code == 2
