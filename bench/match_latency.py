"""Matching latency: per assessment, the time of one match vs the time to embed its need texts alone.

Embedding the need queries is the floor no matcher can go under; everything else (need extraction, masks,
BM25, fusion, reasons) should add little. Target: matching time ≤ 1.3 × embedding time.

    python bench/match_latency.py [--resources 5000] [--cases 40] [--repeat 3] [--config hybrid] [--store DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import assessments, median, percentile, temporary_container

from assistant.matching.types import MatchRequest

TARGET = 1.3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--resources", type=int, default=5000, help="catalog size (seed + generated variants)"
    )
    parser.add_argument("--cases", type=int, default=40, help="assessments from eval/cases.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="timings per assessment (the fastest is kept)")
    parser.add_argument("--config", default="hybrid")
    parser.add_argument("--store", type=Path, help="keep the built store here and reuse it on later runs")
    args = parser.parse_args()

    with temporary_container(args.resources, args.store) as (container, build_seconds):
        matcher = container.matcher
        print(f"catalog: {container.catalog.count()} resources; index build or load {build_seconds:.1f} s")
        requests = [
            MatchRequest(
                text=str(row["text"]),
                county=str(row["county"]),
                groups=list(row.get("groups") or []),
                age=row.get("age"),
                members=list(row.get("members") or []),
                top_k=10,
            )
            for row in assessments(args.cases)
        ]
        for request in requests[:3]:  # warm-up: caches, BM25 scratch, thread pools
            matcher.match(request, config=args.config, record_unmet=False)

        rows: list[tuple[float, float, int]] = []
        for request in requests:
            queries = [matcher.query_text(need) for need in matcher.extractor.extract(request)]
            if not queries:
                continue
            match_times, embed_times = [], []
            for repeat in range(args.repeat):
                # Interleaved, and in alternating order, so load and cache warmth hit both sides alike.
                for step in ("match", "embed") if repeat % 2 == 0 else ("embed", "match"):
                    started = time.perf_counter()
                    if step == "match":
                        matcher.match(request, config=args.config, record_unmet=False)
                        match_times.append(time.perf_counter() - started)
                    else:
                        matcher.embedder.embed_queries(queries)
                        embed_times.append(time.perf_counter() - started)
            rows.append((min(match_times) * 1000, min(embed_times) * 1000, len(queries)))

    if not rows:
        raise SystemExit("no assessment produced a need: nothing to compare")
    match_ms = [r[0] for r in rows]
    embed_ms = [r[1] for r in rows]
    ratios = [m / e for m, e, _ in rows if e > 0]
    ratio = median(match_ms) / median(embed_ms)
    within = sum(r <= TARGET for r in ratios) / len(ratios)
    print(
        f"assessments: {len(rows)} (config {args.config}, {median([float(r[2]) for r in rows]):.0f} needs median)"
    )
    print(f"match           p50 {median(match_ms):8.1f} ms   p95 {percentile(match_ms, 95):8.1f} ms")
    print(f"embed needs     p50 {median(embed_ms):8.1f} ms   p95 {percentile(embed_ms, 95):8.1f} ms")
    print(
        f"ratio (p50 match / p50 embed): {ratio:.2f}x   target <= {TARGET}x   {'OK' if ratio <= TARGET else 'ABOVE TARGET'}"
    )
    print(
        f"per-assessment ratio: median {median(ratios):.2f}x, p95 {percentile(ratios, 95):.2f}x, "
        f"{within:.0%} within {TARGET}x"
    )


if __name__ == "__main__":
    main()
