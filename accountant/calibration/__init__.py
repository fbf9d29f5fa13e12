"""Noise calibration and planning over the accountants: ``search`` (calibrate σ, steps or
sample rate without overspending), ``tables`` (σ over a grid), ``lookup`` (the shipped
table), ``noise_table`` (its data), ``lookup_build`` (rebuilding it)."""
