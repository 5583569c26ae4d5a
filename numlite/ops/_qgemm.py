"""Exact integer matrix products at float32 BLAS speed, for the quantized kernels.

NumPy's integer matmul has no BLAS behind it (about 100x slower than float32 here), so integer
GEMMs run as float32 GEMMs on integer-valued operands, made exact as follows:

1. Every product ``a[i, k] * b[k, j]`` is an integer of magnitude at most
   ``bound_a * bound_b``; a float32 sum of such integers is exact while every partial sum stays
   at or below ``2**24`` (the float32 mantissa), whatever order BLAS adds them in.
2. So the reduction dimension K is split into chunks of at most
   ``floor(2**24 / (bound_a * bound_b))`` (1024 for raw int8 x int8 operands, where
   ``bound = 128``); each chunk is one float32 GEMM whose result is exact.
3. Chunk results are integers below ``2**24``; they are summed into an int32 accumulator
   (NumPy computes ``int32 + float32`` in float64, exact, then stores int32).  With one chunk
   (the common case: K <= 1024 for int8) the float32 result is simply converted.

Kernels keep their operands raw (int8 values, or uint8 values re-centred by -128) and correct
for zero points with precomputed row / column sums, as TFLite's kernels do, so the bound stays
128 and chunks stay large.  ``ExactMatmul.bind`` builds the views once; the step allocates
nothing (the temporaries are the caller's scratch).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import CLIP
from .quant import Requantizer, requantize_to_output

EXACT_LIMIT = 2**24

#: Memory: a quantized CONV_2D / FULLY_CONNECTED converts its constant integer weights to float
#: at every invoke, into scratch in the arena (shared with every other node's), instead of keeping
#: a float copy for the model's lifetime (4 bytes per int8 weight: int8 MobileNet v1 kept 16.8 MB
#: of float32 weights beside its 4.2 MB file), where the matrix has at least
#: ``CONVERT_MIN_ELEMS`` elements and the GEMM at least ``CONVERT_MIN_ROWS`` rows.  The conversion
#: (one pass, about 0.1 ns an element on AVX-512) then costs a few % of the GEMM (about 0.04 ns
#: per element and row); small matrices and single-row GEMMs (a classifier's FC) keep the copy.
#: The values are the same integers either way: results are unchanged.
CONVERT_MIN_ELEMS = 16384
CONVERT_MIN_ROWS = 32


def converts_per_invoke(elems: int, rows: int) -> bool:
    """Whether a weight matrix of ``elems`` elements used by a GEMM of ``rows`` rows is
    converted per invoke (see ``CONVERT_MIN_ELEMS``)."""
    return elems >= CONVERT_MIN_ELEMS and rows >= CONVERT_MIN_ROWS


def conversion_steps(dst: np.ndarray, raw: np.ndarray, zero_point: int = 0) -> list[Callable[[], None]]:
    """The per-invoke conversion: the integer weights ``raw`` into the float ``dst`` (same
    shape), minus ``zero_point`` (in ``dst``'s dtype: exact for 8-bit values)."""
    steps: list[Callable[[], None]] = [lambda: np.copyto(dst, raw, casting="unsafe")]
    if zero_point:
        zp = dst.dtype.type(zero_point)
        steps.append(lambda: np.subtract(dst, zp, out=dst))
    return steps


def chunk_size(bound_a: int, bound_b: int) -> int:
    """The largest K for which a float32 dot product of such integers is exact."""
    per = int(bound_a) * int(bound_b)
    if per <= 0:
        return 1 << 30
    return max(EXACT_LIMIT // per, 1)


def chunks(k: int, bound_a: int, bound_b: int) -> list[tuple[int, int]]:
    """Split ``range(k)`` into as few equal-ish exact chunks as possible."""
    size = chunk_size(bound_a, bound_b)
    n = max(-(-k // size), 1)
    edges = np.linspace(0, k, n + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(n)]


def chunks_l1(wabs: np.ndarray, bound_a: int) -> list[tuple[int, int]]:
    """Split ``range(K)`` for fixed weights ``wabs = |w|`` of shape ``[C, K]`` (per output channel):
    every partial sum of output channel ``c`` over a chunk, in any order, is at most
    ``bound_a * sum_k |w[c, k]|``, so a chunk is exact in float32 while that is at most
    ``2**24``.  Real weights are far from all being at the type's maximum, so this allows much
    longer chunks than ``chunks`` (usually one for the whole reduction).  Greedy: each chunk as long as allowed."""
    c, k = wabs.shape
    if k == 0:
        return [(0, 0)]
    limit = EXACT_LIMIT / max(int(bound_a), 1)
    cum = np.cumsum(wabs, axis=1, dtype=np.float64)
    base = np.zeros(c)
    parts = []
    k0 = 0
    while k0 < k:
        fits = np.all(cum[:, k0:] - base[:, None] <= limit, axis=0) if c else np.ones(k - k0, bool)
        n = int(np.argmin(fits)) if not fits.all() else k - k0
        n = max(n, 1)  # one column always fits: bound_a * 255 < 2**24
        parts.append((k0, k0 + n))
        base = cum[:, k0 + n - 1].copy() if c else base
        k0 += n
    return parts


class ExactMatmul:
    """``out[M, N] (int32) = a[M, K] @ b[K, N]`` exactly, for integer-valued float32 operands
    whose magnitudes are at most ``bound_a`` / ``bound_b``.  ``b`` is fixed (weights) and may be
    any strided float32 view BLAS accepts (e.g. a transposed view)."""

    def __init__(self, b: np.ndarray, bound_a: int, bound_b: int, parts: list[tuple[int, int]] | None = None):
        if b.dtype != np.float32 or b.ndim != 2:
            raise ValueError("ExactMatmul expects a 2-D float32 right operand")
        self.b = b
        self.k = b.shape[0]
        self.parts = chunks(self.k, bound_a, bound_b) if parts is None else parts

    @classmethod
    def for_weights(cls, b: np.ndarray, bound_a: int) -> ExactMatmul:
        """For constant weights ``b [K, N]``: the reduction split by the weights' own per-column
        ``|b|_1`` (``chunks_l1``), usually one chunk, instead of the worst case of their type."""
        return cls(b, bound_a, 1, parts=chunks_l1(np.abs(b.T), bound_a))

    def bind(self, a: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> Callable[[], None]:
        """Step computing ``out = a @ b``; ``tmp`` is float32 scratch shaped like ``out``."""
        mm, cp = np.matmul, np.copyto
        if len(self.parts) == 1:
            b = self.b

            def one() -> None:
                mm(a, b, out=tmp)
                cp(out, tmp, casting="unsafe")

            return one
        return chunked_step([(a[:, k0:k1], self.b[k0:k1]) for k0, k1 in self.parts], out, tmp)


def chunked_step(pieces: list[tuple[np.ndarray, np.ndarray]], out: np.ndarray, tmp: np.ndarray) -> Callable[[], None]:
    """Step summing the exact float32 products of ``pieces`` (reduction chunks ``(a_i, b_i)``)
    into ``out`` (int32 / int64 / float64) through the float32 scratch ``tmp``."""
    (a0, b0), rest = pieces[0], pieces[1:]
    mm, cp, add = np.matmul, np.copyto, np.add

    def many() -> None:
        mm(a0, b0, out=tmp)
        cp(out, tmp, casting="unsafe")
        for ai, bi in rest:
            mm(ai, bi, out=tmp)
            add(out, tmp, out=out, casting="unsafe")

    return many


def exact_matmul(a: np.ndarray, b: np.ndarray, bound_a: int, bound_b: int) -> np.ndarray:
    """Convenience (allocating) form: int32 ``a @ b`` of integer-valued arrays."""
    a32 = np.ascontiguousarray(a, dtype=np.float32)
    b32 = np.asarray(b, dtype=np.float32)
    out = np.empty((a32.shape[0], b32.shape[1]), np.int32)
    tmp = np.empty(out.shape, np.float32)
    ExactMatmul(b32, bound_a, bound_b).bind(a32, out, tmp)()
    return out


# --- exact requantization epilogue ------------------------------------------------------------
#: largest right shift for which the float64 epilogue is proven exact (see ``FloatRequantizer``)
MAX_EXACT_RIGHT_SHIFT = 13
#: at most this many channels (and half the layer's) are redone on the int64 path after the
#: float64 epilogue; a layer with more takes the int64 path whole
MAX_SLOW_CHANNELS = 8


class FloatRequantizer:
    """TFLite's int32 ``MultiplyByQuantizedMultiplier`` (double rounding) per output channel,
    plus output zero point and activation clamp, from an exact integer-valued float32 / float64
    accumulator ``acc[rows, C]`` into an int8 / uint8 ``out[rows, C]``.

    Derivation (``q`` in ``[2**30, 2**31)``, ``e = -shift > 0``): the saturating rounding doubling
    high multiply is ``h = floor((acc * q + 2**30) / 2**31)`` for every sign (its C truncation and
    negative nudge combine into this floor), and the rounding divide by ``2**e`` is
    ``floor((h + 2**(e-1) - [h < 0]) / 2**e)``; nested floors of integer shifts collapse, and
    ``h < 0`` exactly when ``acc < 0`` (up to ``acc = -1, q = 2**30``, which gives the same result
    either way), so

        result = floor(acc * M + 1/2 + sign(acc) * 2**-(e+1)),   M = q * 2**-(31+e).

    With ``shift >= 0`` it is ``floor(acc * M + 1/2)`` with ``M = q * 2**(shift-31)``, as long as
    ``acc << shift`` fits int32: LiteRT's C computes it in int32 and wraps, so a layer whose
    accumulator bound (``acc_bound``) allows that takes the int64 path, which wraps the same way.

    Float64 evaluates this exactly: ``acc * M`` is exact while ``|acc * q| < 2**53``; an output
    that does not saturate needs ``|acc * M| < 2**9``, i.e. ``|acc * q| < 2**(40+e)``, so for
    ``e <= 13`` every unsaturated value is computed exactly and every other one is so far out of
    range that its rounding cannot bring it back.  The step: ``f = float64(acc) * M``,
    ``f += copysign(2**-(e+1), f)`` (skipped, the term folded into the constant as ``+2**-(e+1)``,
    when the clamp starts at or above the zero point: a negative accumulator then lands at or
    below the zero point either way), ``f += zp + 1/2 (+128)``, then one clamp to the activation
    range shifted to be non-negative that truncates straight into the output (so the cast is the
    floor): an int8 output is written through a uint8 view and its top bit flipped (``v - 128``).

    Channels with ``e > 13`` (multipliers below ``2**-14``, e.g. near-dead channels with their own
    tiny scale) or a left shift that could wrap are redone on the int64 fixed-point path
    (``quant.Requantizer``) after the float pass, when they are few (``MAX_SLOW_CHANNELS``);
    otherwise the whole layer takes the int64 path.  ``bind`` needs two 8-byte-per-element scratch
    float64 arrays ``f`` and ``g`` shaped like ``acc`` (C-contiguous)."""

    def __init__(self, q: np.ndarray, shift: np.ndarray, zero_point: int, lo: int, hi: int, out_dtype,
                 acc_bound: float = 2.0**31):
        q = np.asarray(q, np.int64).reshape(-1)
        shift = np.asarray(shift, np.int64).reshape(-1)
        self.q, self.shift = q, shift
        self.zp, self.lo, self.hi = int(zero_point), int(lo), int(hi)
        self.out_dtype = np.dtype(out_dtype)
        # a left shift (multiplier above 1) that can take |acc| past int32 wraps in LiteRT: the
        # int64 path reproduces that, the float path would not
        no_wrap = acc_bound * np.ldexp(1.0, np.maximum(shift, 0).astype(int)) < 2.0**31
        ok = (shift >= -MAX_EXACT_RIGHT_SHIFT) & no_wrap
        #: channels the float path cannot do exactly (tiny multipliers, e.g. near-dead channels
        #: with per-channel scales, or a wrapping left shift): redone on the int64 path after it
        self.slow = np.flatnonzero(~ok)
        self.exact = (self.out_dtype in (np.int8, np.uint8) and bool(ok.any())
                      and self.slow.size <= min(MAX_SLOW_CHANNELS, q.size // 2))
        self.base = 128 if self.out_dtype == np.int8 else 0
        self.m = q.astype(np.float64) * np.ldexp(1.0, (shift - 31).astype(int))
        hd = np.where(shift < 0, np.ldexp(1.0, np.minimum(shift - 1, 0).astype(int)), 0.0)
        k = np.full(q.shape, self.zp + 0.5 + self.base)
        # A negative accumulator gives a value at or below the zero point with either sign of the
        # term, so when the clamp starts at or above the zero point (RELU, RELU6) the term is
        # folded into the constant as +2**-(e+1): the copysign pass is saved.
        self.signed = bool(np.any(hd)) and self.lo < self.zp
        self.hd = hd if self.signed else None
        self.k = k if self.signed else k + hd

    def bind(self, acc: np.ndarray, out: np.ndarray, f: np.ndarray, g: np.ndarray) -> Callable[[], None]:
        """Step requantizing ``acc`` (float32 or float64, exact integers) into ``out``; ``f`` and
        ``g`` are float64 scratch shaped like ``acc`` (C-contiguous)."""
        if not self.exact:
            return self._bind_int64(acc, out, f.view(np.int64), g.view(np.int64))
        m, hd, k = self.m, self.hd, self.k
        lo, hi = float(self.lo + self.base), float(self.hi + self.base)
        u8 = out.view(np.uint8)
        mul, add, clip, xor, cp, csign = np.multiply, np.add, CLIP, np.bitwise_xor, np.copyto, np.copysign
        flip = self.base != 0
        f32 = acc.dtype == np.float32

        fix = self._bind_slow(acc, out, f, g) if self.slow.size else None

        def step() -> None:
            # measured: a float32 -> float64 copy then a float64 multiply beats the mixed multiply
            if f32:
                cp(f, acc)
                mul(f, m, out=f)
            else:
                mul(acc, m, out=f)
            if hd is not None:
                csign(hd, f, out=g)
                add(f, g, out=f)
            add(f, k, out=f)
            clip(f, lo, hi, out=u8, casting="unsafe")
            if flip:
                xor(u8, 0x80, out=u8)
            if fix is not None:
                fix()

        return step

    def _bind_slow(self, acc: np.ndarray, out: np.ndarray, f: np.ndarray, g: np.ndarray) -> Callable[[], None]:
        """The ``slow`` channels on the int64 path, overwriting what the float path wrote there:
        their accumulator columns are gathered into the (then free) scratch, requantized and
        scattered back channel by channel (at most ``MAX_SLOW_CHANNELS`` of them)."""
        rows, nb = acc.shape[0], self.slow.size
        ff, gf = f.reshape(-1), g.reshape(-1)
        a64 = ff[:rows * nb].view(np.int64).reshape(rows, nb)
        t64 = ff[rows * nb:2 * rows * nb].view(np.int64).reshape(rows, nb)
        cols = gf[:rows * nb].view(np.uint8)[:rows * nb * acc.dtype.itemsize].view(acc.dtype).reshape(rows, nb)
        idx = self.slow
        requant = Requantizer(self.q[idx], self.shift[idx])
        zp, lo, hi = self.zp, self.lo, self.hi
        dests = [(out[:, c], a64[:, j]) for j, c in enumerate(idx.tolist())]
        take, cp = np.take, np.copyto

        def fix() -> None:
            take(acc, idx, axis=1, out=cols)
            requantize_to_output(cols, None, requant, zp, lo, hi, a64, t64)
            for d, v in dests:
                cp(d, v, casting="unsafe")

        return fix

    def _bind_int64(self, acc: np.ndarray, out: np.ndarray, a64: np.ndarray, t64: np.ndarray) -> Callable[[], None]:
        requant = Requantizer(self.q, self.shift)
        zp, lo, hi = self.zp, self.lo, self.hi
        return lambda: requantize_to_output(acc, out, requant, zp, lo, hi, a64, t64)
