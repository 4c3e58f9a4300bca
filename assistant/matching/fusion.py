"""Reciprocal-rank fusion of per-channel rankings (Cormack et al. 2009), with per-channel weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rrf(
    rankings: Mapping[str, Sequence[int]], k: int = 60, weights: Mapping[str, float] | None = None
) -> dict[int, float]:
    """``rankings``: channel → candidate rows best first. Returns row → fused score."""
    fused: dict[int, float] = {}
    for channel, ranking in rankings.items():
        weight = (weights or {}).get(channel, 1.0)
        for rank, row in enumerate(ranking):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank + 1)
    return fused
