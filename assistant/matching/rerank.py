"""Optional cross-encoder rerank (``ASSISTANT_RERANKER_MODEL``; needs the ``st`` extra)."""

from __future__ import annotations

from collections.abc import Sequence


class CrossEncoderReranker:
    def __init__(self, model_name: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(model_name, device="cpu")
        self.identity = model_name

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        return [float(s) for s in self.model.predict([(query, p) for p in passages])]
