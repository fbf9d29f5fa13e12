"""Privacy-loss-distribution accountant: certified two-sided FFT brackets
(docs/math.md §4). ``bracket`` discretises, composes and refines; ``_kernels`` holds its
njit cell integrals and profiles."""
