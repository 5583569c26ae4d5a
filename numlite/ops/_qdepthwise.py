"""Quantized and hybrid DEPTHWISE_CONV_2D on the float engine of ``_depthwise``, bit-exact with
LiteRT's reference kernels (``reference_integer_ops::DepthwiseConvPerChannel`` for int8 and
16x8, ``reference_ops::DepthwiseConv`` for uint8, ``DepthwiseConvHybridPerChannel``).

Integer forms (int8 / uint8 / int16x8), ``QuantizedDepthwise``:

1. The reference sums ``w'[t] * (x[t] - zp_in)`` over the taps inside the image (``w' = w`` for
   int8 / 16x8, ``w - zp_w`` for uint8), adds the bias, requantizes per channel, adds the output
   zero point and clamps.  Here the source holds the raw input values with the borders filled
   with ``zp_in`` (so border taps add ``w' * zp_in``), and ``bias' = bias - zp_in * sum_t w'[t]``
   is added (by the fused epilogue while it widens the tap sum to float64, else by the engine):
   the same integer per output element.
2. Exactness of the engine: every product and every partial sum of the einsum is an integer of
   magnitude at most ``S_c = xmax * sum_t |w'[c, t]| + |bias'[c]|`` (``xmax`` 128 / 255 / 32768
   for int8 / uint8 / int16), whatever order the taps are added in; float32 is exact while ``S_c <= 2**24``
   (3x3 int8 layers always are), float64 while ``S_c <= 2**53`` (16x8 layers).
3. Requantization of a tile ``a`` (exact integers) into the output, fused float64 path: for
   int8 / uint8, TFLite's double rounding ``RDBPOT(SRDHM(a * 2**l, q), e)`` equals
   ``floor(a*q*2**l / D + 1/2 + sign(a) * 2**-(1+e))`` with ``D = 2**(31+e)`` (the second term
   is zero when ``e = 0``): the SRDHM rounds half up, the divide rounds half away from zero, and
   both floors nest into one.  So: ``f = a * (q*2**l/D)``, ``f += copysign(2**-(1+e), f)``,
   ``f += 1/2 + zp_out + off``, clamp to ``[lo + off, hi + off + 1)`` truncating into the output
   viewed unsigned (one pass), then flip the sign bit (``off`` = 128 / 0 / 32768 makes every
   value non-negative so truncation is a floor).
   When the activation's clamp starts at or above the output zero point (RELU, RELU6) the sign
   term is folded into the constant as ``+2**-(1+e)``: a negative accumulator gives a value at
   or below the zero point with either sign, which the clamp maps to the same result.
   Without the sign term the bias and the constant fold into one row, ``f = a * qs + (bias * qs
   + k)`` (exact by the same bound: ``_fused_step``): widen, multiply, add, clamp, flip.
   uint8 takes the legacy scalar multiplier (``GetQuantizedConvolutionMultipler``: the scale
   product rounded to float32 before the double division), which its kernel reads.
   16x8 uses TFLite's int64 form, one rounding: ``floor(a * rq / 2**T + 1/2)``.  Every float64
   value here is an integer multiple of ``1/D`` below ``2**53 / D`` in magnitude - checked per
   layer at prepare (``S_c * q_c * 2**l_c + (|zp| + off + 2) * D_c < 2**53``), so every step is
   exact.  A few 8-bit channels failing the check (tiny multipliers of near-dead channels, a
   left shift that wraps in LiteRT's int32) are redone on the int64 path after the fused pass
   (``_slow_step``, at most ``MAX_SLOW_CHANNELS``); layers with more (or huge biases) take the
   int64 path whole: ``quant.Requantizer`` (or the 16x8 shift form) on an int64 copy of the tile.
4. Fused activations are the quantized clamp of ``CalculateActivationRangeQuantized``.

Hybrid (float input, int8 per-channel filter), ``HybridDepthwise``:

5. Per batch item the input is quantized as LiteRT's x86 build of ``AsymmetricQuantizeFloats``
   does (``quantize_batch``: range including 0, nudged zero point, float32 ``x * (1/scale)``
   rounded, plus the offset, clamped to int8); the engine sums ``w * (q - offset)``
   exactly (float32 while ``255 * sum |w| <= 2**24``), and the epilogue computes, in float32 as
   the reference does, ``acc * (w_scale[c] * input_scale[b]) + bias[c]`` and the float clamp.

Limits: filter and bias must be constant for the integer forms (per-invoke weight changes are not
re-folded); int4 filters are not supported; a left shift of an accumulator that overflows int32
saturates (int64 path) where C++ would wrap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import quant
from ._depthwise import DepthwisePlan, activation_bounds
from ._qbinary import quantized_activation_range
from .base import PrepareContext, Step, TensorSpec, chain

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
#: exactness limits of the engine's sums
EXACT32, EXACT64 = 2**24, 2**53
#: set False (tests) to force the int64 requantization path everywhere
FUSED_REQUANT = True
#: at most this many channels (and half the layer's) are redone on the int64 path after the
#: fused epilogue; a layer with more takes the int64 path whole
MAX_SLOW_CHANNELS = 8

_UNSIGNED = {np.dtype(np.int8): (np.uint8, 128), np.dtype(np.uint8): (np.uint8, 0),
             np.dtype(np.int16): (np.uint16, 32768)}
_XMAX = {np.dtype(np.int8): 128, np.dtype(np.uint8): 255, np.dtype(np.int16): 32768}


def _scale_of(ctx: PrepareContext, spec: TensorSpec, role: str) -> float:
    q = spec.quantization
    if not q.is_quantized:
        ctx.fail(f"{role} {spec.describe()} has no quantization parameters")
    return float(q.scales[0])


def _tile(v: np.ndarray, wo: int) -> np.ndarray:
    """Per-channel values [Cout] -> one output row [Wo*Cout]."""
    return np.ascontiguousarray(np.tile(v, wo))


def engine_dtype(ctx: PrepareContext, bound: float) -> np.dtype:
    if bound <= EXACT32:
        return F32
    if bound <= EXACT64:
        return F64
    return ctx.fail(f"accumulator bound {bound:.3g} exceeds 2**53 (bias or filter values too large to sum exactly)")


class QuantizedDepthwise:
    """int8 (per-channel or per-tensor filter), uint8 (per-tensor) and int16x8 depthwise."""

    def __init__(self, ctx: PrepareContext, x: TensorSpec, f: TensorSpec, b: TensorSpec | None,
                 out: TensorSpec, act: int, geom: dict[str, Any]):
        dt = np.dtype(x.dtype)
        self.dt = dt
        self.cout = cout = f.shape[3]
        wo = geom["out_hw"][1]
        if f.value is None or (b is not None and b.value is None):
            ctx.fail("quantized depthwise convolution needs a constant filter and bias")
        want_f = np.dtype(np.uint8) if dt == np.uint8 else np.dtype(np.int8)
        if np.dtype(f.dtype) != want_f:
            ctx.fail(f"filter {f.describe()} has type {np.dtype(f.dtype).name}; {dt.name} input needs "
                     f"{want_f.name} weights")
        if np.dtype(out.dtype) != dt:
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; it must match the input "
                     f"({dt.name})")
        want_b = np.dtype(np.int64) if dt == np.int16 else np.dtype(np.int32)
        if b is not None and np.dtype(b.dtype) != want_b:
            ctx.fail(f"bias {b.describe()} has type {np.dtype(b.dtype).name}; {dt.name} depthwise needs {want_b.name}")
        s_in = _scale_of(ctx, x, "input")
        s_out = _scale_of(ctx, out, "output")
        fq = f.quantization
        if not fq.is_quantized:
            ctx.fail(f"filter {f.describe()} has no quantization parameters")
        nsc = fq.scales.size
        if nsc not in (1, cout):
            ctx.fail(f"filter {f.describe()} has {nsc} scales; expected 1 or {cout} (one per output channel)")
        if nsc > 1:
            if dt == np.uint8:
                ctx.fail(f"filter {f.describe()}: per-channel quantization needs int8 or int16 input, not uint8")
            if fq.quantized_dimension != 3:
                ctx.fail(f"filter {f.describe()} is quantized along dimension {fq.quantized_dimension}; "
                         "depthwise filters are per output channel (dimension 3)")
        zp_in, zp_out = x.quantization.zero_point, out.quantization.zero_point
        if dt == np.int16 and (zp_in != 0 or zp_out != 0):
            ctx.fail("16-bit input and output must have zero point 0")
        w = f.value.astype(np.int64).reshape(-1, cout)  # [KT, Cout]
        if dt == np.uint8:
            w = w - int(fq.zero_points[0]) if fq.zero_points.size else w
            if b is not None:  # GetQuantizedConvolutionMultipler's legacy bias-scale check
                # LiteRT reads the per-tensor scale, which is 0 unless the bias has exactly one
                bs = float(b.quantization.scales[0]) if b.quantization.scales.size == 1 else 0.0
                prod = float(np.float32(s_in)) * float(fq.scales[0])
                if abs(prod - bs) / s_out > 0.02:
                    ctx.fail(f"bias {b.describe()} scale {bs:g} differs from input scale * filter scale "
                             f"{prod:g} by more than 2% of the output scale")
        if b is not None and b.quantization.is_quantized and b.quantization.zero_point != 0:
            ctx.fail(f"bias {b.describe()} must have zero point 0")
        # per-channel multipliers, as PopulateConvolutionQuantizationParams computes them
        scales = np.broadcast_to(np.asarray(fq.scales, np.float32).astype(np.float64), (cout,))
        eff = float(np.float32(s_in)) * scales / float(np.float32(s_out))
        if dt == np.uint8:  # the legacy scalar multiplier the uint8 kernel uses: a float32 product
            eff = np.full(cout, float(np.float32(s_in) * np.float32(fq.scales[0])) / float(np.float32(s_out)))
        q, shift = quant.quantize_multiplier(eff)
        q, shift = q.astype(np.int64), shift.astype(np.int64)
        self.lo, self.hi = quantized_activation_range(ctx, act, out)
        # the constant row and the exactness bound
        bias = b.value.astype(np.int64) if b is not None else np.zeros(cout, np.int64)
        bias_c = bias - zp_in * w.sum(axis=0)
        sbound = _XMAX[dt] * np.abs(w).sum(axis=0) + np.abs(bias_c)
        edt = engine_dtype(ctx, float(sbound.max()) if cout else 0.0)
        has_row = b is not None or zp_in != 0
        self.plan = DepthwisePlan(x.shape, geom["kh"], geom["kw"], cout, geom["stride"], geom["dilation"],
                                  geom["out_hw"], geom["pad_tl"], has_row, 0, ctx.num_threads,
                                  dtype=edt, pad_value=float(zp_in), in_dtype=dt, epilogue=True)
        self.pool = ctx.pool if self.plan.workers > 1 else None
        self.wfilt = w.reshape(f.shape).astype(edt)
        self.wrows = self.plan.constant_weight_rows(self.wfilt)  # None: filled per invoke
        self.bias_row = bias_c.astype(edt) if has_row else None
        #: the constant row tiled along one output row (float64, exact): the fused epilogue adds it
        #: while widening the accumulator, so the engine's tiles skip their bias pass
        self.bias64 = _tile(bias_c.astype(F64), wo) if has_row else None
        udt, off = _UNSIGNED[dt]
        self.udt, self.off = np.dtype(udt), off
        # requantization constants per output row
        self.slow = np.zeros(0, np.int64)
        left = np.maximum(shift, 0)
        right = np.maximum(-shift, 0)
        if dt == np.int16:
            rq = np.where(q < 0x7FFF0000, (q + (1 << 15)) >> 16, 0x7FFF)
            total = 15 - shift
            fused_ok = bool(np.all(sbound * rq + (2.0 ** total) * (off + 2) < EXACT64))
            self.rq, self.total = _tile(rq, wo), _tile(total, wo)
            self.rnd = _tile(np.int64(1) << (total - 1), wo)
            self.qs = _tile(rq / 2.0 ** total, wo)
            self.h_bits = None
        else:
            d = 2.0 ** (31 + right)
            ok = (sbound * 2.0 ** left < 2.0**31) & (sbound * q * 2.0 ** left + (abs(zp_out) + off + 2) * d < EXACT64)
            # a few failing channels (tiny multipliers of near-dead channels, wrapping left
            # shifts) are redone on the int64 path after the fused epilogue (``_slow_step``)
            slow = np.flatnonzero(~ok)
            if 0 < slow.size <= min(MAX_SLOW_CHANNELS, cout // 2):
                self.slow = slow
                self.slow_q, self.slow_shift = q[slow], shift[slow]
            fused_ok = bool(ok.all()) or self.slow.size > 0
            self.q, self.shift = _tile(q, wo), _tile(shift, wo)
            self.qs = _tile(q * 2.0 ** left / d, wo)
            h = np.where(right > 0, 2.0 ** -(1.0 + right), 0.0)
            self.h_bits = _tile(h.view(np.int64), wo) if np.any(h) else None
        self.fused = fused_ok and FUSED_REQUANT
        self.epi_bias = self.fused and self.slow.size == 0 and self.bias64 is not None
        self.clip_lo = float(self.lo + off)
        self.clip_hi = float(np.nextafter(self.hi + off + 1.0, -np.inf))
        self.zp_out = zp_out
        # A negative accumulator gives a value <= 0 before the output zero point whichever sign
        # the term takes (q >= 2**30 or q == 0), so when the clamp's low end is at or above the
        # zero point (RELU, RELU6) the term is added as +2**-(1+e) everywhere, folded into the
        # constant: two bitwise passes and an add saved.
        self.k = 0.5 + zp_out + off
        row = self.plan.row
        rows = self.plan.epi_rows
        if self.lo >= zp_out and self.h_bits is not None:
            self.k = self.h_bits.view(np.float64) + self.k  # one output row, broadcast over a chunk
            self.h_bits = None
        #: the folded constant row of the sign-free fused epilogue, ``bias * qs + k`` (exact:
        #: multiples of ``1/D`` below ``2**53 / D``, see ``_fused_step``)
        self.kb = None
        if self.fused and self.h_bits is None:
            kb = np.broadcast_to(np.asarray(self.k, F64), (wo * cout,))
            self.kb = np.ascontiguousarray(kb + self.bias64 * self.qs if self.epi_bias else kb)
        slots = [ctx.scratch(s, d) for s, d in self.plan.scratch_shapes(self.wrows is not None)]
        self.scratch_slots = slots
        # two float64 (viewed int64 on the int64 path) buffers per worker for the epilogue
        self.epi_slots = [(ctx.scratch((rows * row,), F64), ctx.scratch((rows * row,), F64))
                          for _ in range(self.plan.workers)] if not self.plan.empty else []

    def bind(self, x: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        mine = [scratch[i] for i in self.scratch_slots]
        bufs = [(scratch[a], scratch[b]) for a, b in self.epi_slots]

        def epilogue(acc: np.ndarray, orows: np.ndarray, _b: int, worker: int) -> Step:
            r, row = acc.shape
            fb, tb = bufs[worker]
            f, t = fb[:r * row].reshape(r, row), tb[:r * row].reshape(r, row)
            o = orows.reshape(r, row)
            ou = o.view(self.udt) if self.off else o
            if self.fused and self.slow.size:
                return chain(self._fused_step(acc, f, t, ou), self._slow_step(acc, f, t, o))
            if self.fused:
                return self._fused_step(acc, f, t, ou)
            return self._int64_step(acc, f.view(np.int64), t.view(np.int64), o)

        engine_bias = None if self.epi_bias else self.bias_row
        wrows, pre = weight_rows_step(self.plan, self.wrows, self.wfilt, mine)
        return self.plan.bind(x, out, wrows, engine_bias, mine, self.pool, pre, epilogue)

    def _fused_step(self, acc: np.ndarray, f: np.ndarray, t: np.ndarray, ou: np.ndarray) -> Step:
        """See the module docstring, point 3.  Without the sign term (every layer whose clamp
        starts at or above the output zero point, and every ``e = 0`` layer) the bias and the
        constant are one row ``C = bias * qs + k``: ``f = acc * qs + C`` is the same float64
        value as ``(acc + bias) * qs + k`` because every operand and result is a multiple of
        ``1/D`` below ``2**53 / D`` in magnitude (the prepare check bounds ``|acc * q * 2**l| +
        |bias * q * 2**l| + (|zp| + off + 2) * D``, as ``S_c`` includes ``|bias|``), so both
        forms are exact; a float32 tile is widened by a plain copy (cheaper than a mixed-type
        multiply).  Passes: widen, multiply, add, clamp-and-truncate into the output, and the
        sign-bit flip of an int8 output (a one-byte pass)."""
        qs, k, lo, hi, off = self.qs, self.k, self.clip_lo, self.clip_hi, self.off
        h = None if self.h_bits is None else self.h_bits.view(np.float64)
        mul, cp, add, csign, clip, bxor = np.multiply, np.copyto, np.add, np.copysign, np.clip, np.bitwise_xor
        f32 = acc.dtype == F32
        flip = ou.dtype.type(off)
        b64 = self.bias64 if self.epi_bias else None

        if h is None:
            c = self.kb

            def step_folded() -> None:
                if f32:
                    cp(f, acc)
                    mul(f, qs, out=f)
                else:
                    mul(acc, qs, out=f)
                add(f, c, out=f)
                clip(f, lo, hi, out=ou, casting="unsafe")
                if off:
                    bxor(ou, flip, out=ou)

            return step_folded

        def step() -> None:
            if b64 is not None:  # exact: integers below 2**53
                add(acc, b64, out=f)
                mul(f, qs, out=f)
            elif f32:
                cp(f, acc)
                mul(f, qs, out=f)
            else:
                mul(acc, qs, out=f)
            # f += copysign(2**-(1+e), f)
            csign(h, f, out=t)
            add(f, t, out=f)
            add(f, k, out=f)
            clip(f, lo, hi, out=ou, casting="unsafe")
            if off:
                bxor(ou, flip, out=ou)

        return step

    def _slow_step(self, acc: np.ndarray, f: np.ndarray, t: np.ndarray, o: np.ndarray) -> Step:
        """The ``slow`` channels on the int64 path, over what the fused epilogue wrote there; each
        channel's ``[rows, Wo]`` strided column goes through the (then free) scratch."""
        r, row = acc.shape
        wo = row // self.cout
        i64 = f.reshape(-1)[:r * wo].view(np.int64).reshape(r, wo)
        t64 = t.reshape(-1)[:r * wo].view(np.int64).reshape(r, wo)
        a3, o3 = acc.reshape(r, wo, self.cout), o.reshape(r, wo, self.cout)
        chans = [(a3[:, :, c], o3[:, :, c], quant.Requantizer(int(qc), int(sc)))
                 for c, qc, sc in zip(self.slow.tolist(), self.slow_q.tolist(), self.slow_shift.tolist())]
        lo, hi, zp = self.lo, self.hi, self.zp_out
        to_output = quant.requantize_to_output

        def step() -> None:
            for a, dst, requant in chans:
                to_output(a, dst, requant, zp, lo, hi, i64, t64)

        return step

    def _int64_step(self, acc: np.ndarray, i: np.ndarray, t: np.ndarray, o: np.ndarray) -> Step:
        lo, hi, zp = self.lo, self.hi, self.zp_out
        cp, clip, add = np.copyto, np.clip, np.add
        if self.dt == np.int16:
            rq, rnd, total = self.rq, self.rnd, self.total

            def step16() -> None:
                cp(i, acc, casting="unsafe")
                np.multiply(i, rq, out=i)
                add(i, rnd, out=i)
                np.right_shift(i, total, out=i)
                clip(i, lo, hi, out=i)
                cp(o, i, casting="unsafe")

            return step16
        requant = quant.Requantizer(self.q, self.shift)
        to_output = quant.requantize_to_output
        return lambda: to_output(acc, o, requant, zp, lo, hi, i, t)


class HybridDepthwise:
    """Float input and output, int8 filter with per-channel scales (dynamic-range model)."""

    def __init__(self, ctx: PrepareContext, x: TensorSpec, f: TensorSpec, b: TensorSpec | None,
                 out: TensorSpec, act: int, geom: dict[str, Any]):
        cout = f.shape[3]
        n = x.shape[0]
        wo = geom["out_hw"][1]
        if f.value is None:
            ctx.fail("hybrid depthwise convolution needs a constant filter")
        if b is not None and np.dtype(b.dtype) != np.float32:
            ctx.fail(f"bias {b.describe()} has type {np.dtype(b.dtype).name}; hybrid depthwise needs float32")
        if np.dtype(out.dtype) != np.float32:
            ctx.fail(f"output {out.describe()} must be float32 like the input")
        fq = f.quantization
        if not fq.is_quantized:
            ctx.fail(f"filter {f.describe()} has no quantization parameters")
        if fq.scales.size != cout or (cout > 1 and fq.quantized_dimension != 3):
            ctx.fail(f"filter {f.describe()} needs one scale per output channel along dimension 3 "
                     f"(got {fq.scales.size} along dimension {fq.quantized_dimension})")
        w = f.value.astype(np.int64).reshape(-1, cout)
        sbound = 255 * np.abs(w).sum(axis=0)
        edt = engine_dtype(ctx, float(sbound.max()) if cout else 0.0)
        self.plan = DepthwisePlan(x.shape, geom["kh"], geom["kw"], cout, geom["stride"], geom["dilation"],
                                  geom["out_hw"], geom["pad_tl"], False, 0, ctx.num_threads,
                                  dtype=edt, pad_value=0.0, in_dtype=edt, epilogue=True)
        self.pool = ctx.pool if self.plan.workers > 1 else None
        self.wfilt = w.reshape(f.shape).astype(edt)
        self.wrows = self.plan.constant_weight_rows(self.wfilt)  # None: filled per invoke
        self.wscale = np.asarray(fq.scales, np.float32)
        self.wscale_row = _tile(self.wscale, wo)
        self.bias = b is not None
        self.lo, self.hi = activation_bounds(act)
        size = int(np.prod(x.shape[1:]))
        self.size = size
        self.xc_slot = ctx.scratch(x.shape, edt)  # centred quantized input (q - offset)
        self.t32_slot = ctx.scratch((2 * size,), F32)
        self.t64_slot = ctx.scratch((size,), F64)
        self.srow_slot = ctx.scratch((n, self.plan.row), F32)
        self.scratch_slots = [ctx.scratch(s, d) for s, d in self.plan.scratch_shapes(self.wrows is not None)]

    def bind(self, x: np.ndarray, bias: np.ndarray | None, out: np.ndarray, scratch: list[np.ndarray]) -> Step:
        xc, t32, t64, srow = (scratch[self.xc_slot], scratch[self.t32_slot], scratch[self.t64_slot],
                              scratch[self.srow_slot])
        mine = [scratch[i] for i in self.scratch_slots]
        n = x.shape[0]
        xf, xcf = x.reshape(n, -1), xc.reshape(n, -1)
        wrow, row, cout = self.wscale_row, self.plan.row, self.wscale.size
        lo, hi = self.lo, self.hi
        # the bias tiled along one output row, refreshed per invoke (the bias may be an input)
        brow = np.empty(row, np.float32) if bias is not None else None

        def pre() -> None:
            for b in range(n):
                sf, offset = quantize_batch(xf[b], t32, t64)
                np.subtract(t64, offset, out=t64)
                np.copyto(xcf[b], t64, casting="unsafe")
                # the reference scales by float32(w_scale[c] * input_scale[b])
                np.multiply(wrow, np.float32(sf), out=srow[b])
            if brow is not None:
                np.copyto(brow.reshape(-1, cout), bias)

        def epilogue(acc: np.ndarray, orows: np.ndarray, bi: int, _w: int) -> Step:
            r = acc.shape[0]
            o = orows.reshape(r, row)
            s = srow[bi]
            mul, add, clip, cp = np.multiply, np.add, np.clip, np.copyto
            wide = acc.dtype != F32

            def step() -> None:
                if wide:  # static_cast<float>(acc) first
                    cp(o, acc, casting="unsafe")
                    mul(o, s, out=o)
                else:
                    mul(acc, s, out=o)
                if brow is not None:
                    add(o, brow, out=o)
                if lo is not None:
                    clip(o, lo, hi, out=o)

            return step

        wrows, fill = weight_rows_step(self.plan, self.wrows, self.wfilt, mine)
        return self.plan.bind(xc, out, wrows, None, mine, self.pool, chain(fill, pre), epilogue)


def quantize_batch(v: np.ndarray, t32: np.ndarray, t64: np.ndarray) -> tuple[float, int]:
    """TFLite's ``AsymmetricQuantizeFloats`` of one batch item ``v`` (float32, 1-D) as the LiteRT
    x86 wheel runs it (the NEON implementation through NEON_2_SSE, also under BUILTIN_REF):
    writes the int8 values (as float64) into ``t64[:v.size]`` and returns (scaling factor,
    offset).  ``t32`` is float32 scratch of ``2 * v.size``.

    1. ``rmin = min(0, min v)``, ``rmax = max(0, max v)``; both 0: all zeros, factor 1, offset 0.
    2. ``scale = float32(rmax - rmin) / 255`` in double; the zero point from whichever end has
       the smaller error, nudged into [-128, 127] (``round``, half away from zero).
    3. Factor ``float32(scale)``, inverse ``float32(1.0 / factor)`` (double division).
    4. Values ``m = float32(v * inv)``; the first ``8 * (size // 8)`` (the vector loop) are
       ``trunc(float32(m +- 0.5))`` (the sign of ``m``), the rest ``round(m)`` half away from
       zero; then ``+ offset`` and clamped to [-128, 127]."""
    n = v.size
    if n == 0:
        return 1.0, 0
    rmin = min(np.float32(0.0), v.min())
    rmax = max(np.float32(0.0), v.max())
    if rmin == rmax:
        t64[:n].fill(0.0)
        return 1.0, 0
    scale = float(np.float32(rmax - rmin)) / 255.0
    rmin, rmax = float(rmin), float(rmax)
    zp_min = -128.0 - rmin / scale
    zp_max = 127.0 - rmax / scale
    err_min = 128.0 + abs(rmin / scale)
    err_max = 127.0 + abs(rmax / scale)
    zpd = zp_min if err_min < err_max else zp_max
    if zpd <= -128.0:
        offset = -128
    elif zpd >= 127.0:
        offset = 127
    else:
        offset = int(math.copysign(math.floor(abs(zpd) + 0.5), zpd))
    sf = np.float32(scale)
    inv = np.float32(1.0 / float(sf))
    m, h = t32[:n], t32[n:2 * n]
    q = t64[:n]
    np.multiply(v, inv, out=m)
    p = n - n % 8
    if p:
        np.copysign(np.float32(0.5), m[:p], out=h[:p])
        np.add(m[:p], h[:p], out=h[:p])
        np.trunc(h[:p], out=h[:p])
        np.copyto(q[:p], h[:p])
    if p < n:  # std::round on float32 (exact in float64)
        tail = q[p:]
        np.abs(m[p:], out=tail)
        np.add(tail, 0.5, out=tail)
        np.floor(tail, out=tail)
        np.copysign(tail, m[p:], out=tail)
    np.add(q, offset, out=q)
    np.clip(q, -128.0, 127.0, out=q)
    return float(sf), offset


def weight_rows_step(plan: DepthwisePlan, wrows: np.ndarray | None, filt: np.ndarray,
                     mine: list[np.ndarray]) -> tuple[np.ndarray | None, Step | None]:
    """The weight rows to bind and the step refreshing them: the constant rows and no step, or
    (large rows, ``DepthwisePlan.constant_weight_rows``) the plan's last scratch slot, filled from
    the small filter at every invoke (popped from ``mine``)."""
    if wrows is not None or plan.empty:
        return wrows, None
    rows = mine.pop()
    return rows, lambda: plan.fill_weight_rows(rows, filt)
