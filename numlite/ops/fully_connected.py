"""FULLY_CONNECTED: ``out = act(x @ W.T + b)`` over float32.

1. The input ``[..., K]`` is read as ``[M, K]`` (M = size / K, as TFLite flattens it); weights
   are ``[N, K]``; the optional bias has N elements.  The output is ``[M, N]``, or
   ``[..., N]`` with ``keep_num_dims`` (then the input's last dimension must be K).
2. Eval is a single BLAS call written straight into the output view: ``np.matmul(x, W.T,
   out=)``.  The weights are used in place through a transposed view (BLAS takes the
   transpose flag), constant or not: no copy.  A transposed C-contiguous copy made in prepare
   was measured slower for M = 1 (GEMV on 1024x1001: 34 us vs 22 us; 2048x1000: 65 vs 41 us),
   equal for M >= 8, and it would double the weights' memory.
3. Bias add and the fused activation (NONE, RELU, RELU_N1_TO_1, RELU6: TFLite rejects the
   others for float) are done in place.  K = 0 gives zeros, as TFLite does.

Limits: float32 only; quantized and hybrid (float input, integer weights) forms, sparse and
shuffled weights come later.  ``asymmetric_quantize_inputs`` only matters for hybrid models.
"""

from __future__ import annotations

import numpy as np

from .base import Kernel, PrepareContext, Step, chain, check_activation, make_activation
from .registry import register

INPUT, WEIGHTS, BIAS = 0, 1, 2


@register("FULLY_CONNECTED", versions=range(1, 13))
class FullyConnected(Kernel):
    options_table = "FullyConnectedOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(2, 3)
        if len(ctx.outputs) != 1:
            ctx.fail(f"expects 1 output, got {len(ctx.outputs)}")
        x, w = ctx.input(INPUT), ctx.input(WEIGHTS)
        b = ctx.input(BIAS, optional=True)
        f32 = np.dtype(np.float32)
        if np.dtype(x.dtype) != f32 or np.dtype(w.dtype) != f32:
            kind = "hybrid" if np.dtype(x.dtype) == f32 else "quantized"
            ctx.fail(f"input {x.describe()} with weights {w.describe()}: numlite supports float32 inputs and "
                     f"weights only ({kind} fully connected is not implemented yet)")
        if b is not None and np.dtype(b.dtype) != f32:
            ctx.fail(f"bias {b.describe()} must be float32")
        if np.dtype(ctx.outputs[0].dtype) != f32:
            ctx.fail(f"output {ctx.outputs[0].describe()} must be float32")
        fmt = int(self.options.get("weights_format") or 0)
        if fmt != 0:
            ctx.fail("only the DEFAULT weights format is supported (shuffled weights are a quantized form)")
        self.act = int(self.options.get("fused_activation_function") or 0)
        check_activation(ctx, self.act)
        ctx.expect_rank(w, 2, "weights")
        n, k = w.shape
        if b is not None and b.size != n:
            ctx.fail(f"bias {b.describe()} must have {n} elements (the weights' first dimension)")
        keep = bool(self.options.get("keep_num_dims"))
        if keep and x.rank == 0:
            ctx.fail(f"keep_num_dims needs an input of rank >= 1, got {x.describe()}")
        if k == 0:
            m = int(np.prod(x.shape[:-1], dtype=np.int64)) if x.rank else 1
        else:
            if x.size % k:
                ctx.fail(f"input {x.describe()} has {x.size} elements, not a multiple of the weights' K = {k}")
            m = x.size // k
        if keep:
            if x.shape[-1] != k:
                ctx.fail(f"keep_num_dims: the input's last dimension ({x.shape[-1]}) must equal K = {k}")
            ctx.set_output(0, (*x.shape[:-1], n), f32)
        else:
            ctx.set_output(0, (m, n), f32)
        self.m, self.n, self.k = m, n, k
        self.has_bias = b is not None

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        out = outputs[0]
        if self.m * self.n == 0:
            return lambda: None
        if self.k == 0:
            return lambda: out.fill(0.0)
        x = inputs[INPUT].reshape(self.m, self.k)
        wt = inputs[WEIGHTS].T
        o2 = out.reshape(self.m, self.n)
        mm = np.matmul
        main = lambda: mm(x, wt, out=o2)
        bias = None
        if self.has_bias:
            bv = inputs[BIAS].reshape(self.n)
            bias = lambda: np.add(o2, bv, out=o2)
        return chain(main, bias, make_activation(self.act, out))
