"""benchmarks/bench_equal_accuracy.py: its RESULTS.md section is written once and survives run.py.

No timings are checked (a shared machine); only the bookkeeping that decides what lands in
RESULTS.md.
"""
from __future__ import annotations

import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


def _load(name):
    sys.path.insert(0, BENCH)
    try:
        spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, name + ".py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(BENCH)


@pytest.fixture(scope="module")
def eq():
    return _load("bench_equal_accuracy")


def test_section_appended_then_replaced(eq, tmp_path):
    p = tmp_path / "RESULTS.md"
    p.write_text("# Benchmark results\n\n## A\n\nold a\n")
    eq.write_section(eq.SECTION + "\n\nfirst\n", str(p))
    body = p.read_text()
    assert body.count(eq.SECTION) == 1 and "first" in body and "old a" in body
    eq.write_section(eq.SECTION + "\n\nsecond\n", str(p))
    body = p.read_text()
    assert body.count(eq.SECTION) == 1 and "second" in body and "first" not in body
    assert body.index("## A") < body.index(eq.SECTION)


def test_section_replaced_in_the_middle_keeps_what_follows(eq, tmp_path):
    p = tmp_path / "RESULTS.md"
    p.write_text(f"# R\n\n{eq.SECTION}\n\nold\n\n## Later\n\nkeep me\n")
    eq.write_section(eq.SECTION + "\n\nnew\n", str(p))
    body = p.read_text()
    assert "old" not in body and "new" in body and body.endswith("keep me\n")


def test_run_py_keeps_the_section(eq, tmp_path):
    run = _load("run")
    assert eq.SECTION in run.KEPT_SECTIONS
    p = tmp_path / "RESULTS.md"
    p.write_text(f"# R\n\n## Other\n\nx\n\n{eq.SECTION}\n\nmeasured table\n")
    kept = run._kept_sections(str(p))
    assert "\n".join(kept).strip() == f"{eq.SECTION}\n\nmeasured table"
    assert run._kept_sections(str(tmp_path / "missing.md")) == []


def test_cases_are_the_issue_table(eq):
    # Issue 17's table: (σ, q, T, δ) of its five rows, in order.
    assert [c[1:] for c in eq.CASES] == [
        (1.1, 0.01, 10_000, 1e-5), (1.1, 256 / 60000, 14_062, 1e-5), (0.8, 1e-3, 100_000, 1e-5),
        (2.0, 0.1, 1000, 1e-5), (1.1, 0.01, 10_000, 1e-10)]
    # Our default (rtol None) is a candidate first, then rtol from 10^-2.5 down by 10^(1/8).
    assert eq.DEFAULT is None and eq.EQ_RTOLS[0] == 0.00316 and eq.EQ_RTOLS[-1] == 1e-7
    assert 1e-3 in eq.EQ_RTOLS
    assert list(eq.EQ_RTOLS) == sorted(eq.EQ_RTOLS, reverse=True)
    assert all(1.3 < a / b < 1.4 for a, b in zip(eq.EQ_RTOLS, eq.EQ_RTOLS[1:]))


def test_profile_case1_times_each_round(eq):
    # the wrapper around the per-grid function must follow its signature (a keyword added
    # to it once broke the benchmark, not the suite)
    # (the default: a first round, then the grid cap's upper-side round, which passes
    # keywords of its own)
    out = eq.profile_case1(rtol=None, top=3)
    rounds = out.split("refinement rounds")[1].strip().splitlines()[1:]
    assert len(rounds) >= 2 and all(r.strip().startswith("h=") for r in rounds)
