"""Matching-quality metrics, computed per case and aggregated per configuration, split and category.

Definitions (the report repeats them):

* A result is read as a ranked list: need order, then match order within a need. Each entry is a
  (resource, need) pair; ``rank`` is the position of the resource within its need (1 = first).
* A resource *covers* category ``c`` when ``c`` is among the resource's ``categories`` and the need it was
  matched for has category ``c``. The whole-text baseline finds no needs: its result is read as one
  ranked list in score order; each resource keeps the category of the group it is shown under (the
  engine groups the baseline by primary category), and the groups are not counted as claimed needs.
  A need with no category at all covers whatever categories its resources carry.
* **need-category recall@k**: the share of expected (case, category) pairs for which some need of that
  category has a covering resource among its first ``k`` matches, or the result lists an unmet need of that
  category (an honest "no resource" still finds the need; that part is also reported as ``found_unmet@5``).
  ``flat_recall@k`` is the stricter reading over the first ``k`` entries of the whole flattened list.
* **absent false-positive rate**: the share of (case, absent category) pairs where that category appears
  as a need (met or unmet) or as the primary category of one of a need's first five resources.
* **eligibility violation rate**: the share of returned (need, resource) pairs whose resource, re-read from
  the catalog, is not eligible for the case's person the need is for (or no longer exists).
* **unmet-need rate**: unmet needs / all needs the result lists (met + unmet).
* **nDCG@5, nDCG@10, R@10** (``ir-measures``) on cases with graded ``relevant_resources``: the run is the
  flattened list with each resource kept at its first position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.evaluation.cases import APPLICANT, EvalCase
from assistant.matching.types import MatchResult, Person

K_VALUES = (1, 3, 5)
ABSENT_DEPTH = 5
IR_MEASURES = ("nDCG@5", "nDCG@10", "R@10")

EligibleFn = Callable[[dict[str, Any], Person, str], bool]


@dataclass(frozen=True)
class Ranked:
    """One entry of the flattened result."""

    resource_id: str
    categories: tuple[str, ...]
    need_index: int
    need_category: str  # "" when the need claims no category
    rank: int  # 1-based position within its need
    relation: str = APPLICANT
    age: int | None = None
    groups: tuple[str, ...] = ()
    score: float = 0.0

    def covers(self, category: str) -> bool:
        return category in self.categories and self.need_category in ("", category)

    @property
    def person(self) -> Person:
        return Person(relation=self.relation, age=self.age, groups=list(self.groups))


@dataclass(frozen=True)
class ResultView:
    """What the metrics read from a ``MatchResult`` or its ``to_json()`` form."""

    needs: tuple[str, ...]
    items: tuple[Ranked, ...]
    unmet: tuple[str, ...]

    @classmethod
    def of(
        cls, result: MatchResult | Mapping[str, Any] | ResultView, single_list: bool = False
    ) -> ResultView:
        """Read a result. ``single_list``: the result is one ranked list for the whole text (the baseline),
        whatever groups it is shown in: merge it back in score order. Each resource keeps the category of
        the group it was shown under, but the groups are not needs the result claims."""
        if isinstance(result, ResultView):
            return result
        data = result.to_json() if isinstance(result, MatchResult) else result
        needs: list[str] = []
        items: list[Ranked] = []
        for index, need in enumerate(data.get("needs", [])):
            category = need.get("category") or ""
            person = need.get("person") or {}
            needs.append(category)
            for rank, match in enumerate(need.get("matches", []), start=1):
                items.append(
                    Ranked(
                        resource_id=str(match["resource_id"]),
                        categories=tuple(match.get("categories") or ()),
                        need_index=index,
                        need_category=category,
                        rank=rank,
                        relation=person.get("relation") or APPLICANT,
                        age=person.get("age"),
                        groups=tuple(person.get("groups") or ()),
                        score=float(match.get("score") or 0.0),
                    )
                )
        unmet = tuple(u.get("category") or "" for u in data.get("unmet", []))
        if single_list:
            ordered = sorted(items, key=lambda i: -i.score)  # stable: ties keep the shown order
            items = [replace(i, need_index=0, rank=r) for r, i in enumerate(ordered, start=1)]
            return cls(("",) if items else (), tuple(items), unmet)
        return cls(tuple(needs), tuple(items), unmet)

    def ranked_ids(self) -> list[str]:
        """Resource ids in flattened order, each at its first position (the IR run)."""
        return list(dict.fromkeys(item.resource_id for item in self.items))

    def claimed(self) -> set[str]:
        """Categories the result asserts as needs (met or unmet)."""
        return {c for c in (*self.needs, *self.unmet) if c}


@dataclass(frozen=True)
class Violation:
    resource_id: str
    need_category: str
    person: str
    problem: str  # "ineligible" | "missing"


@dataclass
class CaseScore:
    """Everything the aggregates need about one case under one configuration."""

    case_id: str
    split: str
    expected: tuple[str, ...]
    covered: dict[int, frozenset[str]]  # by resources, per-need top-k
    flat_covered: dict[int, frozenset[str]]  # by resources, first k entries of the flattened list
    unmet_expected: frozenset[str]
    detected: frozenset[str]
    claimed: frozenset[str]
    absent: tuple[str, ...]
    absent_hits: frozenset[str]
    returned: int
    needs: int
    unmet: int
    violations: tuple[Violation, ...] = ()
    latency_ms: float = 0.0
    ir: dict[str, float] | None = None

    def found(self, k: int) -> frozenset[str]:
        """Expected categories counted as found at ``k`` (by a covering resource or an unmet need)."""
        return self.covered[k] | self.unmet_expected

    def missed(self, k: int = 5) -> list[str]:
        return [c for c in self.expected if c not in self.found(k)]

    def recall(self, k: int = 5) -> float:
        return len(self.found(k)) / len(self.expected)


def score_case(
    case: EvalCase,
    result: MatchResult | Mapping[str, Any] | ResultView,
    *,
    latency_ms: float = 0.0,
    violations: Sequence[Violation] = (),
    ir: dict[str, float] | None = None,
) -> CaseScore:
    """Score one result against its case's labels (eligibility and IR figures are computed elsewhere)."""
    view = ResultView.of(result)
    expected = tuple(case.expected_categories)
    covered = {
        k: frozenset(c for c in expected if any(i.rank <= k and i.covers(c) for i in view.items))
        for k in K_VALUES
    }
    flat_covered = {
        k: frozenset(c for c in expected if any(i.covers(c) for i in view.items[:k])) for k in K_VALUES
    }
    claimed = view.claimed()
    top_primary = {i.categories[0] for i in view.items if i.rank <= ABSENT_DEPTH and i.categories}
    absent_hits = frozenset(a for a in case.absent_categories if a in claimed or a in top_primary)
    return CaseScore(
        case_id=case.id,
        split=case.split,
        expected=expected,
        covered=covered,
        flat_covered=flat_covered,
        unmet_expected=frozenset(c for c in expected if c in view.unmet),
        detected=frozenset(c for c in expected if c in claimed),
        claimed=frozenset(claimed),
        absent=tuple(case.absent_categories),
        absent_hits=absent_hits,
        returned=len(view.items),
        needs=len(view.needs),
        unmet=len(view.unmet),
        violations=tuple(violations),
        latency_ms=latency_ms,
        ir=ir,
    )


def eligibility_violations(
    case: EvalCase,
    result: MatchResult | Mapping[str, Any] | ResultView,
    resources: Mapping[str, dict[str, Any]],
    eligible: EligibleFn,
) -> list[Violation]:
    """Re-check every returned resource against the catalog and the case's own facts.

    The person is the one the need names, as the case knows them (``EvalCase.person``): an engine that
    misreads an age the case states is caught too.
    """
    problems = []
    for item in ResultView.of(result).items:
        resource = resources.get(item.resource_id)
        if resource is None:
            problems.append(Violation(item.resource_id, item.need_category, item.relation, "missing"))
        elif not eligible(resource, case.person(item.person), case.county):
            problems.append(Violation(item.resource_id, item.need_category, item.relation, "ineligible"))
    return problems


def graded_scores(
    cases: Sequence[EvalCase], results: Mapping[str, MatchResult | Mapping[str, Any] | ResultView]
) -> dict[str, dict[str, float]]:
    """nDCG@5, nDCG@10 and R@10 per case with ``relevant_resources`` (``ir-measures``, trec_eval semantics)."""
    import ir_measures

    qrels = {c.id: dict(c.relevant_resources) for c in cases if c.relevant_resources}
    if not qrels:
        return {}
    run: dict[str, dict[str, float]] = {}
    for case_id in qrels:
        ids = ResultView.of(results[case_id]).ranked_ids()
        if ids:
            # Strictly decreasing scores so ties never reorder the list.
            run[case_id] = {rid: float(len(ids) - pos) for pos, rid in enumerate(ids)}
    out = {case_id: dict.fromkeys(IR_MEASURES, 0.0) for case_id in qrels}
    if run:
        measures = [ir_measures.parse_measure(m) for m in IR_MEASURES]
        for metric in ir_measures.iter_calc(measures, qrels, run):
            if metric.query_id in out:
                out[metric.query_id][str(metric.measure)] = float(metric.value)
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize(scores: Sequence[CaseScore]) -> dict[str, Any]:
    """Aggregate case scores (micro averages over (case, category) pairs unless said otherwise)."""
    n_expected = sum(len(s.expected) for s in scores)
    n_absent = sum(len(s.absent) for s in scores)
    returned = sum(s.returned for s in scores)
    n_violations = sum(len(s.violations) for s in scores)
    claimed = sum(len(s.claimed) for s in scores)
    out: dict[str, Any] = {"cases": len(scores), "expected_categories": n_expected}
    for k in K_VALUES:
        out[f"recall@{k}"] = _ratio(sum(len(s.found(k)) for s in scores), n_expected)
    for k in K_VALUES:
        out[f"flat_recall@{k}"] = _ratio(
            sum(len(s.flat_covered[k] | s.unmet_expected) for s in scores), n_expected
        )
    out["resource_recall@5"] = _ratio(sum(len(s.covered[5]) for s in scores), n_expected)
    out["found_unmet@5"] = _ratio(sum(len(s.unmet_expected - s.covered[5]) for s in scores), n_expected)
    out["need_detection_recall"] = _ratio(sum(len(s.detected) for s in scores), n_expected)
    out["need_precision"] = _ratio(sum(len(s.claimed & set(s.expected)) for s in scores), claimed)
    out["absent_categories"] = n_absent
    out["absent_fp_rate"] = _ratio(sum(len(s.absent_hits) for s in scores), n_absent)
    out["returned"] = returned
    out["eligibility_violations"] = n_violations
    out["eligibility_violation_rate"] = _ratio(n_violations, returned) if returned else 0.0
    out["unmet_rate"] = _ratio(sum(s.unmet for s in scores), sum(s.needs + s.unmet for s in scores))
    graded = [s.ir for s in scores if s.ir is not None]
    out["graded_cases"] = len(graded)
    for name in IR_MEASURES:
        out[name] = float(np.mean([g[name] for g in graded])) if graded else None
    latencies = [s.latency_ms for s in scores]
    out["latency_p50_ms"] = _percentile(latencies, 50)
    out["latency_p95_ms"] = _percentile(latencies, 95)
    return out


def per_category(scores: Sequence[CaseScore]) -> dict[str, dict[str, Any]]:
    """Recall@1/3/5 per expected category, and how often an absent category was wrongly offered."""
    table: dict[str, dict[str, Any]] = {}
    for s in scores:
        for c in s.expected:
            row = table.setdefault(c, {"cases": 0, **{f"hits@{k}": 0 for k in K_VALUES}})
            row["cases"] += 1
            for k in K_VALUES:
                row[f"hits@{k}"] += c in s.found(k)
        for a in s.absent:
            row = table.setdefault(a, {"cases": 0, **{f"hits@{k}": 0 for k in K_VALUES}})
            row["absent"] = row.get("absent", 0) + 1
            row["absent_hits"] = row.get("absent_hits", 0) + (a in s.absent_hits)
    out: dict[str, dict[str, Any]] = {}
    for c in sorted(table):
        row = table[c]
        out[c] = {"cases": row["cases"]}
        for k in K_VALUES:
            out[c][f"recall@{k}"] = _ratio(row[f"hits@{k}"], row["cases"])
        if row.get("absent"):
            out[c]["absent"] = row["absent"]
            out[c]["absent_fp_rate"] = row["absent_hits"] / row["absent"]
    return out


BOOTSTRAP_MEASURES = ("recall@5", "recall@1", "nDCG@10")


def _per_case(scores: Sequence[CaseScore], measure: str) -> dict[str, tuple[float, float]]:
    """(numerator, denominator) per case, so that sum(num) / sum(den) is the aggregate of ``summarize``."""
    if measure.startswith("recall@"):
        k = int(measure.removeprefix("recall@"))
        return {s.case_id: (float(len(s.found(k))), float(len(s.expected))) for s in scores}
    if measure in IR_MEASURES:
        return {s.case_id: (s.ir[measure], 1.0) for s in scores if s.ir is not None}
    raise ValueError(f"no bootstrap for {measure}")


def _resampled(num: np.ndarray, den: np.ndarray, index: np.ndarray) -> np.ndarray:
    # index: (resamples, cases) of case indices; one aggregate per resample.
    return num[index].sum(axis=1) / np.maximum(den[index].sum(axis=1), 1e-12)


def bootstrap_ci(
    scores: Sequence[CaseScore],
    measure: str = "recall@5",
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap CI of a measure, resampling cases (the categories of a case move together)."""
    values = list(_per_case(scores, measure).values())
    if not values:
        return None
    num, den = (np.array(column, dtype=float) for column in zip(*values, strict=True))
    index = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    tail = (1 - level) / 2 * 100
    aggregates = _resampled(num, den, index)
    return float(np.percentile(aggregates, tail)), float(np.percentile(aggregates, 100 - tail))


def paired_bootstrap_difference(
    better: Sequence[CaseScore],
    baseline: Sequence[CaseScore],
    measure: str = "recall@5",
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float] | None:
    """measure(better) - measure(baseline) on the cases both have, with a paired bootstrap CI."""
    a, b = _per_case(better, measure), _per_case(baseline, measure)
    common = [case_id for case_id in a if case_id in b]
    if not common:
        return None
    num_a = np.array([a[c][0] for c in common])
    num_b = np.array([b[c][0] for c in common])
    den = np.array([a[c][1] for c in common])
    index = np.random.default_rng(seed).integers(0, len(common), size=(resamples, len(common)))
    diffs = _resampled(num_a, den, index) - _resampled(num_b, den, index)
    tail = (1 - level) / 2 * 100
    return {
        "difference": float((num_a.sum() - num_b.sum()) / den.sum()),
        "low": float(np.percentile(diffs, tail)),
        "high": float(np.percentile(diffs, 100 - tail)),
        "share_better": float((diffs > 0).mean()),
    }


@dataclass
class ConfigScores:
    """All case scores of one configuration, with their aggregates per split."""

    config: str
    scores: list[CaseScore] = field(default_factory=list)

    def split(self, name: str) -> list[CaseScore]:
        return list(self.scores) if name == "all" else [s for s in self.scores if s.split == name]

    def splits(self) -> list[str]:
        present = {s.split for s in self.scores}
        return [name for name in ("dev", "test") if name in present] + ["all"]


def worst_cases(scores: Iterable[CaseScore], limit: int = 10) -> list[CaseScore]:
    """Cases ordered by how badly they went: eligibility first, then recall@5, then absent false positives."""
    ranked = sorted(
        scores,
        key=lambda s: (-len(s.violations), s.recall(5), -len(s.absent_hits), s.recall(1), s.case_id),
    )
    return [s for s in ranked if s.violations or s.missed(5) or s.absent_hits][:limit]
