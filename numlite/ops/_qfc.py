"""Shared pieces of the quantized FULLY_CONNECTED and BATCH_MATMUL kernels.

1. Rounding is ``quant.round_half_away_`` (C's ``round``, in place) and ``quant.round_half_away``.
2. ``DoubleRequant``: the requantization of LiteRT's reference FULLY_CONNECTED kernels (measured
   on the ai_edge_litert 2.3.0 wheel: every int8 / uint8 / int16 form): ``round(double(acc) *
   (double(s_in) * double(s_w[c]) / double(s_out)))`` in float64, then the output zero point and
   the activation clamp.  The fixed-point ``MultiplyByQuantizedMultiplier`` is what the
   optimized kernels (and BATCH_MATMUL) use; it differs by one step on about 1 output in 500.
3. ``RowQuantizer``: the on-the-fly input quantization of hybrid kernels (TFLite's
   ``BatchQuantizeFloats``, which LiteRT's x86 wheel runs as the NEON code through NEON_2_SSE):
   each row of ``K`` floats becomes int8 values (kept as integer-valued float32, ready for BLAS)
   plus a float32 scaling factor and, when asymmetric, an int32 offset.  Symmetric: ``range =
   max(|min|, |max|)``, ``sf = range / 127``, ``q = rnd(x * (127 / range))`` clamped to +-127
   (float32).  Asymmetric: min / max capped at 0, ``scale = double(float(rmax - rmin)) / 255``,
   a zero point nudged into [-128, 127] from the side with the smaller error, ``inv =
   float(1.0 / double(sf))``, ``q = zp + rnd(x * inv)`` clamped to [-128, 127].  ``rnd`` is
   ``neon_round``: ``trunc(v +- 0.5)`` in float32 over the first ``8 * (K // 8)`` columns (the
   vector loop), C's ``round`` over the rest.  An all-zero row gives ``q = 0``, ``sf = 1``,
   offset 0; a row with inf / NaN, or a range past float32, ``q = 0``, ``sf = NaN`` (NaN
   outputs: LiteRT's zero point is then a NaN cast to int, undefined behaviour).
4. ``exact_bmm``: an exact batched integer product on float32 BLAS (``np.matmul`` over the
   broadcast batch dimensions) with the reduction split as ``_qgemm.chunks`` does, summed into
   an int64 array; ``ExactMatmul`` covers the 2-D case and is used by FULLY_CONNECTED.
5. ``requant_int64_into``: the int64-accumulator ``MultiplyByQuantizedMultiplier`` of the 16-bit
   kernels (multiplier rounded to 16 bits, one rounding shift), in place.
6. ``unshuffle_4x16``: the ``[N, K]`` weights stored in FullyConnected's SHUFFLED4x16INT8 format
   back in row-major order, as int8: the buffer holds, for each block of 4 output rows and each
   block of 16 columns in turn, the 4 x 16 values row by row; each byte is the uint8 weight with
   its sign bit flipped, so read as int8 it is ``w - 128`` (the weights' zero point 128 already
   subtracted).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._qgemm import chunked_step, chunks
from .quant import round_half_away, round_half_away_, round_half_away_scalar


def neon_round(q: np.ndarray, tmp: np.ndarray) -> Callable[[], None]:
    """Step rounding ``q [R, K]`` (float32) in place as TFLite's x86 build of the NEON quantizers
    does: the first ``8 * (K // 8)`` columns as ``trunc(q + (q < 0 ? -0.5 : 0.5))`` in float32
    (NEON_2_SSE's ``RoundToNearest``), the rest with C's ``round``."""
    p = 8 * (q.shape[-1] // 8)
    qv, tv, qt, tt = q[:, :p], tmp[:, :p], q[:, p:], tmp[:, p:]
    half = np.float32(0.5)

    def step() -> None:
        if p:
            np.copysign(half, qv, out=tv)
            np.add(qv, tv, out=qv)
            np.trunc(qv, out=qv)
        if p < q.shape[-1]:
            round_half_away_(qt, tt)

    return step


class DoubleRequant:
    """``out = clamp(round(acc * eff) + zo, lo, hi)`` from a float64 accumulator (see the module
    docstring, step 2).  ``eff`` is a scalar or per-output-channel (last axis) float64 array."""

    def __init__(self, eff: np.ndarray | float, zo: int, lo: int, hi: int):
        self.eff = np.asarray(eff, np.float64)
        self.zo, self.lo, self.hi = float(zo), float(lo), float(hi)

    def bind(self, acc: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> Callable[[], None]:
        eff, zo, lo, hi = self.eff, self.zo, self.lo, self.hi
        mul, add, clip, cp = np.multiply, np.add, np.clip, np.copyto

        def step() -> None:
            mul(acc, eff, out=acc)
            round_half_away_(acc, tmp)
            if zo:
                add(acc, zo, out=acc)
            clip(acc, lo, hi, out=acc)
            cp(out, acc, casting="unsafe")

        return step


class RowQuantizer:
    """TFLite's ``BatchQuantizeFloats`` over the rows of a float32 ``[R, K]`` array (module
    docstring, step 3).  ``bind(x, q, sf, off, tmp)``: ``q`` float32 ``[R, K]`` receives the
    int8 values, ``sf`` float32 ``[R]`` the scaling factors, ``off`` int32 ``[R]`` the offsets
    (zeros when symmetric); ``tmp`` is float32 scratch shaped like ``q``."""

    def __init__(self, asymmetric: bool):
        self.asymmetric = asymmetric

    def bind(self, x: np.ndarray, q: np.ndarray, sf: np.ndarray, off: np.ndarray,
             tmp: np.ndarray) -> Callable[[], None]:
        r = x.shape[0]
        mx = np.empty(r, np.float32)
        mn = np.empty(r, np.float32)
        inv = np.empty((r, 1), np.float32)
        f127 = np.float32(127.0)
        rnd = neon_round(q, tmp)
        if r == 1 and x.shape[1]:
            return self._bind_one_row(x.reshape(-1), q, sf, off, rnd)
        if not self.asymmetric:
            off[...] = 0

            def sym() -> None:
                np.max(x, axis=1, out=mx)
                np.min(x, axis=1, out=mn)
                np.abs(mx, out=mx)
                np.abs(mn, out=mn)
                np.maximum(mx, mn, out=mx)  # range
                zero = mx == 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    np.divide(mx, f127, out=sf)
                    np.divide(f127, mx, out=inv[:, 0])
                if zero.any():
                    sf[zero] = 1.0
                    inv[zero, 0] = 0.0
                np.multiply(x, inv, out=q)
                rnd()
                np.clip(q, -127.0, 127.0, out=q)

            return sym

        offf = np.empty((r, 1), np.float32)

        def asym() -> None:
            np.max(x, axis=1, out=mx)
            np.min(x, axis=1, out=mn)
            rmin = np.minimum(mn, np.float32(0)).astype(np.float64)
            rmax = np.maximum(mx, np.float32(0)).astype(np.float64)
            zero = rmin == rmax
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = (rmax - rmin).astype(np.float32).astype(np.float64) / 255.0  # float difference
                lo_s, hi_s = rmin / scale, rmax / scale
                zp_min, zp_max = -128.0 - lo_s, 127.0 - hi_s
                err_min, err_max = 128.0 + np.abs(lo_s), 127.0 + np.abs(hi_s)
                zpd = np.where(err_min < err_max, zp_min, zp_max)
                nudged = np.where(zpd <= -128.0, -128.0, np.where(zpd >= 127.0, 127.0, round_half_away(zpd)))
                nudged[zero] = 0.0
                scale[zero] = 1.0
                sf[...] = scale
                inv[:, 0] = 1.0 / sf.astype(np.float64)  # double division, then float
                inv[sf == 0] = 0.0  # a scale that underflows float32: inv 0, as in LiteRT
            off[...] = nudged
            offf[:, 0] = nudged
            np.multiply(x, inv, out=q)
            rnd()
            np.add(q, offf, out=q)
            np.clip(q, -128.0, 127.0, out=q)

        return asym


    def _bind_one_row(self, xf: np.ndarray, q: np.ndarray, sf: np.ndarray, off: np.ndarray,
                      rnd: Callable[[], None]) -> Callable[[], None]:
        """One row (batch 1, the common case of recurrent steps): the same arithmetic on NumPy
        float32 / Python float (double) scalars, a third of the array calls of the general path."""
        qf = q.reshape(-1)
        f127, f0 = np.float32(127.0), np.float32(0.0)
        if not self.asymmetric:
            off[...] = 0

            def sym1() -> None:
                rng = np.maximum(abs(xf.max()), abs(xf.min()))  # float32; nan propagates as before
                if rng == f0:
                    sf[0] = 1.0
                    q.fill(0.0)
                    return
                sf[0] = rng / f127
                np.multiply(xf, f127 / rng, out=qf)
                rnd()
                np.clip(q, -127.0, 127.0, out=q)

            return sym1

        def asym1() -> None:
            rmin, rmax = float(np.minimum(xf.min(), f0)), float(np.maximum(xf.max(), f0))
            if rmin == rmax:
                sf[0], off[0] = 1.0, 0
                q.fill(0.0)
                return
            scale = float(np.float32(rmax - rmin)) / 255.0  # the float difference, then double
            if not math.isfinite(scale):
                # an inf / NaN input, or a range past float32: LiteRT's C++ casts a NaN zero point to
                # int (undefined behaviour; +-inf on x86).  numlite: NaN for the row's outputs
                sf[0], off[0] = math.nan, 0
                q.fill(0.0)
                return
            lo_s, hi_s = rmin / scale, rmax / scale
            zp_min, zp_max = -128.0 - lo_s, 127.0 - hi_s
            zpd = zp_min if 128.0 + abs(lo_s) < 127.0 + abs(hi_s) else zp_max
            nudged = -128.0 if zpd <= -128.0 else 127.0 if zpd >= 127.0 else round_half_away_scalar(zpd)
            sf[0] = scale
            off[0] = nudged
            # double division, then float; a scale that underflows float32 gives inv 0, as in LiteRT
            np.multiply(xf, np.float32(1.0 / float(sf[0])) if sf[0] else np.float32(0.0), out=qf)
            rnd()
            np.add(q, np.float32(nudged), out=q)
            np.clip(q, -128.0, 127.0, out=q)

        return asym1


def exact_bmm(a: np.ndarray, b: np.ndarray, out: np.ndarray, tmp: np.ndarray, bound_a: int,
              bound_b: int) -> Callable[[], None]:
    """Step computing ``out (int64 or float64) = a @ b`` exactly for integer-valued float32
    ``a [..., M, K]`` and ``b [..., K, N]`` (batch dimensions broadcast); ``tmp`` is float32
    shaped like ``out``."""
    parts = chunks(a.shape[-1], bound_a, bound_b)
    return chunked_step([(a[..., k0:k1], b[..., k0:k1, :]) for k0, k1 in parts], out, tmp)


def requant_int64_into(acc: np.ndarray, q: int, shift: int) -> None:
    """In place on int64 ``acc``: TFLite's ``MultiplyByQuantizedMultiplier(int64_t x, ...)``."""
    reduced = (int(q) + (1 << 15)) >> 16 if int(q) < 0x7FFF0000 else 0x7FFF
    total = 15 - int(shift)
    np.multiply(acc, reduced, out=acc)
    np.add(acc, 1 << (total - 1), out=acc)
    np.right_shift(acc, total, out=acc)


def unshuffle_4x16(data: np.ndarray, n: int, k: int) -> np.ndarray:
    """int8 ``[N, K]`` (``w - 128``) from the raw bytes of SHUFFLED4x16INT8 weights (module
    docstring, step 6); ``N % 4 == 0`` and ``K % 16 == 0``."""
    blocks = np.asarray(data).reshape(-1).view(np.int8)[: n * k].reshape(n // 4, k // 16, 4, 16)
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3)).reshape(n, k)

