"""RESHAPE: the same bytes with a new shape.

The new shape comes from, in order:

1. the second input when it is a non-empty int32/int64 vector (must be known at prepare time);
2. ``ReshapeOptions.new_shape`` (``[0]`` is the legacy spelling of a scalar);
3. otherwise (no shape input, an empty one, no options) the output tensor's shape in the
   model (as TFLite Micro does) when its element count matches the input's; else a scalar,
   which is what LiteRT does in all these cases.

One ``-1`` is resolved from the input's element count.  The step is one copy, made by
``SingleCopyView`` (the base of RESHAPE, SQUEEZE, EXPAND_DIMS and STRIDED_SLICE): the prepared
views' ``dst[...] = src``, bound as ``functools.partial(operator.setitem, ...)`` so no Python
frame runs per invoke (about half of a ``lambda: np.copyto(dst, src)`` on tiny tensors).

RESHAPE, SQUEEZE and EXPAND_DIMS keep the element order, so where their input has no other
reader the executor's fusion pass (step 2b) stores the input in the output's bytes
(``ReshapeLike.epilogue``: an epilogue without a step) and the copy disappears from the invoke.
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from ._shape import STRING_DATA_DTYPES, ViewKernel, index_input, reshaped, resolve_shape
from .base import Epilogue, PrepareContext, Step
from .registry import register

INPUT, SHAPE = 0, 1


class SingleCopyView(ViewKernel):
    """A ``ViewKernel`` whose step is one bound ``dst[...] = src`` (``ndarray.__setitem__``
    copies as ``np.copyto`` does here: same dtype, same or broadcastable shape)."""

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        (o, dst, src), = self.copies
        d, s = dst(outputs[o]), src(inputs)
        if not d.size:
            return lambda: None
        return functools.partial(operator.setitem, d, Ellipsis, s)


class ReshapeLike(SingleCopyView):
    """A ``SingleCopyView`` whose output is its input's elements in the same order."""

    def epilogue(self, data: int) -> Epilogue | None:
        return Epilogue(None) if data == INPUT else None


@register("RESHAPE", versions=(1,))
class Reshape(ReshapeLike):
    options_table = "ReshapeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1, 2)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, STRING_DATA_DTYPES)
        shp = ctx.input(SHAPE, optional=True)
        new_shape = None
        if shp is not None and shp.rank == 1 and shp.size and np.dtype(shp.dtype) in (np.int32, np.int64):
            new_shape = [int(d) for d in index_input(ctx, SHAPE, "shape input")]
        if new_shape is None:
            opt = self.options.get("new_shape")
            if opt is not None:
                new_shape = [int(d) for d in opt]
                if new_shape == [0]:
                    new_shape = []
        if new_shape is None:
            out_shape = ctx.outputs[0].shape
            new_shape = list(out_shape) if int(np.prod(out_shape, dtype=np.int64)) == x.size else []
        shape = resolve_shape(ctx, new_shape, x.size)
        ctx.set_output(0, shape, x.dtype)
        self.set_view(lambda a: reshaped(a, shape))
