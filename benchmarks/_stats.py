"""Latency statistics shared by the benchmark scripts, so their p50/p99 columns mean the same."""

from __future__ import annotations

import statistics

__all__ = ["percentile"]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0 < q < 1) of ``values``, interpolated inclusively (``q=0.5`` is the
    median); 0.0 for no values, so the JSON stays valid for a row that made no calls."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]
