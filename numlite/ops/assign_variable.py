"""ASSIGN_VARIABLE: store a copy of input 1 in the resource variable of handle input 0.

The variable takes the value's shape and type (a later assignment may change them, as in
TFLite); assigning the same shape again copies into the array it already has."""

from __future__ import annotations

import numpy as np

from ._resource import ResourceKernel, ResourceVariable
from .base import PrepareContext, Step
from .registry import register


@register("ASSIGN_VARIABLE", versions=(1,))
class AssignVariable(ResourceKernel):
    options_table = "AssignVariableOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        if ctx.outputs:
            ctx.fail(f"gives no outputs, has {len(ctx.outputs)}")
        self.check_handle(ctx)

    def bind(self, inputs, outputs, scratch) -> Step:
        handle, value = inputs
        lookup = self.lookup

        def step() -> None:
            var = lookup(handle, ResourceVariable)
            cur = var.value
            if cur is not None and cur.shape == value.shape and cur.dtype == value.dtype:
                np.copyto(cur, value)
            else:
                var.value = np.array(value)

        return step
