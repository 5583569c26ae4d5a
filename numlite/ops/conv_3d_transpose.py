"""CONV_3D_TRANSPOSE (version 1): the 3-D transposed convolution, float32 (``_transpose_conv`` has the
algorithm: one GEMM and a per-tap strided scatter-add).

Inputs ``OUTPUT_SHAPE`` (int32 ``[5]``: N, D, H, W, Cout), ``FILTER [KD, KH, KW, Cout, Cin]``,
``INPUT [N, D, H, W, Cin]`` and an optional ``BIAS [Cout]``; options ``Conv3DOptions`` (padding,
stride_d / stride_h / stride_w, dilation factors, fused activation).

1. float32 only, as LiteRT.  Output position ``i * s - pad + k * dilation`` per dimension; the
   padding is that of the forward convolution of the output size (dilated filter extent).
2. The output shape must match as LiteRT checks: batch equal, ``Cout`` equal to the filter's
   dimension 3, and the forward convolution of the output size equal to the input's D, H, W.
   A constant ``output_shape`` fixes the output at prepare; a computed one makes it dynamic.
3. RELU, RELU6 and RELU_N1_TO_1 clamp; TANH and SIGN_BIT clamp nothing else; every result is
   clamped to +-FLT_MAX as LiteRT's reference kernel does (inf becomes the largest float32).
4. Results agree with LiteRT's float kernels to float32 rounding (another summation order).
"""

from __future__ import annotations

import numpy as np

from ._transpose_conv import TransposeConvBase
from .base import PrepareContext
from .registry import register


@register("CONV_3D_TRANSPOSE", versions=(1,))
class Conv3DTranspose(TransposeConvBase):
    options_table = "Conv3DOptions"
    rank = 3
    SHAPE, FILTER, INPUT, BIAS = 0, 1, 2, 3

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(3, 4)
        super().prepare(ctx)

    def filter_layout(self, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...], int]:
        kd, kh, kw, cout, cin = shape
        return cout, (kd, kh, kw), cin

    def filter_view(self, w: np.ndarray) -> np.ndarray:
        kd, kh, kw, cout, cin = w.shape
        return w.reshape(kd * kh * kw, cout, cin).transpose(2, 0, 1)

    def read_options(self, ctx: PrepareContext) -> tuple[int, tuple[int, ...], tuple[int, ...], int]:
        o = self.options

        def get(name: str) -> int:
            return int(o.get(name) or 0)

        strides = (get("stride_d"), get("stride_h"), get("stride_w"))
        dilations = (get("dilation_d_factor"), get("dilation_h_factor"), get("dilation_w_factor"))
        return get("padding"), strides, dilations, get("fused_activation_function")
