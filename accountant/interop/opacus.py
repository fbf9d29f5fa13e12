"""Opacus-shaped accountant (no torch, no opacus needed to import).

Opacus's trainer loop calls ``accountant.step(noise_multiplier=σ, sample_rate=q)`` after each
optimizer step (through :meth:`get_optimizer_hook_fn`), reads ``get_epsilon(delta)``, saves
``state_dict()`` with its checkpoints, and ``opacus.accountants.utils.get_noise_multiplier``
sets ``accountant.history = [(σ, q, steps)]`` directly before calling ``get_epsilon``. This
class supports all of it, with our certified accountants underneath:

>>> from accountant.interop.opacus import OpacusAccountant
>>> a = OpacusAccountant(method="pld")
>>> a.step(noise_multiplier=1.1, sample_rate=0.01)
>>> a.get_epsilon(delta=1e-5)         # a float: the certified upper bound
>>> a.get_privacy_spent(delta=1e-5)   # (ε, None) — RDPAccountant's (ε, best order) shape

With opacus installed, :func:`register` makes ``PrivacyEngine(accountant="dpacc_pld")`` (and
``"dpacc_rdp"``) use it. The history of Opacus's own accountants ("rdp", "prv", "gdp") can be
carried over: :meth:`OpacusAccountant.load_state_dict` accepts their ``state_dict()``, and
:meth:`OpacusAccountant.from_opacus` takes an accountant, a state dict, a
``PrivacyEngine.save_checkpoint`` dict or a file saved with ``torch.save``. Every history is
validated strictly (:func:`check_history`) before anything changes. See docs/opacus.md.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Tuple

from ..core._files import TORCH_MAX_BYTES, read_user_file
from ..session.opacus_state import (CHECKPOINT_KEY, OPACUS_MECHANISMS, OUR_MECHANISMS,
                                     History, check_history, parse_opacus_state,
                                     read_torch_state)
from ..session.trainer import PrivacyAccountant

if TYPE_CHECKING:
    from ..core.bounds import Result

# (the state readers live in the session layer, accountant.session.opacus_state, and are
# re-exported here for the adapter's users)
__all__ = ["OpacusAccountant", "PLDOpacusAccountant", "RDPOpacusAccountant", "register",
           "NAMES", "OPACUS_MECHANISMS", "OUR_MECHANISMS", "CHECKPOINT_KEY", "History",
           "check_history", "parse_opacus_state", "read_torch_state"]

# get_epsilon / get_privacy_spent keyword arguments of Opacus's own accountants, accepted and
# ignored: our accountants choose their own accuracy (PLD) and optimise the RDP order
# continuously, so Opacus's ``alphas`` grid and PRV error targets have no use here.
_IGNORED = ("eps_error", "delta_error", "alphas", "poisson")


class OpacusAccountant:
    """Opacus ``IAccountant`` interface over :class:`accountant.PrivacyAccountant`.

    ``history`` is Opacus's list of ``(noise_multiplier, sample_rate, steps)`` tuples, merged
    when unchanged; it may be assigned directly (Opacus's ``get_noise_multiplier`` does).
    Each ``step`` also feeds the incremental accountant, so ``get_epsilon`` never
    recomputes the past; an assigned history is re-read (and validated) on the next query.

    ``len(a)`` is the number of steps (Opacus's own accountants return the number of history
    entries; Opacus only tests it against 0).
    """

    _mechanism_name = "dpacc"

    def __init__(self, method: str = "pld", **options) -> None:
        self._inner = PrivacyAccountant(method, **options)
        self.history: History = []
        self._synced: History = []

    # -- IAccountant -----------------------------------------------------------------------
    def step(self, *, noise_multiplier: float, sample_rate: float) -> None:
        """One optimizer step (Opacus merges equal consecutive steps the same way)."""
        self._sync()
        self._inner.step(noise_multiplier, sample_rate)
        sigma, q = float(noise_multiplier), float(sample_rate)
        if self.history and self.history[-1][0] == sigma and self.history[-1][1] == q:
            self.history[-1] = (sigma, q, self.history[-1][2] + 1)
        else:
            self.history.append((sigma, q, 1))
        self._synced = list(self.history)

    def get_epsilon(self, delta: float, *args, **kwargs) -> float:
        """ε spent so far (the certified upper bound, a float as Opacus expects)."""
        return float(self.get_epsilon_result(delta, *args, **kwargs))

    def get_epsilon_result(self, delta: float, *args, **kwargs) -> Result:
        """Like :meth:`get_epsilon` but the full Result (bracket, method, details)."""
        bad = [k for k in kwargs if k not in _IGNORED]
        if args or bad:
            raise TypeError(f"get_epsilon() got unexpected argument(s) {bad or list(args)}")
        self._sync()
        return self._inner.get_epsilon(delta)

    def get_privacy_spent(self, *, delta: float,
                          alphas: Optional[Sequence[float]] = None,
                          ) -> Tuple[float, Optional[float]]:
        """``(ε, order)`` in the shape of Opacus's ``RDPAccountant.get_privacy_spent``.

        ε is the certified upper bound (as :meth:`get_epsilon`). ``order`` is the RDP order α
        at which the bound was attained when the method is "rdp" (a continuous order, not
        one of Opacus's ``alphas``, which are accepted and ignored), and ``None`` for the
        other methods — PLD has no order — and when the RDP bound came from another route
        (pure DP, basic composition). With no steps the answer is ``(0.0, None)`` (Opacus's
        RDPAccountant returns ``(0, 0)``).
        """
        r = self.get_epsilon_result(delta)
        order = r.details.get("order") if r.method == "rdp" else None
        return float(r), (None if order is None else float(order))

    def get_delta(self, epsilon: float) -> float:
        self._sync()
        return float(self._inner.get_delta(epsilon))

    def __len__(self) -> int:
        return sum(int(n) for _, _, n in self.history)

    @classmethod
    def mechanism(cls) -> str:
        return cls._mechanism_name

    def get_optimizer_hook_fn(self, sample_rate: float) -> Callable:
        """The callback Opacus attaches to its DPOptimizer (same contract as IAccountant)."""
        def hook_fn(optim):
            self.step(noise_multiplier=optim.noise_multiplier,
                      sample_rate=sample_rate * optim.accumulated_iterations)
        return hook_fn

    def state_dict(self, destination: Optional[dict] = None) -> dict:
        if destination is None:
            destination = OrderedDict()
        destination["history"] = list(self.history)
        destination["mechanism"] = self.__class__.mechanism()
        return destination

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Load the history of a ``state_dict()`` — ours, or one of Opacus's accountants.

        Accepted mechanisms: this family's names (``dpacc``, ``dpacc_pld``, ``dpacc_rdp``) and
        Opacus's ``rdp``, ``prv`` and ``gdp``: all record the same ``(noise_multiplier,
        sample_rate, steps)`` history, which is carried over and accounted with this
        accountant's method. Everything is validated first (:func:`check_history`);
        ValueError, and no change, on anything invalid.
        """
        hist, _ = parse_opacus_state(state_dict)
        self._load_history(hist)

    @classmethod
    def from_opacus(cls, source: object, **options) -> "OpacusAccountant":
        """A new accountant carrying over the history of ``source``.

        ``source`` is an Opacus accountant (``RDPAccountant``, ``PRVAccountant``,
        ``GaussianAccountant``, or one of ours), its ``state_dict()``, the dict written by
        ``PrivacyEngine.save_checkpoint`` (its ``"privacy_accountant_state_dict"``), or the
        path of a file holding either, written with ``torch.save`` (read with
        ``torch.load(weights_only=True)``, which runs no code from the file; needs torch;
        a regular file, or a symlink to one, of at most 2 GiB).
        ``options`` go to the constructor (``method=`` for this base class).
        """
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            raw = read_user_file(path, what="state file", limit=TORCH_MAX_BYTES)
            hist, _ = read_torch_state(raw, f"file {path!r}")
        elif isinstance(source, Mapping):
            hist, _ = parse_opacus_state(source, checkpoint=True)
        elif hasattr(source, "history") and callable(getattr(source, "mechanism", None)):
            hist, _ = parse_opacus_state({"history": source.history,
                                          "mechanism": source.mechanism()},
                                         where=f"{type(source).__name__}")
        else:
            raise ValueError("source must be an Opacus accountant, its state_dict(), an Opacus "
                             "checkpoint dict or a path to a torch.save file, got "
                             f"{type(source).__name__}")
        out = cls(**options)
        out._load_history(hist)
        return out

    # -- internals -------------------------------------------------------------------------
    def _load_history(self, hist: History):
        fresh = PrivacyAccountant(self._inner.method, **_settings_of(self._inner))
        for sigma, q, n in hist:
            fresh.step(sigma, q, n)
        self._inner, self.history, self._synced = fresh, list(hist), list(hist)

    def _sync(self):
        """Re-read ``history`` when it was assigned or edited from outside."""
        if self.history == self._synced:
            return
        hist = check_history(self.history)
        fresh = PrivacyAccountant(self._inner.method, **_settings_of(self._inner))
        for sigma, q, n in hist:
            fresh.step(sigma, q, n)
        self._inner, self._synced = fresh, list(self.history)

    @property
    def accountant(self) -> PrivacyAccountant:
        """The underlying PrivacyAccountant (save/load, get_delta, Result objects)."""
        self._sync()
        return self._inner


def _settings_of(inner: PrivacyAccountant) -> dict:
    return {**inner._settings, **inner._options}


# ----------------------------------------------------------------------------------------
# The registered accountants
# ----------------------------------------------------------------------------------------
class PLDOpacusAccountant(OpacusAccountant):
    """Registered as ``"dpacc_pld"``: certified PLD bracket, ε is its upper end."""

    _mechanism_name = "dpacc_pld"

    def __init__(self, **options) -> None:
        super().__init__("pld", **options)


class RDPOpacusAccountant(OpacusAccountant):
    """Registered as ``"dpacc_rdp"``: RDP with continuous order search, both directions."""

    _mechanism_name = "dpacc_rdp"

    def __init__(self, **options) -> None:
        super().__init__("rdp", **options)


NAMES = {"dpacc_pld": PLDOpacusAccountant, "dpacc_rdp": RDPOpacusAccountant}

# The IAccountant subclasses made by register(), per IAccountant class: registering again
# reuses them, so instances made before and after a second register() share their classes.
_CLASSES: dict = {}


def _opacus_classes(IAccountant) -> dict:
    classes = _CLASSES.get(IAccountant)
    if classes is None:
        classes = {name: type(cls.__name__, (cls, IAccountant), {"__module__": __name__,
                                                                 "__qualname__": cls.__qualname__})
                   for name, cls in NAMES.items()}
        _CLASSES[IAccountant] = classes
    return classes


def register() -> Tuple[str, ...]:
    """Make ``PrivacyEngine(accountant="dpacc_pld" | "dpacc_rdp")`` use these accountants.

    Needs opacus. Uses ``opacus.accountants.registry.register_accountant`` when it exists
    (recent Opacus); older releases build accountants with an if-chain in
    ``opacus.accountants.create_accountant``, which is then wrapped (also where
    ``opacus.privacy_engine`` and ``opacus.accountants.utils`` imported it by name).
    Registered classes also subclass Opacus's ``IAccountant`` so ``isinstance`` checks pass.

    Idempotent: calling it again registers the same classes and returns the same names. A
    name already taken in Opacus's registry by a class that is not ours raises ValueError.
    Returns the registered names.
    """
    try:
        import opacus.accountants as oa
        from opacus.accountants.accountant import IAccountant
    except ImportError as exc:
        raise ImportError("accountant.interop.opacus.register() needs opacus "
                          "(pip install opacus); the OpacusAccountant class works without it"
                          ) from exc
    classes = _opacus_classes(IAccountant)
    try:
        from opacus.accountants.registry import create_accountant, register_accountant
    except ImportError:
        register_accountant = None
    if register_accountant is not None:
        for name, cls in classes.items():
            try:
                register_accountant(name, cls)
            except ValueError:
                # Already registered: fine when it is ours (a previous register() call).
                try:
                    existing = create_accountant(name)
                except Exception:           # a foreign class that cannot even be built
                    existing = None
                if not isinstance(existing, NAMES[name]):
                    raise ValueError(f"Opacus accountant name {name!r} is already registered "
                                     f"to {type(existing).__name__}, not dp-accountant's "
                                     f"{NAMES[name].__name__}") from None
        return tuple(classes)
    original = getattr(oa.create_accountant, "_dpacc_original", oa.create_accountant)

    def create_accountant(mechanism: str):
        if mechanism in classes:
            return classes[mechanism]()
        return original(mechanism)
    create_accountant._dpacc_original = original
    oa.create_accountant = create_accountant
    import importlib
    for mod_name in ("opacus.privacy_engine", "opacus.accountants.utils"):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        if hasattr(mod, "create_accountant"):
            mod.create_accountant = create_accountant
    return tuple(classes)
