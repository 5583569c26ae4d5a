"""UNIDIRECTIONAL_SEQUENCE_LSTM: an LSTM over a sequence, state carried in two variable tensors.

1. Inputs (TFLite's 20- or 24-input layout, -1 for omitted optionals): 0 input ``[T, B, K]``
   (``time_major``) or ``[B, T, K]``; 1-4 input-to-{input, forget, cell, output} weights; 5-8
   recurrent weights (1-D: diagonal, version 4); 9-11 peephole weights (input, forget, output);
   12-15 gate biases; 16 / 17 projection weights / bias; 18 output state and 19 cell state
   (variable tensors, read and updated in place, so the state carries over between invokes as in
   LiteRT); 20-23 layer-norm coefficients.  One output ``[..., n_output]``, like the input.
2. Options: fused_activation_function (the cell gate's and the cell output's activation),
   cell_clip / proj_clip (0: none), time_major, asymmetric_quantize_inputs (hybrid).
3. Float32 and hybrid (int8 weights): ``_lstm.Direction``; the full-integer 8x8_16 form (int8
   input / output / output state, int16 cell state, five intermediates): ``_lstm_int.IntDirection``
   (its module docstring has the algorithm).  Versions 1-4 as LiteRT's default resolver (its
   reference resolver registers 1-3).
"""

from __future__ import annotations

import numpy as np

from ._lstm import Direction, DirSpec, check_activation
from ._lstm_int import IntDirection
from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT = 0
OUTPUT_STATE, CELL_STATE = 18, 19
SPEC = DirSpec(wx=(1, 2, 3, 4), wh=(5, 6, 7, 8), peep=(9, 10, 11), bias=(12, 13, 14, 15), proj_w=16, proj_b=17,
               h=OUTPUT_STATE, c=CELL_STATE, ln=(20, 21, 22, 23))


def make_direction(ctx: PrepareContext, spec: DirSpec, name: str) -> Direction:
    """The float / hybrid ``Direction`` for a float32 input, the full-integer ``IntDirection`` for
    an int8 input (other input types are refused)."""
    x = ctx.input(INPUT)
    xt = np.dtype(x.dtype)
    if xt == np.int8:
        return IntDirection(spec, name)
    if xt != np.float32:
        ctx.fail(f"input {x.describe()}: numlite supports float32 (float or hybrid) and int8 (full-integer 8x8_16) "
                 "inputs for this op")
    return Direction(spec, name)


def prepare_direction(ctx: PrepareContext, d: Direction, x, n_steps: int, n_batch: int, act: int, options,
                      rows_t_major: bool = True):
    """``d.prepare`` with the op's options; returns the output dtype (int8 for the integer form)."""
    kw = {"out": ctx.outputs[0]} if isinstance(d, IntDirection) else {}
    d.prepare(ctx, x, n_steps, n_batch, act, float(options.get("cell_clip") or 0.0),
              float(options.get("proj_clip") or 0.0), bool(options.get("asymmetric_quantize_inputs")),
              rows_t_major=rows_t_major, **kw)
    return np.int8 if isinstance(d, IntDirection) else np.float32


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", versions=(1, 2, 3, 4))
class UnidirectionalSequenceLstm(Kernel):
    options_table = "UnidirectionalSequenceLSTMOptions"
    foldable = False  # stateful: the states are variables updated at every invoke

    def prepare(self, ctx: PrepareContext) -> None:
        if len(ctx.inputs) not in (20, 24):
            ctx.fail(f"expects 20 or 24 inputs, got {len(ctx.inputs)}")
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x = ctx.input(INPUT)
        if x.rank != 3:
            ctx.fail(f"input {x.describe()} must have rank 3 ([time, batch, features] or [batch, time, features])")
        o = self.options
        act = int(o.get("fused_activation_function") or 0)
        check_activation(ctx, act)
        self.time_major = bool(o.get("time_major"))
        T, B = (x.shape[0], x.shape[1]) if self.time_major else (x.shape[1], x.shape[0])
        d = self.dir = make_direction(ctx, SPEC, "")
        dtype = prepare_direction(ctx, d, x, T, B, act, o, rows_t_major=self.time_major)
        ctx.set_output(0, (*x.shape[:2], d.n_output), dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        d = self.dir
        x = inputs[INPUT]
        out = outputs[0]
        out3 = out if self.time_major else out.transpose(1, 0, 2)
        return d.bind(x.reshape(-1, x.shape[-1]), None, out3, inputs[OUTPUT_STATE], inputs[CELL_STATE], scratch)
