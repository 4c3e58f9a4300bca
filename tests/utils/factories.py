"""Small factories for tests: users with tokens, resource payloads."""

from __future__ import annotations

from typing import Any

from assistant.app.container import Container
from assistant.auth.service import create_user


class UserFactory:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.count = 0

    def token(self, role: str, county: str = "420200") -> str:
        self.count += 1
        with self.container.db.session() as session:
            _, token = create_user(session, name=f"{role}-{county}-{self.count}", role=role, county=county)
        return token

    def headers(self, role: str, county: str = "420200") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, county)}"}


def resource_payload(rid: str = "test-meal-001", county: str = "420222", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": rid,
        "name": "测试老年幸福食堂",
        "description": "为辖区老年人提供午餐，行动不便者可送餐上门。",
        "organization": "测试街道办",
        "brand": "",
        "categories": ["meal_assistance"],
        "service_areas": [county],
        "target_groups": ["elderly"],
        "minimum_age": 60,
        "maximum_age": None,
        "eligibility_description": "60周岁以上本地户籍老人",
        "status": "active",
        "capacity": {"available": 5, "maximum": 30},
        "cost_description": "每餐8元",
        "schedule_description": "周一至周五 11:00-12:30",
        "address": "测试路1号",
        "phone": "0714-6123456",
        "assured_date": "2026-10-01",
    }
    data.update(overrides)
    return data


def add_resource(container: Container, rid: str, county: str = "420222", **fields: Any) -> None:
    """Create a resource through the catalog service (the change hook reaches the index)."""
    from assistant.catalog.schemas import ResourceData

    container.catalog.create(ResourceData.model_validate(resource_payload(rid, county=county, **fields)))


def edit_resource(container: Container, rid: str, **fields: Any) -> None:
    """Update fields of a resource through the catalog service, at its current version."""
    from assistant.catalog.schemas import ResourceData

    current = container.catalog.get(rid)
    data = ResourceData.model_validate(
        {k: v for k, v in current.items() if k not in ("last_modified", "version")} | fields
    )
    container.catalog.update(rid, data, current["version"])


def remove_resource(container: Container, rid: str) -> None:
    """A hard removal from the store (soft delete is a status change), announced through the hook."""
    from assistant.catalog.events import CatalogChange
    from assistant.catalog.models import Resource

    with container.db.session() as session:
        session.delete(session.get(Resource, rid))
    container.catalog.hub.publish(CatalogChange(removed=(rid,), reason="test"))
