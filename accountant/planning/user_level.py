"""User-level DP on top of the accountants: group-privacy baselines, contribution bounds.

The tight user-level accounting itself lives in the privacy-loss core: ``ELS`` (examples
Poisson-sampled at rate q, per-example clipping, at most k examples per user) is the mixture
of Gaussians with shifts j = 0..k and Binomial(k, q) weights (Ganesh 2024, arXiv 2401.10294,
Thm 3.1), and ``ULS`` (users Poisson-sampled at rate q_u, each user's examples combined and
clipped once) is the subsampled Gaussian at q_u; every accountant ("pld", "rdp",
"edgeworth", "saddlepoint") reads them (docs/math.md §2.5).

This module adds (the loose group-privacy baselines for ELS, methods ``"group-vadhan"`` and
``"group-rdp"``, are accountants: :mod:`accountant.accountants.group`)

* :func:`choose_contribution_bound` and :func:`compare_sampling`: the contribution bound
  (max examples per user) from a histogram of examples per user (docs/math.md §7);
* :func:`read_counts` and :func:`read_counts_file`: counts files (the ``dp-accountant
  user-level`` command, :mod:`accountant.cli.user_level`, reads its ``--counts`` with them).
"""
from __future__ import annotations

import csv
import io
import math
import numbers
import os
from dataclasses import dataclass
from typing import IO, Callable, Optional, Sequence, Tuple

import numpy as np

from ..core import _validate as v
from ..core._files import COUNTS_MAX_BYTES, read_user_file
from ..core._json import kind_of

__all__ = ["choose_contribution_bound", "compare_sampling", "ContributionBound",
           "BoundRow", "SamplingComparison", "ComparisonRow", "read_counts", "read_counts_file"]


# ---------------------------------------------------------------------------------------
# Contribution bound
# ---------------------------------------------------------------------------------------

def _counts(counts) -> np.ndarray:
    """Validate a per-user example-count list: non-empty, integers ≥ 0, one positive."""
    if isinstance(counts, (str, bytes)):
        raise ValueError("counts must be a sequence of non-negative integers, got a string")
    try:
        items = list(np.ravel(counts)) if isinstance(counts, np.ndarray) else list(counts)
    except TypeError:
        raise ValueError("counts must be a sequence of non-negative integers") from None
    if len(items) == 0:
        raise ValueError("counts must be non-empty (one count of examples per user)")
    out = np.empty(len(items), dtype=np.int64)
    for i, c in enumerate(items):
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, numbers.Real):
            raise ValueError(f"counts must be non-negative integers, got {c!r} at index {i}")
        f = float(c)
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"counts must be non-negative integers, got {c!r} at index {i}")
        if f < 0:
            raise ValueError(f"counts must be non-negative integers, got {c!r} at index {i}")
        out[i] = int(f)
    if out.max() < 1:
        raise ValueError("counts must contain at least one positive count")
    return out


def contribution_sum(counts: Sequence[int] | np.ndarray, G: int) -> int:
    """S(G) = Σ_u min(n_u, G): the examples kept under contribution bound G."""
    n = _counts(counts)
    G = v.count("G", G)
    return int(np.minimum(n, G).sum())


def _default_candidates(n: np.ndarray) -> Tuple[int, ...]:
    """1..16, then a geometric grid (ratio ~1.25) up to the largest count, plus the median."""
    top = int(n.max())
    cand = set(range(1, min(top, 16) + 1))
    g = 16.0
    while g < top:
        g *= 1.25
        cand.add(min(top, int(round(g))))
    cand.add(_median_bound(n))
    return tuple(sorted(cand))


def _median_bound(n: np.ndarray) -> int:
    """Charles et al. 2024's ELS heuristic: the median count (rounded up; at least 1)."""
    return max(1, int(math.ceil(float(np.median(n)))))


def _candidates(candidates, n):
    if candidates is None:
        return _default_candidates(n)
    try:
        items = list(candidates)
    except TypeError:
        raise ValueError("candidates must be a sequence of integers >= 1") from None
    if not items:
        raise ValueError("candidates must be a non-empty sequence of integers >= 1")
    return tuple(sorted({v.count("candidates", c) for c in items}))


# --- σ calibration --------------------------------------------------------------------

def _calibrate(sampling, target_epsilon, delta, rate, steps, k, method, guess):
    """(σ, ε at σ, whether that ε is a proven upper bound) for ELS(σ, rate, k) or
    ULS(σ, rate) (= the subsampled Gaussian), from :func:`accountant.calibration.search.calibrate`
    and the accountant's diagnostics there."""
    from ..calibration.search import calibrate
    kw = {"sampling": "els", "examples_per_user": k} if sampling == "els" else {}
    c = calibrate(target_epsilon, delta, rate, steps, method=method, guess=guess, **kw)
    return float(c), c.epsilon, c.certified, c.warnings


# --- reports --------------------------------------------------------------------------

@dataclass(frozen=True)
class BoundRow:
    """One candidate contribution bound G.

    S : Σ_u min(n_u, G), the examples kept.
    sample_rate : q(G) = min(1, B/S(G)) — the example rate (ELS) or user rate (ULS) that
        gives an expected B examples per step.
    noise_multiplier : σ(G) calibrated to (ε, δ) at q(G) over the steps.
    clip : the clip norm used (ELS: per-example clip; ULS: Ĉ(G)).
    predicted_noise : ULS — N(G) = σ·Ĉ(G)·S(G)/(B·n_users), the noise std of the normalised
        (per-user mean) update; ELS — σ·Ĉ/B, the noise std of the per-example mean update.
    epsilon : ε(δ) at σ: a proven upper bound (≤ the target) when ``certified``, the
        method's estimate otherwise (then σ may spend more than the target).
    certified : whether ``epsilon`` is a proven bound (``kind``: "certified"/"estimate").
    """

    G: int
    S: int
    sample_rate: float
    noise_multiplier: float
    clip: float
    predicted_noise: float
    epsilon: float = math.nan
    certified: bool = False
    warnings: Tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return kind_of(self.certified)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["kind"] = self.kind
        d["warnings"] = list(self.warnings)
        return d


@dataclass(frozen=True)
class ContributionBound:
    """What :func:`choose_contribution_bound` returns: the chosen ``bound`` and the table."""

    sampling: str
    bound: int
    rows: Tuple[BoundRow, ...]
    epsilon: float
    delta: float
    batch_size: float
    steps: int
    n_users: int
    method: str
    median: float
    rule: str

    @property
    def certified(self) -> bool:
        """True when every row's σ carries a proven ε ≤ the target."""
        return all(r.certified for r in self.rows)

    def row(self, G: int) -> BoundRow:
        for r in self.rows:
            if r.G == G:
                return r
        raise KeyError(G)

    def as_dict(self) -> dict:
        return {"sampling": self.sampling, "bound": self.bound, "rule": self.rule,
                "epsilon": self.epsilon, "delta": self.delta, "batch_size": self.batch_size,
                "steps": self.steps, "n_users": self.n_users, "method": self.method,
                "median": self.median, "certified": self.certified,
                "kind": kind_of(self.certified), "rows": [r.as_dict() for r in self.rows]}

    def table(self) -> str:
        noise = "N(G)" if self.sampling == "uls" else "sigma*C/B"
        lines = [f"{self.sampling.upper()}: chosen G = {self.bound} ({self.rule})"]
        if not self.certified:
            lines.append(f"ESTIMATE: method {self.method!r} gives estimates, not proven "
                         f"bounds; these sigmas may spend more than epsilon = {self.epsilon:g}")
        eps_head = "eps (cert.)" if self.certified else "eps (est.)"
        lines.append(f"{'G':>6} {'S(G)':>10} {'rate':>10} {'sigma':>10} {'clip':>8} "
                     f"{noise:>12} {eps_head:>12}")
        for r in self.rows:
            mark = " *" if r.G == self.bound else ""
            est = "" if r.certified else " est."
            lines.append(f"{r.G:>6} {r.S:>10} {r.sample_rate:>10.4g} {r.noise_multiplier:>10.4g} "
                         f"{r.clip:>8.4g} {r.predicted_noise:>12.4g} {r.epsilon:>12.5g}"
                         f"{est}{mark}")
        for r in self.rows:
            lines += [f"warning: G = {r.G}: {w}" for w in r.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class ComparisonRow:
    """ELS vs ULS at equal compute (B expected examples per step, same steps) for one G.

    els_std = σ_ELS·Ĉ_ELS and uls_std = G·σ_ULS·Ĉ_ULS(G): the noise std on the sum of B
    examples' contributions in units of one example's clip (a ULS user's combined update
    stands for up to G examples; docs/math.md §7). ratio = uls_std/els_std.
    """

    G: int
    S: int
    sample_rate: float
    els_sigma: float
    uls_sigma: float
    els_std: float
    uls_std: float
    ratio: float


@dataclass(frozen=True)
class SamplingComparison:
    els: ContributionBound
    uls: ContributionBound
    rows: Tuple[ComparisonRow, ...]

    def as_dict(self) -> dict:
        return {"els": self.els.as_dict(), "uls": self.uls.as_dict(),
                "comparison": [r.__dict__.copy() for r in self.rows]}

    def table(self) -> str:
        lines = ["ELS vs ULS at equal compute (noise std on the sum of B examples, "
                 "per-example clip units)"]
        if not (self.els.certified and self.uls.certified):
            lines.append("ESTIMATE: the sigmas come from an estimate method, not proven bounds")
        lines += [
                 f"{'G':>6} {'S(G)':>10} {'rate':>10} {'sigma_ELS':>10} {'sigma_ULS':>10} "
                 f"{'ELS std':>10} {'ULS std':>10} {'ULS/ELS':>8}"]
        for r in self.rows:
            lines.append(f"{r.G:>6} {r.S:>10} {r.sample_rate:>10.4g} {r.els_sigma:>10.4g} "
                         f"{r.uls_sigma:>10.4g} {r.els_std:>10.4g} {r.uls_std:>10.4g} "
                         f"{r.ratio:>8.4g}")
        return "\n".join(lines)


def _check_common(batch_size, steps, epsilon, delta, n_users, clip_model, method, n):
    batch_size = v.positive("batch_size", batch_size)
    steps = v.count("steps", steps)
    epsilon = v.positive("epsilon", epsilon)
    delta = v.delta("delta", delta)
    n_users = len(n) if n_users is None else v.count("n_users", n_users)
    if clip_model is not None and not callable(clip_model):
        raise ValueError("clip_model must be a callable G -> clip norm (> 0) or None")
    v.choice("method", method, ("pld", "rdp", "edgeworth", "saddlepoint"))
    return batch_size, steps, epsilon, delta, n_users


def _clip(clip_model, G):
    if clip_model is None:
        return 1.0
    return v.positive("clip_model(G)", clip_model(G))


def _rows(n, sampling, Gs, batch_size, steps, epsilon, delta, n_users, clip_model,
          example_clip, method):
    rows, guess = [], 1.0
    for G in Gs:
        S = int(np.minimum(n, G).sum())
        rate = min(1.0, batch_size / S)
        sigma, eps, certified, warns = _calibrate(sampling, epsilon, delta, rate, steps, G,
                                                  method, guess)
        if sampling == "uls":
            c = _clip(clip_model, G)
            noise = sigma * c * S / (batch_size * n_users)
        else:
            c = example_clip
            noise = sigma * c / batch_size
        guess = sigma
        rows.append(BoundRow(G, S, rate, sigma, c, noise, eps, certified, tuple(warns)))
    return tuple(rows)


def choose_contribution_bound(counts: Sequence[int], sampling: str = "els", *,
                              batch_size: float, steps: int, epsilon: float,
                              delta: float, n_users: Optional[int] = None,
                              clip_model: Optional[Callable[[int], float]] = None,
                              method: str = "pld", candidates: Optional[Sequence[int]] = None,
                              example_clip: float = 1.0) -> ContributionBound:
    """Choose the contribution bound G (max examples per user) from examples-per-user counts.

    Parameters
    ----------
    counts : examples per user, n_u (non-negative integers, at least one positive).
    sampling : "els" — the median count (Charles et al. 2024, arXiv 2407.07737, heuristic);
        "uls" — the G minimising the predicted noise of the normalised update
        N(G) = σ(G)·Ĉ(G)·S(G)/(B·n_users), S(G) = Σ_u min(n_u, G) (docs/math.md §7).
    batch_size : B, the expected examples per step; the rate is q(G) = min(1, B/S(G)).
    steps, epsilon, delta : σ(G) is calibrated so that ``steps`` steps at rate q(G) have a
        certified ε(δ) ≤ ``epsilon`` (ELS: ELS(σ, q(G), G); ULS: the subsampled Gaussian).
    n_users : number of users (default len(counts)).
    clip_model : Ĉ(G), the clip norm of a ULS user's combined update (default constant 1).
        **A constant Ĉ makes G = 1 optimal**: S(G), hence q(G) and σ(G), grow with G. The
        useful model shrinks with G (e.g. Ĉ(G) = G^−a for the mean of G weakly aligned
        gradients), which is what makes a larger G pay.
    method : the accountant used for calibration ("pld" by default).
    candidates : the G values to tabulate (default 1..16, then ×1.25 up to max n_u, plus
        the median).
    example_clip : the per-example clip norm used in the ELS rows (default 1).

    Returns
    -------
    ContributionBound with ``bound`` (the chosen G) and ``rows`` (G, S(G), rate, σ, clip,
    predicted noise) for every candidate.
    """
    v.choice("sampling", sampling, ("els", "uls"))
    n = _counts(counts)
    batch_size, steps, epsilon, delta, n_users = _check_common(
        batch_size, steps, epsilon, delta, n_users, clip_model, method, n)
    example_clip = v.positive("example_clip", example_clip)
    Gs = _candidates(candidates, n)
    median = float(np.median(n))
    if sampling == "els":
        G_star = _median_bound(n)
        if G_star not in Gs:
            Gs = tuple(sorted(set(Gs) | {G_star}))
        rule = "median count (Charles et al. 2024)"
    rows = _rows(n, sampling, Gs, batch_size, steps, epsilon, delta, n_users, clip_model,
                 example_clip, method)
    if sampling == "uls":
        G_star = min(rows, key=lambda r: (r.predicted_noise, r.G)).G
        rule = "argmin predicted noise N(G)"
    return ContributionBound(sampling, G_star, rows, epsilon, delta, batch_size, steps,
                             n_users, method, median, rule)


def compare_sampling(counts: Sequence[int], *, batch_size: float, steps: int, epsilon: float,
                     delta: float,
                     n_users: Optional[int] = None,
                     clip_model: Optional[Callable[[int], float]] = None,
                     example_clip: float = 1.0, method: str = "pld",
                     candidates: Optional[Sequence[int]] = None) -> SamplingComparison:
    """ELS vs ULS side by side at equal compute (docs/math.md §7).

    For every candidate G both schemes draw B examples per step in expectation (rate
    q(G) = min(1, B/S(G)) for examples under ELS, for users under ULS) over the same steps
    and are calibrated to the same (ε, δ). The noise std on the sum of B examples, in units
    of one example's clip, is σ_ELS·Ĉ_ELS for ELS and G·σ_ULS·Ĉ_ULS(G) for ULS.
    """
    els = choose_contribution_bound(counts, "els", batch_size=batch_size, steps=steps,
                                    epsilon=epsilon, delta=delta, n_users=n_users,
                                    clip_model=clip_model, method=method,
                                    candidates=candidates, example_clip=example_clip)
    Gs = tuple(r.G for r in els.rows)
    uls = choose_contribution_bound(counts, "uls", batch_size=batch_size, steps=steps,
                                    epsilon=epsilon, delta=delta, n_users=n_users,
                                    clip_model=clip_model, method=method, candidates=Gs)
    rows = []
    for e, u in zip(els.rows, uls.rows):
        es = e.noise_multiplier * e.clip
        us = u.G * u.noise_multiplier * u.clip
        rows.append(ComparisonRow(e.G, e.S, e.sample_rate, e.noise_multiplier,
                                  u.noise_multiplier, es, us, us / es))
    return SamplingComparison(els, uls, tuple(rows))


# ---------------------------------------------------------------------------------------
# Counts files
# ---------------------------------------------------------------------------------------

def _parse_count(text: str, where: str) -> int:
    t = text.strip()
    try:
        val = int(t)
    except ValueError:
        try:
            f = float(t)
        except ValueError:
            raise ValueError(f"{where}: cannot parse {t!r} as a non-negative integer count") from None
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"{where}: count {t!r} is not an integer") from None
        val = int(f)
    if val < 0:
        raise ValueError(f"{where}: count {t!r} is negative")
    return val


def read_counts_file(path: str | os.PathLike, name: Optional[str] = None) -> str:
    """The text of the counts file at ``path``: a regular file (or a symlink to one) of at
    most 256 MiB (:data:`accountant.core._files.COUNTS_MAX_BYTES`) in UTF-8 — a FIFO, device,
    socket or directory is refused without blocking. ValueError, one line, otherwise."""
    name = name or f"counts file {os.fspath(path)}"
    raw = read_user_file(path, what="counts file", limit=COUNTS_MAX_BYTES)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} must be UTF-8 text: invalid byte at offset "
                         f"{exc.start}") from None


def read_counts(text_or_file: str | os.PathLike | IO[str], column: Optional[str] = None,
                name: str = "counts file") -> list:
    """Parse examples-per-user counts: one integer per line, or a CSV with a header row.

    ``text_or_file`` is the text itself (a ``str``), a path (``os.PathLike``, read with
    :func:`read_counts_file`: regular files of at most 256 MiB) or an open text file (at
    most 256 Mi characters are read). A first non-blank line that is not an integer is read
    as a CSV header; ``column`` names the column to use (default the first). Blank lines are
    skipped. A line that cannot be parsed raises ``ValueError`` naming its line number.
    """
    if isinstance(text_or_file, str):
        text = text_or_file
    elif isinstance(text_or_file, os.PathLike):
        text = read_counts_file(text_or_file)
    else:
        text = text_or_file.read(COUNTS_MAX_BYTES + 1)
        if len(text) > COUNTS_MAX_BYTES:
            raise ValueError(f"{name} must be at most {COUNTS_MAX_BYTES // 2 ** 20} MiB")
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise ValueError(f"{name} is empty: counts must be non-empty")
    is_csv = ("," in lines[first])
    if not is_csv:
        try:
            _parse_count(lines[first], "")
        except ValueError:
            is_csv = True
    out = []
    if not is_csv:
        if column is not None:
            raise ValueError(f"--column {column!r} given but {name} has no CSV header "
                             f"(line {first + 1} is a number)")
        for i, ln in enumerate(lines):
            if ln.strip():
                out.append(_parse_count(ln, f"{name}, line {i + 1}"))
        return out
    header = next(csv.reader([lines[first]]))
    header = [h.strip() for h in header]
    if column is None:
        idx = 0
    elif column in header:
        idx = header.index(column)
    else:
        raise ValueError(f"column must be one of the CSV header names {header}, got {column!r}")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    for i, row in enumerate(reader):
        if i <= first or not any(cell.strip() for cell in row):
            continue
        if idx >= len(row):
            raise ValueError(f"{name}, line {i + 1}: no column {header[idx]!r} "
                             f"({len(row)} fields)")
        out.append(_parse_count(row[idx], f"{name}, line {i + 1}"))
    if not out:
        raise ValueError(f"{name} has a header but no counts: counts must be non-empty")
    return out
