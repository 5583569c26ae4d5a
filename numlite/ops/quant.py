"""Fixed-point math of TFLite's quantized kernels, vectorised on NumPy integer arrays.

Every quantized kernel requantizes through these functions, so they are the one place where
numlite's integer results are made to agree bit for bit with LiteRT's reference kernels.

1. ``quantize_multiplier(m)``: a positive real multiplier (e.g. ``in_scale * w_scale /
   out_scale``) becomes ``(q, shift)`` with ``m ~= q * 2**(shift - 31)``, ``q`` an int32 in
   ``[2**30, 2**31)``: ``frexp``, the fraction times ``2**31`` rounded half away from zero, a
   result of exactly ``2**31`` halved with the shift raised, and a shift below -31 flushed to
   ``(0, 0)``.  Works elementwise on arrays (per-channel multipliers).
2. ``multiply_by_quantized_multiplier(x, q, shift)``: ``round(x * m)`` as TFLite's default build
   computes it (double rounding): shift left by ``max(shift, 0)``, the saturating rounding
   doubling high multiply ``(x * q + nudge) / 2**31`` (C division, truncating toward zero;
   ``nudge`` is ``2**30`` for non-negative products, ``1 - 2**30`` otherwise; the single
   overflow case ``x == q == -2**31`` saturates), then a rounding divide by ``2**-min(shift,
   0)`` that rounds half away from zero.  ``single_rounding=True`` gives the variant of builds
   with ``TFLITE_SINGLE_ROUNDING``: one ``(x * q + 2**(30 - shift)) >> (31 - shift)``.
3. ``multiply_by_quantized_multiplier_int64``: the int64-accumulator form used by the 16x8
   kernels: the multiplier reduced to 16 bits (rounded), then one rounding shift.
4. ``saturating_rounding_doubling_high_mul`` and ``rounding_divide_by_pot`` are exposed for the
   kernels that use them directly (softmax, logistic, tanh, mean).

All functions accept scalars or arrays (broadcasting ``q`` / ``shift`` against ``x``) and compute
in int64, which holds every intermediate (``|x * q| < 2**62``), then return int32 (or the input
kind for the helpers).  ``out=`` variants are not provided: kernels keep their own int64
scratch and call the in-place building blocks below (``requantize_into``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(m: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(q, shift)`` int32 / int32 arrays (0-d for a scalar) with ``m ~= q * 2**(shift-31)``."""
    arr = np.asarray(m, dtype=np.float64)
    flat = arr.reshape(-1)
    qs = np.empty(flat.shape, np.int64)
    shifts = np.empty(flat.shape, np.int64)
    for i, v in enumerate(flat.tolist()):
        qs[i], shifts[i] = _quantize_one(v)
    return qs.astype(np.int32).reshape(arr.shape), shifts.astype(np.int32).reshape(arr.shape)


def _quantize_one(m: float) -> tuple[int, int]:
    if m == 0.0 or not math.isfinite(m):
        return 0, 0
    frac, shift = math.frexp(m)
    # TfLiteRound / std::round: half away from zero
    q = int(math.floor(abs(frac) * (1 << 31) + 0.5))
    q = q if frac >= 0 else -q
    if abs(q) == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def saturating_rounding_doubling_high_mul(a: Any, b: Any) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 values (int64 result array)."""
    a64 = np.asarray(a, dtype=np.int64)
    b64 = np.asarray(b, dtype=np.int64)
    ab = a64 * b64
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    s = ab + nudge
    # C integer division by 2**31 truncates toward zero
    res = np.where(s >= 0, s >> 31, -((-s) >> 31))
    overflow = (a64 == INT32_MIN) & (b64 == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), res)


def rounding_divide_by_pot(x: Any, exponent: Any) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: ``x / 2**exponent`` rounded half away from zero."""
    x64 = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x64 & mask
    threshold = (mask >> 1) + (x64 < 0)
    return (x64 >> e) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: Any, q: Any, shift: Any, single_rounding: bool = False) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier on int32 ``x`` (see the module docstring); int32."""
    x64 = np.asarray(x, dtype=np.int64)
    q64 = np.asarray(q, dtype=np.int64)
    s64 = np.asarray(shift, dtype=np.int64)
    if single_rounding:
        total = 31 - s64
        rnd = np.int64(1) << (total - 1)
        res = (x64 * q64 + rnd) >> total
        return np.clip(res, INT32_MIN, INT32_MAX).astype(np.int32)
    left = np.maximum(s64, 0)
    right = np.maximum(-s64, 0)
    # C++ computes x * (1 << left) in int32; kernels only shift left values that fit
    shifted = np.clip(x64 << left, INT32_MIN, INT32_MAX)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, q64), right).astype(np.int32)


def multiply_by_quantized_multiplier_int64(x: Any, q: Any, shift: Any) -> np.ndarray:
    """The int64-input MultiplyByQuantizedMultiplier of the 16x8 kernels; int32 result."""
    x64 = np.asarray(x, dtype=np.int64)
    q64 = np.asarray(q, dtype=np.int64)
    s64 = np.asarray(shift, dtype=np.int64)
    reduced = np.where(q64 < 0x7FFF0000, (q64 + (1 << 15)) >> 16, np.int64(0x7FFF))
    total = 15 - s64
    rnd = np.int64(1) << (total - 1)
    res = (x64 * reduced + rnd) >> total
    return np.clip(res, INT32_MIN, INT32_MAX).astype(np.int32)


class Requantizer:
    """Allocation-free in-place ``multiply_by_quantized_multiplier`` (double rounding) for a fixed
    per-tensor or per-channel ``(q, shift)``, prepared once; ``q`` must be non-negative (the
    positive multipliers kernels use), ``acc`` an int64 array whose values fit int32 and ``tmp``
    an int64 scratch of its shape.  Each step is a ufunc with ``out=``:

    1. left shift by ``max(shift, 0)``, saturated to int32 (as the kernels' inputs never overflow);
    2. ``acc * q + nudge``, nudge ``2**30`` or ``1 - 2**30`` by sign (``tmp = acc >> 63`` is 0 / -1);
    3. C's truncating division by ``2**31`` as a floor shift after adding ``2**31 - 1`` to negatives;
    4. rounding divide by ``2**right``: ``(x + 2**(right-1) - (x < 0)) >> right`` rounds half away
       from zero (the ``-1`` for negatives masked off where ``right == 0``).
    """

    def __init__(self, q: Any, shift: Any):
        s64 = np.asarray(shift, dtype=np.int64)
        self.q = np.asarray(q, dtype=np.int64)
        self.left = np.maximum(s64, 0)
        self.right = np.maximum(-s64, 0)
        self.any_left = bool(np.any(self.left))
        self.any_right = bool(np.any(self.right))
        self.half = np.where(self.right > 0, np.int64(1) << np.maximum(self.right - 1, 0), 0)
        self.neg_mask = np.where(self.right > 0, np.int64(-1), np.int64(0))

    def __call__(self, acc: np.ndarray, tmp: np.ndarray) -> None:
        if self.any_left:
            np.left_shift(acc, self.left, out=acc)
            np.clip(acc, INT32_MIN, INT32_MAX, out=acc)
        np.multiply(acc, self.q, out=acc)
        np.right_shift(acc, 63, out=tmp)
        np.multiply(tmp, (1 << 31) - 1, out=tmp)
        np.add(tmp, 1 << 30, out=tmp)
        np.add(acc, tmp, out=acc)
        np.right_shift(acc, 63, out=tmp)
        np.bitwise_and(tmp, (1 << 31) - 1, out=tmp)
        np.add(acc, tmp, out=acc)
        np.right_shift(acc, 31, out=acc)
        if self.any_right:
            np.right_shift(acc, 63, out=tmp)
            np.bitwise_and(tmp, self.neg_mask, out=tmp)
            np.add(tmp, self.half, out=tmp)
            np.add(acc, tmp, out=acc)
            np.right_shift(acc, self.right, out=acc)


def requantize_into(acc: np.ndarray, q: Any, shift: Any, tmp: np.ndarray) -> None:
    """In place on an int64 array ``acc``: ``acc = multiply_by_quantized_multiplier(acc, q, shift)``
    (double rounding), using the int64 scratch ``tmp`` of the same shape.  Kernels that call it at
    every invoke should prepare a ``Requantizer`` once instead (no per-call setup)."""
    Requantizer(q, shift)(acc, tmp)


def activation_range_quantized(act: int, dtype: Any, scale: float, zero_point: int) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized: the integer clamp of fused activation ``act``
    (the ``ActivationFunctionType`` code) for an output of ``dtype`` / ``scale`` / ``zero_point``.
    Bounds are ``zero_point + round(v / scale)`` with the quotient in float32, rounded half away
    from zero, within the type's range; activations other than RELU (1), RELU_N1_TO_1 (2) and
    RELU6 (3) give the full range.  Raises ValueError when a bound does not fit int32."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    bounds = {1: (0.0, None), 2: (-1.0, 1.0), 3: (0.0, 6.0)}.get(int(act))
    if bounds is None:
        return lo, hi

    def q(v: float) -> int:
        with np.errstate(all="ignore"):
            t = float(np.float32(v) / np.float32(scale)) if scale != 0 else math.copysign(math.inf, v)
        if not math.isfinite(t) or abs(t) >= 2.0**31:
            raise ValueError(f"the activation bound {v} does not fit int32 at output scale {scale}")
        r = math.floor(abs(t) + 0.5)
        return int(zero_point) + (r if t >= 0 else -r)

    lo = max(lo, q(bounds[0]))
    if bounds[1] is not None:
        hi = min(hi, q(bounds[1]))
    return lo, hi
