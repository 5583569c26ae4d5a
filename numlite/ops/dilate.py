"""DILATE (TFLite builtin): spread the input's elements ``dilations`` apart, filling the gaps with
a padding value, version 1.

Inputs: input (rank >= 1), dilations (int32, one entry >= 1 per input dimension), padding value
(one element of the input's type).

1. Output dimension: ``(n - 1) * d + 1``; input element ``i`` goes to ``i * d``, every other element
   is the padding value.  (An empty input dimension gives ``1 - d``: an error unless ``d`` is 1.)
2. Types: every numeric type and bool (LiteRT copies bytes; quantization parameters are not read).
3. Constant dilations: the shape is set at prepare and the step is a fill and one strided copy
   (views made at bind).  Dilations computed at run time: the output is dynamic, as in LiteRT,
   and the step checks them and makes the views each time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import Kernel, PrepareContext, Step, check_alloc
from .registry import register
from .stablehlo._common import INT32_MAX, NUMERIC_BOOL, check_size

INPUT, DILATIONS, VALUE = 0, 1, 2


def dilated_shape(shape: Sequence[int], dil: Sequence[int]) -> list[int]:
    return [(n - 1) * d + 1 for n, d in zip(shape, dil)]


@register("DILATE", versions=(1,))
class Dilate(Kernel):
    options_table = "DilateOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        x, d, v = ctx.input(INPUT), ctx.input(DILATIONS), ctx.input(VALUE)
        ctx.expect_dtype(x, NUMERIC_BOOL)
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank 1 or more")
        ctx.expect_dtype(d, (np.int32,), "dilations")
        if d.shape != (x.rank,):
            ctx.fail(f"dilations {d.describe()} must be a vector with one entry per input dimension ({x.rank})")
        if np.dtype(v.dtype) != np.dtype(x.dtype) or v.size != 1:
            ctx.fail(f"padding value {v.describe()} must be one element of the input's type {np.dtype(x.dtype).name}")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        self.in_shape = tuple(x.shape)
        if d.value is None:
            self.dil = None
            ctx.set_output_dynamic(0, x.dtype)
            return
        self.dil = [int(a) for a in d.value.reshape(-1)]
        if any(a < 1 for a in self.dil):
            ctx.fail(f"dilations {self.dil} must all be 1 or more")
        shape = dilated_shape(x.shape, self.dil)
        check_size(ctx, shape)
        ctx.set_output(0, shape, x.dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        x, value, out = inputs[INPUT], inputs[VALUE].reshape(()), outputs[0]
        copyto = np.copyto
        if self.dil is None:
            dil_in, op = inputs[DILATIONS], self

            def dynamic() -> None:
                dil = [int(a) for a in dil_in.reshape(-1)]
                if any(a < 1 for a in dil):
                    raise RuntimeError(f"DILATE (node {op.node.index}): dilations {dil} must all be 1 or more")
                shape = dilated_shape(x.shape, dil)
                if any(n < 0 for n in shape) or int(np.prod([float(n) for n in shape])) > INT32_MAX:
                    raise RuntimeError(f"DILATE (node {op.node.index}): dilations {dil} give the output shape {shape}")
                check_alloc(f"DILATE (node {op.node.index})", shape, x.dtype)
                res = np.empty(shape, x.dtype)
                copyto(res, value)
                if res.size:
                    copyto(res[tuple(slice(None, None, a) for a in dil)], x)
                out.set(res)

            return dynamic
        if out.size == 0:
            return lambda: None
        dst = out[tuple(slice(None, None, a) for a in self.dil)]

        def step() -> None:
            copyto(out, value)
            copyto(dst, x)

        return step
