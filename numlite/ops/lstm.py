"""LSTM: one LSTM step (TFLite's "full" kernel) on a ``[B, K]`` input, state in two variable tensors.

1. The 20- or 24-input layout of UNIDIRECTIONAL_SEQUENCE_LSTM (``unidirectional_sequence_lstm``
   describes it), with a rank-2 input and a ``[B, n_output]`` output: one time step.
2. Options: fused_activation_function, cell_clip, proj_clip, asymmetric_quantize_inputs;
   kernel_type must be FULL (0): the legacy BASIC kernel (5 inputs, 4 outputs, uint8) is not
   supported.
3. Float32 and hybrid (int8 weights); the full-integer 8x8_16 form (int8 input, five
   intermediates) through ``_lstm_int.IntDirection``; the 8x8_8 form (twelve intermediates) is
   refused at prepare.  Versions 1-4, as LiteRT registers.
"""

from __future__ import annotations

from ._lstm import check_activation
from .base import Kernel, PrepareContext, Step
from .registry import register
from .unidirectional_sequence_lstm import CELL_STATE, INPUT, OUTPUT_STATE, SPEC, make_direction, prepare_direction


@register("LSTM", versions=(1, 2, 3, 4))
class Lstm(Kernel):
    options_table = "LSTMOptions"
    foldable = False  # stateful

    def prepare(self, ctx: PrepareContext) -> None:
        o = self.options
        if int(o.get("kernel_type") or 0) != 0:
            ctx.fail("kernel_type BASIC (the legacy 5-input quantized LSTM cell) is not supported; only FULL")
        if len(ctx.inputs) not in (20, 24):
            ctx.fail(f"expects 20 or 24 inputs, got {len(ctx.inputs)}")
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(INPUT)
        if x.rank != 2:
            ctx.fail(f"input {x.describe()} must have rank 2 ([batch, features])")
        act = int(o.get("fused_activation_function") or 0)
        check_activation(ctx, act)
        d = self.dir = make_direction(ctx, SPEC, "")
        dtype = prepare_direction(ctx, d, x, 1, x.shape[0], act, o)
        ctx.set_output(0, (x.shape[0], d.n_output), dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        out = outputs[0]
        return self.dir.bind(inputs[INPUT], None, out.reshape(1, *out.shape), inputs[OUTPUT_STATE],
                             inputs[CELL_STATE], scratch)
