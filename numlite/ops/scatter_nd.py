"""SCATTER_ND: a zero tensor of shape ``shape`` with ``updates`` added at ``indices`` (version 1).

``output[indices[i..., :]] += updates[i...]``, starting from zeros, as LiteRT 2.3:

1. Inputs: indices (int32; numlite also takes int64, which LiteRT 2.3 refuses), updates
   (float32, int32, int64, uint8, int8 or bool, as LiteRT; quantized tensors are moved as
   stored, their parameters are not read) and shape (a vector of the indices' type, known at
   prepare: a constant or folded from constants and shapes).  The output takes the updates'
   dtype.
2. Checks at prepare: indices have rank at least 1; their last dimension ``nd`` is at most
   ``len(shape)``; ``updates.shape == indices.shape[:-1] + shape[nd:]``; shape has no negative
   entry.
3. The output is viewed as a 2-D table of ``prod(shape[:nd])`` rows of ``prod(shape[nd:])``
   elements; each index tuple becomes one row number (a dot product with the row strides, into
   an int64 scratch).
4. The step zeroes the output and adds each update row at its row number, in index order
   (``np.add.at``): duplicate indices accumulate as in TFLite (floats summed in the same order,
   integers wrapping, bool OR-ed).  Constant indices without duplicates store rows directly.
5. Every coordinate must lie in ``[0, shape[j])`` (TFLite checks each dimension, not the flat
   offset): constant indices are checked at prepare (PrepareError), others at each invoke
   (RuntimeError naming the op, node and indices tensor), as LiteRT fails the invoke.
"""

from __future__ import annotations

import numpy as np

from ._nd_index import NdIndex
from ._shape import reshaped
from .base import Kernel, PrepareContext, Step
from .registry import register

INDICES, UPDATES, SHAPE = 0, 1, 2
INDEX_DTYPES = (np.int32, np.int64)
UPDATE_DTYPES = (np.float32, np.int32, np.int64, np.uint8, np.int8, np.bool_)


@register("SCATTER_ND", versions=(1,))
class ScatterNd(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        ix, up, sh = ctx.input(INDICES), ctx.input(UPDATES), ctx.input(SHAPE)
        ctx.expect_dtype(ix, INDEX_DTYPES, "indices")
        ctx.expect_dtype(up, UPDATE_DTYPES, "updates")
        if np.dtype(sh.dtype) != np.dtype(ix.dtype):
            ctx.fail(f"shape {sh.describe()} must have the type of indices {ix.describe()}")
        if sh.rank != 1:
            ctx.fail(f"shape {sh.describe()} must be a vector")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(up.dtype):
            ctx.fail(f"output {out.describe()} must have the type of updates {up.describe()}")
        if ix.rank < 1:
            ctx.fail(f"indices {ix.describe()} must be at least a vector")
        if sh.size == 0:
            shape: list[int] = []
        else:
            shape = [int(d) for d in np.asarray(ctx.constant(SHAPE, "the shape input")).reshape(-1)]
        if any(d < 0 for d in shape):
            ctx.fail(f"shape {shape} ({sh.describe()}) has a negative dimension")
        nd = ix.shape[-1]
        if nd > len(shape):
            ctx.fail(f"index tuples of length {nd} ({ix.describe()}) exceed the output rank {len(shape)}")
        want = tuple(ix.shape[:-1]) + tuple(shape[nd:])
        if tuple(up.shape) != want:
            ctx.fail(f"updates {up.describe()} must have shape {list(want)} (indices {ix.describe()}, "
                     f"shape {shape})")
        ctx.set_output(0, shape, up.dtype)
        self.ix = NdIndex(shape, nd, int(np.prod(ix.shape[:-1], dtype=np.int64)))
        self.where = f"{self.op_name} (node {self.node.index})"
        self.indices_name = ix.describe()
        self.lin_const = None
        self.unique = False
        if ix.value is not None or ix.size == 0:
            self.lin_const, bad = self.ix.constant_linear(ix.value)
            if bad is not None:
                ctx.fail(f"index {bad} of indices {ix.describe()} is out of range for shape {shape}")
            self.unique = np.unique(self.lin_const).size == self.ix.n
        else:
            self.lin_slot = ctx.scratch((self.ix.n,), np.int64)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if out.size == 0:
            return lambda: None
        ixs = self.ix
        if ixs.n == 0 or ixs.slice == 0:
            return lambda: out.fill(0)
        table = reshaped(out, (ixs.rows, ixs.slice))
        upd = reshaped(inputs[UPDATES], (ixs.n, ixs.slice))
        add_at = np.add.at
        if self.lin_const is not None:
            lin = self.lin_const
            if self.unique:
                def store() -> None:
                    out.fill(0)
                    table[lin] = upd

                return store

            def accumulate() -> None:
                out.fill(0)
                add_at(table, lin, upd)

            return accumulate
        lin, where, name, dims = scratch[self.lin_slot], self.where, self.indices_name, ixs.dims.tolist()
        linearize = ixs.bind_linear(
            reshaped(inputs[INDICES], (ixs.n, ixs.nd)), lin,
            lambda bad: f"{where}: index {bad} of indices {name} is out of range for output dimensions {dims}")

        def step() -> None:
            linearize()
            out.fill(0)
            add_at(table, lin, upd)

        return step
