"""Base of SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND (TensorFlow's definition, as LiteRT 2.3).

Both relate a *space* tensor ``[B, S_1..S_M, rest...]`` and a *batch* tensor
``[B * prod(block), T_1..T_M, rest...]``: batch element ``(k * B + n, t_1..t_M)``, where ``k`` is
the row-major number of the block offset ``(j_1..j_M)``, holds space element
``(n, t_1 * b_1 + j_1 - off_1, ..., t_M * b_M + j_M - off_M)``.  SPACE_TO_BATCH_ND pads the space
tensor by ``paddings`` (``off`` = the leading pads; padded places get the pad value) and
BATCH_TO_SPACE_ND crops the result by ``crops`` (``off`` = the leading crops).

1. Data: any fixed-size type (bool, int8/16/32/64, uint8/16/32, float16/32/64), which LiteRT 2.3
   moves byte for byte; quantized int8 / uint8 / int16 tensors need the same scale and zero point
   on input and output (zero point 0 for int16), as LiteRT checks.  The pad value is the output's
   zero point (0 when not quantized), so padding a quantized tensor adds real zeros.
2. ``block_shape``: a vector of ``M >= 1`` values ``>= 1``; ``paddings`` / ``crops``: ``[M, 2]``
   values ``>= 0``.  int32 (LiteRT's type) or int64 (TensorFlow's other type, which LiteRT
   misreads as int32; numlite reads it as int64).  SPACE_TO_BATCH_ND needs every padded size to be
   a multiple of its block size; BATCH_TO_SPACE_ND needs the batch to be a multiple of
   ``prod(block)`` and crops no larger than the uncropped size.
3. Rank: LiteRT 2.3 takes rank 3 or 4 inputs with ``M = rank - 2``; numlite follows TensorFlow
   and takes any rank ``>= M + 1`` (trailing dimensions move along).
4. Known ``block_shape`` and paddings / crops (constants) give a static output and a copy plan
   made at prepare: one strided ``np.copyto`` per block offset that touches data (at most
   ``prod(block)``, and never more than the input has elements), after a fill with the pad
   value when SPACE_TO_BATCH_ND pads.  Otherwise the output is dynamic: the plan is made, checked
   (RuntimeError naming the op and node) and run at every invoke.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np

from .base import DynamicOutput, Kernel, PrepareContext, Step, check_alloc

INPUT, BLOCK, PADS = 0, 1, 2
SPACE_BATCH_DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.float16, np.int32, np.uint32,
                      np.float32, np.int64, np.float64)
Index = tuple[Any, ...]


def space_batch_plan(in_shape: tuple[int, ...], block: np.ndarray, pads: np.ndarray,
                     to_batch: bool) -> tuple[tuple[int, ...], list[tuple[Index, Index]]]:
    """The output shape and the copies ``(space index, batch index)``; ValueError if invalid."""
    m = int(block.size)
    if pads.shape != (m, 2):
        raise ValueError(f"{'paddings' if to_batch else 'crops'} have shape {list(pads.shape)}; "
                         f"[{m}, 2] is needed for a block_shape of {m} values")
    if len(in_shape) < m + 1:
        raise ValueError(f"the input has rank {len(in_shape)}; a block_shape of {m} values needs rank >= {m + 1}")
    bl = [int(b) for b in block.reshape(-1)]
    pd = [(int(a), int(b)) for a, b in pads.reshape(m, 2)]
    if any(b < 1 for b in bl):
        raise ValueError(f"block_shape {bl} must be >= 1")
    what = "paddings" if to_batch else "crops"
    if any(a < 0 or b < 0 for a, b in pd):
        raise ValueError(f"{what} {[list(p) for p in pd]} must be >= 0")
    nblocks = int(np.prod(bl, dtype=object))
    rest = tuple(in_shape[m + 1:])
    if to_batch:
        space_b, space = in_shape[0], list(in_shape[1:m + 1])
        inner = []
        for i, (s, b, (p0, p1)) in enumerate(zip(space, bl, pd)):
            if (s + p0 + p1) % b:
                raise ValueError(f"padded size {s + p0 + p1} of spatial dimension {i + 1} is not a multiple of "
                                 f"block size {b}")
            inner.append((s + p0 + p1) // b)
        out_shape = (space_b * nblocks, *inner, *rest)
    else:
        batch, inner = in_shape[0], list(in_shape[1:m + 1])
        if batch % nblocks:
            raise ValueError(f"batch {batch} is not a multiple of the block size product {nblocks}")
        space_b = batch // nblocks
        space = []
        for i, (t, b, (c0, c1)) in enumerate(zip(inner, bl, pd)):
            if c0 + c1 > t * b:
                raise ValueError(f"crops {c0} + {c1} exceed the size {t * b} of spatial dimension {i + 1}")
            space.append(t * b - c0 - c1)
        out_shape = (space_b, *space, *rest)
    copies: list[tuple[Index, Index]] = []
    if int(np.prod(in_shape, dtype=object)) == 0 or int(np.prod(out_shape, dtype=object)) == 0:
        return out_shape, copies
    per_dim = []  # for each spatial dim: (offset j, space slice, batch slice) that touch data
    for s, t, b, (off, _) in zip(space, inner, bl, pd):
        opts = []
        for j in range(min(b, s + off)):
            lo = max(0, -(-(off - j) // b))               # first t with t*b + j - off >= 0
            hi = min(t, (s - 1 + off - j) // b + 1)       # past the last t with t*b + j - off < s
            if lo < hi:
                s0 = lo * b + j - off
                opts.append((j, slice(s0, s0 + (hi - lo - 1) * b + 1, b), slice(lo, hi)))
        per_dim.append(opts)
    strides = [int(np.prod(bl[i + 1:], dtype=object)) for i in range(m)]
    for combo in itertools.product(*per_dim):
        k = sum(j * st for (j, _, _), st in zip(combo, strides))
        sp = (slice(None), *(c[1] for c in combo))
        bt = (slice(k * space_b, (k + 1) * space_b), *(c[2] for c in combo))
        copies.append((sp, bt))
    return out_shape, copies


class SpaceBatchKernel(Kernel):
    """``to_batch``: True for SPACE_TO_BATCH_ND, False for BATCH_TO_SPACE_ND."""

    to_batch: ClassVar[bool] = True

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3)
        x, block, pads = ctx.input(INPUT), ctx.input(BLOCK), ctx.input(PADS)
        what = "paddings" if self.to_batch else "crops"
        ctx.expect_dtype(x, SPACE_BATCH_DTYPES)
        ctx.expect_dtype(block, (np.int32, np.int64), "block_shape")
        ctx.expect_dtype(pads, (np.int32, np.int64), what)
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        if block.rank != 1:
            ctx.fail(f"block_shape {block.describe()} must be a vector")
        if pads.rank != 2 or pads.shape != (block.size, 2):
            ctx.fail(f"{what} {pads.describe()} must have shape [{block.size}, 2]")
        if block.size < 1:
            ctx.fail(f"block_shape {block.describe()} is empty")
        if x.rank < block.size + 1:
            ctx.fail(f"input {x.describe()} needs rank >= {block.size + 1} for block_shape {block.describe()}")
        self.pad = 0
        qi, qo = x.quantization, out.quantization
        if np.dtype(x.dtype) in (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16)) and (
                qi.is_quantized or qo.is_quantized):
            if not (qi.is_quantized and qo.is_quantized) or not (
                    np.array_equal(qi.scales, qo.scales) and np.array_equal(qi.zero_points, qo.zero_points)):
                ctx.fail(f"input {x.describe()} and output {out.describe()} must have the same scale and zero point")
            if qo.zero_points.size != 1:
                ctx.fail(f"output {out.describe()} must be quantized per tensor")
            self.pad = int(qo.zero_points[0])
            if np.dtype(x.dtype) == np.int16 and self.pad != 0:
                ctx.fail(f"int16 input {x.describe()} must have zero point 0")
        self.dtype = np.dtype(x.dtype)
        self.in_shape = x.shape
        self.where = f"{self.op_name} (node {self.node.index})"
        self.copies = None
        if block.value is not None and pads.value is not None:
            try:
                shape, self.copies = space_batch_plan(x.shape, np.asarray(block.value), np.asarray(pads.value),
                                                      self.to_batch)
            except ValueError as e:
                ctx.fail(f"{e} (input {x.describe()})")
            self.fill = self.to_batch and bool(np.any(np.asarray(pads.value)))
            ctx.set_output(0, shape, x.dtype)
        else:
            ctx.set_output_dynamic(0, x.dtype)

    def _pairs(self, x: np.ndarray, out: np.ndarray, copies: list[tuple[Index, Index]]) -> list:
        if self.to_batch:
            return [(out[bt], x[sp]) for sp, bt in copies]
        return [(out[sp], x[bt]) for sp, bt in copies]

    def bind(self, inputs: list[np.ndarray | None], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, block, pads = inputs[INPUT], inputs[BLOCK], inputs[PADS]
        out = outputs[0]
        copyto, pad = np.copyto, self.dtype.type(self.pad)
        if not isinstance(out, DynamicOutput):
            pairs = self._pairs(x, out, self.copies or [])
            fill = self.fill and out.size > 0

            def step() -> None:
                if fill:
                    out.fill(pad)
                for d, s in pairs:
                    copyto(d, s)

            return step

        def dynamic_step() -> None:
            try:
                shape, copies = space_batch_plan(x.shape, block, pads, self.to_batch)
            except ValueError as e:
                raise RuntimeError(f"{self.where}: {e}") from None
            check_alloc(self.where, shape, self.dtype)
            result = np.full(shape, pad, self.dtype) if self.to_batch else np.empty(shape, self.dtype)
            for d, s in self._pairs(x, result, copies):
                copyto(d, s)
            out.set(result)

        return dynamic_step
