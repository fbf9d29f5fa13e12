"""`compare` and `dp-accountant compare`: ours side by side, peers optional."""
from __future__ import annotations

import importlib
import importlib.util
import json
import math
import sys

import pytest

import accountant as acc
from accountant import api, cli
C = importlib.import_module("accountant.comparison")

SMALL = acc.SubsampledGaussian(1.1, 256 / 60000)
HAS_MPL = importlib.util.find_spec("matplotlib") is not None
HAS_DPA = importlib.util.find_spec("dp_accounting") is not None


def _ours(rows):
    return {r["name"]: r for r in rows if r["source"] == "ours"}


def test_compare_ours_only_agree_and_order():
    rows = C.compare(SMALL, 1e-5, 2000, peers=False, repeat=1)
    ours = _ours(rows)
    assert set(ours) == set(C.default_methods(SMALL))
    assert all(r["source"] == "ours" for r in rows)
    pld, rdp = ours["pld"], ours["rdp"]
    assert pld["certified"] and pld["lower"] <= pld["epsilon"] <= pld["upper"]
    # RDP is a looser certified bound than the tight PLD bracket
    assert rdp["epsilon"] >= pld["lower"]
    assert rdp["epsilon"] >= pld["upper"] * (1 - 1e-9)
    for r in ours.values():
        assert r["seconds"] >= 0 and r["runs"] == 1


def test_compare_closed_form_inside_pld_bracket():
    from accountant._exact import gdp_epsilon
    rows = C.compare(acc.Gaussian(2.0), 1e-5, 100, methods=["pld"], peers=False, repeat=1)
    r = rows[0]
    truth = gdp_epsilon(5.0, 1e-5)
    assert r["lower"] <= truth <= r["upper"]


def test_group_baselines_only_for_els():
    assert not any(m.startswith("group-") for m in C.default_methods(SMALL))
    els = C.default_methods(acc.ELS(1.0, 0.01, 4))
    assert [m for m in els if m.startswith("group-")] == [m for m in api.built_methods()
                                                          if m.startswith("group-")]


def test_bad_input_is_valueerror():
    with pytest.raises(ValueError, match="delta"):
        C.compare(SMALL, 1.5, 10, peers=False)
    with pytest.raises(ValueError, match="method"):
        C.compare(SMALL, 1e-5, 10, methods=["nope"], peers=False)
    with pytest.raises(ValueError, match="peers"):
        C.compare(SMALL, 1e-5, 10, methods=["rdp"], peers=["not-a-peer"])
    with pytest.raises(ValueError, match="peer"):
        C.run_peer("not-a-peer", SMALL, 1e-5, 10)


def test_segments_refuse_replace_one():
    s = acc.Schedule([(acc.SubsampledGaussian(1.0, 0.01, neighboring="replace_one"), 10)])
    with pytest.raises(C.Unsupported):
        C._segments(s)
    segs = C._segments(acc.Schedule([(acc.ELS(1.0, 0.01, 1), 3), (acc.ELS(1.0, 0.01, 3), 2)]))
    assert segs == [("psg", (1.0, 0.01), 3), ("els", (1.0, 0.01, 3), 2)]


def test_absent_peer_is_reported_not_raised(monkeypatch):
    monkeypatch.setitem(sys.modules, "opacus", None)      # import opacus → ImportError
    st = C.peer_status()
    assert st["Opacus RDP"].startswith("not installed")
    rows = C.compare(SMALL, 1e-5, 100, methods=["rdp"], peers=["Opacus GDP"], repeat=1)
    assert rows[-1]["name"] == "Opacus GDP" and rows[-1]["error"].startswith("not installed")
    with pytest.raises(C.Absent):
        C.run_peer("Opacus RDP", SMALL, 1e-5, 100)


def test_step_grid():
    g = C.step_grid(14063, 8)
    assert g[-1] == 14063 and g == sorted(set(g)) and g[0] >= 1 and len(g) <= 8
    assert C.step_grid(1, 8) == [1]
    assert C.step_grid(5, 8)[-1] == 5


def test_clear_caches_keeps_answers():
    a = acc.epsilon(SMALL, delta=1e-5, steps=500, method="pld")
    C.clear_caches()
    b = acc.epsilon(SMALL, delta=1e-5, steps=500, method="pld")
    assert (a.lower, a.upper) == (b.lower, b.upper)


@pytest.mark.skipif(not HAS_DPA, reason="dp_accounting not installed")
def test_peer_dp_accounting_rdp_matches_ours_rdp():
    lo, est, up = C.run_peer("dp_accounting RDP", SMALL, 1e-5, 2000)
    ours = acc.epsilon(SMALL, delta=1e-5, steps=2000, method="rdp")
    # both RDP with optimised orders: ours is continuous in the order, so never larger
    assert float(ours) <= est * (1 + 1e-6)
    assert float(ours) >= est * 0.97


# ---------------------------------------------------------------------------- CLI
def test_cli_defaults_are_the_mnist_example():
    a = cli.build_parser("compare").parse_args(["compare"])
    assert a.noise_multiplier == 1.1 and a.sample_rate == 256 / 60000
    assert a.steps == 14063 and a.delta == 1e-5 and a.plot is None


def test_cli_json(capsys):
    code = cli.main(["compare", "--steps", "300", "--peers", "none", "--method", "pld,rdp",
                     "--repeat", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["setting"]["steps"] == 300
    names = [r["name"] for r in out["results"]]
    assert names == ["pld", "rdp"]
    assert all(math.isfinite(r["epsilon"]) for r in out["results"])


def test_cli_json_is_strict_with_vacuous_intervals(capsys):
    if "edgeworth" not in api.built_methods():
        pytest.skip("edgeworth not built")
    code = cli.main(["compare", "--steps", "300", "--peers", "none", "--method", "edgeworth",
                     "--delta", "1e-12", "--repeat", "1", "--json"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Infinity" not in text and "NaN" not in text
    r = json.loads(text)["results"][0]
    assert r["upper"] == "inf" or math.isfinite(r["upper"])


def test_cli_table(capsys):
    code = cli.main(["compare", "--steps", "300", "--peers", "none", "--method", "rdp",
                     "--repeat", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "rdp (ours)" in out and "steps=300" in out


@pytest.mark.parametrize("argv, needle", [
    (["compare", "--delta", "2"], "delta"),
    (["compare", "--steps", "0", "--peers", "none"], "steps"),
    (["compare", "--repeat", "0", "--peers", "none"], "repeat"),
    (["compare", "--peers", "bogus", "--steps", "10", "--method", "rdp"], "peers"),
])
def test_cli_errors_one_line(capsys, argv, needle):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err


def test_cli_plot_without_matplotlib(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code = cli.main(["compare", "--steps", "50", "--peers", "none", "--method", "rdp",
                     "--plot", str(tmp_path / "x.png")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "matplotlib" in err and err.count("\n") == 0
    assert not (tmp_path / "x.png").exists()


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib not installed")
def test_cli_plot_writes_png(capsys, tmp_path):
    path = tmp_path / "eps.png"
    code = cli.main(["compare", "--steps", "2000", "--peers", "none", "--method", "pld,rdp",
                     "--repeat", "1", "--points", "4", "--plot", str(path)])
    assert code == 0
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert "plot written" in capsys.readouterr().out


def test_acc_compare_callable_whatever_the_import_order():
    import accountant
    rows = accountant.compare(SMALL, 1e-5, 50, methods=["rdp"], peers=False, repeat=1)
    assert rows[0]["name"] == "rdp" and rows[0]["epsilon"] > 0
