"""ADD: elementwise sum with broadcasting and fused activation.

1. float32, int32, int64, and int16 without quantization: one ufunc call; integer results wrap
   around (two's complement), as in LiteRT.
2. Quantized int8 / uint8, and int16 with a quantized output (``_qbinary``), as TFLite's
   reference kernel: each input has its zero point removed, is shifted left by 20 bits (15 for
   int16) and rescaled by ``scale_i / (2 * max(scale_1, scale_2))``; the sum is rescaled by
   ``2 * max_scale / (2**left_shift * out_scale)``, the output zero point added and the fused
   activation's quantized range applied.  Every multiplier must lie in (0, 1) (LiteRT aborts
   otherwise; numlite reports it at prepare).
3. int16 whose three scales are powers of two (with AddOptions.pot_scale_int16, the default):
   the LSTM path - the input at a finer scale is rounded down to the output scale by a shift
   and the two are added.  Zero points must be 0.  LiteRT's reference kernel does not
   broadcast on this path, so numlite rejects broadcasting shapes there.
"""

from __future__ import annotations

import numpy as np

from ._binary import BinaryKernel
from ._qbinary import (
    QuantizedStep,
    add_sub_pot_raw,
    add_sub_raw,
    quantized_activation_range,
    require_quantized,
    require_zero_points_zero,
)
from .base import PrepareContext, TensorSpec
from .registry import register


def prepare_add_sub(kernel: BinaryKernel, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec,
                    sign: int) -> QuantizedStep:
    """Shared by ADD (sign +1) and SUB (sign -1)."""
    require_quantized(ctx, [a, b, out])
    if np.dtype(out.dtype) != np.dtype(a.dtype):
        ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes "
                 f"{np.dtype(a.dtype).name}")
    lo, hi = quantized_activation_range(ctx, kernel.act, out)
    is16 = np.dtype(a.dtype) == np.int16
    raw, gather = None, None
    if is16:
        require_zero_points_zero(ctx, [a, b, out])
        if kernel.options.get("pot_scale_int16", True):
            raw = add_sub_pot_raw(ctx, a, b, out, sign)
            if raw is not None and sign > 0 and tuple(a.shape) != tuple(b.shape):
                ctx.fail(f"int16 ADD with power-of-two scales does not broadcast ({a.describe()} vs "
                         f"{b.describe()}), as in LiteRT's reference kernel")
    if raw is None:
        raw, gather = add_sub_raw(ctx, a, b, out, sign, left_shift=15 if is16 else 20, greater_than_one_ok=sign < 0)
    return QuantizedStep(ctx, a, b, raw, lo, hi, out.dtype, gather)


@register("ADD", versions=range(1, 7))
class Add(BinaryKernel):
    options_table = "AddOptions"
    dtypes = (np.float32, np.int32, np.int64, np.int16)
    qdtypes = (np.int8, np.uint8, np.int16)
    ufunc = np.add

    def prepare_quantized(self, ctx: PrepareContext, a: TensorSpec, b: TensorSpec, out: TensorSpec) -> QuantizedStep:
        return prepare_add_sub(self, ctx, a, b, out, +1)
