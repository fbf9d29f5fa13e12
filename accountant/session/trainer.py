"""Stateful accountant for trainers: per-step history, incremental accounting, durable state.

>>> import accountant as acc
>>> a = acc.PrivacyAccountant(method="pld")
>>> for t in range(1000):
...     a.step(noise_multiplier=1.0 + 1e-4 * t, sample_rate=0.01)
>>> a.get_epsilon(delta=1e-5)            # a certified Result

History. ``step``/``compose`` append ``(mechanism, steps)`` segments; a step equal to the last
segment's mechanism only increases its count (Opacus merges the same way). Repeated
mechanisms anywhere in the history share every cached object.

Incremental work. A new step never recomputes the past:

* RDP: the accountant of ``epsilon(..., method="rdp")`` itself, :class:`accountant.rdp.RdpEngine`,
  kept for the whole history: it holds the distinct mechanisms with their step counts and
  every CGF value it has evaluated, so a query after new steps evaluates only what it has not
  seen, and answers exactly what ``epsilon(history, method="rdp")`` answers (docs/math.md §3).
* PLD: each answer is cached until the history changes; the per-mechanism one-step PLDs are
  cached by :mod:`accountant.accountants.pld.bracket`. A history of many distinct mechanisms
  takes the PLD accountant's own merged path (:mod:`accountant.accountants.pld.merge`,
  docs/math.md §4.8): the same bracket as ``epsilon(history, method="pld")``, within the
  requested rtol.
* Edgeworth / saddle point: answers are cached until the history changes (their modules
  cache per-mechanism cumulants).

Durable state. :meth:`PrivacyAccountant.state_dict` is a JSON-ready dict with a format name,
a schema version, the payload (method, options, history; every float as ``float.hex`` so it
round-trips bit-exactly) and the SHA-256 of the canonical payload. :meth:`save` writes it
atomically (:func:`accountant.core._files.write_atomically`: temporary file
``.<name>.tmp-<hex>`` in the same directory, fsync, ``os.replace``; a leftover of a write
killed midway is removed by the next save of the same path once it is 5 minutes old);
:meth:`load` / :meth:`load_state_dict` refuse truncated, edited or foreign content with a
``ValueError`` saying what is wrong, and never change an accountant when they refuse.

Reading is strict. :meth:`load` reads regular files only (a symlink to one is fine; a FIFO,
device, socket or directory is refused without blocking) of at most 64 MiB
(:data:`accountant.core._files.STATE_MAX_BYTES`; 2 GiB, ``TORCH_MAX_BYTES``, for an Opacus
checkpoint saved by PyTorch). The state must be exactly what :meth:`save`
writes: strict JSON (no ``NaN``/``Infinity``, no duplicate keys, nesting beyond Python's
recursion limit refused), ``schema_version`` the integer 1 (not ``true``), every float a
canonical ``float.hex`` string (``"1.1"`` is refused, not read as hex), every integer a JSON
integer, every field of every mechanism present with its own type, and nothing else.

Recordable histories. Every entry point — :meth:`~PrivacyAccountant.step`,
:meth:`~PrivacyAccountant.compose`, :meth:`~PrivacyAccountant.load` — applies the same
limits, so whatever an accountant holds can be saved and loaded again, and a loaded history
holds nothing the accountants cannot compute:

* noise multipliers: the range every mechanism accepts
  (:func:`accountant.core._validate.noise_multiplier`), checked when a mechanism is built — from
  a state file too;
* steps: integers in [1, :data:`MAX_STEPS`] = [1, 2**53], for every segment and for the
  total, so that every count is exact in floating point;
* examples per user k (ELS, ULS) at most :data:`MAX_EXAMPLES_PER_USER`, the mechanisms'
  own ELS limit (:data:`accountant.core.mechanisms.MAX_ELS_EXAMPLES` = 256): the ELS privacy
  loss is a mixture of k + 1 Gaussians.

Samplers (issue 15). ``step(σ, q, sampling="truncated", dataset_size=n, max_batch_size=B)``
records truncated-Poisson steps. For the per-epoch samplers — ``sampling="shuffle"``
(``dataset_size``, ``batch_size``) and ``"random-allocation"`` — ``step`` still counts
*training* steps, while the mechanism (and so the history, :attr:`schedule` and ``len``)
counts *epochs* (:func:`accountant.core.mechanisms.steps_per_unit`): every t = steps per
epoch training steps close one epoch. Until an epoch is complete it is held as the
**partial epoch** (:attr:`PrivacyAccountant.partial_epoch`), and a query brackets it: the upper
bound counts it as a whole epoch (the first s < t batches of an epoch are a post-processing of
the whole epoch's outputs), the lower bound leaves it out (the completed history's outputs
are a post-processing of everything released; both by docs/math.md §1.2: a post-processed
pair is dominated); ``details["partial_epoch"]`` and a
``partial_epoch`` warning say so. The state file keeps the partial epoch (payload key
``partial_epoch``, written only when there is one, so other states are unchanged).
A partial epoch must be completed before a step of another per-epoch mechanism starts
(ValueError otherwise); per-step mechanisms may be recorded meanwhile (composition does
not depend on order). :class:`~accountant.core.mechanisms.CyclicPoisson` is recorded with
:meth:`~PrivacyAccountant.compose` in whole cycles.

Size: one job, the trainer's accountant — recording steps, merging its history, answering
with each method incrementally and its durable state — whose parts share the history's
invariants above.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from typing import TYPE_CHECKING, Dict, List, Tuple

from ..accountants import exact as _exact
from ..accountants.rdp import RdpEngine
from ..core import _validate as v
from ..core._files import STATE_MAX_BYTES, TORCH_MAX_BYTES, read_user_file, write_atomically
from ..core.bounds import Result, emit_warnings
from ..core.dominating import dominating_schedule
from ..core.mechanisms import (MAX_ELS_EXAMPLES, MECHANISM_TYPES, ULS, Gaussian, MechanismLike,
                               RandomAllocation, Schedule, Shuffle, SubsampledGaussian,
                               as_schedule, from_parameters, is_identity, steps_per_unit)

__all__ = ["PrivacyAccountant", "load_schedule", "dominating_schedule", "STATE_FORMAT",
           "SCHEMA_VERSION", "MAX_STEPS", "MAX_EXAMPLES_PER_USER"]

METHODS = ("pld", "rdp", "edgeworth", "saddlepoint")

if TYPE_CHECKING:
    from ..risk import RiskResult
STATE_FORMAT = "dp-accountant/PrivacyAccountant"
SCHEMA_VERSION = 1
# Limits of a recorded history (module docstring, "Recordable histories").
MAX_STEPS = 2 ** 53
MAX_EXAMPLES_PER_USER = MAX_ELS_EXAMPLES


def _gaussian_only(counts):
    """Exact μ of a Gaussian-only history (None otherwise), without building every loss."""
    for m, _ in counts:
        if not (isinstance(m, Gaussian) or (isinstance(m, (SubsampledGaussian, ULS))
                                            and m.sample_rate == 1.0)):
            return None
    return _exact.gaussian_mu(Schedule(counts))


# ----------------------------------------------------------------------------------------
# The accountant
# ----------------------------------------------------------------------------------------
_PLD_OPTIONS = ("rtol", "atol", "h")
_SESSION_OPTIONS = ("max_merged", "merge_ratio", "lower_mechanisms")


class PrivacyAccountant:
    """Trainer-facing accountant: ``step`` after each optimizer step, ask any time.

    Parameters
    ----------
    method : "pld" (default; certified bracket), "rdp" (certified upper bound), "edgeworth"
        or "saddlepoint" (estimates with their rigorous interval when one exists).
    max_merged, merge_ratio, lower_mechanisms : accepted, validated and saved (state files
        written before the PLD accountant merged by itself carry them) but without effect:
        a PLD query of this accountant is exactly ``epsilon(history, method="pld")`` /
        ``delta(...)``, which merges many distinct mechanisms with a grid chosen from rtol
        (:mod:`accountant.accountants.pld.merge`, docs/math.md §4.8).
    **options : passed to the method (e.g. ``rtol``, ``atol``, ``h`` for "pld").

    A merged PLD result stays ``certified=True``: its upper bound is the PLD upper bound of
    a dominating schedule and its lower bound the PLD lower bound of a dominated one;
    ``details["merged"]`` records the grid.
    """

    def __init__(self, method: str = "pld", *, max_merged: int = 32, merge_ratio: float = 1e-3,
                 lower_mechanisms: int = 12, **options) -> None:
        self._method = v.choice("method", method, METHODS)
        self._settings = {
            "max_merged": v.count("max_merged", max_merged),
            "merge_ratio": v.positive("merge_ratio", merge_ratio),
            "lower_mechanisms": v.count("lower_mechanisms", lower_mechanisms),
        }
        self._options = _check_options(method, options)
        self._segments: List[list] = []     # [mechanism, steps], merged when unchanged
        self._partial = None                # [per-epoch mechanism, training steps < t] or None
        self._counts: Dict = {}             # distinct mechanism → total steps (first-seen order)
        self._steps = 0
        self._version = 0
        self._answers: Dict = {}
        self._rdp = RdpEngine()             # the same counts, with their CGF values

    # -- recording -------------------------------------------------------------------------
    def step(self, noise_multiplier: float, sample_rate: float | None = None, steps: int = 1,
             examples_per_user: int | None = None, sampling: str | None = None, *,
             dataset_size: int | None = None, batch_size: int | None = None,
             max_batch_size: int | None = None, num_selections: int | None = None,
             steps_per_epoch: int | None = None) -> "PrivacyAccountant":
        """Record ``steps`` optimizer steps with noise σ and sampling rate q.

        ``sampling``: "poisson" (default), "fixed" (fixed-size batches, replace-one),
        "els" (example-level sampling, user-level add/remove; needs ``examples_per_user``),
        "uls" (user-level sampling), "truncated" (needs q, ``dataset_size``,
        ``max_batch_size``), "shuffle" (``dataset_size``, ``batch_size``; q may be left out)
        or "random-allocation" (``dataset_size`` and ``batch_size``, or ``steps_per_epoch``;
        ``num_selections``, default 1) — the parameters of
        :func:`accountant.core.mechanisms.from_parameters`. Giving ``examples_per_user`` > 1
        without ``sampling`` means "els". q = 1 (the default for the Poisson family) with
        Poisson sampling is the plain Gaussian mechanism. For "shuffle" and
        "random-allocation", ``steps`` counts training steps and whole epochs enter the
        history (module docstring, "Samplers": the partial epoch).

        Limits (as for :meth:`compose` and :meth:`load`): σ as every mechanism accepts it,
        steps an integer in [1, 2**53] (the history's total too), ``examples_per_user`` ≤
        MAX_EXAMPLES_PER_USER; ValueError naming the argument and its range otherwise, and nothing is
        recorded.
        """
        mech = from_parameters(noise_multiplier, sample_rate, sampling=sampling,
                               examples_per_user=examples_per_user, dataset_size=dataset_size,
                               batch_size=batch_size, max_batch_size=max_batch_size,
                               num_selections=num_selections, steps_per_epoch=steps_per_epoch)
        t = steps_per_unit(mech)
        if t == 1:
            return self.compose(mech, steps)
        return self._epoch_steps(mech, t, v.count("steps", steps))

    def _epoch_steps(self, mech, t, steps):
        """``steps`` training steps of the per-epoch mechanism ``mech`` (t steps an epoch)."""
        done = 0
        if self._partial is not None:
            if self._partial[0] != mech:
                raise ValueError(
                    f"an epoch of {self._partial[0]!r} is incomplete ({self._partial[1]} of "
                    f"{steps_per_unit(self._partial[0])} steps): finish it before a step of "
                    f"{type(mech).__name__} with other parameters starts")
            done = self._partial[1]
        epochs, rest = divmod(done + steps, t)
        if rest and epochs == 0:
            self._check_compatible(as_schedule(mech))
        elif epochs:
            self.compose(mech, epochs)      # validates; nothing changes if it refuses
        self._partial = [mech, rest] if rest else None
        self._changed()
        return self

    def _check_compatible(self, sched):
        if self._segments or self._partial is not None:
            rel = (self._segments[0][0] if self._segments else self._partial[0]).neighboring
            if sched.neighboring != rel:
                raise ValueError(f"mechanism must use the history's neighboring relation "
                                 f"{rel!r}, got {sched.neighboring!r}")

    def compose(self, mechanism: MechanismLike, steps: int = 1) -> "PrivacyAccountant":
        """Record ``steps`` repetitions of a mechanism (or of a Schedule).

        The limits of a recorded history apply (module docstring: steps in [1, 2**53] per
        segment and in total, examples per user ≤ MAX_EXAMPLES_PER_USER); ValueError, and nothing recorded,
        otherwise.
        """
        sched = as_schedule(mechanism, steps)
        self._check_compatible(sched)
        added = 0
        for m, s in sched.segments:
            _check_recordable(m, s)
            added += s
        _check_total_steps(self._steps, added)
        for m, s in sched.segments:
            if self._segments and self._segments[-1][0] == m:
                self._segments[-1][1] += s
            else:
                self._segments.append([m, s])
            if not is_identity(m):  # a step that samples no one spends nothing
                self._counts[m] = self._counts.get(m, 0) + s
                self._rdp.compose(m, s)
            self._steps += s
        self._changed()
        return self

    def _changed(self):
        self._version += 1
        self._answers.clear()

    def reset(self) -> None:
        """Forget the history (settings and caches of mechanisms are kept)."""
        self._segments, self._counts, self._steps = [], {}, 0
        self._partial = None
        self._rdp.reset()
        self._changed()

    # -- views -----------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return self._method

    @property
    def history(self) -> List[Tuple[object, int]]:
        """The (mechanism, steps) segments, in order (a copy)."""
        return [(m, s) for m, s in self._segments]

    @property
    def partial_epoch(self) -> "Tuple[object, int, int] | None":
        """``(mechanism, steps done, steps per epoch)`` of the incomplete epoch of a
        per-epoch sampler (module docstring, "Samplers"), or None."""
        if self._partial is None:
            return None
        m, done = self._partial
        return m, done, steps_per_unit(m)

    @property
    def schedule(self) -> Schedule:
        """The history of completed units as a Schedule (ValueError when empty); a partial
        epoch (:attr:`partial_epoch`) is not in it."""
        if not self._segments:
            raise ValueError("the accountant has no steps yet")
        return Schedule(tuple((m, s) for m, s in self._segments))

    def __len__(self) -> int:
        """Units recorded in the history: steps, or epochs of a per-epoch sampler (a partial
        epoch is not counted)."""
        return self._steps

    def __repr__(self):
        return (f"PrivacyAccountant(method={self._method!r}, steps={self._steps}, "
                f"segments={len(self._segments)}, distinct={len(self._counts)})")

    # -- queries ---------------------------------------------------------------------------
    def get_epsilon(self, delta: float, method: str | None = None) -> Result:
        """ε spent so far at ``delta`` (a Result; ``float(r)`` is the certified upper bound)."""
        d = v.delta("delta", delta)
        r = self._query("epsilon", d, method)
        emit_warnings(r.warnings, r.method)
        return r

    def get_delta(self, epsilon: float, method: str | None = None) -> Result:
        """δ spent so far at ``epsilon`` ≥ 0."""
        e = v.epsilon("epsilon", epsilon)
        r = self._query("delta", e, method)
        emit_warnings(r.warnings, r.method)
        return r

    def get_tpr(self, fpr: float, method: str | None = None,
                rtol: float | None = None) -> "RiskResult":
        """The true-positive rate of the best membership-inference attack at false-positive
        rate ``fpr`` after the steps so far, as a bracket (:func:`accountant.tpr`,
        docs/math.md §15.3); ``float(r)`` is the certified upper bound. With a partial
        epoch, the upper bound counts it as a whole epoch and the lower bound leaves it out
        (as :meth:`get_epsilon`)."""
        from dataclasses import replace
        from ..risk import RiskResult, tpr   # noqa: F811 (the runtime import of the hint)
        a = v.open_probability("fpr", fpr)
        method = self._method if method is None else v.choice("method", method, METHODS)
        opts = self._method_options(method)
        completed = Schedule(tuple(self._segments)) if self._segments else None
        if self._partial is None:
            if completed is None:   # nothing recorded: no test beats guessing
                return RiskResult("tpr", {"fpr": a}, a, a, a, True, method)
            return tpr(completed, a, method=method, rtol=rtol, **opts)
        mech, done = self._partial
        whole = Schedule(tuple(self._segments) + ((mech, 1),))
        up = tpr(whole, a, method=method, rtol=rtol, **opts)
        lower = (tpr(completed, a, method=method, rtol=rtol, **opts).lower
                 if completed is not None else a)
        note = (f"partial_epoch: the last epoch of {type(mech).__name__} has {done} of "
                f"{steps_per_unit(mech)} steps; the upper bound counts it as a whole epoch, "
                "the lower bound leaves it out")
        return replace(up, lower=min(lower, up.upper), warnings=up.warnings + (note,))

    def _query(self, kind, at, method):
        method = self._method if method is None else v.choice("method", method, METHODS)
        key = (kind, at, method)
        hit = self._answers.get(key)
        if hit is not None:
            return hit
        import time
        t0 = time.perf_counter()
        if self._partial is not None:
            res = self._partial_query(kind, at, method)
        elif not self._counts:  # no step, or only steps that sample no one (q = 0)
            res = Result(kind, at, 0.0, 0.0, 0.0, True, method, details={"steps": self._steps})
        elif method == "rdp":
            res = self._rdp_query(kind, at)
        elif method == "pld":
            res = self._pld_query(kind, at)
        else:
            from ..accountants import api
            res = api.query(kind, self.schedule, at, method=method,
                            **self._method_options(method))
        import dataclasses
        notes = self._loss_notes(res.details.get("notes", []))
        if notes:
            res = dataclasses.replace(res, details={**res.details, "notes": notes})
        res = dataclasses.replace(res, seconds=time.perf_counter() - t0)
        self._answers[key] = res
        return res

    def _loss_notes(self, given) -> list:
        """``given`` plus the ``note`` of every loss in the history (e.g. that Poisson
        accounting does not apply to shuffled batches): every answer carries them, whichever
        path (incremental RDP, merged PLD, partial epoch) computed it."""
        from ..accountants.api import mechanism_notes
        out = list(given) if isinstance(given, (list, tuple)) else []
        mechs = list(self._counts)
        if self._partial is not None:
            mechs.append(self._partial[0])
        for m in mechs:
            try:
                notes = mechanism_notes(m)
            except ValueError:
                continue
            for note in notes:
                if note not in out:
                    out.append(note)
        return out

    def _partial_query(self, kind, at, method) -> Result:
        """The bracket of a history with a partial epoch (module docstring, "Samplers"):
        upper bound with the partial epoch as a whole one, lower bound without it."""
        mech, done = self._partial
        t = steps_per_unit(mech)
        whole = PrivacyAccountant(self._method, **self._settings, **self._options)
        for m, s in self._segments:
            whole.compose(m, s)
        whole.compose(mech, 1)
        completed = PrivacyAccountant(self._method, **self._settings, **self._options)
        for m, s in self._segments:
            completed.compose(m, s)
        up = whole._query(kind, at, method)
        lo = completed._query(kind, at, method)
        lower = min(lo.lower, up.upper)
        note = (f"partial_epoch: the last epoch of {type(mech).__name__} has {done} of {t} "
                "steps; the upper bound counts it as a whole epoch, the lower bound leaves "
                "it out")
        details = {"partial_epoch": {"mechanism": type(mech).__name__, "steps_done": done,
                                     "steps_per_epoch": t},
                   "upper": dict(up.details), "lower": dict(lo.details)}
        for key_, val in up.details.items():     # e.g. the shuffle note, kept on top
            if isinstance(val, str):
                details.setdefault(key_, val)
        warns = tuple(dict.fromkeys(up.warnings + lo.warnings + (note,)))
        return Result(kind, at, max(up.estimate, lower), lower, up.upper,
                      up.certified and lo.certified, method, warns, details)

    def _method_options(self, method):
        return dict(self._options) if method == self._method else {}

    # RDP -----------------------------------------------------------------------------------
    def _rdp_query(self, kind, at) -> Result:
        counts = tuple(self._counts.items())
        # Basic composition and the lower bound need one root-finding per mechanism: with
        # many distinct mechanisms they are taken on a dominating / dominated schedule.
        up_sched = Schedule(dominating_schedule(counts, 8, dominate=True)[0])
        lo_sched = Schedule(counts) if _gaussian_only(counts) is not None else \
            Schedule(dominating_schedule(counts, 8, dominate=False)[0])
        query = self._rdp.epsilon if kind == "epsilon" else self._rdp.delta
        res = query(at, upper_schedule=up_sched, lower_schedule=lo_sched)
        res.details["distinct_mechanisms"] = len(counts)
        return res

    # PLD -----------------------------------------------------------------------------------
    def _pld_query(self, kind, at) -> Result:
        """The one-shot PLD query on the history (merged there when it holds many distinct
        mechanisms; Gaussian-only histories by the exact μ-GDP closed form)."""
        from ..accountants import api
        return api.query(kind, self.schedule, at, method="pld", **self._method_options("pld"))

    # -- durable state -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-ready state: format, schema version, payload and its SHA-256."""
        payload = {
            "method": self._method,
            "settings": _encode_options(self._settings),
            "options": _encode_options(self._options),
            "history": [[_encode_mechanism(m), int(s)] for m, s in self._segments],
        }
        if self._partial is not None:   # only then: states without one stay as they were
            payload["partial_epoch"] = [_encode_mechanism(self._partial[0]),
                                        int(self._partial[1])]
        return {"format": STATE_FORMAT, "schema_version": SCHEMA_VERSION,
                "payload": payload, "sha256": _checksum(payload)}

    def load_state_dict(self, state: dict) -> "PrivacyAccountant":
        """Replace this accountant's method, settings and history by ``state``.

        ``state`` must be exactly what :meth:`state_dict` returns (module docstring,
        "Reading is strict"; the limits of "Recordable histories" apply). Everything is
        validated before anything changes: on ``ValueError`` the accountant is untouched.
        """
        fresh = _parse_state(state)
        # Commit (no exception can happen past this point).
        self._method, self._settings = fresh._method, fresh._settings
        self._options = fresh._options
        self._segments, self._counts, self._steps = fresh._segments, fresh._counts, fresh._steps
        self._partial = fresh._partial
        self._rdp.reset()               # the CGF values evaluated so far stay valid
        for m, s in self._counts.items():
            self._rdp.compose(m, s)
        self._changed()
        return self

    def save(self, path: str | os.PathLike) -> None:
        """Write the state to ``path`` atomically (:func:`accountant.core._files.write_atomically`:
        temp file ``.<name>.tmp-<hex>`` beside it, fsync, ``os.replace``; the temp file is
        removed on any error, and a leftover of a save killed midway is removed by the next
        successful save of the same path once it is 5 minutes old). ValueError naming
        ``path`` when it cannot be written."""
        text = json.dumps(self.state_dict(), indent=1, sort_keys=True, ensure_ascii=True) + "\n"
        write_atomically(path, text.encode("ascii"), "path")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PrivacyAccountant":
        """A new accountant from a state file (ValueError, one line, if invalid).

        Only a regular file (or a symlink to one) of at most 64 MiB (2 GiB for a PyTorch
        file) is read; a FIFO, device, socket or directory is refused without blocking. The
        file is read as our JSON state first (written by :meth:`save`, checked strictly:
        module docstring). A PyTorch file (zip or legacy pickle) is read as an Opacus state
        instead — an accountant's ``state_dict()`` saved with ``torch.save``, or a
        ``PrivacyEngine.save_checkpoint`` file — when torch is installed, with
        ``torch.load(weights_only=True)`` (no code from the file runs); its
        ``(noise_multiplier, sample_rate, steps)`` history is validated strictly
        (:func:`accountant.interop.opacus.check_history`, then the limits of a recorded
        history) and accounted with method "pld" ("rdp" for a ``dpacc_rdp`` state).
        Anything else is refused.
        """
        path = os.fspath(path)
        raw = _read_bytes(path)
        try:
            state = _decode_json(path, raw)
        except ValueError:
            if not _is_torch_file(raw):
                raise
            from .opacus_state import read_torch_state  # lazy: imports torch on use
            history, mechanism = read_torch_state(raw, f"state file {path!r}")
            acc = cls.__new__(cls)
            cls.__init__(acc, "rdp" if mechanism == "dpacc_rdp" else "pld")
            try:
                for sigma, q, n in history:
                    acc.step(sigma, q, n)
            except ValueError as exc:
                raise ValueError(f"state file {path!r}: {exc}") from None
            return acc
        acc = cls.__new__(cls)
        cls.__init__(acc)
        return acc.load_state_dict(state)


def load_schedule(path: str | os.PathLike) -> Schedule:
    """The history saved in a state file, as a Schedule (any file :meth:`PrivacyAccountant.load`
    reads).

    Raises ValueError when the file is missing, truncated, edited, foreign or empty.
    """
    acct = PrivacyAccountant.load(path)
    if acct.partial_epoch is not None:
        m, done, t = acct.partial_epoch
        raise ValueError(f"state file {os.fspath(path)!r} ends in a partial epoch ({done} of "
                         f"{t} steps of {type(m).__name__}), which a Schedule cannot hold: "
                         "query it with PrivacyAccountant.load(path).get_epsilon(...)")
    if not len(acct):
        raise ValueError(f"state file {os.fspath(path)!r} holds no steps")
    return acct.schedule


# ----------------------------------------------------------------------------------------
# Helpers: mechanisms from step arguments, options, encoding
# ----------------------------------------------------------------------------------------
def _describe(x) -> str:
    """``repr(x)`` for a message, shortened (a huge integer's repr is slow, and fails beyond
    4300 digits)."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 64:
        return f"an integer of about {int(x.bit_length() * 0.30103) + 1} digits"
    try:
        r = repr(x)
    except (ValueError, RecursionError):
        return f"a {type(x).__name__}"
    return r if len(r) <= 80 else r[:77] + "..."


def _check_recordable(m, steps, where: str = "") -> None:
    """ValueError unless ``steps`` repetitions of mechanism ``m`` are within the limits of a
    recorded history (module docstring, "Recordable histories"). ``where`` prefixes the
    argument names (e.g. "payload.history[3] "). The noise multiplier is not checked here:
    every mechanism checked it when it was built (:func:`accountant.core._validate.noise_multiplier`),
    on load too."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"{where}steps must be an integer in [1, 2**53 = {MAX_STEPS}], "
                         f"got {_describe(steps)}")
    k = getattr(m, "max_examples_per_user", None)
    if k is not None and k > MAX_EXAMPLES_PER_USER:
        raise ValueError(f"{where}max_examples_per_user must be an integer in "
                         f"[1, {MAX_EXAMPLES_PER_USER}] in a PrivacyAccountant history (an ELS "
                         f"step is a mixture of k + 1 Gaussians), got {_describe(k)}")


def _check_total_steps(recorded: int, added: int, where: str = "") -> None:
    if recorded + added > MAX_STEPS:
        raise ValueError(f"{where}steps must total at most 2**53 = {MAX_STEPS} over a "
                         f"PrivacyAccountant history, got {recorded} recorded + "
                         f"{_describe(added)} more")


def _check_options(method, options):
    out = {}
    for k, val in options.items():
        if method == "pld" and k in _PLD_OPTIONS:
            out[k] = v.positive(k, val) if k != "atol" else v.nonnegative(k, val)
        elif method == "edgeworth" and k == "order":
            out[k] = v.count("order", val)
            if out[k] > 3:
                raise ValueError(f"order must be 1, 2 or 3, got {val!r}")
        else:
            raise ValueError(f"unknown option {k!r} for method {method!r}")
    return out


def _hex(x) -> str:
    return float(x).hex()


def _unhex(name, s) -> float:
    """The float of a canonical ``float.hex`` string, exactly as :func:`_hex` writes it:
    "1.1" (which ``float.fromhex`` would read as 1.0625), " 0x1p0", "0X1P0", "inf" or "nan"
    are refused, never reinterpreted."""
    if isinstance(s, str):
        try:
            x = float.fromhex(s)
        except (ValueError, OverflowError):
            x = None
        if x is not None and math.isfinite(x) and x.hex() == s:
            return x
    raise ValueError(f"{name} must be a finite float written by float.hex (e.g. "
                     f"{(1.1).hex()!r} for 1.1), got {_describe(s)}")


def _encode_options(opts):
    out = {}
    for k, val in opts.items():
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise ValueError(f"option {k!r} cannot be saved: {val!r}")
        out[k] = {"int": val} if isinstance(val, int) else {"float": _hex(val)}
    return out


_SETTING_KINDS = {"max_merged": "int", "merge_ratio": "float", "lower_mechanisms": "int"}


def _option_kinds(method) -> dict:
    """The options :func:`_check_options` accepts for ``method``, with how each is stored."""
    if method == "pld":
        return {k: "float" for k in _PLD_OPTIONS}
    if method == "edgeworth":
        return {"order": "int"}
    return {}


def _keys_text(keys) -> str:
    return ", ".join(sorted(repr(k) for k in keys)) or "none"


def _decode_options(name, obj, kinds, required=()):
    """Settings or options of a state: ``{key: {"int": n} | {"float": hex}}`` with each key's
    own kind (``kinds``), no unknown key, every ``required`` key present."""
    where = f"payload.{name}"
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be an object, got {_describe(obj)}")
    unknown = set(obj) - set(kinds)
    if unknown:
        raise ValueError(f"{where} has unknown key(s) {_keys_text(unknown)} "
                         f"(allowed: {_keys_text(kinds)})")
    missing = [k for k in required if k not in obj]
    if missing:
        raise ValueError(f"{where} is missing {_keys_text(missing)}")
    out = {}
    for k, kind in kinds.items():
        if k not in obj:
            continue
        val, at = obj[k], f"{where}.{k}"
        what = "an integer" if kind == "int" else "a float.hex string"
        if not (isinstance(val, dict) and len(val) == 1 and kind in val):
            raise ValueError(f"{at} must be {{{kind!r}: {what}}}, got {_describe(val)}")
        x = val[kind]
        if kind == "float":
            out[k] = _unhex(f"{at}.float", x)
        elif type(x) is int:
            out[k] = x
        else:
            raise ValueError(f"{at}.int must be a JSON integer, got {_describe(x)}")
    return out


_MECHS = {cls.__name__: cls for cls in MECHANISM_TYPES}


def _field_kind(cls, f) -> str:
    """How a mechanism field is stored, from its declared type: "float" (``float.hex``),
    "floats" (a list of them), "str", or "int" (a JSON integer, or null where the field's
    default is None). Every mechanism type is covered (a new field of another type fails
    loudly here, not silently in a state file)."""
    t = (f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type)))
    t = t.replace(" ", "")
    kind = {"float": "float", "Tuple[float,...]": "floats", "str": "str", "str|None": "str",
            "int": "int", "int|None": "int"}.get(t)
    if kind is None:
        raise RuntimeError(f"internal error: {cls.__name__}.{f.name} has type {t!r}, which "
                           "the state format does not know")
    return kind


def _encode_mechanism(m) -> dict:
    import dataclasses
    out = {"type": type(m).__name__}
    for f in dataclasses.fields(m):
        val = getattr(m, f.name)
        kind = _field_kind(type(m), f)
        if kind == "float":
            out[f.name] = _hex(val)
        elif kind == "floats":
            out[f.name] = [_hex(x) for x in val]
        else:
            out[f.name] = val          # str, int or None
    return out


def _decode_mechanism(where, obj):
    """A mechanism from its saved object: the ``type`` and every field of that class, each
    with the type :func:`_encode_mechanism` writes, nothing else."""
    import dataclasses
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ValueError(f"{where} must be an object with a 'type' string")
    cls = _MECHS.get(obj["type"])
    if cls is None:
        raise ValueError(f"{where}.type must be one of {', '.join(sorted(_MECHS))}, "
                         f"got {_describe(obj['type'])}")
    fields = dataclasses.fields(cls)
    extra = set(obj) - {f.name for f in fields} - {"type"}
    if extra:
        raise ValueError(f"{where} has unknown field(s) {_keys_text(extra)}")
    missing = [f.name for f in fields if f.name not in obj]
    if missing:
        raise ValueError(f"{where} ({cls.__name__}) is missing field(s) {_keys_text(missing)}")
    kwargs = {}
    for f in fields:
        val, at = obj[f.name], f"{where}.{f.name}"
        kind = _field_kind(cls, f)
        if kind == "float":
            val = _unhex(at, val)
        elif kind == "floats":
            if not isinstance(val, list) or not val:
                raise ValueError(f"{at} must be a non-empty list of float.hex strings, "
                                 f"got {_describe(val)}")
            val = tuple(_unhex(f"{at}[{j}]", x) for j, x in enumerate(val))
        elif kind == "str":
            if not isinstance(val, str):
                raise ValueError(f"{at} must be a string, got {_describe(val)}")
        elif val is None:
            if f.default is not None:
                raise ValueError(f"{at} must be a JSON integer, got null")
        elif type(val) is not int:
            raise ValueError(f"{at} must be a JSON integer"
                             + (" or null" if f.default is None else "")
                             + f", got {_describe(val)}")
        kwargs[f.name] = val
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _checksum(payload) -> str:
    return hashlib.sha256(_canonical(payload)).hexdigest()


_STATE_KEYS = ("format", "schema_version", "payload", "sha256")
_PAYLOAD_KEYS = ("method", "settings", "options", "history")
_OPTIONAL_PAYLOAD_KEYS = ("partial_epoch",)


def _first_difference(got, want, where="payload"):
    """(path, got, expected) of the first place where a payload as read differs from the
    payload :meth:`PrivacyAccountant.state_dict` writes for it, or None. Types count: ``true``
    is not ``1``, ``1.0`` is not ``1``."""
    if isinstance(got, dict) and isinstance(want, dict):
        for k in sorted(set(got) | set(want), key=repr):
            if k not in got or k not in want:
                return f"{where}.{k}", got.get(k, "nothing"), want.get(k, "nothing")
            d = _first_difference(got[k], want[k], f"{where}.{k}")
            if d is not None:
                return d
        return None
    if isinstance(got, list) and isinstance(want, list):
        for i, (a, b) in enumerate(zip(got, want)):
            d = _first_difference(a, b, f"{where}[{i}]")
            if d is not None:
                return d
        if len(got) != len(want):
            return where, f"{len(got)} entries", f"{len(want)} entries"
        return None
    if type(got) is type(want) and got == want:
        return None
    return where, got, want


def _parse_state(state) -> "PrivacyAccountant":
    """Validate a state dict fully; return a new accountant holding it (ValueError, saying
    what is wrong, for anything :meth:`PrivacyAccountant.state_dict` would not have written
    or a recorded history may not hold)."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a JSON object, got {type(state).__name__}")
    fmt = state.get("format")
    if not isinstance(fmt, str) or fmt != STATE_FORMAT:
        raise ValueError(f"not a dp-accountant state: format is {_describe(fmt)}, "
                         f"expected {STATE_FORMAT!r}")
    ver = state.get("schema_version")
    if type(ver) is not int or ver != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema_version {_describe(ver)} (this version reads the "
                         f"integer {SCHEMA_VERSION})")
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"state is missing {', '.join(missing)}")
    extra = set(state) - set(_STATE_KEYS)
    if extra:
        raise ValueError(f"state has unknown key(s) {_keys_text(extra)}")
    payload, recorded = state["payload"], state["sha256"]
    if not isinstance(payload, dict):
        raise ValueError("state payload must be an object")
    if not isinstance(recorded, str):
        raise ValueError(f"state sha256 must be a string of 64 hex digits, got "
                         f"{type(recorded).__name__}")
    try:
        digest = _checksum(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        msg = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"state payload is not canonical JSON: {msg}") from None
    if digest != recorded:
        raise ValueError("checksum mismatch: the state was edited or corrupted "
                         f"(sha256 of payload {digest[:12]}…, recorded {recorded[:12]!r}…)")
    missing = [k for k in _PAYLOAD_KEYS if k not in payload]
    if missing:
        raise ValueError(f"state payload is missing {_keys_text(missing)}")
    extra = set(payload) - set(_PAYLOAD_KEYS) - set(_OPTIONAL_PAYLOAD_KEYS)
    if extra:
        raise ValueError(f"state payload has unknown key(s) {_keys_text(extra)}")
    method = payload["method"]
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"payload.method must be one of {', '.join(METHODS)}, "
                         f"got {_describe(method)}")
    settings = _decode_options("settings", payload["settings"], _SETTING_KINDS,
                               required=tuple(_SETTING_KINDS))
    options = _decode_options("options", payload["options"], _option_kinds(method))
    try:
        fresh = PrivacyAccountant(method, **settings, **options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload settings/options are invalid: {exc}") from None
    hist = payload["history"]
    if not isinstance(hist, list):
        raise ValueError("payload.history must be a list of [mechanism, steps] pairs")
    rel = None
    for i, item in enumerate(hist):
        at = f"payload.history[{i}]"
        if not (isinstance(item, list) and len(item) == 2):
            raise ValueError(f"{at} must be a [mechanism, steps] pair")
        m = _decode_mechanism(at, item[0])
        s = item[1]
        if type(s) is not int:
            raise ValueError(f"{at} steps must be a JSON integer in [1, 2**53 = {MAX_STEPS}], "
                             f"got {_describe(s)}")
        _check_recordable(m, s, at + " ")
        _check_total_steps(fresh._steps, s, "payload.history ")
        if rel is None:
            rel = m.neighboring
        elif m.neighboring != rel:
            raise ValueError(f"payload.history mixes neighboring relations {rel} and "
                             f"{m.neighboring}")
        if fresh._segments and fresh._segments[-1][0] == m:
            raise ValueError(f"{at} repeats the mechanism of payload.history[{i - 1}] (save() "
                             "writes adjacent equal steps as one segment)")
        fresh.compose(m, s)
    if "partial_epoch" in payload:
        _load_partial(fresh, payload["partial_epoch"])
    # Anything else save() would not have written (e.g. adjacent equal segments, which
    # compose merges) is refused too: what loads is exactly what the file says.
    diff = _first_difference(payload, fresh.state_dict()["payload"])
    if diff is not None:
        where, got, want = diff
        raise ValueError(f"{where} is not as save() writes it (edited by hand?): got "
                         f"{_describe(got)}, save() writes {_describe(want)}")
    return fresh


def _load_partial(fresh, item) -> None:
    """The saved partial epoch into ``fresh`` (the accountant being loaded)."""
    at = "payload.partial_epoch"
    if not (isinstance(item, list) and len(item) == 2):
        raise ValueError(f"{at} must be a [mechanism, steps] pair")
    m = _decode_mechanism(at, item[0])
    if not isinstance(m, (Shuffle, RandomAllocation)):
        raise ValueError(f"{at} must hold a per-epoch mechanism (Shuffle or RandomAllocation), "
                         f"got {type(m).__name__}")
    t, s = steps_per_unit(m), item[1]
    if type(s) is not int or not 1 <= s < t:
        raise ValueError(f"{at} steps must be a JSON integer in [1, {t - 1}] (the steps done "
                         f"in an epoch of {t}), got {_describe(s)}")
    fresh._epoch_steps(m, t, s)


def _torch_limit(head) -> int:
    return TORCH_MAX_BYTES if _is_torch_file(head) else STATE_MAX_BYTES


def _read_bytes(path):
    """A state file's bytes: a regular file of at most 64 MiB (2 GiB for a PyTorch file)."""
    raw = read_user_file(path, what="state file", limit=STATE_MAX_BYTES, head_limit=_torch_limit)
    if not raw.strip():
        raise ValueError(f"state file {path!r} is empty")
    return raw


def _is_torch_file(raw) -> bool:
    """torch.save output: a zip archive, or (legacy format) a pickle of protocol 2 to 5."""
    return raw[:4] == b"PK\x03\x04" or (raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03",
                                                                           b"\x04", b"\x05"))


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON (strict JSON has no NaN or Infinity)")


def _reject_duplicates(pairs):
    out = {}
    for k, val in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = val
    return out


def _decode_json(path, raw):
    """The JSON value of a state file's bytes: strict JSON (no NaN/Infinity, no duplicate
    keys); ValueError, one line, otherwise — nesting too deep for the parser included."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"state file {path!r} is neither a dp-accountant JSON state nor a "
                         "PyTorch file (Opacus state)") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates,
                          parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"state file {path!r} is not valid JSON (truncated or corrupted?): "
                         f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"state file {path!r} is nested too deeply to be a dp-accountant "
                         "state (corrupted?)") from None
    except ValueError as exc:          # a duplicate key, NaN, a 5000-digit integer, …
        raise ValueError(f"state file {path!r} is not strict JSON: "
                         f"{(str(exc).splitlines() or ['invalid'])[0]}") from None
