"""farmhash's ``Fingerprint64`` (the ``farmhashna::Hash64`` function), vectorised over keys of one
length, written from the algorithm's description.  numlite's one implementation of the hash: the
builtin LSH_PROJECTION and the Smart Reply ExtractFeatures custom op both use it.

``fingerprint64(keys)`` takes a uint8 array ``[K, L]`` (K keys of L bytes each) and returns the
K 64-bit fingerprints as uint64.  All arithmetic is on NumPy uint64 arrays, which wrap modulo
``2**64`` as the C code's ``uint64_t`` does; 8- and 4-byte reads are little-endian.
``fingerprint64_strings(items)`` hashes byte strings of any lengths (grouped by length, one
vectorised call per length) and ``fingerprint64_bytes(data)`` one string, as a Python int.

1. ``L <= 16``: for ``L >= 8`` two 8-byte words (first and last), mixed with rotations and
   ``HashLen16``; for ``4 <= L < 8`` two 4-byte words; for ``1 <= L <= 3`` three bytes; ``L = 0``
   is the constant ``k2``.
2. ``17 <= L <= 32``: four 8-byte words (two from each end); ``33 <= L <= 64``: eight words.
3. ``L > 64``: the 56-byte state (x, y, z, v, w) absorbs 64-byte blocks, then the last 64 bytes
   (which may overlap the previous block) finish it.

Guarantee: equal to farmhash's Fingerprint64 for every length (checked against LiteRT's
LSH_PROJECTION, which hashes with it, over all four length classes, and against vectors recorded
from the compiled C++ in tests/data/smartreply_expected.json).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

U64 = np.uint64
K0, K1, K2 = U64(0xC3A5C85C97CB3127), U64(0xB492B66FBE98F273), U64(0x9AE16A3B2F90404F)


def _fetch64(keys: np.ndarray, off: int) -> np.ndarray:
    return np.ascontiguousarray(keys[:, off:off + 8]).view("<u8")[:, 0].astype(U64)


def _fetch32(keys: np.ndarray, off: int) -> np.ndarray:
    return np.ascontiguousarray(keys[:, off:off + 4]).view("<u4")[:, 0].astype(U64)


def _rot(v: np.ndarray, s: int) -> np.ndarray:
    return v if s == 0 else (v >> U64(s)) | (v << U64(64 - s))


def _shift_mix(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> U64(47))


def _len16(u: np.ndarray, v: np.ndarray, mul) -> np.ndarray:
    a = (u ^ v) * mul
    a ^= a >> U64(47)
    b = (v ^ a) * mul
    b ^= b >> U64(47)
    return b * mul


def _len0to16(s: np.ndarray, n: int) -> np.ndarray:
    k = s.shape[0]
    if n >= 8:
        mul = K2 + U64(n * 2)
        a = _fetch64(s, 0) + K2
        b = _fetch64(s, n - 8)
        c = _rot(b, 37) * mul + a
        d = (_rot(a, 25) + b) * mul
        return _len16(c, d, mul)
    if n >= 4:
        mul = K2 + U64(n * 2)
        a = _fetch32(s, 0)
        return _len16(U64(n) + (a << U64(3)), _fetch32(s, n - 4), mul)
    if n > 0:
        a, b, c = (s[:, i].astype(U64) for i in (0, n >> 1, n - 1))
        y = (a + (b << U64(8))) & U64(0xFFFFFFFF)
        z = (U64(n) + (c << U64(2))) & U64(0xFFFFFFFF)
        return _shift_mix(y * K2 ^ z * K0) * K2
    return np.full(k, K2, U64)


def _len17to32(s: np.ndarray, n: int) -> np.ndarray:
    mul = K2 + U64(n * 2)
    a = _fetch64(s, 0) * K1
    b = _fetch64(s, 8)
    c = _fetch64(s, n - 8) * mul
    d = _fetch64(s, n - 16) * K2
    return _len16(_rot(a + b, 43) + _rot(c, 30) + d, a + _rot(b + K2, 18) + c, mul)


def _len33to64(s: np.ndarray, n: int) -> np.ndarray:
    mul = K2 + U64(n * 2)
    a = _fetch64(s, 0) * K2
    b = _fetch64(s, 8)
    c = _fetch64(s, n - 8) * mul
    d = _fetch64(s, n - 16) * K2
    y = _rot(a + b, 43) + _rot(c, 30) + d
    z = _len16(y, a + _rot(b + K2, 18) + c, mul)
    e = _fetch64(s, 16) * mul
    f = _fetch64(s, 24)
    g = (y + _fetch64(s, n - 32)) * mul
    h = (z + _fetch64(s, n - 24)) * mul
    return _len16(_rot(e + f, 43) + _rot(g, 30) + h, e + _rot(f + a, 18) + g, mul)


def _weak32(s: np.ndarray, off: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, x, y, z = (_fetch64(s, off + 8 * i) for i in range(4))
    a = a + w
    b = _rot(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rot(a, 44)
    return a + z, b + c


def _long(s: np.ndarray, n: int) -> np.ndarray:
    k = s.shape[0]
    seed = U64(81)
    x = np.full(k, seed, U64)
    y = np.full(k, seed * K1 + U64(113), U64)
    z = _shift_mix(y * K2 + U64(113)) * K2
    v0 = v1 = w0 = w1 = np.zeros(k, U64)
    x = x * K2 + _fetch64(s, 0)
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    for p in range(0, end, 64):
        x = _rot(x + y + v0 + _fetch64(s, p + 8), 37) * K1
        y = _rot(y + v1 + _fetch64(s, p + 48), 42) * K1
        x = x ^ w1
        y = y + v0 + _fetch64(s, p + 40)
        z = _rot(z + w0, 33) * K1
        v0, v1 = _weak32(s, p, v1 * K1, x + w0)
        w0, w1 = _weak32(s, p + 32, z + w1, y + _fetch64(s, p + 16))
        z, x = x, z
    mul = K1 + ((z & U64(0xFF)) << U64(1))
    p = last64
    w0 = w0 + U64((n - 1) & 63)
    v0 = v0 + w0
    w0 = w0 + v0
    x = _rot(x + y + v0 + _fetch64(s, p + 8), 37) * mul
    y = _rot(y + v1 + _fetch64(s, p + 48), 42) * mul
    x = x ^ (w1 * U64(9))
    y = y + v0 * U64(9) + _fetch64(s, p + 40)
    z = _rot(z + w0, 33) * mul
    v0, v1 = _weak32(s, p, v1 * mul, x + w0)
    w0, w1 = _weak32(s, p + 32, z + w1, y + _fetch64(s, p + 16))
    z, x = x, z
    return _len16(_len16(v0, w0, mul) + _shift_mix(y) * K0 + z, _len16(v1, w1, mul) + x, mul)


def fingerprint64(keys: np.ndarray) -> np.ndarray:
    """uint64 fingerprints of the rows of a uint8 ``[K, L]`` array (module docstring)."""
    s = np.ascontiguousarray(keys, dtype=np.uint8)
    n = s.shape[1]
    with np.errstate(over="ignore"):
        if n <= 16:
            return _len0to16(s, n)
        if n <= 32:
            return _len17to32(s, n)
        if n <= 64:
            return _len33to64(s, n)
        return _long(s, n)


def fingerprint64_strings(items: Iterable[bytes | bytearray | memoryview | str]) -> np.ndarray:
    """uint64 fingerprints of byte strings of any lengths (``str`` is UTF-8 encoded), in order.

    1. Encode every item as bytes and group the item indices by length.
    2. Per length ``L``: stack that group's bytes into one uint8 ``[K, L]`` array and hash it with
       ``fingerprint64`` (one vectorised call per distinct length, not per string).
    3. Scatter each group's fingerprints back to the items' positions.
    """
    data = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in items]
    out = np.empty(len(data), np.uint64)
    groups: dict[int, list[int]] = {}
    for i, v in enumerate(data):
        groups.setdefault(len(v), []).append(i)
    for n, idx in groups.items():
        keys = np.frombuffer(b"".join(data[i] for i in idx), np.uint8).reshape(len(idx), n)
        out[idx] = fingerprint64(keys)
    return out


def fingerprint64_bytes(data: bytes | bytearray | memoryview | str) -> int:
    """Fingerprint64 of one byte string (``str`` is UTF-8 encoded) as an unsigned Python int."""
    return int(fingerprint64_strings([data])[0])
