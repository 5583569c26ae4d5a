"""MediaPipe's custom op ``Convolution2DTransposeBias``: a float32 transposed convolution with a bias
(MediaPipe's ``mediapipe/util/tflite/operations/transpose_conv_bias.cc``), computed by numlite's
transposed-convolution engine (``numlite.ops._transpose_conv``).

1. Version 1 (the one MediaPipe registers).  Inputs ``INPUT [N, H, W, Cin]``, ``FILTER [Cout, KH,
   KW, Cin]`` (OHWI) and ``BIAS [Cout]`` (rank 1), all float32, exactly three; no ``output_shape``.
2. ``custom_options`` are not FlexBuffers but the raw bytes of TFLite's C struct
   ``TfLiteTransposeConvParams``: little-endian int32 ``padding`` (TfLitePadding: 1 = SAME, 2 =
   VALID, 0 = unknown, which MediaPipe treats as VALID), ``stride_width``, ``stride_height``
   (any bytes after these 12 are ignored).  Fewer than 12 bytes, other padding codes and strides
   below 1 are rejected.
3. Output size per dimension: ``s * (I - 1) + K - P`` with ``P = max(0, K - (I - 1) % s - 1)`` for
   SAME and 0 for VALID; padding before ``P // 2``.
4. ``out = bias + scatter(x * w)``; there is no fused activation, nor TFLite's +-FLT_MAX clamp.
"""

from __future__ import annotations

import struct

import numpy as np

from ..ops._transpose_conv import Fail, OhwiTransposeConvBase
from ..ops.base import PADDING_SAME, PADDING_VALID, PrepareContext

#: TfLitePadding codes (the C enum, not the schema's Padding)
_TFLITE_PADDING = {0: PADDING_VALID, 1: PADDING_SAME, 2: PADDING_VALID}


class Convolution2DTransposeBias(OhwiTransposeConvBase):
    op_name = "Convolution2DTransposeBias"
    rank = 2
    SHAPE, INPUT, FILTER, BIAS = None, 0, 1, 2
    float_clamp = False  # MediaPipe's kernel applies no activation range: inf stays inf

    def prepare(self, ctx: PrepareContext) -> None:
        if int(ctx.node.version) != 1:  # MediaPipe registers the op at its default version only
            ctx.fail(f"version {ctx.node.version} is not supported (numlite supports version 1)")
        ctx.expect_inputs(3)
        b = ctx.input(self.BIAS)
        ctx.expect_rank(b, 1, "bias")
        for i, role in ((self.INPUT, "input"), (self.FILTER, "filter"), (self.BIAS, "bias")):
            ctx.expect_dtype(ctx.input(i), (np.float32,), role)
        super().prepare(ctx)

    def read_options(self, ctx: PrepareContext) -> tuple[int, tuple[int, ...], tuple[int, ...], int]:
        raw = self.node.custom_options
        raw = b"" if raw is None else bytes(raw)
        if len(raw) < 12:
            ctx.fail(f"custom_options must hold TfLiteTransposeConvParams (padding, stride_width, stride_height: "
                     f"12 bytes), got {len(raw)} bytes")
        padding, sw, sh = struct.unpack_from("<iii", raw, 0)
        if padding not in _TFLITE_PADDING:
            ctx.fail(f"unknown padding code {padding} in custom_options (1 = SAME, 2 = VALID)")
        return _TFLITE_PADDING[padding], (sh, sw), (1, 1), 0

    def output_size(self, shape: tuple[int, ...], fail: Fail) -> tuple[tuple[int, ...], tuple[int, ...]]:
        st = self._static
        out_sp, pads = [], []
        for dim in range(2):
            i, k, s = st["in_sp"][dim], st["k"][dim], st["s"][dim]
            p = max(0, k - (i - 1) % s - 1) if st["padding"] == PADDING_SAME else 0
            out_sp.append(s * (i - 1) + k - p)
            pads.append(p // 2)
        return tuple(out_sp), tuple(pads)
