"""``dp-accountant user-level``: the contribution bound from a file of examples-per-user
counts (:func:`accountant.user_level.choose_contribution_bound`,
:func:`accountant.user_level.compare_sampling`)."""
from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``dp-accountant user-level``."""
    p.add_argument("--counts", required=True,
                   help="file of examples per user: one integer per line, or a CSV with a header")
    p.add_argument("--column", default=None, help="CSV column name (default: the first column)")
    p.add_argument("--batch-size", type=float, required=True,
                   help="expected examples per step B")
    p.add_argument("--steps", type=float, required=True, help="number of steps")
    p.add_argument("--epsilon", type=float, required=True)
    p.add_argument("--delta", type=float, required=True)
    p.add_argument("--sampling", choices=("els", "uls", "both"), default="both")
    p.add_argument("--n-users", type=float, default=None, help="number of users (default: lines)")
    p.add_argument("--clip-exponent", type=float, default=0.0,
                   help="ULS clip model C(G) = G^-a (default a = 0: constant, which makes G = 1 "
                        "optimal)")
    p.add_argument("--candidates", default=None, help="comma-separated G values to tabulate")
    p.add_argument("--method", default="pld", help="accountant used to calibrate sigma "
                                                     "(pld | rdp | edgeworth | saddlepoint)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(a: argparse.Namespace) -> int:
    """Choose the bound (ELS, ULS, or both side by side) and print the tables or JSON."""
    # Imported only now, so that `user-level --help` answers at once.
    from ..core import _validate as v
    from ..core._json import dumps
    from ..planning.user_level import (choose_contribution_bound, compare_sampling, read_counts,
                                       read_counts_file)
    text = read_counts_file(a.counts)
    # The file is named as given on the command line in every parse error.
    counts = read_counts(text, a.column, name=f"counts file {a.counts}")
    cands = None
    if a.candidates is not None:
        try:
            cands = [float(c) for c in a.candidates.split(",") if c.strip()]
        except ValueError:
            raise ValueError(f"candidates must be comma-separated integers >= 1, "
                             f"got {a.candidates!r}") from None
    expo = v.nonnegative("clip_exponent", a.clip_exponent)
    clip_model = None if expo == 0 else (lambda G: float(G) ** (-expo))
    steps = v.count("steps", a.steps)
    n_users = None if a.n_users is None else v.count("n_users", a.n_users)
    kw = dict(batch_size=a.batch_size, steps=steps, epsilon=a.epsilon, delta=a.delta,
              n_users=n_users, clip_model=clip_model, method=a.method, candidates=cands)
    if a.sampling == "both":
        rep = compare_sampling(counts, **kw)
        if a.json:
            print(dumps(rep.as_dict()))
            return 0
        print(rep.els.table())
        print()
        print(rep.uls.table())
        print()
        print(rep.table())
        return 0
    rep = choose_contribution_bound(counts, a.sampling, **kw)
    if a.json:
        print(dumps(rep.as_dict()))
        return 0
    print(rep.table())
    return 0
