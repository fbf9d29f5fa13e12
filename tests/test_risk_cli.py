"""`dp-accountant risk`, the ROC plot (accountant.interop.risk_plot) and the ROC panel of
`dp-accountant compare --plot`.

References: the Gaussian mechanism with μ = 1 is exactly μ-GDP, so its trade-off curve is
the closed form TPR(α) = Φ(Φ⁻¹(α) + 1) (Dong, Roth, Su 2019, Eq. (2.1)); dp_accounting's
`test_gaussian_tpr_at_extreme_fpr` (main branch, rdp/pld tests) records 0.01830 at
FPR = 1e-3 and 0.0005475 at 1e-5 for it.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

import accountant as acc
from accountant.cli import main
from accountant.risk import TradeoffCurve

HAS_MPL = importlib.util.find_spec("matplotlib") is not None
needs_mpl = pytest.mark.skipif(not HAS_MPL, reason="the plot needs matplotlib")

GAUSS = ["--noise-multiplier", "1", "--sample-rate", "1", "--steps", "1"]   # μ = 1
DPSGD = ["--noise-multiplier", "1.1", "--sample-rate", "0.0042667", "--steps", "200"]


def _exact(alpha):
    return float(ndtr(ndtri(alpha) + 1.0))


def test_text_report_brackets_the_closed_form(capsys):
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "1e-5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Gaussian σ=1")
    rows = [line for line in out if line.startswith("TPR at FPR=")]
    assert len(rows) == 2
    for line, alpha, peer in zip(rows, (1e-3, 1e-5), (0.01830, 0.0005475)):
        assert "certified bracket" in line and "ESTIMATE" not in line
        lo, up = (float(x) for x in line.split("[")[1].split("]")[0].split(","))
        assert lo <= _exact(alpha) <= up
        assert abs(up / peer - 1) < 1e-3          # dp_accounting's recorded value


def test_json_round_trip(capsys):
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--delta", "1e-5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["setting"]["steps"] == 1 and out["setting"]["method"] == "pld"
    eps, tpr = out["results"][0], out["results"][1]
    assert eps["kind"] == "certified" and eps["lower"] <= eps["upper"]
    assert tpr["quantity"] == "tpr" and tpr["fpr"] == 1e-3 and tpr["kind"] == "certified"
    assert tpr["lower"] <= _exact(1e-3) <= tpr["upper"] == tpr["tpr"]
    assert isinstance(tpr["warnings"], list)


def test_curve_flag_prints_the_band(capsys):
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--curve", "--json"]) == 0
    curve = json.loads(capsys.readouterr().out)["curve"]
    a = np.array(curve["alpha"])
    exact_beta = 1 - ndtr(ndtri(a) + 1)
    assert curve["certified"]
    assert np.all(np.array(curve["beta_lower"]) <= exact_beta + 1e-12)
    assert np.all(exact_beta <= np.array(curve["beta_upper"]) + 1e-12)


def test_estimate_method_is_labelled(capsys):
    argv = ["risk", "--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "100",
            "--fpr", "1e-3", "--method", "edgeworth"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("TPR"))
    assert "ESTIMATE, not a proven bound" in row and "certified" not in row
    assert "not proven bounds" in out
    assert main(argv + ["--json"]) == 0
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["kind"] == "estimate" and r["certified"] is False


def test_shuffle_prints_the_bracket_note(capsys):
    # as `epsilon` does: a shuffled-batches bracket is [attack lower, unamplified upper]
    argv = ["risk", "--noise-multiplier", "1.1", "--sampling", "shuffle", "--dataset-size",
            "6000", "--batch-size", "60", "--epochs", "2", "--fpr", "1e-3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("epochs=2")
    assert any(line.startswith("note: shuffled") for line in out.splitlines())
    assert main(argv + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["notes"] and d["bracket"] == "[attack lower bound, unamplified upper bound]"


@pytest.mark.parametrize("extra, needle", [
    (["--fpr", "0"], "--fpr must be in (0, 1)"),
    (["--fpr", "1e-3", "1.5"], "--fpr must be in (0, 1)"),
    (["--fpr", "nan"], "--fpr"),
    (["--prior", "1"], "--prior must be in (0, 1)"),
    (["--baseline", "-0.1"], "--baseline must be in (0, 1)"),
    (["--rtol", "0"], "--rtol"),
    (["--delta", "2"], "--delta"),
    (["--method", "group-vadhan"], "--method"),
    (["--plot", "roc.txt"], "--plot must end in"),
])
def test_bad_input_one_line_exit_2(capsys, extra, needle):
    if "--plot" in extra and not HAS_MPL:
        pytest.skip("the plot formats come from matplotlib")
    assert main(["risk", *GAUSS, *extra]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dp-accountant: error: ")
    assert needle in lines[0] and "Traceback" not in cap.err


def test_missing_mechanism_flags_named(capsys):
    assert main(["risk", "--sample-rate", "0.01", "--fpr", "1e-3"]) == 2
    err = capsys.readouterr().err
    assert "--noise-multiplier" in err and "--steps" in err


@needs_mpl
def test_unwritable_plot_path_refused_before_any_work(tmp_path, capsys, monkeypatch):
    import accountant.risk as R

    def boom(*a, **k):
        raise AssertionError("work started before the plot path was checked")
    for name in ("tpr", "tradeoff"):
        monkeypatch.setattr(R, name, boom)
    for path in (str(tmp_path / "missing" / "roc.png"), str(tmp_path)):
        assert main(["risk", *DPSGD, "--plot", path]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--plot" in err
    if os.geteuid() != 0:        # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            assert main(["risk", *DPSGD, "--plot", str(ro / "roc.png")]) == 2
            assert "cannot write" in capsys.readouterr().err
        finally:
            ro.chmod(0o700)


def _capture_figures(monkeypatch):
    """Record every figure the plots close (they close it after writing the file)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    seen = []
    real = plt.close

    def close(fig=None):
        if fig is not None and hasattr(fig, "axes"):
            seen.append(fig)
        return real(fig)
    monkeypatch.setattr(plt, "close", close)
    return seen


def _labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


@needs_mpl
def test_plot_round_trip(tmp_path, capsys, monkeypatch):
    figs = _capture_figures(monkeypatch)
    path = tmp_path / "roc.png"
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--plot", str(path)]) == 0
    assert f"plot written to {path}" in capsys.readouterr().out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]   # no temp left
    (ax,) = figs[-1].axes
    labels = _labels(ax)
    assert "certified band (pld)" in labels
    assert "random guess (TPR = FPR)" in labels
    assert any(s.startswith("TPR at the asked FPR (certified") for s in labels)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlim()[0] == pytest.approx(1e-10)
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--plot", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plot"] == str(path)


def test_band_is_certified_between_grid_points():
    """The drawn band holds the exact curve everywhere, not only at the grid points."""
    from accountant.interop.risk_plot import band
    curve = acc.tradeoff(acc.Gaussian(1.0), 1, alphas=np.geomspace(1e-10, 0.9, 12))
    x, lo, up = band(curve, per_interval=40)
    exact = ndtr(ndtri(np.minimum(x, 1 - 1e-16)) + 1.0)
    exact[x >= 1.0] = 1.0
    assert np.all(lo <= exact) and np.all(exact <= up)
    assert np.all(lo >= x * (1 - 1e-12)) and np.all(up <= 1.0)
    # the coarse grid leaves gaps: between points the band is wider than at them
    assert np.max(up / lo) > 1.05


@needs_mpl
def test_estimate_is_a_dashed_line_never_a_band(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from accountant.interop.risk_plot import draw_roc
    a = np.array([1e-6, 1e-3, 0.1, 0.5])
    beta = 1 - ndtr(ndtri(a) + 1.0)
    est = TradeoffCurve(a, beta * 0.9, np.minimum(beta * 1.1, 1), beta, False, "edgeworth")
    fig, ax = plt.subplots()
    try:
        draw_roc(ax, est, fit=1.0)
        labels = _labels(ax)
        assert "edgeworth estimate (not a bound)" in labels
        assert not any("certified" in s for s in labels)
        assert any(s.startswith("closest μ-GDP curve, μ = 1") and "not a bound" in s
                   for s in labels)
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
        line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("edgeworth"))
        assert line.get_linestyle() == "--"
    finally:
        plt.close(fig)


@needs_mpl
def test_compare_plot_gains_the_roc_panel(tmp_path, capsys, monkeypatch):
    C = importlib.import_module("accountant.interop.comparison")
    figs = _capture_figures(monkeypatch)
    path = tmp_path / "cmp.png"
    assert main(["compare", "--peers", "none", "--method", "pld", "--steps", "64",
                 "--points", "2", "--plot", str(path)]) == 0
    out = capsys.readouterr().out
    assert "plot written to" in out and "no ROC panel" not in out
    fig = figs[-1]
    assert len(fig.axes) == 3                     # ε, ε relative to PLD, and the ROC
    roc = fig.axes[2]
    assert roc.get_xscale() == "log" and "certified band (pld)" in _labels(roc)
    # without a curve the plot is the two ε panels as before
    data = C.curves(acc.SubsampledGaussian(1.1, 0.01), 1e-5, 8, methods=["pld"],
                    peers=False, points=2)
    C.plot(data, str(tmp_path / "plain.png"))
    assert len(figs[-1].axes) == 2


def test_metric_lines_bracket_the_closed_forms(capsys):
    # μ-GDP, μ = 1 (Dong, Roth, Su 2019): advantage sup(TPR − FPR) = δ(0) = 2Φ(μ/2) − 1;
    # Bayes success at prior 1/2 = (1 + advantage)/2; reconstruction success at baseline κ
    # at most 1 − f(κ) = Φ(Φ⁻¹(κ) + μ) (Hayes et al. 2023)
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--baseline", "0.01", "--json"]) == 0
    res = {r["quantity"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    adv = 2 * ndtr(0.5) - 1
    for q, exact in (("advantage", adv), ("bayes_success", (1 + adv) / 2),
                     ("reconstruction_bound", _exact(0.01))):
        assert res[q]["kind"] == "certified"
        assert res[q]["lower"] <= exact * (1 + 1e-12) and exact <= res[q]["upper"] * (1 + 1e-12)
    assert res["bayes_success"]["prior"] == 0.5 and res["reconstruction_bound"]["baseline"] == 0.01
    assert main(["risk", *GAUSS, "--fpr", "1e-3"]) == 0
    out = capsys.readouterr().out
    assert "reconstruction" not in out                  # only with --baseline
    assert any(line.startswith("advantage") and "certified bracket" in line
               for line in out.splitlines())


class _Fit:
    """A stand-in with the shape of accountant.risk.GdpFit (two RiskResults)."""

    def __init__(self, certified=True):
        from accountant.risk import RiskResult
        self.mu = RiskResult("gdp_mu", {"alpha_min": 1e-10}, 1.0, 0.999, 1.0, certified, "pld")
        self.regret = RiskResult("gdp_regret", {"alpha_min": 1e-10}, 0.001, 0.0, 0.001,
                                 certified, "pld")
        self.certified = certified

    def as_dict(self):
        return {"quantity": "gdp_fit", "mu": self.mu.as_dict(),
                "regret": self.regret.as_dict()}


@needs_mpl
def test_gdp_fit_is_printed_stored_and_drawn_as_a_fit(tmp_path, capsys, monkeypatch):
    import accountant.cli.risk as CR
    real = CR._metric
    monkeypatch.setattr(CR, "_metric", lambda name: (lambda *a, **k: _Fit())
                        if name == "gdp_fit" else real(name))
    figs = _capture_figures(monkeypatch)
    path = tmp_path / "roc.svg"
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--gdp-fit", "--plot", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    mu = next(line for line in out if line.startswith("mu-GDP mu"))
    assert "= 1 " in mu and "certified bracket [0.999, 1]" in mu
    assert any(line.startswith("mu-GDP regret") for line in out)
    labels = _labels(figs[-1].axes[0])
    assert any(s.startswith("closest μ-GDP curve, μ = 1, regret 0.001 (a fit, not a bound)")
               for s in labels)
    assert path.read_text().lstrip().startswith("<?xml")
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--json"]) == 0
    assert "gdp_fit" not in json.loads(capsys.readouterr().out)      # opt-in
    assert main(["risk", *GAUSS, "--fpr", "1e-3", "--gdp-fit", "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)["gdp_fit"]
    assert fit["mu"]["quantity"] == "gdp_mu" and fit["mu"]["kind"] == "certified"
