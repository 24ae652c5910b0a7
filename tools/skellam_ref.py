#!/usr/bin/env python3
"""Independent exact model of protocol/privacy/skellam.c over the same ChaCha20 stream as protocol/core/rng.c.

Python big integers throughout (no 128-bit reasoning), so a decision-for-decision match with the
C code checks its fixed-width arithmetic. Besides consuming the generator in the same order, the
model checks the algorithm itself on every candidate: the centre and tails are recomputed from
their definitions with Fractions, every factor is asserted to be at most 1, and (for means up to
MODEL_CHECK_MAX) the product of the factors is compared with f(k)/g(k) computed from factorials.
Usage: skellam_ref.py KIND TAG NUM DEN COUNT   (KIND: poisson | skellam)
"""
import sys
from fractions import Fraction
from math import ceil, factorial, floor, gcd

from noise_ref import Rng, seed_of

CAP = 1024
MODEL_CHECK_MAX = 2000


class Plan:
    def __init__(self, num, den):
        g = gcd(num, den)
        self.num, self.den = num // g, den // g
        lam = Fraction(self.num, self.den)
        self.lam = lam
        self.m = floor(lam)
        e = 1
        while 2 * 4 ** e < lam:
            e += 1
        self.e, self.t = e, 2 ** e
        t = self.t
        self.q = Fraction(t - 1, t)
        # b: least integer with (T-1)(b+1) >= T*lambda; a: greatest with T*a <= (T-1)*lambda
        self.b = ceil(t * lam / (t - 1)) - 1
        self.a = floor((t - 1) * lam / t)
        assert (t - 1) * (self.b + 1) >= t * lam > (t - 1) * self.b
        assert t * self.a <= (t - 1) * lam < t * (self.a + 1)
        assert 0 <= self.a <= self.m <= self.b
        self.centre = self.b - self.a + 1
        self.tail_r = t - 1
        self.tail_l = t - 1 if self.a >= 1 else 0
        self.total = self.centre + self.tail_r + self.tail_l

    def f(self, k):  # P(k)/P(m)
        return self.lam ** (k - self.m) * Fraction(factorial(self.m), factorial(k))

    def g(self, k):
        if self.a <= k <= self.b:
            return Fraction(1)
        j = k - self.b if k > self.b else self.a - k
        return self.q ** j

    def factors(self, k):
        num, den, t = self.num, self.den, self.t
        out = []
        hi = k
        if k > self.b:
            out += [(num * t, den * i * (t - 1)) for i in range(k, self.b, -1)]
            hi = self.b
        out += [(num, den * i) for i in range(hi, self.m, -1)]
        lo = k
        if k < self.a:
            out += [(den * i * t, num * (t - 1)) for i in range(k + 1, self.a + 1)]
            lo = self.a
        out += [(den * i, num) for i in range(lo + 1, self.m + 1)]
        for p, q in out:
            assert 1 <= p <= q
        if self.lam <= MODEL_CHECK_MAX:
            prod = Fraction(1)
            for p, q in out:
                prod *= Fraction(p, q)
            assert prod == self.f(k) / self.g(k), (k, prod)
        return out


class Bits:
    """skellam.c's source: words in blocks of 4, 8, 16, 32, 32, ... words, n bits at a time from
    the low end of the current word; a request for more bits than are left starts a new word."""
    def __init__(self, rng):
        self.rng, self.words, self.next_len, self.cur, self.avail = rng, [], 4, 0, 0

    def word(self):
        if not self.words:
            self.words = [self.rng.u64() for _ in range(self.next_len)]
            self.next_len = min(2 * self.next_len, 32)
        return self.words.pop(0)

    def take(self, n):
        assert 1 <= n <= 64
        if self.avail < n:
            self.cur, self.avail = self.word(), 64
        x = self.cur & ((1 << n) - 1)
        self.cur >>= n
        self.avail -= n
        return x


def uniform(src, bound):
    n = (bound - 1).bit_length()
    while True:
        v = src.take(n)
        if v < bound:
            return v


def bern_ratio(src, p, q):
    """Bernoulli(p/q): v uniform in [0, 2^n), n = bit length of q, retried while v >= q; v < p.
    The model draws v's digits (top digit n - 8*floor((n-1)/8) bits, then 8-bit digits) only as
    far as the C code does, and checks that its decision is the one the whole of v gives."""
    assert 1 <= p <= q < 2 ** 127
    if p == q:
        return 1
    n = q.bit_length()
    top = (n - 1) // 8 * 8
    while True:
        v, shift, width = 0, top, n - top
        while True:
            v = (v << width) | src.take(width)
            lo, hi = v << shift, (v + 1) << shift  # v's range given the digits so far
            if hi <= p:
                return 1
            if lo >= q:
                break
            if p <= lo and hi <= q:
                return 0
            assert shift > 0
            shift, width = shift - 8, 8


def run_down(src, c, k, hi, lo):
    """Factors c/(k*i), i = hi down to lo+1, grouped as skellam.c does."""
    if hi <= lo:
        return 1
    assert 1 <= c <= k * (lo + 1)
    g = 127 // max(c.bit_length(), k.bit_length() + hi.bit_length())
    i = hi
    while i > lo:
        n = min(g, i - lo)
        q = 1
        for j in range(n):
            q *= i - j
        if not bern_ratio(src, c ** n, k ** n * q):
            return 0
        i -= n
    return 1


def run_up(src, k, c, lo, hi):
    """Factors (k*i)/c, i = lo up to hi."""
    if lo > hi:
        return 1
    assert lo >= 1 and k * hi <= c
    g = 127 // max(k.bit_length() + hi.bit_length(), c.bit_length())
    i = lo
    while i <= hi:
        n = min(g, hi - i + 1)
        p = 1
        for j in range(n):
            p *= i + j
        if not bern_ratio(src, k ** n * p, c ** n):
            return 0
        i += n
    return 1


def accept(src, pl, k):
    pl.factors(k)  # the independent checks of the factor formulas
    num, den, t = pl.num, pl.den, pl.t
    if k > pl.b:
        if not (run_down(src, num * t, den * (t - 1), k, pl.b) and run_down(src, num, den, pl.b, pl.m)):
            return 0
    elif not run_down(src, num, den, k, pl.m):
        return 0
    if k < pl.a:
        return run_up(src, den * t, num * (t - 1), k + 1, pl.a) and run_up(src, den, num, pl.a + 1, pl.m)
    return run_up(src, den, num, k + 1, pl.m)


def tail_length(src, pl):
    j = 1
    while True:
        if src.take(pl.e) == 0:
            return j
        if j == CAP * pl.t:
            raise RuntimeError("range")
        j += 1


def poisson_raw(r, pl):
    while True:
        u = uniform(r, pl.total)
        if u < pl.centre:
            k = pl.a + u
        else:
            j = tail_length(r, pl)
            if u < pl.centre + pl.tail_r:
                k = pl.b + j
            else:
                if j > pl.a:
                    continue
                k = pl.a - j
        if accept(r, pl, k):
            return k


def poisson(rng, num, den):
    return poisson_raw(Bits(rng), Plan(num, den))


def skellam(rng, num, den):
    pl = Plan(num, 2 * den)
    src = Bits(rng)  # one source for both draws, as in skellam.c
    x = poisson_raw(src, pl)
    y = poisson_raw(src, pl)
    return x - y


if __name__ == '__main__':
    kind, tag, num, den, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    r = Rng(seed_of(tag))
    f = {'poisson': poisson, 'skellam': skellam}[kind]
    for _ in range(count):
        print(f(r, num, den))
