"""Base for the reductions MEAN, SUM, REDUCE_MAX and REDUCE_PROD (float32, int32, int64, and the
8- and 16-bit integer forms, quantized or not, as each op allows them).

1. Input 1 holds the axes: int32, a scalar or a 1-D list; it must be known at prepare time
   (a constant, or folded from constants and shapes) since it decides the output shape.
   Negative axes count from the end; duplicates count once; an axis outside the rank is an
   error.  A rank-0 input ignores the axes (TFLite does the same) and is copied.
2. The output has the input's dtype; its shape drops the reduced axes, or keeps them as 1
   with ``keep_dims``.  An empty axis list copies the input.
3. Eval is one ``ufunc.reduce(..., out=)`` into the output in the input's own dtype, so integer
   sums and products wrap as TFLite's do; subclasses add what is particular to them (MEAN's
   division, REDUCE_MAX's NaN rule).  An empty input gives each op's identity, as TFLite:
   SUM 0, REDUCE_PROD 1, REDUCE_MAX -inf / the lowest integer, MEAN NaN (float) or 0 (integer).

4. int8 / uint8 / int16: each op's ``setup`` checks which forms TFLite allows (``QUANTIZED``
   and ``RAW_SMALL_INT`` below) and builds its quantized step; the fixed-point helpers they share
   (C's wrapping int32 arithmetic, TFLite's int64-input MultiplyByQuantizedMultiplier with its
   int32 cast) come from ``quant``; MEAN and SUM share ``fixed_point_sum_step`` here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .base import Kernel, PrepareContext, Step
from .quant import Requantizer, multiply_by_quantized_multiplier_int64_into
from .quant import wrap_int32 as wrap_int32  # also imported from here by SUM

INPUT, AXIS = 0, 1
FLOAT_INT = (np.float32, np.int32, np.int64)
SMALL_INT = (np.uint8, np.int8, np.int16)
ALL_DTYPES = FLOAT_INT + SMALL_INT


#: the largest table of ``fixed_point_sum_step`` (entries: every sum the reduced axes can give)
SUM_TABLE_LIMIT = 1 << 16


def fixed_point_sum_step(x: np.ndarray, out: np.ndarray, axes: Any, keep: bool, s: np.ndarray, t: np.ndarray,
                         offset: int, shift: int, q: int, zero_point: int) -> Step:
    """The quantized MEAN / SUM reference path: int64 sum over ``axes`` into ``s``, minus the
    input zero point times the count (``offset``), int32 wraps as in C around the left shift,
    the double-rounding requantization (prepared once), output zero point, clamp, store.

    1. The result is a function of the raw sum alone, whose range is known from the count and
       the input type: when it has at most ``SUM_TABLE_LIMIT`` values (8-bit inputs reduced
       over up to 257 elements, int16 over one) the whole computation is tabulated here, by
       running the fixed-point steps below on every possible sum, and the step is the sum plus
       one gather (``mode="wrap"`` maps a negative sum ``v`` to entry ``v + len(table)``,
       where the table stores it).
    2. Otherwise the steps run per invoke; the int32 wraps are left out when the sums cannot
       reach them (decided from the same range)."""
    info = np.iinfo(out.dtype)
    lo, hi = int(info.min), int(info.max)
    xi = np.iinfo(x.dtype)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64)) if x.ndim else 1
    smin, smax = count * int(xi.min), count * int(xi.max)
    left = max(shift, 0)
    bound = max(abs(smin - offset), abs(smax - offset))
    wraps = bound >= 1 << 31 or (left and bound << left >= 1 << 31)
    run = _fixed_point_sum_tail(offset, shift, q, zero_point, lo, hi, wraps)
    add = np.add.reduce
    if smax - smin + 1 <= SUM_TABLE_LIMIT and s.dtype == np.intp:
        values = np.arange(smin, smax + 1, dtype=np.int64)
        res = values.copy()
        run(res, np.empty_like(res))
        table = np.empty(values.size, out.dtype)
        table[values % values.size] = res
        take = np.take

        def table_step() -> None:
            add(x, axis=axes, keepdims=keep, dtype=np.intp, out=s)
            take(table, s, out=out, mode="wrap")

        return table_step

    def step() -> None:
        add(x, axis=axes, keepdims=keep, dtype=np.int64, out=s)
        run(s, t)
        np.copyto(out, s, casting="unsafe")

    return step


def _fixed_point_sum_tail(offset: int, shift: int, q: int, zero_point: int, lo: int, hi: int,
                          wraps: bool) -> Callable[[np.ndarray, np.ndarray], None]:
    """In place on int64 sums ``s`` (``t``: int64 scratch of its shape): everything of
    ``fixed_point_sum_step`` after the sum."""
    left, right = max(shift, 0), max(-shift, 0)
    requant = Requantizer(q, -right)

    def tail(s: np.ndarray, t: np.ndarray) -> None:
        np.subtract(s, offset, out=s)
        if wraps:
            wrap_int32(s)
        if left:
            np.left_shift(s, left, out=s)
            if wraps:
                wrap_int32(s)
        requant(s, t)
        np.add(s, zero_point, out=s)
        np.maximum(s, lo, out=s)
        np.minimum(s, hi, out=s)

    return tail


def mbqm_int64_into(acc: np.ndarray, q: int, shift: int) -> None:
    """In place on int64 ``acc``: TFLite's int64-input MultiplyByQuantizedMultiplier with its C cast
    to int32 (wraps): ``quant.multiply_by_quantized_multiplier_int64_into(..., wrap=True)``."""
    multiply_by_quantized_multiplier_int64_into(acc, q, shift, wrap=True)


class ReduceKernel(Kernel):
    options_table = "ReducerOptions"
    dtypes: ClassVar[tuple[Any, ...]] = ALL_DTYPES
    ufunc: ClassVar[np.ufunc]

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, ax = ctx.input(INPUT), ctx.input(AXIS)
        dt = np.dtype(x.dtype)
        if dt not in [np.dtype(d) for d in self.dtypes]:
            names = ", ".join(np.dtype(d).name for d in self.dtypes)
            ctx.fail(f"input {x.describe()} has type {dt.name}; supported: {names}")
        if np.dtype(ax.dtype) != np.int32:
            ctx.fail(f"axis {ax.describe()} must be int32")
        if ax.rank > 1:
            ctx.fail(f"axis {ax.describe()} must be a scalar or 1-D")
        out_dt = np.dtype(ctx.outputs[0].dtype)
        if out_dt != dt:
            ctx.fail(f"output {ctx.outputs[0].describe()} must have the input's type {dt.name}")
        # an empty axis list is known from its shape alone (an empty constant may carry no data)
        axis_values = np.zeros(0, np.int32) if ax.size == 0 else ctx.constant(AXIS, "the axis input").reshape(-1)
        keep = bool(self.options.get("keep_dims"))
        axes: list[int] = []
        if x.rank:
            for a in axis_values.tolist():
                r = a + x.rank if a < 0 else a
                if not 0 <= r < x.rank:
                    ctx.fail(f"axis {a} is out of range for input {x.describe()}")
                if r not in axes:
                    axes.append(r)
        self.axes = tuple(sorted(axes))
        if keep:
            shape = tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        else:
            shape = tuple(d for i, d in enumerate(x.shape) if i not in self.axes)
        ctx.set_output(0, shape, dt)
        self.keep = keep
        self.dtype = dt
        self.in_empty = x.size == 0
        self.out_empty = int(np.prod(shape, dtype=np.int64)) == 0
        self.count = int(np.prod([x.shape[i] for i in self.axes], dtype=np.int64))
        self.in_shape = x.shape
        self.in_q, self.out_q = x.quantization, ctx.outputs[0].quantization
        self.small_int = dt in [np.dtype(d) for d in SMALL_INT]
        #: set by a setup whose quantized form rescales even when no axis is reduced
        self.requantizes = False
        self.setup(ctx, shape)

    def same_params(self, ctx: PrepareContext) -> None:
        """TFLite's check that a raw integer reduction's input and output share scale and zero point."""
        iq, oq = self.in_q, self.out_q
        if np.float32(iq.scale) != np.float32(oq.scale) or iq.zero_point != oq.zero_point:
            ctx.fail(f"input and output must share scale and zero point, got ({iq.scale}, {iq.zero_point}) "
                     f"and ({oq.scale}, {oq.zero_point})")

    def require_quantized(self, ctx: PrepareContext) -> None:
        """MEAN / SUM on 8- and 16-bit integers always requantize (TFLite has no raw form)."""
        x = ctx.input(INPUT)
        for spec in (x, ctx.outputs[0]):
            if not spec.quantization.is_quantized or spec.quantization.scale <= 0:
                ctx.fail(f"{self.dtype.name} {spec.describe()} must be quantized (a positive scale)")
        if self.dtype == np.int16 and (self.in_q.zero_point or self.out_q.zero_point):
            ctx.fail(f"int16 input and output must have zero point 0, got {self.in_q.zero_point} and "
                     f"{self.out_q.zero_point}")

    # -- hooks -----------------------------------------------------------------------------
    def setup(self, ctx: PrepareContext, out_shape: tuple[int, ...]) -> None:
        """Extra prepare work (scratch requests) of a subclass."""

    def empty_value(self) -> Any:
        """The output's value when the input has no elements."""
        return self.ufunc.identity

    def compute(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        f, axes, keep, dt = self.ufunc.reduce, self.axes, self.keep, self.dtype
        return lambda: f(x, axis=axes, keepdims=keep, dtype=dt, out=out)

    # -- bind --------------------------------------------------------------------------------
    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[INPUT], outputs[0]
        if self.out_empty:
            return lambda: None
        if self.in_empty:
            v = self.empty_value()
            return lambda: out.fill(v)
        if not self.axes and not self.requantizes:
            src = x.reshape(out.shape)
            return lambda: np.copyto(out, src)
        return self.compute(x, out, scratch)
