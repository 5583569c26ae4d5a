"""HASHTABLE_IMPORT: fill the hash table of handle input 0 with keys (input 1) and values
(input 2), element by element.  As TFLite's static tables, a table is filled once: importing
into a table that already holds data changes nothing (``reset_resource_variables`` empties it).
For a key given twice, the first value is kept."""

from __future__ import annotations

from ._resource import HashTable, ResourceKernel
from .base import PrepareContext, Step
from .registry import register


@register("HASHTABLE_IMPORT", versions=(1,))
class HashtableImport(ResourceKernel):
    options_table = "HashtableImportOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        self.check_handle(ctx)
        keys, values = ctx.input(1), ctx.input(2)
        if keys.size != values.size:
            ctx.fail(f"has {keys.size} keys ({keys.describe()}) but {values.size} values ({values.describe()})")

    def bind(self, inputs, outputs, scratch) -> Step:
        handle, keys, values = inputs
        lookup, where = self.lookup, self.where

        def step() -> None:
            table = lookup(handle, HashTable)
            if table.initialized:
                return
            if keys.dtype != table.key_dtype or values.dtype != table.value_dtype:
                raise RuntimeError(f"{where}: imports {keys.dtype.name} -> {values.dtype.name} into a table of "
                                   f"{table.key_dtype.name} -> {table.value_dtype.name}")
            data: dict = {}
            for k, v in zip(keys.reshape(-1).tolist(), values.reshape(-1).tolist()):
                data.setdefault(k, v)
            table.data = data
            table.initialized = True

        return step
