"""The vector index: Chroma (persistent by default, a server by ``ASSISTANT_CHROMA_URL``) plus an in-process
mirror of the same vectors for exact, filtered scoring on the hot path.

Chroma is the index of record: vectors and eligibility metadata persist there, ``where`` filters express
the eligibility rule (``eligibility.chroma_where``, checked against the in-process mask by a test), and a new process reloads the mirror from it
instead of re-embedding. The collection records the embedder identity and dimension; opening it with a
different embedder is refused (``IndexMismatch``) so vectors of two models are never mixed.

Writes are synchronous, except inside a ``writing_behind()`` block (a catalog edit): there the mirror,
which matching reads, changes at once, and one background thread (``ChromaWriter``) applies the Chroma
writes in the order they were made. ``flush`` waits until Chroma holds them all; anything that reads the
collection back flushes first. A background write that fails is logged and remembered (``unsynced``), so
the index check reports it as drift and the next sync mends it, as it mends drift found at start-up.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.matching.eligibility import has_capacity
from assistant.matching.embedders import Vectors
from assistant.taxonomy import Taxonomy

log = logging.getLogger(__name__)

COLLECTION = "resources"
NO_MIN_AGE, NO_MAX_AGE = -1, 999
# Chroma (1.x) keeps the records its HNSW files do not hold yet in a log, persists the HNSW files only every
# ``sync_threshold`` records (default 1000), and every write gets slower as that log grows: on the
# 5,000-resource bench store one single-resource write took ~8 ms with a short log and ~35-45 ms with ~900
# records pending. A threshold of 100 keeps writes near the low end (a 5,000-vector bulk load ran ~1.5x faster).
HNSW_SYNC_THRESHOLD = 100
EXIT_TIMEOUT_S = 60.0  # at interpreter exit, how long queued Chroma writes may take to drain

WriteKind = Literal["upsert", "metadata", "delete"]


class IndexMismatch(RuntimeError):
    """The stored index was built by another embedder; it must be rebuilt."""


def resource_text(resource: Mapping[str, Any], taxonomy: Taxonomy) -> str:
    """The passage embedded and BM25-indexed for a resource: what it does, for whom, by whom."""
    categories = "、".join(taxonomy.category_label(c) for c in resource.get("categories") or [])
    groups = "、".join(taxonomy.group_label(g) for g in resource.get("target_groups") or []) or "不限对象"
    parts = [
        str(resource.get("name") or ""),
        f"服务类别：{categories}",
        str(resource.get("brand") or ""),
        str(resource.get("description") or ""),
        f"服务对象：{groups}",
        str(resource.get("eligibility_description") or ""),
        str(resource.get("schedule_description") or ""),
    ]
    return "。".join(p for p in parts if p)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def metadata_for(resource: Mapping[str, Any], content_hash: str) -> dict[str, Any]:
    """Eligibility fields in the shape Chroma filters (list fields must be non-empty, one type)."""
    groups = list(resource.get("target_groups") or [])
    low, high = resource.get("minimum_age"), resource.get("maximum_age")
    return {
        "active": resource.get("status") == "active",
        "status": str(resource.get("status")),
        "has_capacity": has_capacity(resource),
        "service_areas": list(resource.get("service_areas") or ["none"]),
        "categories": list(resource.get("categories") or ["none"]),
        "primary_category": (resource.get("categories") or ["none"])[0],
        "target_groups": groups or ["_all"],
        "open_to_all": not groups,
        "minimum_age": NO_MIN_AGE if low is None else int(low),
        "maximum_age": NO_MAX_AGE if high is None else int(high),
        "content_hash": content_hash,
    }


def open_client(settings: Settings) -> Any:
    """Embedded persistent Chroma (telemetry off), or an ``HttpClient`` for a Chroma server."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


@dataclass
class StoredEntry:
    content_hash: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ChromaWrite:
    """One write to the collection: what it does (``kind``), to which ids, and the call that does it."""

    kind: WriteKind
    ids: tuple[str, ...]
    apply: Callable[[], None]


class ChromaWriter:
    """Applies Chroma writes on one background thread, strictly in the order they were submitted.

    The embedded Chroma bindings (1.x) hold the GIL while they write (~8-15 ms a write here), so every
    other Python thread pauses meanwhile. A write therefore waits ``delay`` seconds after its submission
    (unless someone flushes), letting the edit's own thread finish its request first; the writer takes
    Chroma off the edit's path, not off the process's CPU. The thread starts with the first write and
    stops on ``close`` (also at interpreter exit, after draining the queue).
    """

    def __init__(self, name: str, run: Callable[[ChromaWrite], None], delay: float = 0.02) -> None:
        self.name = name
        self.delay = delay
        self._run_one = run
        self._queue: deque[tuple[float, ChromaWrite]] = deque()
        self._busy = False
        self._flushing = 0  # threads in flush(): the writer does not wait out the delay for them
        self._stopping = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, write: ChromaWrite) -> None:
        with self._cond:
            if self._stopping:
                raise RuntimeError(f"{self.name} is closed")
            self._queue.append((time.monotonic(), write))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()
                atexit.register(self.close, EXIT_TIMEOUT_S)
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every submitted write has been applied (or has failed); False on timeout."""
        if threading.current_thread() is self._thread:  # a write reading back: it cannot wait for itself
            return True
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)
            finally:
                self._flushing -= 1

    def close(self, timeout: float | None = None) -> bool:
        """Drain the queue and stop the thread; False if writes were still pending after ``timeout``."""
        drained = self.flush(timeout)
        if not drained:
            log.warning(
                "%s: Chroma writes still queued after %s s; the next sync mends them", self.name, timeout
            )
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        atexit.unregister(self.close)
        return drained

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._stopping)
                if not self._queue:
                    return
                due = self._queue[0][0] + self.delay
                while (wait := due - time.monotonic()) > 0 and not (self._flushing or self._stopping):
                    self._cond.wait(wait)
                write = self._queue.popleft()[1]
                self._busy = True
            try:
                self._run_one(write)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


class VectorIndex:
    """Chroma collection + mirror matrix, kept row-aligned by id."""

    def __init__(self, client: Any, embedder_identity: str, dimension: int, name: str = COLLECTION) -> None:
        self.client = client
        self.identity = embedder_identity
        self.dimension = dimension
        self.name = name
        # Always embedding_function=None: we pass our own vectors and Chroma must not fetch its default model.
        self._collection = client.get_or_create_collection(
            name,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder_identity, "dimension": dimension},
        )
        stored = self._collection.metadata or {}
        if (
            stored.get("embedder") != embedder_identity
            or int(stored.get("dimension", dimension)) != dimension
        ):
            raise IndexMismatch(
                f"索引由 {stored.get('embedder')}（{stored.get('dimension')} 维）建立，当前嵌入模型为 "
                f"{embedder_identity}（{dimension} 维）：请运行 assistant index rebuild"
            )
        self._limit_unpersisted_log()
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self.matrix: Vectors = np.zeros((0, dimension), dtype=np.float32)
        # What the mirror holds; Chroma holds the same once flushed, except the ``unsynced`` ids.
        self.entries: dict[str, StoredEntry] = {}
        self._writer: ChromaWriter | None = ChromaWriter(f"chroma-writer-{name}", self._apply_logged)
        self._behind = False  # inside writing_behind()
        self._unsynced: dict[str, WriteKind] = {}
        self._unsynced_lock = threading.Lock()

    def _limit_unpersisted_log(self) -> None:
        """Lower the collection's ``hnsw.sync_threshold`` to ``HNSW_SYNC_THRESHOLD`` (see there)."""
        try:
            hnsw = (self._collection.configuration or {}).get("hnsw") or {}
            if int(hnsw.get("sync_threshold") or 0) > HNSW_SYNC_THRESHOLD:
                self._collection.modify(configuration={"hnsw": {"sync_threshold": HNSW_SYNC_THRESHOLD}})
        except Exception:  # an older Chroma server: slower writes, same content
            log.warning("could not lower the Chroma hnsw sync_threshold", exc_info=True)

    @property
    def collection(self) -> Any:
        """The Chroma collection, for reads: returned once every queued write has reached it."""
        self.flush()
        return self._collection

    @classmethod
    def recreate(
        cls, client: Any, embedder_identity: str, dimension: int, name: str = COLLECTION
    ) -> VectorIndex:
        """Drop the collection and start empty (a rebuild, or a model change)."""
        try:
            client.delete_collection(name)
        except Exception:
            log.debug("no collection %s to drop", name)
        return cls(client, embedder_identity, dimension, name)

    def load(self) -> None:
        """Fill the mirror from Chroma (start-up of a new process: no re-embedding)."""
        got = self.collection.get(include=["embeddings", "metadatas"])
        ids = list(got["ids"])
        vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(ids), self.dimension)
        self.ids, self.matrix = ids, vectors
        self.row = {rid: i for i, rid in enumerate(ids)}
        self.entries = {
            rid: StoredEntry(str(meta.get("content_hash", "")), dict(meta))
            for rid, meta in zip(ids, got["metadatas"] or [], strict=True)
        }

    # -- writes: Chroma (now, or behind) and the mirror ----------------------------------------------------

    @contextmanager
    def writing_behind(self) -> Iterator[None]:
        """Within the block, writes change the mirror at once and reach Chroma through the background writer
        (in order; ``flush`` waits for them). Like every write, for one thread at a time (the engine's lock)."""
        outer, self._behind = self._behind, True
        try:
            yield
        finally:
            self._behind = outer

    def upsert(
        self, ids: Sequence[str], vectors: Vectors, metadatas: Sequence[dict[str, Any]], batch: int = 512
    ) -> None:
        """Store vectors and metadata, in Chroma first, unless behind (see ``writing_behind``)."""
        ids = list(ids)
        vectors = np.array(vectors, dtype=np.float32)  # a copy: the queued write must not see later changes
        metadatas = [dict(m) for m in metadatas]

        def write() -> None:
            for start in range(0, len(ids), batch):
                end = start + batch
                self._collection.upsert(
                    ids=ids[start:end], embeddings=vectors[start:end], metadatas=metadatas[start:end]
                )

        self._write(ChromaWrite("upsert", tuple(ids), write))
        new_rows = []
        for rid, vector, meta in zip(ids, vectors, metadatas, strict=True):
            self.entries[rid] = StoredEntry(meta["content_hash"], dict(meta))
            if rid in self.row:
                self.matrix[self.row[rid]] = vector
            else:
                new_rows.append((rid, vector))
        if new_rows:
            start_row = len(self.ids)
            self.ids.extend(rid for rid, _ in new_rows)
            self.row.update({rid: start_row + i for i, (rid, _) in enumerate(new_rows)})
            self.matrix = np.vstack([self.matrix, np.stack([v for _, v in new_rows])]).astype(np.float32)

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        """Eligibility changed (status, capacity …) but the text did not: no re-embedding."""
        if not ids:
            return
        ids, metadatas = list(ids), [dict(m) for m in metadatas]
        self._write(
            ChromaWrite("metadata", tuple(ids), lambda: self._collection.update(ids=ids, metadatas=metadatas))
        )
        for rid, meta in zip(ids, metadatas, strict=True):
            self.entries[rid] = StoredEntry(meta["content_hash"], dict(meta))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove from Chroma and the mirror; also retries the Chroma delete of ids whose delete failed."""
        with self._unsynced_lock:
            stored = [i for i in ids if i in self.row or self._unsynced.get(i) == "delete"]
        if not stored:
            return
        self._write(ChromaWrite("delete", tuple(stored), lambda: self._collection.delete(ids=stored)))
        gone = set(stored)
        keep = [i for i, rid in enumerate(self.ids) if rid not in gone]
        self.ids = [self.ids[i] for i in keep]
        self.matrix = self.matrix[keep]
        self.row = {rid: i for i, rid in enumerate(self.ids)}
        for rid in stored:
            self.entries.pop(rid, None)

    def _write(self, write: ChromaWrite) -> None:
        """Behind: queue ``write`` for the background writer. Otherwise apply it now, after everything
        queued before it; a failure then raises to the caller before the mirror changes."""
        if self._behind and self._writer is not None:
            self._writer.submit(write)
            return
        self.flush()
        write.apply()
        self._settle(write, failed=False)

    def _apply_logged(self, write: ChromaWrite) -> None:
        """The background writer's step: a failure is logged and remembered, never raised."""
        try:
            write.apply()
        except Exception:
            log.exception(
                "Chroma %s of %d resource(s) failed (%s%s): the index has drifted until the next sync "
                "(assistant index check reports it)",
                write.kind,
                len(write.ids),
                ", ".join(write.ids[:5]),
                " …" if len(write.ids) > 5 else "",
            )
            self._settle(write, failed=True)
        else:
            self._settle(write, failed=False)

    def _settle(self, write: ChromaWrite, *, failed: bool) -> None:
        """Track ids whose Chroma copy is behind the mirror: an upsert or delete covers everything before
        it for its ids, a metadata update only an earlier failed metadata update."""
        with self._unsynced_lock:
            for rid in write.ids:
                before = self._unsynced.get(rid)
                if failed:
                    if not (write.kind == "metadata" and before in ("upsert", "delete")):
                        self._unsynced[rid] = write.kind
                elif write.kind != "metadata" or before == "metadata":
                    self._unsynced.pop(rid, None)

    def unsynced(self) -> dict[str, WriteKind]:
        """Ids whose last Chroma write failed, by the kind of that write (call after ``flush``)."""
        with self._unsynced_lock:
            return dict(self._unsynced)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until Chroma has every queued write (applied, or failed and remembered); False on timeout."""
        return self._writer.flush(timeout) if self._writer is not None else True

    def close(self, timeout: float | None = None) -> bool:
        """Drain the queue and stop the writer; later writes are applied synchronously."""
        writer, self._writer = self._writer, None
        return writer.close(timeout) if writer is not None else True

    def count(self) -> int:
        return int(self.collection.count())

    def scores(self, vectors: Vectors) -> np.ndarray:
        """Exact cosine similarities of query vectors against every mirrored resource: (queries, resources)."""
        if len(self.ids) == 0:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        return vectors @ self.matrix.T
