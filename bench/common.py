"""Shared bench helpers: timing, statistics, the result table and JSON."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[[], Any], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
        "min_ms": round(ordered[0], 3),
        "max_ms": round(ordered[-1], 3),
    }


def report(name: str, rows: dict[str, dict[str, float]], extra: dict[str, Any] | None = None) -> Path:
    width = max(len(k) for k in rows)
    print(f"\n{name}")
    print(f"{'case':<{width}}  {'runs':>5}  {'median ms':>10}  {'p95 ms':>8}  {'min ms':>8}")
    for case, s in rows.items():
        print(f"{case:<{width}}  {s['runs']:>5}  {s['median_ms']:>10.3f}  {s['p95_ms']:>8.3f}  {s['min_ms']:>8.3f}")
    for k, v in (extra or {}).items():
        print(f"{k}: {v}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "bench": name,
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": platform.platform(),
                "rows": rows,
                **(extra or {}),
            },
            indent=2,
        )
    )
    print(f"written {out}")
    return out
