"""Fixtures for case tests: a CaseService on fakes, users as the service sees them, one meal resource."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from assistant.app.container import Container
from assistant.auth.models import User
from assistant.auth.service import create_user
from assistant.cases.schemas import CaseCreate
from assistant.cases.service import CaseService
from tests.cases.fakes import YX, add_resource, fake_cases

MakeUser = Callable[..., User]


@pytest.fixture
def make_user(container: Container) -> MakeUser:
    def make(role: str = "caseworker", county: str = YX) -> User:
        # Unique names, so the tests also run against a PostgreSQL store that outlives one run.
        with container.db.session() as session:
            user, _ = create_user(
                session, name=f"{role}-{county}-{uuid.uuid4().hex[:8]}", role=role, county=county
            )
            session.flush()
            session.expunge(user)
        return user

    return make


@pytest.fixture
def worker(make_user: MakeUser) -> User:
    return make_user("caseworker", YX)


@pytest.fixture
def cases(container: Container) -> CaseService:
    add_resource(container, "yx-meal-1")
    return fake_cases(container)


def elder_case(**overrides: object) -> CaseCreate:
    data: dict[str, object] = {
        "text": "张桂兰，78岁，独居，身份证420222194801011234，电话13907141234，做饭困难，希望有人送餐。",
        "county": YX,
        "groups": ["elderly", "dibao"],
        "age": 78,
        "name": "张桂兰",
    }
    data.update(overrides)
    return CaseCreate.model_validate(data)
