"""STABLEHLO_PAD: pad (or, with negative edge padding, crop) with a scalar value, version 1.

Inputs: operand, padding value (one element, the operand's type).  Options
(``StablehloPadOptions``): ``edge_padding_low``, ``edge_padding_high``, ``interior_padding``, one
entry per operand dimension.

1. Output dimension ``d``: ``(n - 1) * (interior + 1) + 1 + low + high``.  Input element ``i``
   lands at ``low + i * (interior + 1)``; elements landing outside the output are cropped; every
   other element is the padding value.
2. As LiteRT 2.3: when any output dimension comes out zero or negative, the output shape is all
   zeros (of the operand's rank).  An empty operand dimension uses the same formula.
3. Types: every numeric type and bool (LiteRT copies bytes); quantization parameters are not
   read.  The three option vectors must have the operand's rank (LiteRT reads fixed-size arrays),
   interior padding must be non-negative, the operand's rank 1 to 8 and the output must fit int32
   dimensions (LiteRT 2.3's checks).
4. The step fills the output with the value and copies the kept input elements through one
   strided slice (views computed at prepare).
"""

from __future__ import annotations

import numpy as np

from ..base import Kernel, PrepareContext, Step
from ..registry import register
from ._common import NUMERIC_BOOL, check_size, int_option, interior_pad

OPERAND, VALUE = 0, 1
MAX_RANK = 8  # LiteRT's TFLITE_STABLEHLO_PAD_PARAMS_MAX_DIMENSION_COUNT


@register("STABLEHLO_PAD", versions=(1,))
class StablehloPad(Kernel):
    options_table = "StablehloPadOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, v = ctx.input(OPERAND), ctx.input(VALUE)
        ctx.expect_dtype(x, NUMERIC_BOOL)
        if np.dtype(v.dtype) != np.dtype(x.dtype):
            ctx.fail(f"padding value {v.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        if v.size != 1:
            ctx.fail(f"padding value {v.describe()} must hold one element")
        if not 1 <= x.rank <= MAX_RANK:
            ctx.fail(f"operand {x.describe()} must have rank 1 to {MAX_RANK}")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        opts = [int_option(self.options, n) for n in ("edge_padding_low", "edge_padding_high", "interior_padding")]
        for name, vals in zip(("edge_padding_low", "edge_padding_high", "interior_padding"), opts):
            if len(vals) != x.rank:
                ctx.fail(f"{name} has {len(vals)} entries; the operand {x.describe()} has rank {x.rank}")
            if any(abs(p) > 2**31 for p in vals):
                ctx.fail(f"{name} {list(vals)} has entries beyond the int32 range")
        low, high, interior = opts
        if any(p < 0 for p in interior):
            ctx.fail(f"interior_padding {list(interior)} must be non-negative")
        shape, self.dst, self.src = interior_pad(x.shape, low, high, interior)
        if any(d <= 0 for d in shape):
            shape, self.dst, self.src = [0] * x.rank, None, None
        check_size(ctx, shape)
        ctx.set_output(0, shape, x.dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        out, x = outputs[0], inputs[OPERAND]
        value = inputs[VALUE].reshape(())
        copyto = np.copyto
        if out.size == 0:
            return lambda: None
        if self.dst is None:
            return lambda: copyto(out, value)
        dst, src = out[self.dst], x[self.src]

        def step() -> None:
            copyto(out, value)
            copyto(dst, src)

        return step
