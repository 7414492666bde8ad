"""Every benchmark prints the conditions of its run (load average before and after, CPU count, commit) beside its
table: each one writes its results through bench.common's one helper, which prints them. Read from the source."""

from __future__ import annotations

import ast
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import bench.common
from rig.paths import REPO

BENCHES = sorted(p for p in (REPO / "bench").glob("*.py") if p.name not in ("__init__.py", "common.py"))


def _names(path: Path) -> set[str]:
    """Every name and attribute the module uses."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.name)
    return names


@pytest.mark.parametrize("path", BENCHES, ids=lambda p: p.stem)
def test_each_benchmark_writes_its_results_through_the_helper_that_prints_the_conditions(path: Path) -> None:
    names = _names(path)
    assert names & {"write_results", "report"}, f"{path.name} writes its results without bench.common.write_results"
    assert "RESULTS" not in names, f"{path.name} writes into bench/results/ by itself, without the conditions"


def test_the_helper_prints_load_before_and_after_cpus_and_commit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bench.common, "RESULTS", tmp_path)
    out = io.StringIO()
    with redirect_stdout(out):
        written = bench.common.write_results("probe", {"rows": []}, since=(0.5, 0.25, 0.125))
    line = out.getvalue()
    assert "before 0.50 / 0.25 / 0.12, after " in line
    assert " CPUs; commit " in line
    conditions = json.loads(written.read_text())["conditions"]
    assert conditions["load_before"] == [0.5, 0.25, 0.125]
    assert len(conditions["load_after"]) == 3
    assert conditions["cpus"] >= 1
    assert conditions["commit"]
    assert conditions["commit"] != "unknown (not a git checkout)"
