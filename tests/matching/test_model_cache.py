"""Need models kept on disk: the second start loads instead of fitting; any input change fits afresh."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.matching import classifier as classifier_module
from assistant.matching.classifier import ClauseClassifier
from assistant.matching.model_cache import content_key, load_or_fit
from assistant.taxonomy import get_taxonomy

CATALOG = Path(__file__).resolve().parents[2] / "catalog"


def test_load_or_fit_fits_once_then_loads_and_survives_a_corrupt_file(tmp_path: Path) -> None:
    calls: list[int] = []

    def fit() -> dict[str, int]:
        calls.append(1)
        return {"weights": len(calls)}

    key = content_key([b"exemplars", "rules"])
    assert load_or_fit(tmp_path, "m", key, fit) == {"weights": 1}
    assert load_or_fit(tmp_path, "m", key, fit) == {"weights": 1} and len(calls) == 1  # loaded, not fitted
    (tmp_path / f"m-{key}.joblib").write_bytes(b"not a model")
    assert load_or_fit(tmp_path, "m", key, fit) == {"weights": 2}  # unreadable → fitted again, rewritten
    other = content_key([b"exemplars edited", "rules"])
    assert other != key
    load_or_fit(tmp_path, "m", other, fit)
    assert [p.name for p in tmp_path.glob("m-*.joblib")] == [f"m-{other}.joblib"]  # stale model removed
    assert not list(tmp_path.glob(".*.tmp"))


def test_clause_classifier_from_disk_equals_the_fitted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exemplars = tmp_path / "catalog"
    exemplars.mkdir()
    shutil.copy(CATALOG / "need_exemplars.yaml", exemplars / "need_exemplars.yaml")
    taxonomy = get_taxonomy()
    cache = tmp_path / "models"
    fitted = ClauseClassifier.train(exemplars / "need_exemplars.yaml", taxonomy, cache_dir=cache)
    assert fitted is not None and len(list(cache.glob("clause-classifier-*.joblib"))) == 1

    monkeypatch.setattr(classifier_module, "_TRAINED", {})  # a new process
    monkeypatch.setattr(ClauseClassifier, "_fit", classmethod(lambda *a, **k: pytest.fail("fitted again")))
    loaded = ClauseClassifier.train(exemplars / "need_exemplars.yaml", taxonomy, cache_dir=cache)
    clauses = ["一个人做不了饭", "家里很干净", "想找份工作"]
    assert loaded is not None and loaded.classes == fitted.classes
    assert (loaded.probabilities(clauses) == fitted.probabilities(clauses)).all()

    # an edited exemplar file is a different model: fitted, not loaded
    monkeypatch.setattr(classifier_module, "_TRAINED", {})
    with (exemplars / "need_exemplars.yaml").open("a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    with pytest.raises(pytest.fail.Exception, match="fitted again"):
        ClauseClassifier.train(exemplars / "need_exemplars.yaml", taxonomy, cache_dir=cache)


def test_engine_uses_the_configured_c_and_keeps_its_models_in_the_data_dir(  # type: ignore[no-untyped-def]
    container, hash_embedder, monkeypatch: pytest.MonkeyPatch
):
    from assistant.matching.engine import MatchingEngine

    monkeypatch.setattr(classifier_module, "_TRAINED", {})  # as in a fresh process
    monkeypatch.setattr(classifier_module, "_POLARITY", {})
    settings = container.settings.model_copy(update={"classifier_c": 2.0})
    engine = MatchingEngine(settings, container.db, container.catalog, hash_embedder, get_taxonomy())
    try:
        classifier = engine.rule_extractor.classifier
        assert classifier is not None and classifier.model.C == 2.0
        models = settings.data_dir / "models"
        assert len(list(models.glob("clause-classifier-*.joblib"))) == 1
        assert len(list(models.glob("polarity-*.joblib"))) == 1
    finally:
        engine.close()


def test_fast_probabilities_equal_scikit_learns() -> None:
    from assistant.config import Settings
    from assistant.matching.classifier import MET
    from assistant.matching.needs import Rules, train_polarity

    settings, taxonomy = Settings(), get_taxonomy()
    texts = ["一个人做不了饭", "家里很干净", "想找份工作", "饭菜衣服都□了", "老伴讲她夜里冇睡过一个整觉", ""]
    clf = ClauseClassifier.train(settings.catalog_dir / "need_exemplars.yaml", taxonomy)
    assert clf is not None
    expected = clf.model.predict_proba(clf.vectorizer.transform(texts))
    assert clf.probabilities(texts) == pytest.approx(expected, abs=1e-12)
    polarity = train_polarity(
        settings.catalog_dir / "need_exemplars.yaml",
        Rules.load(settings.catalog_dir / "need_cues.yaml", taxonomy),
    )
    assert polarity is not None
    met = list(polarity.model.classes_).index(MET)
    expected_met = polarity.model.predict_proba(polarity.vectorizer.transform(texts))[:, met]
    assert polarity.met_probability(texts) == pytest.approx(expected_met, abs=1e-12)


def test_rules_fingerprint_follows_the_rule_file_and_the_taxonomy_words(tmp_path: Path) -> None:
    from assistant.matching.needs import Rules
    from assistant.taxonomy.model import load_taxonomy

    taxonomy = get_taxonomy()
    rules = Rules.load(CATALOG / "need_cues.yaml", taxonomy)
    assert rules.fingerprint == Rules.load(CATALOG / "need_cues.yaml", taxonomy).fingerprint

    edited_rules = tmp_path / "need_cues.yaml"
    edited_rules.write_text(
        (CATALOG / "need_cues.yaml").read_text(encoding="utf-8") + "\n# 改\n", encoding="utf-8"
    )
    assert Rules.load(edited_rules, taxonomy).fingerprint != rules.fingerprint

    # the polarity model finds its cues with the taxonomy's keywords too: a new keyword is a new model
    text = (CATALOG / "taxonomy.yaml").read_text(encoding="utf-8")
    edited_taxonomy = tmp_path / "taxonomy.yaml"
    edited_taxonomy.write_text(
        text.replace("keywords: [助餐,", "keywords: [助餐, 管饭,", 1), encoding="utf-8"
    )
    assert (
        Rules.load(CATALOG / "need_cues.yaml", load_taxonomy(edited_taxonomy)).fingerprint
        != rules.fingerprint
    )
