"""The float fast paths of PRELU and LEAKY_RELU (``max`` / ``min`` of ``x`` and ``alpha * x``,
tiled alpha rows, per-channel fix-ups, the sign trick) against LiteRT, value for value.

The reference kernels (``BUILTIN_REF``) compute ``x >= 0 ? x : alpha * x`` (PRELU) and
``x > 0 ? x : alpha * x`` (LEAKY_RELU) one element at a time: numlite must give the same float32
bits (nan where they give nan, and the same sign of zero).  LiteRT's default kernels (XNNPACK)
select by the sign bit instead and treat subnormal inputs as zero, so there the values are
compared (``-0.0 == 0.0``) where the input is not subnormal.
"""

import numpy as np
import pytest
from util import Const, In, Out, run_litert, run_numlite, single_op_model

import numlite
from numlite.ops.prelu import row_length

TINY = np.float32(1e-45)
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, TINY, -TINY, 3e38, -3e38, 1e-38, -1e-38],
                    np.float32)


def inputs(shape, seed=0):
    """Random values with every special value at several positions (SIMD body and tail)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, size=shape).astype(np.float32)
    flat = x.reshape(-1)
    pos = rng.permutation(flat.size)[: min(flat.size, 8 * SPECIALS.size)]
    flat[pos] = np.resize(SPECIALS, pos.size)
    flat[-1] = -0.0
    return x


def assert_same_bits(ours, ref):
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)  # nan where ref has nan
    ok = ~np.isnan(ref)
    bad = np.flatnonzero(np.signbit(ours[ok]) != np.signbit(ref[ok]))
    assert bad.size == 0, f"sign of zero differs at {bad[:5]}: ours {ours[ok][bad[:5]]}, ref {ref[ok][bad[:5]]}"


def assert_same_values(ours, ref, x):
    normal = ~((x != 0) & (np.abs(x) < np.finfo(np.float32).tiny))
    np.testing.assert_array_equal(ours[normal], ref[normal])


def kernel_of(model, feeds):
    it = numlite.Interpreter(model_content=model)
    it.allocate_tensors()
    return it._main.kernels[0]


def check_prelu(xs, alpha, mode=None, const=True, seed=0):
    x = inputs(xs, seed)
    a = np.asarray(alpha, np.float32)
    spec = Const(a) if const else In(a.shape)
    m = single_op_model("PRELU", [In(xs), spec], Out(xs))
    feeds = [x] if const else [x, a]
    if mode is not None:
        assert kernel_of(m, feeds).mode == mode
    ours = run_numlite(m, feeds)[0]
    assert_same_bits(ours, run_litert(m, feeds, ref=True)[0])
    assert_same_values(ours, run_litert(m, feeds)[0], x)


def channel_alpha(c, lo, hi, seed=1, big=(), value=None):
    a = np.random.default_rng(seed).uniform(lo, hi, size=c).astype(np.float32)
    a[a == 0] = 0.5
    for k in big:
        a[k] = 1.25 + k if value is None else value
    return a


@pytest.mark.parametrize("xs,c", [((1, 96, 96, 16), 16), ((1, 12, 12, 128), 128), ((2, 7, 5, 3), 3), ((13,), 13)])
def test_prelu_max_per_channel(xs, c):
    """Alphas in [-1, 1] (MediaPipe's models are like this): two passes."""
    check_prelu(xs, channel_alpha(c, -1, 1).reshape((1,) * (len(xs) - 2) + (c,)), "max")
    check_prelu(xs, channel_alpha(c, 0.01, 1, seed=3), "max")
    check_prelu(xs, np.where(np.arange(c) % 2, 1.0, -1.0).astype(np.float32), "max")  # alpha = +-1: ties


@pytest.mark.parametrize("xs,c,big", [((1, 24, 24, 64), 64, (3,)), ((1, 16, 16, 128), 128, (0, 5, 127)),
                                      ((1, 9, 9, 32), 32, (31,))])
def test_prelu_fix_columns(xs, c, big):
    """A few alphas above 1: max on all, then those channels redone with min."""
    check_prelu(xs, channel_alpha(c, -1, 1, big=big).reshape(1, 1, c), "fix")


@pytest.mark.parametrize("xs,c,big", [((1, 96, 96, 16), 16, (0, 7, 15)), ((2, 5, 6, 4), 4, (1,)),
                                      ((1, 8, 8, 8), 8, (0, 1, 2, 3, 4, 5, 6))])
def test_prelu_sign_trick(xs, c, big):
    check_prelu(xs, channel_alpha(c, -1, 1, big=big), "sign")


def test_prelu_all_above_one_and_scalar():
    check_prelu((1, 10, 10, 6), channel_alpha(6, 1.1, 3), "min")
    check_prelu((4, 33), np.float32([2.5]), "min")
    check_prelu((4, 33), np.float32([0.25]), "max")
    check_prelu((4, 33), np.float32([-0.25]), "max")
    check_prelu((3, 1031), np.float32([[0.3]]), "max")  # 1031 is prime: rows of the whole tensor


@pytest.mark.parametrize("value", [0.0, np.inf, -np.inf, np.nan])
def test_prelu_exotic_alpha_takes_the_masked_path(value):
    """0 * inf is nan where the reference returns inf: alpha 0 (or not finite) is never fast-pathed."""
    check_prelu((1, 6, 6, 8), channel_alpha(8, -1, 1, big=(2,), value=value), "mask")


def test_prelu_alpha_input_and_leading_period():
    """alpha a graph input (masked path); an alpha broadcast over trailing dims (period spans them)."""
    check_prelu((1, 5, 5, 4), channel_alpha(4, -2, 2), "mask", const=False)
    a = channel_alpha(12, -1, 1, big=(4,)).reshape(3, 1, 4)  # x (2, 3, 5, 4): period 3 * 5 * 4 = 60
    check_prelu((2, 3, 5, 4), a, "sign")  # 5 of the 60 above 1
    check_prelu((2, 2, 3, 64), channel_alpha(64, -1, 1, big=(9,)), "fix")
    check_prelu((2, 3, 5, 4), channel_alpha(12, -1, 1).reshape(3, 1, 4), "max")


def test_row_length():
    assert row_length(96 * 96 * 16, 16) == 4096
    assert row_length(6 * 6 * 128, 128) == 6 * 6 * 128
    assert row_length(3 * 1031, 1) == 3 * 1031
    for n, p in ((1031 * 4096, 4096), (7 * 64, 64), (100003, 1)):
        r = row_length(n, p)
        assert r % p == 0 and n % r == 0


@pytest.mark.parametrize("alpha", [0.2, 1.0, -0.5, -3.0, 1.5, 1e-3, 0.0])
@pytest.mark.parametrize("shape", [(1, 48, 48, 32), (67,)])
def test_leaky_relu_specials(alpha, shape):
    x = inputs(shape, seed=5)
    m = single_op_model("LEAKY_RELU", [In(shape)], Out(shape), version=2, alpha=alpha)
    ours = run_numlite(m, [x])[0]
    assert_same_bits(ours, run_litert(m, [x], ref=True)[0])
    assert_same_values(ours, run_litert(m, [x])[0], x)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("xs,as_", [((1, 48, 48, 32), (1, 1, 32)), ((3, 1031), (1,)), ((2, 3, 5, 4), (3, 1, 4))])
def test_prelu_quantized_tiled_alpha_bit_exact(dtype, xs, as_):
    """8-bit PRELU with a constant alpha (its index part tiled at prepare) against BUILTIN_REF."""
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    q = lambda s, z: {"scale": [s], "zero_point": [z]}  # noqa: E731
    x = rng.integers(info.min, info.max + 1, size=xs).astype(dtype)
    a = rng.integers(info.min, info.max + 1, size=as_).astype(dtype)
    zx, za, zo = (int(rng.integers(info.min, info.max + 1)) for _ in range(3))
    m = single_op_model("PRELU", [In(xs, dtype, quant=q(0.05, zx)), Const(a, quant=q(0.02, za))],
                        Out(xs, dtype, quant=q(0.04, zo)))
    np.testing.assert_array_equal(run_numlite(m, [x])[0], run_litert(m, [x], ref=True)[0])
