"""Adapters that make :class:`accountant.PrivacyAccountant` look like the peers' accountants.

* :mod:`accountant.interop.opacus` — Opacus's accountant interface (``IAccountant``), usable
  as ``PrivacyEngine(accountant="dpacc_pld")`` after :func:`~.opacus.register`; importing the
  module needs neither torch nor opacus.
* :mod:`accountant.interop.dp_accounting` — dp_accounting ``DpEvent`` → :class:`Schedule`
  (every event we can express, including those jax_privacy emits), a drop-in accountant with
  ``compose(event, count)`` and ``CertifiedAccountant``, a ``dp_accounting.PrivacyAccountant``
  subclass that ``dp_accounting.calibrate_dp_mechanism`` uses unchanged; dp_accounting is
  imported lazily.

Neither module imports its peer at import time; the peers stay optional.
"""
