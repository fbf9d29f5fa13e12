"""Opacus-shaped accountant (no torch, no opacus needed to import).

Opacus's trainer loop calls ``accountant.step(noise_multiplier=σ, sample_rate=q)`` after each
optimizer step (through :meth:`get_optimizer_hook_fn`), reads ``get_epsilon(delta)``, saves
``state_dict()`` with its checkpoints, and ``opacus.accountants.utils.get_noise_multiplier``
sets ``accountant.history = [(σ, q, steps)]`` directly before calling ``get_epsilon``. This
class supports all of it, with our certified accountants underneath:

>>> from accountant.adapters.opacus import OpacusAccountant
>>> a = OpacusAccountant(method="pld")
>>> a.step(noise_multiplier=1.1, sample_rate=0.01)
>>> a.get_epsilon(delta=1e-5)         # a float: the certified upper bound

With opacus installed, :func:`register` makes ``PrivacyEngine(accountant="dpacc_pld")`` (and
``"dpacc_rdp"``) use it.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, List, Tuple

from ..session import PrivacyAccountant

__all__ = ["OpacusAccountant", "PLDOpacusAccountant", "RDPOpacusAccountant", "register",
           "NAMES"]

# get_epsilon keyword arguments of Opacus's own accountants, accepted and ignored.
_IGNORED = ("eps_error", "delta_error", "alphas", "poisson")


class OpacusAccountant:
    """Opacus ``IAccountant`` interface over :class:`accountant.PrivacyAccountant`.

    ``history`` is Opacus's list of ``(noise_multiplier, sample_rate, steps)`` tuples, merged
    when unchanged; it may be assigned directly (Opacus's ``get_noise_multiplier`` does).
    Each ``step`` also feeds the incremental accountant, so ``get_epsilon`` never
    recomputes the past; an assigned history is re-read on the next query.
    """

    _mechanism_name = "dpacc"

    def __init__(self, method: str = "pld", **options):
        self._inner = PrivacyAccountant(method, **options)
        self.history: List[Tuple[float, float, int]] = []
        self._synced: List[Tuple[float, float, int]] = []

    # -- IAccountant -----------------------------------------------------------------------
    def step(self, *, noise_multiplier: float, sample_rate: float):
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

    def get_epsilon_result(self, delta: float, *args, **kwargs):
        """Like :meth:`get_epsilon` but the full Result (bracket, method, details)."""
        bad = [k for k in kwargs if k not in _IGNORED]
        if args or bad:
            raise TypeError(f"get_epsilon() got unexpected argument(s) {bad or list(args)}")
        self._sync()
        return self._inner.get_epsilon(delta)

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

    def state_dict(self, destination=None):
        if destination is None:
            destination = OrderedDict()
        destination["history"] = list(self.history)
        destination["mechanism"] = self.__class__.mechanism()
        return destination

    def load_state_dict(self, state_dict):
        """Validate and load (ValueError, and no change, on anything invalid)."""
        if not state_dict:
            raise ValueError("state dict is either None or empty and hence cannot be loaded "
                             "into Privacy Accountant.")
        for key in ("history", "mechanism"):
            if key not in state_dict:
                raise ValueError(f"state_dict does not have the key `{key}`. "
                                 "Cannot be loaded into Privacy Accountant.")
        if state_dict["mechanism"] != self.__class__.mechanism():
            raise ValueError(f"state_dict of {state_dict['mechanism']} cannot be loaded into "
                             f"Privacy Accountant with mechanism {self.__class__.mechanism()}")
        hist = _check_history(state_dict["history"])
        fresh = PrivacyAccountant(self._inner.method, **_settings_of(self._inner))
        for sigma, q, n in hist:
            fresh.step(sigma, q, n)
        self._inner, self.history, self._synced = fresh, list(hist), list(hist)

    # -- internals -------------------------------------------------------------------------
    def _sync(self):
        """Re-read ``history`` when it was assigned or edited from outside."""
        if self.history == self._synced:
            return
        hist = _check_history(self.history)
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


def _check_history(hist) -> List[Tuple[float, float, int]]:
    out = []
    try:
        items = list(hist)
    except TypeError:
        raise ValueError("history must be a list of (noise_multiplier, sample_rate, steps)") from None
    for i, item in enumerate(items):
        try:
            sigma, q, n = item
        except (TypeError, ValueError):
            raise ValueError(f"history[{i}] must be a (noise_multiplier, sample_rate, steps) "
                             f"tuple, got {item!r}") from None
        # Validation happens here, before anything is changed.
        PrivacyAccountant("rdp").step(sigma, q, n)
        out.append((float(sigma), float(q), int(n)))
    return out


class PLDOpacusAccountant(OpacusAccountant):
    """Registered as ``"dpacc_pld"``: certified PLD bracket, ε is its upper end."""

    _mechanism_name = "dpacc_pld"

    def __init__(self, **options):
        super().__init__("pld", **options)


class RDPOpacusAccountant(OpacusAccountant):
    """Registered as ``"dpacc_rdp"``: RDP with continuous order search, both directions."""

    _mechanism_name = "dpacc_rdp"

    def __init__(self, **options):
        super().__init__("rdp", **options)


NAMES = {"dpacc_pld": PLDOpacusAccountant, "dpacc_rdp": RDPOpacusAccountant}


def register() -> Tuple[str, ...]:
    """Make ``PrivacyEngine(accountant="dpacc_pld" | "dpacc_rdp")`` use these accountants.

    Needs opacus. Uses ``opacus.accountants.registry.register_accountant`` when it exists
    (recent Opacus); older releases build accountants with an if-chain in
    ``opacus.accountants.create_accountant``, which is then wrapped (also where
    ``opacus.privacy_engine`` and ``opacus.accountants.utils`` imported it by name).
    Registered classes also subclass Opacus's ``IAccountant`` so ``isinstance`` checks pass.
    Returns the registered names.
    """
    try:
        import opacus.accountants as oa
        from opacus.accountants.accountant import IAccountant
    except ImportError as exc:
        raise ImportError("accountant.adapters.opacus.register() needs opacus "
                          "(pip install opacus); the OpacusAccountant class works without it"
                          ) from exc
    classes = {}
    for name, cls in NAMES.items():
        classes[name] = type(cls.__name__, (cls, IAccountant), {"__module__": __name__})
    try:
        from opacus.accountants.registry import register_accountant
    except ImportError:
        register_accountant = None
    if register_accountant is not None:
        for name, cls in classes.items():
            register_accountant(name, cls)
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
