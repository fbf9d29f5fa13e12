"""`compare` and `dp-accountant compare`: ours side by side, peers optional."""
from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import sys
import time

import pytest

import accountant as acc
from accountant import cli
from accountant.accountants import api
C = importlib.import_module("accountant.interop.comparison")

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
    from accountant.accountants.exact import gdp_epsilon
    rows = C.compare(acc.Gaussian(2.0), 1e-5, 100, methods=["pld"], peers=False, repeat=1)
    r = rows[0]
    try:    # the closed form as a proven bracket of its own (round-off accounted for)
        lo_t, up_t = gdp_epsilon(5.0, 1e-5, "lower"), gdp_epsilon(5.0, 1e-5, "upper")
    except TypeError:   # a closed form without sides: its value, to double round-off
        lo_t = up_t = gdp_epsilon(5.0, 1e-5)
    # Two proven brackets of the same ε must overlap (1e-12: last-digit round-off only).
    assert r["lower"] <= up_t * (1 + 1e-12) and lo_t * (1 - 1e-12) <= r["upper"]
    assert r["upper"] - r["lower"] <= 1e-6 * r["upper"]


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


# ---------------------------------------------------------------------- kinds and flags
KINDS = {"certified", "estimate"}
STEPS = 300


@pytest.fixture
def fake_peer(monkeypatch):
    """Install a stand-in for a peer (the real ones are optional)."""
    def install(name, fn):
        monkeypatch.setitem(C.PEERS, name, fn)
        monkeypatch.setitem(C._REQUIRES, name, "math")     # "installed"
    return install


def _pld(schedule, delta):
    return api.query("epsilon", schedule, delta, method="pld")


def _below(schedule, delta, **_):      # 3 % under our certified lower bound, like GDP's CLT
    e = 0.97 * _pld(schedule, delta).lower
    return e, e, e


def _above(schedule, delta, **_):
    e = 1.05 * _pld(schedule, delta).upper
    return e, e, e


def _inside_bracket(schedule, delta, **_):   # a wider bracket around ours: consistent
    r = _pld(schedule, delta)
    return r.lower * 0.99, 0.5 * (r.lower + r.upper), r.upper


def test_kinds_are_schema_values_with_notes():
    rows = C.compare(acc.ELS(1.0, 0.01, 4), 1e-5, 100, peers=False, repeat=1)
    for r in rows:
        assert r["kind"] in KINDS and r["certified"] is (r["kind"] == "certified")
        assert isinstance(r["warnings"], list)
    ours = _ours(rows)
    for m in ours:
        if m.startswith("group-"):
            assert ours[m]["kind"] == "certified" and "loose baseline" in ours[m]["note"]
    assert ours["pld"]["note"] is None and ours["pld"]["outside_certified_bracket"] is None


def test_peer_kinds_only_certified_with_a_proven_bracket(fake_peer):
    for name in ("dp_accounting PLD", "prv_accountant", "Opacus GDP"):
        fake_peer(name, _inside_bracket if name == "prv_accountant" else _above)
    rows = {r["name"]: r for r in C.compare(SMALL, 1e-5, STEPS, methods=["pld"],
                                            peers=["dp_accounting PLD", "prv_accountant",
                                                   "Opacus GDP"], repeat=1)}
    assert rows["prv_accountant"]["kind"] == "certified"
    assert rows["prv_accountant"]["lower"] is not None
    assert rows["prv_accountant"]["outside_certified_bracket"] is None
    pld = rows["dp_accounting PLD"]
    assert pld["kind"] == "estimate" and not pld["certified"]
    assert pld["lower"] is None and "no lower side" in pld["note"]     # one-sided
    assert rows["Opacus GDP"]["kind"] == "estimate"
    assert all(C.PEER_KINDS[n][0] in KINDS for n in C.PEERS)
    assert {n for n in C.PEERS if C.PEER_KINDS[n][0] == "certified"} <= \
        set(C.BRACKETED) | set(C.UPPER_ONLY)
    assert not set(C.BRACKETED) & set(C.UPPER_ONLY)


def test_peer_below_our_bracket_is_flagged(fake_peer, capsys):
    fake_peer("Opacus GDP", _below)
    fake_peer("dp_accounting PLD", _above)
    rows = C.compare(SMALL, 1e-5, STEPS, methods=["pld"],
                     peers=["Opacus GDP", "dp_accounting PLD"], repeat=1)
    by = {r["name"]: r for r in rows}
    assert by["Opacus GDP"]["outside_certified_bracket"] == "below"
    assert by["dp_accounting PLD"]["outside_certified_bracket"] == "above"
    # text
    argv = ["compare", "--steps", str(STEPS), "--method", "pld",
            "--peers", "Opacus GDP,dp_accounting PLD", "--repeat", "1"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Opacus GDP"))
    assert "BELOW our certified lower bound" in line and "estimate" in line
    line = next(x for x in out.splitlines() if x.startswith("dp_accounting PLD"))
    assert "above our certified upper bound" in line
    # JSON
    assert cli.main(argv + ["--json"]) == 0
    res = {r["name"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert res["Opacus GDP"]["outside_certified_bracket"] == "below"
    assert res["dp_accounting PLD"]["outside_certified_bracket"] == "above"
    assert res["pld"]["outside_certified_bracket"] is None


def test_our_estimate_below_the_bracket_is_flagged_too():
    if "edgeworth" not in api.built_methods():
        pytest.skip("edgeworth not built")
    # δ = 1e-12, 300 steps: the Edgeworth estimate is about half the certified ε
    rows = _ours(C.compare(SMALL, 1e-12, STEPS, methods=["pld", "edgeworth"], peers=False,
                           repeat=1))
    ew = rows["edgeworth"]
    assert ew["kind"] == "estimate" and ew["epsilon"] < rows["pld"]["lower"]
    assert ew["outside_certified_bracket"] == "below"


def test_warnings_in_text_and_json(capsys):
    if "edgeworth" not in api.built_methods():
        pytest.skip("edgeworth not built")
    argv = ["compare", "--steps", str(STEPS), "--peers", "none", "--method", "pld,edgeworth",
            "--delta", "1e-12", "--repeat", "1"]
    rows = _ours(C.compare(SMALL, 1e-12, STEPS, methods=["edgeworth"], peers=False, repeat=1))
    expected = rows["edgeworth"]["warnings"]
    assert expected                                   # e.g. vacuous_interval
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    warn = [x for x in lines if x.startswith("warning: ")]
    assert warn == [f"warning: edgeworth (ours): {w}" for w in expected]
    assert cli.main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["warnings"] == [f"edgeworth (ours): {w}" for w in expected]
    assert [r["warnings"] for r in out["results"]] == [[], expected]


@pytest.mark.parametrize("plot, needle", [
    ("missing/dir/x.png", "does not exist"),
    ("x.notaformat", "--plot must end in"),
])
def test_cli_plot_path_checked_before_work(tmp_path, capsys, monkeypatch, plot, needle):
    if not HAS_MPL:
        pytest.skip("matplotlib not installed")
    calls = []
    monkeypatch.setattr(C, "compare", lambda *a, **k: calls.append(1) or [])
    t0 = time.perf_counter()
    assert cli.main(["compare", "--peers", "none", "--plot", str(tmp_path / plot)]) == 2
    assert time.perf_counter() - t0 < 2.0 and not calls
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err and "--plot" in err
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib not installed")
def test_plot_marks_kinds_bracket_and_outliers(tmp_path, monkeypatch, fake_peer):
    import matplotlib.figure
    fake_peer("Opacus GDP", _below)
    figures = []
    real = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda self, *a, **k: (figures.append(self), real(self, *a, **k))[1])
    data = C.curves(SMALL, 1e-5, 400, methods=["pld", "rdp", "edgeworth"],
                    peers=["Opacus GDP"], points=3)
    assert data["pld"].kind == ["certified"] * 3 and data["Opacus GDP"].kind[0] == "estimate"
    xs, ys, lo, up = data["rdp"]                          # still a 4-tuple
    path = tmp_path / "eps.png"
    C.plot(data, str(path), delta=1e-5)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["eps.png"]
    fig = figures[-1]
    top, bottom = fig.axes[0], fig.axes[1]                # a second panel: relative to PLD
    lines = {ln.get_label(): ln for ln in top.get_lines() if not ln.get_label().startswith("_")}
    # the bracket as two distinct certified lines
    assert "pld upper (ours, certified)" in lines and "pld lower (ours, certified)" in lines
    assert lines["rdp (ours, certified)"].get_linestyle() == "-"
    assert lines["edgeworth (ours, estimate)"].get_linestyle() == "--"
    assert lines["Opacus GDP (estimate)"].get_linestyle() == "--"
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert any("below our certified lower bound" in t for t in legend)
    # the bracket is readable in the lower panel: its lower end is visibly below 0 %
    lo_line = next(ln for ln in bottom.get_lines() if ln.get_label() == "pld lower")
    ymin, ymax = bottom.get_ylim()
    assert min(lo_line.get_ydata()) < 0 and ymin < min(lo_line.get_ydata())
    assert bottom.get_yscale() == "symlog"


def test_json_uses_the_shared_schema_helper():
    assert not hasattr(C, "_json_safe")
    from accountant.core import _json
    from accountant.cli import compare as command    # prints the JSON of `compare`
    assert command.dumps is _json.dumps
