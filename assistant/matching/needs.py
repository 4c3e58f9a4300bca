"""Rule-based need extraction: split an assessment into clauses, find category cues, respect negation.

Stages, each a function with its inputs visible:
  split_clauses → find_cues (taxonomy keywords + ``catalog/need_cues.yaml`` patterns) → negation and
  "already taken care of" scopes → evidence from the clause classifier (``classifier.py``) → one ``Need``
  per (category, person), the person inferred from household members.
An assessment is data: imperative text in it is just more clauses to classify.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from assistant.matching.classifier import (
    MET,
    NEEDED,
    NONE,
    ClauseClassifier,
    PolarityClassifier,
    exemplar_contents,
    exemplar_files,
    exemplar_stamps,
)
from assistant.matching.model_cache import content_key
from assistant.matching.types import MatchRequest, Member, Need, Person
from assistant.taxonomy import Taxonomy

SENTENCE_RE = re.compile(r"[。！？!?；;\n]+")
LIST_MARKER_RE = re.compile(
    r"(^|[\s。；;：:])\s*(?:\d{1,2}[\.、．)）](?!\d)|[（(]\d{1,2}[）)]|[①②③④⑤⑥⑦⑧⑨⑩]|[-—•·]\s)", re.MULTILINE
)
CLAUSE_RE = re.compile(r"[，,：:]+|\s+")
UNTICKED_OPTION_RE = re.compile(r"[□☐]\s*(不需要|需要|是|否|有|无)")
REQUEST_RE = re.compile(r"希望|想|要|需|请(?![了的过])|盼|能否|能不能|可否")  # "请了保姆" hired
# Asking outright (not "请了保姆", "还是要自己做"): a clause that asks is not denied by the clause after it.
ASK_RE = re.compile(r"希望|想|需要?|盼|能否|能不能|可否")
# Denials that contain a request word ("不需要", "无额外要求"): not requests.
NEGATED_REQUEST_RE = re.compile(
    r"(不|无|没有?|冇|暂不|别)(额外|其他|特别|什么)?(需要?|想要?|要求?|需求|用|必)|无需"
)
REFUSED_ASK_RE = re.compile(r"(不|没|冇|无|未)$")  # right before a cue that itself asks: "不需要人照顾"
# An alternative or a wish, not a fact: "或者有人上门指导", "哪怕一周有一天有人帮着带", "要是有人送饭就好了".
HYPOTHETICAL_RE = re.compile(r"或者|或是|哪怕|即使|就算|要是|如果|假如|最好|若能|若有")
# A provision said not to hold ("邻居不是每回都有空", "并不是天天有人送"): a need, not a denial.
UNRELIABLE_RE = re.compile(r"不是|并不|并非|未必|不一定|不总|不能保证|保证不了")
# A clause opening on its own topic noun speaks of that topic ("菜托邻居带", "衣服女儿洗").
TOPIC_RE = re.compile(r"(菜|饭|药|衣服|被子|澡|卫生|家务|钱|作业|功课|买菜|吃饭|洗澡|做饭|打扫|看病)")
LIST_JOINER = re.compile(r"[、和及与跟/]?")
AGE_RE = re.compile(r"(\d{1,3})\s*(?:周)?岁")
WEAK = 0.45  # a situational word alone ("独居") is not a need …
SIGNAL_BONUS = 0.3  # … unless its clause also signals one ("困难", "需要", "没人" …)
# Two neighbouring clauses read together (see RuleNeedExtractor._classifier_cues); tuned leave-one-writer-out.
PAIR_FLOOR = 0.4
PAIR_WEIGHT = 1.5

CHILD_CATEGORIES = {"child_care", "tutoring"}
CHILD_GROUPS = {"orphan", "de_facto_orphan", "left_behind_child", "child_in_difficulty"}
# What a need means when the person is a child: nobody looking in on a child is a supervision need.
FOR_CHILDREN = {"visiting": "child_care"}
HOUSEHOLD_GROUPS = {"dibao", "low_income"}  # 低保 and 低收入 are household statuses
CHILD_RELATIONS = ("孙子", "孙女", "外孙女", "外孙", "儿子", "女儿", "孩子", "小孩", "侄子", "侄女", "重孙")
ADULT_RELATIONS = (
    "老伴",
    "丈夫",
    "妻子",
    "爱人",
    "母亲",
    "父亲",
    "婆婆",
    "公公",
    "儿媳",
    "女婿",
    "哥哥",
    "弟弟",
    "姐姐",
    "妹妹",
)
CHILD_GROUP_PATTERNS = {
    "left_behind_child": re.compile(
        r"留守|父母.{0,3}(在外|外出|常年).{0,2}(务工|打工)|(在外|外出)(务工|打工)"
    ),
    "de_facto_orphan": re.compile(r"事实无人抚养"),
    "orphan": re.compile(r"孤儿|父母(双亡|均已?去世)"),
    "child_in_difficulty": re.compile(r"困境儿童"),
}


@dataclass(frozen=True)
class Clause:
    text: str
    sentence: int
    start: int = 0  # offset in the sentence
    end: int = 0


@dataclass
class SentenceRows:
    """Classifier probabilities of a sentence: one row per clause, one per pair of neighbouring clauses."""

    clauses: np.ndarray
    pairs: np.ndarray


@dataclass
class Cue:
    category: str
    start: int
    end: int
    weight: float
    text: str
    negated: bool = False
    clause: int = 0  # index of the clause in the sentence
    inferred: bool = False  # from the classifier or a group, not a word of the text: never overrides a denial


@dataclass(frozen=True)
class Denials:
    """Denial patterns and their union: most texts match none of them, and one search of the union says so."""

    patterns: tuple[re.Pattern[str], ...]
    union: re.Pattern[str]

    @classmethod
    def of(cls, patterns: Sequence[re.Pattern[str]]) -> Denials:
        union = "|".join(f"(?:{p.pattern})" for p in patterns) or r"(?!)"
        return cls(tuple(patterns), re.compile(union))


@dataclass
class Rules:
    """The editable rule file (``catalog/need_cues.yaml``), compiled."""

    cues: dict[str, list[re.Pattern[str]]]
    keywords: dict[str, list[str]]
    weak: dict[str, set[str]]
    negations_before: Denials
    negations_after: Denials
    contrast: re.Pattern[str]
    need_signals: re.Pattern[str]
    context: list[re.Pattern[str]] = field(default_factory=list)
    # Categories whose premise is that someone already cares (a carer's relief): a provider ("由老伴照顾",
    # "女儿管着") does not deny them; only the plain denials (the negations without providers) do.
    premise_categories: set[str] = field(default_factory=set)
    # Needs a target group implies by itself (a family carer → a carer's relief), unless the text denies them.
    group_needs: dict[str, list[str]] = field(default_factory=dict)
    plain_negations_before: Denials = field(default_factory=lambda: Denials.of([]))
    plain_negations_after: Denials = field(default_factory=lambda: Denials.of([]))
    # A hash of the rule file and the taxonomy words it is read with: what models fitted with these rules key on.
    fingerprint: str = ""

    @classmethod
    def load(cls, path: Path, taxonomy: Taxonomy) -> Rules:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        raw = yaml.safe_load(text) or {}
        lexicon = {f"<{name}>": str(words) for name, words in (raw.get("lexicon") or {}).items()}

        def compile_(pattern: str, suffix: str = "") -> re.Pattern[str]:
            for name, words in lexicon.items():  # shared word lists, e.g. <providers>
                pattern = pattern.replace(name, words)
            return re.compile(f"(?:{pattern}){suffix}" if suffix else pattern)

        cues = {
            code: [compile_(p) for p in (raw.get("cues") or {}).get(code, [])] for code in taxonomy.categories
        }
        weak = {code: set((raw.get("weak") or {}).get(code, [])) for code in taxonomy.categories}
        keywords = {
            code: sorted(
                set(c.keywords) | {c.label} | weak[code], key=lambda word: (-len(word), word)
            )  # stable across runs
            for code, c in taxonomy.categories.items()
        }

        def denials(key: str, suffix: str = "") -> tuple[Denials, Denials]:
            """All of a negation list, and its plain part (no providers: not "由老伴照顾", "女儿管着")."""
            raw_patterns = [str(p) for p in raw.get(key, [])]
            compiled = [compile_(p, suffix) for p in raw_patterns]
            plain = [
                c
                for p, c in zip(raw_patterns, compiled, strict=True)
                if "<providers>" not in p and not p.startswith("由")
            ]
            return Denials.of(compiled), Denials.of(plain)

        before, plain_before = denials("negations_before", "$")
        after, plain_after = denials("negations_after")
        return cls(
            cues=cues,
            keywords=keywords,
            weak=weak,
            negations_before=before,
            negations_after=after,
            premise_categories=set(raw.get("premise_categories", [])) & set(taxonomy.categories),
            group_needs={
                str(group): [c for c in categories or [] if c in taxonomy.categories]
                for group, categories in (raw.get("group_needs") or {}).items()
            },
            plain_negations_before=plain_before,
            plain_negations_after=plain_after,
            contrast=re.compile("|".join(raw.get("contrast", ["但是?"]))),
            need_signals=re.compile("|".join(raw.get("need_signals", ["困难"]))),
            context=[compile_(p) for p in raw.get("context", [])],
            fingerprint=content_key(
                [text, repr(sorted(keywords.items())), repr(sorted((k, sorted(v)) for k, v in weak.items()))]
            ),
        )


def split_sentences(text: str) -> list[str]:
    """Sentences by end punctuation and line breaks; list markers ("1.", "（2）", "③", "- ") start a new one.

    On tick-box forms ("助浴　□需要　☑不需要") the options not ticked are blanked: only "☑…" says anything.
    """
    text = UNTICKED_OPTION_RE.sub(lambda m: "　" * len(m.group(0)), text)
    text = LIST_MARKER_RE.sub(lambda m: f"{m.group(1)}\n", text)
    return [s.strip() for s in SENTENCE_RE.split(text) if s and s.strip()]


def split_clauses(sentence: str, index: int = 0) -> list[Clause]:
    """Clauses of one sentence by commas, colons and spaces, with their offsets."""
    clauses: list[Clause] = []
    position = 0
    for part in CLAUSE_RE.split(sentence):
        offset = sentence.find(part, position)
        position = offset + len(part)
        stripped = part.strip(" 　、.。（）()[]【】\"'“”-")
        if stripped:
            clauses.append(Clause(stripped, index, offset, offset + len(part)))
    return clauses


def find_cues(text: str, rules: Rules) -> list[Cue]:
    """Keyword and pattern cues of every category; weak (situational) keywords weigh half."""
    found: list[Cue] = []
    for pattern in rules.context:  # background facts, not needs: mask them out, keeping positions
        text = pattern.sub(lambda m: "＿" * len(m.group(0)), text)
    for code, words in rules.keywords.items():
        taken: list[tuple[int, int]] = []
        for word in words:
            if word not in text:  # most of the ~450 keywords are absent; skip the regex machinery
                continue
            for m in re.finditer(re.escape(word), text):
                if any(s <= m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                weight = WEAK if word in rules.weak[code] else 1.0 + 0.1 * min(len(word), 5)
                found.append(Cue(code, m.start(), m.end(), weight, word))
        for pattern in rules.cues.get(code, []):
            for m in pattern.finditer(text):
                if not m.group(0) or any(s <= m.start() < e for s, e in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append(Cue(code, m.start(), m.end(), 1.0, m.group(0)))
    return found


def _segment_bounds(text: str, start: int, end: int, position: int, rules: Rules) -> tuple[int, int]:
    """The stretch of ``text[start:end]`` around ``position`` not crossing a contrast word (但是, 可是 …)."""
    for m in rules.contrast.finditer(text, start, end):
        if m.end() <= position:
            start = m.end()
        elif m.start() >= position:
            end = min(end, m.start())
    return start, end


def _denies(denials: Denials, text: str) -> bool:
    """A denial pattern matches and is not part of a request or a supposition: "希望有人上门帮忙",
    "医生说要坚持做康复" and "或者有人上门指导" ask, "有人上门" and "医生每月上门" tell."""
    if not denials.union.search(text):
        return False
    for pattern in denials.patterns:
        for m in pattern.finditer(text):
            asked = (
                REQUEST_RE.search(text[max(0, m.start() - 4) : m.start()])
                or REQUEST_RE.search(NEGATED_REQUEST_RE.sub("", m.group(0)))
                or HYPOTHETICAL_RE.search(text[: m.start()])
                or UNRELIABLE_RE.search(text[max(0, m.start() - 6) : m.start()])
            )
            if not asked:
                return True
    return False


def _speaks_of_previous(clause: str, rules: Rules) -> bool:
    """A clause that only negates, about the clause before it ("…，不用操心"); not one with its own topic
    ("菜托邻居带", "饭女儿送": groceries and meals are handled, not whatever came before)."""
    return _is_negation_only(clause, rules) and not TOPIC_RE.match(clause)


def _is_negation_only(clause: str, rules: Rules) -> bool:
    if rules.contrast.search(clause) or not _denies(rules.negations_after, clause):
        return False
    rest = clause
    for pattern in rules.negations_after.patterns:
        rest = pattern.sub("", rest)
    return not rules.need_signals.search(rest.replace("不需要", "").replace("不用", ""))


def sentence_cues(sentence: str, index: int, rules: Rules) -> tuple[list[Clause], list[Cue]]:
    """Cues of one sentence, each tied to its clause, with negation and need-signal weighting applied."""
    clauses = split_clauses(sentence, index)
    cues = find_cues(sentence, rules)
    if not clauses:
        return clauses, []
    for cue in cues:
        cue.clause = next(
            (i for i, c in enumerate(clauses) if c.start <= cue.start < c.end), len(clauses) - 1
        )
        clause = clauses[cue.clause]
        start, end = _segment_bounds(sentence, clause.start, clause.end, cue.start, rules)
        before, after = sentence[start : cue.start], sentence[cue.end : end]
        premise = cue.category in rules.premise_categories
        negations_before = rules.plain_negations_before if premise else rules.negations_before
        negations_after = rules.plain_negations_after if premise else rules.negations_after
        if (
            _denies(negations_before, before[-16:])
            or _denies(negations_after, after)
            or (REFUSED_ASK_RE.search(before[-2:]) and ASK_RE.match(sentence, cue.start))  # "不需要人照顾"
        ):
            cue.negated = True
        if rules.need_signals.search(sentence[clause.start : clause.end]):
            cue.weight += SIGNAL_BONUS
        if cue.weight < 1.0 and not cue.negated and REQUEST_RE.search(before[-6:]):
            cue.weight = 1.0  # a situational word asked for ("想做下康复") is a need
    # "洗澡、吃饭家属管" / "能做饭、洗澡": a denial covers the items listed with it.
    listed = [
        (first, second)
        for first, second in itertools.pairwise(sorted(cues, key=lambda c: c.start))
        if first.clause == second.clause and LIST_JOINER.fullmatch(sentence[first.end : second.start])
    ]
    for pairs in (listed, listed[::-1]):  # forwards, then backwards, so a denial reaches the whole list
        for first, second in pairs:
            if first.negated or second.negated:
                first.negated = second.negated = True
    # "吃饭方面侄子会送，不用操心": a clause that only negates applies to the clause before it.
    with_cues = {cue.clause for cue in cues}
    for i, clause in enumerate(clauses):
        if i > 0 and i not in with_cues and _speaks_of_previous(clause.text, rules):
            # back over the clauses that tell who provides ("女儿请了保姆白天照顾他，护理上没问题"), to the clause
            # they speak of; not over unrelated facts ("天天哭 女儿要接她去城里她不去 饭女儿送过来"), and not
            # onto a clause that asks ("台阶想做个坡 村医隔个礼拜来一回")
            j = i - 1
            while j > 0 and j not in with_cues and _denies(rules.negations_after, clauses[j].text):
                j -= 1
            if ASK_RE.search(NEGATED_REQUEST_RE.sub("", clauses[j].text)):
                continue
            for cue in cues:
                if cue.clause == j:
                    cue.negated = True
    return clauses, cues


@dataclass
class RuleNeedExtractor:
    """The default extractor: deterministic, explainable, tuned on the eval dev split."""

    taxonomy: Taxonomy
    rules: Rules
    classifier: ClauseClassifier | None = None
    # Defaults equal the Settings defaults (ASSISTANT_CLASSIFIER_FLOOR / _WEIGHT), which the engine passes.
    classifier_floor: float = 0.2  # clause probabilities below this add nothing
    classifier_weight: float = 2.5  # a clause at probability p adds p × weight of evidence
    min_weight: float = 1.0
    polarity: PolarityClassifier | None = None
    denial_threshold: float = 0.75  # a cue the polarity model calls "met" this surely is negated (1: never)

    def extract(self, request: MatchRequest) -> list[Need]:
        return self.analyse(request)[0]

    def analyse(self, request: MatchRequest) -> tuple[list[Need], set[str]]:
        """The needs, and the categories the text denies without asking for them anywhere ("不需要送餐")."""
        members = infer_members(request)
        denied: set[str] = set()
        asked: set[str] = set()
        hits: dict[tuple[str, str], list[tuple[Clause, Cue]]] = {}
        sentences = split_sentences(request.text)
        found = [sentence_cues(sentence, index, self.rules) for index, sentence in enumerate(sentences)]
        self._learned_denials(sentences, found)  # one model call per assessment, not per sentence
        probabilities = self._clause_probabilities([clauses for clauses, _ in found])
        for sentence, (clauses, cues), rows in zip(sentences, found, probabilities, strict=True):
            for cue in cues:
                (denied if cue.negated else asked).add(cue.category)
            cues = cues + self._classifier_cues(clauses, cues, rows)
            for cue in cues:
                clause = clauses[cue.clause]
                person = self._person_for(sentence, cue.category, request, members)
                category = cue.category
                if is_child(person.age, person.groups):  # a child left alone needs supervision, not a visitor
                    category = FOR_CHILDREN.get(category, category)
                hits.setdefault((category, person.relation), []).append((clause, cue))
        self._group_hints(hits, request, members, found, probabilities)
        needs = self._needs_from_hits(hits, request, members)
        return needs, denied - asked

    def _group_hints(
        self,
        hits: dict[tuple[str, str], list[tuple[Clause, Cue]]],
        request: MatchRequest,
        members: list[Member],
        found: list[tuple[list[Clause], list[Cue]]],
        probabilities: list[SentenceRows | None],
    ) -> None:
        """Evidence from the structured groups (``group_needs``): a family carer needs relief even when the text
        only tells of the person cared for. Weighs as one cue; a denial in the text still wins, as for any
        inferred cue (``_needs_from_hits``). The need is told by the clause the classifier finds closest."""
        implied: dict[str, tuple[str, str]] = {}  # category → (group, relation of its first holder)
        for person in [_applicant(request), *(_person(m) for m in members)]:
            for group in person.groups:
                for category in self.rules.group_needs.get(group, []):
                    implied.setdefault(category, (group, person.relation))
        for category, (group, relation) in implied.items():
            key = next((k for k in hits if k[0] == category), (category, relation))
            cue = Cue(category, 0, 0, 1.0, f"身份：{self.taxonomy.group_label(group)}", inferred=True)
            hits.setdefault(key, []).append((self._closest_clause(category, found, probabilities), cue))

    def _closest_clause(
        self,
        category: str,
        found: list[tuple[list[Clause], list[Cue]]],
        probabilities: list[SentenceRows | None],
    ) -> Clause:
        """The clause of the text most like ``category`` by the classifier (else the first clause)."""
        best: tuple[float, Clause] | None = None
        column = self.classifier.classes.index(category) if self.classifier else -1
        for (clauses, _), rows in zip(found, probabilities, strict=True):
            for i, clause in enumerate(clauses):
                p = float(rows.clauses[i][column]) if rows is not None and column >= 0 else 0.0
                if best is None or p > best[0]:
                    best = (p, clause)
        if best is None:
            return Clause(text="", sentence=0)
        return best[1]

    def _learned_denials(self, sentences: list[str], found: list[tuple[list[Clause], list[Cue]]]) -> None:
        """Negate the cues the polarity model reads as met or refused, in clauses that signal no need.

        It catches the phrasings no negation pattern lists ("饭菜衣服都包了", "康复在残联定点机构做着").
        """
        if self.polarity is None or self.denial_threshold >= 1.0:
            return
        live = [
            (sentence, clauses[cue.clause], cue)
            for sentence, (clauses, cues) in zip(sentences, found, strict=True)
            for cue in cues
            if not cue.negated
        ]
        if not live:
            return
        met = self.polarity.met_probability([masked_clause(s, clause, cue) for s, clause, cue in live])
        for (_, clause, cue), p in zip(live, met, strict=True):
            if p >= self.denial_threshold and not self.rules.need_signals.search(clause.text):
                cue.negated = True

    def _clause_probabilities(self, sentences: list[list[Clause]]) -> list[SentenceRows | None]:
        """Classifier probabilities of every clause and every pair of neighbouring clauses, in one call, split
        back per sentence."""
        texts: list[str] = []
        for clauses in sentences:
            texts.extend(clause.text for clause in clauses)
            texts.extend(f"{a.text}，{b.text}" for a, b in itertools.pairwise(clauses))
        if self.classifier is None or not texts:
            return [None] * len(sentences)
        rows = self.classifier.probabilities(texts)
        out: list[SentenceRows | None] = []
        start = 0
        for clauses in sentences:
            middle = start + len(clauses)
            end = middle + max(0, len(clauses) - 1)
            out.append(SentenceRows(rows[start:middle], rows[middle:end]))
            start = end
        return out

    def _classifier_cues(
        self, clauses: list[Clause], cues: list[Cue], rows: SentenceRows | None
    ) -> list[Cue]:
        """Evidence from the clause classifier; a clause whose rule cue for the category is negated stays so.

        A pair of neighbouring clauses read together adds evidence when it says more than either alone
        ("出门都是她爸背下楼，背不动了"): at ``PAIR_FLOOR`` and above, ``PAIR_WEIGHT`` × p, tied to the first.
        """
        if self.classifier is None or rows is None or not clauses:
            return []
        extra: list[Cue] = []
        negated = {cue.category for cue in cues if cue.negated}  # denied anywhere in the sentence
        negation_only = [_is_negation_only(clause.text, self.rules) for clause in clauses]
        for i, (clause, row) in enumerate(zip(clauses, rows.clauses, strict=True)):
            following = clauses[i + 1].text if i + 1 < len(clauses) else ""
            pure_negation = negation_only[i] or (
                bool(following)
                and _speaks_of_previous(following, self.rules)
                and not any(cue.clause == i + 1 for cue in cues)
            )
            for j, code in enumerate(self.classifier.classes):
                p = float(row[j])
                if code == NONE or p < self.classifier_floor or code in negated or pure_negation:
                    continue
                extra.append(
                    Cue(
                        code,
                        clause.start,
                        clause.end,
                        p * self.classifier_weight,
                        f"≈{clause.text}",
                        clause=i,
                        inferred=True,
                    )
                )
        for i, row in enumerate(rows.pairs):
            first, second = clauses[i], clauses[i + 1]
            if negation_only[i] or negation_only[i + 1]:
                continue
            for j, code in enumerate(self.classifier.classes):
                p = float(row[j])
                if code == NONE or p < PAIR_FLOOR or code in negated:
                    continue
                if p <= max(rows.clauses[i][j], rows.clauses[i + 1][j]):
                    continue  # says no more than one of its clauses: counted there already
                extra.append(
                    Cue(
                        code,
                        first.start,
                        second.end,
                        p * PAIR_WEIGHT,
                        f"≈{first.text}，{second.text}",
                        clause=i,
                        inferred=True,
                    )
                )
        return extra

    def _needs_from_hits(
        self,
        hits: dict[tuple[str, str], list[tuple[Clause, Cue]]],
        request: MatchRequest,
        members: list[Member],
    ) -> list[Need]:
        needs: list[tuple[int, Need]] = []
        for (category, relation), found in hits.items():
            live = [(cl, cue) for cl, cue in found if not cue.negated]
            negated = [cue for _, cue in found if cue.negated]
            weight = sum(cue.weight for _, cue in live)
            if negated:
                # Said to be taken care of somewhere: only an explicit cue with a need signal overrides that.
                live = [
                    (cl, cue)
                    for cl, cue in live
                    if self.rules.need_signals.search(cl.text) and not cue.inferred
                ]
                weight = sum(cue.weight for _, cue in live)
            if not live or weight < self.min_weight:
                continue
            texts = list(dict.fromkeys(cl.text for cl, _ in live if cl.text)) or [
                self.taxonomy.category_label(category)
            ]
            person = self._person_by_relation(relation, request, members)
            order = min(clauses_index(cl, request.text) for cl, _ in live)
            needs.append(
                (
                    order,
                    Need(
                        text="，".join(texts[:2]),
                        category=category,
                        confidence=round(min(1.0, weight / 2.5), 3),
                        person=person,
                        cues=list(dict.fromkeys(cue.text for _, cue in live if not cue.text.startswith("≈")))[
                            :5
                        ],
                    ),
                )
            )
        return [n for _, n in sorted(needs, key=lambda item: item[0])]

    def _person_for(self, clause: str, category: str, request: MatchRequest, members: list[Member]) -> Person:
        for member in members:
            if member.relation and member.relation in clause:
                if category in CHILD_CATEGORIES and not is_child(member.age, member.groups):
                    continue
                return _person(member)
        if category in CHILD_CATEGORIES and not is_child(request.age, request.groups):
            children = [m for m in members if is_child(m.age, m.groups)]
            if children:
                return _person(children[0])
        return _applicant(request)

    def _person_by_relation(self, relation: str, request: MatchRequest, members: list[Member]) -> Person:
        for member in members:
            if member.relation == relation:
                return _person(member)
        return _applicant(request)


def masked_clause(sentence: str, clause: Clause, cue: Cue) -> str:
    """The clause around a cue with the cue masked: what the polarity model reads."""
    return sentence[clause.start : cue.start] + "□" + sentence[cue.end : clause.end]


def polarity_rows(exemplars_path: Path, rules: Rules) -> list[tuple[str, str]]:
    """Training rows for the polarity model from every exemplar file (see ``PolarityClassifier``)."""
    rows: list[tuple[str, str]] = []
    for path in exemplar_files(exemplars_path):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for code, items in (raw.get("categories") or {}).items():
            for text in map(str, items or []):
                cue = next((c for c in find_cues(text, rules) if c.category == code), None)
                if cue is not None:
                    rows.append((masked_clause(text, Clause(text, 0, 0, len(text)), cue), NEEDED))
        for text in map(str, raw.get(NONE) or []):
            cue = next(iter(find_cues(text, rules)), None)
            if cue is not None:
                rows.append((masked_clause(text, Clause(text, 0, 0, len(text)), cue), MET))
        derived = raw.get("polarity") or {}
        rows += [(str(t), NEEDED) for t in derived.get(NEEDED) or []]
        rows += [(str(t), MET) for t in derived.get(MET) or []]
    return rows


def train_polarity(
    exemplars_path: Path, rules: Rules, cache_dir: Path | None = None
) -> PolarityClassifier | None:
    files = exemplar_stamps(exemplars_path)
    if not files:
        return None
    key = (files, rules.fingerprint)  # each engine loads its own Rules: key on their content, not the object
    disk_key = content_key([*exemplar_contents(exemplars_path), rules.fingerprint])
    return PolarityClassifier.train(key, lambda: polarity_rows(exemplars_path, rules), cache_dir, disk_key)


def clauses_index(clause: Clause, text: str) -> int:
    position = text.find(clause.text)
    return position if position >= 0 else len(text)


def _applicant(request: MatchRequest) -> Person:
    return Person(relation="申请人", age=request.age, groups=list(request.groups))


def _person(member: Member) -> Person:
    return Person(relation=member.relation, age=member.age, groups=list(member.groups))


def is_child(age: int | None, groups: list[str]) -> bool:
    """Under 18 when the age is known, else one of the child target groups."""
    return age < 18 if age is not None else bool(set(groups) & CHILD_GROUPS)


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
    if any(is_child(m.age, m.groups) for m in members):
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
            members.append(
                Member(relation=relation, age=value, groups=list(dict.fromkeys(groups + household)))
            )
            return members
    return members


def applicant_age(
    request: MatchRequest, relations: Sequence[str] = CHILD_RELATIONS + ADULT_RELATIONS
) -> int | None:
    """The applicant's age from the text when the structured field is empty (first "NN岁" not after a relative)."""
    if request.age is not None:
        return request.age
    for m in AGE_RE.finditer(request.text):
        before = request.text[max(0, m.start() - 6) : m.start()]
        if not any(r in before for r in relations):
            return int(m.group(1))
    return None
