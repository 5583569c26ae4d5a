"""READ_VARIABLE: the value of the resource variable of handle input 0.

1. The output's shape is the variable's, known only at invoke: the output is dynamic, first
   guessed as the variable's current shape (when the handle and the value are known at prepare)
   or the model's declared shape, so models whose variables keep one shape prepare nothing
   again after the first invoke.
2. A variable that has never been assigned cannot be read: a RuntimeError naming the op, node,
   subgraph and variable (LiteRT refuses it too).
3. The variable's type must be the output tensor's type.
"""

from __future__ import annotations

import numpy as np

from ._resource import ResourceKernel, ResourceVariable
from .base import PrepareContext, Step
from .registry import register


@register("READ_VARIABLE", versions=(1,))
class ReadVariable(ResourceKernel):
    options_table = "ReadVariableOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        h = self.check_handle(ctx)
        out = ctx.outputs[0]
        if out.dtype is None:
            ctx.fail(f"output {out.describe()} has a type numlite cannot hold")
        if h.value is not None:
            var = ctx.runtime.resources.get(int(h.value.reshape(-1)[0]))
            if isinstance(var, ResourceVariable) and var.value is not None and var.value.dtype == out.dtype:
                ctx.set_output(0, var.value.shape)
        ctx.set_output_dynamic(0)

    def bind(self, inputs, outputs, scratch) -> Step:
        handle, out = inputs[0], outputs[0]
        lookup, where, want = self.lookup, self.where, out.dtype

        def step() -> None:
            var = lookup(handle, ResourceVariable)
            if var.value is None:
                raise RuntimeError(f"{where}: resource variable {var.name!r} is read before any ASSIGN_VARIABLE "
                                   "gave it a value")
            if var.value.dtype != want:
                raise RuntimeError(f"{where}: resource variable {var.name!r} holds {var.value.dtype.name}, the "
                                   f"output tensor is {np.dtype(want).name}")
            out.set(var.value, borrowed=True)  # never the variable's own array: a later assignment would show

        return step
