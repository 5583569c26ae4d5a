"""RNN: one step of a basic RNN cell, ``h = act(bias + x @ W.T + h @ R.T)``; output = new ``h``.

1. Inputs: ``x [B, I]`` (float32), input weights ``W [U, I]``, recurrent weights ``R [U, U]``
   (both float32, or both int8 for the hybrid form), float32 ``bias [U]`` and the hidden state
   ``h [B, U]``, a float32 variable tensor updated in place (it persists across ``invoke()``).
   Output ``[B, U]``, float32.
2. Computed as one time step of ``_rnn.Direction`` (see ``_rnn`` for the float32 and hybrid
   arithmetic, and the fused activations: all of TFLite's).
3. Options (``RNNOptions``): ``fused_activation_function``, ``asymmetric_quantize_inputs``
   (hybrid only).  Versions 1 to 3, as LiteRT 2.3 registers them.
"""

from __future__ import annotations

import numpy as np

from ._rnn import F32, Direction, check_rnn_activation
from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, WEIGHTS, RECURRENT, BIAS, HIDDEN = range(5)


@register("RNN", versions=(1, 2, 3))
class Rnn(Kernel):
    options_table = "RNNOptions"
    foldable = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(5)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, (F32,))
        ctx.expect_rank(x, 2)
        self.act = check_rnn_activation(ctx, int(self.options.get("fused_activation_function") or 0))
        asym = bool(self.options.get("asymmetric_quantize_inputs"))
        batch = x.shape[0]
        self.cell = Direction(ctx, x, WEIGHTS, RECURRENT, BIAS, HIDDEN, None, None, 1, batch, asym)
        ctx.set_output(0, (batch, self.cell.units), np.float32)

    def bind(self, inputs, outputs, scratch) -> Step:
        out = outputs[0]
        return self.cell.bind(inputs, scratch, inputs[INPUT], None, out.reshape(1, *out.shape), self.act, False)
