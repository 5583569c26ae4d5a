"""HASHTABLE_FIND: look up every element of input 1 (keys) in the hash table of handle input 0;
a key the table lacks gives input 2 (the default value, one element).  The output has the
keys' shape and the table's value type."""

from __future__ import annotations

import numpy as np

from ._resource import HashTable, ResourceKernel
from .base import PrepareContext, Step
from .registry import register


@register("HASHTABLE_FIND", versions=(1,))
class HashtableFind(ResourceKernel):
    options_table = "HashtableFindOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        self.check_handle(ctx)
        keys, default = ctx.input(1), ctx.input(2)
        out = ctx.outputs[0]
        if default.size != 1:
            ctx.fail(f"default value {default.describe()} must hold one element")
        if out.dtype is None or np.dtype(out.dtype) != np.dtype(default.dtype):
            ctx.fail(f"output {out.describe()} must have the default value's type {np.dtype(default.dtype).name}")
        ctx.set_output(0, keys.shape, default.dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        handle, keys, default = inputs
        out = outputs[0]
        flat_out = out.reshape(-1)
        lookup, where = self.lookup, self.where

        def step() -> None:
            table = lookup(handle, HashTable)
            if keys.dtype != table.key_dtype:
                raise RuntimeError(f"{where}: looks up {keys.dtype.name} keys in a table of {table.key_dtype.name}")
            d = default.reshape(-1)[0]
            get = table.data.get
            vals = [get(k, d) for k in keys.reshape(-1).tolist()]
            if vals:
                flat_out[:] = vals

        return step
