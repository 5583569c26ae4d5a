"""Quantized and hybrid CONV_2D against LiteRT's reference kernels (BUILTIN_REF).

int8 / uint8 / int16x8 outputs must be bit-exact (the helper compares integer outputs exactly).
Hybrid outputs are float32 computed by the same float32 operations in the same order as
TFLite's (``float(acc) * scale[c] * sf[b] + bias``), so they are compared with rtol = atol = 0:
bit-exact as well (up to the sign of zero, which ``assert_allclose`` ignores).

Quantization parameters are seeded random: scales over a few orders of magnitude, zero points
over the type's range, per-channel weight scales, inputs and weights over the full type range.
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_litert, run_numlite, single_op_model

import numlite.ops._conv as conv_mod
from numlite.ops import quant
from numlite.ops._qgemm import FloatRequantizer

#: every test twice: weights kept as floats and converted per invoke (conftest.weight_storage)
pytestmark = pytest.mark.usefixtures("weight_storage")

EXACT = dict(rtol=0, atol=0)


def _scale(rng, lo=-4.0, hi=-1.0):
    return float(np.float32(10.0 ** rng.uniform(lo, hi)))


def qconv(x_shape, w_shape, kind="int8", seed=0, per_channel=True, bias=True, act="NONE", x=None, w=None,
          wscale=None, bias_type=None, **opt):
    """A random quantized CONV_2D model and an input for it."""
    rng = np.random.default_rng(seed)
    opt.setdefault("stride_w", 1)
    opt.setdefault("stride_h", 1)
    opt.setdefault("padding", "SAME")
    cout = w_shape[0]
    if kind == "hybrid":
        dt, wdt = np.float32, np.int8
    else:
        dt = {"int8": np.int8, "uint8": np.uint8, "16x8": np.int16}[kind]
        wdt = np.uint8 if kind == "uint8" else np.int8
    winfo = np.iinfo(wdt)
    if w is None:
        w = rng.integers(winfo.min + (wdt == np.int8), winfo.max + 1, size=w_shape).astype(wdt)
    nsc = cout if per_channel else 1
    ws = wscale if wscale is not None else np.array([_scale(rng) for _ in range(nsc)], np.float32)
    wzp = [int(rng.integers(0, 256))] if kind == "uint8" else [0] * nsc
    wq = dict(scale=ws, zero_point=wzp, quantized_dimension=0)
    if kind == "hybrid":
        x = x if x is not None else rng.uniform(-3, 3, size=x_shape).astype(np.float32)
        b = Const(rng.uniform(-2, 2, size=cout).astype(np.float32) * (bias != "zero")) if bias else None
        ins = [In(x_shape), Const(w, quant=wq)] + ([b] if bias else [])
        return single_op_model("CONV_2D", ins, Out((1,)), fused_activation_function=act, **opt), x
    info = np.iinfo(dt)
    s_in, s_out = _scale(rng, -3, -1), _scale(rng, -2, 0)
    if kind == "16x8":
        zx = zo = 0
    else:
        zx, zo = int(rng.integers(info.min, info.max + 1)), int(rng.integers(info.min, info.max + 1))
    x = x if x is not None else rng.integers(info.min, info.max + 1, size=x_shape).astype(dt)
    bscale = (np.float32(s_in) * ws).astype(np.float32)
    btype = bias_type or (np.int64 if kind == "16x8" else np.int32)
    bmax = 2**20 if kind == "16x8" else 2**16
    bv = rng.integers(-bmax, bmax, size=cout).astype(btype) * (bias != "zero")
    ins = [In(x_shape, dt, quant=dict(scale=[s_in], zero_point=[zx])), Const(w, quant=wq)]
    if bias:
        ins.append(Const(bv, quant=dict(scale=bscale if per_channel or kind != "uint8" else bscale[:1],
                                        zero_point=[0] * len(bscale))))
    out = Out((1,), dt, quant=dict(scale=[s_out], zero_point=[zo]))
    return single_op_model("CONV_2D", ins, out, fused_activation_function=act, **opt), x


GEOMETRY = [
    ((1, 5, 5, 4), (3, 3, 3, 4), dict(padding="SAME")),
    ((1, 5, 5, 4), (3, 3, 3, 4), dict(padding="VALID")),
    ((2, 7, 6, 3), (5, 3, 2, 3), dict(padding="VALID", stride_h=2)),
    ((1, 9, 11, 5), (4, 3, 3, 5), dict(padding="SAME", stride_w=2, stride_h=3)),
    ((1, 10, 10, 2), (3, 4, 4, 2), dict(padding="SAME", stride_w=2, stride_h=2)),
    ((1, 13, 12, 4), (4, 3, 3, 4), dict(padding="SAME", dilation_w_factor=2, dilation_h_factor=3)),
    ((3, 8, 7, 6), (5, 1, 7, 6), dict(padding="SAME")),
    ((2, 8, 8, 16), (24, 1, 1, 16), dict(padding="VALID")),
    ((1, 9, 9, 16), (8, 1, 1, 16), dict(padding="SAME", stride_w=2, stride_h=2)),
    ((1, 3, 3, 2), (2, 5, 5, 2), dict(padding="SAME")),
    ((1, 6, 6, 8), (6, 3, 3, 4), dict(padding="SAME")),  # grouped
]


@pytest.mark.parametrize("kind", ["int8", "uint8", "16x8", "hybrid"])
@pytest.mark.parametrize("xs,ws,opt", GEOMETRY)
def test_geometry(kind, xs, ws, opt):
    if kind == "uint8" and xs[3] != ws[3]:
        pytest.skip("grouped uint8 is tested in test_grouped_uint8")
    for seed in (0, 1):
        m, x = qconv(xs, ws, kind, seed=seed, per_channel=kind != "uint8", **opt)
        assert_matches_litert(m, [x], ref=True, **EXACT)


@pytest.mark.parametrize("kind", ["int8", "uint8", "16x8", "hybrid"])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_activations(kind, act):
    for seed in range(3):
        m, x = qconv((1, 6, 7, 5), (6, 3, 3, 5), kind, seed=seed + 10, per_channel=kind != "uint8", act=act)
        assert_matches_litert(m, [x], ref=True, **EXACT)


def test_grouped_uint8():
    m, x = qconv((1, 6, 6, 8), (6, 3, 3, 4), "uint8", seed=3, per_channel=False)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("kind", ["int8", "16x8", "hybrid"])
def test_per_tensor_and_no_bias(kind):
    for seed in range(2):
        m, x = qconv((2, 6, 6, 3), (4, 3, 3, 3), kind, seed=seed, per_channel=False)
        assert_matches_litert(m, [x], ref=True, **EXACT)
        # LiteRT rejects a missing bias; numlite runs it as a zero bias
        m, x = qconv((1, 6, 6, 3), (4, 3, 3, 3), kind, seed=seed, bias=False)
        mz, _ = qconv((1, 6, 6, 3), (4, 3, 3, 3), kind, seed=seed, bias="zero")
        ours, ref = run_numlite(m, [x])[0], run_litert(mz, [x], ref=True)[0]
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("kind", ["int8", "uint8", "hybrid"])
def test_tiled_and_batched(monkeypatch, kind):
    monkeypatch.setattr(conv_mod, "TILE_BYTES", 4000)
    m, x = qconv((3, 11, 9, 6), (7, 3, 3, 6), kind, seed=5, per_channel=kind != "uint8", act="RELU")
    assert_matches_litert(m, [x], ref=True, **EXACT)


@pytest.mark.parametrize("kind", ["int8", "uint8"])
def test_worst_case_large_k(kind):
    """All inputs and weights at the type's most negative value, K = 3*3*512 = 4608: every
    partial sum is as large as it gets, so the chunked float32 GEMM must split K to stay exact."""
    dt = np.int8 if kind == "int8" else np.uint8
    lo = np.iinfo(dt).min
    x = np.full((1, 4, 4, 512), lo, dt)
    w = np.full((4, 3, 3, 512), lo + (kind == "int8"), dt)  # int8 weights stop at -127
    for seed in range(3):
        m, _ = qconv(x.shape, w.shape, kind, seed=seed, per_channel=kind == "int8", x=x, w=w,
                     wscale=np.full(4 if kind == "int8" else 1, 1e-5, np.float32))
        assert_matches_litert(m, [x], ref=True)
    # and random full-range values with the same K
    m, x = qconv((1, 4, 4, 512), (4, 3, 3, 512), kind, seed=7, per_channel=kind == "int8")
    assert_matches_litert(m, [x], ref=True)


def test_worst_case_hybrid_large_k():
    x = np.full((1, 3, 3, 600), -1.0, np.float32)
    x[0, 0, 0, 0] = 0.5  # asymmetric: zero point 127, q - zp = -255 nearly everywhere
    w = np.full((3, 3, 3, 600), -127, np.int8)
    for per_channel in (True, False):
        m, _ = qconv(x.shape, w.shape, "hybrid", seed=1, per_channel=per_channel, x=x, w=w)
        assert_matches_litert(m, [x], ref=True, **EXACT)


def test_requantizer_matches_fixed_point():
    """The float64 epilogue equals TFLite's double-rounding MultiplyByQuantizedMultiplier on
    random accumulators, multipliers from 2^-20 to 4 (the int64 fallback below 2^-14)."""
    rng = np.random.default_rng(0)
    for trial in range(40):
        c = 16
        q, s = quant.quantize_multiplier(np.exp(rng.uniform(np.log(2.0**-20), np.log(4.0), c)))
        dt = (np.int8, np.uint8)[trial % 2]
        info = np.iinfo(dt)
        zp = int(rng.integers(info.min, info.max + 1))
        lo, hi = sorted(int(v) for v in rng.integers(info.min, info.max + 1, 2))
        acc = rng.integers(-2**24, 2**24, size=(300, c))
        acc[:150] = rng.integers(-3000, 3000, size=(150, c)) * (1 + trial % 7)
        acc[:20] = rng.integers(-4, 5, size=(20, c))
        want = np.clip(quant.multiply_by_quantized_multiplier(acc, q, s).astype(np.int64) + zp, lo, hi)
        for force_int64 in (False, True):
            for acc_dt in (np.float32, np.float64):
                r = FloatRequantizer(q, s, zp, lo, hi, dt)
                r.exact = r.exact and not force_int64
                out = np.empty(acc.shape, dt)
                r.bind(acc.astype(acc_dt), out, np.empty(acc.shape), np.empty(acc.shape))()
                np.testing.assert_array_equal(out, want)


def test_tiny_multiplier_uses_int64_path():
    m, x = qconv((1, 5, 5, 4), (3, 3, 3, 4), "int8", seed=2, wscale=np.array([1e-9, 1e-3, 1e-2], np.float32))
    assert_matches_litert(m, [x], ref=True)


def test_hybrid_constant_and_zero_input():
    for v in (0.0, 1.5, -2.0):
        x = np.full((2, 5, 5, 3), v, np.float32)
        for per_channel in (True, False):
            m, _ = qconv(x.shape, (4, 3, 3, 3), "hybrid", seed=4, per_channel=per_channel, x=x)
            assert_matches_litert(m, [x], ref=True, **EXACT)


def test_16x8_int32_bias():
    """16x8 with an int32 bias and ``quantized_bias_type`` INT32: LiteRT's int32-accumulator
    reference kernel (the 32-bit double-rounding requantization)."""
    for seed in range(3):
        m, x = qconv((1, 6, 6, 5), (4, 3, 3, 5), "16x8", seed=seed, bias_type=np.int32, quantized_bias_type="INT32")
        assert_matches_litert(m, [x], ref=True)


def test_default_path_differences():
    """LiteRT's default (XNNPACK) path requantizes its own way; note, don't assert, how often it
    differs from the reference kernels that numlite matches (at most one step)."""
    m, x = qconv((1, 12, 12, 16), (16, 3, 3, 16), "int8", seed=9)
    ours = run_numlite(m, [x])[0]
    ref = run_litert(m, [x], ref=True)[0]
    xnn = run_litert(m, [x])[0]
    np.testing.assert_array_equal(ours, ref)
    assert np.abs(xnn.astype(int) - ref).max() <= 1


def _fails(model, feeds, match):
    with pytest.raises(RuntimeError, match=match):
        run_numlite(model, feeds)


def test_errors():
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 5, 5, 4)).astype(np.int8)
    w = rng.integers(-127, 128, (3, 3, 3, 4)).astype(np.int8)
    q = dict(scale=[0.1], zero_point=[0])
    wq = dict(scale=[0.1, 0.2, 0.3], zero_point=[0, 0, 0])
    b32 = Const(np.zeros(3, np.int32), quant=dict(scale=[0.01] * 3, zero_point=[0] * 3))
    opt = dict(stride_w=1, stride_h=1)

    def model(ins, out=None):
        return single_op_model("CONV_2D", ins, out or Out((1,), np.int8, quant=q), **opt)

    _fails(model([In(x.shape, np.int8, quant=q), Const(w, quant=dict(scale=[0.1, 0.2, 0.3], zero_point=[0, 1, 0])),
                  b32]), [x], "zero points 0")
    _fails(model([In(x.shape, np.int8, quant=q), Const(w, quant=dict(scale=[0.1, 0.2], zero_point=[0, 0])), b32]),
           [x], "2 scales")
    _fails(model([In(x.shape, np.int8, quant=q), In(w.shape, np.int8, quant=wq), b32]), [x, w], "must be a constant")
    _fails(model([In(x.shape, np.int8, quant=q), Const(w, quant=wq), Const(np.zeros(3, np.float32))]), [x],
           "bias .* float32; expected int32")
    _fails(model([In(x.shape, np.int8, quant=q), Const(w.view(np.uint8), quant=wq), b32]), [x], "needs a int8 filter")
    _fails(model([In(x.shape, np.int8, quant=q), Const(w, quant=wq), b32], Out((1,), np.int16, quant=q)), [x],
           "must match the input type")
    _fails(model([In(x.shape, np.int8, quant=q), Const(w), b32]), [x], "no quantization parameters")
    xu = x.view(np.uint8)
    _fails(model([In(x.shape, np.uint8, quant=q), Const(w.view(np.uint8), quant=wq), b32],
                 Out((1,), np.uint8, quant=q)), [xu], "per-channel quantization needs int8")
    x16 = x.astype(np.int16)
    _fails(model([In(x.shape, np.int16, quant=dict(scale=[0.1], zero_point=[3])), Const(w, quant=wq),
                  Const(np.zeros(3, np.int64))], Out((1,), np.int16, quant=dict(scale=[0.1], zero_point=[0]))),
           [x16], "zero points 0 on input and output")
    q16 = dict(scale=[0.1], zero_point=[0])
    _fails(model([In(x.shape, np.int16, quant=q16), Const(w, quant=wq), b32], Out((1,), np.int16, quant=q16)),
           [x16], "needs quantized_bias_type INT32")
    xf = np.zeros((1, 5, 5, 8), np.float32)
    w4 = Const(np.zeros((4, 3, 3, 4), np.int8), quant=dict(scale=[0.1], zero_point=[0]))
    _fails(model([In(xf.shape, np.float32), w4,
                  Const(np.zeros(4, np.float32))], Out((1,))), [xf], "grouped hybrid convolution needs one scale")


@pytest.mark.parametrize("kind", ["int8", "uint8", "16x8", "hybrid"])
@pytest.mark.parametrize("x_shape,w_shape,opt", [
    ((1, 20, 20, 8), (16, 1, 1, 8), {}),
    ((2, 9, 11, 6), (8, 3, 3, 6), {"stride_h": 2, "padding": "VALID"}),
    ((1, 15, 15, 8), (12, 3, 3, 4), {}),  # two groups
])
def test_two_threads_equal_single_thread(kind, x_shape, w_shape, opt, monkeypatch):
    """Two BLAS threads over several tiles give results identical to one thread and to LiteRT."""
    monkeypatch.setattr(conv_mod, "TILE_BYTES", 2048)  # several tiles
    m, x = qconv(x_shape, w_shape, kind, seed=5, act="RELU6" if kind == "int8" else "NONE",
                 per_channel=kind != "uint8", **opt)
    one = run_numlite(m, [x], num_threads=1)[0]
    two = run_numlite(m, [x], num_threads=2)[0]
    np.testing.assert_array_equal(one, two)
    assert_matches_litert(m, [x], ref=True, num_threads=2, **(EXACT if kind == "hybrid" else {}))


@pytest.mark.parametrize("kind", ["int8", "uint8"])
def test_multiplier_above_one_wraps_like_litert(kind):
    """An effective multiplier of 2**13 (input and weight scales 1, output scale 2**-13) on large
    accumulators: ``acc << 13`` overflows int32, which LiteRT's C wraps, so outputs can come out
    at the opposite extreme from the accumulator's sign.  numlite takes its int64 path there and
    wraps too (the float epilogue would give the saturated value of the accumulator's sign)."""
    rng = np.random.default_rng(3)
    dt = np.int8 if kind == "int8" else np.uint8
    info = np.iinfo(dt)
    cout, zx = 16, 3
    x = np.full((1, 3, 3, 8), info.max, dt)  # one VALID 3x3 window: acc = (max - zx) * sum(w') + b
    wzp = 0 if kind == "int8" else 128
    w = (wzp + rng.choice([-127, 127], size=(cout, 3, 3, 8)) * (rng.random((cout, 3, 3, 8)) < 0.7)).astype(dt)
    b = rng.integers(-1000, 1000, cout).astype(np.int32)
    nsc = cout if kind == "int8" else 1
    ins = [In(x.shape, dt, quant=dict(scale=[1.0], zero_point=[zx])),
           Const(w, quant=dict(scale=[1.0] * nsc, zero_point=[wzp] * nsc, quantized_dimension=0)),
           Const(b, quant=dict(scale=[1.0] * nsc, zero_point=[0] * nsc))]
    out = Out((1,), dt, quant=dict(scale=[2.0**-13], zero_point=[1]))
    m = single_op_model("CONV_2D", ins, out, padding="VALID", stride_h=1, stride_w=1)
    got = assert_matches_litert(m, [x], ref=True)[0].reshape(cout)
    acc = (int(info.max) - zx) * (w.astype(np.int64) - wzp).reshape(cout, -1).sum(axis=1) + b
    saturated = np.where(acc > 0, info.max, np.where(acc < 0, info.min, 1))
    assert (got != saturated).any()  # the wrap mattered


def _fused_flag(model) -> bool:
    import numlite

    it = numlite.Interpreter(model_content=model)
    it.allocate_tensors()
    return it._main.kernels[0].quant.fused


@pytest.mark.parametrize("kind", ["int8", "uint8"])
@pytest.mark.parametrize("act", ["RELU", "RELU6"])
@pytest.mark.parametrize("w_shape,opt", [
    ((24, 1, 1, 16), {}),  # a MobileNet v2 expansion: K = 16
    ((32, 3, 3, 3), {"stride_h": 2, "stride_w": 2}),  # a first layer: K = 27
    ((8, 1, 1, 29), {}),  # the longest fused reduction
])
def test_fused_requantization_gemm(kind, act, w_shape, opt):
    """Short reductions with a clamp at or above the output zero point requantize inside a
    float64 GEMM (weights pre-multiplied, constant row ``off * M + k``): bit-exact, also with every
    input and weight at its extreme."""
    x_shape = (2, 9, 9, w_shape[3])
    fused = 0
    ws = np.geomspace(0.01, 0.1, w_shape[0] if kind == "int8" else 1).astype(np.float32)
    for seed in range(6):  # random in/out scales: some multipliers fall below 2**-14 (not fused)
        m, x = qconv(x_shape, w_shape, kind, seed=seed, per_channel=kind == "int8", act=act, wscale=ws, **opt)
        fused += _fused_flag(m)
        assert_matches_litert(m, [x], ref=True)
    assert fused >= 2
    dt = np.int8 if kind == "int8" else np.uint8
    info = np.iinfo(dt)
    for xv, wv in ((info.min, info.min + (kind == "int8")), (info.max, info.min + (kind == "int8")), (info.max,) * 2):
        x = np.full(x_shape, xv, dt)
        w = np.full(w_shape, wv, dt)
        m, _ = qconv(x_shape, w_shape, kind, seed=9, per_channel=kind == "int8", act=act, x=x, w=w,
                     wscale=np.full(w_shape[0] if kind == "int8" else 1, 0.02, np.float32), **opt)
        assert_matches_litert(m, [x], ref=True)


def test_fused_requantization_not_taken_without_clamp_or_for_long_reductions():
    m, x = qconv((1, 6, 6, 16), (8, 1, 1, 16), "int8", seed=1, act="NONE")
    assert not _fused_flag(m)  # the sign term needs the accumulator's sign
    assert_matches_litert(m, [x], ref=True)
    m, x = qconv((1, 6, 6, 64), (8, 1, 1, 64), "int8", seed=1, act="RELU")
    assert not _fused_flag(m)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("kind", ["int8", "int8_large_k"])
def test_near_dead_channels_are_redone_exactly(kind):
    """A few channels with tiny per-channel scales (multipliers below 2**-14, as near-dead
    channels get) are redone on the int64 path after the float64 epilogue; the rest of the
    layer stays on the fast path.  Large reductions (several chunks, float64 accumulator) too."""
    import numlite

    cout = 16
    ws = np.geomspace(0.005, 0.05, cout).astype(np.float32)
    ws[[2, 7, 11]] = [1e-9, 3e-8, 2e-7]
    cin = 8 if kind == "int8" else 600
    x = None
    if kind == "int8_large_k":  # extreme values: several chunks, a float64 accumulator
        x = np.full((1, 4, 4, cin), -128, np.int8)
    w = None if kind == "int8" else np.full((cout, 3, 3, cin), -127, np.int8)
    for seed in range(4):
        m, xx = qconv((1, 7, 7, cin) if x is None else x.shape, (cout, 3, 3, cin), "int8", seed=seed, act="RELU",
                      wscale=ws, x=x, w=w)
        it = numlite.Interpreter(model_content=m)
        it.allocate_tensors()
        rq = it._main.kernels[0].quant.requant
        # (a multiplier below 2**-31 becomes 0 and needs no redoing)
        assert rq.exact and rq.slow.size >= 1 and set(rq.slow.tolist()) <= {2, 7, 11}
        assert_matches_litert(m, [xx], ref=True)


def test_requantizer_slow_channels_fixed_up():
    """Float64 epilogue for most channels, the int64 path for the few with multipliers below
    2**-14 (``FloatRequantizer.slow``): equal to TFLite's fixed point everywhere, for float32
    and float64 accumulators, signed and clamped ranges."""
    rng = np.random.default_rng(5)
    for trial in range(30):
        c = 16
        mult = np.exp(rng.uniform(np.log(2.0**-12), np.log(2.0**-2), c))
        slow = rng.choice(c, 3, replace=False)
        mult[slow] = np.exp(rng.uniform(np.log(2.0**-25), np.log(2.0**-15), 3))
        q, s = quant.quantize_multiplier(mult)
        dt = (np.int8, np.uint8)[trial % 2]
        info = np.iinfo(dt)
        zp = int(rng.integers(info.min, info.max + 1))
        lo, hi = (zp, info.max) if trial % 3 == 0 else sorted(int(v) for v in rng.integers(info.min, info.max + 1, 2))
        acc = rng.integers(-2**24, 2**24, size=(64, c))
        acc[:32] = rng.integers(-3000, 3000, size=(32, c)) * (1 + trial % 5)
        want = np.clip(quant.multiply_by_quantized_multiplier(acc, q, s).astype(np.int64) + zp, lo, hi)
        for acc_dt in (np.float32, np.float64):
            r = FloatRequantizer(q, s, zp, lo, hi, dt, acc_bound=2.0**24)
            assert r.exact and sorted(r.slow.tolist()) == sorted(slow.tolist())
            out = np.empty(acc.shape, dt)
            r.bind(acc.astype(acc_dt), out, np.empty(acc.shape), np.empty(acc.shape))()
            np.testing.assert_array_equal(out, want)


def test_few_wrapping_channels_are_redone_on_the_int64_path():
    """Three channels with a multiplier of 2**13 on large accumulators (their left shift wraps in
    LiteRT) among 13 ordinary ones: those three go through the int64 fix-up, the rest through
    the float64 epilogue; all bit-exact, and some wrapped outputs differ from saturation."""
    import numlite

    cout, flipped = 16, 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        x = np.full((1, 3, 3, 8), 127, np.int8)
        w = (rng.choice([-127, 127], size=(cout, 3, 3, 8)) * (rng.random((cout, 3, 3, 8)) < 0.7)).astype(np.int8)
        ws = np.full(cout, 1e-4, np.float32)
        ws[[5, 9, 13]] = 1.0
        b = rng.integers(-1000, 1000, cout).astype(np.int32)
        ins = [In(x.shape, np.int8, quant=dict(scale=[1.0], zero_point=[3])),
               Const(w, quant=dict(scale=ws, zero_point=[0] * cout, quantized_dimension=0)),
               Const(b, quant=dict(scale=ws, zero_point=[0] * cout))]
        out = Out((1,), np.int8, quant=dict(scale=[2.0**-13], zero_point=[1]))
        m = single_op_model("CONV_2D", ins, out, padding="VALID", stride_h=1, stride_w=1)
        it = numlite.Interpreter(model_content=m)
        it.allocate_tensors()
        rq = it._main.kernels[0].quant.requant
        assert rq.exact and rq.slow.tolist() == [5, 9, 13]
        got = assert_matches_litert(m, [x], ref=True)[0].reshape(cout)
        acc = 124 * w.astype(np.int64).reshape(cout, -1).sum(axis=1) + b
        sl = [5, 9, 13]
        flipped += int((got[sl] != np.where(acc[sl] > 0, 127, np.where(acc[sl] < 0, -128, 1))).sum())
    assert flipped > 0  # the wrap mattered
