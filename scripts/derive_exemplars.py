"""Derive clause exemplars for the need classifier from the labelled ``dev`` cases (never ``test``).

Case labels say which needs a note holds, not which clause says so. A clause gets a category when the
rules find a live cue of an expected category in it; a clause whose only cues are for absent categories, or
that has no cue in a case whose needs the rules all found, becomes a ``none`` exemplar; when exactly one
expected category is missed by the rules and exactly one cue-less clause of the case signals a need, that
clause gets the missed category. Writes ``catalog/need_exemplars_dev.yaml``.

    python scripts/derive_exemplars.py [--cases eval/cases.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from assistant.config import Settings
from assistant.matching.classifier import MET, NEEDED
from assistant.matching.needs import Rules, masked_clause, sentence_cues, split_sentences
from assistant.taxonomy import get_taxonomy


def derive(cases: list[dict[str, Any]], rules: Rules, categories: list[str]) -> dict[str, Any]:
    """Clause exemplars from labelled ``dev`` cases (``test`` cases are skipped, always)."""
    positives: dict[str, list[str]] = {code: [] for code in categories}
    none: list[str] = []
    polarity: dict[str, list[str]] = {NEEDED: [], MET: []}
    for case in cases:
        if case.get("split") != "dev":
            continue
        expected = set(case["expected_categories"])
        absent = set(case.get("absent_categories", []))
        found: set[str] = set()
        cueless: list[str] = []
        background: list[str] = []
        for index, sentence in enumerate(split_sentences(case["text"])):
            clauses, cues = sentence_cues(sentence, index, rules)
            for cue in cues:  # each mention of a category: a need, or said to be met / refused
                label = NEEDED if cue.category in expected else MET if cue.category in absent else None
                if label:
                    polarity[label].append(masked_clause(sentence, clauses[cue.clause], cue))
            for i, clause in enumerate(clauses):
                own = [c for c in cues if c.clause == i]
                live = {c.category for c in own if not c.negated and c.weight >= 1.0}
                hits = live & expected
                for code in hits:
                    positives[code].append(clause.text)
                found |= hits
                if own and not hits and {c.category for c in own} <= absent | (set(categories) - expected):
                    none.append(clause.text)
                elif not own:
                    (cueless if rules.need_signals.search(clause.text) else background).append(clause.text)
        missed = expected - found
        if not missed:
            none.extend(background + cueless)
        elif len(missed) == 1 and len(cueless) == 1:
            positives[missed.pop()].append(cueless[0])
    return {
        "version": 1,
        "source": "derived from the dev split of eval/cases.jsonl by scripts/derive_exemplars.py",
        "categories": {code: sorted(set(items)) for code, items in positives.items() if items},
        "none": sorted({t for t in none if len(t) >= 2}),
        # clause around each category cue, cue masked (□), labelled by the case: read by PolarityClassifier
        "polarity": {label: sorted(set(rows)) for label, rows in polarity.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", nargs="+", default=["eval/cases.jsonl"])
    parser.add_argument("--out", default="catalog/need_exemplars_dev.yaml")
    args = parser.parse_args()
    settings = Settings()
    taxonomy = get_taxonomy()
    rules = Rules.load(settings.catalog_dir / "need_cues.yaml", taxonomy)
    cases = [
        json.loads(line)
        for path in args.cases
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    data = derive(cases, rules, list(taxonomy.categories))
    Path(args.out).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    counts = {code: len(items) for code, items in data["categories"].items()}
    rows = {label: len(items) for label, items in data["polarity"].items()}
    print(
        f"{sum(counts.values())} need clauses {counts}; {len(data['none'])} none clauses; polarity {rows} → {args.out}"
    )


if __name__ == "__main__":
    main()
