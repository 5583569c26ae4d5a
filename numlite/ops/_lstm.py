"""Shared engine of the LSTM ops (LSTM, UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM),
as LiteRT's ``lstm_eval`` computes them.

One *direction* of an LSTM is described by a ``DirSpec`` (the input slots of its weights, biases,
states, layer-norm coefficients and auxiliary-input weights); ``Direction.prepare`` checks it and
precomputes everything value-independent, ``Direction.bind`` returns the step that runs the whole
sequence.  The op modules only map their input layout onto ``DirSpec`` and lay out the outputs.

Gates are kept side by side in one ``[rows, G * n_cell]`` block, in the order input, forget, cell,
output (``G = 3`` without the input gate: CIFG, ``i = 1 - f``).  Per sequence:

1. Input projection for *all* time steps at once (one BLAS call for the four gates together, one
   more for an auxiliary input): ``xp = x @ Wx^T (+ aux @ Wa^T) (+ bias)``, written into a
   ``[T * B, G * n_cell]`` scratch; only the recurrent part runs per step.
2. Per step ``t`` (reversed for a backward direction): ``gates = xp[t] + h @ Wh^T`` (a diagonal
   recurrent weight, 1-D, version 4, is expanded to its diagonal matrix in prepare), peephole
   ``+ p_i * c`` / ``+ p_f * c``, layer normalization per gate (``(g - mean) / sqrt(var + 1e-8) *
   coef + bias``; the bias is then not part of step 1), ``i, f = sigmoid``, ``g = act(g)`` (the
   fused activation of the options), ``c = clip(f * c + i * g)``, output gate (peephole on the
   new ``c``), ``h = o * act(c)``, projection ``h = clip(h @ Wp^T + bp)``; ``h`` goes to the state
   and to the output row.  The gate columns are stored input, forget, output, cell: without
   peepholes one in-place sigmoid covers the three sigmoid gates of a step.
3. Fused activation NONE: LiteRT's vector routine then writes nothing, so the cell gate keeps its
   pre-activation value and ``h = o * g`` (the cell *gate*, not the cell state) - numlite does the
   same.  (LiteRT's float kernel also reuses buffers in a way that, with NONE and an all-zero
   input step or an auxiliary input, leaves other partial sums there; numlite does not follow
   that.)
4. Hybrid (float activations, int8 weights, per-tensor scales; TFLite's ``LstmStepHybrid``): every
   input row (each batch row of each step), every recurrent state row and every projection input
   row is quantized on the fly with ``_qfc.RowQuantizer`` (symmetric, or asymmetric with
   ``asymmetric_quantize_inputs``), multiplied exactly with the int8 weights on float BLAS
   (``_qgemm.ExactMatmul``; asymmetric rows subtract ``offset * rowsum(W)``), and scaled back in
   float32 as LiteRT does and in its order: ``gate = bias + f32(dot_x) * (sf_x * s_Wx) [+ aux] +
   f32(dot_h) * (sf_h * s_Wh)``; peephole weights are dequantized (``s * w``).  LiteRT skips the
   product of an all-zero input / state; the quantized form of a zero row is 0 with factor 1, so
   the sums agree.
5. Float tolerance: LiteRT runs the float products through its optimized GEMM (blocked, possibly
   FMA) and Eigen's ``logistic`` / ``tanh``; NumPy's BLAS and ufuncs round differently by an ulp or
   two per operation, and the gates (sigmoid slopes <= 1/4, tanh <= 1, ``f < 1``) keep those
   differences from growing along the sequence: the tests allow ``1e-5`` (measured: at most
   ``1.5e-7`` on the test sizes, ``1.6e-6`` over 2 x 50 steps of 64 cells with layer norm, whose
   division by the standard deviation amplifies them).  Hybrid: the integer products and the
   float32 scaling are LiteRT's exactly, so only the same activation ulps remain (measured
   <= ``5e-7`` on that large case);
   such an ulp could in principle move a re-quantized state value across a rounding boundary
   (one quantization step of the state), which the tests have not met.

Limits: the weights must be constant (numlite pre-arranges them); hybrid weights must be int8
with one scale per tensor; sparse weights are not supported.  The full-integer 8x8_16 form (int8
activations) is ``_lstm_int.IntDirection``; the 8x8_8 form is not supported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._qfc import RowQuantizer
from ._qgemm import ExactMatmul
from .base import PrepareContext, TensorSpec, no_fp_warnings

F32, I8, I16, I32 = (np.dtype(t) for t in (np.float32, np.int8, np.int16, np.int32))
GATE_NAMES = ("input", "forget", "cell", "output")
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6, ACT_TANH, ACT_SIGN_BIT = range(6)


@dataclass
class DirSpec:
    """Input slots of one LSTM direction (-1 / None where the op has no such slot)."""

    wx: tuple[int, int, int, int]  # input-to-{input, forget, cell, output} weights
    wh: tuple[int, int, int, int]  # recurrent-to-{...} weights
    peep: tuple[int, int, int]  # cell-to-{input, forget, output} weights
    bias: tuple[int, int, int, int]
    proj_w: int
    proj_b: int
    h: int  # output (activation) state, a variable tensor
    c: int  # cell state, a variable tensor
    ln: tuple[int, int, int, int] | None = None  # layer-norm coefficients
    aux_w: tuple[int, int, int, int] | None = None  # aux-input-to-{...} weights
    label: str = ""  # "forward " / "backward " in error messages


class Scratch:
    """Named scratch buffers: requested from ``ctx.scratch`` in prepare, looked up in bind."""

    def __init__(self, ctx: PrepareContext, prefix: str = ""):
        self.ctx, self.prefix, self.slots = ctx, prefix, {}

    def add(self, name: str, shape, dtype) -> None:
        self.slots[name] = self.ctx.scratch(shape, dtype)

    def views(self, scratch: list[np.ndarray]) -> dict[str, np.ndarray]:
        return {k: scratch[v] for k, v in self.slots.items()}


def sigmoid_(x: np.ndarray) -> None:
    """In place ``1 / (1 + exp(-x))`` (exp overflow gives the exact limit 0)."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    np.add(x, np.float32(1), out=x)
    np.reciprocal(x, out=x)


def activation_(code: int, x: np.ndarray) -> None:
    """In place fused activation as LiteRT's ``ApplyActivationToVector`` (NONE: untouched)."""
    if code == ACT_RELU:
        np.maximum(x, np.float32(0), out=x)
    elif code == ACT_RELU_N1_TO_1:
        np.clip(x, np.float32(-1), np.float32(1), out=x)
    elif code == ACT_RELU6:
        np.clip(x, np.float32(0), np.float32(6), out=x)
    elif code == ACT_TANH:
        np.tanh(x, out=x)
    elif code == ACT_SIGN_BIT:
        np.copyto(x, np.signbit(x))



class LayerNorm:
    """``g = (g - mean) / sqrt(var + 1e-8) * coef + bias`` per row (TFLite's
    MeanStddevNormalization, then the coefficient and the gate bias), in place, float32."""

    def __init__(self, coef: np.ndarray, bias: np.ndarray):
        self.coef, self.bias = coef, bias

    def bind(self, g: np.ndarray, tmp: np.ndarray, m: np.ndarray) -> Callable[[], None]:
        n = np.float32(g.shape[1])
        coef, bias, eps = self.coef, self.bias, np.float32(1e-8)
        m1 = m[:, 0]

        def step() -> None:
            np.sum(g, axis=1, out=m1)
            np.divide(m, n, out=m)
            np.subtract(g, m, out=g)
            np.multiply(g, g, out=tmp)
            np.sum(tmp, axis=1, out=m1)
            np.divide(m, n, out=m)
            np.add(m, eps, out=m)
            np.sqrt(m, out=m)
            np.divide(g, m, out=g)
            np.multiply(g, coef, out=g)
            np.add(g, bias, out=g)

        return step


class Direction:
    """One direction of a float or hybrid LSTM (module docstring)."""

    def __init__(self, spec: DirSpec, name: str):
        self.spec = spec
        self.name = name

    # -- prepare -----------------------------------------------------------------------------
    def _opt(self, ctx: PrepareContext, i: int | None) -> TensorSpec | None:
        if i is None or i < 0 or i >= len(ctx.inputs):
            return None
        return ctx.inputs[i]

    def _need(self, ctx: PrepareContext, i: int, role: str) -> TensorSpec:
        s = self._opt(ctx, i)
        if s is None:
            ctx.fail(f"{self.spec.label}{role} (input {i}) is required")
        return s

    def _const(self, ctx: PrepareContext, s: TensorSpec, role: str) -> np.ndarray:
        if s.value is None:
            ctx.fail(f"{self.spec.label}{role} {s.describe()} must be constant (numlite pre-arranges the LSTM "
                     "weights at prepare time)")
        return np.asarray(s.value)

    def _check_shape(self, ctx: PrepareContext, s: TensorSpec | None, shape: tuple[int, ...], role: str) -> None:
        if s is not None and tuple(s.shape) != shape:
            ctx.fail(f"{self.spec.label}{role} {s.describe()} must have shape {list(shape)}")


    def _gate_weights(self, ctx: PrepareContext, sp: DirSpec, lab: str) -> tuple[list, list]:
        """The input and recurrent weights of the four gates (None where omitted); the forget,
        cell and output gates' are required, the input gate's are both present or both omitted
        (CIFG, which sets ``self.cifg``)."""
        wx = [self._opt(ctx, i) for i in sp.wx]
        wh = [self._opt(ctx, i) for i in sp.wh]
        for g in (1, 2, 3):
            if wx[g] is None or wh[g] is None:
                ctx.fail(f"{lab}{GATE_NAMES[g]} gate weights (inputs {sp.wx[g]} and {sp.wh[g]}) are required")
        self.cifg = wx[0] is None
        if (wh[0] is None) != self.cifg:
            ctx.fail(f"{lab}input-to-input and recurrent-to-input weights (inputs {sp.wx[0]}, {sp.wh[0]}) must both "
                     "be present or both be omitted (CIFG)")
        return wx, wh

    def _check_bias_projection(self, ctx: PrepareContext, sp: DirSpec, lab: str, gates, n_cell: int, n_output: int,
                               bias_dtype: np.dtype, form: str) -> tuple[list, TensorSpec | None, TensorSpec | None]:
        """The gate biases (required but the input gate's with CIFG, ``bias_dtype``) and the optional
        projection weights and bias (shapes; the bias ``bias_dtype``), shared by every form."""
        bias = [self._opt(ctx, i) for i in sp.bias]
        if self.cifg and bias[0] is not None:
            ctx.fail(f"{lab}input gate bias {bias[0].describe()} must be omitted with CIFG")
        for g in gates:
            b = bias[g]
            if b is None:
                ctx.fail(f"{lab}{GATE_NAMES[g]} gate bias (input {sp.bias[g]}) is required")
            self._check_shape(ctx, b, (n_cell,), f"{GATE_NAMES[g]} gate bias")
            if np.dtype(b.dtype) != bias_dtype:
                ctx.fail(f"{lab}{GATE_NAMES[g]} gate bias {b.describe()} must be {np.dtype(bias_dtype).name}{form}")
        pw, pb = self._opt(ctx, sp.proj_w), self._opt(ctx, sp.proj_b)
        if pb is not None and pw is None:
            ctx.fail(f"{lab}projection bias {pb.describe()} needs projection weights")
        if pw is None and n_output != n_cell:
            ctx.fail(f"{lab}without projection the output size ({n_output}) must equal the cell count ({n_cell})")
        self._check_shape(ctx, pw, (n_output, n_cell), "projection weights")
        self._check_shape(ctx, pb, (n_output,), "projection bias")
        if pb is not None and np.dtype(pb.dtype) != bias_dtype:
            ctx.fail(f"{lab}projection bias {pb.describe()} must be {np.dtype(bias_dtype).name}{form}")
        return bias, pw, pb
    def prepare(self, ctx: PrepareContext, x: TensorSpec, n_steps: int, n_batch: int, act: int, cell_clip: float,
                proj_clip: float, asymmetric: bool, aux: TensorSpec | None = None, rows_t_major: bool = True) -> None:
        """Check the direction's tensors against the input ``x`` (``[..., n_input]``) and
        precompute.  ``rows_t_major``: the input rows are ordered (time, batch) (else (batch,
        time)).  Sets ``n_cell``, ``n_output``, ``form`` ("float" / "hybrid")."""
        sp, lab = self.spec, self.spec.label
        self.T, self.B, self.act = n_steps, n_batch, act
        self.cell_clip, self.proj_clip = float(cell_clip), float(proj_clip)
        self.rows_t_major = rows_t_major
        if self.cell_clip < 0 or self.proj_clip < 0:
            ctx.fail(f"cell_clip ({cell_clip}) and proj_clip ({proj_clip}) must be >= 0")
        wx, wh = self._gate_weights(ctx, sp, lab)
        # column blocks in the order input, forget, output, cell: the sigmoid gates side by side, so
        # that without peepholes one in-place sigmoid covers all three
        gates = [1, 3, 2] if self.cifg else [0, 1, 3, 2]
        self.gates = gates
        wt = np.dtype(wx[3].dtype)
        if wx[3].rank != 2:
            ctx.fail(f"{lab}input-to-output weights {wx[3].describe()} must have rank 2")
        n_cell, n_input = wx[3].shape
        if x.shape[-1] != n_input:
            ctx.fail(f"input {x.describe()} has {x.shape[-1]} features; the weights {wx[3].describe()} expect "
                     f"{n_input}")
        diag = [wh[g].rank == 1 for g in gates]
        who = wh[3]
        if who.rank not in (1, 2):
            ctx.fail(f"{lab}recurrent-to-output weights {who.describe()} must have rank 2 (or 1: diagonal)")
        n_output = n_cell if who.rank == 1 else who.shape[1]
        self.n_cell, self.n_input, self.n_output = n_cell, n_input, n_output
        xt = np.dtype(x.dtype)
        for g in gates:
            self._check_shape(ctx, wx[g], (n_cell, n_input), f"input-to-{GATE_NAMES[g]} weights")
            self._check_shape(ctx, wh[g], (n_cell,) if diag[gates.index(g)] else (n_cell, n_output),
                              f"recurrent-to-{GATE_NAMES[g]} weights")
            for s in (wx[g], wh[g]):
                if np.dtype(s.dtype) != wt:
                    ctx.fail(f"{lab}{s.describe()} must have the type of the other weights ({wt.name})")
        if xt == F32 and wt == F32:
            self.form = "float"
        elif xt == F32 and wt == I8:
            self.form = "hybrid"
            if any(diag):
                ctx.fail(f"{lab}diagonal (1-D) recurrent weights are supported for float weights only")
        else:
            ctx.fail(f"input {x.describe()} with weights {wx[3].describe()}: numlite supports float32 x float32 and "
                     "float32 x int8 (hybrid) here")
        ftype = F32
        # peephole
        peep = [self._opt(ctx, i) for i in sp.peep]
        self.peephole = peep[2] is not None
        want = [peep[1], peep[2]] + ([] if self.cifg else [peep[0]])
        if any(p is None for p in want) and any(p is not None for p in peep):
            ctx.fail(f"{lab}peephole weights (inputs {list(sp.peep)}) must be all present or all omitted"
                     + ("" if not self.cifg else " (the input gate's is omitted with CIFG)"))
        bias, pw, pb = self._check_bias_projection(ctx, sp, lab, gates, n_cell, n_output, F32, "")
        if pw is not None and np.dtype(pw.dtype) != wt:
            ctx.fail(f"{lab}projection weights {pw.describe()} must be {wt.name} like the other weights")
        # layer norm
        ln = [self._opt(ctx, i) for i in sp.ln] if sp.ln is not None else [None] * 4
        self.layer_norm = ln[1] is not None
        if self.layer_norm:
            for g in gates:
                if ln[g] is None:
                    ctx.fail(f"{lab}{GATE_NAMES[g]} layer-norm coefficients (input {sp.ln[g]}) are required with "
                             "layer normalization")
                self._check_shape(ctx, ln[g], (n_cell,), f"{GATE_NAMES[g]} layer-norm coefficients")
                if np.dtype(ln[g].dtype) != F32:
                    ctx.fail(f"{lab}layer-norm coefficients {ln[g].describe()} must be float32")
            if self.cifg and ln[0] is not None:
                ctx.fail(f"{lab}input layer-norm coefficients must be omitted with CIFG")
        # states
        for i, role, size in ((sp.h, "output state", n_batch * n_output), (sp.c, "cell state", n_batch * n_cell)):
            s = self._need(ctx, i, role)
            if not s.is_variable:
                ctx.fail(f"{lab}{role} {s.describe()} must be a variable tensor (is_variable)")
            if np.dtype(s.dtype) != F32:
                ctx.fail(f"{lab}{role} {s.describe()} must be float32")
            if s.size != size:
                ctx.fail(f"{lab}{role} {s.describe()} must have {size} elements")
        # aux input
        self.has_aux = aux is not None and sp.aux_w is not None and self._opt(ctx, sp.aux_w[1]) is not None
        aw = [self._opt(ctx, i) for i in sp.aux_w] if self.has_aux else [None] * 4
        if self.has_aux:
            n_aux = aux.shape[-1]
            for g in gates:
                if aw[g] is None:
                    ctx.fail(f"{lab}aux-input-to-{GATE_NAMES[g]} weights (input {sp.aux_w[g]}) are required")
                self._check_shape(ctx, aw[g], (n_cell, n_aux), f"aux-input-to-{GATE_NAMES[g]} weights")
                if np.dtype(aw[g].dtype) != wt:
                    ctx.fail(f"{lab}{aw[g].describe()} must be {wt.name} like the other weights")
            self.n_aux = n_aux

        # -- precompute -------------------------------------------------------------------------
        G = len(gates)
        self.G = G
        gw = G * n_cell
        self.bias = np.concatenate([self._const(ctx, bias[g], "gate bias").reshape(-1) for g in gates]).astype(ftype)
        self.bias.flags.writeable = False
        if self.layer_norm:
            self.ln = [LayerNorm(self._const(ctx, ln[g], "layer-norm coefficients").astype(ftype).reshape(1, -1),
                                 self.bias[k * n_cell:(k + 1) * n_cell]) for k, g in enumerate(gates)]

        def stack(specs: list[TensorSpec | None], role: str, is_diag: list[bool] | None = None) -> np.ndarray:
            mats = []
            for k, g in enumerate(gates):
                v = self._const(ctx, specs[g], role)
                if is_diag is not None and is_diag[k]:
                    v = np.diag(v.astype(np.float32))
                mats.append(v)
            return np.concatenate(mats, axis=0)

        def scales(specs: list[TensorSpec | None]) -> np.ndarray:
            out = []
            for g in gates:
                q = specs[g].quantization
                sc = np.asarray(q.scales, np.float32).reshape(-1)
                if sc.size != 1:
                    ctx.fail(f"{lab}hybrid weights {specs[g].describe()} must have one scale (got {sc.size})")
                out.append(np.full(n_cell, sc[0], np.float32))
            return np.concatenate(out)

        # Weights are stored as [G * n_cell, K] float32 and used through their transposed view:
        # BLAS takes the transpose flag, and int8 values are exact in float32.
        self.wx = np.ascontiguousarray(stack(wx, "input weights").astype(np.float32))
        self.wh = np.ascontiguousarray(stack(wh, "recurrent weights", diag).astype(np.float32))
        self.wa = np.ascontiguousarray(stack(aw, "aux input weights").astype(np.float32)) if self.has_aux else None
        if self.peephole:
            pks = ([] if self.cifg else [0]) + [1, 2]
            pv = {}
            for k in pks:
                v = self._const(ctx, peep[k], "peephole weights").reshape(-1)
                if self.form == "hybrid":
                    sc = np.asarray(peep[k].quantization.scales, np.float32).reshape(-1)
                    if np.dtype(peep[k].dtype) != I8 or sc.size != 1:
                        ctx.fail(f"{lab}hybrid peephole weights {peep[k].describe()} must be int8 with one scale")
                    # LiteRT's VectorScalarMultiply: scale * w in float32
                    v = sc[0] * v.astype(np.float32)
                elif np.dtype(peep[k].dtype) != F32:
                    ctx.fail(f"{lab}peephole weights {peep[k].describe()} must be float32")
                self._check_shape(ctx, peep[k], (n_cell,), "peephole weights")
                pv[k] = np.asarray(v, np.float32).reshape(1, -1)
            self.p_i, self.p_f, self.p_o = pv.get(0), pv[1], pv[2]
        self.pw = None
        self.pb = None
        if pw is not None:
            self.pw = np.ascontiguousarray(self._const(ctx, pw, "projection weights").astype(np.float32))
            if pb is not None:
                self.pb = self._const(ctx, pb, "projection bias").astype(np.float32).reshape(1, -1)
        self.asym = bool(asymmetric)
        if self.form == "hybrid":
            self.sx = scales(wx)
            self.sh = scales(wh)
            self.sa = scales(aw) if self.has_aux else None
            if pw is not None:
                sc = np.asarray(pw.quantization.scales, np.float32).reshape(-1)
                if sc.size != 1:
                    ctx.fail(f"{lab}hybrid projection weights {pw.describe()} must have one scale")
                self.sp = np.float32(sc[0])
            self.rs_x = self.wx.sum(axis=1).astype(np.int32)
            self.rs_h = self.wh.sum(axis=1).astype(np.int32)
            self.rs_a = self.wa.sum(axis=1).astype(np.int32) if self.has_aux else None
            self.rs_p = self.pw.sum(axis=1).astype(np.int32) if pw is not None else None

        # -- scratch -----------------------------------------------------------------------------
        rows = n_steps * n_batch
        s = self.scratch = Scratch(ctx)
        s.add("xp", (rows, gw), np.float32)
        s.add("g", (n_batch, gw), np.float32)
        s.add("t1", (n_batch, n_cell), np.float32)
        s.add("hn", (n_batch, n_cell), np.float32)
        s.add("m", (n_batch, 1), np.float32)
        if self.form == "hybrid":
            kmax = max(n_input, getattr(self, "n_aux", 0))
            s.add("qx", (rows, kmax), np.float32)
            s.add("qt", (rows, kmax), np.float32)
            s.add("sfx", (rows,), np.float32)
            s.add("offx", (rows,), np.int32)
            s.add("accx", (rows, gw), np.int32)
            s.add("tmpx", (rows, gw), np.float32)
            s.add("scx", (rows, gw), np.float32)
            kh = max(n_output, n_cell)
            s.add("qh", (n_batch, kh), np.float32)
            s.add("qht", (n_batch, kh), np.float32)
            s.add("sfh", (n_batch,), np.float32)
            s.add("offh", (n_batch,), np.int32)
            s.add("acch", (n_batch, max(gw, n_output)), np.int32)
            s.add("tmph", (n_batch, max(gw, n_output)), np.float32)
            s.add("sch", (n_batch, max(gw, n_output)), np.float32)

    # -- bind ----------------------------------------------------------------------------------
    def _hybrid_product(self, v: dict, x: np.ndarray, w: np.ndarray, ws: np.ndarray, rowsum: np.ndarray,
                        rows: int, k: int, out: np.ndarray, prefix: str) -> Callable[[], None]:
        """Step ``out += f32(q(x) @ w^T - off * rowsum) * (sf * ws)`` for float rows ``x [rows, k]``:
        TFLite's BatchQuantizeFloats + MatrixBatchVectorMultiplyAccumulate (module docstring 4)."""
        n = w.shape[0]
        if prefix == "x":
            q, qt, sf, off = v["qx"][:rows, :k], v["qt"][:rows, :k], v["sfx"][:rows], v["offx"][:rows]
            acc, tmp, sc = v["accx"][:rows, :n], v["tmpx"][:rows, :n], v["scx"][:rows, :n]
        else:
            q, qt, sf, off = v["qh"][:rows, :k], v["qht"][:rows, :k], v["sfh"][:rows], v["offh"][:rows]
            acc, tmp, sc = v["acch"][:rows, :n], v["tmph"][:rows, :n], v["sch"][:rows, :n]
        quant = RowQuantizer(self.asym).bind(x, q, sf, off, qt)
        mm = ExactMatmul.for_weights(w.T, 128).bind(q, acc, tmp)
        sf2, off2, asym = sf.reshape(-1, 1), off.reshape(-1, 1), self.asym
        oi = np.empty_like(acc) if asym else None

        def step() -> None:
            quant()
            mm()
            if asym:
                np.multiply(off2, rowsum, out=oi)
                np.subtract(acc, oi, out=acc)
            np.multiply(sf2, ws, out=sc)
            np.copyto(tmp, acc, casting="unsafe")  # int32 -> float32 as C converts
            np.multiply(tmp, sc, out=tmp)
            np.add(out, tmp, out=out)

        return step

    def step_views(self, rows: np.ndarray, out: np.ndarray, forward: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per time step, in running order (reversed for a backward direction): the ``[B, G]``
        rows of ``rows`` (an input projection laid out as prepare's input rows) and ``out[t]``."""
        T, B = self.T, self.B
        if self.rows_t_major:
            per = [rows[t * B:(t + 1) * B] for t in range(T)]
        else:
            r3 = rows.reshape(B, T, rows.shape[-1])
            per = [r3[:, t] for t in range(T)]
        order = range(T) if forward else range(T - 1, -1, -1)
        return [(per[t], out[t]) for t in order]

    def bind(self, x: np.ndarray, aux: np.ndarray | None, out: np.ndarray, h: np.ndarray, c: np.ndarray,
             scratch: list[np.ndarray], forward: bool = True) -> Callable[[], None]:
        """The step running the whole sequence.  ``x``: input rows ``[T * B, n_input]`` in the
        order given to prepare; ``out``: a ``[T, B, n_output]`` view (any strides) receiving ``h``
        per step; ``h`` / ``c``: the state arrays (variable tensors, updated in place)."""
        T, B, nc, no = self.T, self.B, self.n_cell, self.n_output
        if T * B == 0:
            return lambda: None
        v = self.scratch.views(scratch)
        gw = self.G * nc
        xp, g, t1, hn, m = v["xp"], v["g"], v["t1"], v["hn"], v["m"]
        h2, c2 = h.reshape(B, no), c.reshape(B, nc)
        rows = T * B
        # The common cell (no peephole, layer norm, projection, CIFG or aux input; TANH) takes a
        # shorter step (``fast_step`` below): sigmoid(z) = 0.5 + 0.5 * tanh(z / 2), with the input,
        # forget and output gates' pre-activations halved through their weights (float) or
        # scales (hybrid) and biases - exact, a power of two - so that one tanh over the four
        # gates gives the cell gate's activation and, after one multiply-add, the three sigmoids.
        fast = (not self.peephole and not self.layer_norm and self.pw is None and self.act == ACT_TANH
                and not self.cifg and not self.has_aux)
        half = np.ones(gw, np.float32)
        if fast:
            half[:3 * nc] = 0.5  # gate order i, f, o, c
        hybrid = self.form != "float"
        wx_ = self.wx if hybrid or not fast else self.wx * half[:, None]
        wh_ = self.wh if hybrid or not fast else self.wh * half[:, None]
        sx_ = self.sx * half if hybrid else None
        sh_ = self.sh * half if hybrid else None
        pre: list[Callable[[], None]] = []
        init = None if self.layer_norm else self.bias * half
        if self.form == "float":
            wxt = wx_.T
            pre.append(lambda: np.matmul(x, wxt, out=xp))
            if self.has_aux:
                wat = self.wa.T
                at = np.empty_like(xp)  # the aux product, added after (LiteRT's summation order)

                def aux_mm() -> None:
                    np.matmul(aux, wat, out=at)
                    np.add(xp, at, out=xp)

                pre.append(aux_mm)
            if init is not None:
                pre.append(lambda: np.add(xp, init, out=xp))
        else:
            # LiteRT starts from the bias (or 0 with layer norm) and accumulates scaled products
            if init is not None:
                pre.append(lambda: np.copyto(xp, np.broadcast_to(init, xp.shape)))
            else:
                pre.append(lambda: xp.fill(0))
            pre.append(self._hybrid_product(v, x, self.wx, sx_, self.rs_x, rows, self.n_input, xp, "x"))
            if self.has_aux:
                pre.append(self._hybrid_product(v, aux, self.wa, self.sa, self.rs_a, rows, self.n_aux, xp, "x"))
        steps_xp = self.step_views(xp, out, forward)
        # recurrent product
        if self.form == "float":
            wht = wh_.T

            def recur(xpt: np.ndarray) -> None:
                np.matmul(h2, wht, out=g)
                np.add(g, xpt, out=g)
        else:
            rec = self._hybrid_product(v, h2, self.wh, sh_, self.rs_h, B, no, g, "h")

            def recur(xpt: np.ndarray) -> None:
                np.copyto(g, xpt)
                rec()
        k0 = 0 if self.cifg else nc
        gi = None if self.cifg else g[:, :nc]
        gf, go, gc = g[:, k0:k0 + nc], g[:, k0 + nc:k0 + 2 * nc], g[:, k0 + 2 * nc:k0 + 3 * nc]
        g_if = g[:, :k0 + nc]  # input and forget gates, side by side
        g_ifo = g[:, :k0 + 2 * nc]  # ... and the output gate
        block = {0: gi, 1: gf, 2: gc, 3: go}
        lns = {gate: ln.bind(block[gate], t1, m) for ln, gate in zip(self.ln, self.gates)} \
            if self.layer_norm else None
        hv = hn if self.pw is not None else h2  # where o * act(c) is written
        early_ln = [lns[gate] for gate in self.gates if gate != 3 or not self.peephole] if lns else []
        peep = self.peephole
        p_i, p_f, p_o = (self.p_i, self.p_f, self.p_o) if peep else (None, None, None)
        act, cifg = self.act, self.cifg
        cclip, pclip = np.float32(self.cell_clip), np.float32(self.proj_clip)
        one = np.float32(1)
        # projection
        proj = None
        if self.pw is not None:
            if self.form == "float":
                pwt, pb = self.pw.T, self.pb

                def proj() -> None:
                    np.matmul(hn, pwt, out=h2)
                    if pb is not None:
                        np.add(h2, pb, out=h2)
            else:
                pb = self.pb
                pstep = self._hybrid_product(v, hn, self.pw, np.full(no, self.sp, np.float32), self.rs_p, B, nc,
                                             h2, "h")

                def proj() -> None:
                    if pb is not None:
                        np.copyto(h2, np.broadcast_to(pb, h2.shape))
                    else:
                        h2.fill(0)
                    pstep()

        if fast:
            return self._fast_step(pre, steps_xp, recur, None if hybrid else wht, h2, c2, g, t1)

        def run() -> None:
            for f in pre:
                f()
            for xpt, ot in steps_xp:
                recur(xpt)
                if peep:
                    if not cifg:
                        np.multiply(c2, p_i, out=t1)
                        np.add(gi, t1, out=gi)
                    np.multiply(c2, p_f, out=t1)
                    np.add(gf, t1, out=gf)
                for f in early_ln:  # every gate's layer norm; the output gate's after its peephole
                    f()
                if peep:
                    sigmoid_(g_if)
                else:
                    sigmoid_(g_ifo)
                activation_(act, gc)
                # c = f * c + i * g  (CIFG: i = 1 - f)
                np.multiply(gf, c2, out=c2)
                if cifg:
                    np.subtract(one, gf, out=t1)
                    np.multiply(gc, t1, out=t1)
                else:
                    np.multiply(gc, gi, out=t1)
                np.add(c2, t1, out=c2)
                if cclip > 0:
                    np.clip(c2, -cclip, cclip, out=c2)
                if peep:  # the output gate's peephole reads the new cell state
                    np.multiply(c2, p_o, out=t1)
                    np.add(go, t1, out=go)
                    if lns is not None:
                        lns[3]()
                    sigmoid_(go)
                # the hidden value goes straight to the state when there is no projection
                if act == ACT_NONE:
                    np.multiply(go, gc, out=hv)  # LiteRT's buffer still holds the cell gate
                else:
                    if act == ACT_TANH:
                        np.tanh(c2, out=hv)
                    else:
                        np.copyto(hv, c2)
                        activation_(act, hv)
                    np.multiply(go, hv, out=hv)
                if proj is not None:
                    proj()
                    if pclip > 0:
                        np.clip(h2, -pclip, pclip, out=h2)
                np.copyto(ot, h2)

        return no_fp_warnings(run)

    def _fast_step(self, pre: list[Callable[[], None]], steps_xp: list[tuple[np.ndarray, np.ndarray]],
                   recur: Callable[[np.ndarray], None], wht: np.ndarray | None, h2: np.ndarray, c2: np.ndarray,
                   g: np.ndarray, t1: np.ndarray) -> Callable[[], None]:
        """The common cell's sequence (see ``bind``): 10 array calls per float step instead of 13.
        Against ``1 / (1 + exp(-z))`` the gates differ by under 6e-8 absolute (the tanh form
        loses relative accuracy only where a gate is below ~1e-7).  Float: ``h`` goes straight
        into its output row, which the next step's matmul reads; the state variable receives
        the last one after the loop.  Hybrid: the quantizer reads the state, so ``h`` is
        computed there and copied to its row."""
        nc = self.n_cell
        g_ifo, gi = g[:, :3 * nc], g[:, :nc]
        gf, go, gc = g[:, nc:2 * nc], g[:, 2 * nc:3 * nc], g[:, 3 * nc:]
        cclip = np.float32(self.cell_clip)
        h_f = np.float32(0.5)
        mm, add, mul, tanh, clip, copyto = np.matmul, np.add, np.multiply, np.tanh, np.clip, np.copyto
        prev = [h2] + [ot for _, ot in steps_xp[:-1]]
        float_steps = [(xpt, ot, hp) for (xpt, ot), hp in zip(steps_xp, prev)]
        last = steps_xp[-1][1]

        def cell() -> None:
            tanh(g, out=g)
            mul(g_ifo, h_f, out=g_ifo)
            add(g_ifo, h_f, out=g_ifo)
            mul(gf, c2, out=c2)
            mul(gc, gi, out=t1)
            add(c2, t1, out=c2)
            if cclip > 0:
                clip(c2, -cclip, cclip, out=c2)

        if wht is not None:
            def run() -> None:
                for f in pre:
                    f()
                for xpt, ot, hp in float_steps:
                    mm(hp, wht, out=g)
                    add(g, xpt, out=g)
                    cell()
                    tanh(c2, out=ot)
                    mul(go, ot, out=ot)
                copyto(h2, last)
        else:
            def run() -> None:
                for f in pre:
                    f()
                for xpt, ot in steps_xp:
                    recur(xpt)
                    cell()
                    tanh(c2, out=h2)
                    mul(go, h2, out=h2)
                    copyto(ot, h2)

        return no_fp_warnings(run)


def check_activation(ctx: PrepareContext, act: int) -> None:
    if act not in range(6):
        ctx.fail(f"unknown fused activation {act}")
