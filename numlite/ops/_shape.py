"""Shared helpers of the shape and data-movement ops (reshape, slice, concat, pad, ...).

These ops never do arithmetic on the data (except RESIZE_BILINEAR and the fused activation
of CONCATENATION), so quantized tensors pass through byte for byte and keep their
quantization parameters.  The pattern:

1. ``prepare`` reads the index/shape inputs (perm, begin/end, paddings, axis, new_shape,
   ...), which must be known at prepare time (constants, or values folded from SHAPE
   chains), computes the output shapes and records a *copy plan*: a list of
   ``(output slot, destination view maker, source view maker)``.
2. ``bind`` turns the plan into NumPy views of the planned arena buffers once.
3. The step is then a handful of ``np.copyto(dst_view, src_view)`` calls: no shape logic,
   no allocation beyond what NumPy needs for strided copies.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .base import Kernel, PrepareContext, Step, TensorSpec
from .quant import round_half_away as round_half_away  # std::round, for RESIZE_NEAREST_NEIGHBOR

#: every dtype numlite's data-movement ops accept (the NumPy types of TFLite's tensor types)
DATA_DTYPES = (np.float32, np.float16, np.int32, np.int64, np.uint8, np.int8, np.int16, np.bool_)
#: ... and strings (object arrays of bytes), for the ops that only move elements around
STRING_DATA_DTYPES = (*DATA_DTYPES, np.object_)
INDEX_DTYPES = (np.int32, np.int64)

Views = Callable[[list], np.ndarray]


def ident(a: np.ndarray) -> np.ndarray:
    return a


#: ``np.reshape(..., copy=False)`` (NumPy >= 2.1) refuses to copy; before it, setting ``.shape``
#: on a view did the same (NumPy 2.5 deprecates that)
_RESHAPE_HAS_COPY = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def reshaped(a: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """A view of ``a`` with ``shape``; never a copy (a copy would detach the step from the arena)."""
    if _RESHAPE_HAS_COPY:
        return np.reshape(a, tuple(shape), copy=False)
    v = a.view()
    v.shape = tuple(shape)
    return v


def index_input(ctx: PrepareContext, i: int, role: str) -> np.ndarray:
    """A constant (or prepare-time known) integer input as an int64 array."""
    spec = ctx.input(i)
    ctx.expect_dtype(spec, INDEX_DTYPES, role)
    if spec.value is None and spec.size == 0:  # an empty tensor has no buffer but a known value
        return np.zeros(spec.shape, np.int64)
    return np.asarray(ctx.constant(i, role), dtype=np.int64)


def norm_axis(ctx: PrepareContext, axis: int, rank: int, role: str = "axis") -> int:
    """``axis`` in ``[-rank, rank)`` mapped to ``[0, rank)``; a clear error otherwise."""
    axis = int(axis)
    if not -rank <= axis < max(rank, 1):
        ctx.fail(f"{role} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def same_dtype(ctx: PrepareContext, specs: Sequence[TensorSpec], what: str = "inputs") -> None:
    d0 = np.dtype(specs[0].dtype)
    for s in specs[1:]:
        if np.dtype(s.dtype) != d0:
            ctx.fail(f"{what} must all have type {d0.name}: {s.describe()}")


class CopyKernel(Kernel):
    """A kernel whose step is a list of view-to-view copies (see the module docstring).

    ``prepare`` of a subclass fills ``self.copies`` with ``(out, dst, src)``: ``dst(outputs[out])``
    gives the destination view, ``src(inputs)`` the source view (broadcastable to it).
    """

    copies: list[tuple[int, Callable[[np.ndarray], np.ndarray], Views]]

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray],
             scratch: list[np.ndarray]) -> Step:
        pairs = [(dst(outputs[o]), src(inputs)) for o, dst, src in self.copies]
        pairs = [(d, s) for d, s in pairs if d.size]
        copyto = np.copyto
        if len(pairs) == 1:  # one bound ``d[...] = s``: no Python frame per invoke
            d, s = pairs[0]
            return functools.partial(operator.setitem, d, Ellipsis, s)

        def step() -> None:
            for d, s in pairs:
                copyto(d, s)

        return step


class ViewKernel(CopyKernel):
    """One output that is a view of one input: prepare calls ``set_view(view)``."""

    def set_view(self, view: Callable[[np.ndarray], np.ndarray], src: int = 0) -> None:
        self.copies = [(0, ident, lambda ins: view(ins[src]))]


def resolve_shape(ctx: PrepareContext, shape: Sequence[int], n_in: int, role: str = "new shape") -> tuple[int, ...]:
    """Resolve one ``-1`` in a requested shape against ``n_in`` elements (TFLite's reshape rule)."""
    shape = [int(d) for d in shape]
    stretch = [i for i, d in enumerate(shape) if d == -1]
    if len(stretch) > 1:
        ctx.fail(f"{role} {shape} has more than one -1")
    if any(d < -1 for d in shape):
        ctx.fail(f"{role} {shape} has a negative dimension")
    known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
    if stretch:
        if known == 0:
            if n_in != 0:
                ctx.fail(f"{role} {shape}: cannot infer -1 with a zero dimension for {n_in} elements")
            shape[stretch[0]] = 0
        else:
            if n_in % known:
                ctx.fail(f"{role} {shape} does not divide the input's {n_in} elements")
            shape[stretch[0]] = n_in // known
    if int(np.prod(shape, dtype=np.int64)) != n_in:
        ctx.fail(f"{role} {shape} has {int(np.prod(shape, dtype=np.int64))} elements, the input has {n_in}")
    return tuple(shape)



# --- resize (RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR) ----------------------------------------
def resize_prepare(ctx: PrepareContext, options: Any, dtypes: Sequence[Any]) -> tuple[TensorSpec, int, int, bool, bool]:
    """Check a resize node (NHWC input, ``size`` = [new_h, new_w] known at prepare) and set its output."""
    ctx.expect_inputs(2)
    x = ctx.input(0)
    ctx.expect_dtype(x, dtypes)
    ctx.expect_rank(x, 4)
    size = index_input(ctx, 1, "size input").reshape(-1)
    if size.size != 2 or (size <= 0).any():
        ctx.fail(f"size {size.tolist()} must be two positive values [new_height, new_width]")
    align = bool(options.get("align_corners"))
    half = bool(options.get("half_pixel_centers"))
    if align and half:
        ctx.fail("align_corners and half_pixel_centers cannot both be set")
    oh, ow = int(size[0]), int(size[1])
    if (x.shape[1] == 0 or x.shape[2] == 0) and x.shape[0] and x.shape[3]:
        ctx.fail(f"input {x.describe()} has no pixels (height or width 0) to resize into {oh}x{ow}")
    ctx.set_output(0, (x.shape[0], oh, ow, x.shape[3]), x.dtype)
    return x, oh, ow, align, half


def resize_scale(in_size: int, out_size: int, align: bool) -> np.float32:
    """TFLite's input/output coordinate ratio, in float32."""
    if align and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size)
