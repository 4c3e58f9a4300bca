"""Catalog use cases: list, get, create, update (optimistic), soft delete, import, change log."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, String, case, cast, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from assistant.audit.service import record
from assistant.auth.models import User
from assistant.catalog.events import CatalogChange, ChangeHub
from assistant.catalog.io import resource_dict
from assistant.catalog.models import Resource, ResourceChange
from assistant.catalog.schemas import ImportReport, ResourceData, RowError
from assistant.db import Database, utcnow
from assistant.errors import Conflict, Forbidden, NotFound
from assistant.taxonomy.model import CITYWIDE

SYSTEM = "system"


@dataclass
class ResourceFilter:
    area: str | None = None
    category: str | None = None
    group: str | None = None
    status: str | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


def _json_contains(column: Any, code: str) -> Any:
    # Lists are JSON text; quoted codes never collide with each other, on SQLite and PostgreSQL alike.
    return cast(column, String).like(f'%"{code}"%')


def _columns(data: ResourceData) -> dict[str, Any]:
    values = data.model_dump(exclude={"capacity"})
    values["capacity_available"] = data.capacity.available
    values["capacity_maximum"] = data.capacity.maximum
    return values


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def can_manage(user: User | None, service_areas: Iterable[str]) -> bool:
    """Admins and city-level managers manage all; a county manager only resources wholly in their county."""
    if user is None:
        return True  # system actions (seed load, CLI run by an operator)
    if user.citywide:
        return True
    areas = set(service_areas)
    return bool(areas) and areas <= {user.county}


class CatalogService:
    """Use cases over the store; publishes a ``CatalogChange`` after every committed write."""

    def __init__(self, db: Database, hub: ChangeHub | None = None) -> None:
        self.db = db
        self.hub = hub or ChangeHub()

    # -- reading -----------------------------------------------------------------------------------

    def query(self, flt: ResourceFilter) -> Select[Resource]:
        query = select(Resource)
        if flt.area:
            query = query.where(
                or_(
                    _json_contains(Resource.service_areas, flt.area),
                    _json_contains(Resource.service_areas, CITYWIDE),
                )
                if flt.area != CITYWIDE
                else _json_contains(Resource.service_areas, CITYWIDE)
            )
        if flt.category:
            query = query.where(_json_contains(Resource.categories, flt.category))
        if flt.group:
            query = query.where(_json_contains(Resource.target_groups, flt.group))
        if flt.status:
            query = query.where(Resource.status == flt.status)
        if flt.text:
            like = f"%{flt.text}%"
            query = query.where(
                or_(
                    Resource.name.like(like),
                    Resource.description.like(like),
                    Resource.organization.like(like),
                    Resource.brand.like(like),
                    Resource.id.like(like),
                    Resource.address.like(like),
                )
            )
        return query

    # below, builtins.list: inside the class `list` is this method
    def list(self, flt: ResourceFilter) -> tuple[list[dict[str, Any]], int]:
        with self.db.session() as session:
            query = self.query(flt)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(query.order_by(Resource.id).offset(flt.offset).limit(flt.limit))
            return [resource_dict(r) for r in rows], total

    def all(self) -> builtins.list[dict[str, Any]]:
        with self.db.session() as session:
            return [resource_dict(r) for r in session.scalars(select(Resource).order_by(Resource.id))]

    def get(self, resource_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            resource = session.get(Resource, resource_id)
            if resource is None:
                raise NotFound(f"资源 {resource_id} 不存在")
            return resource_dict(resource)

    def get_many(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        if not ids:
            return {}
        with self.db.session() as session:
            rows = session.scalars(select(Resource).where(Resource.id.in_(ids)))
            return {r.id: resource_dict(r) for r in rows}

    def count(self) -> int:
        with self.db.session() as session:
            return session.scalar(select(func.count()).select_from(Resource)) or 0

    def changes(self, resource_id: str, limit: int = 500) -> builtins.list[ResourceChange]:
        with self.db.session() as session:
            if session.get(Resource, resource_id) is None:
                raise NotFound(f"资源 {resource_id} 不存在")
            query = (
                select(ResourceChange)
                .where(ResourceChange.resource_id == resource_id)
                .order_by(ResourceChange.id)
                .limit(limit)
            )
            return list(session.scalars(query))

    # -- writing -----------------------------------------------------------------------------------

    def _log_fields(
        self,
        session: Session,
        resource_id: str,
        actor: str,
        action: str,
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> builtins.list[str]:
        changed = []
        for field, value in new.items():
            before = old.get(field)
            if before != value:
                changed.append(field)
                session.add(
                    ResourceChange(
                        resource_id=resource_id,
                        actor=actor,
                        action=action,
                        field=field,
                        old_value=_as_text(before),
                        new_value=_as_text(value),
                    )
                )
        return changed

    def _write(
        self, session: Session, data: ResourceData, actor: str, action: str, resource: Resource | None
    ) -> str:
        """Insert or update one resource with its change log; returns created / updated / unchanged."""
        values = _columns(data)
        if resource is None:
            resource = Resource(**values)
            session.add(resource)
            session.flush()
            self._log_fields(session, data.id, actor, action, {}, values)
            record(
                session,
                actor=actor,
                action=f"resource.{action}",
                entity_type="resource",
                entity_id=data.id,
                detail={"name": data.name},
            )
            return "created"
        old = {field: getattr(resource, field) for field in values}
        changed = self._log_fields(session, data.id, actor, action, old, values)
        if not changed:
            return "unchanged"
        for field in changed:
            setattr(resource, field, values[field])
        resource.last_modified = utcnow()
        session.flush()
        record(
            session,
            actor=actor,
            action=f"resource.{action}",
            entity_type="resource",
            entity_id=data.id,
            detail={"fields": changed},
        )
        return "updated"

    def create(self, data: ResourceData, user: User | None = None) -> dict[str, Any]:
        if not can_manage(user, data.service_areas):
            raise Forbidden("只能在本辖区内新增资源")
        actor = user.name if user else SYSTEM
        with self.db.session() as session:
            if session.get(Resource, data.id) is not None:
                raise Conflict(f"编号 {data.id} 已存在")
            self._write(session, data, actor, "create", None)
        self.hub.publish(CatalogChange(upserted=(data.id,), reason="create"))
        return self.get(data.id)

    def update(
        self, resource_id: str, data: ResourceData, expected_version: int | None, user: User | None = None
    ) -> dict[str, Any]:
        if data.id != resource_id:
            raise Conflict(f"请求体中的编号 {data.id} 与地址中的 {resource_id} 不一致")
        actor = user.name if user else SYSTEM
        try:
            with self.db.session() as session:
                resource = session.get(Resource, resource_id)
                if resource is None:
                    raise NotFound(f"资源 {resource_id} 不存在")
                if not (can_manage(user, resource.service_areas) and can_manage(user, data.service_areas)):
                    raise Forbidden("只能修改本辖区的资源")
                if expected_version is not None and expected_version != resource.version:
                    raise Conflict(
                        f"资源 {resource_id} 已被他人修改（当前版本 {resource.version}，您编辑的是版本 "
                        f"{expected_version}），请刷新后重新编辑",
                        extra={"current_version": resource.version},
                    )
                outcome = self._write(session, data, actor, "update", resource)
        except StaleDataError as exc:  # a concurrent writer won between our read and our write
            raise Conflict(f"资源 {resource_id} 已被他人修改，请刷新后重新编辑") from exc
        if outcome != "unchanged":
            self.hub.publish(CatalogChange(upserted=(resource_id,), reason="update"))
        return self.get(resource_id)

    def delete(self, resource_id: str, user: User | None = None) -> dict[str, Any]:
        """Soft delete: status ``defunct``; the row and its history stay."""
        current = self.get(resource_id)
        current.pop("last_modified")
        version = current.pop("version")
        current["status"] = "defunct"
        data = ResourceData.model_validate(current)
        return self.update(resource_id, data, version, user)

    def reserve_place(self, session: Session, resource_id: str, actor: str, places: int = 1) -> None:
        """Take ``places`` atomically inside the caller's transaction; Conflict when full.

        One conditional UPDATE, so two transactions racing for the last place cannot both win
        (SQLite serialises writers; PostgreSQL re-checks the WHERE after the row lock).
        Call ``publish_capacity`` after the caller commits so the index sees the change.
        """
        old = session.scalar(select(Resource.capacity_available).where(Resource.id == resource_id))
        result = session.execute(
            update(Resource)
            .where(
                Resource.id == resource_id,
                or_(Resource.capacity_available.is_(None), Resource.capacity_available >= places),
            )
            .values(
                capacity_available=Resource.capacity_available - places,
                version=Resource.version + 1,
                last_modified=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            if session.get(Resource, resource_id) is None:
                raise NotFound(f"资源 {resource_id} 不存在")
            raise Conflict(f"资源 {resource_id} 名额已满")
        if old is not None:
            self._log_fields(
                session,
                resource_id,
                actor,
                "reserve",
                {"capacity_available": old},
                {"capacity_available": old - places},
            )

    def release_place(self, session: Session, resource_id: str, actor: str, places: int = 1) -> None:
        """Give places back (never above the maximum), inside the caller's transaction."""
        old = session.scalar(select(Resource.capacity_available).where(Resource.id == resource_id))
        if old is None:
            return
        new_value = case(
            (Resource.capacity_maximum.is_(None), Resource.capacity_available + places),
            (Resource.capacity_available + places > Resource.capacity_maximum, Resource.capacity_maximum),
            else_=Resource.capacity_available + places,
        )
        session.execute(
            update(Resource)
            .where(Resource.id == resource_id)
            .values(capacity_available=new_value, version=Resource.version + 1, last_modified=utcnow())
            .execution_options(synchronize_session=False)
        )
        new = session.scalar(select(Resource.capacity_available).where(Resource.id == resource_id))
        self._log_fields(
            session, resource_id, actor, "release", {"capacity_available": old}, {"capacity_available": new}
        )

    def publish_capacity(self, resource_ids: Iterable[str]) -> None:
        """Tell subscribers (the index) that capacity changed; call after the transaction commits."""
        ids = tuple(dict.fromkeys(resource_ids))
        if ids:
            self.hub.publish(CatalogChange(upserted=ids, reason="capacity"))

    def import_resources(
        self,
        rows: builtins.list[ResourceData],
        user: User | None = None,
        reason: str = "import",
        parse_errors: builtins.list[RowError] | None = None,
        row_numbers: builtins.list[int] | None = None,
    ) -> ImportReport:
        """All rows or none: any row error (including scope) rejects the whole file."""
        errors = list(parse_errors or [])
        numbers = row_numbers or list(range(1, len(rows) + 1))
        for number, data in zip(numbers, rows, strict=True):
            if not can_manage(user, data.service_areas):
                errors.append(
                    RowError(
                        row=number,
                        field="service_areas",
                        resource_id=data.id,
                        message="超出您的管理辖区，不能导入",
                    )
                )
        total = len(rows) + len({e.row for e in parse_errors or []})
        if errors:
            return ImportReport(ok=False, total_rows=total, errors=sorted(errors, key=lambda e: e.row))
        report = ImportReport(ok=True, total_rows=total)
        actor = user.name if user else SYSTEM
        with self.db.session() as session:
            existing = {
                r.id: r
                for r in session.scalars(select(Resource).where(Resource.id.in_([d.id for d in rows])))
            }
            for number, data in zip(numbers, rows, strict=True):
                resource = existing.get(data.id)
                if resource is not None and not can_manage(user, resource.service_areas):
                    raise Forbidden(f"第 {number} 行：资源 {data.id} 属于其他辖区，不能覆盖")
                outcome = self._write(session, data, actor, reason, resource)
                getattr(report, outcome).append(data.id)
            record(
                session,
                actor=actor,
                action=f"catalog.{reason}",
                entity_type="catalog",
                entity_id="*",
                detail={
                    "created": len(report.created),
                    "updated": len(report.updated),
                    "unchanged": len(report.unchanged),
                },
            )
        changed = tuple(report.created + report.updated)
        if changed:
            self.hub.publish(CatalogChange(upserted=changed, reason=reason))
        return report
