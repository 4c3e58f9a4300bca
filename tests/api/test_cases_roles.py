"""Every case, plan, referral, follow-up, report and audit route × role: 401, 403, 404 — never 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from assistant.app.container import Container
from assistant.app.main import create_app
from assistant.audit.models import AuditEvent
from assistant.config import Settings
from tests.cases.fakes import DY, YX, add_resource, fake_cases
from tests.utils.factories import UserFactory

CASE_BODY = {"text": "老人独居，做饭困难。", "county": YX, "groups": ["elderly"], "age": 75}


@dataclass
class World:
    container: Container
    client: TestClient
    users: UserFactory
    worker: dict[str, str]
    ids: dict[str, str]


@contextmanager
def build_world(container: Container) -> Iterator[World]:
    """A case with a confirmed plan (so a referral and follow-ups) and a newer draft plan."""
    add_resource(container, "yx-meal-1")
    fake_cases(container)
    users = UserFactory(container)
    with TestClient(create_app(container=container)) as client:
        worker = users.headers("caseworker", YX)
        case = client.post("/api/cases", json=CASE_BODY, headers=worker).json()
        confirmed = client.post(f"/api/cases/{case['id']}/plan", headers=worker).json()
        confirmed = client.post(f"/api/plans/{confirmed['id']}/confirm", headers=worker).json()
        draft = client.post(f"/api/cases/{case['id']}/plan", headers=worker).json()
        followups = client.get("/api/followups", headers=worker).json()["items"]
        ids = {
            "case": case["id"],
            "plan": draft["id"],
            "referral": confirmed["referrals"][0]["id"],
            "followup": followups[0]["id"],
        }
        yield World(container, client, users, worker, ids)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Shared by the refusal tests, which change nothing (a refused request must not)."""
    container = Container(Settings(data_dir=tmp_path_factory.mktemp("roles") / "data", environment="test"))
    with build_world(container) as built:
        yield built
    container.close()


@pytest.fixture
def fresh_world(container: Container) -> Iterator[World]:
    with build_world(container) as built:
        yield built


# (method, path template, body); {case} {plan} {referral} {followup} are filled from the world.
CASEWORK: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/cases", CASE_BODY),
    ("GET", "/api/cases", None),
    ("GET", "/api/cases/{case}", None),
    ("POST", "/api/cases/{case}/close", {"reason": "other", "note": "测试"}),
    ("POST", "/api/cases/{case}/plan", None),
    ("GET", "/api/plans/{plan}", None),
    ("GET", "/api/plans/{plan}/versions", None),
    ("PUT", "/api/plans/{plan}", {"base_version": 1, "items": []}),
    ("POST", "/api/plans/{plan}/revise", {"instruction": "改为每周三次", "base_version": 1}),
    ("POST", "/api/plans/{plan}/confirm", {}),
    ("POST", "/api/plans/{plan}/reject", {"reason": "家属不同意"}),
    ("GET", "/api/referrals", None),
    ("GET", "/api/referrals/{referral}", None),
    ("POST", "/api/referrals/{referral}/status", {"status": "accepted"}),
    ("GET", "/api/followups", None),
    ("POST", "/api/followups/{followup}/done", {"note": "已回访"}),
]
REPORTS = [("GET", "/api/reports/gaps", None), ("GET", "/api/reports/gaps?format=csv", None)]
AUDIT = [("GET", "/api/audit", None)]
ALL = CASEWORK + REPORTS + AUDIT
WITH_ID = [route for route in CASEWORK if "{" in route[1]]


def call(
    world: World,
    route: tuple[str, str, dict[str, Any] | None],
    headers: dict[str, str],
    ids: dict[str, str] | None = None,
) -> Any:
    method, template, body = route
    path = template.format(**(ids or world.ids))
    return world.client.request(method, path, json=body, headers=headers)


def name(route: tuple[str, str, Any]) -> str:
    return f"{route[0]} {route[1]}"


@pytest.mark.parametrize("route", ALL, ids=name)
def test_missing_or_bad_token_is_401(world: World, route: tuple[str, str, Any]) -> None:
    assert call(world, route, {}).status_code == 401
    assert call(world, route, {"Authorization": "Bearer hsa_not-a-real-token"}).status_code == 401
    assert call(world, route, {"Authorization": "Basic abc"}).status_code == 401


@pytest.mark.parametrize("route", CASEWORK, ids=name)
def test_resource_manager_cannot_do_casework(world: World, route: tuple[str, str, Any]) -> None:
    for county in (YX, "420200"):
        response = call(world, route, world.users.headers("resource_manager", county))
        assert response.status_code == 403, response.text
        assert "社工" in response.json()["detail"]


@pytest.mark.parametrize("route", REPORTS + AUDIT, ids=name)
def test_caseworker_cannot_read_reports_or_audit(world: World, route: tuple[str, str, Any]) -> None:
    assert call(world, route, world.worker).status_code == 403


@pytest.mark.parametrize("route", AUDIT, ids=name)
def test_only_admins_read_the_audit_log(world: World, route: tuple[str, str, Any]) -> None:
    assert call(world, route, world.users.headers("resource_manager", "420200")).status_code == 403
    assert call(world, route, world.users.headers("admin", YX)).status_code == 200


@pytest.mark.parametrize("route", WITH_ID, ids=name)
def test_caseworker_of_another_county_gets_403(world: World, route: tuple[str, str, Any]) -> None:
    response = call(world, route, world.users.headers("caseworker", DY))
    assert response.status_code == 403, response.text
    assert "阳新" in response.json()["detail"]


def test_caseworker_cannot_create_or_list_in_another_county(world: World) -> None:
    other = world.users.headers("caseworker", DY)
    assert world.client.post("/api/cases", json=CASE_BODY, headers=other).status_code == 403
    assert world.client.get(f"/api/cases?county={YX}", headers=other).status_code == 403
    assert world.client.get(f"/api/referrals?county={YX}", headers=other).status_code == 403
    assert world.client.get("/api/cases", headers=other).json()["total"] == 0
    assert world.client.get("/api/followups", headers=other).json()["total"] == 0
    manager = world.users.headers("resource_manager", DY)
    assert world.client.get(f"/api/reports/gaps?county={YX}", headers=manager).status_code == 403


def test_refused_requests_change_nothing(world: World) -> None:
    def snapshot() -> tuple[int, list[Any]]:
        with world.container.db.session() as session:
            events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        return events, [world.container.catalog.get("yx-meal-1")["capacity"]]

    other = world.users.headers("caseworker", DY)
    manager = world.users.headers("resource_manager", YX)
    before = snapshot()
    for route in WITH_ID:
        assert call(world, route, other).status_code == 403
    for route in CASEWORK:
        assert call(world, route, manager).status_code == 403
        assert call(world, route, {}).status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize("route", WITH_ID, ids=name)
def test_unknown_ids_are_404(world: World, route: tuple[str, str, Any]) -> None:
    ghosts = {key: f"{key}-does-not-exist" for key in world.ids}
    response = call(world, route, world.worker, ghosts)
    assert response.status_code == 404, response.text
    assert "不存在" in response.json()["detail"]


@pytest.mark.parametrize("route", WITH_ID, ids=name)
def test_admin_acts_in_every_county(fresh_world: World, route: tuple[str, str, Any]) -> None:
    response = call(fresh_world, route, fresh_world.users.headers("admin", DY))
    assert response.status_code < 500 and response.status_code not in (401, 403, 404), response.text


def test_bad_bodies_and_queries_are_422_in_chinese(world: World) -> None:
    client, worker = world.client, world.worker
    bad = [
        client.post("/api/cases", json={"county": YX}, headers=worker),
        client.post("/api/cases", json={**CASE_BODY, "county": "999999"}, headers=worker),
        client.post("/api/cases", json={**CASE_BODY, "groups": ["火星人"]}, headers=worker),
        client.get("/api/cases?status=lost", headers=worker),
        client.get("/api/cases?limit=0", headers=worker),
        client.put(f"/api/plans/{world.ids['plan']}", json={"items": []}, headers=worker),
        client.post(f"/api/referrals/{world.ids['referral']}/status", json={}, headers=worker),
        client.post(f"/api/referrals/{world.ids['referral']}/status", json={"status": "x"}, headers=worker),
        client.get("/api/followups?due_before=tomorrow", headers=worker),
    ]
    for response in bad:
        assert response.status_code == 422, response.text
        assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])


class NoCaseService:
    """A container whose case service must not be built (building it loads the embedding model)."""

    def __init__(self, inner: Container) -> None:
        self.inner = inner

    @property
    def cases(self) -> Any:
        raise AssertionError("a refused request built the case service")

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


def test_refused_requests_never_build_the_matcher(container: Container, users: UserFactory) -> None:
    app = create_app(container=container)
    app.state.container = NoCaseService(container)
    manager = users.headers("resource_manager", YX)
    with TestClient(app) as client:
        for route in CASEWORK:
            method, template, body = route
            path = template.format(case="c", plan="p", referral="r", followup="f")
            assert client.request(method, path, json=body).status_code == 401
            assert client.request(method, path, json=body, headers=manager).status_code == 403
        assert client.get("/api/reports/gaps", headers=manager).status_code == 200
