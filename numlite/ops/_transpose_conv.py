"""Shared machinery of the transposed convolutions: TRANSPOSE_CONV, CONV_3D_TRANSPOSE and MediaPipe's
``Convolution2DTransposeBias`` (``numlite.custom._mediapipe_conv``).

A transposed convolution scatters every input pixel, times the filter, into the output:
``out[n, i * s - pad + k * dil, c] += x[n, i, :] . w[c, k, :]`` for each spatial position ``i``
and kernel tap ``k`` (per spatial dimension), the writes that fall outside the output dropped,
then ``+ bias`` and the fused activation.  TFLite's reference kernels loop over exactly that.

1. Geometry (``TransposeGeometry``): the output size comes from the model (an ``output_shape``
   input) or from the op's own rule (MediaPipe); the padding before each dimension is the one of
   the forward convolution whose input is the output: with ``n = ceil(O / s)`` (SAME) or
   ``(O - eff + s) // s`` (VALID), ``eff = (k - 1) * dil + 1``, ``pad = max((n - 1) * s + eff - O,
   0) // 2`` (TFLite's ``ComputePaddingHeightWidth``); ``n`` must equal the input size, as
   LiteRT 2.3 checks.
2. GEMM: the input viewed as ``[N * spatial, Cin]`` times the weights laid out once (at prepare,
   or every invoke for a float filter that is not constant) as ``[Cin, T * Cout]`` (``T`` taps)
   gives a column buffer ``[rows, T, Cout]``: every tap's contribution of every pixel.
3. col2im (``Col2Im``): for each tap, the input range whose writes land inside the output is
   computed at prepare; the step adds that strided slice of the column buffer into the matching
   strided slice of the output (``np.add(..., out=)``: one vectorised pass per tap, no
   ``np.add.at``).  Where the taps tile the output exactly once (stride = kernel extent, the
   usual 2x upsampling) each tap writes instead (``bias`` folded into that write) and no
   initialising pass is needed; otherwise the output starts as the bias (or zero).
4. Tiles: the GEMM and the scatter run over runs of whole images or of first-dimension input rows
   of one image, so the column buffer stays around ``TILE_BYTES`` (at most about ``MAX_TILES``
   tiles, bigger ones for huge tensors), and writes of neighbouring tiles simply add up.
5. Quantized forms (``QuantParams``): the input, minus its zero point (uint8 weights minus theirs),
   is copied into a float buffer; products and every partial sum are integers, exact in float32
   when ``a_bound * max_c sum |w_c|`` (every partial sum's bound) is at most ``2**24``, else the
   GEMM and the accumulation run in float64 (exact up to ``2**53``: ``Cin * T < 2**31`` at 16 bits).
   The exact sum is then the int32 accumulator of TFLite's reference kernel (wrapped to 32 bits
   only if its bound says it could overflow, as C's int32 arithmetic does), plus the bias, then
   ``MultiplyByQuantizedMultiplier`` (per channel; the int64 form for 16x8 with int64 bias),
   the output zero point and the activation clamp: bit-exact with BUILTIN_REF.
6. Hybrid (float32 input, int8 weights): each batch image is quantized asymmetrically on the fly
   (``_conv.quantize_image_``, TFLite's ``AsymmetricQuantizeFloats``), the exact integer sum is
   scaled by ``scale[c] * scaling_factor[b]`` in float32, plus bias and clamp.  TFLite scales each
   product before summing in float32, so results agree to float32 rounding, not bit for bit.
7. Float (and hybrid) results end with TFLite's float activation range (``float_clamp``): the
   fused RELU / RELU6 / RELU_N1_TO_1 and, for every activation, +-FLT_MAX, as the reference
   kernels do (MediaPipe's kernel clamps nothing and opts out).
8. Output sizes with more than 2**31 - 1 elements are rejected (at prepare, or at invoke for a
   run-time ``output_shape``) rather than allocated.

Limits: rank 4 (2-D) and rank 5 (3-D) only; one Python call per tap and tile at invoke (bounded by
the tile cap times the filter's taps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ._conv import quantize_image_
from ._qbinary import quantized_activation_range
from .base import (
    ACTIVATION_NAMES,
    PADDING_SAME,
    PADDING_VALID,
    DynamicOutput,
    Kernel,
    PrepareContext,
    Step,
    TensorSpec,
    activation_range,
    chain,
    no_fp_warnings,
)
from .quant import Requantizer, apply_int64_multiplier_into, int64_multiplier, quantize_multiplier, wrap_int32

#: column-buffer bytes aimed at per tile
TILE_BYTES = 2 * 1024 * 1024
#: about this many tiles at most (more data makes tiles bigger instead)
MAX_TILES = 64
EXACT_F32 = 2**24
INT32_MAX = 2**31 - 1

Fail = Callable[[str], Any]


def float_clamp(act: int) -> tuple[np.float32, np.float32]:
    """The float activation range as TFLite's reference kernels apply it: RELU / RELU6 / RELU_N1_TO_1
    clamp, and every activation (NONE included) clamps to +-FLT_MAX, so an infinite result becomes
    the largest finite float (NaN stays NaN)."""
    lo, hi = activation_range(act) or (-np.inf, np.inf)
    big = float(np.finfo(np.float32).max)
    return np.float32(max(lo, -big)), np.float32(min(hi, big))


def transposed_padding(out_size: int, k: int, s: int, dil: int, padding: int) -> tuple[int, int]:
    """``(n, pad)``: the size ``n`` the forward convolution of an ``out_size`` image gives (which must
    be the transposed convolution's input size) and the padding before, as TFLite computes them."""
    eff = (k - 1) * dil + 1
    n = -(-out_size // s) if padding == PADDING_SAME else (out_size - eff + s) // s
    total = max((n - 1) * s + eff - out_size, 0)
    return n, total // 2


@dataclass(frozen=True)
class TransposeGeometry:
    n: int
    cin: int
    cout: int
    in_sp: tuple[int, ...]
    out_sp: tuple[int, ...]
    k: tuple[int, ...]
    s: tuple[int, ...]
    d: tuple[int, ...]
    pad: tuple[int, ...]

    @property
    def taps(self) -> int:
        return int(np.prod(self.k, dtype=np.int64))

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.n, *self.out_sp, self.cout)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.n, *self.in_sp, self.cin)

    @property
    def empty(self) -> bool:
        return int(np.prod(self.out_shape, dtype=np.int64)) == 0

    def tap_range(self, dim: int, kk: int, lo: int, hi: int) -> tuple[slice, slice] | None:
        """Input positions ``lo <= i < hi`` of dimension ``dim`` whose tap ``kk`` lands inside the
        output, as (input slice relative to ``lo``, output slice), or None when none does."""
        s, o = self.s[dim], self.out_sp[dim]
        off = kk * self.d[dim] - self.pad[dim]  # output position = i * s + off
        i0 = max(lo, -(off // s))
        i1 = min(hi, (o - 1 - off) // s + 1)
        if i0 >= i1:
            return None
        o0 = i0 * s + off
        return slice(i0 - lo, i1 - lo), slice(o0, o0 + (i1 - i0 - 1) * s + 1, s)

    def exact_cover(self) -> bool:
        """Whether every output position receives exactly one tap of one input position."""
        for dim in range(len(self.k)):
            hits = np.zeros(self.out_sp[dim], np.int64)
            for kk in range(self.k[dim]):
                r = self.tap_range(dim, kk, 0, self.in_sp[dim])
                if r is not None:
                    hits[r[1]] += 1
            if not np.all(hits == 1):
                return False
        return True


def _plan_tiles(n: int, rows: int, row_bytes: int, target: int) -> list[tuple[int, int, int, int]]:
    """Tiles ``(n0, n1, r0, r1)``: runs of whole images, or runs of first-dimension rows of one image."""
    per_image = rows * row_bytes
    if per_image <= target:
        per = max(1, target // max(per_image, 1))
        return [(n0, min(n0 + per, n), 0, rows) for n0 in range(0, n, per)]
    th = max(1, target // max(row_bytes, 1))
    count = -(-rows // th)
    th = -(-rows // count)
    return [(i, i + 1, r0, min(r0 + th, rows)) for i in range(n) for r0 in range(0, rows, th)]


class Col2Im:
    """The tiled GEMM + per-tap scatter of one geometry (module docstring, steps 2-4)."""

    def __init__(self, g: TransposeGeometry, dtype: Any):
        self.g = g
        self.dtype = np.dtype(dtype)
        inner = int(np.prod(g.in_sp[1:], dtype=np.int64))
        row_bytes = inner * g.taps * g.cout * self.dtype.itemsize
        total = g.n * g.in_sp[0] * row_bytes
        target = max(TILE_BYTES, -(-total // MAX_TILES))
        self.tiles = [] if g.empty else _plan_tiles(g.n, g.in_sp[0], row_bytes, target)
        self.rows = max([(n1 - n0) * (r1 - r0) * inner for n0, n1, r0, r1 in self.tiles], default=0)
        self.exact = not g.empty and g.exact_cover()
        # per tap: its multi-index and the ranges of dimensions 1.. (the same in every tile)
        self.taps: list[tuple[int, int, list[tuple[slice, slice]]]] = []
        if not g.empty:
            for t, kk in enumerate(np.ndindex(*g.k)):
                rest = [g.tap_range(dim, kk[dim], 0, g.in_sp[dim]) for dim in range(1, len(g.k))]
                if all(r is not None for r in rest):
                    self.taps.append((t, kk[0], rest))

    @property
    def col_shape(self) -> tuple[int, int]:
        return (max(self.rows, 1), self.g.taps * self.g.cout)

    def bind(self, src: np.ndarray, wmat: np.ndarray, col: np.ndarray, dst: np.ndarray,
             write: Callable[[np.ndarray, np.ndarray], None] | None = None) -> list[Step]:
        """Steps computing the scatter of ``src [N, *in_sp, Cin]`` through ``wmat [Cin, T*Cout]`` into
        ``dst [N, *out_sp, Cout]``: adds (the caller initialises ``dst``) or, when ``self.exact``,
        writes (``write(out_view, col_view)``, default a copy)."""
        g = self.g
        matmul, add = np.matmul, np.add
        wr = write if write is not None else (lambda o, c: np.copyto(o, c))
        steps: list[Step] = []
        for n0, n1, r0, r1 in self.tiles:
            a = src[n0:n1, r0:r1]
            if not a.flags.c_contiguous:  # a tile must alias the live input, never a copy
                raise RuntimeError("transposed convolution: input tile is not contiguous")
            a2 = a.reshape(-1, g.cin)
            c2 = col[:a2.shape[0]]
            cv = c2.reshape(n1 - n0, r1 - r0, *g.in_sp[1:], g.taps, g.cout)
            pairs = []
            for t, k0, rest in self.taps:
                r = g.tap_range(0, k0, r0, r1)
                if r is None:
                    continue
                src_idx = (slice(None), r[0], *(x[0] for x in rest), t)
                dst_idx = (slice(n0, n1), r[1], *(x[1] for x in rest))
                pairs.append((dst[dst_idx], cv[src_idx]))
            if self.exact:
                def tile(a2=a2, c2=c2, pairs=pairs) -> None:
                    matmul(a2, wmat, out=c2)
                    for o, c in pairs:
                        wr(o, c)
            else:
                def tile(a2=a2, c2=c2, pairs=pairs) -> None:
                    matmul(a2, wmat, out=c2)
                    for o, c in pairs:
                        add(o, c, out=o)
            steps.append(tile)
        return steps


# --- quantization ------------------------------------------------------------------------------
@dataclass
class QuantParams:
    """What the quantized / hybrid forms precompute once (independent of the output size)."""

    mode: str  # "int8", "uint8", "16x8", "hybrid"
    zx: int = 0  # input zero point (subtracted in the centring copy)
    zo: int = 0
    lo: int = 0
    hi: int = 0
    requant: Requantizer | None = None  # 32-bit double-rounding multiply
    mult64: tuple | None = None  # (reduced, total, rounding) of the int64 multiply (16x8, int64 bias)
    wrap: bool = False  # the int32 accumulator could overflow: wrap like C
    bias64: np.ndarray | None = None
    pcs: np.ndarray | None = None  # hybrid: float32 per-channel weight scales
    bias32: np.ndarray | None = None  # hybrid: float32 bias


class TransposeConvBase(Kernel):
    """A transposed convolution with ``rank`` spatial dimensions.  Subclasses name the input slots
    and the filter layout, read the options, and may replace the output-size rule."""

    rank: ClassVar[int] = 2
    SHAPE: ClassVar[int | None] = 0
    FILTER: ClassVar[int] = 1
    INPUT: ClassVar[int] = 2
    BIAS: ClassVar[int | None] = 3
    #: input types besides float32 (TRANSPOSE_CONV: uint8, int8, int16 and hybrid)
    quantized_forms: ClassVar[bool] = False
    #: float results go through TFLite's activation clamp (``float_clamp``, +-FLT_MAX at least)
    float_clamp: ClassVar[bool] = True

    # -- hooks ----------------------------------------------------------------------------
    def filter_layout(self, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...], int]:
        """``(Cout, kernel sizes, Cin)`` of a filter of this shape."""
        raise NotImplementedError

    def filter_view(self, w: np.ndarray) -> np.ndarray:
        """The filter as a ``[Cin, T, Cout]`` view."""
        raise NotImplementedError

    def read_options(self, ctx: PrepareContext) -> tuple[int, tuple[int, ...], tuple[int, ...], int]:
        """``(padding, strides, dilations, fused activation)``."""
        raise NotImplementedError

    def output_size(self, shape: tuple[int, ...], fail: Fail) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(output spatial sizes, paddings before)`` from the ``output_shape`` values (TFLite's
        rule, module docstring step 1); the subclass without an ``output_shape`` input replaces it."""
        g0 = self._static
        want = self.rank + 2
        if len(shape) != want:
            fail(f"output_shape {list(shape)} must have {want} elements")
        if any(v < 0 for v in shape):
            fail(f"output_shape {list(shape)} has a negative dimension")
        if shape[0] != g0["n"]:
            fail(f"output_shape {list(shape)}: batch {shape[0]} differs from the input's {g0['n']}")
        if shape[-1] != g0["cout"]:
            fail(f"output_shape {list(shape)}: {shape[-1]} channels, but the filter has {g0['cout']} output channels")
        out_sp, pads = [], []
        for dim in range(self.rank):
            o = int(shape[1 + dim])
            n, p = transposed_padding(o, g0["k"][dim], g0["s"][dim], g0["d"][dim], g0["padding"])
            if n != g0["in_sp"][dim]:
                fail(f"output_shape {list(shape)} does not match the input: a convolution of output size {o} "
                     f"(dimension {dim + 1}) gives {n}, the input has {g0['in_sp'][dim]}")
            out_sp.append(o)
            pads.append(p)
        return tuple(out_sp), tuple(pads)

    # -- prepare --------------------------------------------------------------------------------
    def prepare(self, ctx: PrepareContext) -> None:
        x = ctx.input(self.INPUT)
        f = ctx.input(self.FILTER)
        b = ctx.input(self.BIAS, optional=True) if self.BIAS is not None else None
        ctx.expect_rank(x, self.rank + 2, "input")
        ctx.expect_rank(f, self.rank + 2, "filter")
        cout, k, cin = self.filter_layout(f.shape)
        if x.shape[-1] != cin:
            ctx.fail(f"input {x.describe()} has {x.shape[-1]} channels; the filter {f.describe()} expects {cin}")
        if any(v <= 0 for v in x.shape[1:]) or any(v <= 0 for v in f.shape):
            ctx.fail(f"input {x.describe()} and filter {f.describe()} must have non-empty spatial and channel "
                     "dimensions")
        padding, strides, dilations, act = self.read_options(ctx)
        if padding not in (PADDING_SAME, PADDING_VALID):
            ctx.fail(f"unknown padding {padding}")
        if any(v < 1 for v in strides):
            ctx.fail(f"strides must be >= 1, got {list(strides)}")
        if any(v < 1 for v in dilations):
            ctx.fail(f"dilations must be >= 1, got {list(dilations)}")
        if act not in ACTIVATION_NAMES:
            ctx.fail(f"unknown fused activation {act}")
        if b is not None and b.size != cout:
            ctx.fail(f"bias {b.describe()} must have {cout} elements (the filter's output channels)")
        self.act = act
        self._static = {"n": x.shape[0], "cin": cin, "cout": cout, "in_sp": tuple(x.shape[1:-1]), "k": k,
                        "s": tuple(strides), "d": tuple(dilations), "padding": padding}
        xt, ft = np.dtype(x.dtype), np.dtype(f.dtype)
        out = ctx.outputs[0]
        self.quant: QuantParams | None = None
        if xt == np.float32 and ft == np.float32:
            for spec, role in ((b, "bias"), (out, "output")):
                if spec is not None and spec.dtype is not None and np.dtype(spec.dtype) != np.float32:
                    ctx.fail(f"{role} {spec.describe()} has type {np.dtype(spec.dtype).name}; expected float32")
            out_t = np.float32
        elif self.quantized_forms and xt in (np.int8, np.uint8, np.int16, np.float32):
            self.quant = self._prepare_quant(ctx, x, f, b, out)
            out_t = xt
        else:
            allowed = ("float32 input and filter; uint8 / int8 / int16 input with uint8 / int8 filter; float32 input "
                       "with int8 filter (hybrid)" if self.quantized_forms else "float32 input and filter")
            ctx.fail(f"input {x.describe()} with filter {f.describe()} is not supported; supported: {allowed}")
        if out.dtype is not None and np.dtype(out.dtype) != np.dtype(out_t):
            ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; expected {np.dtype(out_t).name}")
        self.out_t = np.dtype(out_t)
        # weights: constant ones laid out once; a float filter known only at invoke is laid out then
        self.cdt = np.dtype(np.float32)
        if self.quant is not None:
            if f.value is None:
                ctx.fail(f"filter {f.describe()} must be a constant for the quantized / hybrid form")
            if b is not None and b.value is None:
                ctx.fail(f"bias {b.describe()} must be a constant for the quantized / hybrid form")
        self.wmat = None if f.value is None else self._weights(np.asarray(f.value), ctx)
        self.bias = None
        self.bias_runtime = b is not None and b.value is None
        if b is not None and b.value is not None and self.quant is None:
            self.bias = np.ascontiguousarray(b.value, np.float32).reshape(cout)
        self.clamp = float_clamp(act) if self.float_clamp else None
        # output size: now, or at every invoke when it depends on values
        self.dynamic = False
        if self.SHAPE is not None:
            sh = ctx.input(self.SHAPE)
            ctx.expect_rank(sh, 1, "output_shape")
            ctx.expect_dtype(sh, (np.int32,), "output_shape")
            if sh.size != self.rank + 2:
                ctx.fail(f"output_shape {sh.describe()} must have {self.rank + 2} elements")
            if sh.value is None:
                self.dynamic = True
                ctx.set_output_dynamic(0, self.out_t)
                return
            shape = tuple(int(v) for v in np.asarray(sh.value).reshape(-1))
        else:
            shape = ()
        g = self._geometry(shape, ctx.fail)
        ctx.set_output(0, g.out_shape, self.out_t)
        self.geom = g
        self.plan = Col2Im(g, self.cdt)
        self.slots = {name: ctx.scratch(shp, dt) for name, (shp, dt) in self._scratch_specs(self.plan).items()}

    def _geometry(self, shape: tuple[int, ...], fail: Fail) -> TransposeGeometry:
        s = self._static
        out_sp, pads = self.output_size(shape, fail)
        if int(np.prod([s["n"], *out_sp, s["cout"]], dtype=np.float64)) > INT32_MAX:
            fail(f"the output ({[s['n'], *out_sp, s['cout']]}) would have more than 2**31 - 1 elements")
        return TransposeGeometry(s["n"], s["cin"], s["cout"], s["in_sp"], tuple(out_sp), s["k"], s["s"], s["d"],
                                 tuple(pads))

    def _weights(self, w: np.ndarray, ctx: PrepareContext) -> np.ndarray:
        """The constant filter as the ``[Cin, T*Cout]`` GEMM operand (quantized: centred integers,
        float32 when every partial sum is exact there, else float64)."""
        v = self.filter_view(w)
        cin, taps, cout = v.shape
        q = self.quant
        if q is None:
            return np.ascontiguousarray(v, np.float32).reshape(cin, taps * cout)
        wf = v.astype(np.float64)
        if q.mode == "uint8":
            wf -= float(ctx.input(self.FILTER).quantization.zero_point)
        a_bound = {"int8": 255, "uint8": 255, "16x8": 1 << 15, "hybrid": 255}[q.mode]
        l1 = float(np.abs(wf).sum(axis=(0, 1)).max(initial=0.0))
        bias_bound = 0.0 if q.bias64 is None else float(np.abs(q.bias64.astype(np.float64)).max(initial=0.0))
        if a_bound * l1 > EXACT_F32:
            self.cdt = np.dtype(np.float64)
        # the int32 accumulator (and bias) can only overflow, and need C's wrap, beyond this bound
        q.wrap = q.requant is not None and a_bound * l1 + bias_bound >= 2.0**31
        return np.ascontiguousarray(wf, self.cdt).reshape(cin, taps * cout)

    def _scratch_specs(self, plan: Col2Im) -> dict[str, tuple[tuple[int, ...], Any]]:
        g, q = plan.g, self.quant
        specs: dict[str, tuple[tuple[int, ...], Any]] = {}
        if g.empty:
            return specs
        specs["col"] = (plan.col_shape, self.cdt)
        if self.wmat is None:
            specs["w"] = ((g.cin, g.taps * g.cout), np.float32)
        if q is not None:
            specs["src"] = (g.in_shape, self.cdt)
            specs["acc"] = (g.out_shape, self.cdt)
            if q.mode == "hybrid":
                specs["qtmp"] = (g.in_shape[1:], np.float32)
            else:
                specs["a64"] = (g.out_shape, np.int64)
                specs["t64"] = (g.out_shape, np.int64)
        return specs

    def _prepare_quant(self, ctx: PrepareContext, x: TensorSpec, f: TensorSpec, b: TensorSpec | None,
                       out: TensorSpec) -> QuantParams:
        xt, ft = np.dtype(x.dtype), np.dtype(f.dtype)
        mode = {np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8", np.dtype(np.int16): "16x8",
                np.dtype(np.float32): "hybrid"}[xt]
        want_f = np.dtype(np.uint8) if mode == "uint8" else np.dtype(np.int8)
        if ft != want_f:
            want = "float32 or int8 (hybrid)" if mode == "hybrid" else want_f.name
            ctx.fail(f"filter {f.describe()} has type {ft.name}; a {xt.name} input needs a {want} filter")
        cout = self._static["cout"]
        fq = f.quantization
        if not fq.is_quantized:
            ctx.fail(f"filter {f.describe()} has no quantization parameters")
        ws = np.asarray(fq.scales, np.float32).reshape(-1)
        if ws.size not in (1, cout):
            ctx.fail(f"filter {f.describe()} has {ws.size} scales; expected 1 or {cout} (one per output channel)")
        if ws.size > 1 and fq.quantized_dimension != 0:
            ctx.fail(f"filter {f.describe()} is quantized along dimension {fq.quantized_dimension}; expected 0")
        if mode == "uint8" and ws.size > 1:
            ctx.fail(f"filter {f.describe()}: per-channel quantization needs int8 or int16 inputs")
        if mode != "uint8" and np.any(np.asarray(fq.zero_points) != 0):
            ctx.fail(f"filter {f.describe()} must have zero points 0 (symmetric weights)")
        q = QuantParams(mode)
        if mode == "hybrid":
            if b is not None and np.dtype(b.dtype) != np.float32:
                ctx.fail(f"bias {b.describe()} has type {np.dtype(b.dtype).name}; the hybrid form needs float32")
            q.pcs = np.broadcast_to(ws, (cout,)).astype(np.float32)
            q.bias32 = None if b is None else np.asarray(b.value, np.float32).reshape(cout)
            return q
        xq, oq = x.quantization, out.quantization
        for spec, role in ((x, "input"), (out, "output")):
            if not spec.quantization.is_quantized:
                ctx.fail(f"{role} {spec.describe()} has no quantization parameters")
        zx, zo = int(xq.zero_point), int(oq.zero_point)
        info = np.iinfo(xt)
        for z, spec in ((zx, x), (zo, out)):
            if not info.min <= z <= info.max:
                ctx.fail(f"{spec.describe()} zero point {z} is outside the {xt.name} range")
        if mode == "16x8" and (zx or zo):
            ctx.fail(f"int16 input and output must have zero point 0 (input {zx}, output {zo})")
        if not (np.all(ws > 0) and xq.scale > 0 and oq.scale > 0):
            ctx.fail("input, filter and output scales must be positive")
        want_b: tuple[Any, ...] = (np.int32,) if mode != "16x8" else (np.int64, np.int32)
        if b is not None:
            if np.dtype(b.dtype) not in [np.dtype(t) for t in want_b]:
                ctx.fail(f"bias {b.describe()} has type {np.dtype(b.dtype).name}; expected "
                         f"{' or '.join(np.dtype(t).name for t in want_b)}")
            if mode != "uint8" and b.quantization.is_quantized and b.quantization.zero_point != 0:
                ctx.fail(f"bias {b.describe()} must have zero point 0")
        s_in, s_out = float(np.float32(xq.scale)), float(np.float32(oq.scale))
        if mode == "uint8":
            eff = np.full(cout, float(np.float32(xq.scale) * ws[0]) / s_out)
        else:
            eff = s_in * np.broadcast_to(ws, (cout,)).astype(np.float64) / s_out
        mq, shift = quantize_multiplier(eff)
        if mode == "uint8":
            mq, shift = mq[0], shift[0]
        q.zx, q.zo = zx, zo
        q.lo, q.hi = quantized_activation_range(ctx, self.act, out)
        q.bias64 = None if b is None else np.asarray(b.value).reshape(cout).astype(np.int64)
        acc32 = mode != "16x8"
        if mode == "16x8":
            qbt = int(self.options.get("quantized_bias_type") or 0)
            qbt_name = {0: None, 2: "int32", 4: "int64"}.get(qbt, "other")
            if qbt_name == "other":
                ctx.fail(f"quantized_bias_type {qbt} must be INT32 or INT64")
            btype = None if b is None else np.dtype(b.dtype).name
            if qbt_name is not None and btype is not None and btype != qbt_name:
                ctx.fail(f"bias {b.describe()} has type {btype} but quantized_bias_type says {qbt_name}")
            if qbt_name is None and btype == "int32":
                ctx.fail(f"bias {b.describe()}: an int16 TRANSPOSE_CONV with an int32 bias needs quantized_bias_type "
                         "INT32 (without it LiteRT reads the bias as int64)")
            acc32 = qbt_name == "int32"
        if acc32:
            q.requant = Requantizer(mq, shift)
        else:
            q.mult64 = int64_multiplier(mq, shift)
        return q

    # -- invoke -----------------------------------------------------------------------------------
    def bind(self, inputs: list[np.ndarray | None], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        if self.dynamic:
            return self._dynamic_step(inputs, outputs[0])
        sl = {name: scratch[i] for name, i in self.slots.items()}
        return self._bind_plan(self.plan, inputs, outputs[0], sl)

    def _bind_plan(self, plan: Col2Im, inputs: list[np.ndarray | None], out: np.ndarray,
                   sl: dict[str, np.ndarray]) -> Step:
        g, q = plan.g, self.quant
        if g.empty:
            return lambda: None
        x = inputs[self.INPUT]
        if not (x.flags.c_contiguous and out.flags.c_contiguous):
            raise RuntimeError(f"{self.op_name} (node {self.node.index}): input and output must be C-contiguous")
        pre: list[Step] = []
        wmat = self.wmat
        if wmat is None:  # a float filter known only at invoke: laid out at every invoke
            wmat = sl["w"]
            wv = wmat.reshape(g.cin, g.taps, g.cout)
            fin = self.filter_view(inputs[self.FILTER])
            pre.append(lambda: np.copyto(wv, fin))
        bias = self.bias
        if self.bias_runtime:
            bias = inputs[self.BIAS].reshape(g.cout)
        if q is None:
            return no_fp_warnings(chain(*pre, *self._float_steps(plan, x, wmat, sl["col"], out, bias)))
        src, acc = sl["src"], sl["acc"]
        if q.mode == "hybrid":
            pre.append(self._hybrid_quantize_step(x, src, sl["qtmp"]))
        else:
            zx = self.cdt.type(q.zx)
            pre.append(lambda: np.subtract(x, zx, out=src, dtype=src.dtype))
        if not plan.exact:
            pre.append(lambda: acc.fill(0))
        body = plan.bind(src, wmat, sl["col"], acc)
        if q.mode == "hybrid":
            return no_fp_warnings(chain(*pre, *body, self._hybrid_epilogue(acc, out)))
        return chain(*pre, *body, self._quant_epilogue(acc, out, sl["a64"], sl["t64"]))

    def _float_steps(self, plan: Col2Im, x: np.ndarray, wmat: np.ndarray, col: np.ndarray, out: np.ndarray,
                     bias: np.ndarray | None) -> list[Step]:
        steps: list[Step] = []
        write = None
        if plan.exact:
            if bias is not None:
                def write(o: np.ndarray, c: np.ndarray) -> None:
                    np.add(c, bias, out=o)
        elif bias is not None:
            steps.append(lambda: np.copyto(out, bias))
        else:
            steps.append(lambda: out.fill(0))
        steps.extend(plan.bind(x, wmat, col, out, write))
        if self.clamp is not None:
            lo, hi = self.clamp
            steps.append(lambda: np.clip(out, lo, hi, out=out))
        return steps

    def _quant_epilogue(self, acc: np.ndarray, out: np.ndarray, a64: np.ndarray, t64: np.ndarray) -> Step:
        q = self.quant
        bias, zo, lo, hi, wrap, requant, mult64 = q.bias64, q.zo, q.lo, q.hi, q.wrap, q.requant, q.mult64

        def step() -> None:
            np.copyto(a64, acc, casting="unsafe")
            if bias is not None:
                np.add(a64, bias, out=a64)
            if requant is not None:
                if wrap:
                    wrap_int32(a64)
                requant(a64, t64)
            else:
                apply_int64_multiplier_into(a64, *mult64, wrap=True)
            np.add(a64, zo, out=a64)
            np.clip(a64, lo, hi, out=a64)
            np.copyto(out, a64, casting="unsafe")

        return step

    def _hybrid_quantize_step(self, x: np.ndarray, src: np.ndarray, qtmp: np.ndarray) -> Step:
        """Per batch image: TFLite's asymmetric on-the-fly quantization into ``src`` (``q - zero_point``
        values; through a float32 buffer when ``src`` is float64) and the scaling factors ``self.sf``."""
        n = x.shape[0]
        self.sf = sf = np.ones(n, np.float32)
        direct = src.dtype == np.float32
        buf = None if direct else np.empty(src.shape[1:], np.float32)
        rows = [(x[i], src[i]) for i in range(n)]

        def step() -> None:
            for i, (xi, si) in enumerate(rows):
                sf[i], _ = quantize_image_(xi, si if direct else buf, qtmp, True)
                if not direct:
                    np.copyto(si, buf)

        return step

    def _hybrid_epilogue(self, acc: np.ndarray, out: np.ndarray) -> Step:
        q = self.quant
        pcs, bias, clamp = q.pcs, q.bias32, self.clamp
        n = out.shape[0]

        def step() -> None:
            sf = self.sf
            np.multiply(acc, pcs, out=out, casting="unsafe")
            for i in range(n):
                np.multiply(out[i], sf[i], out=out[i])
            if bias is not None:
                np.add(out, bias, out=out)
            np.clip(out, clamp[0], clamp[1], out=out)

        return step

    def _dynamic_step(self, inputs: list[np.ndarray | None], holder: DynamicOutput) -> Step:
        """The output size is read at every invoke; a new size builds a new plan (and buffers)."""
        shape_in = inputs[self.SHAPE]
        where = f"{self.op_name} (node {self.node.index})"
        cache: dict[str, Any] = {"key": None}

        def fail(msg: str) -> None:
            raise RuntimeError(f"{where}: {msg}")

        def step() -> None:
            key = tuple(int(v) for v in shape_in.reshape(-1))
            cur = holder.value
            if key != cache["key"] or cache["dst"] is not cur:
                if key != cache["key"]:
                    g = self._geometry(key, fail)
                    plan = Col2Im(g, self.cdt)
                    cache.update(key=key, plan=plan,
                                 sl={n: np.empty(s, d) for n, (s, d) in self._scratch_specs(plan).items()})
                plan = cache["plan"]
                ok = (cur.shape == plan.g.out_shape and cur.dtype == self.out_t and cur.flags.writeable
                      and cur.flags.c_contiguous)
                dst = cur if ok else np.empty(plan.g.out_shape, self.out_t)
                cache.update(dst=dst, run=self._bind_plan(plan, inputs, dst, cache["sl"]))
            cache["run"]()
            if cache["dst"] is not holder.value:
                holder.set(cache["dst"])

        return step


class OhwiTransposeConvBase(TransposeConvBase):
    """A 2-D transposed convolution whose filter is ``[Cout, KH, KW, Cin]`` (TFLite's
    TRANSPOSE_CONV and MediaPipe's Convolution2DTransposeBias)."""

    def filter_layout(self, shape: tuple[int, ...]) -> tuple[int, tuple[int, ...], int]:
        cout, kh, kw, cin = shape
        return cout, (kh, kw), cin

    def filter_view(self, w: np.ndarray) -> np.ndarray:
        cout, kh, kw, cin = w.shape
        return w.reshape(cout, kh * kw, cin).transpose(2, 1, 0)

