"""Catalog edits reach matching at once and Chroma (the index of record) through one background writer.

The mirror, BM25 and mask columns change before ``catalog.update`` returns; the Chroma writes follow in
the order the edits were made, ``flush`` waits for them, and a write that fails is reported by the index
check and mended by the next sync. Chroma is real throughout; one test makes its writes fail on purpose.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from assistant.app.container import Container
from assistant.matching.engine import MatchingEngine
from assistant.matching.types import MatchRequest
from assistant.matching.vector_index import ChromaWrite, VectorIndex, metadata_for, resource_text, text_hash
from assistant.taxonomy import get_taxonomy
from tests.utils.factories import add_resource, edit_resource, remove_resource

YX = "420222"
ELDERLY_MEAL = MatchRequest(text="老人做饭困难", county=YX, groups=["elderly"], age=75)


def _add(container: Container, rid: str, **fields: object) -> None:
    add_resource(container, rid, county=YX, **fields)


_edit, _remove = edit_resource, remove_resource


def _matched(engine: MatchingEngine) -> set[str]:
    return {
        m.resource_id for need in engine.match(ELDERLY_MEAL, record_unmet=False).needs for m in need.matches
    }


def _chroma(collection: Any) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """Everything the collection holds, by id: (vector, metadata)."""
    got = collection.get(include=["embeddings", "metadatas"])
    vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
    return {rid: (vectors[i], dict(got["metadatas"][i])) for i, rid in enumerate(got["ids"])}


def _built_from_store(
    engine: MatchingEngine, container: Container
) -> dict[str, tuple[np.ndarray, dict[str, Any]]]:
    """What a fresh build writes for the store as it is now: each passage's vector and metadata."""
    out = {}
    for resource in container.catalog.all():
        text = resource_text(resource, engine.taxonomy)
        out[resource["id"]] = (
            engine.embedder.embed_passages([text])[0],
            metadata_for(resource, text_hash(text)),
        )
    return out


def _assert_same(got: dict[str, tuple[np.ndarray, dict[str, Any]]], want: dict[str, Any]) -> None:
    assert set(got) == set(want)
    for rid, (vector, meta) in want.items():
        np.testing.assert_allclose(got[rid][0], vector, atol=1e-6, err_msg=rid)
        assert got[rid][1] == meta, rid


@contextmanager
def _writer_held(index: VectorIndex) -> Iterator[None]:
    """Keep the background writer busy, so what an edit did before Chroma catches up can be observed."""
    gate = threading.Event()
    assert index._writer is not None
    index._writer.submit(ChromaWrite("metadata", (), gate.wait))
    try:
        yield
    finally:
        gate.set()


def test_an_edit_is_matched_at_once_and_chroma_holds_it_after_flush(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    engine = engine_with_hash
    _add(container, "meal-1")
    _add(container, "meal-2")
    assert engine.flush() and _matched(engine) == {"meal-1", "meal-2"}
    index = engine.index
    assert index is not None
    before = _chroma(index._collection)

    with _writer_held(index):
        _edit(container, "meal-1", description="为辖区老年人提供午餐和晚餐，周六上午加开一班。")
        _edit(container, "meal-2", capacity={"available": 0, "maximum": 30})
        # Matching already sees both edits: meal-2 is full, meal-1's mirror vector is the new passage's.
        assert _matched(engine) == {"meal-1"}
        new_text = resource_text(container.catalog.get("meal-1"), engine.taxonomy)
        np.testing.assert_allclose(
            index.matrix[index.row["meal-1"]], engine.embedder.embed_passages([new_text])[0], atol=1e-6
        )
        # … while Chroma still holds the old vector and metadata: the edit did not wait for it.
        _assert_same(_chroma(index._collection), before)

    assert engine.flush(timeout=30)
    _assert_same(_chroma(index.collection), _built_from_store(engine, container))
    assert index.unsynced() == {} and engine.check_index().ok


def test_edits_and_deletes_in_any_order_leave_chroma_equal_to_a_fresh_build(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    engine = engine_with_hash
    rng = random.Random(5)
    ids = [f"res-{i}" for i in range(6)]
    for rid in ids[:4]:
        _add(container, rid)
    for step in range(40):
        rid = rng.choice(ids)
        exists = rid in container.catalog.get_many([rid])
        action = rng.choice(["text", "capacity", "status", "remove"]) if exists else "add"
        if action == "add":
            _add(container, rid, description=f"第{step}次新增的助餐服务。")
        elif action == "text":
            _edit(container, rid, description=f"第{step}次修订：{rng.choice(['午餐', '晚餐', '送餐上门'])}。")
        elif action == "capacity":
            _edit(container, rid, capacity={"available": rng.randint(0, 3), "maximum": 30})
        elif action == "status":
            _edit(container, rid, status=rng.choice(["active", "temporarily closed"]))
        else:
            _remove(container, rid)

    assert engine.flush(timeout=30)
    index = engine.index
    assert index is not None
    incremental = _chroma(index.collection)
    _assert_same(incremental, _built_from_store(engine, container))
    assert engine.check_index().ok
    # A new process reloads exactly the mirror this process holds …
    reloaded = VectorIndex(engine.client, engine.embedder.identity, engine.embedder.dimension)
    reloaded.load()
    assert {rid: index.entries[rid].metadata for rid in index.ids} == {
        rid: reloaded.entries[rid].metadata for rid in reloaded.ids
    }
    np.testing.assert_allclose(
        index.matrix[[index.row[rid] for rid in sorted(index.row)]],
        reloaded.matrix[[reloaded.row[rid] for rid in sorted(reloaded.row)]],
        atol=1e-6,
    )
    # … and a real rebuild from the store writes the same collection.
    engine.rebuild_index()
    assert engine.index is not None
    _assert_same(_chroma(engine.index.collection), incremental)


class _WritesFail:
    """The real collection, except that its writes raise (as a full disk or a locked store would) while
    ``failing`` is set. Reads, and writes after it is cleared, go to Chroma."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failing = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _write(self, method: str, **kwargs: Any) -> Any:
        if self.failing:
            raise OSError("No space left on device")
        return getattr(self.real, method)(**kwargs)

    def upsert(self, **kwargs: Any) -> Any:
        return self._write("upsert", **kwargs)

    def update(self, **kwargs: Any) -> Any:
        return self._write("update", **kwargs)

    def delete(self, **kwargs: Any) -> Any:
        return self._write("delete", **kwargs)


def test_a_failed_background_write_is_logged_reported_and_mended_by_sync(
    engine_with_hash: MatchingEngine,
    container: Container,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = engine_with_hash
    for rid in ("meal-1", "meal-2", "meal-3"):
        _add(container, rid)
    index = engine.index
    assert index is not None and engine.flush()
    faulty = _WritesFail(index._collection)
    monkeypatch.setattr(index, "_collection", faulty)

    with caplog.at_level(logging.ERROR, logger="assistant.matching.vector_index"):
        _edit(container, "meal-1", description="改为只提供晚餐。")  # vector + metadata write fails
        _edit(container, "meal-2", capacity={"available": 0, "maximum": 30})  # metadata write fails
        _remove(container, "meal-3")  # delete fails
        assert _matched(engine) == {"meal-1"}  # the edits themselves went through, and matching sees them
        report = engine.check_index()
    assert [r.levelname for r in caplog.records].count("ERROR") == 3
    assert "assistant index check" in caplog.records[0].getMessage()
    assert (report.stale_text, report.stale_metadata, report.extra) == (["meal-1"], ["meal-2"], ["meal-3"])
    assert not report.ok
    assert set(_chroma(faulty.real)) == {"meal-1", "meal-2", "meal-3"}  # Chroma really is behind

    faulty.failing = False  # the disk has room again
    mended = engine.sync()
    assert (mended.stale_text, mended.stale_metadata, mended.extra) == (["meal-1"], ["meal-2"], ["meal-3"])
    assert engine.check_index().ok and index.unsynced() == {}
    _assert_same(_chroma(faulty.real), _built_from_store(engine, container))
    assert _matched(engine) == {"meal-1"}


def test_writes_lost_with_the_process_are_found_and_mended_by_the_next_start(
    engine_with_hash: MatchingEngine,
    container: Container,
    hash_embedder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``assistant index check`` and the start-up sync of a new process see: Chroma's content hashes."""
    engine = engine_with_hash
    for rid in ("meal-1", "meal-2", "meal-3"):
        _add(container, rid)
    index = engine.index
    assert index is not None and engine.flush()
    monkeypatch.setattr(index, "_collection", _WritesFail(index._collection))
    _edit(container, "meal-1", description="改为只提供晚餐。")
    _edit(container, "meal-2", capacity={"available": 0, "maximum": 30})
    _remove(container, "meal-3")
    engine.close()  # the process ends with the writes failed

    later = MatchingEngine(container.settings, container.db, container.catalog, hash_embedder, get_taxonomy())
    try:
        report = later.check_index()
        assert (report.stale_text, report.stale_metadata, report.extra) == (
            ["meal-1"],
            ["meal-2"],
            ["meal-3"],
        )
        later.sync()
        assert later.check_index().ok
        assert later.index is not None
        _assert_same(_chroma(later.index.collection), _built_from_store(later, container))
    finally:
        later.close()


def test_close_drains_the_queue_and_later_writes_are_synchronous(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    engine = engine_with_hash
    _add(container, "meal-1")
    index = engine.index
    assert index is not None and index._writer is not None
    thread = index._writer._thread
    with _writer_held(index):
        _edit(container, "meal-1", description="周末也开放。")
    engine.close()
    assert thread is not None and not thread.is_alive()
    stored = _chroma(index._collection)["meal-1"][1]
    assert stored["content_hash"] == index.entries["meal-1"].content_hash
    with index.writing_behind():  # the writer is closed: written at once
        index.update_metadata(["meal-1"], [stored | {"has_capacity": False}])
    assert _chroma(index._collection)["meal-1"][1]["has_capacity"] is False


def test_an_existing_collection_is_opened_with_a_short_chroma_log(engine_with_hash: MatchingEngine) -> None:
    """Chroma writes slow down as its unpersisted log grows; an index opened on an older collection (default
    ``sync_threshold`` 1000) lowers it, with the content untouched."""
    from assistant.matching.vector_index import HNSW_SYNC_THRESHOLD

    client, identity = engine_with_hash.client, engine_with_hash.embedder.identity
    old = client.create_collection(
        "older",
        embedding_function=None,
        metadata={"hnsw:space": "cosine", "embedder": identity, "dimension": 64},
    )
    old.add(ids=["a"], embeddings=np.ones((1, 64), dtype=np.float32), metadatas=[{"content_hash": "x"}])
    assert old.configuration["hnsw"]["sync_threshold"] > HNSW_SYNC_THRESHOLD
    index = VectorIndex(client, identity, 64, name="older")
    index.load()
    assert client.get_collection("older").configuration["hnsw"]["sync_threshold"] == HNSW_SYNC_THRESHOLD
    assert index.ids == ["a"] and index.entries["a"].content_hash == "x"
