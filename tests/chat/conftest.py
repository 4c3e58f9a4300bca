"""Chat fixtures: one seeded, indexed store per module (embedding the catalog is slow), a TestClient on it,
caseworkers, and a case with a drafted plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.app.container import Container
from assistant.app.main import create_app
from tests.utils.factories import UserFactory
from tests.utils.live_server import prepared_container

HSG = "420202"
ASSESSMENT = (
    "张奶奶，82岁，独居在黄石港区花湖街道，低保对象。老伴去世后不会做饭，一日三餐没有着落，经常吃剩饭剩菜；"
    "腿脚不便，住五楼没有电梯，半年没下过楼；子女在外地，平时没人来看她。"
)


@pytest.fixture(scope="module")
def chat_container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    container = prepared_container(tmp_path_factory.mktemp("chat") / "data")
    yield container
    container.close()


@pytest.fixture(scope="module")
def api(chat_container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=chat_container)) as client:
        yield client


@pytest.fixture(scope="module")
def staff(chat_container: Container) -> UserFactory:
    return UserFactory(chat_container)


@pytest.fixture(scope="module")
def worker(staff: UserFactory) -> dict[str, str]:
    return staff.headers("caseworker", HSG)


@pytest.fixture
def new_case(api: TestClient, worker: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Create a case with a drafted plan; returns ``{"case": …, "plan": …}``."""

    def make(
        text: str = ASSESSMENT,
        *,
        age: int | None = 82,
        groups: tuple[str, ...] = ("elderly", "dibao"),
        headers: dict[str, str] | None = None,
        county: str = HSG,
    ) -> dict[str, Any]:
        headers = headers or worker
        case = api.post(
            "/api/cases",
            json={"text": text, "county": county, "groups": list(groups), "age": age},
            headers=headers,
        )
        assert case.status_code == 201, case.text
        plan = api.post(f"/api/cases/{case.json()['id']}/plan", headers=headers)
        assert plan.status_code == 201, plan.text
        return {"case": case.json(), "plan": plan.json()}

    return make


def ask(api: TestClient, case_id: str, text: str, headers: dict[str, str]) -> dict[str, Any]:
    response = api.post(f"/api/cases/{case_id}/messages", json={"content": text}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
