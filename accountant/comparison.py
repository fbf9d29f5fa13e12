"""Every method of ours beside the installed peers: ``compare`` and ``dp-accountant compare``.

    dp-accountant compare                       # MNIST DP-SGD: σ=1.1, q=256/60000, 60 epochs, δ=1e-5
    dp-accountant compare --plot eps.png        # ε vs steps for every method and peer
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

Timings are wall-clock seconds of one call after a warm-up (numba's compiled-code load is
paid once per process and excluded); our caches are cleared before each timed call so that
our figure includes the one-step work a peer also redoes.
"""
from __future__ import annotations

import importlib
import math
import sys
import time
from typing import Callable, Dict, List, Sequence, Tuple

from . import api
from .mechanisms import ELS, ULS, Gaussian, Laplace, Schedule, SubsampledGaussian, as_schedule

__all__ = ["compare", "curves", "plot", "peer_status", "run_peer", "clear_caches",
           "PEERS", "Unsupported", "Absent", "DEFAULT"]

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
BRACKETED = frozenset({"prv_accountant", "Opacus PRV"})


def peer_status() -> Dict[str, str]:
    """peer name → "installed <version>" or "not installed (<reason>)"."""
    out = {}
    for name, module in _REQUIRES.items():
        try:
            mod = importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - opacus without torch: ImportError or OSError
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
    except Exception as exc:  # noqa: BLE001 - a missing torch surfaces as ImportError/OSError
        raise Absent(str(exc)) from None
    history = []
    for kind, p, steps in _segments(schedule):
        if kind not in ("gaussian", "psg"):
            raise Unsupported(f"{kind} is not an Opacus mechanism")
        history.append((p[0], p[1] if kind == "psg" else 1.0, int(steps)))
    a = getattr(O, cls_name)()
    a.history = history
    e = float(a.get_epsilon(delta))
    if cls_name == "PRVAccountant":   # Opacus returns the upper end of estimate ± 0.01
        return max(e - 0.02, 0.0), max(e - 0.01, 0.0), e
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


def run_peer(name: str, mechanism, delta: float, steps: int = 1, **settings):
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
def clear_caches():
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


def default_methods(mechanism) -> Tuple[str, ...]:
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


def compare(mechanism, delta: float, steps: int = 1, methods: Sequence[str] | None = None,
            peers: bool | Sequence[str] = True, repeat: int = 2) -> List[dict]:
    """ε(δ) of ``mechanism`` over ``steps`` from every method of ours and every installed peer.

    Parameters
    ----------
    mechanism : a mechanism or Schedule of :mod:`accountant.mechanisms`.
    delta : in (0, 1).
    steps : integer ≥ 1.
    methods : our methods (default: every built one that applies).
    peers : True for every installed peer, False for none, or a list of peer names.
    repeat : calls per entry; with ``repeat > 1`` the first is a warm-up and the time is
        the median of the others (an entry slower than 10 s runs once).

    Returns
    -------
    list of dicts, ours first: ``name, source ("ours"|"peer"), epsilon, estimate, lower,
    upper, certified, kind, seconds, runs`` — or ``name, source, error`` for an entry that
    is absent, unsupported or failed.
    """
    from . import _validate as v
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
        rows.append({"name": m, "source": "ours", "epsilon": float(r), "estimate": r.estimate,
                     "lower": r.lower, "upper": r.upper, "certified": r.certified,
                     "kind": ("certified, loose baseline" if r.certified and m.startswith("group-")
                              else "certified" if r.certified else
                              "estimate, interval vacuous" if r.vacuous else "estimate"),
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
            (lo, est, up), sec, n = _timed(lambda: PEERS[name](schedule, d), repeat)
        except Unsupported as exc:
            rows.append({"name": name, "source": "peer", "error": f"unsupported: {exc}"})
            continue
        except Exception as exc:  # noqa: BLE001 - a peer's crash is a finding, not our error
            msg = str(exc).splitlines()[0] if str(exc) else ""
            rows.append({"name": name, "source": "peer",
                         "error": f"failed: {exc.__class__.__name__}: {msg}"[:160]})
            continue
        rows.append({"name": name, "source": "peer", "epsilon": up if name in BRACKETED else est,
                     "estimate": est, "lower": lo, "upper": up, "certified": False,
                     "kind": "peer bracket" if name in BRACKETED else "peer value",
                     "seconds": sec, "runs": n})
    return rows


def step_grid(steps: int, points: int = 8) -> List[int]:
    """``points`` step counts, geometric from steps/64 (at least 1) to ``steps``."""
    lo = max(1, steps // 64)
    if steps <= 1 or points < 2:
        return [steps]
    out = sorted({max(1, round(lo * (steps / lo) ** (i / (points - 1)))) for i in range(points)})
    out[-1] = steps
    return out


def curves(mechanism, delta: float, steps: int, methods=None, peers=True, points: int = 8):
    """ε(δ) at :func:`step_grid` step counts: {name: (steps_list, eps, lower, upper)}.

    Entries that fail at some point keep the points they have; absent peers are left out.
    """
    grid = step_grid(steps, points)
    out: Dict[str, tuple] = {}
    for t in grid:
        for row in compare(mechanism, delta, t, methods=methods, peers=peers, repeat=1):
            if "error" in row:
                continue
            xs, ys, lo, up = out.setdefault(row["name"], ([], [], [], []))
            xs.append(t)
            ys.append(row["epsilon"])
            lo.append(row["lower"])
            up.append(row["upper"])
    return out


def plot(curve_data: dict, path: str, title: str = "", delta: float | None = None):
    """Draw ε vs steps for every entry of :func:`curves` into a PNG (or any matplotlib format)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    ref = curve_data.get("pld")
    if ref is not None and len(ref[0]) > 0:
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 7), dpi=110, sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
        ref_at = {x: 0.5 * (lo + up) for x, lo, up in zip(ref[0], ref[2], ref[3])}
        rel_min = [0.0]
    else:
        fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
        ax2, ref_at = None, {}
    styles = {"pld": dict(color="black", lw=2.2, marker="o", zorder=5),
              "rdp": dict(color="tab:red", lw=1.8, marker="s"),
              "edgeworth": dict(color="tab:purple", lw=1.5, marker="^"),
              "saddlepoint": dict(color="tab:green", lw=1.5, marker="v")}
    peer_colors = iter(["tab:blue", "tab:orange", "tab:cyan", "tab:brown", "tab:pink",
                        "tab:olive", "tab:gray"] * 4)
    peer_markers = iter(["x", "+", "1", "2", "3", "4", "*"] * 4)
    for name, (xs, ys, lo, up) in curve_data.items():
        ours = name in api.METHODS
        kw = dict(styles.get(name, {}))
        if not ours:
            kw.update(ls="--", lw=1.2, marker=next(peer_markers), color=next(peer_colors),
                      ms=7)
        label = f"{name} (ours)" if ours else name
        kw.setdefault("ms", 4)
        ax.plot(xs, ys, label=label, **kw)
        if name == "pld":
            ax.fill_between(xs, lo, up, color="grey", alpha=0.3, label="pld certified bracket")
        if ax2 is not None:
            pts = [(x, 100.0 * (y / ref_at[x] - 1.0)) for x, y in zip(xs, ys)
                   if x in ref_at and ref_at[x] > 0 and math.isfinite(y)]
            if pts:
                ax2.plot(*zip(*pts), **kw)
                rel_min.append(min(p[1] for p in pts))
            if name == "pld":
                ax2.fill_between(xs, [100.0 * (v / ref_at[x] - 1.0) for x, v in zip(xs, lo)],
                                 [100.0 * (v / ref_at[x] - 1.0) for x, v in zip(xs, up)],
                                 color="grey", alpha=0.3)
    ax.set_xscale("log")
    ax.set_ylabel(f"ε at δ = {delta:g}" if delta else "ε")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    last = ax
    if ax2 is not None:
        ax2.set_yscale("symlog", linthresh=1.0)
        lo_lim = min(rel_min)
        ax2.set_ylim(bottom=-0.5 if lo_lim > -0.5 else 1.5 * lo_lim)
        ax2.set_ylabel("ε vs PLD bracket midpoint (%)")
        ax2.axhline(0.0, color="black", lw=0.8)
        ax2.grid(True, which="both", alpha=0.3)
        last = ax2
    last.set_xlabel("steps")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# ========================================================================================
# CLI plugin
# ========================================================================================
def add_arguments(p):
    from .cli import _add_mechanism_args
    _add_mechanism_args(p, need_sigma=False)
    p.add_argument("--delta", type=float, default=DEFAULT["delta"], help="delta in (0, 1)")
    p.add_argument("--method", default=None,
                   help="comma-separated methods of ours (default: every built one)")
    p.add_argument("--peers", default="installed",
                   help="'installed' (default), 'none', or comma-separated peer names")
    p.add_argument("--repeat", type=int, default=2,
                   help="calls per entry; the first is a warm-up (default 2)")
    p.add_argument("--plot", metavar="FILE", default=None, help="draw epsilon vs steps into FILE")
    p.add_argument("--points", type=int, default=8, help="step counts on the plot (default 8)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(noise_multiplier=DEFAULT["noise_multiplier"],
                   sample_rate=DEFAULT["sample_rate"], steps=DEFAULT["steps"])


def _describe(mech, steps, delta):
    if isinstance(mech, SubsampledGaussian):
        what = f"subsampled Gaussian σ={mech.noise_multiplier:g}, q={mech.sample_rate:.6g}"
    elif isinstance(mech, Gaussian):
        what = f"Gaussian σ={mech.noise_multiplier:g}"
    elif isinstance(mech, ELS):
        what = (f"ELS σ={mech.noise_multiplier:g}, q={mech.sample_rate:.6g}, "
                f"k={mech.max_examples_per_user}")
    else:
        what = repr(mech)
    return f"{what}, steps={steps}, δ={delta:g}"


def run(a) -> int:
    import json

    from . import _validate as v
    from .cli import mechanism_from_args
    mech = mechanism_from_args(a)
    steps = v.count("steps", a.steps)
    methods = None if a.method in (None, "all") else tuple(
        m.strip() for m in a.method.split(",") if m.strip())
    if a.peers == "installed":
        peers = True
    elif a.peers == "none":
        peers = False
    else:
        peers = tuple(s.strip() for s in a.peers.split(",") if s.strip())
    if a.repeat < 1:
        raise ValueError(f"--repeat must be >= 1, got {a.repeat}")
    if a.points < 2:
        raise ValueError(f"--points must be >= 2, got {a.points}")
    if a.plot is not None:
        try:
            import matplotlib  # noqa: F401 - fail before any work
        except ImportError:
            raise ValueError("--plot needs matplotlib: pip install matplotlib") from None
    rows = compare(mech, a.delta, steps, methods=methods, peers=peers, repeat=a.repeat)
    if a.plot is not None:
        data = curves(mech, a.delta, steps, methods=methods, peers=peers, points=a.points)
        plot(data, a.plot, title=_describe(mech, steps, a.delta), delta=a.delta)
    if a.json:
        out = {"setting": {"mechanism": repr(mech), "steps": steps, "delta": a.delta},
               "results": rows}
        if a.plot is not None:
            out["plot"] = a.plot
        print(json.dumps(_json_safe(out), allow_nan=False))
        return 0
    print(_describe(mech, steps, a.delta))
    ours = [r for r in rows if r["source"] == "ours" and "error" not in r]
    ref = next((r for r in ours if r["name"] == "pld"), ours[0] if ours else None)
    print(f"{'method':<20} {'epsilon':>10} {'lower':>10} {'upper':>10}  {'kind':<26}"
          f" {'seconds':>8} {'vs pld':>8}")
    for r in rows:
        label = f"{r['name']} (ours)" if r["source"] == "ours" else r["name"]
        if "error" in r:
            print(f"{label:<20} n/a: {r['error']}")
            continue
        ratio = (f"{r['seconds'] / ref['seconds']:7.1f}x" if ref and ref["seconds"] > 0
                 else "")
        print(f"{label:<20} {r['epsilon']:>10.6g} {_fmt(r['lower']):>10} {_fmt(r['upper']):>10}"
              f"  {r['kind']:<26} {r['seconds']:>8.3f} {ratio:>8}")
    if a.plot is not None:
        print(f"plot written to {a.plot}")
    return 0


def _fmt(x):
    return "inf" if math.isinf(x) else f"{x:.6g}"


def _json_safe(obj):
    """Strict JSON: an infinite bound (a vacuous interval) is written as the string "inf"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "inf" if obj > 0 else ("-inf" if obj < 0 else "nan")
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj
