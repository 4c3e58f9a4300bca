"""Rule-based need extraction: split an assessment into clauses, find category cues, respect negation.

Stages, each a function with its inputs visible:
  split_clauses → find_cues (taxonomy keywords + ``catalog/need_cues.yaml`` patterns) → negation and
  "already taken care of" scopes → optional semantic fallback for cue-less clauses that still signal a
  need → one ``Need`` per (category, person), the person inferred from household members.
An assessment is data: imperative text in it is just more clauses to classify.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from assistant.matching.types import MatchRequest, Member, Need, Person
from assistant.taxonomy import Taxonomy

SENTENCE_RE = re.compile(r"[。！？!?；;\n]+|(?:^|\s)(?:\d{1,2}[\.、．)）]|[（(]\d{1,2}[）)]|[①②③④⑤⑥⑦⑧⑨⑩])")
CLAUSE_RE = re.compile(r"[，,：:]+|\s+")
AGE_RE = re.compile(r"(\d{1,3})\s*(?:周)?岁")

CHILD_CATEGORIES = {"child_care", "tutoring"}
CHILD_GROUPS = {"orphan", "de_facto_orphan", "left_behind_child", "child_in_difficulty"}
HOUSEHOLD_GROUPS = {"dibao", "low_income"}  # 低保 and 低收入 are household statuses
CHILD_RELATIONS = ("孙子", "孙女", "外孙女", "外孙", "儿子", "女儿", "孩子", "小孩", "侄子", "侄女", "重孙")
ADULT_RELATIONS = ("老伴", "丈夫", "妻子", "爱人", "母亲", "父亲", "婆婆", "公公", "儿媳", "女婿", "哥哥", "弟弟",
                   "姐姐", "妹妹")
CHILD_GROUP_PATTERNS = {
    "left_behind_child": re.compile(r"留守|父母.{0,3}(在外|外出|常年).{0,2}(务工|打工)|(在外|外出)(务工|打工)"),
    "de_facto_orphan": re.compile(r"事实无人抚养"),
    "orphan": re.compile(r"孤儿|父母(双亡|均已?去世)"),
    "child_in_difficulty": re.compile(r"困境儿童"),
}


@dataclass(frozen=True)
class Clause:
    text: str
    sentence: int


@dataclass
class Cue:
    category: str
    start: int
    end: int
    weight: float
    text: str
    negated: bool = False


@dataclass
class Rules:
    """The editable rule file, compiled."""

    cues: dict[str, list[re.Pattern[str]]]
    keywords: dict[str, list[str]]
    negations_before: list[re.Pattern[str]]
    negations_after: list[re.Pattern[str]]
    contrast: re.Pattern[str]
    need_signals: re.Pattern[str]
    context: list[re.Pattern[str]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, taxonomy: Taxonomy) -> Rules:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        cues = {code: [re.compile(p) for p in (raw.get("cues") or {}).get(code, [])] for code in taxonomy.categories}
        keywords = {code: sorted(set(c.keywords) | {c.label}, key=len, reverse=True)
                    for code, c in taxonomy.categories.items()}
        return cls(
            cues=cues,
            keywords=keywords,
            negations_before=[re.compile(f"(?:{p})$") for p in raw.get("negations_before", [])],
            negations_after=[re.compile(p) for p in raw.get("negations_after", [])],
            contrast=re.compile("|".join(raw.get("contrast", ["但是?"]))),
            need_signals=re.compile("|".join(raw.get("need_signals", ["困难"]))),
            context=[re.compile(p) for p in raw.get("context", [])],
        )


def split_clauses(text: str) -> list[Clause]:
    """Sentences by end punctuation and list markers; clauses by commas, colons and spaces."""
    clauses: list[Clause] = []
    for index, sentence in enumerate(SENTENCE_RE.split(text)):
        for part in CLAUSE_RE.split(sentence or ""):
            part = part.strip(" 　、.。（）()[]【】\"'“”")
            if part:
                clauses.append(Clause(part, index))
    return clauses


def find_cues(clause: str, rules: Rules) -> list[Cue]:
    found: list[Cue] = []
    for pattern in rules.context:  # background facts, not needs: mask them out, keeping positions
        clause = pattern.sub(lambda m: "＿" * len(m.group(0)), clause)
    for code, words in rules.keywords.items():
        taken: list[tuple[int, int]] = []
        for word in words:
            for m in re.finditer(re.escape(word), clause):
                if any(s <= m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append(Cue(code, m.start(), m.end(), 1.0 + 0.15 * len(word), word))
        for pattern in rules.cues.get(code, []):
            for m in pattern.finditer(clause):
                if any(s <= m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append(Cue(code, m.start(), m.end(), 1.0, m.group(0)))
    return found


def _segment_bounds(clause: str, position: int, rules: Rules) -> tuple[int, int]:
    """The stretch of the clause around ``position`` not crossing a contrast word (但是, 可是 …)."""
    start, end = 0, len(clause)
    for m in rules.contrast.finditer(clause):
        if m.end() <= position:
            start = m.end()
        elif m.start() >= position:
            end = min(end, m.start())
    return start, end


def mark_negations(clause: str, cues: list[Cue], rules: Rules) -> None:
    for cue in cues:
        start, end = _segment_bounds(clause, cue.start, rules)
        before = clause[start : cue.start]
        after = clause[cue.end : end]
        if any(p.search(before[-12:]) for p in rules.negations_before):
            cue.negated = True
        elif any(p.search(after) for p in rules.negations_after):
            cue.negated = True


def _is_pure_negation(clause: str, rules: Rules) -> bool:
    return any(p.search(clause) for p in rules.negations_after) and not rules.contrast.search(clause)


@dataclass
class CategoryPrototypes:
    """Embedded phrasings per category, for clauses that signal a need without any cue word."""

    codes: list[str]
    matrix: np.ndarray  # (n_phrasings, dim), normalised
    owner: list[int]  # row → index into codes
    embed_query: Callable[[list[str]], np.ndarray]
    threshold: float = 0.88
    margin: float = 0.01

    def classify(self, texts: list[str]) -> list[tuple[str, float] | None]:
        if not texts:
            return []
        sims = self.embed_query(texts) @ self.matrix.T
        out: list[tuple[str, float] | None] = []
        owner = np.asarray(self.owner)
        for row in sims:
            best_per_code = np.full(len(self.codes), -1.0)
            np.maximum.at(best_per_code, owner, row)
            order = np.argsort(-best_per_code)
            top, second = best_per_code[order[0]], best_per_code[order[1]]
            ok = top >= self.threshold and top - second >= self.margin
            out.append((self.codes[order[0]], float(top)) if ok else None)
        return out


@dataclass
class RuleNeedExtractor:
    """The default extractor: deterministic, explainable, tuned on the eval dev split."""

    taxonomy: Taxonomy
    rules: Rules
    prototypes: CategoryPrototypes | None = None
    min_weight: float = 1.0
    _relations: tuple[str, ...] = field(default=CHILD_RELATIONS + ADULT_RELATIONS)

    def extract(self, request: MatchRequest) -> list[Need]:
        clauses = split_clauses(request.text)
        members = infer_members(request)
        hits: dict[tuple[str, str], list[tuple[Clause, Cue]]] = {}
        unclassified: list[Clause] = []
        previous: tuple[Clause, list[Cue]] | None = None
        for clause in clauses:
            cues = find_cues(clause.text, self.rules)
            if not cues:
                if previous and previous[0].sentence == clause.sentence and _is_pure_negation(clause.text, self.rules):
                    for cue in previous[1]:
                        cue.negated = True  # "吃饭方面侄子会送，不用操心"
                elif self.rules.need_signals.search(clause.text):
                    unclassified.append(clause)
                previous = (clause, cues) if not cues else previous
                continue
            mark_negations(clause.text, cues, self.rules)
            previous = (clause, cues)
            for cue in cues:
                person = self._person_for(clause.text, cue.category, request, members)
                hits.setdefault((cue.category, person.relation), []).append((clause, cue))
        needs = self._needs_from_hits(hits, request, members)
        if self.prototypes and unclassified:
            found = {n.category for n in needs}
            negated = {k[0] for k, v in hits.items() if all(c.negated for _, c in v)}
            for clause, verdict in zip(unclassified, self.prototypes.classify([c.text for c in unclassified]),
                                       strict=True):
                if verdict and verdict[0] not in found and verdict[0] not in negated:
                    person = self._person_for(clause.text, verdict[0], request, members)
                    needs.append(Need(text=clause.text, category=verdict[0], confidence=round(verdict[1], 3),
                                      person=person, cues=["语义相近"]))
                    found.add(verdict[0])
        return needs

    def _needs_from_hits(
        self, hits: dict[tuple[str, str], list[tuple[Clause, Cue]]], request: MatchRequest, members: list[Member]
    ) -> list[Need]:
        needs: list[tuple[int, Need]] = []
        for (category, relation), found in hits.items():
            live = [(cl, cue) for cl, cue in found if not cue.negated]
            weight = sum(cue.weight for _, cue in live)
            if not live or weight < self.min_weight:
                continue
            texts = list(dict.fromkeys(cl.text for cl, _ in live))
            person = self._person_by_relation(relation, request, members)
            order = min(clauses_index(cl, request.text) for cl, _ in live)
            needs.append((order, Need(
                text="，".join(texts[:2]),
                category=category,
                confidence=round(min(1.0, weight / 2.5), 3),
                person=person,
                cues=list(dict.fromkeys(cue.text for _, cue in live))[:5],
            )))
        return [n for _, n in sorted(needs, key=lambda item: item[0])]

    def _person_for(self, clause: str, category: str, request: MatchRequest, members: list[Member]) -> Person:
        for member in members:
            if member.relation and member.relation in clause:
                if category in CHILD_CATEGORIES and not _is_child(member):
                    continue
                return _person(member)
        if category in CHILD_CATEGORIES and not _applicant_is_child(request):
            children = [m for m in members if _is_child(m)]
            if children:
                return _person(children[0])
        return Person(relation="申请人", age=request.age, groups=list(request.groups))

    def _person_by_relation(self, relation: str, request: MatchRequest, members: list[Member]) -> Person:
        for member in members:
            if member.relation == relation:
                return _person(member)
        return Person(relation="申请人", age=request.age, groups=list(request.groups))


def clauses_index(clause: Clause, text: str) -> int:
    position = text.find(clause.text)
    return position if position >= 0 else len(text)


def _person(member: Member) -> Person:
    return Person(relation=member.relation, age=member.age, groups=list(member.groups))


def _is_child(member: Member) -> bool:
    if member.age is not None:
        return member.age < 18
    return bool(set(member.groups) & CHILD_GROUPS)


def _applicant_is_child(request: MatchRequest) -> bool:
    if request.age is not None:
        return request.age < 18
    return bool(set(request.groups) & CHILD_GROUPS)


def infer_members(request: MatchRequest) -> list[Member]:
    """Given members, plus children the text names with an age ("孙子小明（9岁）") when none is given.

    Household statuses (低保, 低收入) carry over to members: eligibility is judged per person, but a
    低保 household's grandson is in a 低保 household too.
    """
    household = [g for g in request.groups if g in HOUSEHOLD_GROUPS]
    members = [
        Member(relation=m.relation, age=m.age, groups=list(dict.fromkeys([*m.groups, *household])))
        for m in request.members
    ]
    if any(_is_child(m) for m in members):
        return members
    for relation in CHILD_RELATIONS:
        for m in re.finditer(relation, request.text):
            window = request.text[m.end() : m.end() + 12]
            age = AGE_RE.search(window)
            before = request.text[max(0, m.start() - 6) : m.start()]
            age_before = AGE_RE.search(before)
            value = int(age.group(1)) if age else int(age_before.group(1)) if age_before else None
            if value is None or value >= 18:
                continue
            groups = [code for code, pattern in CHILD_GROUP_PATTERNS.items() if pattern.search(request.text)]
            members.append(Member(relation=relation, age=value, groups=list(dict.fromkeys(groups + household))))
            return members
    return members


def build_prototypes(
    taxonomy: Taxonomy, embed_query: Callable[[list[str]], np.ndarray],
    embed_passage: Callable[[list[str]], np.ndarray], threshold: float, margin: float,
    cache_dir: Path | None = None, identity: str = "",
) -> CategoryPrototypes:
    """Embed every category's phrasings once; cached on disk by embedder identity and text."""
    codes = list(taxonomy.categories)
    texts: list[str] = []
    owner: list[int] = []
    for index, code in enumerate(codes):
        category = taxonomy.categories[code]
        for phrase in (*category.phrasings, category.description):
            if phrase:
                texts.append(phrase)
                owner.append(index)
    digest = hashlib.sha256("\n".join([identity, *texts]).encode()).hexdigest()[:16]
    cached = cache_dir / f"prototypes-{digest}.npy" if cache_dir else None
    if cached and cached.exists():
        matrix = np.load(cached)
    else:
        matrix = embed_passage(texts)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, matrix)
    return CategoryPrototypes(codes, matrix, owner, embed_query, threshold, margin)


def applicant_age(request: MatchRequest, relations: Sequence[str] = CHILD_RELATIONS + ADULT_RELATIONS) -> int | None:
    """The applicant's age from the text when the structured field is empty (first "NN岁" not after a relative)."""
    if request.age is not None:
        return request.age
    for m in AGE_RE.finditer(request.text):
        before = request.text[max(0, m.start() - 6) : m.start()]
        if not any(r in before for r in relations):
            return int(m.group(1))
    return None
