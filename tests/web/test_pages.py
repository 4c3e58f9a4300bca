"""The workbench ships with the package: pages without a token, every asset local, data only via the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from assistant.web import STATIC_DIR
from tests.utils.factories import UserFactory

IMPORT_RE = re.compile(r"""from\s+["'](\./[^"']+)["']""")


def test_workbench_page_is_served_without_a_token(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert "匹配助手" in page.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"


def test_every_module_the_scripts_import_exists() -> None:
    scripts = list((STATIC_DIR / "js").glob("*.js"))
    assert scripts
    for script in scripts:
        for target in IMPORT_RE.findall(script.read_text(encoding="utf-8")):
            assert (script.parent / target).exists(), f"{script.name} imports missing {target}"


def test_no_asset_is_fetched_from_the_internet() -> None:
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text(encoding="utf-8").replace("http://www.w3.org/2000/svg", "")  # a namespace
            assert not re.search(r"https?:|//[a-z0-9-]+(\.[a-z0-9-]+)+/", text), path.name


def test_me_and_taxonomy_need_a_token(client: TestClient, users: UserFactory) -> None:
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/taxonomy").status_code == 401
    headers = users.headers("resource_manager", "420222")
    me = client.get("/api/me", headers=headers).json()
    assert (me["role"], me["role_label"], me["county_label"], me["citywide"]) == (
        "resource_manager",
        "资源管理员",
        "阳新县",
        False,
    )
    taxonomy = client.get("/api/taxonomy", headers=headers).json()
    assert {"code": "meal_assistance", "label": "助餐"} in [
        {"code": c["code"], "label": c["label"]} for c in taxonomy["categories"]
    ]
    assert [s["code"] for s in taxonomy["statuses"]] == [
        "active",
        "temporarily closed",
        "inactive",
        "defunct",
    ]
    assert next(a for a in taxonomy["areas"] if a["code"] == "420200")["citywide"] is True


def test_openapi_documents_the_chat_and_openai_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/models",
        "/v1/chat/completions",
        "/api/cases/{case_id}/messages",
        "/api/me",
        "/api/taxonomy",
    ):
        assert path in paths
    assert "/" not in paths  # pages are not API
