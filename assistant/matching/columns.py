"""Eligibility and category fields as arrays aligned with the vector mirror's rows, for vectorised masks.

Kept row by row: an edited resource rewrites its row, a new one appends a row, a removed one drops its row
(in the mirror's order), so a catalog change costs a few array operations instead of a pass over the whole
catalog. Whatever the history of changes, the arrays equal those of a fresh build on the same resources
(a test holds them to it); if the rows ever stop following the mirror, they are rebuilt from the snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from assistant.matching.eligibility import has_capacity
from assistant.matching.vector_index import NO_MAX_AGE, NO_MIN_AGE
from assistant.taxonomy import Taxonomy
from assistant.taxonomy.model import CITYWIDE

log = logging.getLogger(__name__)

FLAGS = ("active", "capacity", "open_to_all", "county_specific")
Places = Callable[[Mapping[str, Any]], frozenset[str]]


class Columns:
    """One boolean row per feature (``flags[feature, row]``) and the age bounds, plus named views:
    ``active``, ``capacity``, ``open_to_all``, ``county_specific``, ``min_age``, ``max_age`` and per code
    ``area``, ``group``, ``category``, ``primary`` (first category); ``places`` are the towns and streets a
    resource's name or address names (``places_of``)."""

    def __init__(self, taxonomy: Taxonomy, places_of: Places) -> None:
        self.places_of = places_of
        self.codes = {
            "area": list(taxonomy.areas),
            "group": list(taxonomy.groups),
            "category": list(taxonomy.categories),
            "primary": list(taxonomy.categories),
        }
        features = [*FLAGS, *(f"{kind}:{code}" for kind, codes in self.codes.items() for code in codes)]
        self.feature = {name: i for i, name in enumerate(features)}
        self.ids: list[str] = []
        self.places: list[frozenset[str]] = []
        self.flags = np.zeros((len(features), 0), dtype=bool)
        self.ages = np.zeros((2, 0), dtype=np.int64)
        self._views()

    # -- keeping level with the mirror ---------------------------------------------------------------

    def rebuild(self, ids: Sequence[str], snapshot: Mapping[str, Mapping[str, Any]]) -> None:
        """Rows for ``ids`` (the mirror's order) from scratch."""
        resources = [snapshot.get(rid, {}) for rid in ids]
        self.ids = list(ids)
        self.places = [self.places_of(r) for r in resources]
        self.flags, self.ages = self._rows(resources)
        self._views()

    def follow(
        self,
        ids: list[str],
        row: Mapping[str, int],
        snapshot: Mapping[str, Mapping[str, Any]],
        changed: Sequence[str],
        removed: Sequence[str],
    ) -> None:
        """Follow the mirror (its rows ``ids``, id → row ``row``) after a change: drop the rows of
        ``removed``, append rows for the ids the mirror added at its end, rewrite the rows of ``changed``;
        rebuild everything if the rows disagree with the mirror anyway."""
        gone = set(removed)
        if gone:
            keep = [i for i, rid in enumerate(self.ids) if rid not in gone]
            self.ids = [self.ids[i] for i in keep]
            self.places = [self.places[i] for i in keep]
            self.flags, self.ages = self.flags[:, keep], self.ages[:, keep]
        added = ids[len(self.ids) :]
        if added:
            flags, ages = self._rows([snapshot.get(rid, {}) for rid in added])
            self.flags = np.concatenate([self.flags, flags], axis=1)
            self.ages = np.concatenate([self.ages, ages], axis=1)
            self.places += [self.places_of(snapshot.get(rid, {})) for rid in added]
            self.ids += added
        if self.ids != ids:
            log.warning("eligibility columns lost step with the vector mirror; rebuilding them")
            self.rebuild(ids, snapshot)
            return
        fresh = set(added)
        rewrite = [rid for rid in dict.fromkeys(changed) if rid in row and rid not in fresh]
        if rewrite:
            at = [row[rid] for rid in rewrite]
            self.flags[:, at], self.ages[:, at] = self._rows([snapshot.get(rid, {}) for rid in rewrite])
            for i, rid in zip(at, rewrite, strict=True):
                self.places[i] = self.places_of(snapshot.get(rid, {}))
        self._views()

    # -- rows ----------------------------------------------------------------------------------------

    def _features(self, resource: Mapping[str, Any]) -> list[int]:
        categories = resource.get("categories") or []
        areas = resource.get("service_areas") or []
        groups = resource.get("target_groups") or []
        names = [
            *(["active"] if resource.get("status") == "active" else []),
            *(["capacity"] if has_capacity(resource) else []),
            *(["open_to_all"] if not groups else []),
            *(["county_specific"] if CITYWIDE not in areas else []),
            *(f"area:{a}" for a in areas),
            *(f"group:{g}" for g in groups),
            *(f"category:{c}" for c in categories),
            *([f"primary:{categories[0]}"] if categories else []),
        ]
        return [self.feature[name] for name in names if name in self.feature]

    def _rows(self, resources: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        flags = np.zeros((len(self.feature), len(resources)), dtype=bool)
        for col, resource in enumerate(resources):
            flags[self._features(resource), col] = True
        ages = np.array(
            [
                [_age(r.get("minimum_age"), NO_MIN_AGE) for r in resources],
                [_age(r.get("maximum_age"), NO_MAX_AGE) for r in resources],
            ],
            dtype=np.int64,
        ).reshape(2, len(resources))
        return flags, ages

    def _views(self) -> None:
        for name in FLAGS:
            setattr(self, name, self.flags[self.feature[name]])
        self.min_age, self.max_age = self.ages[0], self.ages[1]
        for kind, codes in self.codes.items():
            setattr(self, kind, {code: self.flags[self.feature[f"{kind}:{code}"]] for code in codes})

    active: np.ndarray
    capacity: np.ndarray
    open_to_all: np.ndarray
    county_specific: np.ndarray
    min_age: np.ndarray
    max_age: np.ndarray
    area: dict[str, np.ndarray]
    group: dict[str, np.ndarray]
    category: dict[str, np.ndarray]
    primary: dict[str, np.ndarray]


def _age(value: Any, missing: int) -> int:
    return missing if value is None else int(value)
