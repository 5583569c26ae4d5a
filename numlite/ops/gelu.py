"""GELU: ``x * Phi(x)``; versions 1-3, float32, float16, and quantized uint8 / int8 / int16 (as
LiteRT 2.3, whose kernel takes every dtype at every version).  The option ``approximate``
selects the tanh form ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``.

Float (see ``_unary``):

1. Exact form, as TFLite writes it to avoid cancellation: ``0.5 * x * erfc(-x / sqrt(2))``.
   NumPy has no ``erfc``, so numlite evaluates ``e = erfc(|x| / sqrt(2))`` in float64 with the
   Chebyshev-fitted formula of Numerical Recipes (``erfcc``: ``t * exp(-z*z + P(t))``,
   ``t = 1 / (1 + z/2)``, fractional error below 1.2e-7 for every ``z >= 0``) and takes
   ``x * e / 2`` for ``x < 0`` and ``x * (1 - e / 2)`` otherwise, rounded once to the output
   type.  LiteRT evaluates Eigen's float32 ``erfc``; results agree within about 1e-6 relative
   (tests: rtol 1e-5, atol 1e-6).  Scratch: three float64 arrays and one bool array like the input.
2. Tanh form: the formula above in float32 with NumPy's ``tanh`` (one float32 scratch).  LiteRT
   uses Eigen's rational ``tanh`` approximation, which differs from the correctly rounded tanh
   by a few ulp; where ``1 + tanh`` cancels (x below about -3) the absolute difference is a few
   ulp of 1 times ``|x|`` (tests: rtol 1e-5, atol 2e-6).
3. float16: the same float64 / float32 evaluation rounded once to half; LiteRT rounds every
   Eigen::half intermediate, so results differ by up to a few half ulp (tests: rtol 4e-3,
   atol 1e-3).  ``±inf`` give ``inf`` / nan (``-inf * 0``) as in LiteRT; nan stays nan.

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
# Numerical Recipes' erfcc: P(t) coefficients, highest degree first
ERFC_POLY = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
             0.37409196, 1.00002368, -1.26551223)
K_SQRT_2_OVER_PI = F32((2.0 / math.sqrt(math.pi)) * math.sqrt(0.5))
K_CUBE = F32(0.044715)
HALF, ONE = F32(0.5), F32(1.0)


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
        if self.approximate:
            self.slots = (ctx.scratch(x.shape, np.float32),)
        else:
            self.slots = tuple(ctx.scratch(x.shape, np.float64) for _ in range(3)) + (ctx.scratch(x.shape, np.bool_),)

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        mult, add = np.multiply, np.add
        if self.approximate:
            s = scratch[self.slots[0]]

            def tanh_form() -> None:
                mult(x, x, out=s)
                mult(s, x, out=s)
                mult(s, K_CUBE, out=s)
                add(s, x, out=s)
                mult(s, K_SQRT_2_OVER_PI, out=s)
                np.tanh(s, out=s)
                add(s, ONE, out=s)
                mult(s, x, out=s)
                mult(s, HALF, out=out, casting="same_kind")

            return tanh_form
        z, t, acc, pos = (scratch[k] for k in self.slots)
        c_top, c_mid, c_0 = ERFC_POLY[0], ERFC_POLY[1:-1], ERFC_POLY[-1]

        def erfc_form() -> None:
            np.abs(x, out=z)
            mult(z, INV_SQRT2, out=z)         # z = |x| / sqrt(2)
            mult(z, 0.5, out=t)
            add(t, 1.0, out=t)
            np.divide(1.0, t, out=t)          # t = 1 / (1 + z / 2)
            mult(t, c_top, out=acc)           # Horner: P(t)
            for c in c_mid:
                add(acc, c, out=acc)
                mult(acc, t, out=acc)
            add(acc, c_0, out=acc)
            mult(z, z, out=z)
            np.subtract(acc, z, out=acc)
            np.exp(acc, out=acc)
            mult(acc, t, out=acc)             # erfc(|x| / sqrt(2))
            mult(acc, 0.5, out=acc)           # Phi(-|x|)
            np.greater_equal(x, 0, out=pos)
            np.subtract(1.0, acc, out=acc, where=pos)
            mult(x, acc, out=out, casting="same_kind")

        return erfc_form

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
