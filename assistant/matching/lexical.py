"""BM25 over Chinese tokens (``bm25s``: sparse-matrix BM25, maintained)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import bm25s
import numpy as np

from assistant.matching.tokenize import tokens


class LexicalIndex:
    """Rebuilt from cached token lists on change: milliseconds for thousands of resources."""

    def __init__(self, tokenizer: Callable[[str], list[str]] = tokens) -> None:
        self.tokenizer = tokenizer
        self.docs: dict[str, list[str]] = {}
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self.model: bm25s.BM25 | None = None

    def set_documents(self, texts: dict[str, str]) -> None:
        self.docs = {rid: self.tokenizer(text) for rid, text in texts.items()}
        self._reindex()

    def upsert(self, texts: dict[str, str]) -> None:
        self.docs.update({rid: self.tokenizer(text) for rid, text in texts.items()})
        self._reindex()

    def delete(self, ids: Sequence[str]) -> None:
        for rid in ids:
            self.docs.pop(rid, None)
        self._reindex()

    def _reindex(self) -> None:
        self.ids = list(self.docs)
        self.row = {rid: i for i, rid in enumerate(self.ids)}
        if not self.ids:
            self.model = None
            return
        model = bm25s.BM25()
        model.index([self.docs[rid] or ["_"] for rid in self.ids], show_progress=False)
        self.model = model

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every document, aligned with ``self.ids``."""
        if self.model is None:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self.model.get_scores(self.tokenizer(query)), dtype=np.float32)
