"""Tables (grid → CSV/JSON/Markdown) and the shipped lookup table."""
import csv
import importlib.util
import json
import math

import pytest
from hypothesis import given, settings, strategies as st

import accountant as acc
from accountant.calibration import calibrate
from accountant.cli import main
from accountant.lookup import exact_entry, lookup_noise, table_axes
from accountant.tables import COLUMNS, noise_table, write_table

GRID = dict(epsilons="2,4", deltas="1e-5", sample_rates="0.02,0.05", epochs="1,3")


def test_noise_table_rows_and_monotone():
    rows = noise_table(GRID["epsilons"], GRID["deltas"], GRID["sample_rates"],
                       epochs=GRID["epochs"], workers=1)
    assert len(rows) == 8
    for r in rows:
        assert set(COLUMNS) <= set(r)
        assert r["steps"] == math.ceil(r["epochs"] / r["sample_rate"])
        assert r["certified_epsilon"] <= r["epsilon"]
        assert r["method"] == "pld"
    by = {(r["epsilon"], r["sample_rate"], r["epochs"]): r["noise_multiplier"] for r in rows}
    for e in (2.0, 4.0):
        for q in (0.02, 0.05):
            assert by[(e, q, 1.0)] < by[(e, q, 3.0)]          # more steps, more noise
        assert by[(e, 0.02, 3.0)] < by[(e, 0.05, 3.0)]        # larger q, more noise
    assert by[(4.0, 0.05, 3.0)] < by[(2.0, 0.05, 3.0)]        # larger ε, less noise
    # Same answer as a direct calibration (warm starts change the path, not the guarantee).
    direct = calibrate(2.0, 1e-5, 0.05, 60)
    assert by[(2.0, 0.05, 3.0)] == pytest.approx(direct.noise_multiplier, rel=2e-3)


def test_steps_axis_and_parallel_workers():
    rows = noise_table("3", "1e-5", "0.05", steps="20,40", workers=2)
    assert [r["steps"] for r in rows] == [20, 40]
    assert rows[0]["epochs"] == pytest.approx(1.0)
    assert all(r["certified_epsilon"] <= 3.0 for r in rows)


@pytest.mark.parametrize("ext", ["csv", "json", "md"])
def test_cli_table_writes_formats(tmp_path, capsys, ext):
    out = tmp_path / f"t.{ext}"
    code = main(["table", "--epsilon", "2,4", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1,2", "--workers", "1", "--output", str(out)])
    assert code == 0
    assert "wrote 4 cells" in capsys.readouterr().out
    text = out.read_text()
    if ext == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert list(rows[0].keys()) == list(COLUMNS)
        assert len(rows) == 4
        assert float(rows[0]["certified_epsilon"]) <= float(rows[0]["epsilon"])
        assert int(rows[1]["steps"]) == 40
    elif ext == "json":
        rows = json.loads(text)
        assert len(rows) == 4 and list(rows[0].keys()) == list(COLUMNS)
    else:
        lines = text.strip().splitlines()
        assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
        assert len(lines) == 6


def test_markdown_rounds_up(tmp_path):
    rows = [{"epsilon": 1.0, "delta": 1e-5, "sample_rate": 0.01, "epochs": 1.0, "steps": 100,
             "noise_multiplier": 1.23456701, "certified_epsilon": 0.99999912,
             "method": "pld"}]
    p = tmp_path / "x.md"
    write_table(rows, p)
    assert "| 1.23457 | 1 |" in p.read_text()


def test_cli_table_errors_one_line(tmp_path, capsys):
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1", "--output", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "output" in err
    assert main(["table", "--epsilon", "2,x", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1", "--output", str(tmp_path / "t.csv")]) == 2
    assert "epsilon" in capsys.readouterr().err
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "1.5",
                 "--epochs", "1", "--output", str(tmp_path / "t.csv")]) == 2
    assert "sample_rate" in capsys.readouterr().err
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.5",
                 "--output", str(tmp_path / "t.csv")]) == 2
    assert "epochs or steps" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("dask") is not None, reason="dask installed")
def test_dask_missing_is_a_clear_error():
    with pytest.raises(ValueError, match="dask"):
        noise_table("2", "1e-5", "0.05", epochs="1", dask_scheduler="tcp://127.0.0.1:1")


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="dask absent")
def test_dask_local_cluster():
    from dask.distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cl:
        rows = noise_table("2", "1e-5", "0.05", epochs="1,2", dask_scheduler=cl.scheduler_address)
    assert len(rows) == 2 and all(r["certified_epsilon"] <= 2.0 for r in rows)


# ----------------------------------------------------------------------------------------
# Lookup
# ----------------------------------------------------------------------------------------
def test_lookup_exact_grid_point_is_the_calibrated_value():
    ax = table_axes()
    e, d, q, T = 3.0, 1e-5, 0.01, 5000
    assert e in ax["epsilon"] and d in ax["delta"] and q in ax["sample_rate"] and T in ax["steps"]
    s = lookup_noise(e, d, q, T)
    assert 1.21089 <= s <= 1.21089 * 1.001       # the anchor, precomputed
    sig, ce = exact_entry(e, d, q, T)
    assert sig == s and ce <= e
    r = calibrate(e, d, q, T, lookup=True)
    assert r.source == "lookup" and r.noise_multiplier == s


def test_lookup_outside_grid():
    ax = table_axes()
    assert lookup_noise(min(ax["epsilon"]) / 2, 1e-5, 0.01, 100) is None      # ε below grid
    assert lookup_noise(3.0, min(ax["delta"]) / 10, 0.01, 100) is None        # δ below grid
    assert lookup_noise(3.0, 1e-5, 0.01, max(ax["steps"]) + 1) is None        # T above grid
    s = lookup_noise(3.0, 1e-5, 0.01, max(ax["steps"]) + 1, fallback=True)
    assert s is not None and s > 0


def test_lookup_bad_input():
    for args, name in [((0.0, 1e-5, 0.01, 10), "epsilon"), ((1.0, 1.0, 0.01, 10), "delta"),
                       ((1.0, 1e-5, 0.0, 10), "sample_rate"), ((1.0, 1e-5, 0.1, 0), "steps")]:
        with pytest.raises(ValueError, match=name):
            lookup_noise(*args)


@settings(max_examples=5, deadline=None)
@given(eps=st.floats(1.0, 9.0), logd=st.floats(-8, -5), logq=st.floats(math.log(0.005),
       math.log(0.3)), T=st.integers(10, 20000))
def test_lookup_is_conservative(eps, logd, logq, T):
    delta, q = 10 ** logd, math.exp(logq)
    s = lookup_noise(eps, delta, q, T)
    assert s is not None
    # A dominating grid point's σ is ≥ the optimum, which calibrate brackets within rtol.
    r = calibrate(eps, delta, q, T)
    assert s >= r.noise_multiplier / (1 + r.rtol)
    # And it is certified directly on the query (when not the very same value, a σ above
    # the calibrated one has an upper bound below it on the same grid).
    if s > r.noise_multiplier * (1 + 1e-6):
        up = acc.epsilon(acc.SubsampledGaussian(s, q), delta=delta, steps=T, method="pld",
                         h=r.details.get("grid_step", 1e-4)).upper
        assert up <= eps
