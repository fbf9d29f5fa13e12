"""Audit EW-Tune's published noise multipliers (Behnia et al. 2022, arXiv 2210.15042).

EW-Tune chose σ so that its order-1 Edgeworth estimate gives ε = 8 at δ = 1e-5 for
RoBERTa-base fine-tuning (batch 2000, 20 epochs). This script puts side by side, for each
published setting: the Edgeworth estimate (orders 1 and 2) with its finite-sample
(Derumigny–Girard–Guyonvarch) interval, the saddle-point estimate with its certified
interval, and the certified PLD bracket (RDP when the PLD accountant is not built).

    python benchmarks/audit_ewtune.py
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import accountant as acc  # noqa: E402

SETTINGS = [
    # name, σ, q, T (steps), δ — q = batch/N, T = epochs·N/batch
    ("MNLI  (N=392702, batch 2000, 20 ep)", 0.557, 0.005093, 3920, 1e-5),
    ("SST-2 (N=67349,  batch 2000, 20 ep)", 0.7865, 0.029696, 660, 1e-5),
]
TARGET = 8.0


def _fmt(r):
    lo = f"{r.lower:.4f}"
    up = "inf" if r.upper == float("inf") else f"{r.upper:.4f}"
    tag = "certified" if r.certified else ("vacuous interval" if r.vacuous else "estimate")
    return f"{r.estimate:9.4f}   [{lo}, {up}]   {tag}   ({r.seconds * 1e3:.1f} ms)"


def main():
    reference = "pld" if "pld" in acc.built_methods() else "rdp"
    for name, sigma, q, T, delta in SETTINGS:
        m = acc.SubsampledGaussian(noise_multiplier=sigma, sample_rate=q)
        print(f"\n{name}: σ={sigma}, q={q}, T={T}, δ={delta:g} (EW-Tune target ε = {TARGET})")
        rows = [
            ("Edgeworth, order 1 (EW-Tune)", dict(method="edgeworth", order=1)),
            ("Edgeworth, order 2", dict(method="edgeworth", order=2)),
            ("saddle point (SPA)", dict(method="saddlepoint")),
            (f"{reference.upper()} bracket", dict(method=reference)),
        ]
        out = {}
        for label, kw in rows:
            t0 = time.perf_counter()
            r = acc.epsilon(m, delta=delta, steps=T, **kw)
            out[label] = r
            extra = ""
            if kw["method"] == "saddlepoint":
                extra = f"   SPA-CLT {r.details['clt']:.4f}"
            if r.warnings:
                extra += "   warnings: " + ",".join(r.warnings)
            print(f"  {label:30s} {_fmt(r)}{extra}   wall {1e3 * (time.perf_counter() - t0):.0f} ms")
        cert = out[f"{reference.upper()} bracket"]
        verdict = ("spends MORE than" if cert.lower > TARGET else
                   "spends less than" if cert.upper < TARGET else "is within the bracket of")
        print(f"  → the published σ {verdict} ε = {TARGET} "
              f"(certified ε ∈ [{cert.lower:.4f}, {cert.upper:.4f}])")


if __name__ == "__main__":
    main()
