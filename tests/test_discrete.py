

def _rr_exact(p, k, T):
    """Exact T-fold composition of k-ary randomized response: the numbers of steps at +ε
    and −ε (trinomial), Q-masses in mpmath; returns δ_T(x)."""
    p, eps = mp.mpf(p), mp.log(1 + k * (1 - mp.mpf(p)) / mp.mpf(p))
    q_top, q_bot, q_mid = 1 - p + p / k, p / k, (k - 2) * p / k

    def dT(x):
        tot = mp.mpf(0)
        for a in range(T + 1):
            for b in range(T + 1 - a):
                loss = (a - b) * eps
                if loss > x:
                    w = (mp.factorial(T) / (mp.factorial(a) * mp.factorial(b)
                                            * mp.factorial(T - a - b))
                         * q_top ** a * q_bot ** b * q_mid ** (T - a - b))
                    tot += w * (1 - mp.e ** (x - loss))
        return tot
    return dT


@given(st.floats(0.05, 0.95), st.integers(2, 6), st.integers(1, 4), st.floats(0.0, 1.0))
def test_randomized_response_delta_bracket_contains_exact(p, k, T, frac):
    pl, = privacy_losses(RandomizedResponse(p, k))
    x = frac * T * pl.hi_loss
    dT = _rr_exact(p, k, T)
    r = acc.delta(RandomizedResponse(p, k), x, steps=T)
    assert r.certified and r.lower <= dT(x) <= r.upper
