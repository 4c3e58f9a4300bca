"""The vector index: Chroma (persistent by default, a server by ``ASSISTANT_CHROMA_URL``) plus an in-process
mirror of the same vectors for exact, filtered scoring on the hot path.

Chroma is the index of record: vectors and eligibility metadata persist there, ``where`` filters express
the eligibility rule (``eligibility.chroma_where``, checked against the in-process mask by a test), and a new process reloads the mirror from it
instead of re-embedding. The collection records the embedder identity and dimension; opening it with a
different embedder is refused (``IndexMismatch``) so vectors of two models are never mixed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
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


class VectorIndex:
    """Chroma collection + mirror matrix, kept row-aligned by id."""

    def __init__(self, client: Any, embedder_identity: str, dimension: int, name: str = COLLECTION) -> None:
        self.client = client
        self.identity = embedder_identity
        self.dimension = dimension
        self.name = name
        # Always embedding_function=None: we pass our own vectors and Chroma must not fetch its default model.
        self.collection = client.get_or_create_collection(
            name,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder_identity, "dimension": dimension},
        )
        stored = self.collection.metadata or {}
        if (
            stored.get("embedder") != embedder_identity
            or int(stored.get("dimension", dimension)) != dimension
        ):
            raise IndexMismatch(
                f"索引由 {stored.get('embedder')}（{stored.get('dimension')} 维）建立，当前嵌入模型为 "
                f"{embedder_identity}（{dimension} 维）：请运行 assistant index rebuild"
            )
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self.matrix: Vectors = np.zeros((0, dimension), dtype=np.float32)
        self.entries: dict[str, StoredEntry] = {}

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

    def upsert(
        self, ids: Sequence[str], vectors: Vectors, metadatas: Sequence[dict[str, Any]], batch: int = 512
    ) -> None:
        for start in range(0, len(ids), batch):
            end = start + batch
            self.collection.upsert(
                ids=list(ids[start:end]), embeddings=vectors[start:end], metadatas=list(metadatas[start:end])
            )
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
        self.collection.update(ids=list(ids), metadatas=list(metadatas))
        for rid, meta in zip(ids, metadatas, strict=True):
            self.entries[rid] = StoredEntry(meta["content_hash"], dict(meta))

    def delete(self, ids: Sequence[str]) -> None:
        ids = [i for i in ids if i in self.row]
        if not ids:
            return
        self.collection.delete(ids=ids)
        gone = set(ids)
        keep = [i for i, rid in enumerate(self.ids) if rid not in gone]
        self.ids = [self.ids[i] for i in keep]
        self.matrix = self.matrix[keep]
        self.row = {rid: i for i, rid in enumerate(self.ids)}
        for rid in ids:
            self.entries.pop(rid, None)

    def count(self) -> int:
        return int(self.collection.count())

    def scores(self, vectors: Vectors) -> np.ndarray:
        """Exact cosine similarities of query vectors against every mirrored resource: (queries, resources)."""
        if len(self.ids) == 0:
            return np.zeros((len(vectors), 0), dtype=np.float32)
        return vectors @ self.matrix.T
