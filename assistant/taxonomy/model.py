"""Typed view of the taxonomy file. Codes are stable identifiers; labels are for people."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CITYWIDE = "420200"


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    code: str
    label: str
    description: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    code: str
    label: str
    short: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    categories: dict[str, Category]
    groups: dict[str, Group]
    areas: dict[str, Area]
    _label_index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def counties(self) -> list[str]:
        """County-level areas (everything but the citywide code)."""
        return [code for code in self.areas if code != CITYWIDE]

    def category_label(self, code: str) -> str:
        category = self.categories.get(code)
        return category.label if category else code

    def group_label(self, code: str) -> str:
        group = self.groups.get(code)
        return group.label if group else code

    def area_label(self, code: str) -> str:
        area = self.areas.get(code)
        return area.label if area else code

    def resolve(self, kind: str, value: str) -> str | None:
        """Map a code or a Chinese label (as typed in Excel) to a code of ``kind``."""
        value = value.strip()
        table: dict[str, object] = {
            "category": self.categories,
            "group": self.groups,
            "area": self.areas,
        }[kind]  # type: ignore[assignment]
        if value in table:
            return value
        return self._label_index.get(f"{kind}:{value}")


def _tuple(values: object) -> tuple[str, ...]:
    if not values:
        return ()
    return tuple(str(v) for v in values)  # type: ignore[attr-defined]


def load_taxonomy(path: Path) -> Taxonomy:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    categories = {
        str(c["code"]): Category(
            code=str(c["code"]),
            label=str(c["label"]),
            description=str(c.get("description") or ""),
            keywords=_tuple(c.get("keywords")),
            phrasings=_tuple(c.get("phrasings")),
        )
        for c in raw["categories"]
    }
    groups = {
        str(g["code"]): Group(
            code=str(g["code"]),
            label=str(g["label"]),
            description=str(g.get("description") or ""),
            keywords=_tuple(g.get("keywords")),
        )
        for g in raw["groups"]
    }
    areas = {
        str(a["code"]): Area(
            code=str(a["code"]),
            label=str(a["label"]),
            short=str(a.get("short") or ""),
            aliases=_tuple(a.get("aliases")),
        )
        for a in raw["areas"]
    }
    index: dict[str, str] = {}
    for kind, table in (("category", categories), ("group", groups), ("area", areas)):
        for code, item in table.items():
            names = [item.label]
            if isinstance(item, Area):
                names.append(item.short)
            for name in names:
                if name:
                    index.setdefault(f"{kind}:{name}", code)
            for part in item.label.replace("（", "/").replace("(", "/").split("/"):
                part = part.strip("）) ")
                if part:
                    index.setdefault(f"{kind}:{part}", code)
    return Taxonomy(categories=categories, groups=groups, areas=areas, _label_index=index)


@lru_cache
def get_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy of the configured catalog folder (cached)."""
    if path is None:
        from assistant.config import get_settings

        path = get_settings().catalog_dir / "taxonomy.yaml"
    return load_taxonomy(path)
