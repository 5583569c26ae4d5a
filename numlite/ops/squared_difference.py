"""SQUARED_DIFFERENCE: ``(a - b) ** 2`` with broadcasting, no activation.

1. float32, int32 (int32 wraps): two ufunc passes into the output view.
2. Quantized int8 (``_qbinary``), as TFLite's kernel: each input has its zero point removed, is
   shifted left by 7 bits and rescaled by ``scale_i / (2 * max_scale)``; the difference is
   squared in int32 and rescaled by ``(2 * max_scale)**2 / (2**14 * out_scale)``, the output
   zero point added and the result clamped to int8.  Multipliers must lie in (0, 1).
"""

from __future__ import annotations

import numpy as np

from . import quant
from ._binary import BinaryKernel
from ._qbinary import (
    QuantizedStep,
    multiplier_below_one,
    require_quantized,
    require_zero_points_in_range,
    rescale_input,
    type_range,
)
from .base import PrepareContext, Step, TensorSpec
from .registry import register


@register("SQUARED_DIFFERENCE", versions=range(1, 3))
class SquaredDifference(BinaryKernel):
    options_table = "SquaredDifferenceOptions"
    dtypes = (np.float32, np.int32)
    qdtypes = (np.int8,)
    has_activation = False

    def compute(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Step:
        def step() -> None:
            np.subtract(a, b, out=out)
            np.multiply(out, out, out=out)

        return step

    def prepare_quantized(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec) -> QuantizedStep:
        require_quantized(ctx, [a, b, out])
        if np.dtype(out.dtype) != np.dtype(np.int8):
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes int8")
        require_zero_points_in_range(ctx, [a, b, out], np.int8)
        s1, s2, so = (np.float32(t.quantization.scale) for t in (a, b, out))
        twice_max = float(np.float32(2) * max(s1, s2))
        m1 = multiplier_below_one(ctx, float(s1) / twice_max, "input 1")
        m2 = multiplier_below_one(ctx, float(s2) / twice_max, "input 2")
        mo = multiplier_below_one(ctx, twice_max * twice_max / float(np.float32(1 << 14) * so), "output")
        o1, o2, oo = -a.quantization.zero_point, -b.quantization.zero_point, out.quantization.zero_point

        def raw(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            d = rescale_input(np.asarray(x), o1, 7, *m1) - rescale_input(np.asarray(y), o2, 7, *m2)
            return quant.multiply_by_quantized_multiplier(d * d, *mo).astype(np.int64) + oo

        lo, hi = type_range(np.int8)
        return QuantizedStep(ctx, a, b, raw, lo, hi, np.int8)
