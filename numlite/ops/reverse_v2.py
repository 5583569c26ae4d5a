"""REVERSE_V2: reverse a tensor along the axes listed in input 1 (versions 1-3, as LiteRT 2.3).

1. Data: float32, float16, int32, int64, uint8, int8, int16 or bool, rank 0 to 8; quantized
   tensors are moved as stored (LiteRT never reads their parameters).  LiteRT 2.3 refuses
   strings, and so does numlite.  The output has the input's shape and dtype.
2. Axes: an int32 vector (LiteRT refuses a scalar and int64) of at most ``rank`` entries;
   negative values count from the end.  A duplicated axis is an error (TensorFlow's rule).
3. Known axes (constants, or folded at prepare) are checked at prepare and the step is one
   ``np.copyto`` from a reversed view (``np.flip``) of the input into the planned output.
   Axes only known at invoke are read and checked by the step (an error names the op, node and
   axis tensor); the output shape does not depend on them, so nothing else changes.
4. Limits where numlite is more permissive than LiteRT 2.3: LiteRT fails at invoke when the
   reversed axes are not contiguous (``[0, 2]``) and crashes on an empty axis list; numlite
   reverses any set of distinct axes, and copies the input for an empty list.
"""

from __future__ import annotations

import numpy as np

from ._shape import DATA_DTYPES, ViewKernel
from .base import PrepareContext, Step
from .registry import register

INPUT, AXIS = 0, 1
REVERSE_DTYPES = (*DATA_DTYPES, np.float16)
MAX_RANK = 8


def checked_axes(values: list[int], rank: int) -> tuple[tuple[int, ...], str | None]:
    """The axes ``values`` mapped to ``[0, rank)`` and sorted, or an error message."""
    axes: list[int] = []
    for a in values:
        r = a + rank if a < 0 else a
        if not 0 <= r < rank:
            return (), f"axis {a} is out of range for rank {rank}"
        if r in axes:
            return (), f"axis {a} is listed twice in {values}"
        axes.append(r)
    return tuple(sorted(axes)), None


@register("REVERSE_V2", versions=range(1, 5))
class ReverseV2(ViewKernel):
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, ax = ctx.input(INPUT), ctx.input(AXIS)
        ctx.expect_dtype(x, REVERSE_DTYPES)
        ctx.expect_dtype(ax, (np.int32,), "axis")
        if x.rank > MAX_RANK:
            ctx.fail(f"input {x.describe()} has rank {x.rank}; REVERSE_V2 supports rank up to {MAX_RANK}")
        if ax.rank != 1:
            ctx.fail(f"axis {ax.describe()} must be a vector")
        if ax.size > x.rank:
            ctx.fail(f"axis {ax.describe()} lists more axes than input {x.describe()} has dimensions")
        out = ctx.outputs[0]
        if np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        ctx.set_output(0, x.shape, x.dtype)
        self.rank = x.rank
        self.where = f"{self.op_name} (node {self.node.index})"
        self.axis_name = ax.describe()
        self.runtime_axes = ax.value is None and ax.size > 0
        if self.runtime_axes:
            return
        values = [] if ax.size == 0 else [int(a) for a in np.asarray(ax.value).reshape(-1)]
        axes, err = checked_axes(values, x.rank)
        if err:
            ctx.fail(f"{err} (axis {ax.describe()}, input {x.describe()})")
        self.set_view(lambda a: np.flip(a, axes) if axes else a)

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        if not self.runtime_axes:
            return super().bind(inputs, outputs, scratch)
        x, axis, out = inputs[INPUT], inputs[AXIS], outputs[0]
        rank, where, name = self.rank, self.where, self.axis_name

        def step() -> None:
            axes, err = checked_axes(axis.tolist(), rank)
            if err:
                raise RuntimeError(f"{where}: {err} (axis {name})")
            np.copyto(out, np.flip(x, axes) if axes else x)

        return step
