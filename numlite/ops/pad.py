"""PAD: pad with zeros (the output zero point for quantized tensors).

1. ``paddings`` (input 1, int32/int64, shape [rank, 2], non-negative) must be known at prepare.
2. The step fills the output with the pad value and copies the input into the interior
   (a basic-slice view computed at prepare).
3. Quantized tensors, as TFLite: the interior is copied unchanged (no requantization between
   input and output parameters); the pad value is the output's zero point (uint8 always, with
   0 when unquantized; int8 / int16 when quantized).  PADV2's ``constant_values`` is used as
   stored, and in those quantized forms must share the output's scale and zero point.
"""

from __future__ import annotations

import numpy as np

from ._shape import DATA_DTYPES, index_input
from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, PADDINGS, VALUE = 0, 1, 2


def read_paddings(ctx: PrepareContext, x_rank: int, mirror_limit: int | None = None) -> np.ndarray:
    p = index_input(ctx, PADDINGS, "paddings input")
    if p.shape != (x_rank, 2):
        ctx.fail(f"paddings must have shape [{x_rank}, 2], got {list(p.shape)}")
    if (p < 0).any():
        ctx.fail(f"paddings {p.tolist()} must be non-negative")
    return p


class PadBase(Kernel):
    """PAD and PADV2; subclasses differ in where the pad value comes from."""

    has_value_input = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3 if self.has_value_input else 2)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, DATA_DTYPES)
        p = read_paddings(ctx, x.rank)
        ctx.set_output(0, [n + a + b for n, (a, b) in zip(x.shape, p.tolist())], x.dtype)
        self.interior = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, p.tolist()))
        self.value_input = False
        v = ctx.input(VALUE, optional=True) if self.has_value_input else None
        if v is not None:
            if np.dtype(v.dtype) != np.dtype(x.dtype):
                ctx.fail(f"constant_values {v.describe()} must have the input's type {np.dtype(x.dtype).name}")
            if v.size != 1:
                ctx.fail(f"constant_values {v.describe()} must hold one value")
            self.value_input = True
        oq = ctx.outputs[0].quantization
        dt = np.dtype(x.dtype)
        # TFLite's quantized pad: uint8 always, int8 / int16 when the input is quantized
        quantized_form = dt == np.uint8 or (dt in (np.int8, np.int16) and x.quantization.is_quantized)
        self.pad_value = oq.zero_point if quantized_form else 0
        if quantized_form:
            info = np.iinfo(dt)
            if not info.min <= self.pad_value <= info.max:
                ctx.fail(f"output zero point {self.pad_value} is outside the range of {dt.name}")
            if v is not None:
                vq = v.quantization
                if np.float32(vq.scale) != np.float32(oq.scale) or vq.zero_point != oq.zero_point:
                    ctx.fail(f"constant_values {v.describe()} must have the output's scale and zero point "
                             f"({oq.scale}, {oq.zero_point}), got ({vq.scale}, {vq.zero_point})")

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        dst, src = out[self.interior], inputs[INPUT]
        value = inputs[VALUE].reshape(()) if self.value_input else np.array(self.pad_value, out.dtype)
        copyto = np.copyto

        def step() -> None:
            copyto(out, value)
            copyto(dst, src)

        return step


@register("PAD", versions=range(1, 7))
class Pad(PadBase):
    pass
