"""UNIDIRECTIONAL_SEQUENCE_RNN: a basic RNN cell run over a sequence.

1. Inputs: ``x`` float32 ``[T, B, I]`` (``time_major``) or ``[B, T, I]``, input weights
   ``W [U, I]``, recurrent weights ``R [U, U]`` (float32, or int8 for the hybrid form), float32
   ``bias [U]``, and the hidden state ``h [B, U]``: a float32 variable tensor, updated in place at
   every step, that carries the state into the next ``invoke()``.  Output: ``[T, B, U]`` or
   ``[B, T, U]`` (the input's layout), each step's new ``h``.
2. ``_rnn.Direction`` computes it: the input projection of all T steps as one GEMM (a batch-major
   input with ``B > 1`` and ``T > 1`` is first copied time-major), then per step only
   ``act(P[t] + h @ R.T)``.  Float32 and hybrid arithmetic, fused activations: see ``_rnn``.
3. Options (``SequenceRNNOptions``): ``time_major``, ``fused_activation_function``,
   ``asymmetric_quantize_inputs`` (hybrid only).  Versions 1 to 3, as LiteRT 2.3 registers them.
"""

from __future__ import annotations

import numpy as np

from ._rnn import F32, Direction, check_rnn_activation
from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, WEIGHTS, RECURRENT, BIAS, HIDDEN = range(5)


def time_major_rows(ctx: PrepareContext, shape: tuple[int, ...], time_major: bool) -> tuple[int, int, int | None]:
    """``(T, B, scratch slot or None)``: a slot for a time-major copy when the rows of a batch-major
    ``[B, T, K]`` tensor are not already in time-major order."""
    if time_major:
        return shape[0], shape[1], None
    b, t, k = shape
    return t, b, (ctx.scratch((t, b, k), np.float32) if b > 1 and t > 1 else None)


def rows_view(src: np.ndarray, time_major: bool, slot: int | None, scratch: list) -> tuple[np.ndarray, object]:
    """``(rows [T*B, K], copy step or None)`` for a ``[T, B, K]`` / ``[B, T, K]`` source."""
    k = src.shape[-1]
    if slot is None:
        if time_major:
            return src.reshape(-1, k), None
        return src.transpose(1, 0, 2).reshape(-1, k), None  # B == 1 or T == 1: still a view
    buf = scratch[slot]
    view = src.transpose(1, 0, 2)
    return buf.reshape(-1, k), (lambda: np.copyto(buf, view))


@register("UNIDIRECTIONAL_SEQUENCE_RNN", versions=(1, 2, 3))
class UnidirectionalSequenceRnn(Kernel):
    options_table = "SequenceRNNOptions"
    foldable = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(5)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, (F32,))
        ctx.expect_rank(x, 3)
        self.time_major = bool(self.options.get("time_major"))
        self.act = check_rnn_activation(ctx, int(self.options.get("fused_activation_function") or 0))
        asym = bool(self.options.get("asymmetric_quantize_inputs"))
        t, b, self.s_x = time_major_rows(ctx, x.shape, self.time_major)
        self.cell = Direction(ctx, x, WEIGHTS, RECURRENT, BIAS, HIDDEN, None, None, t, b, asym)
        u = self.cell.units
        ctx.set_output(0, (t, b, u) if self.time_major else (b, t, u), np.float32)

    def bind(self, inputs, outputs, scratch) -> Step:
        out = outputs[0]
        out3 = out if self.time_major else out.transpose(1, 0, 2)
        x2, copy = rows_view(inputs[INPUT], self.time_major, self.s_x, scratch)
        run = self.cell.bind(inputs, scratch, x2, None, out3, self.act, False)
        if copy is None:
            return run

        def step() -> None:
            copy()
            run()

        return step
