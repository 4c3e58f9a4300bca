"""Catalog edits reach the derived index incrementally, and the result equals a fresh build.

BM25 postings, mask columns and place names are updated only for the resources a change names; after any
sequence of additions, edits and removals they must equal what a fresh build on the same documents gives
(the index is always rebuildable from the store, so an incremental update may never drift from a rebuild).
"""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from assistant.app.container import Container
from assistant.matching.engine import MatchingEngine
from assistant.matching.lexical import LexicalIndex
from assistant.matching.tokenize import tokens
from assistant.matching.types import Person
from assistant.taxonomy import get_taxonomy
from tests.utils.factories import add_resource, edit_resource, remove_resource

YX, DY = "420222", "420281"
PHRASES = [
    "老年幸福食堂",
    "送餐上门",
    "助浴服务",
    "上门照护",
    "康复训练",
    "心理疏导",
    "留守儿童课业辅导",
    "就业技能培训",
    "法律援助",
    "适老化改造",
    "辅具租赁",
    "阳新县富池镇",
    "每周二、四下午",
    "低保对象优先",
    "",
]
QUERIES = [
    "独居老人做饭困难；需要助餐服务",
    "孩子放学没人辅导作业；需要课业辅导/教育帮扶服务",
    "卫生间摔倒过，想装扶手；需要适老化/无障碍改造服务",
    "康复康复训练训练",  # repeated tokens count once per occurrence, as in bm25s
    "完全无关的词语 xyz",
]


def _text(rng: random.Random) -> str:
    return "。".join(rng.choice(PHRASES) for _ in range(rng.randint(0, 6)))


def _by_id(index: LexicalIndex, query: str) -> dict[str, float]:
    scores = index.scores(query)
    return {rid: float(scores[slot]) for rid, slot in index.row.items()}


def test_incremental_bm25_equals_a_fresh_build_and_bm25s() -> None:
    rng = random.Random(7)
    docs = {f"r{i}": _text(rng) for i in range(40)}
    index = LexicalIndex()
    index.set_documents(docs)
    for step in range(200):
        rid = f"r{rng.randrange(50)}"
        if rng.random() < 0.25:
            docs.pop(rid, None)
            index.delete([rid])
        else:
            docs[rid] = _text(rng)
            index.upsert({rid: docs[rid]})
        if step % 50 == 0:  # a batch change too, and a no-op re-send of unchanged texts
            batch = {f"r{rng.randrange(50)}": _text(rng) for _ in range(5)}
            docs.update(batch)
            index.upsert(batch | {k: docs[k] for k in list(docs)[:3]})

    fresh = LexicalIndex()
    fresh.set_documents(docs)
    order = list(docs)
    reference = bm25s.BM25()
    reference.index([tokens(docs[rid]) or ["_"] for rid in order], show_progress=False)
    assert set(index.row) == set(docs) and len(index) == len(docs)
    for query in QUERIES:
        got, want = _by_id(index, query), _by_id(fresh, query)
        assert got.keys() == want.keys()
        assert max(abs(got[rid] - want[rid]) for rid in got) <= 1e-6, query
        assert sorted(got, key=lambda r: (-got[r], r)) == sorted(want, key=lambda r: (-want[r], r))
        query_tokens = tokens(query)
        theirs = (
            reference.get_scores(query_tokens)
            if any(t in reference.vocab_dict for t in query_tokens)
            else np.zeros(len(order), dtype=np.float32)
        )
        np.testing.assert_allclose([got[rid] for rid in order], theirs, rtol=1e-5, atol=1e-6)


def test_removed_slots_are_reused_and_score_nothing() -> None:
    index = LexicalIndex()
    index.set_documents({"a": "老年幸福食堂送餐上门", "b": "助浴服务"})
    index.delete(["a"])
    assert index.ids == ["", "b"] and float(index.scores("送餐上门")[0]) == 0.0
    index.upsert({"c": "送餐上门"})
    assert index.ids == ["c", "b"] and float(index.scores("送餐上门")[0]) > 0.0
    index.delete(["b", "c"])
    assert len(index) == 0 and not index.scores("送餐").any()


def _add(container: Container, rid: str, **fields: object) -> None:
    add_resource(container, rid, county=YX, **fields)


_edit, _remove = edit_resource, remove_resource


def _derived(engine: MatchingEngine) -> dict[str, tuple[object, ...]]:
    """Per resource id: its mask columns, places and BM25 scores for a few queries."""
    assert engine.index is not None
    cols = engine.columns
    lexical = {q: engine.lexical.scores(q) for q in QUERIES[:3]}
    out: dict[str, tuple[object, ...]] = {}
    for row, rid in enumerate(engine.index.ids):
        slot = int(engine._lexical_rows[row])
        out[rid] = (
            tuple(cols.flags[:, row].tolist()),
            int(cols.min_age[row]),
            int(cols.max_age[row]),
            cols.places[row],
            engine.lexical.ids[slot],
            tuple(round(float(scores[slot]), 6) for scores in lexical.values()),
        )
    return out


@pytest.fixture
def no_rebuilds(engine_with_hash: MatchingEngine, monkeypatch: pytest.MonkeyPatch) -> MatchingEngine:
    """Edits must not fall back to a whole rebuild of BM25 or the columns."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a catalog edit rebuilt a derived index")

    monkeypatch.setattr(engine_with_hash.lexical, "set_documents", refuse)
    monkeypatch.setattr(engine_with_hash.columns, "rebuild", refuse)
    return engine_with_hash


def test_edits_update_only_their_rows_and_equal_a_fresh_engine(
    no_rebuilds: MatchingEngine, container: Container, hash_embedder: object
) -> None:
    engine = no_rebuilds
    _add(container, "meal-1")
    _add(container, "meal-2", address="富池镇幸福路2号")
    _add(
        container,
        "kids-1",
        categories=["tutoring", "child_care"],
        target_groups=["left_behind_child"],
        minimum_age=6,
        maximum_age=16,
    )
    _add(container, "dy-1", service_areas=[DY, "420200"], target_groups=[])
    _add(container, "gone-1")
    _edit(container, "meal-1", description="为辖区老年人提供午餐和晚餐，周六上午加开一班。")  # text: re-embed
    _edit(container, "meal-2", capacity={"available": 0, "maximum": 30})  # eligibility only
    _edit(container, "meal-2", address="白沙镇建设路8号")  # places only (not in the text)
    _edit(container, "kids-1", categories=["child_care", "tutoring"], maximum_age=14)  # primary changes
    container.catalog.delete("dy-1")  # soft: status defunct
    _remove(container, "gone-1")
    _add(container, "late-1", categories=["legal_aid"], target_groups=["dibao", "low_income"])

    assert engine.check_index().ok
    fresh = MatchingEngine(container.settings, container.db, container.catalog, hash_embedder, get_taxonomy())
    try:
        fresh.sync()
        assert fresh.index is not None and engine.index is not None
        assert (
            set(engine.index.ids) == set(fresh.index.ids) == {"meal-1", "meal-2", "kids-1", "dy-1", "late-1"}
        )
        assert _derived(engine) == _derived(fresh)
        for person in (
            Person(age=70, groups=["elderly"]),
            Person(age=9, groups=["left_behind_child"]),
            Person(age=None, groups=["dibao"]),
            Person(age=None, groups=[]),
        ):
            for county in (YX, DY):
                ours = {engine.index.ids[i] for i in np.flatnonzero(engine._mask(person, county))}
                theirs = {fresh.index.ids[i] for i in np.flatnonzero(fresh._mask(person, county))}
                assert ours == theirs, (person, county)
    finally:
        fresh.close()
