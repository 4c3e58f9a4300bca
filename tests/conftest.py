"""Shared fixtures: an isolated store per test, the app, and users with tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.app.container import Container
from assistant.app.main import create_app
from assistant.config import Settings
from tests.utils.factories import UserFactory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", environment="test")


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    c = Container(settings)
    yield c
    c.close()


@pytest.fixture
def seeded(container: Container) -> Container:
    container.seed_if_empty()
    return container


@pytest.fixture
def client(seeded: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=seeded)) as test_client:
        yield test_client


@pytest.fixture
def users(container: Container) -> UserFactory:
    return UserFactory(container)
