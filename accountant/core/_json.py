"""The one JSON schema every command and ``as_dict`` uses (README, "JSON output").

* Strict JSON: infinities are the strings ``"inf"`` / ``"-inf"`` (plain ``json`` would write
  the non-standard ``Infinity``, which most parsers reject); NaN is never written — an
  internal NaN is a bug and raises.
* ``kind`` is ``"certified"`` (a proven bound) or ``"estimate"``; ``certified`` is the same
  fact as a boolean. ``warnings`` is always a list (empty when there is none).
"""
from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "plain", "CERTIFIED", "ESTIMATE", "kind_of"]

CERTIFIED = "certified"
ESTIMATE = "estimate"


def kind_of(certified: bool) -> str:
    """The schema's ``kind`` for a value that is (or is not) a proven bound."""
    return CERTIFIED if certified else ESTIMATE


def plain(obj: Any) -> Any:
    """``obj`` with infinities as strings and numpy scalars as Python numbers."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, float) or type(obj).__name__.startswith("float"):
        x = float(obj)
        if math.isnan(x):
            raise ValueError("internal error: NaN in JSON output")
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return x
    if isinstance(obj, int) or type(obj).__name__.startswith(("int", "uint")):
        return int(obj)
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return str(obj)


def dumps(obj: Any, **kw) -> str:
    """Strict JSON text of ``obj`` in the project's schema."""
    return json.dumps(plain(obj), allow_nan=False, **kw)
