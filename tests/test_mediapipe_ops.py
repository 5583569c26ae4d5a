"""numlite.custom.mediapipe's kernels against independent NumPy formulations of MediaPipe's
published semantics (mediapipe/util/tflite/operations/*.cc).

LiteRT has none of these ops, so there is no LiteRT oracle: each reference below is written
from the C++ loops (scalar Python, one output element at a time) rather than from the kernels'
vectorised code.  Float tolerances: the pooling ops and TransformLandmarks only select or do the
same float32 operations in the same order, so they must match exactly; TransformTensorBilinear's
reference interpolates in float64 (MediaPipe mixes float and double), so 1e-5 relative; the
Landmarks2TransformMatrix references are float64 closed forms, the kernel rounds to float32:
1e-5 relative to the matrix's scale.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from flatbuffers import flexbuffers
from util import In, Out, run_numlite

from numlite.builder import ModelBuilder
from numlite.custom import mediapipe as mp
from numlite.ops import registry

LOWEST = float(np.finfo(np.float32).min)


def pool_opts(padding: int = 1, stride: tuple[int, int] = (2, 2), filt: tuple[int, int] = (2, 2),
              act: int = 0, extra: bool = True) -> bytes:
    """TfLitePoolParams: padding (1 SAME, 2 VALID), stride w, h, filter w, h, activation [, computed]."""
    raw = struct.pack("<6i", padding, stride[1], stride[0], filt[1], filt[0], act)
    return raw + bytes(16) if extra else raw


def flex(d: dict) -> bytes:
    return bytes(flexbuffers.Dumps(d))


def custom_model(name: str, inputs: list, outputs: list, options: bytes | None, version: int = 1) -> bytes:
    """One custom op; ``inputs``: In or np.ndarray (constant); ``outputs``: Out."""
    mb = ModelBuilder()
    idx = [mb.input(f"in{k}", s.shape, s.dtype) if isinstance(s, In) else mb.const(f"c{k}", np.asarray(s))
           for k, s in enumerate(inputs)]
    oidx = [mb.tensor(f"out{k}", o.shape, o.dtype) for k, o in enumerate(outputs)]
    mb.op(f"custom:{name}", idx, oidx, version=version, custom_options=options)
    mb.output(*oidx)
    return mb.build()


def run(name: str, feeds: list[np.ndarray], outputs: list, options: bytes | None, version: int = 1,
        consts: dict[int, np.ndarray] | None = None) -> list[np.ndarray]:
    consts = consts or {}
    ins, vals = [], []
    for k, f in enumerate(feeds):
        if k in consts:
            ins.append(consts[k])
        else:
            ins.append(In(f.shape, f.dtype))
            vals.append(f)
    model = custom_model(name, ins, outputs, options, version)
    return run_numlite(model, vals, custom_ops=mp.OPS)


# --- references ------------------------------------------------------------------------------
def _pad(in_size: int, filt: int, stride: int, same: bool) -> tuple[int, int]:
    out = (in_size + stride - 1) // stride if same else max((in_size - filt + stride) // stride, 0)
    pad = max(((out - 1) * stride + filt - in_size) // 2, 0)
    return out, pad


def ref_max_pool_argmax(x: np.ndarray, padding: int, stride: tuple[int, int], filt: tuple[int, int],
                        act: int) -> tuple[np.ndarray, np.ndarray]:
    n, h, w, c = x.shape
    (sh, sw), (fh, fw) = stride, filt
    oh, ph = _pad(h, fh, sh, padding == 1)
    ow, pw = _pad(w, fw, sw, padding == 1)
    lo, hi = {1: (0.0, math.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}.get(act, (-math.inf, math.inf))
    out = np.zeros((n, oh, ow, c), np.float32)
    idx = np.zeros((n, oh, ow, c), np.float32)
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    best, by, bx = LOWEST, 0, 0
                    for ky in range(fh):
                        for kx in range(fw):
                            iy, ix = oy * sh - ph + ky, ox * sw - pw + kx
                            if 0 <= iy < h and 0 <= ix < w and x[b, iy, ix, ch] > best:
                                best, by, bx = float(x[b, iy, ix, ch]), ky, kx
                    out[b, oy, ox, ch] = min(max(best, lo), hi)
                    idx[b, oy, ox, ch] = np.float32(by * fw + bx) + np.float32(0.1)
    return out, idx


def ref_unpool(x: np.ndarray, ind: np.ndarray, stride: tuple[int, int], filt: tuple[int, int]) -> np.ndarray:
    n, h, w, c = x.shape
    (sh, sw), (fh, fw) = stride, filt
    oh, ow = h * fh, w * fw
    ph = max(((h - 1) * sh + fh - oh) // 2, 0)
    pw = max(((w - 1) * sw + fw - ow) // 2, 0)
    out = np.zeros((n, oh, ow, c), np.float32)
    for b in range(n):
        for y in range(h):
            for xx in range(w):
                for ch in range(c):
                    v = float(ind[b, y, xx, ch])
                    if not math.isfinite(v) or abs(v) >= 2**31:
                        continue
                    i = int(v)  # C truncation
                    kx = int(math.fmod(i, fw))
                    ky = int((i - kx) / fw)
                    oy, ox = y * sh - ph + ky, xx * sw - pw + kx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[b, oy, ox, ch] = x[b, y, xx, ch]
    return out


def ref_transform_landmarks(pts: np.ndarray, m: np.ndarray, dims: int, scale: float) -> np.ndarray:
    flat = pts.reshape(-1, dims)
    m = m.reshape(-1).astype(np.float32)
    out = flat.copy()
    f = np.float32
    for i in range(flat.shape[0]):
        x, y = flat[i, 0], flat[i, 1]
        for r in range(2):
            a = m[4 * r: 4 * r + 4]
            out[i, r] = f(f(f(a[0] * x) + f(a[1] * y)) + f(a[2] * f(0))) + f(a[3] * f(scale))
    return out.reshape(pts.shape)


def ref_bilinear(data: np.ndarray, m: np.ndarray, oh: int, ow: int, align: bool) -> np.ndarray:
    n, h, w, c = data.shape
    m = m.reshape(-1).astype(np.float64)
    a, b = m[0:4].copy(), m[4:8].copy()
    if align:
        a[3] += a[0] * 0.5 + a[1] * 0.5 - 0.5
        b[3] += b[0] * 0.5 + b[1] * 0.5 - 0.5
    out = np.zeros((n, oh, ow, c), np.float32)
    for y in range(oh):
        for x in range(ow):
            tx, ty = a[0] * x + a[1] * y + a[3], b[0] * x + b[1] * y + b[3]
            if tx < 0 or tx > w - 1 or ty < 0 or ty > h - 1:
                continue
            x0, y0 = math.floor(tx), math.floor(ty)
            fx, fy = tx - x0, ty - y0

            def at(yy: int, xx: int) -> np.ndarray:
                return data[:, yy, xx, :].astype(np.float64) if yy < h and xx < w else np.zeros((n, c))

            top = (1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)
            bottom = (1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)
            out[:, y, x, :] = (1 - fy) * top + fy * bottom
    return out


def ref_l2tm_v2(lm: np.ndarray, subset: list[int], left: int, right: int, target: float, oh: int, ow: int,
                sx: float, sy: float) -> np.ndarray:
    """Closed form: the crop is a box of size (scale * extent) in the frame rotated by r; the matrix
    maps output pixel (u, v) to centre + R(-r) @ ((u - ow/2) * sx', (v - oh/2) * sy')."""
    p = lm.reshape(-1, 3).astype(np.float64)
    r = target - math.atan2(p[right, 1] - p[left, 1], p[right, 0] - p[left, 0])
    c, s = math.cos(r), math.sin(r)
    q = np.array([[c * p[i, 0] - s * p[i, 1], s * p[i, 0] + c * p[i, 1]] for i in subset])
    lo, hi = q.min(axis=0), q.max(axis=0)
    mid = (lo + hi) / 2
    centre = np.array([c * mid[0] + s * mid[1], -s * mid[0] + c * mid[1]])
    kx, ky = sx * (hi[0] - lo[0]) / ow, sy * (hi[1] - lo[1]) / oh
    rot = np.array([[c, s], [-s, c]])  # R(-r)
    lin = rot @ np.diag([kx, ky])
    t = np.eye(4)
    t[:2, :2] = lin
    t[:2, 3] = centre - lin @ np.array([ow / 2, oh / 2])
    return t


def ref_l2tm_v1(lm: np.ndarray, subset: list[int], left: int, right: int, in_hw: list[int], out_hw: list[int],
                rng: int, mult: float) -> np.ndarray:
    """Written as the mapping of output pixel (u, v): to [-1, 1] of the output, scaled by the box,
    rotated and shifted to the box centre (still in [-1, 1] of ``landmarks_range``), to input pixels."""
    p = lm.reshape(-1, 3).astype(np.float64)
    alpha = -math.atan((p[right, 1] - p[left, 1]) / (p[right, 0] - p[left, 0]))
    c, s = math.cos(alpha), math.sin(alpha)
    q = np.array([[p[i, 0] * c - p[i, 1] * s, p[i, 0] * s + p[i, 1] * c] for i in subset])
    hi = np.maximum(q.max(axis=0), -100000.0)
    lo = np.minimum(q.min(axis=0), 100000.0)
    box, mid = (hi - lo) * mult, (hi + lo) / 2
    centre = np.array([mid[0] * c + mid[1] * s, -mid[0] * s + mid[1] * c]) / rng * 2 - 1
    (ih, iw), (oh, ow) = in_hw, out_hw

    def f(u: float, v: float) -> np.ndarray:
        rel = np.array([2 * u / (ow - 1) - 1, 2 * v / (oh - 1) - 1]) * box / rng
        g = np.array([[c, s], [-s, c]]) @ rel + centre
        return np.array([(g[0] + 1) * (iw - 1) / 2, (g[1] + 1) * (ih - 1) / 2])

    o, ex, ey = f(0, 0), f(1, 0) - f(0, 0), f(0, 1) - f(0, 0)
    return np.array([[ex[0], ey[0], 0, o[0]], [ex[1], ey[1], 0, o[1]], [0, 0, 1, 0], [0, 0, 0, 1]])


# --- MaxPoolingWithArgmax2D ------------------------------------------------------------------
@pytest.mark.parametrize("shape,padding,stride,filt,act", [
    ((1, 8, 8, 3), 1, (2, 2), (2, 2), 0),
    ((2, 7, 5, 2), 1, (2, 2), (3, 3), 0),
    ((1, 7, 9, 4), 2, (2, 3), (3, 2), 3),
    ((1, 6, 6, 1), 2, (1, 1), (2, 2), 1),
    ((1, 5, 5, 2), 1, (3, 3), (5, 5), 2),
    ((1, 3, 3, 1), 2, (1, 1), (4, 4), 0),  # VALID, window larger than the input: empty output
])
def test_max_pool_argmax(shape, padding, stride, filt, act) -> None:
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32) * 4
    x.reshape(-1)[::7] = x.reshape(-1)[3]  # ties: the first cell in scan order wins
    want_v, want_i = ref_max_pool_argmax(x, padding, stride, filt, act)
    got_v, got_i = run("MaxPoolingWithArgmax2D", [x], [Out(want_v.shape), Out(want_v.shape)],
                       pool_opts(padding, stride, filt, act))
    np.testing.assert_array_equal(got_v, want_v)
    np.testing.assert_array_equal(got_i, want_i)


def test_max_pool_argmax_nan_inf_and_short_options() -> None:
    x = np.full((1, 4, 4, 1), np.nan, np.float32)
    x[0, 0, 1, 0] = 2.0
    x[0, 2:, 2:, 0] = -np.inf
    x[0, 3, 0, 0] = np.inf
    want_v, want_i = ref_max_pool_argmax(x, 1, (2, 2), (2, 2), 0)
    got_v, got_i = run("MaxPoolingWithArgmax2D", [x], [Out((1, 2, 2, 1)), Out((1, 2, 2, 1))],
                       pool_opts(1, extra=False))  # the bare 24-byte struct
    np.testing.assert_array_equal(got_v, want_v)
    np.testing.assert_array_equal(got_i, want_i)
    assert got_v[0, 1, 1, 0] == LOWEST and got_i[0, 0, 0, 0] == np.float32(1.1)


def test_max_pool_argmax_huge_filter_is_bounded() -> None:
    x = np.random.default_rng(2).normal(size=(1, 6, 5, 2)).astype(np.float32)
    got_v, got_i = run("MaxPoolingWithArgmax2D", [x], [Out(), Out()], pool_opts(1, (1, 1), (2**30, 2**30)))
    assert got_v.shape == (1, 6, 5, 2)
    np.testing.assert_array_equal(got_v, np.broadcast_to(x.max(axis=(1, 2), keepdims=True), got_v.shape))


# --- MaxUnpooling2D --------------------------------------------------------------------------
@pytest.mark.parametrize("shape,stride,filt", [((1, 4, 4, 3), (2, 2), (2, 2)), ((2, 3, 5, 2), (2, 1), (2, 3)),
                                               ((1, 3, 3, 1), (1, 1), (3, 3))])
def test_max_unpooling(shape, stride, filt) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape).astype(np.float32)
    ind = (rng.integers(-2, filt[0] * filt[1] + 2, size=shape) + 0.1).astype(np.float32)
    ind.reshape(-1)[::5] = [np.nan, np.inf, -np.inf, 3e9, -0.9, 2.99][: len(ind.reshape(-1)[::5])] + \
        [1.0] * max(0, len(ind.reshape(-1)[::5]) - 6)
    want = ref_unpool(x, ind, stride, filt)
    (got,) = run("MaxUnpooling2D", [x, ind], [Out(want.shape)], pool_opts(1, stride, filt))
    np.testing.assert_array_equal(got, want)


def test_pool_then_unpool_round_trip() -> None:
    """Unpooling MaxPoolingWithArgmax2D's result puts every window's maximum back where it was."""
    x = np.random.default_rng(4).normal(size=(1, 6, 8, 3)).astype(np.float32)
    opts = pool_opts(1, (2, 2), (2, 2))
    v, i = run("MaxPoolingWithArgmax2D", [x], [Out((1, 3, 4, 3)), Out((1, 3, 4, 3))], opts)
    (back,) = run("MaxUnpooling2D", [v, i], [Out(x.shape)], opts)
    win = x.reshape(1, 3, 2, 4, 2, 3)
    is_max = win == win.max(axis=(2, 4), keepdims=True)
    np.testing.assert_array_equal(back, np.where(is_max, win, 0).reshape(x.shape))


def test_unpooling_duplicate_targets_last_wins() -> None:
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 4, 1)
    ind = np.array([3, 2, 1.5, 0], np.float32).reshape(1, 1, 4, 1)  # 2x2 filter, stride 1: collisions
    want = ref_unpool(x, ind, (1, 1), (2, 2))
    (got,) = run("MaxUnpooling2D", [x, ind], [Out((1, 2, 8, 1))], pool_opts(1, (1, 1), (2, 2)))
    np.testing.assert_array_equal(got, want)


# --- TransformLandmarks ----------------------------------------------------------------------
MATRIX = np.array([[0.9, -0.3, 0.7, 11.5], [0.25, 1.1, -0.4, -3.0], [0, 0, 1, 0], [0, 0, 0, 1]],
                  np.float32).reshape(1, 4, 4)


@pytest.mark.parametrize("dims", [2, 3])
def test_transform_landmarks_v2(dims) -> None:
    pts = np.random.default_rng(5).uniform(0, 50, size=(1, 37, dims)).astype(np.float32)
    (got,) = run("TransformLandmarks", [pts, MATRIX], [Out(pts.shape)], None, version=2)
    np.testing.assert_array_equal(got, ref_transform_landmarks(pts, MATRIX, dims, 1.0))


@pytest.mark.parametrize("dims,scale", [(2, 1.0), (3, 0.5), (3, None)])
def test_transform_landmarks_v1(dims, scale) -> None:
    pts = np.random.default_rng(6).uniform(0, 50, size=(1, 2, 3, dims * 4)).astype(np.float32)
    opts = {"dimensions": dims} if scale is None else {"dimensions": dims, "scale": scale}
    if dims == 3 and scale is None:
        opts = {}  # defaults: dimensions 3, scale 1
    (got,) = run("TransformLandmarks", [pts, MATRIX], [Out(pts.shape)], flex(opts), version=1)
    np.testing.assert_array_equal(got, ref_transform_landmarks(pts, MATRIX, dims, 1.0 if scale is None else scale))


# --- TransformTensorBilinear -----------------------------------------------------------------
def _affine(angle: float, scale: float, tx: float, ty: float) -> np.ndarray:
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return np.array([[c, -s, 0, tx], [s, c, 0, ty], [0, 0, 1, 0], [0, 0, 0, 1]], np.float32).reshape(1, 4, 4)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("matrix", [_affine(0.3, 0.8, 3.2, 1.7), _affine(-1.2, 2.5, 20.0, -4.0),
                                    _affine(0.0, 1.0, 0.0, 0.0), _affine(0.0, 3.0, 0.25, 0.5)])
def test_transform_tensor_bilinear(version, matrix) -> None:
    data = np.random.default_rng(7).normal(size=(1, 12, 10, 5)).astype(np.float32)
    want = ref_bilinear(data, matrix, 6, 7, align=version == 2)
    (got,) = run("TransformTensorBilinear", [data, matrix], [Out(want.shape)],
                 flex({"output_height": 6, "output_width": 7}), version=version)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_transform_tensor_bilinear_size_from_output_shape_and_nan() -> None:
    data = np.random.default_rng(8).normal(size=(1, 5, 5, 2)).astype(np.float32)
    m = _affine(0.1, 1.0, 0.5, 0.5)
    (got,) = run("TransformTensorBilinear", [data, m], [Out((1, 4, 3, 2))], None, version=2)
    np.testing.assert_allclose(got, ref_bilinear(data, m, 4, 3, True), rtol=1e-5, atol=1e-5)
    m = m.copy()
    m[0, 0, 3] = np.nan
    (got,) = run("TransformTensorBilinear", [data, m], [Out((1, 4, 3, 2))], None, version=2)
    assert np.isnan(got).all()


# --- Landmarks2TransformMatrix ---------------------------------------------------------------
def _landmarks(n: int = 30, seed: int = 9) -> np.ndarray:
    return np.random.default_rng(seed).uniform(5, 40, size=(1, n, 3)).astype(np.float32)


@pytest.mark.parametrize("subset,target", [([1, 4, 7, 9, 12, 20, 25, 3], 0.0), ([2, 5, 8, 11, 29], 0.4)])
def test_landmarks_to_transform_matrix_v2(subset, target) -> None:
    lm = _landmarks()
    opts = dict(subset_idxs=subset, left_rotation_idx=4, right_rotation_idx=20, target_rotation_radians=target,
                output_height=16, output_width=12, scale_x=1.5, scale_y=1.25)
    (got,) = run("Landmarks2TransformMatrix", [lm], [Out((1, 4, 4))], flex(opts), version=2)
    want = ref_l2tm_v2(lm, subset, 4, 20, target, 16, 12, 1.5, 1.25)
    np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_landmarks_to_transform_matrix_v1() -> None:
    lm = _landmarks(20, seed=10)
    subset = [0, 3, 5, 8, 13, 17, 19]
    opts = dict(input_hw=[48, 40], output_hw=[16, 12], dimensions=3, landmarks_range=64, bbox_size_multiplier=1.3,
                left_rotation_idx=3, right_rotation_idx=13, subset=subset)
    (got,) = run("Landmarks2TransformMatrix", [lm.reshape(1, 1, 1, 60)], [Out((1, 4, 4))], flex(opts), version=1)
    want = ref_l2tm_v1(lm, subset, 3, 13, [48, 40], [16, 12], 64, 1.3)
    np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_crop_pipeline_maps_crop_back_to_landmarks() -> None:
    """v2 matrix + TransformTensorBilinear v2 + TransformLandmarks v2 as the face model chains them:
    a landmark drawn as a bright pixel appears in the crop where the inverse matrix puts it."""
    lm = _landmarks()
    opts = dict(subset_idxs=list(range(30)), left_rotation_idx=0, right_rotation_idx=1, target_rotation_radians=0.0,
                output_height=16, output_width=16, scale_x=1.5, scale_y=1.5)
    (m,) = run("Landmarks2TransformMatrix", [lm], [Out((1, 4, 4))], flex(opts), version=2)
    # crop pixel (u, v) -> feature-map point: the matrix is the crop-to-image transform
    uv = np.array([[3.0, 4.0], [10.0, 12.0]], np.float32).reshape(1, 2, 2)
    (img_pts,) = run("TransformLandmarks", [uv, m], [Out(uv.shape)], None, version=2)
    want = (m[0, :2, :2] @ uv[0].T).T + m[0, :2, 3]
    np.testing.assert_allclose(img_pts[0], want, rtol=1e-5, atol=1e-4)


# --- registration and hostile models ---------------------------------------------------------
def test_ops_and_register() -> None:
    assert {"MaxPoolingWithArgmax2D", "MaxUnpooling2D", "TransformLandmarks", "TransformTensorBilinear",
            "Landmarks2TransformMatrix"} <= set(mp.OPS)
    saved = dict(registry._CUSTOM)
    try:
        mp.register()
        for name, cls in mp.OPS.items():
            assert registry._CUSTOM[name] is cls
    finally:
        registry._CUSTOM.clear()
        registry._CUSTOM.update(saved)


def test_convolution_2d_transpose_bias_is_exposed() -> None:
    try:
        from numlite.custom._mediapipe_conv import Convolution2DTransposeBias
    except ImportError:
        pytest.skip("numlite.custom._mediapipe_conv is not in this checkout")
    assert mp.OPS["Convolution2DTransposeBias"] is Convolution2DTransposeBias


X4 = np.zeros((1, 4, 4, 2), np.float32)


@pytest.mark.parametrize("name,feeds,outs,options,version,match", [
    ("MaxPoolingWithArgmax2D", [X4], 2, b"\x01\x00\x00\x00", 1, r"at least 24 bytes"),
    ("MaxPoolingWithArgmax2D", [X4], 2, None, 1, r"got 0"),
    ("MaxPoolingWithArgmax2D", [X4], 2, pool_opts(1, (0, 1)), 1, r"stride_height must be at least 1"),
    ("MaxPoolingWithArgmax2D", [X4], 2, pool_opts(0), 1, r"padding 0 is not SAME"),
    ("MaxPoolingWithArgmax2D", [X4], 1, pool_opts(1), 1, r"expects 2 outputs"),
    ("MaxPoolingWithArgmax2D", [X4.astype(np.int32)], 2, pool_opts(1), 1, r"supported: float32"),
    ("MaxPoolingWithArgmax2D", [X4], 2, pool_opts(1), 2, r"version 2 is not supported"),
    ("MaxUnpooling2D", [X4, np.zeros((1, 4, 4, 1), np.float32)], 1, pool_opts(1), 1, r"must have the shape"),
    ("MaxUnpooling2D", [X4, X4], 1, pool_opts(1, (1, 1), (1, -3)), 1, r"filter_width must be at least 1"),
    ("TransformLandmarks", [np.zeros((1, 5, 4), np.float32), MATRIX], 1, None, 2, r"2 or 3 values"),
    ("TransformLandmarks", [np.zeros((1, 5, 2), np.float32), np.zeros((1, 7), np.float32)], 1, None, 2,
     r"at least 8 values"),
    ("TransformLandmarks", [np.zeros((1, 1, 1, 8), np.float32), MATRIX], 1, flex({"dimensions": 3}), 1,
     r"not a multiple"),
    ("TransformLandmarks", [np.zeros((1, 1, 1, 6), np.float32), MATRIX], 1, flex({"scale": 0.0}), 1,
     r"'scale' must not be 0"),
    ("TransformLandmarks", [np.zeros((1, 1, 1, 6), np.float32), MATRIX], 1, b"\x07junk", 1, r"custom_options"),
    ("TransformLandmarks", [np.zeros((1, 5, 2), np.float32), MATRIX], 1, None, 3, r"version 3"),
    ("TransformTensorBilinear", [X4, MATRIX], 1, flex({"output_height": -2, "output_width": 3}), 2,
     r"negative"),
    ("TransformTensorBilinear", [X4, MATRIX], 1, flex({"output_height": "x"}), 2, r"must be a number"),
    ("Landmarks2TransformMatrix", [np.zeros((1, 5, 3), np.float32)], 1,
     flex(dict(subset_idxs=[0, 9], output_height=4, output_width=4, scale_x=1.0, scale_y=1.0)), 2,
     r"subset 9 is outside"),
    ("Landmarks2TransformMatrix", [np.zeros((1, 5, 3), np.float32)], 1,
     flex(dict(subset_idxs=[], output_height=4, output_width=4, scale_x=1.0, scale_y=1.0)), 2,
     r"subset option is empty"),
    ("Landmarks2TransformMatrix", [np.zeros((1, 5, 3), np.float32)], 1,
     flex(dict(subset_idxs=[0, 1], output_height=4, output_width=4, scale_x=0.0, scale_y=1.0)), 2,
     r"'scale_x' must be positive"),
    ("Landmarks2TransformMatrix", [np.zeros((1, 5, 3), np.float32)], 1,
     flex(dict(subset_idxs=[0, 1], left_rotation_idx=-1, output_height=4, output_width=4, scale_x=1.0,
               scale_y=1.0)), 2, r"left_rotation_idx -1 is outside"),
    ("Landmarks2TransformMatrix", [np.zeros((1, 1, 1, 15), np.float32)], 1,
     flex(dict(subset=[0, 1], input_hw=[8, 8], output_hw=[4, 4], dimensions=2, landmarks_range=8,
               bbox_size_multiplier=1.0)), 1, r"'dimensions' must be 3"),
    ("Landmarks2TransformMatrix", [np.zeros((1, 1, 1, 15), np.float32)], 1,
     flex(dict(subset=[0, 1], input_hw=[8], output_hw=[4, 4], dimensions=3, landmarks_range=8,
               bbox_size_multiplier=1.0)), 1, r"input_hw"),
])
def test_hostile(name, feeds, outs, options, version, match) -> None:
    with pytest.raises(Exception, match=rf"{name} \(node 0\).*{match}"):
        run(name, feeds, [Out(())] * outs, options, version=version)
