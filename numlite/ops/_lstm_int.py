"""Full-integer (8x8_16) LSTM direction: int8 activations, int16 cell state, int8 weights, as
LiteRT's ``EvalInteger8x8_16`` computes it (LSTM and UNIDIRECTIONAL_SEQUENCE_LSTM).

Tensors (TensorFlow's int8 converter): input / output / output state int8 (any zero point), cell
state int16 with a power-of-two scale ``2**cs``, weights int8 symmetric with one scale per tensor,
gate / projection biases int32, peephole weights and layer-norm coefficients int16, and five
``intermediates``: the int16 matmul outputs of the input, forget, cell and output gates (read only
with layer normalization; without it the gates are Q3.12, scale ``2**-12``) and the int8
"hidden" value ``o * tanh(c)`` (scale ``s_hid``, zero point ``z_hid``).

Prepare (``IntDirection.prepare``), all in the float32 / float64 arithmetic LiteRT uses:

1. Effective multipliers (``quantize_multiplier``): input-to-gate ``s_W * s_x / s_gate``,
   recurrent ``s_W * s_h / s_gate`` (float32 products), peephole ``2**cs * s_P / s_gate``
   (float64, then float32), hidden ``2**-15 / s_hid * 2**-15`` (float64), projection
   ``s_Wp * s_hid / s_h``, layer norm ``s_ln`` (applied with its shift + 12); variance guards
   ``max(1, int(10000 * s_ln))``; clips ``int16(cell_clip / 2**cs)``, ``int8(proj_clip / s_out)``.
2. Effective biases (zero points folded in): input part ``b + (-z_x) * rowsum(Wx)`` (without the
   gate bias ``b`` under layer normalization, where it is the norm's bias), recurrent part
   ``(-z_h) * rowsum(Wh)``, projection ``b_p + z_hid * rowsum(Wp)``; C's int32 wrap.
3. Tables over all 65536 int16 values of gemmlowp's 16-bit fixed-point ``logistic`` (Q3.12 in),
   ``tanh`` (Q3.12 in, the cell gate) and ``tanh`` of the cell state (``15 + cs`` integer bits,
   0..6 as LiteRT dispatches), all with Q0.15 results.
4. Peephole weights as a ``[B, n_cell]`` array reproducing LiteRT's indexing: its cwise product
   walks ``n_output`` (not ``n_cell``) values per batch row, flat over the time-major block (one
   row at a time for batch-major input); positions it never reaches get weight 0 (adding 0 is a
   no-op after the int16 clamp).

Invoke (``bind``), per sequence (``MBQM`` = MultiplyByQuantizedMultiplier, double rounding):

1. Input part of all gates for all time steps at once: one exact GEMM (int8 values on float32
   BLAS, ``_qgemm.ExactMatmul``) ``x @ Wx^T``, ``+ bias``, ``MBQM`` per gate column, clamp to
   int16: ``xg [T * B, G * n_cell]``.
2. Per step, recurrent part of all gates: ``clamp16(MBQM(h @ Wh^T + bias_h) + xg[t])``.
3. Peephole (input, forget: old cell state): ``g = clamp16(g + MBQM(P * c))``.
4. Layer norm per gate and row (LiteRT's ApplyLayerNorm): ``mean = sum * 1024 / n``, variance
   ``(sum_sq * (2**20 / n) - mean**2) / 2**20`` (integer divisions; below 1 -> the guard),
   ``GetInvSqrtQuantizedMultiplierExp``, ``rescaled = MBQM(1024 * g - mean, inv)``,
   ``v = int32(rescaled * coef + bias)`` rounded ``/ 1024`` away from zero,
   ``clamp16(MBQM(v, s_ln with shift + 12))``.
5. ``i, f = logistic(g)``, ``g_c = tanh(g)`` (tables).
6. Cell: ``c = clamp16(rdpot(f * c, 15) + rdpot(i * g_c, 30 + cs))`` (CIFG: ``i = 32767 - f``;
   each product rounded and truncated to int16 as C stores it), clipped to +-cell_clip if set.
7. Output gate: peephole with the *new* cell state, layer norm, logistic.
8. ``m = MBQM(o * tanh_cs(c), hidden)``; without projection ``h = clamp8(m + z_hid)``; with it
   ``s = clamp8(m - z_hid)`` (LiteRT's sign), ``h = clamp8(MBQM(s @ Wp^T + bias_p, proj) + z_h)``,
   clipped to +-proj_clip if set.  ``h`` is the new output state and the step's output row.

LiteRT processes a batch-major input one batch row at a time; every stage above is per row, so
numlite still steps all rows together (the peephole indexing of prepare step 4 is the only place
where the layout shows).  The fused activation option is ignored, as LiteRT ignores it here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._lstm import GATE_NAMES, Direction, Scratch
from ._qgemm import ExactMatmul
from ._qnonlinear import srdhm16, wrap16
from .base import PrepareContext, TensorSpec
from .quant import Requantizer, checked_log2, quantize_multiplier, rounding_divide_by_pot, wrap_int32
from .rsqrt import inv_sqrt_multiplier_exp

I8, I16, I32 = (np.dtype(t) for t in (np.int8, np.int16, np.int32))
I16_MIN, I16_MAX = -32768, 32767


# -- gemmlowp 16-bit fixed point, on int64 arrays holding int16 values -----------------------------
def _c16(raw32: int) -> int:
    """A gemmlowp fixed-point constant given as its 32-bit raw value, rounded to 16 bits."""
    return int(rounding_divide_by_pot(raw32, 16))


def _sat_pot16(x: np.ndarray, e: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<e> on int16 for e >= 0."""
    if e == 0:
        return x
    thr = (1 << (15 - e)) - 1
    return np.where(x > thr, I16_MAX, np.where(x < -thr, I16_MIN, x << e))


def _exp_quarter16(a: np.ndarray) -> np.ndarray:
    """exp on [-1/4, 0), Q0.15 in and out (Taylor series around -1/8)."""
    const, third = _c16(1895147668), _c16(715827883)
    x = wrap16(a + (1 << 12))
    x2 = srdhm16(x, x)
    x3 = srdhm16(x2, x)
    x4 = srdhm16(x2, x2)
    x4_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(wrap16(srdhm16(wrap16(x4_4 + x3), third) + x2), 1)
    return np.clip(const + srdhm16(const, wrap16(x + poly)), I16_MIN, I16_MAX)


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401),
           (4, 242))


def _exp_neg16(a: np.ndarray, ibits: int) -> np.ndarray:
    """exp of non-positive Q``ibits`` int16 values, Q0.15 result."""
    frac = 15 - ibits
    quarter = 1 << (frac - 2)
    amq = wrap16((a & (quarter - 1)) - quarter)
    result = _exp_quarter16(_sat_pot16(amq, ibits))
    rem = wrap16(amq - a)
    for e, m in _BARREL:
        if ibits > e:
            result = np.where(rem & (1 << (frac + e)), srdhm16(result, _c16(m)), result)
    if ibits > 5:
        result = np.where(a < _c16(-(1 << (36 - ibits))), 0, result)
    return np.where(a == 0, I16_MAX, result)


def _newton16(a: np.ndarray) -> np.ndarray:
    """The shared Newton-Raphson reciprocal of ``(1 + a) / 2`` in Q2.13 (a in Q0.15)."""
    s = a + I16_MAX
    half = wrap16(np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2)))  # C's (s + sign) / 2
    x = wrap16(_c16(1515870810) + srdhm16(half, _c16(-1010580540)))
    for _ in range(3):
        omh = wrap16((1 << 13) - srdhm16(half, x))
        x = wrap16(x + _sat_pot16(srdhm16(x, omh), 2))
    return x


def gemmlowp_logistic16(a: np.ndarray, ibits: int) -> np.ndarray:
    """gemmlowp ``logistic`` of Q``ibits`` int16 values, Q0.15 result."""
    a = np.asarray(a, np.int64)
    pos = a > 0
    absx = np.where(pos, a, wrap16(-a))
    rp = _sat_pot16(_newton16(_exp_neg16(wrap16(-absx), ibits)), 1)  # Rescale<0>(ExactMulByPot<-1>(x))
    rn = wrap16(I16_MAX - rp)
    return np.where(a == 0, _c16(1 << 30), np.where(pos, rp, rn))


def gemmlowp_tanh16(a: np.ndarray, ibits: int) -> np.ndarray:
    """gemmlowp ``tanh`` of Q``ibits`` int16 values, Q0.15 result."""
    a = np.asarray(a, np.int64)
    neg = a < 0
    n = np.where(neg, a, wrap16(-a))
    t = _sat_pot16(wrap16(_newton16(_exp_neg16(n, ibits + 1)) - (1 << 13)), 2)
    return np.where(a == 0, 0, np.where(neg, wrap16(-t), t))


def table16(fn: Callable[[np.ndarray, int], np.ndarray], ibits: int) -> np.ndarray:
    """``fn`` over every int16 value, indexed by ``value + 32768``."""
    v = np.arange(I16_MIN, I16_MAX + 1, dtype=np.int64)
    return np.ascontiguousarray(fn(v, ibits), dtype=np.int64)


# -- in-place integer helpers for the step ----------------------------------------------------------
def rdpot_(x: np.ndarray, e: int, tmp: np.ndarray) -> None:
    """In place ``RoundingDivideByPOT(x, e)`` (half away from zero) on int64, e >= 1."""
    np.right_shift(x, 63, out=tmp)
    np.add(tmp, 1 << (e - 1), out=tmp)
    np.add(x, tmp, out=x)
    np.right_shift(x, e, out=x)


def wrap16_(x: np.ndarray) -> None:
    np.add(x, 1 << 15, out=x)
    np.bitwise_and(x, 0xFFFF, out=x)
    np.subtract(x, 1 << 15, out=x)


class IntLayerNorm:
    """LiteRT's integer ApplyLayerNorm on one gate block ``[B, n]`` (module docstring, step 4)."""

    def __init__(self, coef: np.ndarray, bias: np.ndarray, scale: float, guard: int, n: int):
        self.coef = coef.astype(np.int64).reshape(1, -1)
        self.bias = bias.astype(np.int64).reshape(1, -1)
        q, s = quantize_multiplier(np.float64(scale))
        self.req = Requantizer(int(q), int(s) + 12)
        self.guard, self.n = int(guard), n
        self.temp = (1 << 20) // n

    def bind(self, g: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> Callable[[], None]:
        n, guard, temp, coef, bias, req = self.n, self.guard, self.temp, self.coef, self.bias, self.req

        def step() -> None:
            s = g.sum(axis=1)
            np.multiply(g, g, out=t1)
            sq = t1.sum(axis=1)
            s *= 1024
            mean = np.where(s >= 0, s // n, -((-s) // n))  # C's truncating division
            var = sq * temp - mean * mean
            var = np.where(var >= 0, var >> 20, -((-var) >> 20))
            var = np.where(var < 1, guard, var)
            big = np.maximum(var >> 29, 0)  # LiteRT divides by 4 while >= 2**29
            k = np.zeros_like(var)
            while big.any():
                k += big > 0
                big >>= 2
            inv, inv_shift = inv_sqrt_multiplier_exp(var >> (2 * k))
            right = (-inv_shift + k).reshape(-1, 1)  # the multiplier's shift is never positive here
            inv = inv.reshape(-1, 1)
            # rescaled = MBQM(1024 * g - mean, inv, -right)
            np.multiply(g, 1024, out=t1)
            np.subtract(t1, mean.reshape(-1, 1), out=t1)
            np.multiply(t1, inv, out=t1)
            np.add(t1, 1 << 30, out=t1)
            np.right_shift(t1, 31, out=t1)
            np.right_shift(t1, 63, out=t2)
            np.bitwise_and(t2, np.where(right > 0, -1, 0), out=t2)
            np.add(t2, np.where(right > 0, np.int64(1) << np.maximum(right - 1, 0), 0), out=t2)
            np.add(t1, t2, out=t1)
            np.right_shift(t1, right, out=t1)
            # v3 = int32(rescaled * coef + bias); v4 = v3 / 1024 rounded away from zero
            np.multiply(t1, coef, out=t1)
            np.add(t1, bias, out=t1)
            wrap_int32(t1)
            np.right_shift(t1, 63, out=t2)  # -1 for negatives
            np.abs(t1, out=t1)
            np.add(t1, 512, out=t1)
            np.right_shift(t1, 10, out=t1)
            np.bitwise_or(t2, 1, out=t2)  # sign: -1 or 1 (0 -> 1: (0 - 512) / 1024 is 0 anyway)
            np.multiply(t1, t2, out=g)
            req(g, t2)
            np.clip(g, I16_MIN, I16_MAX, out=g)

        return step


class IntDirection(Direction):
    """One direction of a full-integer 8x8_16 LSTM (module docstring)."""

    def _quant(self, ctx: PrepareContext, s: TensorSpec, role: str, dtype: np.dtype,
               per_tensor: bool = True) -> tuple[float, int]:
        if np.dtype(s.dtype) != dtype:
            ctx.fail(f"{self.spec.label}{role} {s.describe()} must be {dtype.name} in the integer LSTM")
        q = s.quantization
        if not q.is_quantized:
            ctx.fail(f"{self.spec.label}{role} {s.describe()} must be quantized")
        if per_tensor and q.scales.size != 1:
            ctx.fail(f"{self.spec.label}{role} {s.describe()} has {q.scales.size} scales: LiteRT's integer LSTM "
                     "reads one scale per tensor (per-channel weights are not supported)")
        return float(np.float32(q.scales[0])), int(q.zero_points[0]) if q.zero_points.size else 0

    def _intermediate(self, ctx: PrepareContext, k: int) -> tuple[float, int]:
        node = ctx.node
        inter = tuple(node.intermediates or ())
        model = getattr(getattr(ctx, "runtime", None), "model", None)
        if model is None:
            ctx.fail("the integer LSTM needs the model's intermediate tensors (no runtime model in this context)")
        i = inter[k]
        if i < 0:
            ctx.fail(f"intermediate {k} (tensor -1) is required by the integer LSTM")
        t = model.subgraphs[ctx.subgraph].tensors[i]
        if not t.quantization.is_quantized:
            ctx.fail(f"intermediate {k} (tensor {i} '{t.name}') must be quantized")
        return float(np.float32(t.quantization.scale)), int(t.quantization.zero_point)

    def prepare(self, ctx: PrepareContext, x: TensorSpec, n_steps: int, n_batch: int, act: int, cell_clip: float,
                proj_clip: float, asymmetric: bool = False, aux: TensorSpec | None = None,
                rows_t_major: bool = True, out: TensorSpec | None = None) -> None:
        """Check the integer direction's tensors against the int8 input ``x`` and precompute
        (module docstring, prepare steps 1-4).  ``out``: the op's output (its scale gives the
        quantized projection clip)."""
        sp, lab = self.spec, self.spec.label
        self.form = "integer"
        self.T, self.B = n_steps, n_batch
        self.rows_t_major = rows_t_major
        f32 = np.float32
        if cell_clip < 0 or proj_clip < 0:
            ctx.fail(f"cell_clip ({cell_clip}) and proj_clip ({proj_clip}) must be >= 0")
        inter = tuple(ctx.node.intermediates or ())
        if len(inter) != 5:
            ctx.fail(f"the full-integer (int8 input) LSTM needs 5 intermediate tensors (the 8x8_16 form), got "
                     f"{len(inter)}" + (" (12: the 8x8_8 form, not supported)" if len(inter) == 12 else ""))
        if aux is not None:
            ctx.fail(f"{lab}an auxiliary input is not supported by the integer LSTM")
        wx, wh = self._gate_weights(ctx, sp, lab)
        gates = [1, 2, 3] if self.cifg else [0, 1, 2, 3]
        self.gates, G = gates, len(gates)
        self.G = G
        if wx[3].rank != 2:
            ctx.fail(f"{lab}input-to-output weights {wx[3].describe()} must have rank 2")
        n_cell, n_input = wx[3].shape
        if x.shape[-1] != n_input:
            ctx.fail(f"input {x.describe()} has {x.shape[-1]} features; the weights {wx[3].describe()} expect "
                     f"{n_input}")
        if wh[3].rank != 2:
            ctx.fail(f"{lab}recurrent-to-output weights {wh[3].describe()} must have rank 2 (diagonal recurrent "
                     "weights are not supported by the integer LSTM)")
        n_output = wh[3].shape[1]
        self.n_cell, self.n_input, self.n_output = n_cell, n_input, n_output
        sx, zx = self._quant(ctx, x, "input", I8)
        sx_w, sh_w = {}, {}
        for g in gates:
            self._check_shape(ctx, wx[g], (n_cell, n_input), f"input-to-{GATE_NAMES[g]} weights")
            self._check_shape(ctx, wh[g], (n_cell, n_output), f"recurrent-to-{GATE_NAMES[g]} weights")
            for s, d in ((wx[g], sx_w), (wh[g], sh_w)):
                sc, zp = self._quant(ctx, s, "weights", I8)
                if zp != 0:
                    ctx.fail(f"{lab}weights {s.describe()} must be symmetric (zero point 0, got {zp})")
                d[g] = sc
        # states
        hs = self._need(ctx, sp.h, "output state")
        cs_t = self._need(ctx, sp.c, "cell state")
        for s, role, size, dt in ((hs, "output state", n_batch * n_output, I8),
                                  (cs_t, "cell state", n_batch * n_cell, I16)):
            if not s.is_variable:
                ctx.fail(f"{lab}{role} {s.describe()} must be a variable tensor (is_variable)")
            if s.size != size:
                ctx.fail(f"{lab}{role} {s.describe()} must have {size} elements")
            self._quant(ctx, s, role, dt)
        s_h, z_h = self._quant(ctx, hs, "output state", I8)
        ok, cs = checked_log2(float(cs_t.quantization.scale))
        if not ok:
            ctx.fail(f"{lab}cell state {cs_t.describe()} must have a power-of-two scale "
                     f"(got {cs_t.quantization.scale})")
        # LiteRT's integer tanh of the cell state handles 0 to 6 integer bits (cell scales 2**-15 to
        # 2**-9).  For any other scale it writes nothing, and the hidden value multiplies the output
        # gate by what its destination buffer still holds: the input gate's activations.  TensorFlow's
        # converter does write such models (a cell state calibrated below 1/8 gets 2**-18), and LiteRT
        # runs them that way, so numlite does the same; with CIFG that buffer holds nothing defined.
        self.stale_tanh = not 0 <= 15 + cs <= 6
        if self.stale_tanh and self.cifg:
            ctx.fail(f"{lab}cell state {cs_t.describe()} scale 2**{cs} with CIFG: LiteRT's integer tanh of the "
                     "cell state supports scales 2**-15 to 2**-9 only, and leaves an undefined buffer otherwise")
        self.cs = cs
        # peephole
        peep = [self._opt(ctx, i) for i in sp.peep]
        self.peephole = peep[2] is not None
        want = [peep[1], peep[2]] + ([] if self.cifg else [peep[0]])
        if any(p is None for p in want) and any(p is not None for p in peep):
            ctx.fail(f"{lab}peephole weights (inputs {list(sp.peep)}) must be all present or all omitted"
                     + ("" if not self.cifg else " (the input gate's is omitted with CIFG)"))
        if self.peephole and n_output > n_cell:
            ctx.fail(f"{lab}peephole weights with a projection to {n_output} > {n_cell} outputs: LiteRT's integer "
                     "kernel would read beyond the cell state")
        bias, pw, pb = self._check_bias_projection(ctx, sp, lab, gates, n_cell, n_output, I32,
                                                   " in the integer LSTM")
        # layer norm
        ln = [self._opt(ctx, i) for i in sp.ln] if sp.ln is not None else [None] * 4
        self.layer_norm = ln[1] is not None
        ln_scale = {}
        if self.layer_norm:
            if self.cifg and ln[0] is not None:
                ctx.fail(f"{lab}input layer-norm coefficients must be omitted with CIFG")
            for g in gates:
                if ln[g] is None:
                    ctx.fail(f"{lab}{GATE_NAMES[g]} layer-norm coefficients (input {sp.ln[g]}) are required with "
                             "layer normalization")
                self._check_shape(ctx, ln[g], (n_cell,), f"{GATE_NAMES[g]} layer-norm coefficients")
                ln_scale[g] = self._quant(ctx, ln[g], "layer-norm coefficients", I16)[0]
        # intermediates (gate scales with layer norm; Q3.12 otherwise) and hidden
        s_gate = {g: (self._intermediate(ctx, g)[0] if self.layer_norm else float(f32(2.0 ** -12))) for g in gates}
        s_hid, z_hid = self._intermediate(ctx, 4)
        if out is not None:
            s_out = self._quant(ctx, out, "output", I8)[0]
        else:
            s_out = 1.0

        # -- precompute ---------------------------------------------------------------------------
        def qm(m: float) -> tuple[int, int]:
            q, s = quantize_multiplier(np.float64(m))
            return int(q), int(s)

        def colwise(mults: dict[int, float]) -> Requantizer:
            q = np.concatenate([np.full(n_cell, qm(mults[g])[0], np.int64) for g in gates])
            s = np.concatenate([np.full(n_cell, qm(mults[g])[1], np.int64) for g in gates])
            return Requantizer(q, s)

        self.req_x = colwise({g: f32(f32(f32(sx_w[g]) * f32(sx)) / f32(s_gate[g])) for g in gates})
        self.req_h = colwise({g: f32(f32(f32(sh_w[g]) * f32(s_h)) / f32(s_gate[g])) for g in gates})
        wxm = np.concatenate([self._const(ctx, wx[g], "input weights").astype(np.int64) for g in gates])
        whm = np.concatenate([self._const(ctx, wh[g], "recurrent weights").astype(np.int64) for g in gates])

        def w32(a: np.ndarray) -> np.ndarray:
            a = np.array(a, np.int64)
            wrap_int32(a)
            return a

        bvec = np.concatenate([self._const(ctx, bias[g], "gate bias").astype(np.int64).reshape(-1) for g in gates])
        self.bx = w32((0 if self.layer_norm else bvec) + w32(wxm.sum(axis=1) * -zx))
        self.bh = w32(whm.sum(axis=1) * -z_h)
        self.wxt = np.ascontiguousarray(wxm.T.astype(np.float32))
        self.wht = np.ascontiguousarray(whm.T.astype(np.float32))
        # peephole: [B, n_cell] weights in LiteRT's indexing (step 4), multiplier per gate
        self.peep_w: dict[int, np.ndarray] = {}
        self.peep_req: dict[int, Requantizer] = {}
        if self.peephole:
            for g, k in ((0, 0), (1, 1), (3, 2)):
                if g not in gates:
                    continue
                p = peep[k]
                self._check_shape(ctx, p, (n_cell,), "peephole weights")
                sc = self._quant(ctx, p, "peephole weights", I16)[0]
                v = self._const(ctx, p, "peephole weights").astype(np.int64).reshape(-1)
                full = np.zeros((n_batch, n_cell), np.int64)
                if rows_t_major:
                    flat = full.reshape(-1)
                    m = n_batch * n_output
                    flat[:m] = v[np.arange(m) % n_output]
                else:
                    full[:, :n_output] = v[:n_output]
                self.peep_w[g] = full
                self.peep_req[g] = Requantizer(*qm(f32(np.float64(2.0 ** cs) * np.float64(sc) / np.float64(s_gate[g]))))
        # layer norm
        self.ln_ops: dict[int, IntLayerNorm] = {}
        if self.layer_norm:
            for g in gates:
                guard = max(1, int(f32(f32(10000) * f32(ln_scale[g]))))
                coef = self._const(ctx, ln[g], "layer-norm coefficients").reshape(-1)
                self.ln_ops[g] = IntLayerNorm(coef, self._const(ctx, bias[g], "gate bias").reshape(-1),
                                              ln_scale[g], guard, n_cell)
        # output / projection
        self.req_hid = Requantizer(*qm(f32(2.0 ** -15 / np.float64(s_hid) * 2.0 ** -15)))
        self.z_hid, self.z_h = z_hid, z_h
        self.pwt = None
        if pw is not None:
            sc, zp = self._quant(ctx, pw, "projection weights", I8)
            if zp != 0:
                ctx.fail(f"{lab}projection weights {pw.describe()} must be symmetric (zero point 0, got {zp})")
            pwm = self._const(ctx, pw, "projection weights").astype(np.int64)
            self.pwt = np.ascontiguousarray(pwm.T.astype(np.float32))
            pbv = self._const(ctx, pb, "projection bias").astype(np.int64).reshape(-1) if pb is not None else 0
            self.pb = w32(pbv + w32(pwm.sum(axis=1) * z_hid))
            self.req_p = Requantizer(*qm(f32(f32(f32(sc) * f32(s_hid)) / f32(s_h))))
        self.cell_clip = int(f32(min(max(f32(cell_clip) / f32(2.0 ** cs), f32(-32768)), f32(32767)))) \
            if cell_clip > 0 else 0
        self.proj_clip = int(f32(min(max(f32(proj_clip) / f32(s_out), f32(-128)), f32(127)))) if proj_clip > 0 else 0
        self.sig = table16(gemmlowp_logistic16, 3)
        self.tanh3 = table16(gemmlowp_tanh16, 3)
        self.tanh_c = None if self.stale_tanh else table16(gemmlowp_tanh16, 15 + cs)

        # -- scratch --------------------------------------------------------------------------------
        rows, gw = n_steps * n_batch, G * n_cell
        s = self.scratch = Scratch(ctx)
        s.add("xf", (rows, n_input), np.float32)
        s.add("xacc", (rows, gw), np.int32)
        s.add("xtmp", (rows, gw), np.float32)
        s.add("xg", (rows, gw), np.int64)
        s.add("xt2", (rows, gw), np.int64)
        s.add("hf", (n_batch, max(n_output, n_cell)), np.float32)
        s.add("hacc", (n_batch, max(gw, n_output)), np.int32)
        s.add("htmp", (n_batch, max(gw, n_output)), np.float32)
        s.add("g", (n_batch, gw), np.int64)
        s.add("gt", (n_batch, gw), np.int64)
        s.add("c64", (n_batch, n_cell), np.int64)
        s.add("t1", (n_batch, n_cell), np.int64)
        s.add("t2", (n_batch, n_cell), np.int64)
        s.add("t3", (n_batch, n_cell), np.int64)
        s.add("p64", (n_batch, n_output), np.int64)
        s.add("p2", (n_batch, n_output), np.int64)

    # -- bind ------------------------------------------------------------------------------------------
    def bind(self, x: np.ndarray, aux: np.ndarray | None, out: np.ndarray, h: np.ndarray, c: np.ndarray,
             scratch: list[np.ndarray], forward: bool = True) -> Callable[[], None]:
        """The step running the whole sequence (module docstring, invoke steps 1-8).  ``x``: int8
        rows ``[T * B, n_input]``; ``out``: a ``[T, B, n_output]`` int8 view; ``h`` / ``c``: the
        int8 / int16 state arrays, updated in place."""
        T, B, nc, no, G = self.T, self.B, self.n_cell, self.n_output, self.G
        if T * B == 0:
            return lambda: None
        v = self.scratch.views(scratch)
        gw = G * nc
        rows = T * B
        xf, xacc, xtmp, xg, xt2 = v["xf"], v["xacc"], v["xtmp"], v["xg"], v["xt2"]
        hf, hacc, htmp = v["hf"][:, :no], v["hacc"][:, :gw], v["htmp"][:, :gw]
        g, gt, c64, t1, t2, t3 = v["g"], v["gt"], v["c64"], v["t1"], v["t2"], v["t3"]
        h2, c2 = h.reshape(B, no), c.reshape(B, nc)
        # 1. input part for all steps
        xmm = ExactMatmul.for_weights(self.wxt, 128).bind(xf, xacc, xtmp)
        bx, req_x = self.bx, self.req_x

        def pre() -> None:
            np.copyto(xf, x.reshape(rows, -1), casting="unsafe")
            xmm()
            np.copyto(xg, xacc)
            np.add(xg, bx, out=xg)
            wrap_int32(xg)
            req_x(xg, xt2)
            np.clip(xg, I16_MIN, I16_MAX, out=xg)

        steps = self.step_views(xg, out, forward)
        hmm = ExactMatmul.for_weights(self.wht, 128).bind(hf, hacc, htmp)
        bh, req_h = self.bh, self.req_h
        blocks = {gate: (g[:, k * nc:(k + 1) * nc], gt[:, k * nc:(k + 1) * nc]) for k, gate in enumerate(self.gates)}
        cifg = self.cifg
        peep_w, peep_req = self.peep_w, self.peep_req
        lns = {gate: op.bind(blocks[gate][0], t1, t2) for gate, op in self.ln_ops.items()}
        sig, tanh3, tanh_c = self.sig, self.tanh3, self.tanh_c
        shift_ig = 30 + self.cs
        cclip, pclip = self.cell_clip, self.proj_clip
        req_hid, z_hid, z_h = self.req_hid, self.z_hid, self.z_h
        p64, p2 = v["p64"], v["p2"]
        gi = blocks[0][0] if not cifg else None
        gf, gc, go = blocks[1][0], blocks[2][0], blocks[3][0]
        g_if = g[:, :(nc if cifg else 2 * nc)]
        gt_if = gt[:, :(nc if cifg else 2 * nc)]
        pmm = None
        if self.pwt is not None:
            sf = v["hf"][:, :nc]
            pacc, ptmp = v["hacc"][:, :no], v["htmp"][:, :no]
            pmm = ExactMatmul.for_weights(self.pwt, 128).bind(sf, pacc, ptmp)
            pb, req_p = self.pb, self.req_p

        def peephole(gate: int) -> None:
            blk = blocks[gate][0]
            np.multiply(peep_w[gate], c64, out=t1)
            peep_req[gate](t1, t2)
            np.add(blk, t1, out=blk)
            np.clip(blk, I16_MIN, I16_MAX, out=blk)

        def lookup(table: np.ndarray, a: np.ndarray, idx: np.ndarray) -> None:
            np.add(a, 32768, out=idx)
            np.take(table, idx, out=a)

        def run() -> None:
            pre()
            for xgt, ot in steps:
                # 2. recurrent part of all gates
                np.copyto(hf, h2, casting="unsafe")
                hmm()
                np.copyto(g, hacc)
                np.add(g, bh, out=g)
                wrap_int32(g)
                req_h(g, gt)
                np.add(g, xgt, out=g)
                np.clip(g, I16_MIN, I16_MAX, out=g)
                np.copyto(c64, c2)
                # 3. peephole on the input and forget gates
                if peep_w:
                    if not cifg:
                        peephole(0)
                    peephole(1)
                # 4. layer norm
                if lns:
                    if not cifg:
                        lns[0]()
                    lns[1]()
                    lns[2]()
                # 5. activations
                lookup(sig, g_if, gt_if)
                lookup(tanh3, gc, blocks[2][1])
                # 6. cell state
                np.multiply(gf, c64, out=c64)
                rdpot_(c64, 15, t1)
                wrap16_(c64)
                if cifg:
                    np.subtract(I16_MAX, gf, out=t3)
                    np.multiply(t3, gc, out=t3)
                else:
                    np.multiply(gi, gc, out=t3)
                rdpot_(t3, shift_ig, t1)
                wrap16_(t3)
                np.add(c64, t3, out=c64)
                np.clip(c64, I16_MIN, I16_MAX, out=c64)
                if cclip > 0:
                    np.clip(c64, -cclip, cclip, out=c64)
                np.copyto(c2, c64)
                # 7. output gate
                if peep_w:
                    peephole(3)
                if lns:
                    lns[3]()
                lookup(sig, go, blocks[3][1])
                # 8. hidden value and output state
                if tanh_c is None:
                    np.copyto(c64, gi)  # LiteRT's tanh left its output buffer, the input gate, as it was
                else:
                    lookup(tanh_c, c64, t1)
                np.multiply(go, c64, out=t3)
                req_hid(t3, t1)
                if pmm is None:
                    np.add(t3, z_hid, out=t3)
                    np.clip(t3, -128, 127, out=t3)
                    np.copyto(h2, t3, casting="unsafe")
                else:
                    np.subtract(t3, z_hid, out=t3)
                    np.clip(t3, -128, 127, out=t3)
                    np.copyto(sf, t3, casting="unsafe")
                    pmm()
                    np.copyto(p64, pacc)
                    np.add(p64, pb, out=p64)
                    wrap_int32(p64)
                    req_p(p64, p2)
                    np.add(p64, z_h, out=p64)
                    np.clip(p64, -128, 127, out=p64)
                    if pclip > 0:
                        np.clip(p64, -pclip, pclip, out=p64)
                    np.copyto(h2, p64, casting="unsafe")
                np.copyto(ot, h2)

        return run
