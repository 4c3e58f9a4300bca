"""Shared by the bench scripts: a temporary store holding the seed catalog plus generated variants.

Only the public container API is used: ``Container``, ``catalog.import_resources`` and ``container.matcher``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.app.container import Container
from assistant.catalog.io import read_seed_dir, validate_rows
from assistant.catalog.schemas import ResourceData
from assistant.config import Settings

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "eval" / "cases.jsonl"

COUNTIES = ("420202", "420203", "420204", "420205", "420222", "420281")
STREETS = (
    "花湖",
    "胜阳港",
    "黄石港",
    "沈家营",
    "西塞山",
    "临江",
    "澄月",
    "八泉",
    "新下陆",
    "老下陆",
    "团城山",
    "东方山",
    "铁山",
    "金山",
    "兴国",
    "富池",
    "白沙",
    "陶港",
    "金湖",
    "灵乡",
    "还地桥",
)
SLOTS = ("工作日上午", "工作日下午", "周末全天", "每周二、四", "每月第一周", "预约上门")


def bench_settings(data_dir: Path) -> Settings:
    """Settings of a bench store. The embedding cache is off: every assessment a caseworker writes is new,
    so a cached vector would flatter the figures (and repeated timings would only measure the cache)."""
    return Settings(data_dir=data_dir, environment="test", embedding_cache_entries=0)


def seed_rows(settings: Settings) -> list[ResourceData]:
    valid, errors = validate_rows(read_seed_dir(settings.seed_catalog_dir))
    if errors:
        raise SystemExit(f"种子目录有错误：{errors[:3]}")
    return valid


def variants(seed: list[ResourceData], total: int) -> list[ResourceData]:
    """The seed, then copies with new ids, another street and schedule, until ``total`` resources."""
    rows = list(seed[:total])
    n = 0
    while len(rows) < total:
        base = seed[n % len(seed)]
        street = STREETS[n % len(STREETS)]
        county = COUNTIES[(n // len(seed)) % len(COUNTIES)]
        areas = base.service_areas if "420200" in base.service_areas else [county]
        rows.append(
            base.model_copy(
                update={
                    "id": f"{base.id}-v{n:05d}",
                    "name": f"{base.name}（{street}服务点）",
                    "description": f"{base.description} 本服务点设在{street}街道（乡镇），{SLOTS[n % len(SLOTS)]}提供服务。",
                    "service_areas": areas,
                    "schedule_description": SLOTS[n % len(SLOTS)],
                }
            )
        )
        n += 1
    return rows


@contextmanager
def temporary_container(resources: int, store: Path | None = None) -> Iterator[tuple[Container, float]]:
    """A container on a fresh temporary store with ``resources`` resources; yields it and the seconds the
    first index build took (the matcher is built, and its index synced, inside).

    With ``store``, the built store (catalog and index) is kept there, and a later run copies it instead of
    embedding the whole catalog again (then the figure is the start-up sync, not a cold build)."""
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        data = Path(tmp)
        reuse = store is not None and (store / "ready").exists()
        if reuse:
            assert store is not None
            shutil.copytree(store, data, dirs_exist_ok=True)
            (data / "ready").unlink()
        settings = bench_settings(data)
        container = Container(settings)
        try:
            if not reuse:
                report = container.catalog.import_resources(
                    variants(seed_rows(settings), resources), None, "bench"
                )
                if not report.ok:
                    raise SystemExit(f"导入失败：{report.errors[:3]}")
            elif (count := len(container.catalog.all())) != resources:
                raise SystemExit(f"{store} 中有 {count} 条资源，不是 {resources} 条")
            started = time.perf_counter()
            _ = container.matcher
            took = time.perf_counter() - started
            if store is not None and not reuse:  # keep a copy of the built store, closed so it is whole
                container.close()
                shutil.copytree(data, store, dirs_exist_ok=True)
                (store / "ready").touch()
                container = Container(settings)
                _ = container.matcher
            yield container, took
        finally:
            container.close()


def assessments(limit: int) -> list[dict[str, Any]]:
    """Labelled assessment texts with their facts (labels unused)."""
    rows = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
