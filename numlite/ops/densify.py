"""DENSIFY: a sparse constant tensor (TFLite's sparsity format) made dense, once, at prepare.

The format (schema ``SparsityParameters``): the dense shape of rank ``r`` is optionally split
into blocks (``block_map[k]`` names the dimension cut into blocks, giving ``r + len(block_map)``
expanded dimensions); ``traversal_order`` orders the expanded dimensions into levels, and
``dim_metadata[level]`` is either DENSE (``dense_size`` entries) or SPARSE_CSR (for the ``p``-th
node of the level above, children ``array_indices[array_segments[p]:array_segments[p + 1]]``;
the vectors may be int32, uint16 or uint8).  The tensor's buffer holds the leaf values in
traversal order.

Algorithm (``densify``), LiteRT's ``FormatConverter::SparseToDense`` level by level, vectorised:
1. Start with one node (position 0).  At a DENSE level each node gets ``dense_size`` children
   (position ``p * size + i``); at a SPARSE_CSR level node ``p`` gets the children its segment
   names (position = their index in ``array_indices``), skipping segments past the vectors'
   ends as LiteRT does.  Every leaf keeps its per-level coordinates.
2. The coordinates map back to the dense index: the first ``r`` levels give the block
   coordinates of dimensions ``traversal_order[level]``; a block level adds
   ``coordinate_in_block`` to ``block_coordinate * block_size`` of dimension ``block_map[k]``.
   Block sizes are ``dim_metadata[traversal_order[r + k]].dense_size``, as LiteRT reads them.
3. The ``n``-th leaf receives the ``n``-th stored value; every other element is zero.
A model whose leaves outnumber the stored values, or land outside the dense shape, is refused
(LiteRT would read or write out of bounds).

Types: float32, float16, int8 (as LiteRT).  The output is published with ``set_output_value``,
so the node never runs at invoke.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Kernel, PrepareContext, TensorSpec
from .registry import register

DENSE, SPARSE_CSR = 0, 1
DTYPES = (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.int8))


class SparsityError(ValueError):
    """The sparsity parameters are inconsistent with the tensor."""


def _ints(v: Any) -> np.ndarray:
    if v is None:
        return np.zeros(0, np.int64)
    if isinstance(v, dict):  # a SparseIndexVector union member: {"values": [...]}
        v = v.get("values")
    return np.asarray(v if v is not None else [], dtype=np.int64).reshape(-1)


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity: Any) -> np.ndarray:
    """The dense array of ``shape`` that sparse ``values`` with ``sparsity`` encode."""
    traversal = [int(t) for t in _ints(sparsity.get("traversal_order"))]
    block_map = [int(t) for t in _ints(sparsity.get("block_map"))]
    levels = list(sparsity.get("dim_metadata") or [])
    rank = len(shape)
    if len(levels) != len(traversal) or len(traversal) != rank + len(block_map):
        raise SparsityError(f"{len(levels)} dim_metadata entries and traversal_order {traversal} do not fit rank "
                            f"{rank} with {len(block_map)} block dimension(s)")
    if sorted(traversal) != list(range(len(traversal))) or any(not 0 <= d < rank for d in block_map):
        raise SparsityError(f"traversal_order {traversal} / block_map {block_map} are not valid permutations")
    dense_sizes = [int(m.get("dense_size") or 0) for m in levels]
    block_size = [dense_sizes[traversal[rank + k]] for k in range(len(block_map))]
    # 1. expand level by level
    pos = np.zeros(1, np.int64)
    coords: list[np.ndarray] = []
    for level, meta in enumerate(levels):
        fmt = int(meta.get("format") or 0)
        if fmt == DENSE:
            n = dense_sizes[level]
            child = np.tile(np.arange(n, dtype=np.int64), pos.size)
            coords = [np.repeat(c, n) for c in coords] + [child]
            pos = np.repeat(pos * n, n) + child
        elif fmt == SPARSE_CSR:
            seg, idx = _ints(meta.get("array_segments")), _ints(meta.get("array_indices"))
            has = pos + 1 < seg.size
            p = np.where(has, pos, 0)
            start = np.where(has, seg[p] if seg.size else 0, 0)
            end = np.where(has, seg[np.minimum(p + 1, max(seg.size - 1, 0))] if seg.size else 0, 0)
            end = np.minimum(end, idx.size)
            counts = np.maximum(end - start, 0)
            parent = np.repeat(np.arange(pos.size), counts)
            first = np.cumsum(counts) - counts
            i = np.repeat(start, counts) + (np.arange(parent.size) - np.repeat(first, counts))
            coords = [c[parent] for c in coords] + [idx[i]]
            pos = i
        else:
            raise SparsityError(f"dim_metadata[{level}] has unknown format {fmt}")
    # 2. back to dense coordinates
    orig = [np.zeros(pos.size, np.int64) for _ in range(rank)]
    for level in range(rank):
        orig[traversal[level]] = coords[level]
    for level in range(rank, len(traversal)):
        k = traversal[level] - rank
        if not 0 <= k < len(block_map):
            raise SparsityError(f"traversal_order[{level}] = {traversal[level]} is not a block dimension")
        d = block_map[k]
        orig[d] = orig[d] * block_size[k] + coords[level]
    flat = np.zeros(pos.size, np.int64)
    for d in range(rank):
        if np.any((orig[d] < 0) | (orig[d] >= shape[d])):
            raise SparsityError(f"an element lands outside dimension {d} (size {shape[d]}) of the dense shape")
        flat = flat * shape[d] + orig[d]
    # 3. scatter the stored values
    if pos.size > values.size:
        raise SparsityError(f"the format addresses {pos.size} values but the buffer holds {values.size}")
    out = np.zeros(int(np.prod(shape, dtype=np.int64)), values.dtype)
    out[flat] = values[: pos.size]
    return out.reshape(shape)


def tensor_sparsity(spec: TensorSpec) -> Any:
    """The sparsity table of a tensor (None for a dense one)."""
    return spec.sparsity


@register("DENSIFY", versions=(1,))
class Densify(Kernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(0)
        dt = np.dtype(x.dtype)
        if dt not in DTYPES:
            ctx.fail(f"input {x.describe()} has type {dt.name}; supported: float32, float16, int8")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != dt:
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the op computes {dt.name}")
        if x.value is None:
            ctx.fail(f"input {x.describe()} must be a constant (sparse weights)")
        sparsity = tensor_sparsity(x)
        if sparsity is None:
            ctx.fail(f"input {x.describe()} has no sparsity parameters")
        raw = np.asarray(x.value)
        values = raw.view(dt).reshape(-1) if raw.dtype == np.uint8 and dt != np.uint8 else raw.reshape(-1)
        try:
            dense = densify(values, tuple(x.shape), sparsity)
        except (SparsityError, IndexError, ValueError) as e:
            ctx.fail(f"bad sparsity parameters of {x.describe()}: {e}")
        ctx.set_output(0, x.shape, dt)
        dense.flags.writeable = False
        ctx.set_output_value(0, dense)
