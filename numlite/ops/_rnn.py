"""Shared base of the basic RNN family (RNN, UNIDIRECTIONAL_SEQUENCE_RNN, BIDIRECTIONAL_SEQUENCE_RNN).

One direction of a basic RNN computes, for each time step ``t`` in its order,
``h = act(bias + x[t] @ W.T (+ aux[t] @ W_aux.T) + h @ R.T)`` and writes ``h`` to ``out[t]``;
``h`` is a variable tensor that keeps its value across ``invoke()`` calls.

1. Layout.  Every source is seen as time-major ``[T, B, K]``: a batch-major input is copied into a
   time-major scratch once per invoke (one copy instead of T strided reads); outputs are written
   through time-major views of the output tensors (strided for batch-major or merged outputs).
2. Input projection for all time steps at once: ``P[T*B, U] = bias + X @ W.T (+ AUX @ W_aux.T)``
   (one GEMM per source, prepared in ``bind``); only the recurrent product runs per step:
   ``out[t] = act(P[t] + h @ R.T)``, then ``h = out[t]``.
3. Float32: the GEMMs are float32 BLAS calls.  LiteRT accumulates each dot product in its own
   order, so results agree to float32 rounding (the tests' tolerance), not bit for bit.
4. Hybrid (float32 activations, int8 weights with one per-tensor scale each, float32 bias), as
   TFLite's ``kernel_utils::RnnBatchStep``: every row (one batch entry at one step) of the input,
   the aux input and the hidden state is quantized on the fly (``_qfc.RowQuantizer``, symmetric,
   or asymmetric with ``asymmetric_quantize_inputs``), the int8 product is exact (``ExactMatmul``,
   minus ``offset * rowsum(W)`` when asymmetric), then in float32: ``sf = row_scale * w_scale``,
   ``part = float(dot) * sf``, and ``out = ((bias + part_in) + part_aux) + part_rec``, in
   LiteRT's order.  Row quantization is per row, so quantizing all steps at once gives the same
   values as LiteRT's per-step calls.  LiteRT skips a product whose whole source is zero; adding
   the computed zero instead gives the same value (except that ``-0.0 + 0.0`` is ``+0.0``).
5. Fused activation: any of TFLite's (NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT), applied
   in place on ``out[t]``.  LiteRT's TANH is Eigen's float32 rational approximation, numlite's is
   NumPy's ``tanh``: they differ by an ulp or two, so TANH results are within tolerance only
   (hybrid ones included).

Limits: hybrid weights must be constant int8 (uint8 hybrid weights, which LiteRT reads as int8
bytes, are rejected), with per-tensor scales; the hidden state must be a float32 variable tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._qfc import RowQuantizer
from ._qgemm import ExactMatmul
from .base import (
    ACT_NONE,
    ACT_RELU,
    ACT_RELU6,
    ACT_RELU_N1_TO_1,
    ACT_SIGN_BIT,
    ACT_TANH,
    PrepareContext,
    TensorSpec,
    check_activation,
)

F32, I8 = np.dtype(np.float32), np.dtype(np.int8)
ALL_ACTIVATIONS = (0, 1, 2, 3, 4, 5)


def activation_fn(code: int) -> Callable[[np.ndarray], None] | None:
    """In-place fused activation on a float32 array (any strides), None for NONE."""
    if code == ACT_NONE:
        return None
    if code == ACT_RELU:
        return lambda a: np.maximum(a, np.float32(0), out=a)
    if code == ACT_RELU6:
        return lambda a: np.clip(a, np.float32(0), np.float32(6), out=a)
    if code == ACT_RELU_N1_TO_1:
        return lambda a: np.clip(a, np.float32(-1), np.float32(1), out=a)
    if code == ACT_TANH:
        return lambda a: np.tanh(a, out=a)
    if code == ACT_SIGN_BIT:
        return lambda a: np.copyto(a, np.signbit(a))
    raise ValueError(f"unknown fused activation {code}")


class Projection:
    """One ``[K] -> [U]`` product of a direction (input, aux input or recurrent weights): float32
    weights used through a transposed view, or int8 hybrid weights prepared for exact GEMMs."""

    def __init__(self, ctx: PrepareContext, spec: TensorSpec, units: int, k: int, role: str, hybrid: bool,
                 asym: bool, slot: int):
        self.slot, self.units, self.k, self.hybrid, self.asym = slot, units, k, hybrid, asym
        if spec.rank != 2 or spec.shape != (units, k):
            ctx.fail(f"{role} {spec.describe()} must have shape [{units}, {k}]")
        dt = np.dtype(spec.dtype)
        if not hybrid:
            if dt != F32:
                ctx.fail(f"{role} {spec.describe()} must be float32 like the other weights")
            return
        if dt != I8:
            ctx.fail(f"{role} {spec.describe()} must be int8 like the other hybrid weights (uint8 hybrid weights "
                     "are not supported)")
        if spec.value is None:
            ctx.fail(f"hybrid {role} {spec.describe()} must be constant")
        scales = np.asarray(spec.quantization.scales, np.float32).reshape(-1)
        if scales.size != 1:
            ctx.fail(f"hybrid {role} {spec.describe()} must have one per-tensor scale (got {scales.size})")
        self.scale = np.float32(scales[0])
        w = np.asarray(spec.value).reshape(units, k)
        self.wf = w.astype(np.float32)
        self.rowsum = w.astype(np.int64).sum(axis=1).astype(np.int32)

    def request(self, ctx: PrepareContext, rows: int) -> None:
        """Scratch for ``rows`` rows at a time (hybrid only)."""
        if not self.hybrid:
            return
        k, u = self.k, self.units
        self.s = [ctx.scratch((rows, k), np.float32), ctx.scratch((rows, k), np.float32),
                  ctx.scratch((rows, u), np.int32), ctx.scratch((rows, u), np.float32),
                  ctx.scratch((rows,), np.float32), ctx.scratch((rows,), np.int32)]
        if self.asym:
            self.s.append(ctx.scratch((rows, u), np.int32))

    def bind(self, weights: np.ndarray, src: np.ndarray, dst: np.ndarray, scratch: list[np.ndarray],
             add: bool) -> Callable[[], None]:
        """Step computing ``src [R, K] @ W.T`` into ``dst [R, U]`` (``add``: ``dst += ...``)."""
        if not self.hybrid:
            wt = weights.reshape(self.units, self.k).T
            if not add:
                return lambda: np.matmul(src, wt, out=dst)
            tmp = np.empty(dst.shape, np.float32)

            def fadd() -> None:
                np.matmul(src, wt, out=tmp)
                np.add(dst, tmp, out=dst)

            return fadd
        q, qtmp, acc, part, sf, off = (scratch[i] for i in self.s[:6])
        quantize = RowQuantizer(self.asym).bind(src, q, sf, off, qtmp)
        gemm = ExactMatmul.for_weights(self.wf.T, 128).bind(q, acc, part)
        oi = scratch[self.s[6]] if self.asym else None
        rowsum, off2, sf2, ws = self.rowsum, off.reshape(-1, 1), sf.reshape(-1, 1), self.scale

        def step() -> None:
            quantize()
            gemm()
            if oi is not None:
                np.multiply(off2, rowsum, out=oi)
                np.subtract(acc, oi, out=acc)
            np.copyto(part, acc, casting="unsafe")  # int32 -> float32
            np.multiply(sf, ws, out=sf)
            if add:
                np.multiply(part, sf2, out=part)
                np.add(dst, part, out=dst)
            else:
                np.multiply(part, sf2, out=dst)

        return step


class Direction:
    """One recurrent direction: input (and optional aux) projections, recurrent weights, bias and
    the hidden-state variable (module docstring)."""

    def __init__(self, ctx: PrepareContext, x: TensorSpec, w: int, r: int, b: int, h: int, aux: TensorSpec | None,
                 aux_w: int | None, steps: int, batch: int, asym: bool, name: str = ""):
        wspec = ctx.input(w)
        if wspec.rank != 2:
            ctx.fail(f"{name}input weights {wspec.describe()} must have rank 2")
        self.units, k = wspec.shape
        self.hybrid = np.dtype(wspec.dtype) == I8
        if np.dtype(wspec.dtype) not in (F32, I8):
            ctx.fail(f"{name}input weights {wspec.describe()} must be float32 or int8 (hybrid)")
        u = self.units
        self.slots = (w, r, b, h, aux_w)
        self.inp = Projection(ctx, wspec, u, x.shape[-1], f"{name}input weights", self.hybrid, asym, w)
        self.rec = Projection(ctx, ctx.input(r), u, u, f"{name}recurrent weights", self.hybrid, asym, r)
        self.aux = None
        if aux_w is not None:
            self.aux = Projection(ctx, ctx.input(aux_w), u, aux.shape[-1], f"{name}aux input weights", self.hybrid,
                                  asym, aux_w)
        bspec = ctx.input(b)
        ctx.expect_dtype(bspec, (F32,), f"{name}bias")
        if bspec.shape != (u,):
            ctx.fail(f"{name}bias {bspec.describe()} must have shape [{u}]")
        hspec = ctx.input(h)
        ctx.expect_dtype(hspec, (F32,), f"{name}hidden state")
        if hspec.shape != (batch, u):
            ctx.fail(f"{name}hidden state {hspec.describe()} must have shape [{batch}, {u}]")
        if not hspec.is_variable:
            ctx.fail(f"{name}hidden state {hspec.describe()} must be a variable tensor")
        rows = steps * batch
        self.s_p = ctx.scratch((rows, u), np.float32)
        self.inp.request(ctx, rows)
        if self.aux is not None:
            self.aux.request(ctx, rows)
        self.rec.request(ctx, batch)
        self.s_r = ctx.scratch((batch, u), np.float32)
        self.steps, self.batch = steps, batch

    def bind(self, inputs: list, scratch: list, x2: np.ndarray, aux2: np.ndarray | None, out3: np.ndarray,
             act: Callable[[np.ndarray], None] | None, reverse: bool, repeat: int = 1) -> Callable[[], None]:
        """Step running the direction over ``x2 [T*B, K]`` (time-major rows) into ``out3 [T, B, U]``."""
        w, r, b, h, aux_w = self.slots
        t_, b_, u = self.steps, self.batch, self.units
        p = scratch[self.s_p]
        bias, hidden = inputs[b], inputs[h]
        first = self.inp.bind(inputs[w], x2, p, scratch, add=False)
        second = self.aux.bind(inputs[aux_w], aux2, p, scratch, add=True) if self.aux is not None else None
        rec_out = scratch[self.s_r]
        rec = self.rec.bind(inputs[r], hidden, rec_out, scratch, add=False)
        p3 = p.reshape(t_, b_, u)
        order = range(t_ - 1, -1, -1) if reverse else range(t_)
        views = [(p3[t], out3[t]) for t in order] * repeat
        hybrid = self.hybrid

        def step() -> None:
            first()
            if hybrid:  # LiteRT's order: (bias + input part) + aux part
                np.add(p, bias, out=p)
                if second is not None:
                    second()
            else:
                if second is not None:
                    second()
                np.add(p, bias, out=p)
            for pt, ot in views:
                rec()
                np.add(pt, rec_out, out=ot)
                if act is not None:
                    act(ot)
                np.copyto(hidden, ot)

        return step


def check_rnn_activation(ctx: PrepareContext, code: int) -> Callable[[np.ndarray], None] | None:
    check_activation(ctx, code, ALL_ACTIVATIONS)
    return activation_fn(code)
