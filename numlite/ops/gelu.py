"""GELU: ``x * Phi(x)``; versions 1-3, float32, float16, and quantized uint8 / int8 / int16 (as
LiteRT 2.3, whose kernel takes every dtype at every version).  The option ``approximate``
selects the tanh form ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``.

Float (see ``_unary``), evaluated in float32 in place over preallocated scratch (no tiling:
row blocks measured slower, NumPy's per-call cost outweighs the cache gain):

1. Exact form.  With ``b = |x| / 2`` and ``T(x) = |x| * Phi(-|x|)`` (the far tail of the normal),
   ``GELU(x) = relu(x) - T(x)`` for every x (``x * Phi(x) = x - x * Phi(-x)`` for x >= 0), so
   there is no cancellation anywhere: for x < 0 the result is ``-T`` itself and for x >= 0 ``T``
   is below x / 2.  ``T = exp(-x*x / 2) * R(b)`` where ``R(b) = b * erfcx(sqrt(2) * b)`` (smooth,
   ``R(0) = 0``, ``R(inf) = 1 / sqrt(2 pi)``) is the rational ``N(b) / D(b)`` of degree 5 / 5
   (``N(0) = 0``, ``D`` monic) fitted by numlite (linearised least squares, then Lawson
   reweighting towards relative minimax on [0, 7.5]; relative error of the float64 rational
   6.3e-9); b is clamped to 7.5 for it (beyond, ``exp`` underflows to 0).  ``relu(x)`` is
   ``b - m`` with ``m = -x / 2`` (so ``-inf`` gives nan, as ``-inf * 0`` in LiteRT, and ``+inf``
   gives inf).  26 NumPy passes and one float32 ``exp``, four float32 scratch arrays.
   Measured error against ``0.5 * x * math.erfc(-x / sqrt(2))`` in float64, over every 61st
   float32 in [-15, 15] (34.8 million inputs, normal results): at most 4.5 ulp of the result for
   |x| < 1, 7 ulp for 1 <= |x| < 3, 0.5 ulp for x >= 3; for x <= -3 at most 0.81 * x*x ulp
   (``x*x / 2`` is rounded to float32 before ``exp``: 12 ulp at x = -5, 4.2e-6 relative at
   x = -13, where the result is 1e-37).  LiteRT evaluates Eigen's float32 ``erfc``, which is
   further off in that tail (-1.04e-6 at x = -5 where the value is -1.43e-6, 0 below -6); tests:
   rtol 1e-5, atol 1e-6 against LiteRT.
2. Tanh form: ``0.5 * x * (1 + tanh(y)) = x / (1 + exp(-2y))`` with
   ``-2y = x * (-2k - 2k * 0.044715 * x*x)`` (k = sqrt(2 / pi)): 6 passes and one ``exp``, one
   float32 scratch.  This has no ``1 + tanh`` cancellation (for x below about -3 LiteRT's Eigen
   rational ``tanh`` leaves a few ulp of 1 times ``|x|`` there; tests: rtol 1e-5, atol 2e-6);
   ``exp`` overflowing to inf for x below about -10.03 gives ``x / inf = -0`` (the value is
   below 1.2e-37 there).  Measured as item 1: 14 ulp for |x| < 3, 1.5 ulp for x >= 3, at most
   0.45 * |x|**3 ulp for -10 <= x <= -3 (``-2y`` rounded before ``exp``).
3. float16: the input is widened to float32 scratch, evaluated as above, and rounded once to
   half; LiteRT rounds every Eigen::half intermediate, so results differ by up to a few half ulp
   (tests: rtol 4e-3, atol 1e-3).  ``±inf`` give ``inf`` / nan as in LiteRT; nan stays nan.

Quantized (a lookup table built at prepare, see ``_unary``; bit-exact with LiteRT):

4. uint8 / int8: TFLite's ``LUTPopulate`` of the float32 transform (TFLite's scalar
   ``GeluTransform``: ``0.5f * x * erfcf(x * -M_SQRT1_2)`` with the C library's ``erfcf``, or
   ``GeluTransformApproximate`` with ``tanhf``).  Any scales and zero points.  A rescaled value
   beyond int32 (a tiny output scale) saturates to 127 for int8 but gives 0 for uint8 (C's
   conversion yields INT32_MIN there): both measured on LiteRT 2.3.
5. int16: TFLite's 513-entry interpolating ``LUTPopulate<int16_t>`` of the same transform
   (float32), looked up for all 65536 inputs (no zero point requirement, as in LiteRT).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import _qnonlinear as qn
from ._unary import UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .registry import register

F32 = np.float32
INV_SQRT2 = 1.0 / math.sqrt(2.0)
# R(b) = b * erfcx(sqrt(2) * b) ~ N(b) / D(b) on [0, R_CLAMP] (module docstring, item 1):
# N(b) = b * (p1 + p2 b + ... + p5 b^4), D(b) = q0 + q1 b + ... + q4 b^4 + b^5; highest degree first
ERFCX_NUM = tuple(F32(c) for c in (0.3989465590752052, 1.9634450293911025, 4.417829085722433,
                                   5.274449992402265, 3.0017218896414195))
ERFCX_DEN = tuple(F32(c) for c in (4.921920566403403, 11.320396602853187, 14.47495527396791,
                                   10.06450774515, 3.001721870713481))
R_CLAMP = F32(7.5)
K_SQRT_2_OVER_PI = F32((2.0 / math.sqrt(math.pi)) * math.sqrt(0.5))
K_CUBE = F32(0.044715)
# tanh form: -2y = x * (TANH_C0 + TANH_C2 * x * x)
TANH_C0 = F32(-2.0 * math.sqrt(2.0 / math.pi))
TANH_C2 = F32(-2.0 * math.sqrt(2.0 / math.pi) * 0.044715)
HALF, ONE, NEG_HALF = F32(0.5), F32(1.0), F32(-0.5)


def _c_scalar(name: str, fallback: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    """Elementwise float32 C library function (``qn.libm``), or ``fallback`` in double where the
    C library cannot be loaded."""
    try:
        return qn.libm(name)
    except KeyError:  # pragma: no cover - no C library found
        return lambda v: np.array([fallback(float(t)) for t in np.asarray(v, F32).reshape(-1)],
                                  F32).reshape(np.shape(v))


def gelu_transform(approximate: bool) -> Callable[[np.ndarray], np.ndarray]:
    """TFLite's scalar float32 GELU transforms, applied to a float32 array."""
    if approximate:
        tanhf = _c_scalar("tanhf", math.tanh)

        def approx(v: np.ndarray) -> np.ndarray:
            v = np.asarray(v, F32)
            with np.errstate(all="ignore"):
                inner = K_SQRT_2_OVER_PI * (v + K_CUBE * v * v * v)
                return HALF * v * (ONE + tanhf(inner))

        return approx
    erfcf = _c_scalar("erfcf", math.erfc)
    neg_sqrt1_2 = F32(-INV_SQRT2)

    def exact(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, F32)
        with np.errstate(all="ignore"):
            return HALF * v * erfcf(v * neg_sqrt1_2)

    return exact


@register("GELU", versions=range(1, 4))
class Gelu(UnaryKernel):
    options_table = "GeluOptions"
    dtypes = (np.float32, np.float16)
    quantized = (np.uint8, np.int8, np.int16)
    ieee_specials = True

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        self.approximate = bool(self.options.get("approximate"))
        n = 1 if self.approximate else 4
        if np.dtype(x.dtype) != np.float32:  # float16: widened input and float32 result
            n += 2
        self.slots = tuple(ctx.scratch(x.shape, np.float32) for _ in range(n))

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        bufs = [scratch[k] for k in self.slots]
        step = tanh_form_f32 if self.approximate else exact_form_f32
        if x.dtype == np.float32:
            return step(x, out, *bufs)
        xf, of = bufs[-2:]
        inner = step(xf, of, *bufs[:-2])

        def widened() -> None:
            np.copyto(xf, x)
            inner()
            np.copyto(out, of, casting="same_kind")

        return widened

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        fn = gelu_transform(bool(self.options.get("approximate")))
        xq, oq = x.quantization, out.quantization
        if np.dtype(x.dtype) == np.int16:
            lut = qn.lut16_populate(fn, xq.scale, xq.zero_point, oq.scale, oq.zero_point, np.float32)
            return qn.lut16_lookup(values, lut)
        # a rescaled value beyond int32 saturates for int8 but becomes INT32_MIN (then 0) for
        # uint8: measured on LiteRT 2.3, whose two table instantiations compile differently
        saturate = np.dtype(x.dtype) == np.int8
        return qn.lut8_populate(fn, xq.scale, xq.zero_point, oq.scale, oq.zero_point, x.dtype, saturate=saturate)


def exact_form_f32(x: np.ndarray, out: np.ndarray, m: np.ndarray, b: np.ndarray, e: np.ndarray,
                   n: np.ndarray) -> Step:
    """The step computing exact GELU of float32 ``x`` into ``out`` (module docstring, item 1);
    ``m``, ``b``, ``e``, ``n``: float32 scratch of x's shape."""
    mult, add = np.multiply, np.add
    num0, num_rest = ERFCX_NUM[0], ERFCX_NUM[1:]
    den0, den_rest = ERFCX_DEN[0], ERFCX_DEN[1:]

    def step() -> None:
        mult(x, NEG_HALF, out=m)              # m = -x / 2
        np.abs(m, out=b)                      # b = |x| / 2
        mult(m, x, out=e)
        np.exp(e, out=e)                      # e = exp(-x*x / 2)
        np.subtract(b, m, out=out)            # relu(x)
        np.minimum(b, R_CLAMP, out=b)
        mult(b, num0, out=n)                  # N(b), Horner
        for c in num_rest:
            add(n, c, out=n)
            mult(n, b, out=n)
        mult(n, e, out=n)
        d = m                                 # D(b), Horner (m is free now)
        add(b, den0, out=d)
        for c in den_rest:
            mult(d, b, out=d)
            add(d, c, out=d)
        np.divide(n, d, out=n)                # T = |x| * Phi(-|x|)
        np.subtract(out, n, out=out)

    return step


def tanh_form_f32(x: np.ndarray, out: np.ndarray, s: np.ndarray) -> Step:
    """The step computing tanh-form GELU of float32 ``x`` into ``out`` (module docstring, item
    2): ``x / (1 + exp(-2y))``; ``s``: float32 scratch of x's shape."""
    mult = np.multiply

    def step() -> None:
        mult(x, x, out=s)
        mult(s, TANH_C2, out=s)
        np.add(s, TANH_C0, out=s)
        mult(s, x, out=s)                     # -2y
        np.exp(s, out=s)
        np.add(s, ONE, out=s)
        np.divide(x, s, out=out)

    return step
