"""CUMSUM: running sum along one axis, with ``exclusive`` and ``reverse``; LiteRT 2.3, version 1.

1. Input: float32, int32 or int64, rank at least 1; the output has its shape and dtype.  Axis:
   int32, one element, negative counts from the end.
2. The axis does not change the output shape, so it may be computed at run time, as LiteRT
   allows: bind prepares one step per possible axis (views only) and the invoke step reads the
   axis value and runs that one; an axis out of range raises RuntimeError naming the op and node
   (LiteRT fails the invoke).  A constant axis is checked at prepare and bound directly.
3. Each step is ``np.add.accumulate`` in the input's own dtype (integers wrap like C's; float32
   sums run in order, as LiteRT's Eigen scan does) writing into the planned output: ``reverse``
   works on reversed views of input and output, ``exclusive`` accumulates all but the last
   element into the output shifted by one and zeroes the first slice.
4. An input with a zero dimension leaves the output empty.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, AXIS = 0, 1


def cumsum_step(x: np.ndarray, out: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> Step:
    """The step of one axis (step 3): accumulate into ``out`` through views."""
    if reverse:
        flip = tuple(slice(None, None, -1) if i == axis else slice(None) for i in range(x.ndim))
        x, out = x[flip], out[flip]
    acc, dt = np.add.accumulate, x.dtype
    if not exclusive:
        return lambda: acc(x, axis=axis, dtype=dt, out=out)
    head = tuple(slice(0, 1) if i == axis else slice(None) for i in range(x.ndim))
    src = x[tuple(slice(0, -1) if i == axis else slice(None) for i in range(x.ndim))]
    dst = out[tuple(slice(1, None) if i == axis else slice(None) for i in range(x.ndim))]
    first = out[head]

    def step() -> None:
        first.fill(0)
        if src.shape[axis]:
            acc(src, axis=axis, dtype=dt, out=dst)

    return step


@register("CUMSUM", versions=(1,))
class Cumsum(Kernel):
    options_table = "CumsumOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, ax = ctx.input(INPUT), ctx.input(AXIS)
        ctx.expect_dtype(x, (np.float32, np.int32, np.int64))
        ctx.expect_dtype(ax, (np.int32,), "axis")
        if ax.size != 1:
            ctx.fail(f"axis {ax.describe()} must hold exactly one value")
        if x.rank < 1:
            ctx.fail(f"input {x.describe()} must have rank 1 or more")
        ctx.set_output(0, x.shape, x.dtype)
        self.rank = x.rank
        self.axis = None
        if ax.value is not None:
            a = int(np.asarray(ax.value).reshape(-1)[0])
            if not -x.rank <= a < x.rank:
                ctx.fail(f"axis {a} is out of range for input {x.describe()}")
            self.axis = a % x.rank
        self.exclusive = bool(self.options.get("exclusive"))
        self.reverse = bool(self.options.get("reverse"))
        self.where = f"{self.op_name} (node {self.node.index})"

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[INPUT], outputs[0]
        if out.size == 0:
            return lambda: None
        if self.axis is not None:
            return cumsum_step(x, out, self.axis, self.exclusive, self.reverse)
        steps = [cumsum_step(x, out, a, self.exclusive, self.reverse) for a in range(self.rank)]
        ax, rank, where = inputs[AXIS].reshape(-1), self.rank, self.where

        def step() -> None:
            a = int(ax[0])
            if not -rank <= a < rank:
                raise RuntimeError(f"{where}: axis {a} is out of range for rank {rank}")
            steps[a]()

        return step
