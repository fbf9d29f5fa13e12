"""Reading the trainer's history from Opacus's formats: its accountants' history lists,
``state_dict()`` dicts, ``PrivacyEngine.save_checkpoint`` dicts and ``torch.save`` files
(used by :meth:`accountant.session.trainer.PrivacyAccountant.load` and by the Opacus
adapter, :mod:`accountant.interop.opacus`). Every failure is a one-line ValueError.
"""
from __future__ import annotations

import io
import numbers
import pickle
from collections.abc import Mapping
from typing import List, Sequence, Tuple

from ..core import _validate as v

# Opacus 1.6's accountants. All three record the same history — (noise_multiplier,
# sample_rate, steps) of a Poisson-subsampled Gaussian, add/remove — so any of them can be
# carried over. Other names are refused: their history may mean something else.
OPACUS_MECHANISMS = ("rdp", "prv", "gdp")
# The key under which PrivacyEngine.save_checkpoint stores the accountant's state_dict().
CHECKPOINT_KEY = "privacy_accountant_state_dict"

History = List[Tuple[float, float, int]]
# The mechanism names of our own Opacus accountants (accountant.interop.opacus: "dpacc" and
# the registered "dpacc_pld", "dpacc_rdp"), whose state dicts carry the same history.
OUR_MECHANISMS = ("dpacc", "dpacc_pld", "dpacc_rdp")


def _number(name: str, value) -> None:
    # Python / NumPy numbers only: no strings, no bools, no tensors.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__} {value!r}")


def check_history(hist: Sequence[Sequence[float]], where: str = "history") -> History:
    """Validate an Opacus history; return it as a list of ``(float σ, float q, int steps)``.

    Each entry is a tuple (or list) ``(noise_multiplier, sample_rate, steps)`` of plain
    numbers with σ in (0, inf), q in [0, 1] (q = 0 samples no one and spends nothing, as
    everywhere in the package) and steps an integer >= 1. ValueError naming the
    entry, the field and the allowed range otherwise.
    """
    if isinstance(hist, (str, bytes, Mapping)) or not isinstance(hist, (list, tuple)):
        raise ValueError(f"{where} must be a list of (noise_multiplier, sample_rate, steps) "
                         f"tuples, got {type(hist).__name__}")
    out = []
    for i, item in enumerate(hist):
        at = f"{where}[{i}]"
        if not isinstance(item, (tuple, list)) or len(item) != 3:
            raise ValueError(f"{at} must be a (noise_multiplier, sample_rate, steps) tuple, "
                             f"got {item!r}")
        sigma, q, n = item
        for name, val in (("noise_multiplier", sigma), ("sample_rate", q), ("steps", n)):
            _number(f"{at} {name}", val)
        sigma = v.positive(f"{at} noise_multiplier", sigma)
        q = v.sample_rate(f"{at} sample_rate", q, allow_zero=True)
        n = v.count(f"{at} steps", n)          # an integral float (3.0) is accepted
        out.append((sigma, q, n))
    return out


def _accepted_mechanisms() -> Tuple[str, ...]:
    return OPACUS_MECHANISMS + OUR_MECHANISMS


def parse_opacus_state(state: Mapping, *, checkpoint: bool = False,
                       where: str = "state_dict") -> Tuple[History, str]:
    """Validate an accountant ``state_dict()`` (Opacus's or ours); return (history, mechanism).

    With ``checkpoint=True`` a ``PrivacyEngine.save_checkpoint`` dict is accepted too (its
    ``"privacy_accountant_state_dict"`` is read). Raises ValueError saying what is wrong.
    """
    if checkpoint and isinstance(state, Mapping) and CHECKPOINT_KEY in state:
        state, where = state[CHECKPOINT_KEY], f"{where}[{CHECKPOINT_KEY!r}]"
    if state is None or (isinstance(state, Mapping) and len(state) == 0):
        raise ValueError(f"{where} is either None or empty and hence cannot be loaded "
                         "into Privacy Accountant.")
    if not isinstance(state, Mapping):
        raise ValueError(f"{where} must be a dict with keys 'history' and 'mechanism', got "
                         f"{type(state).__name__}")
    for key in ("history", "mechanism"):
        if key not in state:
            what = ("an accountant state_dict" + (" or an Opacus checkpoint" if checkpoint
                                                   else ""))
            raise ValueError(f"{where} does not have the key `{key}` (not {what}). "
                             "Cannot be loaded into Privacy Accountant.")
    mech = state["mechanism"]
    accepted = _accepted_mechanisms()
    if not isinstance(mech, str) or mech not in accepted:
        raise ValueError(f"{where} of mechanism {mech!r} cannot be loaded: mechanism must be "
                         f"one of {', '.join(accepted)}")
    return check_history(state["history"], f"{where} history"), mech


def read_torch_state(raw: bytes, where: str) -> Tuple[History, str]:
    """(history, mechanism) from the bytes of a ``torch.save`` file holding an accountant's
    ``state_dict()`` or a ``PrivacyEngine.save_checkpoint`` dict.

    Read with ``torch.load(weights_only=True, map_location="cpu")``: plain containers,
    numbers, strings and tensors only, no code from the file runs. Every failure is a
    one-line ValueError naming ``where``.
    """
    try:
        import torch
    except ImportError:
        raise ValueError(f"{where} is a PyTorch file (an Opacus accountant state or "
                         "checkpoint?) but torch is not installed to read it") from None
    try:
        obj = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise ValueError(f"{where} holds objects that torch.load(weights_only=True) refuses "
                         "(only tensors, containers, numbers and strings are read, as in an "
                         "Opacus state_dict or checkpoint)") from None
    except Exception as exc:    # torch raises RuntimeError, EOFError, … on damaged files
        msg = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        msg = msg.split(". ")[0][:200]                # torch's first sentence only
        raise ValueError(f"{where} is not a readable PyTorch file (truncated or corrupted?): "
                         f"{msg}") from None
    return parse_opacus_state(obj, checkpoint=True, where=where)
