"""STABLEHLO_GATHER: gather slices of the operand at start indices, version 1 (StableHLO's gather).

Inputs: operand, start_indices (int32 / int64).  Options (``StablehloGatherOptions``):
``offset_dims``, ``collapsed_slice_dims``, ``start_index_map``, ``index_vector_dim``,
``slice_sizes``, ``indices_are_sorted`` (a hint, not read).

1. Batch dimensions are the start_indices dimensions other than ``index_vector_dim`` (which holds
   the index vectors; when it equals the rank of start_indices each index is a one-element vector).
   Each index vector is scattered into an operand start position through ``start_index_map``
   (other dimensions start at 0), then clamped to ``[0, operand_dim - slice_size]`` so the slice
   fits (StableHLO's rule; LiteRT 2.3 clamps only from above and reads outside the operand for
   negative starts).
2. The result has ``len(offset_dims)`` slice dimensions (the slice sizes without the collapsed
   dimensions, which must have size 1) at the positions ``offset_dims`` and the batch dimensions,
   in order, at the others.
3. Types, as LiteRT 2.3: float16/32/64, int8/16/32/64, uint8/16/32/64 (quantization parameters
   are not read).  Every option is checked at prepare (ranges, uniqueness, counts), so hostile
   options give an error naming the op and node.
4. Prepare computes the flat offsets of one slice in the operand, the operand strides and the
   result's axis permutation; the step reads the index vectors, clamps them, adds the slice
   offsets and takes the elements (``np.take``) into the planned output.
"""

from __future__ import annotations

import numpy as np

from ..base import Kernel, PrepareContext, Step
from ..registry import register
from ._common import NUMERIC, check_size, int_option

OPERAND, INDICES = 0, 1


def check_dims(ctx: PrepareContext, name: str, dims: tuple[int, ...], limit: int, unique: bool = True) -> None:
    if any(not 0 <= d < limit for d in dims):
        ctx.fail(f"{name} {list(dims)} has entries outside [0, {limit})")
    if unique and len(set(dims)) != len(dims):
        ctx.fail(f"{name} {list(dims)} has repeated entries")


def index_vectors(idx: np.ndarray, ivd: int) -> np.ndarray:
    """The index vectors of ``idx`` as int64 rows (batch dimensions flattened in order)."""
    if ivd == idx.ndim:
        return idx.reshape(-1, 1).astype(np.int64)
    return np.moveaxis(idx, ivd, -1).reshape(-1, idx.shape[ivd]).astype(np.int64)


@register("STABLEHLO_GATHER", versions=(1,))
class StablehloGather(Kernel):
    options_table = "StablehloGatherOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, idx = ctx.input(OPERAND), ctx.input(INDICES)
        ctx.expect_dtype(x, NUMERIC)
        ctx.expect_dtype(idx, (np.int32, np.int64), "start_indices")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the operand's type {np.dtype(x.dtype).name}")
        o = self.options
        offset_dims = int_option(o, "offset_dims")
        collapsed = int_option(o, "collapsed_slice_dims")
        start_map = int_option(o, "start_index_map")
        sizes = int_option(o, "slice_sizes")
        ivd = int(o.get("index_vector_dim") or 0)
        r = x.rank
        if not 0 <= ivd <= idx.rank:
            ctx.fail(f"index_vector_dim {ivd} is outside [0, {idx.rank}] for start_indices {idx.describe()}")
        k = idx.shape[ivd] if ivd < idx.rank else 1
        batch = [d for j, d in enumerate(idx.shape) if j != ivd]
        if len(sizes) != r:
            ctx.fail(f"slice_sizes {list(sizes)} must have one entry per operand dimension ({x.describe()})")
        for d, (s, n) in enumerate(zip(sizes, x.shape)):
            if not 0 <= s <= n:
                ctx.fail(f"slice_sizes[{d}] = {s} is outside [0, {n}] (operand {x.describe()})")
        check_dims(ctx, "collapsed_slice_dims", collapsed, r)
        for d in collapsed:
            if sizes[d] != 1:
                ctx.fail(f"collapsed slice dimension {d} must have slice size 1, not {sizes[d]}")
        check_dims(ctx, "start_index_map", start_map, r)
        if len(start_map) != k:
            ctx.fail(f"start_index_map {list(start_map)} must have one entry per index vector element ({k})")
        result_rank = len(batch) + len(offset_dims)
        check_dims(ctx, "offset_dims", offset_dims, result_rank)
        if list(offset_dims) != sorted(offset_dims):
            ctx.fail(f"offset_dims {list(offset_dims)} must be sorted")
        kept = [d for d in range(r) if d not in collapsed]
        if len(offset_dims) != len(kept):
            ctx.fail(f"offset_dims {list(offset_dims)} must have one entry per slice dimension that is not "
                     f"collapsed ({len(kept)})")
        # the result as taken: (batch..., kept slice dims...); perm puts the axes in result order
        order, bi, si = [], 0, len(batch)
        shape = []
        for d in range(result_rank):
            if d in offset_dims:
                order.append(si)
                shape.append(sizes[kept[si - len(batch)]])
                si += 1
            else:
                order.append(bi)
                shape.append(batch[bi])
                bi += 1
        check_size(ctx, shape)
        ctx.set_output(0, shape, x.dtype)
        self.perm = order
        self.taken_shape = (*batch, *[sizes[d] for d in kept])
        self.ivd, self.start_map = ivd, list(start_map)
        strides = np.array([int(np.prod(x.shape[d + 1:], dtype=np.int64)) for d in range(r)], np.int64)
        self.strides = strides
        self.limit = np.array([n - s for n, s in zip(x.shape, sizes)], np.int64)
        grids = np.indices(sizes, dtype=np.int64).reshape(r, -1) if r else np.zeros((0, 1), np.int64)
        self.window = (strides @ grids) if r else np.zeros(1, np.int64)
        self.r = r

    def bind(self, inputs, outputs, scratch) -> Step:
        x, idx, out = inputs[OPERAND], inputs[INDICES], outputs[0]
        if out.size == 0:
            return lambda: None
        flat_x = x.reshape(-1)
        ivd, start_map, strides, limit, window, r = (self.ivd, self.start_map, self.strides, self.limit,
                                                     self.window, self.r)
        taken_shape, dst = self.taken_shape, np.transpose(out, np.argsort(self.perm))

        def step() -> None:
            vec = index_vectors(idx, ivd)
            start = np.zeros((vec.shape[0], r), np.int64)
            start[:, start_map] = vec
            np.clip(start, 0, limit, out=start)
            flat = (start @ strides)[:, None] + window[None, :]
            np.copyto(dst, np.take(flat_x, flat).reshape(taken_shape))

        return step
