"""Summary statistics shared by the benchmarks and the product's evaluation commands."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """Return the q-th percentile (0-100) by nearest rank, or None without values.

    The one definition every benchmark's p50/p95/p99 uses, so figures compare across docs/benchmarks.md and
    docs/reliability.md: the smallest observed value with at least q % of the values at or below it (no
    interpolation; p100 is the maximum). numpy's default (linear interpolation) reports values never observed
    and, on small samples, lower tails than this.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])
