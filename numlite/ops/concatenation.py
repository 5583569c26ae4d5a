"""CONCATENATION: join inputs along ``axis`` (negative allowed), optional fused activation.

1. Inputs share dtype and rank; all dimensions but ``axis`` must agree.
2. Each input is copied into its slab of the output (a basic-slice view, planned at prepare).
3. float32: the fused activation runs in place on the output afterwards.  (LiteRT 2.3.0's
   own kernel rejects any fused activation here and its XNNPACK path ignores it; numlite
   applies it as the schema defines.)
4. Integer inputs are copied byte for byte, with TFLite's checks: int8 inputs must share the
   output's scale and zero point exactly (quantized or not); int16 inputs and output must have
   zero point 0 (their scales may differ: nothing is rescaled).  uint8 inputs whose (scale, zero
   point) differ from the output's are requantized as TFLite's kernels do: in float32,
   ``round(q * s + b) + zp_out`` with ``s = in_scale * (1 / out_scale)``, ``b = -zp_in * s``,
   rounded half away from zero (exactly, as std::round) and clamped to [0, 255].
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from ._shape import STRING_DATA_DTYPES, norm_axis, same_dtype
from .base import Kernel, PrepareContext, Step, chain, check_activation, make_activation
from .quant import round_half_away_
from .registry import register


@register("CONCATENATION", versions=range(1, 8))
class Concatenation(Kernel):
    options_table = "ConcatenationOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if not ctx.inputs:
            ctx.fail("expects at least one input")
        xs = [ctx.input(k) for k in range(len(ctx.inputs))]
        x0 = xs[0]
        ctx.expect_dtype(x0, STRING_DATA_DTYPES)
        same_dtype(ctx, xs)
        r = x0.rank
        axis = norm_axis(ctx, int(self.options.get("axis") or 0), r)
        for s in xs[1:]:
            if s.rank != r or any(a != b for d, (a, b) in enumerate(zip(s.shape, x0.shape)) if d != axis):
                ctx.fail(f"inputs must agree in every dimension but {axis}: {x0.describe()} vs {s.describe()}")
        shape = list(x0.shape)
        shape[axis] = sum(s.shape[axis] for s in xs)
        dt = np.dtype(x0.dtype)
        ctx.set_output(0, shape, dt)
        self.act = int(self.options.get("fused_activation_function") or 0)
        if self.act:
            if dt != np.float32:
                ctx.fail(f"fused activation on {dt.name} inputs is not supported")
            check_activation(ctx, self.act, (0, 1, 2, 3, 4, 5))
        oq = ctx.outputs[0].quantization
        if dt == np.int16 and (oq.zero_point or any(x.quantization.zero_point for x in xs)):
            ctx.fail("int16 inputs and output must have zero point 0, got "
                     f"{[x.quantization.zero_point for x in xs]} and {oq.zero_point}")
        self.slabs, self.rescale = [], {}
        start = 0
        for k, s in enumerate(xs):
            n = s.shape[axis]
            self.slabs.append((slice(None),) * axis + (slice(start, start + n),))
            start += n
            q = s.quantization
            if dt not in (np.uint8, np.int8) or (np.float32(q.scale) == np.float32(oq.scale)
                                                 and q.zero_point == oq.zero_point):
                continue
            if dt == np.int8:
                ctx.fail(f"int8 input {s.describe()} must have the output's scale and zero point "
                         f"({oq.scale}, {oq.zero_point}), got ({q.scale}, {q.zero_point})")
            if oq.scale <= 0:
                ctx.fail(f"uint8 output {ctx.outputs[0].describe()} must be quantized to rescale the "
                         f"quantized input {s.describe()}")
            sc = np.float32(np.float32(q.scale) * (np.float32(1) / np.float32(oq.scale)))
            self.rescale[k] = (sc, np.float32(np.float32(-q.zero_point) * sc), oq.zero_point,
                               ctx.scratch(s.shape, np.float32), ctx.scratch(s.shape, np.float32))

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        steps = []
        for k, t in enumerate(self.slabs):
            dst, src = out[t], inputs[k]
            if not dst.size:
                continue
            if k in self.rescale:
                sc, bias, zp, i, j = self.rescale[k]
                steps.append(_requant_step(src, dst, scratch[i], scratch[j], sc, bias, zp))
            else:
                steps.append(functools.partial(operator.setitem, dst, Ellipsis, src))  # dst[...] = src
        return chain(*steps, make_activation(self.act, out))


def _requant_step(src: np.ndarray, dst: np.ndarray, f: np.ndarray, g: np.ndarray, sc: np.float32,
                  bias: np.float32, zp: int) -> Step:
    lo, hi = np.float32(-zp), np.float32(255 - zp)

    def step() -> None:
        np.multiply(src, sc, out=f)
        np.add(f, bias, out=f)
        round_half_away_(f, g)  # std::round
        np.clip(f, lo, hi, out=f)  # clamp of round(.) + zp to [0, 255], before adding zp
        np.add(f, np.float32(zp), out=f)
        np.copyto(dst, f, casting="unsafe")

    return step
