"""A clause classifier for needs: character n-gram TF-IDF + multinomial logistic regression.

Trained at start-up (about a second) on ``catalog/need_exemplars.yaml`` — short clauses per category and a
``none`` class of background facts, denials and met needs — plus the taxonomy's phrasings. Character
n-grams carry over to wordings no rule lists ("洗不了澡", "饭都懒得弄") and to typos, and need no
embedding, so classifying every clause costs microseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from assistant.matching.model_cache import content_key, load_or_fit
from assistant.taxonomy import Taxonomy

NONE = "none"
_TRAINED: dict[tuple[object, ...], ClauseClassifier | None] = {}


@dataclass
class ClauseClassifier:
    vectorizer: TfidfVectorizer
    model: LogisticRegression
    classes: list[str]

    @classmethod
    def train(
        cls, exemplars_path: Path, taxonomy: Taxonomy, c: float = 8.0, cache_dir: Path | None = None
    ) -> ClauseClassifier | None:
        """Fit on the exemplar files (none → no classifier; the rules still work).

        Fitted once per process and file content: engines built later reuse the model; with ``cache_dir``
        the fitted model is also kept on disk for the next start (``model_cache``).
        """
        if not exemplars_path.exists():
            return None
        key = (exemplar_stamps(exemplars_path), id(taxonomy), c)  # in memory: whatever the cache dir
        if key not in _TRAINED:
            phrasings = [
                f"{code}:{text}" for code, cat in taxonomy.categories.items() for text in cat.phrasings
            ]
            disk_key = content_key([*exemplar_contents(exemplars_path), "\n".join(phrasings), repr(c)])
            _TRAINED[key] = load_or_fit(
                cache_dir, "clause-classifier", disk_key, lambda: cls._fit(exemplars_path, taxonomy, c)
            )
        return _TRAINED[key]

    @classmethod
    def _fit(cls, exemplars_path: Path, taxonomy: Taxonomy, c: float) -> ClauseClassifier | None:
        texts: list[str] = []
        labels: list[str] = []
        # need_exemplars.yaml (hand-written) and its siblings, e.g. need_exemplars_dev.yaml
        # (clauses derived from the dev cases by scripts/derive_exemplars.py).
        nones: list[str] = []
        for path in exemplar_files(exemplars_path):
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for code, items in (raw.get("categories") or {}).items():
                if code in taxonomy.categories:
                    texts.extend(str(t) for t in items or [])
                    labels.extend([code] * len(items or []))
            nones.extend(str(t) for t in raw.get(NONE) or [])
        for code, category in taxonomy.categories.items():
            for text in category.phrasings:
                texts.append(text)
                labels.append(code)
        texts.extend(nones)
        labels.extend([NONE] * len(nones))
        if len(set(labels)) < 2:
            return None
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        matrix = vectorizer.fit_transform(texts)
        model = LogisticRegression(
            C=c, solver="saga", max_iter=300, random_state=0
        )  # saga: ~1 s here, lbfgs ~20 s
        model.fit(matrix, labels)
        return cls(vectorizer, model, [str(x) for x in model.classes_])

    def probabilities(self, clauses: list[str]) -> np.ndarray:
        """(clauses, classes) probabilities; column order is ``self.classes``."""
        if not clauses:
            return np.zeros((0, len(self.classes)))
        scores = _features(self.vectorizer, clauses) @ self.model.coef_.T + self.model.intercept_
        return _softmax(np.asarray(scores))

    def predict(self, clauses: list[str], threshold: float) -> list[tuple[str, float] | None]:
        """The best non-``none`` category per clause when its probability reaches ``threshold``."""
        out: list[tuple[str, float] | None] = []
        for row in self.probabilities(clauses):
            order = np.argsort(-row)
            best = next((i for i in order if self.classes[i] != NONE), None)
            if best is not None and row[best] >= threshold and row[best] >= row[self.classes.index(NONE)]:
                out.append((self.classes[best], float(row[best])))
            else:
                out.append(None)
        return out


MET = "met"  # polarity label: a mention of a need that the text says is met, refused or not there
NEEDED = "need"
_POLARITY: dict[tuple[object, ...], PolarityClassifier | None] = {}


@dataclass
class PolarityClassifier:
    """Is a mention of a need a need, or said to be met / refused ("饭菜衣服都包了", "洗澡是助浴车每月来")?

    Trained on the clause around each category cue with the cue itself masked (``□``), so it learns the
    predicate ("都包了", "做着", "想有人") rather than the topic. Rows come from the exemplar files: the
    hand-written clauses (a need clause with a cue of its category → need, a ``none`` clause with a cue → met)
    and the ``polarity`` section that ``scripts/derive_exemplars.py`` writes from labelled dev cases.
    """

    vectorizer: TfidfVectorizer
    model: LogisticRegression

    @classmethod
    def train(
        cls,
        key: tuple[object, ...],
        make_rows: Callable[[], list[tuple[str, str]]],
        cache_dir: Path | None = None,
        disk_key: str = "",
    ) -> PolarityClassifier | None:
        """Fitted once per process and key (the exemplar files and their mtimes); on disk under ``disk_key``."""
        if key not in _POLARITY:
            _POLARITY[key] = load_or_fit(
                cache_dir if disk_key else None, "polarity", disk_key, lambda: cls._fit(make_rows())
            )
        return _POLARITY[key]

    @classmethod
    def _fit(cls, rows: list[tuple[str, str]]) -> PolarityClassifier | None:
        if {label for _, label in rows} != {MET, NEEDED}:
            return None
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        matrix = vectorizer.fit_transform([text for text, _ in rows])
        model = LogisticRegression(
            C=2.0, solver="liblinear", class_weight="balanced", max_iter=2000, random_state=0
        )
        model.fit(matrix, [label for _, label in rows])
        return cls(vectorizer, model)

    def met_probability(self, masked: list[str]) -> np.ndarray:
        if not masked:
            return np.zeros(0)
        decision = (
            np.asarray(_features(self.vectorizer, masked) @ self.model.coef_.T).ravel()
            + self.model.intercept_[0]
        )
        positive = 1.0 / (1.0 + np.exp(-decision))  # probability of classes_[1]
        return positive if self.model.classes_[1] == MET else 1.0 - positive


# Called once or twice per assessment on a few short clauses: scikit-learn's per-call input validation costs more
# than the arithmetic, so the fitted weights are applied directly (a test holds this equal to predict_proba).
def _features(vectorizer: TfidfVectorizer, texts: list[str]) -> Any:
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        return vectorizer.transform(texts)


def _softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    return scores / scores.sum(axis=1, keepdims=True)


def exemplar_files(exemplars_path: Path) -> list[Path]:
    """``need_exemplars.yaml`` and its siblings (``need_exemplars_dev.yaml`` …), in a stable order."""
    return sorted(exemplars_path.parent.glob(f"{exemplars_path.stem}*.yaml"))


def exemplar_contents(exemplars_path: Path) -> list[bytes]:
    """The bytes of every exemplar file: what a model kept on disk is keyed on (``model_cache``)."""
    return [p.read_bytes() for p in exemplar_files(exemplars_path)]


def exemplar_stamps(exemplars_path: Path) -> tuple[tuple[str, int], ...]:
    """Each exemplar file with its mtime: the cache key of the models trained on them."""
    return tuple((str(p), p.stat().st_mtime_ns) for p in exemplar_files(exemplars_path))
