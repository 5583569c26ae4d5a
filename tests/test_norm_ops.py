"""GELU, RELU_0_TO_1, LOG_SOFTMAX, L2_NORMALIZATION, LOCAL_RESPONSE_NORMALIZATION, FAKE_QUANT and
L2_POOL_2D (float forms) against LiteRT; quantized forms are in test_norm_ops_quant.py.

Tolerances (float32, LiteRT's default kernels):
- GELU exact form: rtol 1e-5, atol 1e-6.  numlite evaluates it in float32 (a fitted rational
  erfcx and one exp: within 7.5 ulp for |x| < 3, see gelu.py and the ulp-bound tests); LiteRT's
  Eigen float32 erfc is less accurate in the far negative tail (it gives -1.04e-6 at x = -5
  where the true value is -1.43e-6, and 0 below x = -6): below 1e-6 absolute.
- GELU tanh form: rtol 1e-5, atol 2e-6 (numlite's x / (1 + exp(-2y)) vs Eigen's rational tanh;
  LiteRT's ``1 + tanh`` cancels for negative x, leaving ulp-of-1 differences times |x|).
- GELU float16: LiteRT evaluates in half precision with Eigen's approximations (its tanh form
  returns -0.0065 at x = -12, its exact form 0 at x = -3.4); numlite rounds its float32 result
  once.  Compared with LiteRT on x in [-2, 12] at atol 1e-3, rtol 2e-3 (a half ulp is
  up to 1e-3 relative), and with an independent float64 formula everywhere (within one half ulp).
- LOG_SOFTMAX, L2_NORMALIZATION, LOCAL_RESPONSE_NORMALIZATION, L2_POOL_2D: rtol 1e-5 (sums in
  another order; measured worst cases are below 3e-6 relative).
- RELU_0_TO_1 and FAKE_QUANT: exact (the same float32 operations as LiteRT).
LiteRT crashes (segfault) on LOG_SOFTMAX with an empty last axis and on LRN with a negative or
huge radius: those cases are checked against NumPy only.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, invoke_peak_bytes, rand, run_litert, run_numlite, single_op_model

import numlite
from numlite.ops.registry import supported_builtins

OPS = ["GELU", "RELU_0_TO_1", "LOG_SOFTMAX", "L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION", "FAKE_QUANT",
       "L2_POOL_2D"]
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 3e-39], np.float32)


def _fails(op, model, feeds, match):
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


def unary(op, shape, dtype=np.float32, version=1, **opts):
    return single_op_model(op, [In(shape, dtype)], Out(shape, dtype), version=version, **opts)


def test_versions_match_litert():
    litert = json.loads((Path(__file__).parent / "data" / "litert_ops.json").read_text())["AUTO"]
    ours = supported_builtins()
    for op in OPS:
        assert ours[op] == litert[op], op


# -- GELU --------------------------------------------------------------------------------------
def gelu_inputs():
    rng = np.random.default_rng(0)
    return np.concatenate([np.linspace(-12, 12, 481), rng.normal(size=200) * 3, SPECIALS]).astype(np.float32)


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_float32(version, approximate):
    x = gelu_inputs().reshape(1, -1, 1)
    atol = 2e-6 if approximate else 1e-6
    assert_matches_litert(unary("GELU", x.shape, version=version, approximate=approximate), [x], rtol=1e-5, atol=atol)


def gelu_reference(x, approximate):
    x = x.astype(np.float64)
    if approximate:
        # x / (1 + exp(-2y)) = 0.5 x (1 + tanh(y)) without the cancellation of 1 + tanh in float64
        with np.errstate(over="ignore"):
            return x / (1 + np.exp(-2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) if np.isfinite(v) else np.nan for v in x.ravel()])


def gelu_ulp_errors(approximate, step=997, limit=15.0):
    """Inputs (every ``step``-th float32 in [-limit, limit], both signs) and numlite's error there,
    in ulp of the float64 reference rounded to float32 (normal results only)."""
    pos = np.arange(0, int(np.float32(limit).view(np.int32)), step, dtype=np.int32).view(np.float32)
    x = np.concatenate([pos, -pos])
    got = run_numlite(unary("GELU", x.shape, approximate=approximate), [x])[0].astype(np.float64)
    want = gelu_reference(x, approximate)
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    ulp = np.spacing(np.abs(want[normal]).astype(np.float32)).astype(np.float64)
    return x[normal].astype(np.float64), np.abs(got[normal] - want[normal]) / ulp


def test_gelu_exact_float32_ulp_bound():
    # measured over every 61st float32 in [-15, 15] (gelu.py's docstring): 4.5 ulp for |x| < 1, 7 ulp
    # for 1 <= |x| < 3, 0.5 ulp above 3, below -3 at most 0.81 x*x ulp (x*x / 2 rounded to float32)
    x, err = gelu_ulp_errors(False)
    assert x.size > 2_000_000
    bound = np.where(np.abs(x) < 1, 5.0, np.where(np.abs(x) < 3, 7.5, np.where(x > 0, 1.0, 1.0 + 0.85 * x * x)))
    worst = np.argmax(err - bound)
    assert err[worst] <= bound[worst], (x[worst], err[worst])


def test_gelu_tanh_float32_ulp_bound():
    # x / (1 + exp(-2y)), no cancellation: 14 ulp for |x| < 3, 1.5 above, below -3 at most 0.45 |x|^3
    # ulp (-2y rounded to float32 before exp); below about -10.03 exp overflows and the result
    # (|value| < 1.2e-37) is -0
    x, err = gelu_ulp_errors(True, limit=10.0)
    bound = np.where(np.abs(x) < 3, 14.0, np.where(x > 0, 2.0, 1.0 + 0.5 * np.abs(x) ** 3))
    worst = np.argmax(err - bound)
    assert err[worst] <= bound[worst], (x[worst], err[worst])


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_float32_accuracy(approximate):
    x = np.linspace(-20, 20, 4001).astype(np.float32)
    got = run_numlite(unary("GELU", x.shape, approximate=approximate), [x])[0]
    want = gelu_reference(x, approximate)
    # exact form: 4.5 ulp near 0; in the far negative tail float32 x*x costs x*x / 2 ulp (4e-6 at x = -13)
    rtol, atol = (2e-6, 3e-6) if approximate else (5e-6, 1e-37)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    core = np.abs(x) <= 3
    np.testing.assert_allclose(got[core], want[core], rtol=(2e-6 if approximate else 6e-7), atol=1e-37)


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("shape", [(64, 1024), (1, 4096), (3, 5, 7)])
def test_gelu_float32_dense_vs_litert(approximate, shape):
    # the transformer's MLP shape and others, on a dense range, against LiteRT's float32 kernel
    rng = np.random.default_rng(len(shape))
    x = np.linspace(-14, 14, math.prod(shape)).astype(np.float32)
    x = rng.permutation(x).reshape(shape)
    atol = 2e-6 if approximate else 1e-6
    assert_matches_litert(unary("GELU", shape, approximate=approximate), [x], rtol=1e-5, atol=atol)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_float16(approximate):
    x = np.linspace(-2, 12, 281).astype(np.float16)
    assert_matches_litert(unary("GELU", x.shape, np.float16, approximate=approximate), [x], rtol=2e-3, atol=1e-3)
    wide = np.linspace(-16, 16, 641).astype(np.float16)
    got = run_numlite(unary("GELU", wide.shape, np.float16, approximate=approximate), [wide])[0]
    want = gelu_reference(wide, approximate)
    assert got.dtype == np.float16
    # the tanh form is evaluated in float32: in the negative tail 1 + tanh cancels (2e-6 absolute)
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=2 ** -11, atol=2e-6 if approximate else 2 ** -24)
    sp = run_numlite(unary("GELU", (3,), np.float16, approximate=approximate),
                     [np.array([np.inf, -np.inf, np.nan], np.float16)])[0]
    assert sp[0] == np.inf and np.isnan(sp[1:]).all()


# -- RELU_0_TO_1 -------------------------------------------------------------------------------
def test_relu_0_to_1():
    x = np.concatenate([np.linspace(-2, 3, 101), SPECIALS]).astype(np.float32).reshape(1, 1, -1)
    out = assert_matches_litert(unary("RELU_0_TO_1", x.shape), [x], rtol=0, atol=0)[0]
    assert np.nanmin(out) == 0 and np.nanmax(out) == 1


# -- LOG_SOFTMAX -------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("shape", [(7,), (3, 10), (2, 3, 5), (2, 1, 2, 33), (4, 1), (1, 1000)])
def test_log_softmax_float(version, shape):
    x = rand(shape, lo=-20, hi=20, seed=len(shape))
    assert_matches_litert(unary("LOG_SOFTMAX", shape, version=version), [x], rtol=1e-5, atol=1e-5)


def test_log_softmax_float_specials():
    x = np.array([[1, 2, np.nan, 3], [np.inf, 1, 2, 3], [-np.inf] * 4, [0, 0, 0, 0], [1e30, -1e30, 0, 1e30]],
                 np.float32)
    out = assert_matches_litert(unary("LOG_SOFTMAX", x.shape), [x], rtol=1e-5, atol=1e-5)[0]
    np.testing.assert_allclose(out[3], -np.log(4), rtol=1e-6)


# -- L2_NORMALIZATION --------------------------------------------------------------------------
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("shape", [(5,), (3, 10), (2, 3, 4), (1, 2, 3, 64), (6, 1)])
def test_l2_normalization_float(version, shape):
    x = rand(shape, lo=-5, hi=5, seed=len(shape))
    out = assert_matches_litert(unary("L2_NORMALIZATION", shape, version=version), [x], rtol=1e-5, atol=1e-7)[0]
    np.testing.assert_allclose(np.linalg.norm(out.reshape(-1, shape[-1]), axis=1), 1, rtol=1e-5)


def test_l2_normalization_float_small_and_specials():
    x = np.array([[0, 0, 0], [1e-8, -1e-8, 0], [np.inf, 1, 2], [np.nan, 1, 2], [3e38, 3e38, 1]], np.float32)
    assert_matches_litert(unary("L2_NORMALIZATION", x.shape), [x], rtol=1e-5, atol=1e-7)


# -- LOCAL_RESPONSE_NORMALIZATION --------------------------------------------------------------
def lrn_model(shape, radius=2, bias=1.0, alpha=1.0, beta=0.5):
    return single_op_model("LOCAL_RESPONSE_NORMALIZATION", [In(shape)], Out(shape), radius=radius, bias=bias,
                           alpha=alpha, beta=beta)


def lrn_reference(x, radius, bias, alpha, beta):
    x64 = x.astype(np.float64)
    sq = x64 ** 2
    d = x.shape[-1]
    win = np.stack([sq[..., max(0, c - radius):min(d, c + radius + 1)].sum(-1) for c in range(d)], -1)
    return x64 * (bias + alpha * win) ** -beta


@pytest.mark.parametrize("params", [(0, 1.0, 1.0, 1.0), (1, 1.0, 0.5, 0.75), (2, 2.0, 1e-4, 0.75),
                                    (5, 1.0, 1.0, 0.5), (100, 0.5, 0.3, 2.0), (3, 0.0, 1.0, -0.5),
                                    (2, 1.0, 1.0, 0.0)])
@pytest.mark.parametrize("shape", [(1, 3, 4, 10), (2, 2, 2, 1), (1, 1, 1, 64)])
def test_lrn(shape, params):
    x = rand(shape, lo=-4, hi=4, seed=shape[-1])
    out = assert_matches_litert(lrn_model(shape, *params), [x], rtol=1e-5, atol=1e-7)[0]
    np.testing.assert_allclose(out, lrn_reference(x, *params), rtol=1e-5, atol=1e-7)


def test_lrn_reference_kernel_window_differs():
    # LiteRT's BUILTIN_REF kernel sums [c - r, c + r) (one channel short); numlite follows the
    # default kernel and TensorFlow ([c - r, c + r])
    x = rand((1, 2, 2, 7), lo=0.1, hi=2, seed=3)
    m = lrn_model(x.shape, radius=1, beta=1.0)
    ref = run_litert(m, [x], ref=True)[0]
    ours = run_numlite(m, [x])[0]
    short = x / (1 + np.stack([(x[..., max(0, c - 1):c + 1] ** 2).sum(-1) for c in range(7)], -1))
    np.testing.assert_allclose(ref, short, rtol=1e-5)
    np.testing.assert_allclose(ours, lrn_reference(x, 1, 1.0, 1.0, 1.0), rtol=1e-5)


def test_lrn_hostile_radius():
    # LiteRT segfaults on both: checked against NumPy
    x = rand((1, 2, 1, 5), lo=-2, hi=2)
    _fails("LOCAL_RESPONSE_NORMALIZATION", lrn_model(x.shape, radius=-2), [x], "radius must be >= 0")
    got = run_numlite(lrn_model(x.shape, radius=2**31 - 1), [x])[0]
    np.testing.assert_allclose(got, lrn_reference(x, 5, 1.0, 1.0, 0.5), rtol=1e-6)


def test_lrn_zero_denominator_is_ieee():
    x = np.array([0, 1, 0, 0], np.float32).reshape(1, 1, 1, 4)
    assert_matches_litert(lrn_model(x.shape, radius=0, bias=0.0, beta=1.0), [x], rtol=0, atol=0)


# -- FAKE_QUANT --------------------------------------------------------------------------------
FQ_INPUT = np.concatenate([np.linspace(-7, 7, 561), rand((300,), lo=-3, hi=3, seed=5), SPECIALS]).astype(np.float32)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("rng", [(-1.0, 1.0), (0.0, 6.0), (-0.3, 5.7), (-10.0, -2.0), (1.0, 3.0), (-0.123, 0.4567)])
@pytest.mark.parametrize("num_bits", [2, 4, 8, 16])
def test_fake_quant(version, rng, num_bits):
    m = unary("FAKE_QUANT", FQ_INPUT.shape, version=version, min=rng[0], max=rng[1], num_bits=num_bits)
    assert_matches_litert(m, [FQ_INPUT], rtol=0, atol=0)


@pytest.mark.parametrize("num_bits", [0, 1, 17, 24, 31, 32, 33, -1])
@pytest.mark.parametrize("rng", [(-1.0, 1.0), (0.0, 0.0), (2.0, -2.0)])
def test_fake_quant_odd_options_as_litert(num_bits, rng):
    # outside TensorFlow's 2..16 bits, or a degenerate range: LiteRT still computes a defined
    # (x86) result - zero points wrap to 16 bits, shifts by 32 wrap - and numlite matches it
    m = unary("FAKE_QUANT", FQ_INPUT.shape, min=rng[0], max=rng[1], num_bits=num_bits)
    assert_matches_litert(m, [FQ_INPUT], rtol=0, atol=0)


def test_fake_quant_errors():
    x = np.zeros((2, 3), np.float32)
    _fails("FAKE_QUANT", unary("FAKE_QUANT", (2, 3), min=-1.0, max=1.0, num_bits=8, narrow_range=True), [x],
           "narrow_range")
    m = single_op_model("FAKE_QUANT", [In((2, 3), np.int8)], Out((2, 3), np.int8), min=-1.0, max=1.0, num_bits=8)
    _fails("FAKE_QUANT", m, [x.astype(np.int8)], "int8")


# -- L2_POOL_2D --------------------------------------------------------------------------------
def pool_model(shape, out_shape=(1, 1, 1, 1), padding="SAME", s=(1, 1), f=(2, 2), act="NONE", dtype=np.float32):
    return single_op_model("L2_POOL_2D", [In(shape, dtype)], Out(out_shape, dtype), padding=padding, stride_h=s[0],
                           stride_w=s[1], filter_height=f[0], filter_width=f[1], fused_activation_function=act)


GEOMETRY = [((1, 1), (1, 1)), ((1, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 1), (3, 2)), ((3, 3), (3, 3)),
            ((1, 2), (5, 5)), ((1, 1), (8, 8))]


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("geometry", GEOMETRY)
@pytest.mark.parametrize("shape", [(1, 5, 5, 3), (2, 7, 6, 2), (1, 8, 8, 1)])
def test_l2_pool(shape, geometry, padding):
    s, f = geometry
    if padding == "VALID" and (f[0] > shape[1] or f[1] > shape[2]):
        pytest.skip("empty output")
    x = rand(shape, lo=-3, hi=3, seed=sum(shape))
    assert_matches_litert(pool_model(shape, padding=padding, s=s, f=f), [x], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("act", ["RELU", "RELU6", "RELU_N1_TO_1", "TANH"])
def test_l2_pool_activation(act):
    x = rand((1, 4, 4, 2), lo=-9, hi=9)
    assert_matches_litert(pool_model(x.shape, act=act, s=(2, 2)), [x], rtol=1e-5, atol=1e-7)


def test_l2_pool_global_and_specials():
    x = rand((2, 3, 3, 4), lo=-2, hi=2)
    x[0, 1, 1, 0], x[1, 0, 0, 1] = np.inf, np.nan
    for act in ("NONE", "RELU", "TANH"):  # inf is clamped to the largest float32, as in LiteRT
        out = assert_matches_litert(pool_model(x.shape, padding="VALID", f=(3, 3), act=act), [x], rtol=1e-5,
                                    atol=1e-7)[0]
        assert out[0, 0, 0, 0] == np.finfo(np.float32).max and np.isnan(out[1, 0, 0, 1])


def test_l2_pool_errors():
    x = np.ones((1, 4, 4, 1), np.int8)
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("L2_POOL_2D", [In(x.shape, np.int8, quant=q)], Out(x.shape, np.int8, quant=q),
                        padding="SAME", stride_h=1, stride_w=1, filter_height=2, filter_width=2)
    _fails("L2_POOL_2D", m, [x], "int8")
    f = np.ones((1, 4, 4, 1), np.float32)
    _fails("L2_POOL_2D", pool_model(f.shape, s=(0, 1)), [f], "strides must be positive")
    _fails("L2_POOL_2D", pool_model(f.shape, f=(0, 2)), [f], "filter size must be positive")
    _fails("L2_POOL_2D", pool_model(f.shape, f=(2**31 - 1, 2)), [f], "exceeds numlite's limit")
    m = single_op_model("L2_POOL_2D", [In((4, 4, 1))], Out((4, 4, 1)), padding="SAME", stride_h=1, stride_w=1,
                        filter_height=2, filter_width=2)
    _fails("L2_POOL_2D", m, [np.ones((4, 4, 1), np.float32)], "rank 4")


# -- shared hostile cases ------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["GELU", "RELU_0_TO_1", "L2_NORMALIZATION", "FAKE_QUANT", "LOG_SOFTMAX"])
def test_empty_tensors(op):
    for shape in ((0, 3), (2, 0)):
        x = np.zeros(shape, np.float32)
        m = unary(op, shape)
        if op == "LOG_SOFTMAX" and shape[-1] == 0:  # LiteRT segfaults on an empty last axis
            assert run_numlite(m, [x])[0].shape == shape
        else:
            assert_matches_litert(m, [x])
    assert_matches_litert(lrn_model((1, 2, 0, 3)), [np.zeros((1, 2, 0, 3), np.float32)])
    assert_matches_litert(pool_model((1, 0, 2, 3), (1, 0, 2, 3)), [np.zeros((1, 0, 2, 3), np.float32)])


@pytest.mark.parametrize("op,dtype", [("GELU", np.int32), ("RELU_0_TO_1", np.float16), ("LOG_SOFTMAX", np.int32),
                                      ("L2_NORMALIZATION", np.float16), ("FAKE_QUANT", np.float16),
                                      ("LOG_SOFTMAX", np.int16), ("L2_NORMALIZATION", np.int16)])
def test_unsupported_dtypes(op, dtype):
    x = np.zeros((2, 3), dtype)
    _fails(op, unary(op, (2, 3), dtype), [x], np.dtype(dtype).name)


def test_row_ops_errors():
    x = np.ones((2, 3), np.float32)
    for op in ("LOG_SOFTMAX", "L2_NORMALIZATION"):
        _fails(op, unary(op, ()), [np.array(1, np.float32)], "rank >= 1")
        m = single_op_model(op, [In((2, 3))], Out((2, 3), np.int8))
        _fails(op, m, [x], "output.*type int8")
    m = unary("L2_NORMALIZATION", (2, 3), fused_activation_function="RELU")
    _fails("L2_NORMALIZATION", m, [x], "fused activation RELU")
    m = single_op_model("LOCAL_RESPONSE_NORMALIZATION", [In((2, 3))], Out((2, 3)), radius=1, bias=1.0, alpha=1.0,
                        beta=1.0)
    _fails("LOCAL_RESPONSE_NORMALIZATION", m, [x], "rank 4")
    q = {"scale": [0.1], "zero_point": [0]}
    m = single_op_model("LOCAL_RESPONSE_NORMALIZATION", [In((1, 1, 2, 3), np.int8, quant=q)],
                        Out((1, 1, 2, 3), np.int8, quant=q), radius=1, bias=1.0, alpha=1.0, beta=1.0)
    _fails("LOCAL_RESPONSE_NORMALIZATION", m, [np.ones((1, 1, 2, 3), np.int8)], "int8")


def test_invoke_allocates_little():
    # 1 MiB of input: a step may use NumPy's fixed casting buffers, nothing that grows with it
    x = rand((16, 128, 128), lo=-3, hi=3)
    x4 = x.reshape(1, 16, 128, 128)
    models = [(unary("GELU", x.shape), x), (unary("GELU", x.shape, approximate=True), x),
              (unary("LOG_SOFTMAX", x.shape), x), (unary("L2_NORMALIZATION", x.shape), x),
              (unary("FAKE_QUANT", x.shape, min=-1.0, max=1.0, num_bits=8), x), (lrn_model(x4.shape), x4),
              (pool_model(x4.shape, x4.shape, f=(3, 3)), x4)]
    for m, v in models:
        it = numlite.Interpreter(model_content=m)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], v)
        it.invoke()
        assert invoke_peak_bytes(it) < 300_000
