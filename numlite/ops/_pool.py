"""Base for 2-D pooling over NHWC tensors (AVERAGE_POOL_2D, MAX_POOL_2D): float32, and int8 / uint8 /
int16 (quantized or not) as LiteRT's reference kernels compute them.

1. Geometry (prepare): output size and padding as TFLite computes them (``conv_padding`` with
   dilation 1; SAME puts the odd padding cell after).  A pooling window is the filter placed at
   ``out * stride - pad_before``, clipped to the input: padded cells never take part, so a max
   never sees a padding value and an average divides by the number of *valid* cells only.
2. Global pools (one output cell whose window covers the whole input, e.g. MobileNet's 7x7
   average) are one reduction over axes 1 and 2 straight into the output.
3. Otherwise the window is separable: max (or sum) over the window = max over its rows of the
   max over its columns.  Two passes, one per spatial axis, each over the filter's taps along
   that axis.  For tap ``t`` the output positions whose input index is inside the input form
   one contiguous range; prepare works out that range and the strided input slice feeding it,
   and bind turns every tap into a pair of fixed views, so eval only calls ufuncs with ``out=``.
   The tap at ``t = pad_before`` is valid for every output position (TFLite's padding never
   exceeds half the filter), so each pass starts by combining that tap with the widest other
   tap (copying the first only at the edges the other misses) and then accumulates the rest on
   their valid ranges: no padded copy of the input and no -inf / 0 padding.  The
   pass order minimises an estimate of the work (elements touched, strided W passes weighted
   double); the first pass's result lives in scratch.
   A pass with filter 1 and no padding is only a strided view (no work).
4. Average: divide by the valid-cell count, a precomputed (1, OH, OW, 1) map (a scalar when all
   windows are full, as with VALID padding).  Then the fused activation in place.

5. Integer tensors (int8, uint8, int16): the pools work on the stored values; TFLite expects the
   input and output to share scale and zero point and does not requantize (numlite neither).
   Max runs the same passes in the input's own type.  Average sums in float32 (the passes'
   ufuncs are forced to a float32 loop; nothing is copied first; int32 for windows so large
   that a sum could pass 2**24) into a scratch, then divides as TFLite's reference kernels do:
   ``(sum + n/2) / n`` for positive sums and ``(sum - n/2) / n`` otherwise, C division
   truncating toward zero, i.e. ``trunc((sum + copysign(n // 2, sum)) / n)``: exact in float32
   (integers below 2**24, a correctly rounded quotient), several times faster than integer
   division.  The fused activation clamps to TFLite's
   CalculateActivationRangeQuantized range of the output (``quantized_activation_range``).

Limits: TFLite's float pooling clamps only for RELU, RELU_N1_TO_1 and RELU6 and silently
ignores other fused activations; numlite does the same (integer pools likewise use the full
range for them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import quant
from .base import (
    ACT_RELU,
    ACT_RELU6,
    ACT_RELU_N1_TO_1,
    ACTIVATION_NAMES,
    PADDING_SAME,
    PADDING_VALID,
    Kernel,
    PrepareContext,
    Step,
    chain,
    conv_padding,
    make_activation,
)

INPUT = 0
POOL_DTYPES = (np.float32, np.uint8, np.int8, np.int16)


def quantized_activation_range(ctx: PrepareContext, act: int, dtype: Any, scale: float,
                               zero_point: int) -> tuple[int, int]:
    """``quant.activation_range_quantized`` with errors naming the op and node."""
    try:
        return quant.activation_range_quantized(act, dtype, scale, zero_point)
    except ValueError as e:
        ctx.fail(str(e))


def _axis_taps(n_in: int, n_out: int, f: int, s: int, pad: int) -> tuple[int, list[tuple[int, int, int]], np.ndarray]:
    """Taps along one axis: (index of the full tap, [(out_lo, out_hi, in_start)] per tap, valid count per output).

    For tap ``t`` output ``o`` reads input ``o * s - pad + t``; only outputs with that index in
    ``[0, n_in)`` take part.  Taps reaching no output are dropped; only taps from
    ``pad - (n_out - 1) * s`` to ``n_in - 1 + pad`` can reach one, so a huge filter costs no more
    than the input's size."""
    taps, full = [], -1
    count = np.zeros(n_out, np.int64)
    for t in range(max(0, pad - (n_out - 1) * s), min(f, n_in + pad)):
        lo = max(0, -((t - pad) // s))  # ceil((pad - t) / s)
        hi = min(n_out, (n_in - 1 + pad - t) // s + 1)
        if lo >= hi:
            continue
        if lo == 0 and hi == n_out and full < 0:
            full = len(taps)
        taps.append((lo, hi, lo * s - pad + t))
        count[lo:hi] += 1
    return full, taps, count


class PoolKernel(Kernel):
    """Shared prepare / bind of the 2-D pools; subclasses set ``reduce`` (a ufunc) and ``average``."""

    options_table = "Pool2DOptions"
    reduce: ClassVar[np.ufunc]
    average: ClassVar[bool] = False

    def prepare(self, ctx: PrepareContext) -> None:
        ctx.expect_inputs(1)
        x = ctx.input(INPUT)
        ctx.expect_dtype(x, POOL_DTYPES)
        ctx.expect_rank(x, 4)
        dt = np.dtype(x.dtype)
        out_spec = ctx.outputs[0]
        if out_spec.dtype is not None and np.dtype(out_spec.dtype) != dt:
            ctx.fail(f"output {out_spec.describe()} must have the input's type {dt.name}")
        o = self.options
        padding = int(o.get("padding") or 0)
        sh, sw = int(o.get("stride_h") or 0), int(o.get("stride_w") or 0)
        fh, fw = int(o.get("filter_height") or 0), int(o.get("filter_width") or 0)
        if padding not in (PADDING_SAME, PADDING_VALID):
            ctx.fail(f"unknown padding {padding}")
        if sh <= 0 or sw <= 0:
            ctx.fail(f"strides must be positive, got stride_h={sh}, stride_w={sw}")
        if fh <= 0 or fw <= 0:
            ctx.fail(f"filter size must be positive, got {fh}x{fw}")
        act = int(o.get("fused_activation_function") or 0)
        if act not in ACTIVATION_NAMES:
            ctx.fail(f"unknown fused activation {act}")
        self.is_int = dt.kind in "iu"
        self.dtype = dt
        # TFLite's pools clamp for these three only and ignore the others.
        self.act = act if act in (ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6) else 0
        if self.is_int:
            oq = out_spec.quantization
            self.qrange = quantized_activation_range(ctx, self.act, dt, oq.scale, oq.zero_point)
            # an integer average sums in float32 where every window sum is exact (below 2**24),
            # else in int32; max keeps the input's type
            cells = min(fh, x.shape[1]) * min(fw, x.shape[2])
            big = max(abs(int(np.iinfo(dt).min)), int(np.iinfo(dt).max))
            exact32 = big * max(cells, 1) < 2**24
            self.acc = np.dtype(np.float32 if exact32 else np.int32) if self.average else dt
        else:
            self.acc = np.dtype(np.float32)
        n, h, w, c = x.shape
        oh, pt, _ = conv_padding(h, fh, sh, 1, padding)
        ow, pl, _ = conv_padding(w, fw, sw, 1, padding)
        ctx.set_output(0, (n, oh, ow, c), dt)
        self.empty = n * oh * ow * c == 0
        if self.empty:
            return
        fh_full, self.taps_h, cnt_h = _axis_taps(h, oh, fh, sh, pt)
        fw_full, self.taps_w, cnt_w = _axis_taps(w, ow, fw, sw, pl)
        if fh_full < 0 or fw_full < 0:  # cannot happen with TFLite's padding rule
            ctx.fail("internal error: no pooling tap covers every output")
        self.full_h, self.full_w = fh_full, fw_full
        self.strides = (sh, sw)
        # a window covering the whole input: one reduction over H and W
        self.global_pool = (oh == 1 and ow == 1 and len(self.taps_h) == h and len(self.taps_w) == w)
        self.int_average = self.average and self.is_int
        if self.average:
            cnt = np.outer(cnt_h, cnt_w)
            div_dt = self.acc.type if self.is_int else np.float32
            if self.global_pool or (cnt == cnt.flat[0]).all():
                self.divisor = div_dt(cnt.flat[0])
            else:
                self.divisor = cnt.astype(div_dt).reshape(1, oh, ow, 1)
            if self.is_int:
                self.half = self.divisor // div_dt(2)  # a scalar keeps its type on NumPy 1 and 2
                # the int32 window sums, and a temporary for the rounding division
                self.sum_slot = ctx.scratch((n, oh, ow, c), self.acc)
                self.tmp_slot = ctx.scratch((n, oh, ow, c), self.acc)
        if self.global_pool:
            return
        # A pass is trivial (a strided view) for filter 1 without padding.
        self.trivial_h = len(self.taps_h) == 1 and self.taps_h[0] == (0, oh, 0)
        self.trivial_w = len(self.taps_w) == 1 and self.taps_w[0] == (0, ow, 0)
        # First pass along the axis that makes the intermediate smaller and the work less.
        # A W pass with stride > 1 reads C-long runs, not whole rows: NumPy's loop overhead per
        # run makes it about twice as slow per element as an H pass (measured).
        pw = 2 if sw > 1 else 1
        cost_w_first = pw * len(self.taps_w) * h * ow + len(self.taps_h) * oh * ow
        cost_h_first = len(self.taps_h) * oh * w + pw * len(self.taps_w) * oh * ow
        self.w_first = cost_w_first <= cost_h_first
        first_trivial = self.trivial_w if self.w_first else self.trivial_h
        self.mid_shape = (n, h, ow, c) if self.w_first else (n, oh, w, c)
        self.mid_slot = None if first_trivial else ctx.scratch(self.mid_shape, self.acc)

    # -- bind -------------------------------------------------------------------------------
    def _pass(self, src: np.ndarray, dst: np.ndarray, axis: int) -> Step:
        """Reduce ``src`` into ``dst`` along ``axis`` (1 = H, 2 = W) over that axis's taps."""
        taps, full = (self.taps_h, self.full_h) if axis == 1 else (self.taps_w, self.full_w)
        s = self.strides[axis - 1]

        def sl(arr: np.ndarray, a: slice) -> np.ndarray:
            return arr[(slice(None),) * axis + (a,)]

        def src_of(lo: int, hi: int, start: int) -> np.ndarray:
            return sl(src, slice(start, start + (hi - lo - 1) * s + 1, s))

        f, acc = self.reduce, self.acc
        flo, fhi, fstart = taps[full]
        others = [t for k, t in enumerate(taps) if k != full]
        if not others:
            whole = src_of(*taps[full])
            return lambda: np.copyto(dst, whole)
        # The first op combines the full tap with the widest other tap (no copy of the input
        # first); the full tap's cells outside that tap's range are copied (edges only).
        k = max(range(len(others)), key=lambda i: others[i][1] - others[i][0])
        lo, hi, start = others.pop(k)
        first = (src_of(lo, hi, fstart + lo * s), src_of(lo, hi, start), sl(dst, slice(lo, hi)))
        edges = [(sl(dst, slice(a, b)), src_of(a, b, fstart + a * s)) for a, b in ((0, lo), (hi, fhi)) if b > a]
        pairs = [(sl(dst, slice(lo, hi)), src_of(lo, hi, start)) for lo, hi, start in others]
        copyto = np.copyto

        def step() -> None:
            f(first[0], first[1], out=first[2], dtype=acc)
            for d, a in edges:
                copyto(d, a)
            for d, a in pairs:
                f(d, a, out=d, dtype=acc)

        return step

    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[INPUT], outputs[0]
        if self.empty:
            return lambda: None
        # where the window results (sums for an integer average) land
        res = scratch[self.sum_slot] if self.int_average else out
        if self.global_pool:
            n, h, w, c = x.shape
            x3, r2 = x.reshape(n, h * w, c), res.reshape(n, c)
            f, acc = self.reduce, self.acc
            main = lambda: f.reduce(x3, axis=1, dtype=acc, out=r2)
            return chain(main, self._finish(res, out, scratch))
        first_axis, second_axis = (2, 1) if self.w_first else (1, 2)
        sh, sw = self.strides
        if self.mid_slot is None:  # the first pass is a strided view of the input
            oh_or_ow = self.mid_shape[first_axis]
            step_first = None
            mid = x[:, :, :(oh_or_ow - 1) * sw + 1:sw] if first_axis == 2 else x[:, :(oh_or_ow - 1) * sh + 1:sh]
        else:
            mid = scratch[self.mid_slot]
            step_first = self._pass(x, mid, first_axis)
        if (self.trivial_h if second_axis == 1 else self.trivial_w):
            n_out = out.shape[second_axis]
            s = self.strides[second_axis - 1]
            src = mid[:, :(n_out - 1) * s + 1:s] if second_axis == 1 else mid[:, :, :(n_out - 1) * s + 1:s]
            step_second = lambda: np.copyto(res, src)
        else:
            step_second = self._pass(mid, res, second_axis)
        return chain(step_first, step_second, self._finish(res, out, scratch))

    def _finish(self, res: np.ndarray, out: np.ndarray, scratch: list[np.ndarray]) -> Step | None:
        """Average division (float, or TFLite's rounding integer division of ``res`` into ``out``)
        and the fused activation."""
        if not self.is_int:
            step_div = None
            if self.average:
                div = self.divisor
                step_div = lambda: np.divide(out, div, out=out)
            act = make_activation(self.act, out)
            return chain(step_div, act) if (step_div or act) else None
        lo, hi = self.qrange
        info = np.iinfo(self.dtype)
        clamp = None
        if (lo, hi) != (info.min, info.max):
            tlo, thi = self.dtype.type(lo), self.dtype.type(hi)
            clamp = lambda: np.clip(out, tlo, thi, out=out)
        if not self.int_average:
            return clamp
        t, n, half = scratch[self.tmp_slot], self.divisor, self.half
        absolute, add, fdiv, sign, mul, copyto = np.abs, np.add, np.floor_divide, np.sign, np.multiply, np.copyto
        if t.dtype == np.float32:
            csign, div = np.copysign, np.divide

            def rounding_divide_f32() -> None:
                # trunc((s + copysign(n // 2, s)) / n): float32 is exact here, as every sum is an
                # integer below 2**24 and a correctly rounded quotient never crosses an integer
                # (a non-integer quotient is at least 1/n away from one); the cast truncates
                csign(half, res, out=t)
                add(t, res, out=t)
                div(t, n, out=t)
                copyto(out, t, casting="unsafe")

            return chain(rounding_divide_f32, clamp)

        def rounding_divide() -> None:
            # sign(s) * ((|s| + n // 2) // n): C's (s +- n/2) / n, truncating toward zero
            absolute(res, out=t)
            add(t, half, out=t)
            fdiv(t, n, out=t)
            sign(res, out=res)
            mul(t, res, out=t)
            copyto(out, t, casting="unsafe")

        return chain(rounding_divide, clamp)
