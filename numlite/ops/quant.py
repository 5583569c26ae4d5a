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
5. In-place forms for invoke steps (``out=`` ufuncs on int64 scratch, nothing allocated):
   ``Requantizer`` / ``requantize_into`` (item 2, double rounding),
   ``multiply_by_quantized_multiplier_int64_into`` (item 3, C's int32 wrap or saturation) and
   ``wrap_int32`` (C's int32 two's-complement wrap).
6. Prepare-time helpers shared by the quantized kernels: ``round_half_away`` (``std::round``),
   ``all_values`` (every value of an 8/16-bit type, in table order), ``checked_log2``
   (TFLite's ``CheckedLog2``) and ``libm`` (the C library's float functions, as LiteRT calls them).

All functions accept scalars or arrays (broadcasting ``q`` / ``shift`` against ``x``) and compute
in int64, which holds every intermediate (``|x * q| < 2**62``), then return int32 (or the input
kind for the helpers).  ``out=`` variants are not provided: kernels keep their own int64
scratch and call the in-place building blocks below (``requantize_into``).
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from typing import Any

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(m: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(q, shift)`` int32 / int32 arrays (0-d for a scalar) with ``m ~= q * 2**(shift-31)``:
    TFLite's QuantizeMultiplier, vectorised.  ``frexp`` splits ``m = frac * 2**shift`` with
    ``|frac|`` in [0.5, 1); ``q = round(frac * 2**31)`` (half away from zero; exact in float64,
    ``frac * 2**31`` has at most 53 significant bits below 2**31); ``q = 2**31`` becomes
    ``2**30`` with ``shift + 1``; zero, non-finite values and ``shift < -31`` give ``(0, 0)``."""
    arr = np.asarray(m, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        frac, shift = np.frexp(arr)
        q = np.floor(np.abs(frac) * 2.0**31 + 0.5)
    q = np.where(frac < 0, -q, q)
    top = np.abs(q) == 2.0**31
    q = np.where(top, q / 2, q)
    shift = shift.astype(np.int64) + top
    zero = (arr == 0) | ~np.isfinite(arr) | (shift < -31)
    q = np.where(zero, 0, q).astype(np.int32)
    shift = np.where(zero, 0, shift).astype(np.int32)
    return q.reshape(arr.shape), shift.reshape(arr.shape)


def _quantize_one(m: float) -> tuple[int, int]:
    """Scalar reference of ``quantize_multiplier`` (kept for the tests)."""
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
    shape = np.broadcast_shapes(x64.shape, q64.shape, s64.shape)
    if np.all(q64 >= 0):  # the kernels' multipliers: the prepared form, a few ufunc passes
        acc = np.array(np.broadcast_to(x64, shape), dtype=np.int64, ndmin=1)
        Requantizer(q64, s64)(acc, np.empty_like(acc))
        return acc.astype(np.int32).reshape(shape)
    left = np.maximum(s64, 0)
    right = np.maximum(-s64, 0)
    # C++ computes x * (1 << left) in int32, which wraps (measured on LiteRT's wheel: an int16
    # PRELU with x = -32768 and a multiplier of 1000 gives 0, not the saturated 32767)
    shifted = np.array(x64 << left, dtype=np.int64, ndmin=1)  # ndmin: wrap_int32 works in place
    wrap_int32(shifted)
    res = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, q64), right).astype(np.int32)
    return res.reshape(shape)


def multiply_by_quantized_multiplier_int64(x: Any, q: Any, shift: Any, wrap: bool = False) -> np.ndarray:
    """The int64-input MultiplyByQuantizedMultiplier of the 16x8 kernels; int32 result.  A result
    beyond int32 saturates (``wrap=False``, this function's historical behaviour) or wraps as
    C's conversion does (``wrap=True``); see ``multiply_by_quantized_multiplier_int64_into``."""
    x64 = np.asarray(x, dtype=np.int64)
    q64 = np.asarray(q, dtype=np.int64)
    s64 = np.asarray(shift, dtype=np.int64)
    acc = np.array(np.broadcast_to(x64, np.broadcast_shapes(x64.shape, q64.shape, s64.shape)), dtype=np.int64)
    multiply_by_quantized_multiplier_int64_into(acc, q64, s64, wrap=wrap)
    return acc.astype(np.int32)


def multiply_by_quantized_multiplier_int64_into(acc: np.ndarray, q: Any, shift: Any, wrap: bool = True) -> None:
    """In place on int64 ``acc``: TFLite's ``MultiplyByQuantizedMultiplier(int64_t x, int32_t q,
    int shift)``: the multiplier reduced to 16 bits (``(q + 2**15) >> 16``, or ``0x7FFF`` from
    ``0x7FFF0000`` up), then one rounding shift ``(x * reduced + 2**(total - 1)) >> total`` with
    ``total = 15 - shift`` (an arithmetic shift: ties round up).  The C function returns that
    int64 as ``int32_t``, which wraps (``wrap=True``, what REDUCE_PROD's reference kernel sees);
    ``wrap=False`` saturates instead.  ``q`` / ``shift`` are scalars or per-channel arrays that
    broadcast against ``acc``; ``|acc| < 2**47`` as TFLite assumes, so nothing overflows int64."""
    apply_int64_multiplier_into(acc, *int64_multiplier(q, shift), wrap=wrap)


def int64_multiplier(q: Any, shift: Any) -> tuple[Any, Any, Any]:
    """``(reduced, total, rounding)`` of ``multiply_by_quantized_multiplier_int64_into``, computed
    once at prepare (Python ints for scalars, int64 arrays per channel)."""
    if np.ndim(q) == 0 and np.ndim(shift) == 0:
        qi = int(q)
        total = 15 - int(shift)
        return ((qi + (1 << 15)) >> 16 if qi < 0x7FFF0000 else 0x7FFF), total, 1 << (total - 1)
    q64 = np.asarray(q, dtype=np.int64)
    reduced = np.where(q64 < 0x7FFF0000, (q64 + (1 << 15)) >> 16, np.int64(0x7FFF))
    total = 15 - np.asarray(shift, dtype=np.int64)
    return reduced, total, np.int64(1) << (total - 1)


def apply_int64_multiplier_into(acc: np.ndarray, reduced: Any, total: Any, rnd: Any, wrap: bool = True) -> None:
    """The invoke-time part of ``multiply_by_quantized_multiplier_int64_into`` with the prepared
    ``int64_multiplier``: allocates nothing."""
    np.multiply(acc, reduced, out=acc)
    np.add(acc, rnd, out=acc)
    np.right_shift(acc, total, out=acc)
    if wrap:
        wrap_int32(acc)
    else:
        np.clip(acc, INT32_MIN, INT32_MAX, out=acc)


def wrap_int32(a: np.ndarray) -> None:
    """In place on an int64 array: the value C's int32 arithmetic keeps (two's complement wrap)."""
    np.add(a, 1 << 31, out=a)
    np.bitwise_and(a, (1 << 32) - 1, out=a)
    np.subtract(a, 1 << 31, out=a)


class Requantizer:
    """Allocation-free in-place ``multiply_by_quantized_multiplier`` (double rounding) for a fixed
    per-tensor or per-channel ``(q, shift)``, prepared once; ``q`` must be non-negative (the
    positive multipliers kernels use), ``acc`` an int64 array whose values fit int32 and ``tmp``
    an int64 scratch of its shape.  Each step is a ufunc with ``out=``:

    1. left shift by ``max(shift, 0)``, wrapped to int32 as C's ``x * (1 << left)`` does;
    2. the saturating rounding doubling high multiply as ``(acc * q + 2**30) >> 31`` (a floor
       shift).  gemmlowp adds ``2**30`` to a product ``p >= 0`` and ``1 - 2**30`` to a negative
       one, then divides by ``2**31`` truncating toward zero; for ``p < 0`` that is
       ``ceil((p + 1 - 2**30) / 2**31) = floor((p + 2**30) / 2**31)``, so one formula serves
       both signs, and its only saturating case (``acc == q == -2**31``) needs ``q < 0``;
    3. rounding divide by ``2**right``, ``right = max(-shift, 0)``:
       ``(x + 2**(right-1) - (x < 0)) >> right`` rounds half away from zero (the ``-1`` for
       negatives comes from ``tmp = x >> 63``, masked off where ``right == 0``).

    Scalar ``q`` / ``shift`` are kept as Python ints, so building one per call (as
    ``requantize_into`` does) costs about a microsecond.
    """

    def __init__(self, q: Any, shift: Any):
        if np.ndim(q) == 0 and np.ndim(shift) == 0:
            sh = int(shift)
            self.q: Any = int(q)
            self.left: Any = max(sh, 0)
            self.right: Any = max(-sh, 0)
            self.any_left, self.any_right = self.left > 0, self.right > 0
            self.half: Any = 1 << (self.right - 1) if self.right else 0
            self.neg_mask: Any = -1 if self.right else 0
            return
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
            wrap_int32(acc)
        np.multiply(acc, self.q, out=acc)
        np.add(acc, 1 << 30, out=acc)
        np.right_shift(acc, 31, out=acc)
        if self.any_right:
            np.right_shift(acc, 63, out=tmp)
            np.bitwise_and(tmp, self.neg_mask, out=tmp)
            np.add(tmp, self.half, out=tmp)
            np.add(acc, tmp, out=acc)
            np.right_shift(acc, self.right, out=acc)


def requantize_to_output(src: np.ndarray, dst: np.ndarray | None, requant: Requantizer, zero_point: int, lo: int,
                         hi: int, a64: np.ndarray, t64: np.ndarray) -> None:
    """The int64 epilogue of the quantized kernels: ``dst = clamp(requant(src) + zero_point,
    lo, hi)`` for an exact integer-valued accumulator ``src`` (any numeric dtype), through the
    int64 scratch ``a64`` / ``t64`` shaped like ``src`` (``dst=None``: the result stays in
    ``a64``); allocates nothing."""
    np.copyto(a64, src, casting="unsafe")
    requant(a64, t64)
    np.add(a64, zero_point, out=a64)
    np.clip(a64, lo, hi, out=a64)
    if dst is not None:
        np.copyto(dst, a64, casting="unsafe")


def requantize_into(acc: np.ndarray, q: Any, shift: Any, tmp: np.ndarray) -> None:
    """In place on an int64 array ``acc``: ``acc = multiply_by_quantized_multiplier(acc, q, shift)``
    (double rounding, ``q >= 0``), using the int64 scratch ``tmp`` of the same shape; allocates
    nothing for scalar ``q`` / ``shift``.  Kernels with per-channel multipliers should prepare a
    ``Requantizer`` once instead (no per-call setup)."""
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
        return int(zero_point) + int(round_half_away(t))

    lo = max(lo, q(bounds[0]))
    if bounds[1] is not None:
        hi = min(hi, q(bounds[1]))
    return lo, hi


# --- prepare-time helpers shared by the quantized kernels -------------------------------------
def round_half_away(x: Any) -> np.ndarray:
    """C's ``std::round`` / ``roundf`` / ``TfLiteRound`` (half away from zero) on a float array or
    scalar, exactly: ``floor(|x|)`` plus one where the dropped fraction is at least 1/2, the sign
    restored (``-0.0`` and ``nan`` / ``inf`` pass through).  Unlike ``floor(|x| + 0.5)`` it is
    right for the float just below 1/2 and for odd values above ``2**23`` (float32).  Keeps the
    input's float dtype (float64 for Python numbers); 0-d for a scalar."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    a = np.abs(x)
    f = np.floor(a)
    with np.errstate(invalid="ignore"):  # inf - inf
        r = f + (a - f >= 0.5)
    return np.copysign(r, x).astype(x.dtype)


def round_half_away_scalar(x: float) -> float:
    """:func:`round_half_away` of one Python float (a double), in plain Python for invoke-time
    steps that round one value (NumPy's 0-d path costs microseconds per call)."""
    a = abs(x)
    f = math.floor(a) if math.isfinite(a) else a
    return math.copysign(f + 1.0 if a - f >= 0.5 else f, x)


_HALF_BELOW = {np.dtype(np.float32): np.nextafter(np.float32(0.5), np.float32(0)),
               np.dtype(np.float64): np.nextafter(0.5, 0.0)}


def round_half_away_(y: np.ndarray, tmp: np.ndarray) -> None:
    """In place, for invoke-time steps: ``y = round(y)`` on a float32 / float64 array, halves
    away from zero (C's ``round`` / ``roundf``), as ``trunc(y + copysign(h, y))`` with ``h`` the
    float just below 1/2 (adding 1/2 itself would round that float up).  Exact while
    ``|y| < 2**23`` (float32) / ``2**52`` (float64): the sum reaches the next integer exactly
    when the dropped fraction is at least 1/2.  ``tmp``: scratch like ``y``."""
    np.copysign(_HALF_BELOW[y.dtype], y, out=tmp)
    np.add(y, tmp, out=y)
    np.trunc(y, out=y)


def all_values(dtype: Any) -> np.ndarray:
    """Every value of an 8- or 16-bit integer ``dtype`` as int64, ordered by its unsigned bit
    pattern (0, 1, ..., max, min, ..., -1 for signed types), so that a table computed from it is
    indexed by ``x.view(uint8 / uint16)``, as TFLite's LUTs are."""
    dt = np.dtype(dtype)
    unsigned = np.uint8 if dt.itemsize == 1 else np.uint16
    return np.arange(1 << (8 * dt.itemsize)).astype(unsigned).view(dt).astype(np.int64)


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's ``CheckedLog2`` in float32: ``l = logf(x) * (1.0f / logf(2.0f))`` with the C
    library's ``logf`` (NumPy's float32 log differs from it in about 5% of inputs by an ulp),
    ``r = roundf(l)``; returns ``(|l - r| < 1e-3, int(r))``: whether ``x`` is a power of two and
    its rounded log2.  A zero, negative or non-finite ``x`` gives ``(False, 0)`` (C's comparison
    with a nan / inf difference is false)."""
    f32 = np.float32
    logf = libm("logf")
    lg = logf(np.array([x, 2.0], f32))
    x_log2 = f32(lg[0]) * (f32(1) / f32(lg[1]))
    if not np.isfinite(x_log2):
        return False, 0
    r = f32(round_half_away(x_log2))
    return bool(abs(f32(x_log2 - r)) < f32(1e-3)), int(r)


def _load_libm() -> Any:
    """The C math library, loaded on first use (a prepare-time table needs it; importing the ops
    must not: ``ctypes.util.find_library`` runs ``ldconfig``, ~15 ms).  The usual names are tried
    first, then ``find_library``."""
    if _LIBM:
        return _LIBM[0]
    lib = None
    for name in ("libm.so.6", "libm.dylib", "libm.so"):
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        try:
            from ctypes import util  # here: it pulls in subprocess, tempfile and shutil (~10 ms)

            name = util.find_library("m")
            lib = ctypes.CDLL(name) if name else None
        except OSError:  # pragma: no cover - platform dependent
            lib = None
    _LIBM.append(lib)
    return lib


_LIBM: list[Any] = []


def libm(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Elementwise float32 ``name`` (``expf``, ``tanhf``, ``logf``, ``expm1f``) as the C library
    computes it, through ctypes (one call per element: for prepare-time tables).  LiteRT calls the
    system libm, whose float functions are not always correctly rounded, so a table built with
    NumPy's own functions could differ in an entry; where no C library is found the function is
    evaluated in float64 and rounded (correct rounding; equal except in rare ties)."""
    lib = _load_libm()
    fn = getattr(lib, name, None) if lib is not None else None
    if fn is not None:
        fn.restype = ctypes.c_float
        fn.argtypes = [ctypes.c_float]

        def c_version(x: np.ndarray) -> np.ndarray:
            flat = np.asarray(x, np.float32).reshape(-1).tolist()
            return np.array([fn(v) for v in flat], np.float32).reshape(np.shape(x))

        return c_version
    f64 = {"expf": np.exp, "tanhf": np.tanh, "logf": np.log, "expm1f": np.expm1}[name]

    def np_version(x: np.ndarray) -> np.ndarray:  # pragma: no cover - platform dependent
        with np.errstate(all="ignore"):
            return f64(np.asarray(x, np.float64)).astype(np.float32)

    return np_version
