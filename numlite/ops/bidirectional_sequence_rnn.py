"""BIDIRECTIONAL_SEQUENCE_RNN: a forward and a backward basic RNN over one sequence.

1. Inputs (12): ``x`` float32 ``[T, B, I]`` (``time_major``) or ``[B, T, I]``; forward input
   weights, recurrent weights, bias, hidden state (1-4); the same for the backward cell (5-8);
   optional aux input ``[T, B, A]`` / ``[B, T, A]`` (9) and forward / backward aux weights
   ``[U, A]`` (10, 11; both or neither).  Weights are float32, or int8 (hybrid, per-tensor
   scales); biases float32; the hidden states float32 variable tensors ``[B, U]`` that persist
   across ``invoke()``.
2. Outputs: with ``merge_outputs`` one output ``[.., .., Ufw + Ubw]`` (forward units first);
   otherwise forward ``[.., .., Ufw]`` and backward ``[.., .., Ubw]``, in the input's layout.
3. Each cell is an ``_rnn.Direction`` (input projections of all steps as one GEMM per source,
   then only the recurrent product per step; float32 / hybrid arithmetic and activations as in
   ``_rnn``); the forward cell runs t = 0..T-1, the backward cell T-1..0.
4. Which sequence each cell reads, as LiteRT computes it (measured on LiteRT 2.3.0):
   - aux weights present (stacking with cross links): both cells read ``x`` and add the aux
     input times their aux weights;
   - aux input without aux weights (stacking without cross links): the backward cell reads the
     aux input instead of ``x`` in time-major mode, but ``x`` in batch-major mode (LiteRT's
     batch-major loop reads ``x``); the aux input must then have the input's shape;
   - time-major hybrid with symmetric input quantization, merged outputs and ``B > 1``: LiteRT
     2.3.0 crashes (it offsets a null zero-point pointer per batch row); numlite computes the
     op as it is defined (the same values as the unmerged outputs);
   - time-major hybrid: LiteRT runs both cells T times over the whole sequence (its hybrid
     time-major loop is nested in an extra loop over T), so the hidden states advance T times
     per invoke; numlite repeats the recurrence the same way;
   - where LiteRT strides the aux input by the input size rather than its own (time-major, and
     batch-major hybrid), numlite reads it with the same strides; an aux input narrower than the
     input would be read past its end there, and is rejected.
5. Options (``BidirectionalSequenceRNNOptions``): ``time_major``, ``fused_activation_function``,
   ``merge_outputs``, ``asymmetric_quantize_inputs``.  Versions 1 to 3, as LiteRT 2.3 registers.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._rnn import F32, Direction, check_rnn_activation
from .base import Kernel, PrepareContext, Step, chain
from .registry import register

INPUT = 0
FW_W, FW_R, FW_B, FW_H = 1, 2, 3, 4
BW_W, BW_R, BW_B, BW_H = 5, 6, 7, 8
AUX, FW_AUX_W, BW_AUX_W = 9, 10, 11


@register("BIDIRECTIONAL_SEQUENCE_RNN", versions=(1, 2, 3))
class BidirectionalSequenceRnn(Kernel):
    options_table = "BidirectionalSequenceRNNOptions"
    foldable = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(12)
        merge = bool(self.options.get("merge_outputs"))
        if len(ctx.outputs) != (1 if merge else 2):
            ctx.fail(f"expects {1 if merge else 2} output(s) with merge_outputs={merge}, got {len(ctx.outputs)}")
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, (F32,))
        ctx.expect_rank(x, 3)
        tm = self.time_major = bool(self.options.get("time_major"))
        self.merge = merge
        self.act = check_rnn_activation(ctx, int(self.options.get("fused_activation_function") or 0))
        asym = bool(self.options.get("asymmetric_quantize_inputs"))
        aux = ctx.input(AUX, optional=True)
        fw_aux_w, bw_aux_w = ctx.input(FW_AUX_W, optional=True), ctx.input(BW_AUX_W, optional=True)
        if (fw_aux_w is None) != (bw_aux_w is None):
            ctx.fail("the forward and backward aux weights must be given both or neither")
        use_aux_w = fw_aux_w is not None
        t, b = (x.shape[0], x.shape[1]) if tm else (x.shape[1], x.shape[0])
        isz = x.shape[2]
        if use_aux_w and aux is None:
            ctx.fail("aux weights are given without an aux input")
        hybrid = np.dtype(ctx.input(FW_W).dtype) != F32
        if aux is not None:
            ctx.expect_dtype(aux, (F32,), "aux input")
            ctx.expect_rank(aux, 3, "aux input")
            if aux.shape[:2] != x.shape[:2]:
                ctx.fail(f"aux input {aux.describe()} must match the input {x.describe()} in its first two dimensions")
            if not use_aux_w and aux.shape != x.shape:
                ctx.fail(f"aux input {aux.describe()} without aux weights is the backward cell's input and must have "
                         f"the input's shape {list(x.shape)}")
        # which sequences the cells read (module docstring, step 4)
        self.bw_reads_aux = aux is not None and not use_aux_w and tm
        self.aux_mode = None
        if use_aux_w:
            a = aux.shape[2]
            quirky = tm or hybrid  # LiteRT strides the aux input by the input size there
            if quirky and a != isz:
                if a < isz and t * b > 1:
                    ctx.fail(f"aux input {aux.describe()}: LiteRT reads it with the input's row stride ({isz}), past "
                             "its end for a narrower aux input")
                self.aux_mode = "strided"
            else:
                self.aux_mode = "plain"
            self.aux_shape = aux.shape
        self.t, self.b, self.isz = t, b, isz
        self.s_x = ctx.scratch((t, b, isz), np.float32) if (not tm and b > 1 and t > 1) else None
        self.s_aux = ctx.scratch((t, b, aux.shape[2]), np.float32) if use_aux_w else None
        auxspec = aux if use_aux_w else None
        self.fw = Direction(ctx, x, FW_W, FW_R, FW_B, FW_H, auxspec, FW_AUX_W if use_aux_w else None, t, b, asym,
                            "forward ")
        self.bw = Direction(ctx, x, BW_W, BW_R, BW_B, BW_H, auxspec, BW_AUX_W if use_aux_w else None, t, b, asym,
                            "backward ")
        if self.bw.hybrid != self.fw.hybrid:
            ctx.fail("the forward and backward weights must both be float32 or both int8")
        self.repeat = t if (hybrid and tm) else 1
        ufw, ubw = self.fw.units, self.bw.units
        lead = (t, b) if tm else (b, t)
        if merge:
            ctx.set_output(0, (*lead, ufw + ubw), np.float32)
        else:
            ctx.set_output(0, (*lead, ufw), np.float32)
            ctx.set_output(1, (*lead, ubw), np.float32)

    def bind(self, inputs, outputs, scratch) -> Step:
        tm, t, b, isz = self.time_major, self.t, self.b, self.isz
        steps = []
        x = inputs[INPUT]
        if tm:
            x2 = x.reshape(t * b, isz)
        elif self.s_x is None:
            x2 = x.transpose(1, 0, 2).reshape(t * b, isz)
        else:
            buf, view = scratch[self.s_x], x.transpose(1, 0, 2)
            steps.append(lambda: np.copyto(buf, view))
            x2 = buf.reshape(t * b, isz)
        bw_x2 = inputs[AUX].reshape(t * b, isz) if self.bw_reads_aux else x2
        aux2 = None
        if self.aux_mode is not None:
            aux = inputs[AUX]
            a = aux.shape[2]
            it = aux.itemsize
            if self.aux_mode == "strided":  # LiteRT's strides: the input size, not the aux size
                flat = aux.reshape(-1)
                if tm:
                    src = as_strided(flat, (t, b, a), (isz * b * it, a * it, it), writeable=False)
                else:
                    src = as_strided(flat, (t, b, a), (isz * it, isz * t * it, it), writeable=False)
            else:
                src = aux if tm else aux.transpose(1, 0, 2)
            abuf = scratch[self.s_aux]
            steps.append(lambda: np.copyto(abuf, src))
            aux2 = abuf.reshape(t * b, a)
        ufw = self.fw.units
        if self.merge:
            out = outputs[0]
            o3 = out if tm else out.transpose(1, 0, 2)
            fw3, bw3 = o3[..., :ufw], o3[..., ufw:]
        else:
            fw_out, bw_out = outputs
            fw3 = fw_out if tm else fw_out.transpose(1, 0, 2)
            bw3 = bw_out if tm else bw_out.transpose(1, 0, 2)
        # hybrid time-major: LiteRT runs the whole sequence T times; the two cells share no state,
        # so running each one's recurrence T times in turn gives the same result
        fw = self.fw.bind(inputs, scratch, x2, aux2, fw3, self.act, False, self.repeat)
        bw = self.bw.bind(inputs, scratch, bw_x2, aux2, bw3, self.act, True, self.repeat)
        return chain(*steps, fw, bw)
