"""BIDIRECTIONAL_SEQUENCE_LSTM: a forward and a backward LSTM over the same sequence.

1. 48 inputs (-1 for omitted optionals): 0 input ``[T, B, K]`` (``time_major``) or ``[B, T, K]``;
   1-17 the forward LSTM's weights, biases and projection in UNIDIRECTIONAL_SEQUENCE_LSTM's order
   (its slots 1-17), 18-34 the backward LSTM's; 35 / 36 forward output / cell state, 37 / 38
   backward ones (variable tensors, updated in place: the state carries over between invokes);
   39 auxiliary input; 40-43 forward and 44-47 backward aux-input-to-{input, forget, cell,
   output} weights.  No layer normalization.
2. Auxiliary input, as LiteRT: with aux weights, both directions add ``aux @ Wa^T`` to their
   gates; without them, an aux input (which must then be shaped like the input) replaces the
   input of the backward direction (stacking without cross links).
3. Both directions must have the same cell and output sizes (LiteRT checks the backward weights
   against the forward sizes).  Outputs: ``merge_outputs``: one ``[..., n_fw + n_bw]`` output, forward features first;
   otherwise a forward and a backward output.  The backward direction runs from the last step to
   the first and writes each step's result at that step's position.
4. Float32 and hybrid (int8 weights; ``asymmetric_quantize_inputs``) via ``_lstm.Direction``.
   Versions 1-3, as LiteRT registers.  LiteRT's batch-major form with ``merge_outputs`` offsets
   the backward state rows by the merged row width (past its state buffer for a batch above 1);
   numlite keeps each direction's state rows where they belong.
"""

from __future__ import annotations

import numpy as np

from ._lstm import Direction, DirSpec, check_activation
from .base import Kernel, PrepareContext, Step
from .registry import register

INPUT, AUX_INPUT = 0, 39
FW = DirSpec(wx=(1, 2, 3, 4), wh=(5, 6, 7, 8), peep=(9, 10, 11), bias=(12, 13, 14, 15), proj_w=16, proj_b=17,
             h=35, c=36, aux_w=(40, 41, 42, 43), label="forward ")
BW = DirSpec(wx=(18, 19, 20, 21), wh=(22, 23, 24, 25), peep=(26, 27, 28), bias=(29, 30, 31, 32), proj_w=33,
             proj_b=34, h=37, c=38, aux_w=(44, 45, 46, 47), label="backward ")


@register("BIDIRECTIONAL_SEQUENCE_LSTM", versions=(1, 2, 3))
class BidirectionalSequenceLstm(Kernel):
    options_table = "BidirectionalSequenceLSTMOptions"
    foldable = False  # stateful

    def prepare(self, ctx: PrepareContext) -> None:
        if len(ctx.inputs) != 48:
            ctx.fail(f"expects 48 inputs, got {len(ctx.inputs)}")
        o = self.options
        self.merge = bool(o.get("merge_outputs"))
        want = 1 if self.merge else 2
        if len(ctx.outputs) != want:
            ctx.fail(f"expects {want} output(s) with merge_outputs={self.merge}, got {len(ctx.outputs)}")
        x = ctx.input(INPUT)
        if x.rank != 3 or np.dtype(x.dtype) != np.float32:
            ctx.fail(f"input {x.describe()} must be float32 of rank 3")
        act = int(o.get("fused_activation_function") or 0)
        check_activation(ctx, act)
        self.time_major = bool(o.get("time_major"))
        T, B = (x.shape[0], x.shape[1]) if self.time_major else (x.shape[1], x.shape[0])
        aux = ctx.input(AUX_INPUT, optional=True)
        fw_aux_w = ctx.input(FW.aux_w[1], optional=True)
        self.use_aux = aux is not None and fw_aux_w is not None
        self.bw_from_aux = aux is not None and fw_aux_w is None
        if aux is not None:
            if aux.rank != 3 or tuple(aux.shape[:2]) != tuple(x.shape[:2]) or np.dtype(aux.dtype) != np.float32:
                ctx.fail(f"aux input {aux.describe()} must be float32 [{x.shape[0]}, {x.shape[1]}, n]")
            if self.bw_from_aux and aux.shape[2] != x.shape[2]:
                ctx.fail(f"aux input {aux.describe()} without aux weights feeds the backward LSTM and must be shaped "
                         f"like the input {x.describe()}")
        elif ctx.input(FW.aux_w[1], optional=True) is not None or ctx.input(BW.aux_w[1], optional=True) is not None:
            ctx.fail("aux input weights are given but the aux input (input 39) is omitted")
        clip = (float(o.get("cell_clip") or 0.0), float(o.get("proj_clip") or 0.0))
        asym = bool(o.get("asymmetric_quantize_inputs"))
        self.fw, self.bw = Direction(FW, "forward"), Direction(BW, "backward")
        self.fw.prepare(ctx, x, T, B, act, *clip, asym, aux=aux if self.use_aux else None,
                        rows_t_major=self.time_major)
        self.bw.prepare(ctx, aux if self.bw_from_aux else x, T, B, act, *clip, asym,
                        aux=aux if self.use_aux else None, rows_t_major=self.time_major)
        if (self.bw.n_cell, self.bw.n_output) != (self.fw.n_cell, self.fw.n_output):
            # LiteRT checks both directions against the forward sizes
            ctx.fail(f"the backward LSTM ({self.bw.n_cell} cells, {self.bw.n_output} outputs) must have the forward "
                     f"one's sizes ({self.fw.n_cell} cells, {self.fw.n_output} outputs)")
        if self.fw.form != self.bw.form:
            ctx.fail(f"forward ({self.fw.form}) and backward ({self.bw.form}) weights must have the same type")
        nf, nb = self.fw.n_output, self.bw.n_output
        lead = x.shape[:2]
        if self.merge:
            ctx.set_output(0, (*lead, nf + nb), np.float32)
        else:
            ctx.set_output(0, (*lead, nf), np.float32)
            ctx.set_output(1, (*lead, nb), np.float32)

    def bind(self, inputs, outputs, scratch) -> Step:
        def tb(a: np.ndarray) -> np.ndarray:  # a [T, B, n] view of an input or output
            return a if self.time_major else a.transpose(1, 0, 2)

        x = inputs[INPUT]
        aux = inputs[AUX_INPUT] if len(inputs) > AUX_INPUT else None
        rows = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
        nf = self.fw.n_output
        if self.merge:
            fw_out, bw_out = tb(outputs[0])[..., :nf], tb(outputs[0])[..., nf:]
        else:
            fw_out, bw_out = tb(outputs[0]), tb(outputs[1])
        aux_rows = rows(aux) if self.use_aux else None
        fw = self.fw.bind(rows(x), aux_rows, fw_out, inputs[FW.h], inputs[FW.c], scratch, forward=True)
        bw = self.bw.bind(rows(aux) if self.bw_from_aux else rows(x), aux_rows, bw_out, inputs[BW.h], inputs[BW.c],
                          scratch, forward=False)

        def step() -> None:
            fw()
            bw()

        return step
