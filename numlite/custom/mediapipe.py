"""MediaPipe's custom TFLite ops (``mediapipe/util/tflite/operations/*.cc``) on NumPy.

MediaPipe's models (face landmark with attention, selfie / hair segmentation, ...) use ops that
LiteRT does not ship.  Enable them for every ``Interpreter`` with one call::

    from numlite.custom import mediapipe
    mediapipe.register()

or give them to one interpreter: ``Interpreter(model_path, custom_ops=mediapipe.OPS)``.

The ops and where their attributes come from:

1. ``MaxPoolingWithArgmax2D`` (v1) and ``MaxUnpooling2D`` (v1): ``custom_options`` is the raw C
   struct ``TfLitePoolParams`` (little-endian int32 ``padding`` (1 SAME, 2 VALID), ``stride_width``,
   ``stride_height``, ``filter_width``, ``filter_height``, ``activation``; the 16 bytes of
   ``computed`` padding that may follow are ignored).  At least 24 bytes, else an error.
2. ``TransformLandmarks`` (v1, v2), ``TransformTensorBilinear`` (v1, v2) and
   ``Landmarks2TransformMatrix`` (v1, v2): ``custom_options`` is a FlexBuffers map (decoded by
   ``PrepareContext.custom_options``); the kernel follows the node's op-code version.  MediaPipe's
   CPU resolver registers only v2 of these three; v1 follows the v1 code in the same sources.
3. ``Convolution2DTransposeBias`` (v1) comes from ``numlite.custom._mediapipe_conv``.

Every op takes and returns float32.  Where MediaPipe's C++ would read or write outside a tensor
(a landmark index past the end, a matrix with fewer than 8 values, a batch other than the first),
numlite either refuses the model at ``allocate_tensors`` with the op and node named, or computes the
defined result each kernel's docstring states.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops.base import (
    PADDING_SAME,
    PADDING_VALID,
    Kernel,
    PrepareContext,
    Step,
    conv_padding,
    no_fp_warnings,
)
from ..ops.registry import register_op

__all__ = ["PoolParams", "parse_pool_params", "MaxPoolingWithArgmax2D", "MaxUnpooling2D", "TransformLandmarks",
           "TransformTensorBilinear", "Landmarks2TransformMatrix", "OPS", "register"]

F32 = np.float32
LOWEST = np.finfo(np.float32).min  # std::numeric_limits<float>::lowest()
_TFL_PADDING = {1: PADDING_SAME, 2: PADDING_VALID}  # TfLitePadding -> numlite.ops.base
_ACT_RANGE = {1: (0.0, np.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}  # TfLiteFusedActivation -> float clamp
#: the transform matrix inputs are read as their first two rows: 8 floats
MATRIX_VALUES = 8


# --- options ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolParams:
    padding: int  # TfLitePadding: 1 SAME, 2 VALID
    stride_w: int
    stride_h: int
    filter_w: int
    filter_h: int
    activation: int


def parse_pool_params(raw: Any) -> PoolParams:
    """``TfLitePoolParams`` from raw ``custom_options`` bytes (see the module docstring).

    Fails (ValueError) on fewer than 24 bytes and on strides or filter sizes below 1."""
    data = b"" if raw is None else bytes(raw)
    if len(data) < 24:
        raise ValueError(f"custom_options must hold a TfLitePoolParams struct (at least 24 bytes: padding, "
                         f"stride_width, stride_height, filter_width, filter_height, activation), got {len(data)}")
    p = PoolParams(*struct.unpack_from("<6i", data))
    for name in ("stride_w", "stride_h", "filter_w", "filter_h"):
        if getattr(p, name) < 1:
            raise ValueError(f"{name.replace('_w', '_width').replace('_h', '_height')} must be at least 1, "
                             f"got {getattr(p, name)}")
    return p


def _pool_params(ctx: PrepareContext) -> PoolParams:
    try:
        return parse_pool_params(ctx.node.custom_options)
    except ValueError as e:
        ctx.fail(str(e))
        raise  # unreachable: ctx.fail raises


def _opt_number(ctx: PrepareContext, opts: dict[str, Any], key: str, default: float, integer: bool) -> Any:
    """A FlexBuffers scalar as FlexBuffers' AsInt32 / AsFloat read it (absent: ``default``)."""
    v = opts.get(key, default)
    if isinstance(v, bool):
        v = int(v)
    if not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v) and integer):
        ctx.fail(f"custom option '{key}' must be a number, got {v!r}")
    if integer:
        v = int(v)
        if not -2**31 <= v < 2**31:
            ctx.fail(f"custom option '{key}' = {v} does not fit int32")
        return v
    return float(F32(v))


def _opt_ints(ctx: PrepareContext, opts: dict[str, Any], key: str) -> list[int]:
    v = opts.get(key, [])
    if not isinstance(v, list) or not all(isinstance(e, (int, float)) and math.isfinite(e) for e in v):
        ctx.fail(f"custom option '{key}' must be a vector of integers, got {v!r}")
    return [int(e) for e in v]


def _version(ctx: PrepareContext, supported: tuple[int, ...]) -> int:
    v = int(ctx.node.version)
    if v not in supported:
        ctx.fail(f"version {v} is not supported (numlite supports versions {list(supported)})")
    return v


def _expect_outputs(ctx: PrepareContext, n: int) -> None:
    if len(ctx.outputs) != n:
        ctx.fail(f"expects {n} output{'s' if n > 1 else ''}, got {len(ctx.outputs)}")
    for o in ctx.outputs:
        if o.dtype is not None and np.dtype(o.dtype) != np.float32:
            ctx.fail(f"output {o.describe()} must be float32")


def _matrix_input(ctx: PrepareContext, i: int) -> None:
    m = ctx.input(i)
    ctx.expect_dtype(m, [np.float32], "transform matrix")
    if m.size < MATRIX_VALUES:
        ctx.fail(f"transform matrix {m.describe()} must hold at least {MATRIX_VALUES} values (two rows of a 4x4 "
                 "matrix)")


# --- MaxPoolingWithArgmax2D ------------------------------------------------------------------
class MaxPoolingWithArgmax2D(Kernel):
    """Max pooling that also returns where each maximum was (MediaPipe's ``max_pool_argmax.cc``).

    1. Input float32 NHWC; outputs (values, indices), both float32 of shape (N, OH, OW, C) with
       OH, OW and the padding of TFLite's MAX_POOL_2D (SAME / VALID; a VALID window larger than
       the input gives an empty output).
    2. Each window scans its cells inside the input row by row, keeping the first strictly
       greater value, starting from float32's lowest value at window cell (0, 0): NaN never wins,
       and a window with no cell above ``lowest`` keeps ``lowest`` and index 0.
    3. The index is ``ky * filter_width + kx + 0.1`` (float32), relative to the window's origin,
       padding included; the +0.1 lets a consumer truncate it back to the integer.
    4. The fused activation (RELU, RELU_N1_TO_1, RELU6; any other value: none) clamps the values.
    """

    def prepare(self, ctx: PrepareContext) -> None:
        _version(ctx, (1,))
        ctx.expect_inputs(1)
        _expect_outputs(ctx, 2)
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.float32])
        ctx.expect_rank(x, 4)
        p = _pool_params(ctx)
        if p.padding not in _TFL_PADDING:
            ctx.fail(f"padding {p.padding} is not SAME (1) or VALID (2)")
        n, h, w, c = x.shape
        oh, pad_h, _ = conv_padding(h, p.filter_h, p.stride_h, 1, _TFL_PADDING[p.padding])
        ow, pad_w, _ = conv_padding(w, p.filter_w, p.stride_w, 1, _TFL_PADDING[p.padding])
        ctx.set_output(0, (n, oh, ow, c), F32)
        ctx.set_output(1, (n, oh, ow, c), F32)
        self.clamp = _ACT_RANGE.get(p.activation)
        self.plan: list[tuple[slice, slice, slice, slice, np.float32]] = []
        if n * oh * ow * c:
            ys = _window_slices(h, oh, p.stride_h, pad_h, p.filter_h)
            xs = _window_slices(w, ow, p.stride_w, pad_w, p.filter_w)
            for ky, iy, oy in ys:
                for kx, ix, ox in xs:
                    self.plan.append((iy, ix, oy, ox, F32(ky * p.filter_w + kx) + F32(0.1)))
        self.mask_slot = ctx.scratch((n, oh, ow, c), np.bool_)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, (out, idx), mask = inputs[0], outputs, scratch[self.mask_slot]
        plan, clamp, first = self.plan, self.clamp, F32(0.1)
        views = [(x[:, iy, ix, :], out[:, oy, ox, :], idx[:, oy, ox, :], mask[:, oy, ox, :], v)
                 for iy, ix, oy, ox, v in plan]

        def step() -> None:
            out.fill(LOWEST)
            idx.fill(first)
            for cur, best, where, m, v in views:
                np.greater(cur, best, out=m)
                np.copyto(best, cur, where=m)
                np.copyto(where, v, where=m)
            if clamp is not None:
                np.clip(out, F32(clamp[0]), F32(clamp[1]), out=out)

        return no_fp_warnings(step)


def _window_slices(size: int, out_size: int, stride: int, pad: int, filt: int) -> list[tuple[int, slice, slice]]:
    """For each window offset k that reaches the input: (k, input slice, output slice), the
    outputs ``o`` with ``0 <= o * stride - pad + k < size``.  Offsets that never reach the input
    only ever see padding, which cannot win, so at most ``size + out_size * stride`` offsets remain
    however large the filter is."""
    res = []
    k_lo = max(0, pad - (out_size - 1) * stride)
    k_hi = min(filt, size + pad)
    for k in range(k_lo, k_hi):
        o0 = max(0, -((k - pad) // stride))  # ceil((pad - k) / stride)
        o1 = min(out_size, (size - 1 + pad - k) // stride + 1)
        if o0 >= o1:
            continue
        i0 = o0 * stride - pad + k
        res.append((k, slice(i0, i0 + (o1 - o0 - 1) * stride + 1, stride), slice(o0, o1)))
    return res


# --- MaxUnpooling2D --------------------------------------------------------------------------
class MaxUnpooling2D(Kernel):
    """Scatters pooled values back to the cells their indices name (MediaPipe's ``max_unpooling.cc``).

    1. Inputs: values and indices, float32 NHWC of one shape; output float32
       (N, H * filter_height, W * filter_width, C), zero where nothing lands.  The padding type and
       activation are not used.
    2. Padding: ``pad = max(((H - 1) * stride + filter - H * filter) // 2, 0)`` per axis (TFLite's
       ComputePadding with the output as the "input").
    3. Each index is truncated to an integer ``i``; ``kx = i % filter_width``, ``ky = i //
       filter_width`` with C's truncating division; the value goes to
       ``(y * stride_h - pad_h + ky, x * stride_w - pad_w + kx)``.
    4. Defined where MediaPipe writes out of bounds: an index that is NaN, infinite, beyond int32 or
       lands outside the output is dropped.  Two values for one cell: the later one (in NHWC order)
       wins, as in MediaPipe's loop.
    """

    def prepare(self, ctx: PrepareContext) -> None:
        _version(ctx, (1,))
        ctx.expect_inputs(2)
        _expect_outputs(ctx, 1)
        x, ind = ctx.input(0), ctx.input(1)
        for spec, role in ((x, "values"), (ind, "indices")):
            ctx.expect_dtype(spec, [np.float32], role)
            ctx.expect_rank(spec, 4, role)
        if x.shape != ind.shape:
            ctx.fail(f"indices {ind.describe()} must have the shape of values {x.describe()}")
        p = _pool_params(ctx)
        n, h, w, c = x.shape
        oh, ow = h * p.filter_h, w * p.filter_w
        ctx.set_output(0, (n, oh, ow, c), F32)
        pad_h = max(((h - 1) * p.stride_h + p.filter_h - oh) // 2, 0)
        pad_w = max(((w - 1) * p.stride_w + p.filter_w - ow) // 2, 0)
        self.fw, self.oh, self.ow = p.filter_w, oh, ow
        self.base_y = (np.arange(h, dtype=np.int64) * p.stride_h - pad_h).reshape(1, h, 1, 1)
        self.base_x = (np.arange(w, dtype=np.int64) * p.stride_w - pad_w).reshape(1, 1, w, 1)
        # flat output offset of (batch, channel): b * OH * OW * C + c
        self.base_bc = (np.arange(n, dtype=np.int64).reshape(n, 1, 1, 1) * (oh * ow * c)
                        + np.arange(c, dtype=np.int64).reshape(1, 1, 1, c))
        self.c = c
        self.win_slot = ctx.scratch((n * oh * ow * c,), np.int64)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, ind, out, win = inputs[0], inputs[1], outputs[0], scratch[self.win_slot]
        fw, oh, ow, c = self.fw, self.oh, self.ow, self.c
        by, bx, bbc = self.base_y, self.base_x, self.base_bc
        flat_out = out.reshape(-1)
        flat_x = x.reshape(-1)

        def step() -> None:
            out.fill(0.0)
            if not flat_x.size:
                return
            ok = np.isfinite(ind) & (np.abs(ind) < 2.0**31)
            i = np.trunc(np.where(ok, ind, ind.dtype.type(0))).astype(np.int64)
            kx = np.fmod(i, fw)  # C's remainder: the sign of the dividend
            ky = (i - kx) // fw
            oy = by + ky
            ox = bx + kx
            ok &= (oy >= 0) & (oy < oh) & (ox >= 0) & (ox < ow)
            target = (bbc + (oy * ow + ox) * c)[ok]
            pos = np.flatnonzero(ok)
            win.fill(-1)
            np.maximum.at(win, target, pos)  # the last writer in NHWC order wins
            won = win[target] == pos
            flat_out[target[won]] = flat_x[pos[won]]

        return step


# --- TransformLandmarks ----------------------------------------------------------------------
class TransformLandmarks(Kernel):
    """Maps landmarks through a 4x4 matrix's first two rows (MediaPipe's ``transform_landmarks.cc``).

    1. v1: input float32 rank 4 (N, H, W, C), ``C`` a multiple of ``dimensions``; options
       ``dimensions`` (2 or 3, default 3) and ``scale`` (non-zero, default 1).
       v2: input float32 rank 3 (N, L, D), ``D`` = ``dimensions`` (2 or 3); no options, scale 1.
    2. Matrix input: float32, at least 8 values, read as rows ``a = m[0:4]``, ``b = m[4:8]``.
    3. Each landmark ``(x, y[, z])`` becomes ``x' = a0 x + a1 y + a2 * 0 + a3 * scale``,
       ``y' = b0 x + b1 y + b2 * 0 + b3 * scale`` (float32, summed left to right as MediaPipe's dot
       product), ``z`` unchanged.  Output: the input's shape.
    4. MediaPipe's CPU kernel transforms only the first row (v2) / first batch item (v1) and leaves
       the rest unwritten; numlite transforms every landmark.
    """

    def prepare(self, ctx: PrepareContext) -> None:
        v = _version(ctx, (1, 2))
        ctx.expect_inputs(2)
        _expect_outputs(ctx, 1)
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.float32], "landmarks")
        _matrix_input(ctx, 1)
        if v == 1:
            ctx.expect_rank(x, 4, "landmarks")
            opts = ctx.custom_options()
            dims = _opt_number(ctx, opts, "dimensions", 3, integer=True)
            scale = _opt_number(ctx, opts, "scale", 1.0, integer=False)
            if dims not in (2, 3):
                ctx.fail(f"custom option 'dimensions' must be 2 or 3, got {dims}")
            if scale == 0:
                ctx.fail("custom option 'scale' must not be 0")
            if x.shape[3] % dims:
                ctx.fail(f"landmarks {x.describe()}: the last dimension is not a multiple of dimensions={dims}")
        else:
            ctx.expect_rank(x, 3, "landmarks")
            dims, scale = x.shape[2], 1.0
            if dims not in (2, 3):
                ctx.fail(f"landmarks {x.describe()} must have 2 or 3 values per landmark (the last dimension)")
        self.dims, self.scale = dims, F32(scale)
        ctx.set_output(0, x.shape, F32)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        d, scale = self.dims, self.scale
        pts, mat, out = inputs[0].reshape(-1, d), inputs[1].reshape(-1), outputs[0].reshape(-1, d)
        px, py, ox, oy = pts[:, 0], pts[:, 1], out[:, 0], out[:, 1]
        zero = F32(0.0)

        def row(r: np.ndarray, dst: np.ndarray) -> None:
            np.multiply(px, r[0], out=dst)
            dst += py * r[1]
            dst += r[2] * zero
            dst += r[3] * scale

        def step() -> None:
            if d == 3:
                out[:, 2] = pts[:, 2]
            row(mat[0:4], ox)
            row(mat[4:8], oy)

        return no_fp_warnings(step)


# --- TransformTensorBilinear -----------------------------------------------------------------
#: values (output pixels x batch x channels) TransformTensorBilinear samples per block
BILINEAR_BLOCK_VALUES = 1 << 18


class TransformTensorBilinear(Kernel):
    """Samples a feature map through an affine matrix (MediaPipe's ``transform_tensor_bilinear.cc``).

    1. Inputs: data float32 NHWC, matrix float32 (at least 8 values; rows ``a = m[0:4]``,
       ``b = m[4:8]``).  Output float32 (N, output_height, output_width, C): the sizes from the
       FlexBuffers options ``output_height`` / ``output_width`` when present (as MediaPipe's GPU
       parser), else the model's declared output shape (as its CPU kernel).
    2. v2 aligns pixel centres first: ``a3 += a0 / 2 + a1 / 2 - 1/2`` and likewise ``b3``
       (in double, then float32).  v1 uses the matrix as given.
    3. Output pixel (x, y) samples at ``tx = a0 x + a1 y + a2 * 0 + a3``, ``ty = b0 x + b1 y + ...``
       (float32).  Outside ``[0, W-1] x [0, H-1]``: 0.  Inside: bilinear between
       ``floor`` and ``floor + 1`` (a neighbour past the edge counts 0), mixing in double and
       float as MediaPipe does.  NaN coordinates give NaN.
    4. MediaPipe's CPU kernel fills only the first batch item; numlite samples every batch item
       with the same matrix.
    """

    def prepare(self, ctx: PrepareContext) -> None:
        v = _version(ctx, (1, 2))
        ctx.expect_inputs(2)
        _expect_outputs(ctx, 1)
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.float32], "data")
        ctx.expect_rank(x, 4, "data")
        _matrix_input(ctx, 1)
        opts = ctx.custom_options()
        declared = ctx.outputs[0].shape
        if "output_height" in opts or "output_width" in opts:
            oh = _opt_number(ctx, opts, "output_height", 0, integer=True)
            ow = _opt_number(ctx, opts, "output_width", 0, integer=True)
        elif len(declared) == 4:
            oh, ow = declared[1], declared[2]
        else:
            ctx.fail(f"no output_height / output_width options and output {ctx.outputs[0].describe()} is not rank 4")
        if oh < 0 or ow < 0:
            ctx.fail(f"output size {oh}x{ow} is negative")
        n, h, w, c = x.shape
        self.align = v == 2
        self.h, self.w = h, w
        ctx.set_output(0, (n, oh, ow, c), F32)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        data, mat, out = inputs[0], inputs[1].reshape(-1), outputs[0]
        n, oh, ow, c = out.shape
        h, w, align = self.h, self.w, self.align
        flat = data.reshape(n, h * w, c)
        res = out.reshape(n, oh * ow, c)
        zero = F32(0.0)
        # output pixels per block: the temporaries (a few dozen bytes per value) stay bounded
        # whatever the output size (options may ask for millions of pixels)
        block = max(1, BILINEAR_BLOCK_VALUES // max(n * c, 1))

        def row(r: np.ndarray) -> np.ndarray:
            r = r.astype(F32)
            if align:
                r[3] = F32(np.float64(r[3]) + (np.float64(r[0]) * 0.5 + np.float64(r[1]) * 0.5 - 0.5))
            return r

        def sample(a: np.ndarray, b: np.ndarray, start: int, stop: int) -> None:
            idx = np.arange(start, stop)
            gx, gy = (idx % ow).astype(F32), (idx // ow).astype(F32)
            tx = gx * a[0] + gy * a[1] + a[2] * zero + a[3]
            ty = gx * b[0] + gy * b[1] + b[2] * zero + b[3]
            nan = np.isnan(tx) | np.isnan(ty)
            inside = ~((tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1))
            fx, fy = np.floor(tx), np.floor(ty)
            x0 = np.where(inside & ~nan, fx, fx.dtype.type(0)).astype(np.int64)
            y0 = np.where(inside & ~nan, fy, fy.dtype.type(0)).astype(np.int64)
            rc, lc = tx - fx, ty - fy  # float32 fractions

            def read(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
                ok = inside & ~nan & (yy < h) & (xx < w)
                vals = flat[:, np.where(ok, yy * w + xx, 0), :]
                vals[:, ~ok, :] = 0
                return vals

            q11, q21 = read(y0, x0), read(y0, x0 + 1)
            q12, q22 = read(y0 + 1, x0), read(y0 + 1, x0 + 1)
            rcx, lcx = rc[None, :, None], lc[None, :, None]
            rcd, lcd = rcx.astype(np.float64), lcx.astype(np.float64)
            upper = ((1.0 - rcd) * q11 + (rcx * q21)).astype(F32)
            lower = ((1.0 - rcd) * q12 + (rcx * q22)).astype(F32)
            val = ((lcx * lower).astype(np.float64) + (1.0 - lcd) * upper).astype(F32)
            val[:, ~inside, :] = 0
            val[:, nan, :] = np.nan
            res[:, start:stop, :] = val

        def step() -> None:
            if not out.size:
                return
            a, b = row(mat[0:4]), row(mat[4:8])
            for start in range(0, oh * ow, block):
                sample(a, b, start, min(start + block, oh * ow))

        return no_fp_warnings(step)


# --- Landmarks2TransformMatrix ---------------------------------------------------------------
class Landmarks2TransformMatrix(Kernel):
    """The matrix that maps a crop around chosen landmarks back to the image
    (MediaPipe's ``landmarks_to_transform_matrix.cc``); output float32 (1, 4, 4), row-major.

    v2 (input float32 rank 3, landmarks as (x, y, z) triples; FlexBuffers options
    ``subset_idxs``, ``left_rotation_idx``, ``right_rotation_idx``, ``target_rotation_radians``,
    ``output_height``, ``output_width``, ``scale_x``, ``scale_y``):

    1. ``r = target - atan2(yR - yL, xR - xL)`` from the left / right rotation landmarks.
    2. Rotate the subset landmarks by ``r``; their bounding box gives the crop size (w, h) and
       centre, rotated back by ``-r`` to (cx, cy).  The box starts at the first subset landmark
       and grows with each later one (NaN coordinates there are skipped).
    3. ``T = shift(cx, cy) @ rot(-r) @ diag(scale_x * w / output_width, scale_y * h /
       output_height) @ shift(-output_width / 2, -output_height / 2)``.

    v1 (input float32 rank 4 of shape (1, 1, 1, 3 L); options ``input_hw``, ``output_hw``,
    ``dimensions`` (must be 3), ``landmarks_range``, ``bbox_size_multiplier``,
    ``left_rotation_idx``, ``right_rotation_idx``, ``subset``):

    4. ``alpha = -atan((yR - yL) / (xR - xL))``; the subset rotated by ``alpha`` spans
       [min, max] (starting from max = -100000, min = 100000; NaN skipped), box =
       (max - min) * bbox_size_multiplier, middle = (max + min) / 2 rotated by ``-alpha``.
    5. ``M = to_absolute(input_hw) @ [[R(-alpha), middle / range * 2 - 1]] @ diag(box / range) @
       to_relative(output_hw)``, a 3x3 matrix placed in the 4x4 output as MediaPipe does:
       ``[[m00, m01, 0, m02], [m10, m11, 0, m12], [m20, m21, m22, 0], [0, 0, 0, 1]]``.

    6. Options are checked as MediaPipe checks them (positive sizes and scales, non-negative
       indices, non-empty subset); numlite also refuses an index past the last landmark, which
       MediaPipe would read out of bounds.  Computed in float64 and rounded to float32 at the end;
       MediaPipe computes in float32, so the last bits may differ.
    """

    def prepare(self, ctx: PrepareContext) -> None:
        v = _version(ctx, (1, 2))
        ctx.expect_inputs(1)
        _expect_outputs(ctx, 1)
        x = ctx.input(0)
        ctx.expect_dtype(x, [np.float32], "landmarks")
        opts = ctx.custom_options()
        num = lambda k: _opt_number(ctx, opts, k, 0, integer=True)  # noqa: E731
        real = lambda k: _opt_number(ctx, opts, k, 0.0, integer=False)  # noqa: E731
        self.left, self.right = num("left_rotation_idx"), num("right_rotation_idx")
        if v == 2:
            ctx.expect_rank(x, 3, "landmarks")
            self.subset = _opt_ints(ctx, opts, "subset_idxs")
            self.target = real("target_rotation_radians")
            self.out_h, self.out_w = num("output_height"), num("output_width")
            self.scale_x, self.scale_y = real("scale_x"), real("scale_y")
            for key in ("output_height", "output_width", "scale_x", "scale_y"):
                if not _opt_number(ctx, opts, key, 0.0, integer=False) > 0:
                    ctx.fail(f"custom option '{key}' must be positive, got {opts.get(key)!r}")
            reads = 3
        else:
            ctx.expect_rank(x, 4, "landmarks")
            if x.shape[:3] != (1, 1, 1):
                ctx.fail(f"landmarks {x.describe()} must have shape (1, 1, 1, 3 * landmarks)")
            self.subset = _opt_ints(ctx, opts, "subset")
            in_hw, out_hw = _opt_ints(ctx, opts, "input_hw"), _opt_ints(ctx, opts, "output_hw")
            if len(in_hw) < 2 or len(out_hw) < 2 or min(in_hw[:2] + out_hw[:2]) <= 0:
                ctx.fail(f"custom options input_hw {in_hw} and output_hw {out_hw} must be two positive sizes each")
            self.in_hw, self.out_hw = in_hw[:2], out_hw[:2]
            if num("dimensions") != 3:
                ctx.fail(f"custom option 'dimensions' must be 3, got {opts.get('dimensions')!r}")
            self.range = num("landmarks_range")
            if self.range <= 0:
                ctx.fail(f"custom option 'landmarks_range' must be positive, got {self.range}")
            self.mult = real("bbox_size_multiplier")
            if self.mult == 0:
                ctx.fail("custom option 'bbox_size_multiplier' must not be 0")
            reads = 2
        if not self.subset:
            ctx.fail("the landmark subset option is empty")
        count = x.size // 3 if reads == 3 else (x.size - 2) // 3 + 1 if x.size >= 2 else 0
        for name, idx in (("left_rotation_idx", [self.left]), ("right_rotation_idx", [self.right]),
                          ("subset", self.subset)):
            bad = [i for i in idx if not 0 <= i < count]
            if bad:
                ctx.fail(f"{name} {bad[0]} is outside landmarks {x.describe()} ({count} landmarks)")
        self.v = v
        ctx.set_output(0, (1, 4, 4), F32)

    def bind(self, inputs: list[Any], outputs: list[Any], scratch: list[np.ndarray]) -> Step:
        x, out = inputs[0].reshape(-1), outputs[0].reshape(4, 4)
        fn = self._v2 if self.v == 2 else self._v1
        return no_fp_warnings(lambda: np.copyto(out, fn(x).astype(F32)))

    def _xy(self, x: np.ndarray, idx: Any) -> tuple[np.ndarray, np.ndarray]:
        i = np.asarray(idx, np.int64) * 3
        return x[i].astype(np.float64), x[i + 1].astype(np.float64)

    def _v2(self, x: np.ndarray) -> np.ndarray:
        (lx, ly), (rx, ry) = self._xy(x, self.left), self._xy(x, self.right)
        r = self.target - math.atan2(ry - ly, rx - lx)
        px, py = self._xy(x, self.subset)
        cr, sr = math.cos(r), math.sin(r)
        qx, qy = cr * px - sr * py, sr * px + cr * py
        lo_x, hi_x, lo_y, hi_y = _box_from_first(qx), _box_from_first(qx, hi=True), \
            _box_from_first(qy), _box_from_first(qy, hi=True)
        w, h = hi_x - lo_x, hi_y - lo_y
        mx, my = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
        cx, cy = cr * mx + sr * my, -sr * mx + cr * my  # rotation by -r
        t = _shift(cx, cy) @ _rot(-r) @ np.diag([self.scale_x * w / self.out_w, self.scale_y * h / self.out_h,
                                                 1.0, 1.0]) @ _shift(-self.out_w / 2.0, -self.out_h / 2.0)
        return t

    def _v1(self, x: np.ndarray) -> np.ndarray:
        (lx, ly), (rx, ry) = self._xy(x, self.left), self._xy(x, self.right)
        alpha = -np.arctan((ry - ly) / (rx - lx))
        ca, sa = np.cos(alpha), np.sin(alpha)
        px, py = self._xy(x, self.subset)
        qx, qy = px * ca - py * sa, px * sa + py * ca
        hi_x, hi_y = np.fmax.reduce(qx, initial=-100000.0), np.fmax.reduce(qy, initial=-100000.0)
        lo_x, lo_y = np.fmin.reduce(qx, initial=100000.0), np.fmin.reduce(qy, initial=100000.0)
        rng, (ih, iw), (oh, ow) = float(self.range), self.in_hw, self.out_hw
        bx, by = (hi_x - lo_x) * self.mult, (hi_y - lo_y) * self.mult
        mx, my = (hi_x + lo_x) / 2.0, (hi_y + lo_y) / 2.0
        rmx, rmy = mx * ca + my * sa, -mx * sa + my * ca  # rotation by -alpha
        scale = np.diag([bx / rng, by / rng, 1.0])
        rotation = np.array([[ca, sa, rmx / rng * 2.0 - 1.0], [-sa, ca, rmy / rng * 2.0 - 1.0], [0.0, 0.0, 1.0]])
        to_rel = np.array([[2.0 / (ow - 1.0), 0.0, -1.0], [0.0, 2.0 / (oh - 1.0), -1.0], [0.0, 0.0, 1.0]])
        to_abs = np.array([[(iw - 1.0) / 2.0, 0.0, (iw - 1.0) / 2.0], [0.0, (ih - 1.0) / 2.0, (ih - 1.0) / 2.0],
                           [0.0, 0.0, 1.0]])
        m = ((to_abs @ rotation) @ scale) @ to_rel
        return np.array([[m[0, 0], m[0, 1], 0.0, m[0, 2]], [m[1, 0], m[1, 1], 0.0, m[1, 2]],
                         [m[2, 0], m[2, 1], m[2, 2], 0.0], [0.0, 0.0, 0.0, 1.0]])


def _box_from_first(v: np.ndarray, hi: bool = False) -> float:
    """MediaPipe v2's running bound: start at v[0], replace when a later value is strictly beyond
    (so later NaNs are skipped, a NaN first value stays)."""
    if np.isnan(v[0]):
        return float("nan")
    return float((np.fmax if hi else np.fmin).reduce(v))


def _shift(x: float, y: float) -> np.ndarray:
    t = np.eye(4)
    t[0, 3], t[1, 3] = x, y
    return t


def _rot(a: float) -> np.ndarray:
    t = np.eye(4)
    c, s = math.cos(a), math.sin(a)
    t[:2, :2] = [[c, -s], [s, c]]
    return t


OPS: dict[str, type[Kernel]] = {
    "MaxPoolingWithArgmax2D": MaxPoolingWithArgmax2D,
    "MaxUnpooling2D": MaxUnpooling2D,
    "TransformLandmarks": TransformLandmarks,
    "TransformTensorBilinear": TransformTensorBilinear,
    "Landmarks2TransformMatrix": Landmarks2TransformMatrix,
}

try:  # written alongside this module; the op is simply absent until it exists
    from ._mediapipe_conv import Convolution2DTransposeBias  # noqa: E402

    OPS["Convolution2DTransposeBias"] = Convolution2DTransposeBias
    __all__.append("Convolution2DTransposeBias")
except ImportError:  # pragma: no cover - depends on the checkout
    pass


def register() -> None:
    """Register MediaPipe's custom ops for every ``Interpreter`` (idempotent)."""
    for name, cls in OPS.items():
        register_op(name, cls)
