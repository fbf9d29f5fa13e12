"""The accountants: one-shot answers ε(δ) and δ(ε) for a schedule of mechanisms.

``api`` validates and dispatches (each accountant registers itself there); ``exact`` holds
the certified closed forms (one-step hockey sticks, μ-GDP, pure DP) and ``cumulants`` the
cached moments. ``pld``, ``rdp``, ``edgeworth`` and ``saddlepoint`` read the privacy loss
through its interface (:mod:`accountant.loss`) and never import each other's internals
(import-linter contract in pyproject.toml).
"""
