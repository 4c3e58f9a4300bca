"""Resource schemas at the edges (API, files). Validation messages are in Chinese for managers."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from assistant.taxonomy import get_taxonomy

Status = Literal["active", "inactive", "defunct", "temporarily closed"]
STATUSES: tuple[str, ...] = ("active", "inactive", "defunct", "temporarily closed")
STATUS_LABELS = {
    "active": "在服务",
    "inactive": "停用",
    "defunct": "已撤销",
    "temporarily closed": "暂停服务",
}

# Mobile, landline (with or without area code / extension) and short public hotlines (12348, 96xxx …).
PHONE_RE = re.compile(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?|\d{7,8}|1\d{4}|9\d{4,5}|400-?\d{3}-?\d{4})$"
)
PHONE_SPLIT_RE = re.compile(r"[;；,，/、\s]+")


class Capacity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: int | None = Field(default=None, ge=0)
    maximum: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _available_within_maximum(self) -> Capacity:
        if self.available is not None and self.maximum is not None and self.available > self.maximum:
            raise ValueError(f"可用名额 {self.available} 大于总名额 {self.maximum}")
        return self


def _codes(kind: str, values: list[str], label: str) -> list[str]:
    taxonomy = get_taxonomy()
    out: list[str] = []
    unknown: list[str] = []
    for value in values:
        code = taxonomy.resolve(kind, str(value))
        if code is None:
            unknown.append(str(value))
        elif code not in out:
            out.append(code)
    if unknown:
        raise ValueError(f"未知{label}：{'、'.join(unknown)}")
    return out


class ResourceData(BaseModel):
    """Everything a manager supplies for a resource (contract field names)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    organization: str = ""
    brand: str = ""
    categories: list[str] = Field(min_length=1)
    service_areas: list[str] = Field(min_length=1)
    target_groups: list[str] = Field(default_factory=list)
    minimum_age: int | None = Field(default=None, ge=0, le=120)
    maximum_age: int | None = Field(default=None, ge=0, le=120)
    eligibility_description: str = ""
    status: Status = "active"
    capacity: Capacity = Field(default_factory=Capacity)
    cost_description: str = ""
    schedule_description: str = ""
    address: str = ""
    phone: str = ""
    assured_date: date | None = None

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, values: list[str]) -> list[str]:
        return _codes("category", values, "服务类别")

    @field_validator("service_areas")
    @classmethod
    def _known_areas(cls, values: list[str]) -> list[str]:
        return _codes("area", values, "服务区域")

    @field_validator("target_groups")
    @classmethod
    def _known_groups(cls, values: list[str]) -> list[str]:
        return _codes("group", values, "救助对象")

    @field_validator("status", mode="before")
    @classmethod
    def _status_from_label(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            for code, label in STATUS_LABELS.items():
                if value == label:
                    return code
            if value not in STATUSES:
                raise ValueError(
                    f"状态应为 {' / '.join(STATUSES)}（或 {' / '.join(STATUS_LABELS.values())}）"
                )
        return value

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        if not value:
            return value
        parts = [p for p in PHONE_SPLIT_RE.split(value) if p]
        bad = [p for p in parts if not PHONE_RE.match(p)]
        if bad:
            raise ValueError(f"电话号码格式不正确：{'、'.join(bad)}（应为11位手机号或 0714-xxxxxxx 座机）")
        return value

    @field_validator("maximum_age")
    @classmethod
    def _age_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        # A field validator (not a model one) so the error is reported beside the other fields' errors.
        minimum = info.data.get("minimum_age")
        if value is not None and minimum is not None and minimum > value:
            raise ValueError(f"最小年龄 {minimum} 大于最大年龄 {value}")
        return value


class ResourceOut(ResourceData):
    """A stored resource as the API and JSON export show it."""

    last_modified: datetime
    version: int


class ResourceUpdate(ResourceData):
    """A full replacement; ``version`` is the one the editor read (optimistic concurrency)."""

    version: int | None = None


class ResourcePage(BaseModel):
    items: list[ResourceOut]
    total: int
    limit: int
    offset: int


class ResourceChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: str
    changed_at: datetime
    actor: str
    action: str
    field: str
    old_value: str | None
    new_value: str | None


class RowError(BaseModel):
    """One problem in one row of an import file. ``row`` is the spreadsheet row (header = 1) or item number."""

    row: int
    field: str
    message: str
    resource_id: str | None = None


class ImportReport(BaseModel):
    ok: bool
    total_rows: int
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    errors: list[RowError] = Field(default_factory=list)
