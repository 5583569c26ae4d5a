"""Base of the segment reductions: SEGMENT_SUM and UNSORTED_SEGMENT_{SUM, PROD, MAX, MIN}.

``output[s, ...] = reduce(data[i, ...] for every i with segment_ids[i] == s)``, as LiteRT 2.3:

1. Data: float32 or int32 (LiteRT refuses every other type); segment ids: int32.  Integer sums
   and products wrap around in int32, as C++ does.
2. SEGMENT_SUM (two inputs): the ids are a vector with one entry per row of ``data``, starting at
   0 and increasing by 0 or 1 from row to row; the output has ``ids[-1] + 1`` rows (0 for empty
   data).  Ids breaking that rule are an error (LiteRT fails the same way).
3. UNSORTED_SEGMENT_* (three inputs): the ids have the shape of the leading dimensions of
   ``data`` (a prefix of its shape); ``num_segments`` is an int32 scalar or 1-element vector
   ``>= 0``; the output shape is ``[num_segments] + data.shape[ids.rank:]``.  Negative ids drop
   their rows (TFLite skips them); an id ``>= num_segments`` is an error.
4. Every segment starts at the reduction's identity as TFLite writes it: 0 for sums, 1 for
   products, the type's *lowest finite* value for MAX (``-FLT_MAX``, not ``-inf``) and its
   largest for MIN, so empty segments hold those.  Rows are combined in row order (``ufunc.at``),
   the order TFLite uses, so float sums and products round as LiteRT's do.  MAX and MIN keep the
   running value when a compared value is NaN (``std::max(acc, nan)`` is ``acc``), which is
   ``np.fmax`` / ``np.fmin``.
5. Shapes: the output shape is static when it is known at prepare (SEGMENT_SUM: constant ids;
   UNSORTED: constant ``num_segments``); otherwise the output is dynamic (set at invoke).  Ids
   known at prepare are checked there (PrepareError); others at every invoke (RuntimeError
   naming the op and node).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .base import DynamicOutput, Kernel, PrepareContext, Step, check_alloc, reject_quantized

DATA, IDS, NUM = 0, 1, 2
SEGMENT_DTYPES = (np.float32, np.int32)


def sorted_ids_error(ids: np.ndarray) -> str | None:
    """Why ``ids`` break SEGMENT_SUM's rule (start at 0, steps of 0 or 1), or None."""
    if ids.size == 0:
        return None
    if ids[0] != 0:
        return f"the first segment id is {int(ids[0])}, not 0"
    step = np.diff(ids.astype(np.int64))
    bad = np.flatnonzero((step != 0) & (step != 1))
    if bad.size:
        i = int(bad[0]) + 1
        return (f"segment ids must be sorted and grow by at most 1: id {int(ids[i])} at position {i} "
                f"follows {int(ids[i - 1])}")
    return None


class SegmentKernel(Kernel):
    """Subclasses set ``unsorted`` and ``reduce`` (one of "sum", "prod", "max", "min")."""

    unsorted: ClassVar[bool] = True
    reduce: ClassVar[str] = "sum"

    def identity(self, dtype: Any) -> Any:
        t = np.dtype(dtype)
        if self.reduce == "sum":
            return t.type(0)
        if self.reduce == "prod":
            return t.type(1)
        info = np.finfo(t) if t.kind == "f" else np.iinfo(t)
        return info.min if self.reduce == "max" else info.max

    def ufunc(self, dtype: Any) -> np.ufunc:
        if self.reduce == "sum":
            return np.add
        if self.reduce == "prod":
            return np.multiply
        if np.dtype(dtype).kind == "f":
            return np.fmax if self.reduce == "max" else np.fmin
        return np.maximum if self.reduce == "max" else np.minimum

    # -- prepare -------------------------------------------------------------------------------
    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3 if self.unsorted else 2)
        data, ids = ctx.input(DATA), ctx.input(IDS)
        ctx.expect_dtype(data, SEGMENT_DTYPES, "data")
        ctx.expect_dtype(ids, (np.int32,), "segment ids")
        reject_quantized(ctx, [data])
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(data.dtype):
            ctx.fail(f"output {out.describe()} must have the data's type {np.dtype(data.dtype).name}")
        if data.rank < 1:
            ctx.fail(f"data {data.describe()} must have rank >= 1")
        if self.unsorted:
            if ids.rank < 1 or ids.rank > data.rank or ids.shape != data.shape[:ids.rank]:
                ctx.fail(f"segment ids {ids.describe()} must have the shape of the leading dimensions of data "
                         f"{data.describe()}")
        elif ids.rank != 1 or ids.shape[0] != data.shape[0]:
            ctx.fail(f"segment ids {ids.describe()} must be a vector with one id per row of data {data.describe()}")
        self.dtype = np.dtype(data.dtype)
        self.rest = data.shape[ids.rank:]
        self.rows = int(np.prod(data.shape[:ids.rank], dtype=np.int64))
        self.inner = int(np.prod(self.rest, dtype=np.int64))
        self.where = f"{self.op_name} (node {self.node.index})"
        self.ids_name = ids.describe()
        self.known_ids = None if ids.value is None else np.asarray(ids.value).reshape(-1)
        num = None
        if self.unsorted:
            ns = ctx.input(NUM)
            ctx.expect_dtype(ns, (np.int32,), "num_segments")
            if not (ns.rank == 0 or ns.shape == (1,)):
                ctx.fail(f"num_segments {ns.describe()} must be a scalar or a 1-element vector")
            if ns.value is not None:
                num = int(np.asarray(ns.value).reshape(-1)[0])
                if num < 0:
                    ctx.fail(f"num_segments is {num}; it must be >= 0")
        elif self.known_ids is not None:
            err = sorted_ids_error(self.known_ids)
            if err:
                ctx.fail(f"{err} ({ids.describe()})")
            num = int(self.known_ids[-1]) + 1 if self.known_ids.size else 0
        if num is not None and self.known_ids is not None and self.unsorted and self.known_ids.size:
            top = int(self.known_ids.max())
            if top >= num:
                ctx.fail(f"segment id {top} is out of range for num_segments {num} ({ids.describe()})")
        self.num = num
        if num is None:
            ctx.set_output_dynamic(0, self.dtype)
        else:
            ctx.set_output(0, (num, *self.rest), self.dtype)

    # -- invoke --------------------------------------------------------------------------------
    def checked_ids(self, ids: np.ndarray, num: int | None) -> int:
        """Check ``ids`` (flat) at invoke; returns the number of segments."""
        if not self.unsorted:
            err = sorted_ids_error(ids)
            if err:
                raise RuntimeError(f"{self.where}: {err} ({self.ids_name})")
            return int(ids[-1]) + 1 if ids.size else 0
        assert num is not None
        if ids.size and int(ids.max()) >= num:
            raise RuntimeError(f"{self.where}: segment id {int(ids.max())} is out of range for num_segments {num} "
                               f"({self.ids_name})")
        return num

    def reducer(self) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
        """``run(data2d, ids_flat, out2d)``: the reduction into ``out2d`` (``[num, inner]``)."""
        init, at = self.identity(self.dtype), self.ufunc(self.dtype).at

        def run(data2d: np.ndarray, ids: np.ndarray, out2d: np.ndarray) -> None:
            out2d.fill(init)
            if ids.size == 0 or out2d.size == 0:
                return
            keep = ids >= 0
            if keep.all():
                at(out2d, ids, data2d)
            else:
                at(out2d, ids[keep], data2d[keep])

        return run

    def bind(self, inputs: list[np.ndarray | None], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        data, ids = inputs[DATA], inputs[IDS]
        num_t = inputs[NUM] if self.unsorted else None
        data2d = data.reshape(self.rows, self.inner)
        flat_ids = ids.reshape(-1)
        run, rest, dtype, where = self.reducer(), self.rest, self.dtype, self.where
        out = outputs[0]
        if not isinstance(out, DynamicOutput):
            out2d = out.reshape(out.shape[0], self.inner)
            num = self.num
            if self.known_ids is not None:
                return lambda: run(data2d, flat_ids, out2d)

            def static_step() -> None:
                self.checked_ids(flat_ids, num)
                run(data2d, flat_ids, out2d)

            return static_step

        def dynamic_step() -> None:
            num = None if num_t is None else int(num_t.reshape(-1)[0])
            if num is not None and num < 0:
                raise RuntimeError(f"{where}: num_segments is {num}; it must be >= 0")
            n = self.checked_ids(flat_ids, num)
            check_alloc(where, (n, *rest), dtype)
            result = np.empty((n, *rest), dtype)
            run(data2d, flat_ids, result.reshape(n, self.inner))
            out.set(result)

        return dynamic_step
