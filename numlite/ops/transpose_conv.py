"""TRANSPOSE_CONV (versions 1-5): the 2-D transposed convolution (``_transpose_conv`` has the algorithm).

Inputs ``OUTPUT_SHAPE`` (int32 ``[4]``: N, H, W, Cout), ``FILTER [Cout, KH, KW, Cin]`` (OHWI),
``INPUT [N, H, W, Cin]`` and an optional ``BIAS [Cout]`` (input 3, version 3 on); options
``TransposeConvOptions`` (padding, stride_h / stride_w, fused activation from version 4,
quantized_bias_type).

1. Types, as LiteRT 2.3 accepts them: float32 (float32 filter and bias); uint8 (uint8 filter,
   per-tensor, int32 bias); int8 (int8 filter per tensor or per output channel, zero point 0, int32
   bias); 16x8 (int16 input and output with zero point 0, int8 filter, int64 bias, or int32 bias
   with quantized_bias_type INT32); hybrid (float32 input, int8 filter, float32 bias and output).
   Quantized forms are bit-exact with LiteRT's reference kernels; float and hybrid agree to float32
   rounding (the sums run in another order).
2. The output shape must match the input as LiteRT 2.3 checks: batch equal, ``Cout`` equal to the
   filter's, and the forward convolution of the output size (SAME: ``ceil(O / s)``, VALID:
   ``(O - K + s) // s``) equal to the input's H and W.  A constant ``output_shape`` fixes the
   output at prepare; one computed at run time makes the output dynamic (re-planned whenever the
   shape changes), as LiteRT does.
3. Fused activations RELU, RELU6 and RELU_N1_TO_1 clamp (for the quantized forms: TFLite's
   quantized activation range); TANH and SIGN_BIT clamp nothing else.  Float results are also
   clamped to +-FLT_MAX whatever the activation, as LiteRT's reference kernel does (an infinite
   sum becomes the largest finite float32; NaN stays NaN).
4. A float filter or bias may be non-constant (laid out at every invoke); the quantized and hybrid
   forms need constant filter and bias.
"""

from __future__ import annotations

from ._transpose_conv import OhwiTransposeConvBase
from .base import PrepareContext
from .registry import register


@register("TRANSPOSE_CONV", versions=range(1, 6))
class TransposeConv(OhwiTransposeConvBase):
    options_table = "TransposeConvOptions"
    rank = 2
    SHAPE, FILTER, INPUT, BIAS = 0, 1, 2, 3
    quantized_forms = True

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3, 4)
        super().prepare(ctx)

    def read_options(self, ctx: PrepareContext) -> tuple[int, tuple[int, ...], tuple[int, ...], int]:
        o = self.options
        strides = (int(o.get("stride_h") or 0), int(o.get("stride_w") or 0))
        return int(o.get("padding") or 0), strides, (1, 1), int(o.get("fused_activation_function") or 0)
