"""LEAKY_RELU: ``x if x > 0 else alpha * x``; float32, and quantized uint8 / int8 / int16.

Float (``alpha`` from LeakyReluOptions):

1. ``alpha <= 1``, not 0: ``max(x, alpha * x)``; ``alpha > 1``: ``min(x, alpha * x)``; two passes,
   exact (the argument of ``prelu``, step 3: negative alphas included).  On ties (zeros,
   infinities) the maximum returns ``alpha * x``, the reference kernel's choice (its test is
   ``x > 0``: ``0 * -0.5`` is ``-0.0``).
2. ``alpha == 0``: ``alpha * x`` then copy ``x`` where ``x > 0`` (a bool scratch buffer): the
   maximum would turn ``+inf`` into ``0 * inf = nan``.

Quantized (LiteRT's reference ``QuantizeLeakyRelu``, a lookup table built at prepare):

3. Multipliers in float32 as TFLite computes them: identity ``in_scale / out_scale`` and alpha
   ``in_scale * alpha / out_scale``; ``v = x - in_zp``; ``v >= 0``: ``out_zp + mbqm(v, identity)``,
   else ``out_zp + mbqm(v, alpha)`` (a negative alpha multiplies by ``|alpha|`` and negates,
   as the current reference kernel does); clamped.  int16 requires zero points of 0.
"""

from __future__ import annotations

import numpy as np

from ._tiling import tie_order
from ._unary import Q8_16, UnaryKernel
from .base import PrepareContext, Step, TensorSpec
from .quant import multiply_by_quantized_multiplier, quantize_multiplier
from .registry import register

ZERO = np.float32(0)


@register("LEAKY_RELU", versions=range(1, 3))
class LeakyRelu(UnaryKernel):
    options_table = "LeakyReluOptions"
    quantized = Q8_16

    def setup(self, ctx: PrepareContext, x: TensorSpec) -> None:
        self.alpha = np.float32(self.options.get("alpha") or 0.0)
        if not np.isfinite(self.alpha):
            ctx.fail(f"alpha {float(self.alpha)} is not finite")
        self.mask = ctx.scratch(x.shape, np.bool_) if self.alpha == 0 else None

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        alpha = self.alpha
        if self.mask is None:
            pick = np.maximum if alpha <= 1 else np.minimum
            ordered = tie_order(out, x)

            def two_pass() -> None:
                np.multiply(x, alpha, out=out)
                pick(*ordered, out=out)

            return two_pass
        m = scratch[self.mask]

        def masked() -> None:
            np.multiply(x, alpha, out=out)
            np.greater(x, ZERO, out=m)
            np.copyto(out, x, where=m)

        return masked

    def quant_table(self, ctx: PrepareContext, x: TensorSpec, out: TensorSpec, values: np.ndarray) -> np.ndarray:
        in_zp, out_zp = x.quantization.zero_point, out.quantization.zero_point
        if np.dtype(x.dtype) == np.int16 and (in_zp != 0 or out_zp != 0):
            ctx.fail(f"int16 input {x.describe()} and output need zero points of 0, got {in_zp} and {out_zp}")
        f32 = np.float32
        alpha = f32(self.options.get("alpha") or 0.0)
        in_s, out_s = f32(x.quantization.scale), f32(out.quantization.scale)
        with np.errstate(all="ignore"):
            qa, sa = quantize_multiplier(float(in_s * alpha / out_s))
            qi, si = quantize_multiplier(float(in_s / out_s))
        v = values - in_zp
        ident = multiply_by_quantized_multiplier(v, qi, si).astype(np.int64)
        scaled = multiply_by_quantized_multiplier(v, abs(int(qa)), sa).astype(np.int64)
        if qa < 0:
            scaled = -scaled
        return out_zp + np.where(v >= 0, ident, scaled)
