"""BM25 over Chinese tokens, maintained incrementally.

The scoring is bm25s's default (Lucene variant: ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``,
``tf / (tf + k1 * (1 - b + b * dl / avgdl))``, k1 = 1.5, b = 0.75; a query token counts once per occurrence;
an empty document counts as the one token ``_``), and a test holds it to bm25s's scores. bm25s itself is
not used at run time: it bakes idf and the average length into every stored score (eager scoring), so one
changed document means re-indexing all of them (about 1 s at 5,000 resources). Here the index keeps only
what a change touches — postings (slots, term frequencies) per term, document frequencies, document
lengths — and applies idf and length normalisation at query time, so a resource edit costs its own
tokenisation plus a few array operations, and the scores equal those of a fresh build on the same documents.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from assistant.matching.tokenize import tokens

K1, B = 1.5, 0.75
EMPTY_DOC = ("_",)
_NO_SLOTS = np.zeros(0, dtype=np.int64)
_NO_TF = np.zeros(0, dtype=np.float64)


class LexicalIndex:
    """BM25 with per-document updates. Documents live in slots: ``ids[slot]`` is a resource id, or ``""`` for
    a free slot (a removed document's slot is reused by the next new one); ``row`` maps id → slot."""

    def __init__(self, tokenizer: Callable[[str], list[str]] = tokens, k1: float = K1, b: float = B) -> None:
        self.tokenizer = tokenizer
        self.k1, self.b = k1, b
        self.ids: list[str] = []
        self.row: dict[str, int] = {}
        self._free: list[int] = []
        self._texts: dict[str, str] = {}
        self._vocab: dict[str, int] = {}
        self._df: list[int] = []  # per term id: documents holding it
        self._post_slots: list[np.ndarray] = []  # per term id: slots holding it (unique, any order)
        self._post_tf: list[np.ndarray] = []  # per term id: its frequency in those slots
        self._doc_terms: list[dict[int, int]] = []  # per slot: term id → frequency
        self._lengths = np.zeros(0, dtype=np.float64)  # per slot: tokens in the document (0 when free)
        self._total_length = 0

    def __len__(self) -> int:
        return len(self.row)

    # -- changes -------------------------------------------------------------------------------------

    def set_documents(self, texts: Mapping[str, str]) -> None:
        """Hold exactly ``texts``; documents whose text is unchanged keep their tokens (no re-tokenising)."""
        self.delete([rid for rid in self.row if rid not in texts])
        self.upsert(texts)

    def upsert(self, texts: Mapping[str, str]) -> None:
        """Add or replace documents; only their own postings change."""
        changes: list[tuple[int, dict[int, int]]] = []
        for rid, text in texts.items():
            if rid in self.row and self._texts.get(rid) == text:
                continue
            counts = Counter(self.tokenizer(text) or EMPTY_DOC)
            slot = self.row.get(rid)
            changes.append(
                (
                    self._new_slot(rid) if slot is None else slot,
                    {self._term_id(token): tf for token, tf in counts.items()},
                )
            )
            self._texts[rid] = text
        self._apply(changes)

    def delete(self, ids: Sequence[str]) -> None:
        slots = [slot for slot in (self.row.pop(rid, None) for rid in ids) if slot is not None]
        self._apply([(slot, {}) for slot in slots])
        for slot in slots:
            self._texts.pop(self.ids[slot], None)
            self.ids[slot] = ""
            self._free.append(slot)

    def _term_id(self, token: str) -> int:
        term = self._vocab.get(token)
        if term is None:
            term = self._vocab[token] = len(self._vocab)
            self._post_slots.append(_NO_SLOTS)
            self._post_tf.append(_NO_TF)
            self._df.append(0)
        return term

    def _new_slot(self, rid: str) -> int:
        if self._free:
            slot = self._free.pop()
            self.ids[slot] = rid
        else:
            slot = len(self.ids)
            self.ids.append(rid)
            self._doc_terms.append({})
            if slot >= len(self._lengths):
                self._lengths = np.concatenate([self._lengths, np.zeros(max(64, len(self._lengths)))])
        self.row[rid] = slot
        return slot

    def _apply(self, changes: Sequence[tuple[int, dict[int, int]]]) -> None:
        """Give each slot its new term frequencies: a (term, slot) pair whose frequency is unchanged stays,
        the others leave or join that term's postings — one array operation per term touched."""
        leave_terms: list[int] = []
        leave_slots: list[int] = []
        join_terms: list[int] = []
        join_slots: list[int] = []
        join_tfs: list[int] = []
        for slot, counts in changes:
            old = self._doc_terms[slot]
            joining = counts
            if old:
                leaving = [term for term, tf in old.items() if counts.get(term) != tf]
                leave_terms += leaving
                leave_slots += [slot] * len(leaving)
                for term in old.keys() - counts.keys():
                    self._df[term] -= 1
                joining = {term: tf for term, tf in counts.items() if old.get(term) != tf}
            for term in counts.keys() - old.keys():
                self._df[term] += 1
            join_terms += joining.keys()
            join_slots += [slot] * len(joining)
            join_tfs += joining.values()
            length = sum(counts.values())
            self._total_length += length - int(self._lengths[slot])
            self._lengths[slot] = length
            self._doc_terms[slot] = counts
        for term, (gone,) in _by_term(leave_terms, leave_slots):
            held = self._post_slots[term]
            keep = held != gone[0] if len(gone) == 1 else ~np.isin(held, gone)
            self._post_slots[term] = held[keep]
            self._post_tf[term] = self._post_tf[term][keep]
        for term, (slots, tfs) in _by_term(join_terms, join_slots, join_tfs):
            self._post_slots[term] = np.concatenate([self._post_slots[term], slots])
            self._post_tf[term] = np.concatenate([self._post_tf[term], tfs])

    # -- scoring -------------------------------------------------------------------------------------

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of ``query`` against every slot, aligned with ``self.ids`` (free slots score 0)."""
        out = np.zeros(len(self.ids), dtype=np.float64)
        n = len(self.row)
        if n == 0:
            return out.astype(np.float32)
        lengths = self._lengths[: len(self.ids)]
        norm = self.k1 * ((1 - self.b) + self.b * lengths / (self._total_length / n))
        wanted = Counter(self._vocab[t] for t in self.tokenizer(query) if t in self._vocab)
        for term, times in wanted.items():
            df = self._df[term]
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            slots, tf = self._post_slots[term], self._post_tf[term]
            out[slots] += times * idf * tf / (tf + norm[slots])
        return out.astype(np.float32)


def _by_term(terms: list[int], *columns: list[int]) -> Iterator[tuple[int, list[np.ndarray]]]:
    """Group parallel lists by term: (term, [its values from each column])."""
    if not terms:
        return
    keys = np.asarray(terms, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    split = [np.split(np.asarray(col)[order], starts[1:]) for col in columns]
    for i, term in enumerate(keys[starts].tolist()):
        yield term, [parts[i] for parts in split]
