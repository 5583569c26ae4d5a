"""Resources: state that lives in the interpreter, outside any tensor, across ``invoke()`` calls.

TFLite keeps resource variables (VAR_HANDLE / READ_VARIABLE / ASSIGN_VARIABLE) and hash tables
(HASHTABLE / HASHTABLE_IMPORT / HASHTABLE_FIND / HASHTABLE_SIZE) in a map owned by the
interpreter, keyed by an int32 resource id; a RESOURCE tensor holds that id.  numlite does the
same with ``Runtime.resources``:

1. A handle op computes its id at prepare (from its options: a variable's container and shared
   name, a table's ``table_id``) and publishes it as the value of its output, so it is folded:
   the id is a constant from then on, and other subgraphs receive it as a plain int32 tensor.
2. The ops that use a resource read the id from their input at invoke and look the resource up;
   a handle that names no resource is an error naming the op, node and subgraph.
3. ``Interpreter.reset_all_variables()`` leaves resources alone (as LiteRT does);
   ``Interpreter.reset_resource_variables()`` forgets them all and re-arms CALL_ONCE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Kernel, PrepareContext, TensorSpec


class ResourceVariable:
    """A resource variable: no value until its first ASSIGN_VARIABLE."""

    __slots__ = ("name", "value")

    def __init__(self, name: str):
        self.name = name
        self.value: np.ndarray | None = None

    def reset(self) -> None:
        self.value = None


class HashTable:
    """A static hash table: filled once by HASHTABLE_IMPORT, then only read."""

    __slots__ = ("table_id", "key_dtype", "value_dtype", "data", "initialized")

    def __init__(self, table_id: int, key_dtype: Any, value_dtype: Any):
        self.table_id = table_id
        self.key_dtype = np.dtype(key_dtype)
        self.value_dtype = np.dtype(value_dtype)
        self.data: dict[Any, Any] = {}
        self.initialized = False

    def reset(self) -> None:
        self.data = {}
        self.initialized = False


class ResourceKernel(Kernel):
    """Kernels that read a resource id from input ``RESOURCE`` at invoke."""

    foldable = False

    def check_handle(self, ctx: PrepareContext, slot: int = 0) -> TensorSpec:
        h = ctx.input(slot)
        if h.type_name not in ("RESOURCE", "INT32") or np.dtype(h.dtype) != np.int32 or h.size != 1:
            ctx.fail(f"input {slot} {h.describe()} must be one resource handle (a RESOURCE tensor)")
        self.runtime = ctx.runtime
        self.where = f"{self.node.op_name} (node {self.node.index}" + (
            f" of subgraph {ctx.subgraph})" if ctx.subgraph else ")")
        return h

    def lookup(self, handle: np.ndarray, kind: type) -> Any:
        rid = int(handle.reshape(-1)[0])
        res = self.runtime.resources.get(rid)
        if res is None or not isinstance(res, kind):
            what = "resource variable" if kind is ResourceVariable else "hash table"
            raise RuntimeError(f"{self.where}: resource {rid} is not a {what} that exists "
                               f"(known resources: {sorted(self.runtime.resources)})")
        return res


def publish_handle(ctx: PrepareContext, rid: int) -> None:
    """Give a handle op's output the resource id as a known value (folded: a constant from then on);
    an output declared with one element keeps its shape, as TFLite writes it."""
    out = ctx.outputs[0]
    ctx.set_output_value(0, np.full(out.shape if out.size == 1 else (), rid, np.int32))
