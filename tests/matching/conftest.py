"""Matching fixtures: a deterministic embedder for property tests (the eligibility rule does not depend on
the model), and the real bundled embedder for integration tests."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from assistant.matching.embedders import Vectors


class HashEmbedder:
    """Character-bigram hashing into 64 dimensions: deterministic, fast, similar texts land close."""

    identity = "test-hash-64"
    dimension = 64

    def _embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for a, b in itertools.pairwise(text):
                out[i, int(hashlib.md5((a + b).encode()).hexdigest(), 16) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> Vectors:
        return self._embed(texts)


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def engine_with_hash(container, hash_embedder):  # type: ignore[no-untyped-def]
    from assistant.matching.engine import MatchingEngine
    from assistant.taxonomy import get_taxonomy

    engine = MatchingEngine(
        container.settings, container.db, container.catalog, hash_embedder, get_taxonomy()
    )
    engine.sync()
    yield engine
    engine.close()
