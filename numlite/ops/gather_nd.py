"""GATHER_ND: ``output[i...] = params[indices[i..., :]]``, matching LiteRT 2.3 (versions 1-6).

1. Params: bool, int8, uint8, int16, float16, int32, float32, int64 or strings, rank at least 1
   (quantized tensors are copied as stored; strings are object arrays of ``bytes`` and the output
   is one too, outside the arena, with the same static shape).  Indices: int16, int32 or int64,
   rank at least 1; their last dimension ``nd`` (0 to the params' rank) is the length of each
   index tuple.
2. Output shape: ``indices.shape[:-1] + params.shape[nd:]``; its dtype is the params'.
3. Params are viewed as a 2-D table of ``prod(params.shape[:nd])`` slices of
   ``prod(params.shape[nd:])`` elements; each index tuple becomes one row number (a dot product
   with the row strides, into an int64 scratch) and the step is one ``np.take`` of rows into
   the planned output (for strings, row references copied into the output's object array).
4. Every coordinate must lie in ``[0, params.shape[j])``: constant indices are checked at
   prepare (PrepareError), others at each invoke (RuntimeError naming the op and node; LiteRT
   fails the invoke too).  Params without elements are allowed only with indices without
   elements (LiteRT's rule).
"""

from __future__ import annotations

import numpy as np

from ._nd_index import NdIndex
from ._shape import reshaped
from .base import Kernel, PrepareContext, Step
from .registry import register

PARAMS, INDICES = 0, 1
GATHER_ND_DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.float16, np.int32, np.float32, np.int64,
                    np.object_)


@register("GATHER_ND", versions=range(1, 7))
class GatherNd(Kernel):
    options_table = "GatherNdOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        p, ix = ctx.input(PARAMS), ctx.input(INDICES)
        ctx.expect_dtype(p, GATHER_ND_DTYPES, "params")
        ctx.expect_dtype(ix, (np.int16, np.int32, np.int64), "indices")
        if p.rank < 1:
            ctx.fail(f"params {p.describe()} must be at least a vector")
        if ix.rank < 1:
            ctx.fail(f"indices {ix.describe()} must be at least a vector")
        nd = ix.shape[-1]
        if nd > p.rank:
            ctx.fail(f"index tuples of length {nd} ({ix.describe()}) exceed the rank of params {p.describe()}")
        if p.size == 0 and ix.size != 0:
            ctx.fail(f"params {p.describe()} are empty but indices {ix.describe()} are not")
        shape = ix.shape[:-1] + p.shape[nd:]
        ctx.set_output(0, shape, p.dtype)
        self.ix = NdIndex(p.shape, nd, int(np.prod(ix.shape[:-1], dtype=np.int64)))
        self.where = f"{self.op_name} (node {self.node.index})"
        self.lin_const = None
        if ix.value is not None or ix.size == 0:
            self.lin_const, bad = self.ix.constant_linear(ix.value)
            if bad is not None:
                ctx.fail(f"index {bad} is out of range for params {p.describe()}")
        else:
            self.lin_slot = ctx.scratch((self.ix.n,), np.int64)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        ixs = self.ix
        table = reshaped(inputs[PARAMS], (ixs.rows, ixs.slice))
        dst = reshaped(out, (ixs.n, ixs.slice))
        take = np.take
        if self.lin_const is not None:
            lin = self.lin_const
            return lambda: take(table, lin, axis=0, out=dst)
        lin, where, dims = scratch[self.lin_slot], self.where, ixs.dims.tolist()
        linearize = ixs.bind_linear(
            reshaped(inputs[INDICES], (ixs.n, ixs.nd)), lin,
            lambda bad: f"{where}: gather_nd index {bad} is out of range for params of leading dimensions {dims}")

        def step() -> None:
            linearize()
            take(table, lin, axis=0, out=dst)

        return step
