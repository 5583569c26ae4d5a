"""REDUCE_WINDOW (TFLite builtin, the deprecated form of STABLEHLO_REDUCE_WINDOW): reduce windows
of the input with a fixed function, version 1.

Inputs: input, init value (the input's type, one element), window_shape, window_strides,
window_dilations (int64 vectors, one entry per input dimension, constants).  Option
(``ReduceWindowOptions``): ``reduce_function`` ADD / MUL / MINIMUM / MAXIMUM / ALL / ANY.

1. No base dilation, no padding; otherwise as STABLEHLO_REDUCE_WINDOW (see
   stablehlo/_window.py): output dimension 0 where the dilated window exceeds the input, else
   ``(n - dilated_window) // stride + 1``; each window reduced from the init value in window order.
   MAXIMUM / MINIMUM follow LiteRT's ``acc >= x ? acc : x`` (NaN handling included); ALL / ANY give
   0 / 1 of the data type.
2. Types, as LiteRT 2.3: bool, int8, int16, int32, int64, uint8, float32, float64 (on bool, ADD and
   MUL are OR and AND).  Input rank 1 to 6.
3. LiteRT does not check the window values; numlite requires them positive (a zero stride would
   divide by zero) and the counts to match the input rank.  ``UNSUPPORTED`` (0) or unknown
   functions are refused at prepare (LiteRT fails at invoke).
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register
from .stablehlo._common import check_size
from .stablehlo._window import output_shape, reduce_step, window_views

INPUT, INIT, SHAPE, STRIDES, DILATIONS = range(5)
DTYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.float32, np.float64)
FUNCTIONS = {1: "add", 2: "mul", 3: "min", 4: "max", 5: "all", 6: "any"}


@register("REDUCE_WINDOW", versions=(1,))
class ReduceWindow(Kernel):
    options_table = "ReduceWindowOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(5)
        x, init = ctx.input(INPUT), ctx.input(INIT)
        ctx.expect_dtype(x, DTYPES)
        if np.dtype(init.dtype) != np.dtype(x.dtype) or init.size != 1:
            ctx.fail(f"init value {init.describe()} must be one element of the input's type {np.dtype(x.dtype).name}")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        if not 1 <= x.rank <= 6:
            ctx.fail(f"input {x.describe()} must have rank 1 to 6")
        fn = int(self.options.get("reduce_function") or 0)
        if fn not in FUNCTIONS:
            ctx.fail(f"reduce_function {fn} is not one of ADD, MUL, MINIMUM, MAXIMUM, ALL, ANY")
        self.kind = FUNCTIONS[fn]
        vals = []
        for i, role in ((SHAPE, "window_shape"), (STRIDES, "window_strides"), (DILATIONS, "window_dilations")):
            spec = ctx.input(i)
            ctx.expect_dtype(spec, (np.int64,), role)
            v = [int(a) for a in np.asarray(ctx.constant(i, role)).reshape(-1)]
            if len(v) != x.rank:
                ctx.fail(f"{role} {v} must have one entry per input dimension ({x.describe()})")
            if any(not 0 < a <= 2**31 for a in v):
                ctx.fail(f"{role} {v} must be positive (and fit int32)")
            vals.append(v)
        self.window, self.strides, self.dil = vals
        self.out_shape = output_shape(x.shape, *vals)
        check_size(ctx, self.out_shape)
        ctx.set_output(0, self.out_shape, x.dtype)
        self.mask_slot = ctx.scratch(self.out_shape, np.bool_) if np.dtype(x.dtype).kind == "f" else None

    def bind(self, inputs, outputs, scratch) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        views = window_views(inputs[INPUT], self.out_shape, self.window, self.strides, self.dil)
        mask = scratch[self.mask_slot] if self.mask_slot is not None else None
        return reduce_step(self.kind, views, inputs[INIT].reshape(()), out, mask)
