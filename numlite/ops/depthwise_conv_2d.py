"""DEPTHWISE_CONV_2D: NHWC input, filter [1, KH, KW, Cin*M], optional bias [Cout].

1. Like LiteRT's builtin kernel, the depth multiplier is inferred from the shapes
   (``M = Cout / Cin``, which must divide); the ``depth_multiplier`` option is not used by the
   float, int8 and uint8 forms.  LiteRT's 16x8 and hybrid kernels loop over the option's value,
   so for those numlite requires it to agree with the shapes.
2. Padding (SAME / VALID), strides and dilations follow TFLite's ``ComputePaddingHeightWidth``.
3. Float32: fused RELU / RELU6 / RELU_N1_TO_1 clamp the output; TANH and SIGN_BIT clamp
   nothing, as in TFLite's float kernel.  The filter is re-laid out at prepare time when
   constant (per invoke otherwise); the computation is ``_depthwise.DepthwisePlan`` (one einsum
   over all taps per row tile, then bias and clamp while the tile is in cache; threaded).
4. Quantized forms (``_qdepthwise``), bit-exact with LiteRT's reference kernels: int8 (int8
   filter, per-channel or per-tensor scales, int32 bias), uint8 (legacy per-tensor asymmetric,
   int32 bias), int16x8 (int16 activations with zero point 0, int8 filter, int64 bias) and hybrid
   (float32 input / output, int8 filter with per-channel scales).  Fused activations clamp in
   the quantized domain (the hybrid form clamps its float output).
"""

from __future__ import annotations

import numpy as np

from ._depthwise import DepthwisePlan
from ._qdepthwise import HybridDepthwise, QuantizedDepthwise
from .base import Kernel, PrepareContext, Step, conv_padding
from .registry import register

INPUT, FILTER, BIAS = 0, 1, 2
QUANTIZED = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


@register("DEPTHWISE_CONV_2D", versions=range(1, 8))
class DepthwiseConv2D(Kernel):
    options_table = "DepthwiseConv2DOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3)
        x, f = ctx.input(INPUT), ctx.input(FILTER)
        b = ctx.input(BIAS, optional=True) if len(ctx.inputs) > 2 else None
        out = ctx.outputs[0]
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        xdt, fdt = np.dtype(x.dtype), np.dtype(f.dtype)
        self.kind = "float"
        if xdt in QUANTIZED:
            self.kind = "quantized"
            for spec, role in ((x, "input"), (out, "output")):
                if not spec.quantization.is_quantized:
                    ctx.fail(f"{role} {spec.describe()} has no quantization parameters: only float32 "
                             "depthwise convolution is supported without them")
        elif xdt == np.float32 and fdt == np.int8:
            self.kind = "hybrid"
            if not f.quantization.is_quantized:
                ctx.fail(f"filter {f.describe()} has type int8 but no quantization parameters (a hybrid "
                         "depthwise convolution needs per-channel filter scales)")
        else:
            for spec, role in ((x, "input"), (f, "filter"), (b, "bias")):
                if spec is not None and np.dtype(spec.dtype) != np.float32:
                    ctx.fail(f"{role} {spec.describe()} has type {np.dtype(spec.dtype).name}; supported: float32, "
                             "int8, uint8 and int16 inputs, and float32 input with an int8 filter (hybrid)")
            if np.dtype(out.dtype) != np.float32:
                ctx.fail(f"output {out.describe()} must be float32 like the input")
        ctx.expect_rank(x, 4)
        ctx.expect_rank(f, 4, "filter")
        n, h, w, cin = x.shape
        one, kh, kw, cout = f.shape
        if one != 1:
            ctx.fail(f"filter {f.describe()} must have shape [1, KH, KW, Cout]")
        if cin == 0 or cout % cin != 0:
            ctx.fail(f"filter {f.describe()} has {cout} output channels, not a multiple of the "
                     f"{cin} input channels of {x.describe()}")
        if b is not None:
            ctx.expect_rank(b, 1, "bias")
            if b.shape[0] != cout:
                ctx.fail(f"bias {b.describe()} must have {cout} elements (the filter's output channels)")
        o = self.options
        sh, sw = int(o.get("stride_h")), int(o.get("stride_w"))
        dh, dw = int(o.get("dilation_h_factor")), int(o.get("dilation_w_factor"))
        if sh <= 0 or sw <= 0:
            ctx.fail(f"strides must be positive, got stride_h={sh}, stride_w={sw}")
        if dh <= 0 or dw <= 0:
            ctx.fail(f"dilation factors must be positive, got dilation_h_factor={dh}, dilation_w_factor={dw}")
        padding = int(o.get("padding"))
        if padding not in (0, 1):
            ctx.fail(f"unknown padding {padding}")
        ho, pt, _ = conv_padding(h, kh, sh, dh, padding)
        wo, pl, _ = conv_padding(w, kw, sw, dw, padding)
        act = int(o.get("fused_activation_function") or 0)
        if act not in range(6):
            ctx.fail(f"unknown fused activation {act}")
        if (self.kind == "hybrid" or xdt == np.int16) and int(o.get("depth_multiplier")) != cout // cin:
            form = "hybrid" if self.kind == "hybrid" else "16x8"
            ctx.fail(f"depth_multiplier option {int(o.get('depth_multiplier'))} disagrees with the shapes "
                     f"({cout} output / {cin} input channels); LiteRT's {form} kernel uses the option")
        ctx.set_output(0, (n, ho, wo, cout), out.dtype if self.kind == "quantized" else np.float32)
        geom = {"kh": kh, "kw": kw, "stride": (sh, sw), "dilation": (dh, dw), "out_hw": (ho, wo), "pad_tl": (pt, pl)}
        if self.kind == "quantized":
            self.q = QuantizedDepthwise(ctx, x, f, b, out, act, geom)
            return
        if self.kind == "hybrid":
            self.q = HybridDepthwise(ctx, x, f, b, out, act, geom)
            return
        if ctx.shapes_only:  # a delegate's shape inference: no plan, no weight rows
            return
        self.plan = DepthwisePlan(x.shape, kh, kw, cout, (sh, sw), (dh, dw), (ho, wo), (pt, pl),
                                  b is not None, act, ctx.num_threads)
        self.pool = ctx.pool if self.plan.workers > 1 else None
        self.wrows = self.plan.weight_rows(f.value) if f.value is not None and not self.plan.empty else None
        self.scratch_slots = [ctx.scratch(s, d) for s, d in self.plan.scratch_shapes(self.wrows is not None)]

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, filt = inputs[INPUT], inputs[FILTER]
        bias = inputs[BIAS] if len(inputs) > 2 else None
        if self.kind == "quantized":
            return self.q.bind(x, outputs[0], scratch)
        if self.kind == "hybrid":
            return self.q.bind(x, bias, outputs[0], scratch)
        plan = self.plan
        mine = [scratch[i] for i in self.scratch_slots]
        pre = None
        wrows = self.wrows
        if wrows is None and not plan.empty:
            wrows = mine.pop()  # the last scratch slot holds the per-invoke weight rows

            def pre() -> None:
                plan.fill_weight_rows(wrows, filt)

        return plan.bind(x, outputs[0], wrows, bias, mine, self.pool, pre, fused=self.fused)

    def epilogue_tiles(self) -> tuple[int, int, int] | None:
        """Float: ops fused into this one run on each row tile, after the bias and clamp."""
        if self.kind != "float" or self.plan.empty:
            return None
        p = self.plan
        return p.row, p.tile * p.row, p.workers
