"""Every method of ours beside the installed peers: ``compare``, which ``dp-accountant compare``
(:mod:`accountant.cli.compare`) prints.

    dp-accountant compare                       # MNIST DP-SGD: σ=1.1, q=256/60000, 60 epochs, δ=1e-5
    dp-accountant compare --plot eps.png        # ε vs steps for every method and peer, and our ROC
    dp-accountant compare --json

The peers (Google ``dp_accounting`` RDP/PLD, Microsoft ``prv_accountant``, Opacus RDP/PRV/GDP,
``autodp`` RDP) are optional: install them with ``pip install -e '.[bench]'`` (Opacus also
needs torch). They are imported here lazily, inside functions, and a missing one is reported
as "not installed" — never an error. Each peer runs at its documented default for the
question asked:

* dp_accounting 0.6: ``RdpAccountant()``; ``PLDAccountant(value_discretization_interval=1e-4)``
  (pessimistic, an upper estimate with no lower side); ELS as ``MixtureOfGaussiansDpEvent``.
* prv_accountant 0.2: ``PRVAccountant(eps_error=0.01, delta_error=δ·1e-3)``; its bracket is
  estimate ± eps_error (Gopi, Lee, Wutschitz 2021, Thm 5.5).
* Opacus 1.6: ``RDPAccountant``, ``PRVAccountant`` (upper end), ``GaussianAccountant`` — the
  GDP CLT of Bu et al. 2020, an estimate that can fall below the true ε.
* autodp 0.2.3: RDP of ``AmplificationBySampling(ExactGaussianMechanism)``.

Every row says what its value is: ``kind`` is "certified" (a proven bound) or "estimate"
(the project's JSON schema), with a ``note`` for the details (a loose certified baseline, a
vacuous interval, a peer's upper estimate with no lower side). A peer is "certified" only
where its bracket is proven (prv_accountant, and Opacus PRV which is the same algorithm);
the others are estimates as far as this comparison can vouch. Any value outside our
certified PLD bracket is flagged (``outside_certified_bracket``: "below" — it under-reports
the ε spent — or "above"), in the text, the JSON and the plot.

Timings are wall-clock seconds of one call after a warm-up (numba's compiled-code load is
paid once per process and excluded); our caches are cleared before each timed call so that
our figure includes the one-step work a peer also redoes.

Size: one job, our methods and every installed peer on one setting side by side, and its
plot; each peer's runner is short and they share the row model.
"""
from __future__ import annotations

import importlib
import math
import sys
import time
import warnings
from typing import TYPE_CHECKING, Callable, Dict, List, Sequence, Tuple

from ..accountants import api
from ..core._json import kind_of
from ..core.mechanisms import (ELS, ULS, Gaussian, Laplace, MechanismLike, Schedule,
                               SubsampledGaussian, as_schedule)
# the plots' shared helpers; plot_formats stays importable from here (the CLI uses it)
from ._plotting import plot_formats

if TYPE_CHECKING:
    from ..risk import TradeoffCurve

__all__ = ["compare", "curves", "plot", "plot_formats", "peer_status", "run_peer",
           "clear_caches", "reference_row", "Curve", "PEERS", "PEER_KINDS", "Unsupported",
           "Absent", "DEFAULT"]

# The README's main example: MNIST DP-SGD, batch 256 of 60 000, 60 epochs.
DEFAULT = dict(noise_multiplier=1.1, sample_rate=256 / 60000, steps=14063, delta=1e-5)


# ========================================================================================
# Peers (optional; imported inside each wrapper)
# ========================================================================================
class Unsupported(Exception):
    """The peer cannot express this mechanism or query."""


class Absent(Exception):
    """The peer is not installed."""


_REQUIRES = {
    "dp_accounting RDP": "dp_accounting",
    "dp_accounting PLD": "dp_accounting",
    "prv_accountant": "prv_accountant",
    "Opacus RDP": "opacus",
    "Opacus PRV": "opacus",
    "Opacus GDP": "opacus",
    "autodp RDP": "autodp",
}
#: peers whose (lower, upper) is a real two-sided bracket
BRACKETED = frozenset({"prv_accountant"})
#: peers whose value is a proven upper bound with no lower side reported
UPPER_ONLY = frozenset({"Opacus PRV"})
_RDP_NOTE = "the peer's RDP upper bound, not verified here; no lower side"
#: what each peer's value is: (kind, note). "certified" only for a proven bracket; an
#: unknown peer is an estimate.
PEER_KINDS = {
    "dp_accounting RDP": ("estimate", _RDP_NOTE),
    "dp_accounting PLD": ("estimate", "pessimistic PLD: an upper estimate, no lower side"),
    "prv_accountant": ("certified", "bracket estimate ± eps_error (Gopi, Lee, Wutschitz "
                                    "2021, Thm 5.5)"),
    "Opacus RDP": ("estimate", _RDP_NOTE),
    "Opacus PRV": ("certified", "upper end of Opacus's PRV bracket (eps_error 0.01); Opacus "
                                "reports no lower side"),
    "Opacus GDP": ("estimate", "GDP central limit approximation (Bu et al. 2020), can "
                               "be below the true ε"),
    "autodp RDP": ("estimate", _RDP_NOTE),
}


def peer_status() -> Dict[str, str]:
    """peer name → "installed <version>" or "not installed (<reason>)"."""
    out = {}
    for name, module in _REQUIRES.items():
        try:
            mod = importlib.import_module(module)
        except (ImportError, OSError) as exc:  # opacus without a working torch
            reason = str(exc).splitlines()[0][:70] if str(exc) else exc.__class__.__name__
            out[name] = f"not installed ({reason})"
            continue
        out[name] = f"installed {getattr(mod, '__version__', '')}".rstrip()
    return out


def installed_peers() -> Tuple[str, ...]:
    return tuple(n for n, s in peer_status().items() if s.startswith("installed"))


def _segments(schedule: Schedule):
    """(kind, params, steps) per segment: kinds gaussian, psg, laplace, els."""
    segs = []
    for m, steps in schedule.segments:
        if m.neighboring != "add_remove":
            raise Unsupported("replace-one neighbouring (the peers disagree on its sensitivity)")
        if isinstance(m, Gaussian):
            segs.append(("gaussian", (m.noise_multiplier, 1.0), steps))
        elif isinstance(m, (SubsampledGaussian, ULS)):
            if getattr(m, "sampling", "poisson") != "poisson":
                raise Unsupported("fixed-size sampling")
            kind = "gaussian" if m.sample_rate == 1.0 else "psg"
            segs.append((kind, (m.noise_multiplier, m.sample_rate), steps))
        elif isinstance(m, ELS):
            if m.max_examples_per_user == 1:
                kind = "gaussian" if m.sample_rate == 1.0 else "psg"
                segs.append((kind, (m.noise_multiplier, m.sample_rate), steps))
            else:
                segs.append(("els", (m.noise_multiplier, m.sample_rate,
                                     m.max_examples_per_user), steps))
        elif isinstance(m, Laplace):
            segs.append(("laplace", (m.noise_multiplier,), steps))
        else:
            raise Unsupported(f"{type(m).__name__} is not compared with the peers")
    return segs


def _binom_pmf(k, q):
    return [math.comb(k, j) * q ** j * (1 - q) ** (k - j) for j in range(k + 1)]


def _dpa_event(segs, allow_mixture):
    from dp_accounting import dp_event as E
    events = []
    for kind, p, steps in segs:
        if kind == "gaussian":
            ev = E.GaussianDpEvent(p[0])
        elif kind == "psg":
            ev = E.PoissonSampledDpEvent(p[1], E.GaussianDpEvent(p[0]))
        elif kind == "laplace":
            ev = E.LaplaceDpEvent(p[0])
        elif kind == "els" and allow_mixture:
            sigma, q, k = p
            ev = E.MixtureOfGaussiansDpEvent(sigma, [float(j) for j in range(k + 1)],
                                             _binom_pmf(k, q))
        else:
            raise Unsupported("mixture of Gaussians (ELS) has no RDP in dp_accounting")
        events.append(E.SelfComposedDpEvent(ev, steps) if steps > 1 else ev)
    return events[0] if len(events) == 1 else E.ComposedDpEvent(events)


def _dp_accounting_rdp(schedule, delta, **_):
    try:
        from dp_accounting.rdp import rdp_privacy_accountant as R
    except ImportError as exc:
        raise Absent(str(exc)) from None
    a = R.RdpAccountant()
    a.compose(_dpa_event(_segments(schedule), allow_mixture=False))
    e = float(a.get_epsilon(delta))
    return e, e, e


def _dp_accounting_pld(schedule, delta, value_discretization_interval=1e-4, **_):
    try:
        from dp_accounting.pld import pld_privacy_accountant as P
    except ImportError as exc:
        raise Absent(str(exc)) from None
    a = P.PLDAccountant(value_discretization_interval=value_discretization_interval)
    a.compose(_dpa_event(_segments(schedule), allow_mixture=True))
    e = float(a.get_epsilon(delta))
    return e, e, e


def _prv_accountant(schedule, delta, eps_error=0.01, **_):
    try:
        import prv_accountant as PA
    except ImportError as exc:
        raise Absent(str(exc)) from None
    prvs, counts = [], []
    for kind, p, steps in _segments(schedule):
        if kind == "gaussian":
            prvs.append(PA.GaussianMechanism(noise_multiplier=p[0]))
        elif kind == "psg":
            prvs.append(PA.PoissonSubsampledGaussianMechanism(sampling_probability=p[1],
                                                              noise_multiplier=p[0]))
        else:
            raise Unsupported(f"{kind} is not a prv_accountant mechanism")
        counts.append(int(steps))
    a = PA.PRVAccountant(prvs=prvs, max_self_compositions=counts, eps_error=eps_error,
                         delta_error=delta * 1e-3)
    lo, est, up = a.compute_epsilon(delta=delta, num_self_compositions=counts)
    return float(lo), float(est), float(up)


def _opacus(cls_name, schedule, delta):
    try:
        from opacus import accountants as O
    except (ImportError, OSError) as exc:  # a missing or broken torch
        raise Absent(str(exc)) from None
    history = []
    for kind, p, steps in _segments(schedule):
        if kind not in ("gaussian", "psg"):
            raise Unsupported(f"{kind} is not an Opacus mechanism")
        history.append((p[0], p[1] if kind == "psg" else 1.0, int(steps)))
    a = getattr(O, cls_name)()
    a.history = history
    e = float(a.get_epsilon(delta))
    if cls_name == "PRVAccountant":
        # Opacus returns only the upper end of its estimate ± 0.01: the estimate is that
        # minus eps_error; no lower end is reported, so none is shown.
        return None, max(e - 0.01, 0.0), e
    return e, e, e


def _autodp_rdp(schedule, delta, **_):
    try:
        from autodp import mechanism_zoo as MZ
        from autodp import transformer_zoo as TZ
    except ImportError as exc:
        raise Absent(str(exc)) from None
    mechs, counts = [], []
    for kind, p, steps in _segments(schedule):
        if kind == "gaussian":
            mechs.append(MZ.ExactGaussianMechanism(sigma=p[0]))
        elif kind == "psg":
            sub = TZ.AmplificationBySampling(PoissonSampling=True)
            mechs.append(sub(MZ.ExactGaussianMechanism(sigma=p[0]), p[1],
                             improved_bound_flag=True))
        elif kind == "laplace":
            mechs.append(MZ.LaplaceMechanism(b=p[0]))
        else:
            raise Unsupported(f"{kind} is not an autodp RDP mechanism")
        counts.append(int(steps))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = float(TZ.Composition()(mechs, counts).get_approxDP(delta))
    return e, e, e


PEERS: Dict[str, Callable] = {
    "dp_accounting RDP": _dp_accounting_rdp,
    "dp_accounting PLD": _dp_accounting_pld,
    "prv_accountant": _prv_accountant,
    "Opacus RDP": lambda s, d, **_: _opacus("RDPAccountant", s, d),
    "Opacus PRV": lambda s, d, **_: _opacus("PRVAccountant", s, d),
    "Opacus GDP": lambda s, d, **_: _opacus("GaussianAccountant", s, d),
    "autodp RDP": _autodp_rdp,
}


def run_peer(name: str, mechanism: MechanismLike, delta: float, steps: int = 1,
             **settings) -> Tuple[float, float, float]:
    """(lower, estimate, upper) of ε from peer ``name``.

    Raises :class:`Absent` when the peer is not installed and :class:`Unsupported` when it
    cannot express the mechanism. ``settings`` reach the peer (``eps_error`` for
    prv_accountant, ``value_discretization_interval`` for dp_accounting PLD).
    """
    if name not in PEERS:
        raise ValueError(f"peer must be one of {', '.join(PEERS)}, got {name!r}")
    return PEERS[name](as_schedule(mechanism, steps), delta, **settings)


# ========================================================================================
# Ours
# ========================================================================================
def clear_caches() -> None:
    """Empty every cache of ours (module-level ``_…CACHE`` dicts and ``lru_cache``s) so a
    timed call includes the one-step work; compiled numba code stays loaded."""
    for name, mod in list(sys.modules.items()):
        if not name.startswith("accountant") or mod is None:
            continue
        for attr in list(vars(mod).values()):
            if hasattr(attr, "cache_clear") and callable(attr.cache_clear):
                try:
                    attr.cache_clear()
                except TypeError:
                    pass
        for key, val in list(vars(mod).items()):
            # module-level memo dicts: _CACHE, _TILT_CACHE, ... (never registries)
            if key.startswith("_") and key.upper().endswith("CACHE") and isinstance(val, dict):
                val.clear()


def default_methods(mechanism: MechanismLike) -> Tuple[str, ...]:
    """Our built methods that apply: group baselines only for ELS."""
    ms = api.built_methods()
    is_els = isinstance(mechanism, ELS) or (
        isinstance(mechanism, Schedule) and all(isinstance(m, ELS) for m, _ in mechanism.segments))
    return tuple(m for m in ms if is_els or not m.startswith("group-"))


def _timed(fn, repeat, slow_once=True):
    """(result, seconds, runs): one warm-up call when repeat > 1, then the median of the rest.

    With ``slow_once`` a warm-up slower than 10 s is taken as the one timed run (peers);
    ours always get a warm-up, since their first call in a process loads compiled code."""
    out, times = None, []
    for i in range(max(1, repeat)):
        clear_caches()
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        if repeat > 1 and i == 0:
            if slow_once and dt > 10.0:   # slow peer: one run is enough and says so
                return out, dt, 1
            continue
        times.append(dt)
    times.sort()
    return out, times[len(times) // 2], len(times)


#: relative slack before a value counts as outside our bracket: a certified bound that
#: equals ours up to round-off is not a finding.
_OUTSIDE_RTOL = 1e-9


def _outside(value, lower, upper):
    """"below" / "above" when ``value`` lies outside [lower, upper], else None."""
    if value is None or lower is None or upper is None or not math.isfinite(value):
        return None
    if value < lower * (1 - _OUTSIDE_RTOL):
        return "below"
    if value > upper * (1 + _OUTSIDE_RTOL):
        return "above"
    return None


def reference_row(rows: Sequence[dict]) -> dict | None:
    """Our certified PLD row (the bracket every other value is checked against), or None."""
    for r in rows:
        if r.get("source") == "ours" and r.get("name") == "pld" and "error" not in r \
                and r.get("certified") and math.isfinite(r["upper"]):
            return r
    return None


def _our_kind(method, result):
    """(kind, note) of one of our results: kind is the schema's, the note the nuance."""
    if result.certified:
        note = ("loose baseline (group privacy from example-level guarantees)"
                if method.startswith("group-") else None)
        return kind_of(True), note
    return kind_of(False), ("rigorous interval vacuous" if result.vacuous else None)


def compare(mechanism: MechanismLike, delta: float, steps: int = 1,
            methods: Sequence[str] | None = None,
            peers: bool | Sequence[str] = True, repeat: int = 2) -> List[dict]:
    """ε(δ) of ``mechanism`` over ``steps`` from every method of ours and every installed peer.

    Parameters
    ----------
    mechanism : a mechanism or Schedule of :mod:`accountant.core.mechanisms`.
    delta : in (0, 1).
    steps : integer ≥ 1.
    methods : our methods (default: every built one that applies).
    peers : True for every installed peer, False for none, or a list of peer names.
    repeat : calls per entry; with ``repeat > 1`` the first is a warm-up and the time is
        the median of the others (an entry slower than 10 s runs once).

    Returns
    -------
    list of dicts, ours first: ``name, source ("ours"|"peer"), epsilon, estimate, lower,
    upper, certified, kind ("certified"|"estimate"), note (str or None), warnings (list),
    outside_certified_bracket ("below"|"above"|None: ``epsilon`` against our certified PLD
    bracket, when "pld" is among the methods), seconds, runs`` — or ``name, source, error``
    for an entry that is absent, unsupported or failed. A peer without a proven lower side
    has ``lower=None`` (and ``upper=None`` unless its bracket is proven).
    """
    from ..core import _validate as v
    d = v.delta("delta", delta)
    schedule = as_schedule(mechanism, steps)
    if methods is None:
        methods = default_methods(mechanism)
    for m in methods:
        v.choice("method", m, api.METHODS)
    rows: List[dict] = []
    for m in methods:
        try:
            r, sec, n = _timed(lambda: api.query("epsilon", schedule, d, method=m), repeat,
                               slow_once=False)
        except (ValueError, NotImplementedError) as exc:
            rows.append({"name": m, "source": "ours", "error": str(exc).splitlines()[0]})
            continue
        kind, note = _our_kind(m, r)
        rows.append({"name": m, "source": "ours", "epsilon": float(r), "estimate": r.estimate,
                     "lower": r.lower, "upper": r.upper, "certified": bool(r.certified),
                     "kind": kind, "note": note, "warnings": list(r.warnings),
                     "seconds": sec, "runs": n})
    if peers is True:
        names = tuple(PEERS)
    elif peers is False or peers is None:
        names = ()
    else:
        names = tuple(peers)
        for n in names:
            if n not in PEERS:
                raise ValueError(f"peers must name peers among {', '.join(PEERS)}, got {n!r}")
    status = peer_status() if names else {}
    for name in names:
        if not status[name].startswith("installed"):
            rows.append({"name": name, "source": "peer", "error": status[name]})
            continue
        try:
            # A peer's warnings (e.g. Opacus GDP's "can underestimate") belong to its row,
            # once, not repeated on stderr by every timed call.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                (lo, est, up), sec, n = _timed(lambda: PEERS[name](schedule, d), repeat)
        except Unsupported as exc:
            rows.append({"name": name, "source": "peer", "error": f"unsupported: {exc}"})
            continue
        except Exception as exc:  # noqa: BLE001 - a peer's crash is a finding, not our error
            msg = str(exc).splitlines()[0] if str(exc) else ""
            rows.append({"name": name, "source": "peer",
                         "error": f"failed: {exc.__class__.__name__}: {msg}"[:160]})
            continue
        kind, note = PEER_KINDS.get(name, (kind_of(False), None))
        two_sided, upper_only = name in BRACKETED, name in UPPER_ONLY
        rows.append({"name": name, "source": "peer",
                     "epsilon": up if two_sided or upper_only else est,
                     "estimate": est, "lower": lo if two_sided else None,
                     "upper": up if two_sided or upper_only else None,
                     "certified": kind == kind_of(True),
                     "kind": kind, "note": note,
                     "warnings": list(dict.fromkeys(
                         str(w.message).strip().splitlines()[0] for w in caught
                         if str(w.message).strip())),
                     "seconds": sec, "runs": n})
    ref = reference_row(rows)
    for r in rows:
        if "error" in r:
            continue
        r["outside_certified_bracket"] = (None if ref is None or r is ref else
                                          _outside(r["epsilon"], ref["lower"], ref["upper"]))
    return rows


def step_grid(steps: int, points: int = 8) -> List[int]:
    """``points`` step counts, geometric from steps/64 (at least 1) to ``steps``."""
    lo = max(1, steps // 64)
    if steps <= 1 or points < 2:
        return [steps]
    out = sorted({max(1, round(lo * (steps / lo) ** (i / (points - 1)))) for i in range(points)})
    out[-1] = steps
    return out


class Curve(tuple):
    """One entry of :func:`curves`: the 4-tuple ``(steps, epsilon, lower, upper)`` (so
    ``xs, ys, lo, up = curve`` works) with ``kind``, the schema kind of each point
    ("certified" or "estimate": the saddle point can be either along one curve)."""

    def __new__(cls, steps, epsilon, lower, upper, kind=None):
        self = super().__new__(cls, (steps, epsilon, lower, upper))
        self.kind = list(kind) if kind is not None else [kind_of(False)] * len(steps)
        return self

    def __reduce__(self):
        return (Curve, (*self, self.kind))

    steps = property(lambda self: self[0])
    epsilon = property(lambda self: self[1])
    lower = property(lambda self: self[2])
    upper = property(lambda self: self[3])


def curves(mechanism: MechanismLike, delta: float, steps: int,
           methods: Sequence[str] | None = None, peers: bool | Sequence[str] = True,
           points: int = 8) -> Dict[str, Curve]:
    """ε(δ) at :func:`step_grid` step counts: {name: :class:`Curve` (steps_list, eps, lower,
    upper) with per-point ``kind``}; ``lower``/``upper`` hold None where the entry has no
    such side.

    Entries that fail at some point keep the points they have; absent peers are left out.
    """
    grid = step_grid(steps, points)
    series: Dict[str, tuple] = {}
    for t in grid:
        for row in compare(mechanism, delta, t, methods=methods, peers=peers, repeat=1):
            if "error" in row:
                continue
            xs, ys, lo, up, kinds = series.setdefault(row["name"], ([], [], [], [], []))
            xs.append(t)
            ys.append(row["epsilon"])
            lo.append(row["lower"])
            up.append(row["upper"])
            kinds.append(row["kind"])
    return {name: Curve(*vals) for name, vals in series.items()}


# ----------------------------------------------------------------------------------------
# Plot
# ----------------------------------------------------------------------------------------
def plot(curve_data: dict, path: str, title: str = "", delta: float | None = None,
         roc: "TradeoffCurve | None" = None, roc_fit: object = None) -> str:
    """Draw ε vs steps for every entry of :func:`curves` into ``path`` (PNG or any format
    matplotlib writes, by extension; written atomically).

    Certified values are solid lines with filled markers; estimates dashed with hollow
    markers and "(estimate)" in the legend (an entry without kinds, e.g. a plain 4-tuple, is
    drawn as an estimate). Our PLD bracket is drawn as its two certified bounds; a lower
    panel shows every entry relative to the PLD upper bound, on a scale on which the
    bracket (≈ 0.1 % wide) is visible. Points below our certified lower bound are ringed in
    red in both panels.

    With ``roc`` (a :class:`accountant.risk.TradeoffCurve` of the same setting) a panel on
    the right shows the attacker's ROC with its certified band, the μ-GDP fit ``roc_fit``
    if given and the random-guess line (:func:`accountant.interop.risk_plot.draw_roc`).
    """
    from ..calibration.tables import check_output
    from ._plotting import pyplot, save
    ext = check_output(path, plot_formats(), "plot path")
    plt = pyplot()
    ref = curve_data.get("pld")
    ref_ok = (ref is not None and len(ref[0]) > 0
              and all(x is not None and math.isfinite(x) and x > 0 for x in ref[2] + ref[3]))
    rows = 2 if ref_ok else 1
    # the ROC panel, when asked, is a column on the right spanning the ε panels
    fig = plt.figure(figsize=(8.5 + (6.5 if roc is not None else 0.0), 8 if ref_ok else 5),
                     dpi=110)
    grid = fig.add_gridspec(rows, 2 if roc is not None else 1,
                            height_ratios=[3, 2] if ref_ok else None,
                            width_ratios=[8.5, 6.5] if roc is not None else None)
    ax = fig.add_subplot(grid[0, 0])
    if ref_ok:
        ax2 = fig.add_subplot(grid[1, 0], sharex=ax)
        ax.tick_params(labelbottom=False)
        lo_at = dict(zip(ref[0], ref[2]))
        up_at = dict(zip(ref[0], ref[3]))
    else:
        ax2, lo_at, up_at = None, {}, {}
    if roc is not None:
        from .risk_plot import draw_roc
        draw_roc(fig.add_subplot(grid[:, 1]), roc, fit=roc_fit,
                 title="ROC of the best membership-inference attack after all steps "
                       f"({roc.method})")

    def rel(x, y):   # ε relative to our certified upper bound, in %
        return 100.0 * (y / up_at[x] - 1.0)

    styles = {"pld": dict(color="black", marker="o", zorder=5),
              "rdp": dict(color="tab:red", marker="s"),
              "edgeworth": dict(color="tab:purple", marker="^"),
              "saddlepoint": dict(color="tab:green", marker="v"),
              "group-vadhan": dict(color="tab:olive", marker="D"),
              "group-rdp": dict(color="tab:brown", marker="P")}
    # No greys: grey is our PLD lower bound.
    peer_colors = iter(["tab:blue", "tab:orange", "tab:cyan", "tab:pink", "darkgoldenrod",
                        "slateblue", "teal"] * 4)
    peer_markers = iter(["X", "P", "*", "h", "d", "p", "8"] * 4)
    below_pts = []        # (x, y) of every value under our certified lower bound
    rel_vals = [0.0]
    for name, c in curve_data.items():
        xs, ys, lo, up = c[0], c[1], c[2], c[3]
        kinds = list(getattr(c, "kind", None) or [kind_of(False)] * len(xs))
        ours = name in api.METHODS
        base = dict(styles.get(name, {})) if ours else dict(color=next(peer_colors),
                                                             marker=next(peer_markers))
        certified = [k == kind_of(True) for k in kinds]
        if all(certified):
            tag, ls = "certified", "-"
        elif any(certified):
            tag, ls = "estimate at some steps", "--"
        else:
            tag, ls = "estimate", "--"
        who = "ours, " if ours else ""
        if name == "pld" and ref_ok:
            # The bracket is ~0.1 % wide: a shaded band is invisible at this scale, so its
            # two certified ends are drawn as two lines (and magnified in the lower panel).
            ax.plot(xs, up, color="black", lw=2.0, ls=ls, marker="o", ms=4, zorder=5,
                    label=f"pld upper ({who}{tag})")
            ax.plot(xs, lo, color="0.45", lw=1.2, ls=ls, marker="_", ms=9, zorder=5,
                    label=f"pld lower ({who}{tag})")
            ax.fill_between(xs, lo, up, color="grey", alpha=0.3, lw=0)
            continue
        lw = 1.6 if ours else 1.2
        # Markers: filled for certified points, hollow for estimates (the legend shows the
        # entry's hollow marker as soon as one point is an estimate).
        style = dict(color=base["color"], marker=base["marker"], ms=6, mec=base["color"],
                     zorder=base.get("zorder", 3))
        ax.plot(xs, ys, ls=ls, lw=lw, mfc=base["color"] if all(certified) else "none",
                label=f"{name} ({who}{tag})", **style)
        if any(certified) and not all(certified):
            pts = [(x, y) for x, y, ok in zip(xs, ys, certified) if ok]
            ax.plot(*zip(*pts), ls="none", mfc=base["color"], **style)
        for x, y in zip(xs, ys):
            if x in lo_at and _outside(y, lo_at[x], up_at[x]) == "below":
                below_pts.append((x, y))
        if ax2 is not None:
            pts = [(x, rel(x, y), ok) for x, y, ok in zip(xs, ys, certified)
                   if x in up_at and y is not None and math.isfinite(y)]
            if pts:
                ax2.plot([p[0] for p in pts], [p[1] for p in pts], ls=ls, lw=lw,
                         mfc=base["color"] if all(certified) else "none", **style)
                sel = [p for p in pts if p[2]]
                if sel and not all(certified):
                    ax2.plot([p[0] for p in sel], [p[1] for p in sel], ls="none",
                             mfc=base["color"], **style)
                rel_vals.extend(p[1] for p in pts)
    if below_pts:
        ax.scatter(*zip(*below_pts), s=170, facecolors="none", edgecolors="red", lw=1.8,
                   zorder=6, label="below our certified lower bound (under-reports ε)")
    ax.set_xscale("log")
    ax.set_ylabel(f"ε at δ = {delta:g}" if delta else "ε")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    last = ax
    if ax2 is not None:
        xs = list(ref[0])
        lo_rel = [rel(x, lo_at[x]) for x in xs]
        width = max(-v for v in lo_rel) if lo_rel else 0.0
        ax2.plot(xs, [0.0] * len(xs), color="black", lw=2.0, label="pld upper")
        ax2.plot(xs, lo_rel, color="0.45", lw=1.2, marker="_", ms=9, label="pld lower")
        ax2.fill_between(xs, lo_rel, [0.0] * len(xs), color="grey", alpha=0.3, lw=0)
        if below_pts:
            ax2.scatter([p[0] for p in below_pts], [rel(*p) for p in below_pts], s=170,
                        facecolors="none", edgecolors="red", lw=1.8, zorder=6)
        # Linear within a few bracket widths, logarithmic beyond: the bracket and the peers
        # several % away are readable on one axis (the threshold a power of ten, so that the
        # ticks fall on round values).
        lin = 10.0 ** math.ceil(math.log10(max(1.5 * width, 1e-4)))
        ax2.set_yscale("symlog", linthresh=lin, linscale=1.5)

        def margin(v):
            return 2.0 * v if abs(v) > lin else math.copysign(1.5 * lin, v)
        ax2.set_ylim(margin(min(rel_vals + lo_rel)), margin(max(rel_vals)))
        ax2.set_ylabel("ε relative to the PLD upper bound (%)")
        ax2.set_title(f"our certified PLD bracket is at most {width:.2g} % wide "
                      "(shaded); positive = above our upper bound", fontsize=8)
        ax2.grid(True, which="both", alpha=0.3)
        last = ax2
    last.set_xlabel("steps")
    fig.tight_layout()
    return save(fig, path, ext)
