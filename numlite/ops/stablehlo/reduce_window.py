"""STABLEHLO_REDUCE_WINDOW: reduce windows of a (dilated, padded) input with a body region,
version 1 (StableHLO's reduce_window with one input).

Inputs: input, init value (the input's type).  Options (``StablehloReduceWindowOptions``):
``window_dimensions`` (required), ``window_strides``, ``base_dilations``, ``window_dilations``
(absent: all 1), ``padding`` (2 per dimension, low then high; absent: 0; negative crops),
``body_subgraph_index``.

1. As LiteRT 2.3: the input (rank 1 to 6) is dilated by ``base_dilations`` and padded / cropped
   by ``padding``, both with the init value, into a scratch buffer (skipped when neither
   applies); then each output element reduces its window (``window_dimensions`` elements,
   ``window_dilations`` apart, windows ``window_strides`` apart) from the init value, in window
   order (see _window).  Output dimension: 0 where the dilated window exceeds the padded input,
   else ``(n - dilated_window) // stride + 1``.  Padding that leaves a dimension empty is an
   error (as LiteRT's "gives an empty tensor").
2. The body region (see _region) is recognised as LiteRT does: one ADD / MUL / MAXIMUM / MINIMUM
   / LOGICAL_AND / LOGICAL_OR or STABLEHLO_ADD / MULTIPLY / MAXIMUM / MINIMUM / AND op.  As in
   LiteRT, an AND body is a logical AND (0 / 1) also on integers.  Other bodies run through the
   subgraph once per output and window element (LiteRT refuses them).
3. Types, as LiteRT 2.3: bool, int8, int16, int32, int64, uint8, float32, float64.  On bool, ADD
   and MUL bodies are OR and AND (LiteRT adds the bytes as int8, so a window of 256 trues could
   wrap to false there).  Option counts must match the input rank, and window dimensions,
   strides and dilations must be positive (LiteRT's checks); sizes must fit int32.
"""

from __future__ import annotations

import numpy as np

from .._subgraph_call import SubgraphCall
from ..base import PrepareContext, Step
from ..registry import register
from ._common import check_size, int_option, interior_pad
from ._region import ScalarCall, recognise, region_subgraph
from ._window import output_shape, reduce_step, window_views

INPUT, INIT = 0, 1
MAX_RANK = 6
DTYPES = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.float32, np.float64)
BODIES = {"ADD": "add", "STABLEHLO_ADD": "add", "MUL": "mul", "STABLEHLO_MULTIPLY": "mul", "MAXIMUM": "max",
          "STABLEHLO_MAXIMUM": "max", "MINIMUM": "min", "STABLEHLO_MINIMUM": "min", "LOGICAL_AND": "all",
          "STABLEHLO_AND": "all", "LOGICAL_OR": "any", "STABLEHLO_OR": "any"}


@register("STABLEHLO_REDUCE_WINDOW", versions=(1,))
class StablehloReduceWindow(SubgraphCall):
    options_table = "StablehloReduceWindowOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2)
        x, init = ctx.input(INPUT), ctx.input(INIT)
        ctx.expect_dtype(x, DTYPES)
        if np.dtype(init.dtype) != np.dtype(x.dtype) or init.size != 1:
            ctx.fail(f"init value {init.describe()} must be one element of the input's type "
                     f"{np.dtype(x.dtype).name}")
        out = ctx.outputs[0]
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(x.dtype):
            ctx.fail(f"output {out.describe()} must have the input's type {np.dtype(x.dtype).name}")
        if not 1 <= x.rank <= MAX_RANK:
            ctx.fail(f"input {x.describe()} must have rank 1 to {MAX_RANK}")
        r = x.rank
        o = self.options
        window = int_option(o, "window_dimensions")
        if len(window) != r:
            ctx.fail(f"window_dimensions {list(window)} must have one entry per input dimension ({x.describe()})")
        vals = {"window_dimensions": window}
        for name, fill, count in (("window_strides", 1, r), ("base_dilations", 1, r), ("window_dilations", 1, r),
                                  ("padding", 0, 2 * r)):
            v = int_option(o, name) or (fill,) * count
            if len(v) != count:
                ctx.fail(f"{name} {list(v)} must have {count} entries for input {x.describe()}")
            vals[name] = v
        for name in ("window_dimensions", "window_strides", "base_dilations", "window_dilations"):
            if any(not 0 < v <= 2**31 for v in vals[name]):
                ctx.fail(f"{name} {list(vals[name])} must be positive (and fit int32)")
        pad = vals["padding"]
        if any(abs(p) > 2**31 for p in pad):
            ctx.fail(f"padding {list(pad)} has entries beyond the int32 range")
        low, high = pad[0::2], pad[1::2]
        dil = vals["base_dilations"]
        padded, self.dst, self.src = interior_pad(x.shape, low, high, [d - 1 for d in dil])
        self.stage = any(d != 1 for d in dil) or any(pad)
        if self.stage:
            if any(d <= 0 for d in padded):
                ctx.fail(f"the padding {list(pad)} and base dilations {list(dil)} give the input {x.describe()} "
                         f"an empty or negative shape {padded}")
            check_size(ctx, padded, "padded input")
            self.stage_slot = ctx.scratch(padded, x.dtype)
        else:
            padded = list(x.shape)
        self.out_shape = output_shape(padded, window, vals["window_strides"], vals["window_dilations"])
        check_size(ctx, self.out_shape)
        ctx.set_output(0, self.out_shape, x.dtype)
        self.window, self.strides, self.wdil = window, vals["window_strides"], vals["window_dilations"]
        self.mask_slot = ctx.scratch(self.out_shape, np.bool_) if np.dtype(x.dtype).kind == "f" else None
        index = int(o.get("body_subgraph_index") or 0)
        self.kind = recognise(region_subgraph(ctx, index, "body"), BODIES, allow_replace=False)
        self.call = None if self.kind is not None else ScalarCall(self, ctx, index, x.dtype, "body")

    def bind(self, inputs, outputs, scratch) -> Step:
        x, out = inputs[INPUT], outputs[0]
        init = inputs[INIT].reshape(())
        if out.size == 0:
            return lambda: None
        src = scratch[self.stage_slot] if self.stage else x
        views = window_views(src, self.out_shape, self.window, self.strides, self.wdil)
        if self.call is not None:
            self.call.bind()
        reduce = reduce_step(self.kind or "call", views, init, out,
                             scratch[self.mask_slot] if self.mask_slot is not None else None, self.call)
        if not self.stage:
            return reduce
        stage_dst = src[self.dst] if self.dst is not None else None
        stage_src = x[self.src] if self.src is not None else None
        copyto = np.copyto

        def step() -> None:
            copyto(src, init)
            if stage_dst is not None:
                copyto(stage_dst, stage_src)
            reduce()

        return step
