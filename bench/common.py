"""Shared bench helpers: timing, statistics, the conditions of a run, the result table and JSON.

Every benchmark writes its JSON through `write_results`, which prints beside the table the conditions a figure needs
to be read on a shared machine: the load average when the bench started and when it ended, the CPU count and the
commit measured (with "+changes" when the worktree differed from it).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
REPO = RESULTS.parent.parent

Load = tuple[float, float, float]


def load_average() -> Load:
    """1, 5 and 15-minute load averages, rounded for printing."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


STARTED: Load = load_average()  # when the bench started: every bench imports this module first


def commit() -> str:
    """The commit measured: its short hash, with '+changes' when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+changes" if dirty else "")


@dataclass(frozen=True)
class Conditions:
    """What a figure was measured under."""

    load_before: Load
    load_after: Load
    cpus: int
    commit: str

    def line(self) -> str:
        def fmt(load: Load) -> str:
            return " / ".join(f"{x:.2f}" for x in load)

        return (
            f"load average (1/5/15 min) before {fmt(self.load_before)}, after {fmt(self.load_after)};"
            f" {self.cpus} CPUs; commit {self.commit}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "load_before": list(self.load_before),
            "load_after": list(self.load_after),
            "cpus": self.cpus,
            "commit": self.commit,
        }


def conditions(since: Load | None = None) -> Conditions:
    """The conditions from `since` (default: when the bench started) until now."""
    return Conditions(since or STARTED, load_average(), os.cpu_count() or 0, commit())


def write_results(name: str, data: dict[str, Any], since: Load | None = None) -> Path:
    """Print the run's conditions (beside the table just printed) and write bench/results/<name>.json with them."""
    c = conditions(since)
    print(c.line())
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "bench": name,
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": platform.platform(),
                "conditions": c.as_json(),
                **data,
            },
            indent=2,
        )
    )
    print(f"written {out}")
    return out


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
    return write_results(name, {"rows": rows, **(extra or {})})
