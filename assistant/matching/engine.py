"""The matching engine: needs → per-need eligibility-filtered hybrid retrieval → fusion → reasons.

Stages (each tunable from ``Settings`` and measured by ``assistant eval``):
  extract needs → embed need queries (one batch) → eligibility mask per person (the Chroma ``where``
  rule, vectorised over the mirror) → dense + BM25 + category channels → RRF → category agreement and
  small priors (county-specific, group-targeted, primary category) → optional cross-encoder → top-k
  with Chinese reasons → unmet needs with their cause, logged for gap reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.catalog.events import CatalogChange
from assistant.catalog.service import CatalogService
from assistant.config import Settings
from assistant.db import Database
from assistant.matching import eligibility
from assistant.matching.classifier import ClauseClassifier
from assistant.matching.columns import Columns
from assistant.matching.embedders import Embedder, build_embedder
from assistant.matching.fusion import rrf
from assistant.matching.lexical import LexicalIndex
from assistant.matching.models import UnmetNeedRecord
from assistant.matching.needs import RuleNeedExtractor, Rules, applicant_age, infer_members, train_polarity
from assistant.matching.rerank import CrossEncoderReranker
from assistant.matching.types import (
    Match,
    MatchRequest,
    MatchResult,
    Need,
    NeedExtractor,
    NeedMatches,
    Person,
    Unmet,
)
from assistant.matching.vector_index import (
    IndexMismatch,
    VectorIndex,
    metadata_for,
    open_client,
    resource_text,
    text_hash,
)
from assistant.privacy import redact
from assistant.taxonomy import Taxonomy, get_taxonomy
from assistant.taxonomy.model import CITYWIDE

log = logging.getLogger(__name__)

CONFIGS = ("hybrid", "dense", "bm25", "dense-whole-text", "hybrid+rerank")
Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    """Drift between the store (truth) and the index (derived)."""

    embedder: str
    store_count: int
    index_count: int
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale_text: list[str] = field(default_factory=list)
    stale_metadata: list[str] = field(default_factory=list)
    mismatch: str = ""

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.stale_text or self.stale_metadata or self.mismatch)


class MatchingEngine:
    """Owns the embedder, the vector and lexical indexes and the resource snapshot they describe."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: CatalogService,
        embedder: Embedder,
        taxonomy: Taxonomy,
        extractor: NeedExtractor | None = None,
        reranker: CrossEncoderReranker | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.reranker = reranker
        self.labels = {
            **{c: v.label for c, v in taxonomy.categories.items()},
            **{g: v.label for g, v in taxonomy.groups.items()},
            **{a: v.label for a, v in taxonomy.areas.items()},
        }
        self.rules = Rules.load(settings.catalog_dir / "need_cues.yaml", taxonomy)
        exemplars, models = settings.catalog_dir / "need_exemplars.yaml", settings.data_dir / "models"
        self.rule_extractor = RuleNeedExtractor(
            taxonomy,
            self.rules,
            classifier=ClauseClassifier.train(exemplars, taxonomy, c=settings.classifier_c, cache_dir=models),
            classifier_floor=settings.classifier_floor,
            classifier_weight=settings.classifier_weight,
            polarity=train_polarity(exemplars, self.rules, cache_dir=models),
            denial_threshold=settings.denial_threshold,
        )
        self.extractor: NeedExtractor = extractor or self.rule_extractor
        self.client = open_client(settings)
        self.index: VectorIndex | None = None
        self.lexical = LexicalIndex()
        self.snapshot: dict[str, dict[str, Any]] = {}
        self._lexical_rows = np.zeros(0, dtype=np.int64)
        # Towns and streets only: district, county and city names (黄石港, 阳新, 全市 …) say nothing about nearness.
        coarse = [name for area in taxonomy.areas.values() for name in (area.label, area.short) if name]
        self._place_stems = sorted(
            {
                _stem(alias)
                for code, area in taxonomy.areas.items()
                if code != CITYWIDE
                for alias in area.aliases
                if len(_stem(alias)) >= 2 and not any(_stem(alias) in name for name in coarse)
            },
            key=len,
            reverse=True,
        )
        self.columns = Columns(
            taxonomy, lambda r: self._places_in(f"{r.get('name', '')} {r.get('address', '')}")
        )
        self._lock = threading.RLock()
        catalog.hub.subscribe(self.on_change)

    # -- index lifecycle -----------------------------------------------------------------------------

    def _open_index(self) -> VectorIndex:
        try:
            return VectorIndex(self.client, self.embedder.identity, self.embedder.dimension)
        except IndexMismatch as exc:
            log.warning("%s — rebuilding the index for the new embedder", exc)
            return VectorIndex.recreate(self.client, self.embedder.identity, self.embedder.dimension)

    def sync(self, progress: Progress | None = None) -> IndexReport:
        """Bring the index level with the store, embedding only what is missing or changed (including what
        a failed background write left behind in Chroma). Writes synchronously: Chroma is current after."""
        with self._lock:
            if self.index is None:
                self.index = self._open_index()
                self.index.load()
            self.snapshot = {r["id"]: r for r in self.catalog.all()}
            report = self.check_index(self.snapshot)
            self._embed_and_store(report.missing + report.stale_text, progress)
            self._store_metadata(report.stale_metadata)
            self.index.delete(report.extra)
            self._refresh_derived()
            return report

    def rebuild_index(self, progress: Progress | None = None) -> int:
        """Drop and rebuild the whole index from the store."""
        with self._lock:
            if self.index is not None:
                self.index.close()  # the old collection's queued writes land before it is dropped
            self.index = VectorIndex.recreate(self.client, self.embedder.identity, self.embedder.dimension)
            self.snapshot = {r["id"]: r for r in self.catalog.all()}
            self._embed_and_store(list(self.snapshot), progress)
            self._refresh_derived()
            return len(self.snapshot)

    def check_index(self, store: dict[str, dict[str, Any]] | None = None) -> IndexReport:
        """Compare store and index: missing, extra, stale text (re-embed), stale eligibility metadata.

        Waits for queued Chroma writes first, so the report describes Chroma, the index of record: a
        background write that failed counts as drift of the resources it was for."""
        with self._lock:
            if store is None:
                store = {r["id"]: r for r in self.catalog.all()}
            try:
                index = self.index or VectorIndex(
                    self.client, self.embedder.identity, self.embedder.dimension
                )
            except IndexMismatch as exc:
                return IndexReport(
                    self.embedder.identity, len(store), 0, missing=sorted(store), mismatch=str(exc)
                )
            if self.index is None:
                index.load()
            index.flush()
            failed = index.unsynced()
            report = IndexReport(self.embedder.identity, len(store), len(index.entries))
            for rid, resource in store.items():
                entry = index.entries.get(rid)
                if entry is None:
                    report.missing.append(rid)
                    continue
                digest = text_hash(resource_text(resource, self.taxonomy))
                if entry.content_hash != digest or failed.get(rid) in ("upsert", "delete"):
                    report.stale_text.append(rid)
                elif failed.get(rid) == "metadata" or _comparable(entry.metadata) != _comparable(
                    metadata_for(resource, digest)
                ):
                    report.stale_metadata.append(rid)
            failed_deletes = {rid for rid, kind in failed.items() if kind == "delete"}
            report.extra = sorted((set(index.entries) | failed_deletes) - set(store))
            return report

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until Chroma holds every index write queued so far; False if ``timeout`` s passed first.
        (Without the engine's lock: matching goes on meanwhile.)"""
        index = self.index
        return index.flush(timeout) if index is not None else True

    def _embed_and_store(self, ids: list[str], progress: Progress | None, batch: int = 32) -> None:
        assert self.index is not None
        ids = [rid for rid in ids if rid in self.snapshot]
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            texts = [resource_text(self.snapshot[rid], self.taxonomy) for rid in chunk]
            vectors = self.embedder.embed_passages(texts)
            metas = [
                metadata_for(self.snapshot[rid], text_hash(t)) for rid, t in zip(chunk, texts, strict=True)
            ]
            self.index.upsert(chunk, vectors, metas)
            if progress:
                progress(min(start + batch, len(ids)), len(ids))

    def _store_metadata(self, ids: list[str]) -> None:
        assert self.index is not None
        metas = [
            metadata_for(self.snapshot[rid], text_hash(resource_text(self.snapshot[rid], self.taxonomy)))
            for rid in ids
        ]
        self.index.update_metadata(ids, metas)

    def on_change(self, change: CatalogChange) -> None:
        """The catalog's change hook: re-embed changed texts, update eligibility metadata, and update the
        derived BM25 documents and mask rows of just the resources that changed (no rebuild).

        Matching sees the change when this returns (mirror, BM25, masks); the Chroma writes go to the
        background writer (``flush`` waits for them), so the edit does not wait for Chroma."""
        with self._lock:
            if self.index is None:
                return
            fresh = self.catalog.get_many(change.upserted)
            removed = [rid for rid in change.removed if rid not in fresh]
            re_embed: list[str] = []
            meta_only: list[str] = []
            with self.index.writing_behind():
                try:
                    for rid, resource in fresh.items():
                        digest = text_hash(resource_text(resource, self.taxonomy))
                        entry = self.index.entries.get(rid)
                        self.snapshot[rid] = resource
                        (meta_only if entry and entry.content_hash == digest else re_embed).append(rid)
                    self._embed_and_store(re_embed, None)
                    self._store_metadata(meta_only)
                    for rid in removed:
                        self.snapshot.pop(rid, None)
                    self.index.delete(removed)
                finally:  # whatever reached the mirror, the derived structures follow it and the snapshot
                    self._refresh_derived(changed=list(fresh), removed=removed)

    def _refresh_derived(self, changed: list[str] | None = None, removed: list[str] | None = None) -> None:
        """BM25 documents and mask columns: fully, or only for the ``changed`` and ``removed`` resources."""
        assert self.index is not None
        ids = self.index.ids
        if changed is None:
            self.lexical.set_documents(
                {rid: resource_text(self.snapshot[rid], self.taxonomy) for rid in ids if rid in self.snapshot}
            )
            self.columns.rebuild(ids, self.snapshot)
        else:
            self.lexical.delete(removed or [])
            self.lexical.upsert(
                {
                    rid: resource_text(self.snapshot[rid], self.taxonomy)
                    for rid in changed
                    if rid in self.snapshot and rid in self.index.row
                }
            )
            self.columns.follow(ids, self.index.row, self.snapshot, changed, removed or [])
            if not removed and len(self._lexical_rows) == len(ids):  # same rows: only the changed ones move
                for rid in changed:
                    if rid in self.index.row:
                        self._lexical_rows[self.index.row[rid]] = self.lexical.row.get(rid, -1)
                return
        self._lexical_rows = np.fromiter(
            (self.lexical.row.get(rid, -1) for rid in ids), dtype=np.int64, count=len(ids)
        )

    def _places_in(self, text: str) -> frozenset[str]:
        """Town and street names (taxonomy area aliases, by stem: 富池镇 → 富池) that ``text`` mentions."""
        return frozenset(stem for stem in self._place_stems if stem in text)

    def close(self) -> None:
        """Stop following the catalog and wait until Chroma holds every queued index write."""
        with self._lock:
            self.catalog.hub.listeners[:] = [fn for fn in self.catalog.hub.listeners if fn != self.on_change]
            if self.index is not None:
                self.index.close()

    # -- eligibility ---------------------------------------------------------------------------------

    def eligible(self, resource: Mapping[str, Any], person: Person, county: str) -> bool:
        return eligibility.check(resource, person, county, self.labels).ok

    def _mask(self, person: Person, county: str) -> np.ndarray:
        cols = self.columns
        zeros = np.zeros(len(cols.active), dtype=bool)
        mask = cols.active & cols.capacity & (cols.area.get(county, zeros) | cols.area[CITYWIDE])
        groups = cols.open_to_all.copy()
        for g in person.groups:
            groups |= cols.group.get(g, zeros)
        mask &= groups
        if person.age is not None:
            mask &= (cols.min_age <= person.age) & (cols.max_age >= person.age)
        return mask

    # -- matching ------------------------------------------------------------------------------------

    def match(
        self,
        request: MatchRequest,
        *,
        config: str = "hybrid",
        record_unmet: bool = True,
        case_id: str | None = None,
    ) -> MatchResult:
        """Needs and eligible resources for one assessment (see module docstring for the stages)."""
        if config not in CONFIGS:
            raise ValueError(f"未知的匹配配置 {config!r}：可选 {', '.join(CONFIGS)}")
        if request.county not in self.taxonomy.areas or request.county == CITYWIDE:
            raise ValueError(f"区县代码 {request.county!r} 无效：请使用区县级代码，如 420222（阳新县）")
        if config == "hybrid+rerank" and self.reranker is None:
            raise ValueError("未配置重排模型（ASSISTANT_RERANKER_MODEL），不能使用 hybrid+rerank")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if request.age is None:
            request = request.model_copy(update={"age": applicant_age(request)})
        with self._lock:
            if self.index is None:
                self.sync()
            if config == "dense-whole-text":
                result = self._whole_text(request, timings)
            else:
                if self.extractor is self.rule_extractor:
                    needs, denied = self.rule_extractor.analyse(request)
                else:
                    needs = self.extractor.extract(request)
                    denied = self.rule_extractor.analyse(request)[1]
                timings["extract_ms"] = _ms(started)
                result = self._match_needs(request, needs, denied, config, timings)
        result.config = config
        timings["total_ms"] = _ms(started)
        result.timings_ms = {k: round(v, 2) for k, v in timings.items()}
        if record_unmet and result.unmet:
            self._record_unmet(request.county, result.unmet, case_id)
        return result

    def query_text(self, need: Need) -> str:
        return f"{need.text}；需要{self.taxonomy.category_label(need.category)}服务"

    def _match_needs(
        self,
        request: MatchRequest,
        needs: list[Need],
        denied: set[str],
        config: str,
        timings: dict[str, float],
    ) -> MatchResult:
        """Per need: the person's eligibility mask, less resources whose main service the text declines
        ("不需要送餐" → no meal-first resource for another need), then ranking."""
        assert self.index is not None
        t = time.perf_counter()
        queries = [self.query_text(n) for n in needs]
        vectors = self.embedder.embed_queries(queries) if config != "bm25" else None
        timings["embed_ms"] = _ms(t)
        t = time.perf_counter()
        dense = self.index.scores(vectors) if vectors is not None else None
        result = MatchResult()
        masks: dict[str, np.ndarray] = {}
        places = self._places_in(request.text)
        for i, need in enumerate(needs):
            key = need.person.model_dump_json()
            if key not in masks:
                masks[key] = self._without_primary(self._mask(need.person, request.county), denied)
            mask = masks[key]
            rows = self._rank(need, queries[i], mask, None if dense is None else dense[i], config, places)
            found = (self._as_match(row, need, request.county, score) for row, score in rows[: request.top_k])
            matches = [m for m in found if m is not None]
            if matches:
                result.needs.append(NeedMatches(need=need, matches=matches))
            else:
                result.unmet.append(self._unmet(need, request.county))
        timings["retrieve_ms"] = _ms(t)
        return result

    def _rank(
        self,
        need: Need,
        query: str,
        mask: np.ndarray,
        dense: np.ndarray | None,
        config: str,
        places: frozenset[str] = frozenset(),
    ) -> list[tuple[int, float]]:
        cols = self.columns
        s = self.settings
        in_category = cols.category.get(need.category, np.zeros_like(mask))
        candidates = mask & in_category if config in ("hybrid", "hybrid+rerank") else mask
        rows = np.flatnonzero(candidates)
        if rows.size == 0:
            return []
        rankings: dict[str, list[int]] = {}
        if dense is not None:
            rankings["dense"] = [int(r) for r in rows[np.argsort(-dense[rows], kind="stable")]][
                : s.match_candidates
            ]
        if config != "dense":
            lexical = self.lexical.scores(query)
            lex_rows = self._lexical_rows[rows]
            lex = np.where(lex_rows >= 0, lexical[np.maximum(lex_rows, 0)], 0.0)
            rankings["bm25"] = [int(r) for r in rows[np.argsort(-lex, kind="stable")]][: s.match_candidates]
        fused = rrf(rankings, k=s.rrf_k)
        top = 1.0 / (s.rrf_k + 1) * len(rankings)
        scored: list[tuple[int, float]] = []
        for row, value in fused.items():
            score = value / top
            if config in ("hybrid", "hybrid+rerank"):
                score = (
                    s.weight_fused * score
                    + s.prior_primary * float(cols.primary[need.category][row])
                    + s.prior_county * float(cols.county_specific[row])
                    + s.prior_targeted * float(not cols.open_to_all[row])
                    + s.prior_place * self._locality(row, places)
                )
            scored.append((row, score))
        scored.sort(key=lambda item: -item[1])
        if config == "hybrid+rerank" and self.reranker is not None:
            head = scored[: s.match_candidates]
            assert self.index is not None
            texts = [resource_text(self.snapshot[self.index.ids[r]], self.taxonomy) for r, _ in head]
            raw = self.reranker.scores(query, texts)
            scored = sorted(
                ((r, 1 / (1 + np.exp(-x))) for (r, _), x in zip(head, raw, strict=True)),
                key=lambda item: -item[1],
            )
        return scored

    def _without_primary(self, mask: np.ndarray, denied: set[str]) -> np.ndarray:
        for code in denied:
            mask = mask & ~self.columns.primary.get(code, np.zeros_like(mask))
        return mask

    def _locality(self, row: int, places: frozenset[str]) -> float:
        """+1 when the resource sits in a town or street the assessment names, -1 when it names another one."""
        known = self.columns.places
        if not places or row >= len(known) or not known[row]:
            return 0.0
        return 1.0 if known[row] & places else -1.0

    def _as_match(self, row: int, need: Need, county: str, score: float) -> Match | None:
        assert self.index is not None
        resource = self.snapshot[self.index.ids[row]]
        verdict = eligibility.check(resource, need.person, county, self.labels)
        if not verdict.ok:  # the vectorised mask and the rule must agree; never offer an ineligible resource
            log.error("eligibility mask disagreed with the rule for %s", resource["id"])
            return None
        return _match(resource, score, self._reasons(resource, need, county, verdict.reasons))

    def _reasons(
        self, resource: Mapping[str, Any], need: Need, county: str, passes: tuple[str, ...]
    ) -> list[str]:
        label = self.taxonomy.category_label(need.category)
        cues = "、".join(need.cues[:3])
        reasons = [f"评估中“{need.text}”{f'（{cues}）' if cues else ''}→ 需要{label}"]
        categories = resource.get("categories") or []
        if categories and categories[0] == need.category:
            reasons.append(f"该资源的主要服务即为{label}")
        elif need.category in categories:
            reasons.append(f"该资源兼顾{label}服务")
        else:
            reasons.append("与需求描述语义相近")
        if need.person.relation != "申请人":
            reasons.append(
                f"为{need.person.relation}（{need.person.age if need.person.age is not None else '年龄未知'}岁）匹配"
            )
        reasons.extend(passes)
        available = (resource.get("capacity") or {}).get("available")
        if available is not None:
            reasons.append(f"尚余{available}个名额")
        return reasons

    def _unmet(self, need: Need, county: str) -> Unmet:
        """Why no resource: none of the category in the area, all paused, all full, or none for this person."""
        label = self.taxonomy.category_label(need.category)
        area_label = self.taxonomy.area_label(county)
        pool = [
            r
            for r in self.snapshot.values()
            if need.category in (r.get("categories") or [])
            and (county in r["service_areas"] or CITYWIDE in r["service_areas"])
        ]
        if not pool:
            code, reason = "no_resource_in_area", f"{area_label}暂无{label}类服务资源"
        elif not [r for r in pool if r.get("status") == "active"]:
            code, reason = "all_paused", f"{area_label}的{label}资源目前均暂停或停用"
        else:
            active = [r for r in pool if r.get("status") == "active"]
            open_ones = [r for r in active if eligibility.has_capacity(r)]
            if not open_ones:
                code, reason = "all_full", f"{area_label}的{label}资源名额均已满"
            else:
                person = need.person
                group_ok = [
                    r
                    for r in open_ones
                    if not r.get("target_groups") or set(r["target_groups"]) & set(person.groups)
                ]
                if not group_ok:
                    code, reason = "no_resource_for_group", f"{area_label}的{label}资源不面向该对象类别"
                else:
                    code, reason = "age_mismatch", f"{area_label}的{label}资源年龄条件不符（{person.age}岁）"
        return Unmet(
            text=need.text, category=need.category, reason=reason, reason_code=code, person=need.person
        )

    def _whole_text(self, request: MatchRequest, timings: dict[str, float]) -> MatchResult:
        """The baseline a plain LangChain + Chroma RAG gives: the whole text, top-k, no filters."""
        assert self.index is not None
        t = time.perf_counter()
        vector = self.embedder.embed_queries([request.text])
        timings["embed_ms"] = _ms(t)
        scores = self.index.scores(vector)[0]
        result = MatchResult()
        by_category: dict[str, NeedMatches] = {}
        for row in np.argsort(-scores)[: request.top_k]:
            resource = self.snapshot[self.index.ids[int(row)]]
            category = resource["categories"][0]
            if category not in by_category:
                need = Need(text=request.text[:60], category=category, confidence=0.0)
                by_category[category] = NeedMatches(need=need, matches=[])
                result.needs.append(by_category[category])
            by_category[category].matches.append(
                _match(resource, float(scores[row]), ["整段文本向量相似（基线，未做资格过滤）"])
            )
        return result

    def _record_unmet(self, county: str, unmet: list[Unmet], case_id: str | None) -> None:
        with self.db.session() as session:
            for u in unmet:
                session.add(
                    UnmetNeedRecord(
                        county=county,
                        category=u.category,
                        reason_code=u.reason_code,
                        reason=u.reason,
                        need_text=redact(u.text),
                        person_relation=u.person.relation,
                        source="match",
                        case_id=case_id,
                    )
                )


def _stem(alias: str) -> str:
    for suffix in ("街道办事处", "管理区", "街道", "社区", "镇", "乡", "区", "村"):
        if alias.endswith(suffix) and len(alias) > len(suffix) + 1:
            return alias[: -len(suffix)]
    return alias


def _match(resource: Mapping[str, Any], score: float, reasons: list[str]) -> Match:
    """A resource as a match: the contract fields plus what a caseworker needs to call the provider."""
    return Match(
        resource_id=resource["id"],
        name=resource["name"],
        categories=resource["categories"],
        service_areas=resource["service_areas"],
        target_groups=resource["target_groups"],
        score=round(float(score), 4),
        reasons=reasons,
        organization=resource.get("organization") or "",
        schedule_description=resource.get("schedule_description") or "",
        cost_description=resource.get("cost_description") or "",
        address=resource.get("address") or "",
        phone=resource.get("phone") or "",
        capacity_available=(resource.get("capacity") or {}).get("available"),
    )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def _comparable(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (sorted(v) if isinstance(v, list) else v) for k, v in meta.items()}


def build_matching(
    settings: Settings,
    db: Database,
    catalog: CatalogService,
    extractor: NeedExtractor | None = None,
    progress: Progress | None = None,
) -> MatchingEngine:
    """The one engine of a process: bundled or sentence-transformers embedder, synced index."""
    taxonomy = get_taxonomy(settings.catalog_dir / "taxonomy.yaml")
    embedder = build_embedder(settings.embedding_model, settings.embedding_cache_entries)
    reranker = CrossEncoderReranker(settings.reranker_model) if settings.reranker_model else None
    engine = MatchingEngine(settings, db, catalog, embedder, taxonomy, extractor, reranker)
    engine.sync(progress)
    return engine


__all__ = ["CONFIGS", "IndexReport", "MatchingEngine", "build_matching", "infer_members"]
