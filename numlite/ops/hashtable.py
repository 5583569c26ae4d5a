"""HASHTABLE: the handle of the hash table ``table_id`` (options: ``table_id``, ``key_dtype``,
``value_dtype``); the same id gives the same table in every subgraph.  The handle is computed
at prepare and folded (see ``_resource``); the table starts empty until HASHTABLE_IMPORT."""

from __future__ import annotations

import numpy as np

from ..graph import NUMPY_TYPES, TENSOR_TYPES
from ._resource import HashTable, publish_handle
from .base import Kernel, PrepareContext
from .registry import register

#: key -> value types TFLite's hash tables support
TABLE_TYPES = {("INT64", "STRING"), ("STRING", "INT64"), ("INT64", "INT64"), ("STRING", "STRING"),
               ("INT64", "FLOAT32"), ("STRING", "FLOAT32")}


@register("HASHTABLE", versions=(1,))
class Hashtable(Kernel):
    options_table = "HashtableOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if ctx.inputs or len(ctx.outputs) != 1:
            ctx.fail("takes no inputs and gives one resource handle")
        table_id = int(self.options.get("table_id") or 0)
        kt = TENSOR_TYPES.get(int(self.options.get("key_dtype") or 0))
        vt = TENSOR_TYPES.get(int(self.options.get("value_dtype") or 0))
        if (kt, vt) not in TABLE_TYPES:
            ctx.fail(f"hash tables from {kt} to {vt} are not supported; supported: "
                     + ", ".join(f"{k}->{v}" for k, v in sorted(TABLE_TYPES)))
        rid = ctx.runtime.resource_id("hashtable", "", str(table_id))
        table = ctx.runtime.resources.get(rid)
        if table is None:
            table = ctx.runtime.resources[rid] = HashTable(table_id, NUMPY_TYPES[kt], NUMPY_TYPES[vt])
        elif (table.key_dtype, table.value_dtype) != (np.dtype(NUMPY_TYPES[kt]), np.dtype(NUMPY_TYPES[vt])):
            ctx.fail(f"hash table {table_id} is also declared with other key/value types")
        publish_handle(ctx, rid)
