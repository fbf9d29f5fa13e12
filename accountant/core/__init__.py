"""Core types and shared numerics, imported by every other layer and importing none.

``mechanisms`` (the frozen mechanism descriptions, ``Schedule``, ``from_parameters``),
``bounds`` (``Result``, ``AccountantWarning``), ``_validate`` (argument checks that raise
one-line ``ValueError``), ``_optimize`` (root finder and minimiser), ``special`` (log-space
special functions, njit), ``_json`` and ``_files`` (strict JSON, bounded reads, atomic
writes).
"""
