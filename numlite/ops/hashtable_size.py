"""HASHTABLE_SIZE: the number of entries of the hash table of handle input 0, as int64 [1]."""

from __future__ import annotations

import numpy as np

from ._resource import HashTable, ResourceKernel
from .base import PrepareContext, Step
from .registry import register


@register("HASHTABLE_SIZE", versions=(1,))
class HashtableSize(ResourceKernel):
    options_table = "HashtableSizeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        self.check_handle(ctx)
        ctx.set_output(0, (1,), np.int64)

    def bind(self, inputs, outputs, scratch) -> Step:
        handle, out = inputs[0], outputs[0]
        lookup = self.lookup

        def step() -> None:
            out[0] = len(lookup(handle, HashTable).data)

        return step
