"""User-level planning: contribution bounds from examples-per-user counts and the
group-privacy baselines (``user_level``, docs/math.md §7)."""
