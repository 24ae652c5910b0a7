#!/usr/bin/env python3
"""Independent exact model of protocol/privacy/noise.c over the same ChaCha20 stream as protocol/core/rng.c.

Exponents are computed with Python big integers and Fractions (no 128-bit reasoning), so a
decision-for-decision match with the C code checks its mixed-radix arithmetic and mul_divmod.
Usage: noise_ref.py KIND TAG NUM DEN COUNT   (KIND: dgauss | dlaplace | bexp)
"""
import sys
from fractions import Fraction
from math import gcd, isqrt

M32 = 0xffffffff

def rotl(v, c):
    return ((v << c) & M32) | (v >> (32 - c))

def qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M32; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & M32; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & M32; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & M32; s[b] = rotl(s[b] ^ s[c], 7)

def chacha20_block(key, nonce8, ctr):
    w = lambda b, i: int.from_bytes(b[4 * i:4 * i + 4], 'little')
    st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] + [w(key, i) for i in range(8)] + \
         [ctr & M32, ctr >> 32, w(nonce8, 0), w(nonce8, 1)]
    x = st[:]
    for _ in range(10):
        qr(x, 0, 4, 8, 12); qr(x, 1, 5, 9, 13); qr(x, 2, 6, 10, 14); qr(x, 3, 7, 11, 15)
        qr(x, 0, 5, 10, 15); qr(x, 1, 6, 11, 12); qr(x, 2, 7, 8, 13); qr(x, 3, 4, 9, 14)
    return b''.join(((x[i] + st[i]) & M32).to_bytes(4, 'little') for i in range(16))

class Rng:
    def __init__(self, seed, hi_first=True):
        self.key, self.counter, self.buf, self.hi_first = seed, 0, b'', hi_first
    def take(self, n):
        while len(self.buf) < n:  # 512-byte blocks, nonce = block counter, stream counter 0..7
            nonce = self.counter.to_bytes(8, 'little')
            self.counter += 1
            self.buf += b''.join(chacha20_block(self.key, nonce, i) for i in range(8))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
    def u64(self):
        return int.from_bytes(self.take(8), 'little')
    def uniform64(self, bound):
        mn = (1 << 64) % bound
        while True:
            v = self.u64()
            if v >= mn:
                return v % bound
    def uniform128(self, bound):
        mn = (1 << 128) % bound
        while True:
            a = self.u64(); b = self.u64()
            v = (a << 64) | b if self.hi_first else (b << 64) | a
            if v >= mn:
                return v % bound

G = 1024

def bern_exp1(r):
    k = 2
    while r.uniform64(k) == 0:
        k += 1
    return k & 1

def bern_frac(r, hi, lo, q1, q2):
    if hi == 0 and lo == 0:
        return 0
    u1 = r.uniform128(q1)
    if u1 != hi:
        return int(u1 < hi)
    if lo == 0:
        return 0
    return int(r.uniform128(q2) < lo)

def bern_exp(r, whole, hi, lo, q1, q2):
    for _ in range(min(whole, G)):
        if not bern_exp1(r):
            return 0
    if whole >= G:
        raise RuntimeError("range")
    k = 1
    while (k == 1 or r.uniform64(k) == 0) and bern_frac(r, hi, lo, q1, q2):
        k += 1
    return k & 1

def dlaplace_raw(r, num, den):
    while True:
        u = r.uniform64(num)
        if not bern_exp(r, 0, u, 0, num, 1):
            continue
        v = 0
        while bern_exp1(r):
            v += 1
        y = (u + num * v) // den
        neg = r.uniform64(2)
        if neg and y == 0:
            continue
        return -y if neg else y

def dlaplace(r, num, den):
    g = gcd(num, den)
    return dlaplace_raw(r, num // g, den // g)

def dgauss(r, n0, d0):
    g = gcd(n0, d0)
    n, d = n0 // g, d0 // g
    t = isqrt(n // d) + 1
    assert t * t * d > n >= (t - 1) * (t - 1) * d
    E = d * t * t
    while True:
        y = dlaplace_raw(r, t, 1)
        a = abs(abs(y) * d * t - n)
        gamma = Fraction(a * a, 2 * n * E)
        if a // (d * t) >= 1 << 26:
            assert gamma >= G
            whole, hi, lo = G, 0, 0
        else:
            whole = gamma.numerator // gamma.denominator
            rest = a * a - whole * 2 * n * E  # fractional part times 2nE
            hi, lo = rest // E, rest % E
        if bern_exp(r, whole, hi, lo, 2 * n, E):
            return y

def bexp(r, num, den):
    return bern_exp(r, num // den, num % den, 0, den, 1)

def seed_of(tag):
    s = bytearray(32); s[0] = tag; s[31] = 0xa5
    return bytes(s)

if __name__ == '__main__':
    kind, tag, num, den, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    hi_first = len(sys.argv) < 7 or sys.argv[6] != 'lo'
    r = Rng(seed_of(tag), hi_first)
    f = {'dgauss': dgauss, 'dlaplace': dlaplace, 'bexp': bexp}[kind]
    for _ in range(count):
        print(f(r, num, den))
