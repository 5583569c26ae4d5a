"""RFFT2D, REAL, IMAG, COMPLEX_ABS, RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL, MULTINOMIAL and
STABLEHLO_RNG_BIT_GENERATOR against LiteRT.

Tolerances and references:
- REAL / IMAG move values: exact.  COMPLEX_ABS: both runtimes call ``hypot``; compared to 2 ulp
  (rtol 2.4e-7, or 4.5e-16 for complex128).
- RFFT2D: both runtimes transform in double precision and round to complex64, so results differ
  by about one float32 ulp of the largest magnitude of the slice: atol = 4 * 2**-23 * max|X|.
  ``fft_length[1] == 1`` is checked against NumPy: LiteRT 2.3 returns wrong values there.
- RANDOM_UNIFORM, MULTINOMIAL, STABLEHLO_RNG_BIT_GENERATOR reproduce LiteRT's Philox / Threefry
  streams bit for bit: compared exactly, over several invokes (the stream continues).
- RANDOM_STANDARD_NORMAL: LiteRT's float32 ``logf`` / ``sincosf`` (glibc) are faithful, not
  correctly rounded as numlite's: compared to 5 ulp (rtol 6e-7), and at least 95% of the values
  must be bit-identical (measured 98.5%).
- ``seed = seed2 = 0`` is nondeterministic in both runtimes: checked by statistics (mean, std,
  Kolmogorov-Smirnov distance, category frequencies) with bounds of 6 standard errors or more, so
  a correct kernel fails with probability below 1e-8.
- LiteRT cannot return an empty random / multinomial output ("Invalid tensor size"): those cases
  are checked against the shape alone.
"""

import math

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, run_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder
from numlite.ops.registry import supported_builtins

OPS = ["RFFT2D", "REAL", "IMAG", "COMPLEX_ABS", "RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL", "MULTINOMIAL",
       "STABLEHLO_RNG_BIT_GENERATOR"]
EPS32 = 2.0 ** -23
PART = {np.complex64: np.float32, np.complex128: np.float64}


def _fails(op, model, feeds, match, exc=RuntimeError):
    with pytest.raises(exc, match=rf"{op} \(node 0\).*" + match):
        run_numlite(model, feeds)


def test_versions():
    have = supported_builtins()
    for op in OPS:
        assert have[op] == [1], op


def test_builtin_ref_resolver_too():
    # LiteRT registers the same ops in its reference resolver; numlite has one kernel for both
    m = single_op_model("REAL", [In((3,), np.complex64)], Out((3,), np.float32))
    x = np.array([1 + 2j, -3j, 4], np.complex64)
    np.testing.assert_array_equal(run_litert(m, [x], ref=True)[0], run_numlite(m, [x])[0])


# -- REAL / IMAG / COMPLEX_ABS --------------------------------------------------------------------
def cdata(shape, dtype, seed=0, specials=False):
    rng = np.random.default_rng(seed)
    x = (rng.normal(scale=10, size=shape) + 1j * rng.normal(scale=10, size=shape)).astype(dtype)
    if specials and x.size >= 6:
        f = x.reshape(-1)
        f[:6] = [complex(np.inf, 1), complex(1, -np.inf), complex(np.nan, 2), complex(np.inf, np.nan),
                 complex(0, 0), complex(-1e30, 1e30)]
    return x


@pytest.mark.parametrize("op", ["REAL", "IMAG", "COMPLEX_ABS"])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("shape", [(7,), (2, 3, 4), (), (1, 5, 1, 2)])
def test_complex_parts(op, dtype, shape):
    m = single_op_model(op, [In(shape, dtype)], Out(shape, PART[dtype]))
    x = cdata(shape, dtype, specials=True)
    eps = 2.0 ** -52 if dtype == np.complex128 else EPS32
    ours = assert_matches_litert(m, [x], rtol=2 * eps, atol=0)[0]
    expect = {"REAL": x.real, "IMAG": x.imag, "COMPLEX_ABS": np.abs(x)}[op]
    if op == "COMPLEX_ABS":  # NumPy 1's allocating and out= paths of abs differ by 1 ulp
        np.testing.assert_allclose(ours, expect, rtol=2 * eps, atol=0)
    else:
        np.testing.assert_array_equal(ours, expect)


def test_complex_specials():
    x = np.array([complex(np.inf, np.nan), complex(np.nan, -np.inf), complex(np.nan, 1), 3 + 4j], np.complex64)
    m = single_op_model("COMPLEX_ABS", [In((4,), np.complex64)], Out((4,), np.float32))
    out = assert_matches_litert(m, [x])[0]
    np.testing.assert_array_equal(out, [np.inf, np.inf, np.nan, 5])


def test_complex_empty():
    for op in ("REAL", "IMAG", "COMPLEX_ABS"):
        m = single_op_model(op, [In((0, 3), np.complex64)], Out((0, 3), np.float32))
        assert run_numlite(m, [np.zeros((0, 3), np.complex64)])[0].shape == (0, 3)


@pytest.mark.parametrize("op", ["REAL", "IMAG", "COMPLEX_ABS"])
def test_complex_errors(op):
    m = single_op_model(op, [In((3,), np.float32)], Out((3,), np.float32))
    _fails(op, m, [np.zeros(3, np.float32)], r"tensor 0 .*float32; supported: complex64, complex128")
    m = single_op_model(op, [In((3,), np.complex64)], Out((3,), np.float64))
    _fails(op, m, [np.zeros(3, np.complex64)], r"output .*float64; the op computes float32")
    m = single_op_model(op, [In((3,), np.complex128)], Out((3,), np.float32))
    _fails(op, m, [np.zeros(3, np.complex128)], r"output .*float32; the op computes float64")


# -- complex tensors in the arena -----------------------------------------------------------------
def test_complex_intermediates_planned():
    """RFFT2D -> REAL / IMAG / COMPLEX_ABS: a complex64 intermediate lives in the arena as a view
    (16 bytes per element, aligned) and is read by three consumers."""
    mb = ModelBuilder()
    x = mb.input("x", (2, 6, 5), np.float32)
    fl = mb.const("fl", np.array([8, 4], np.int32))
    c = mb.tensor("c", (2, 8, 3), np.complex64)
    mb.op("RFFT2D", [x, fl], [c])
    outs = []
    for op in ("REAL", "IMAG", "COMPLEX_ABS"):
        o = mb.tensor(op.lower(), (2, 8, 3), np.float32)
        mb.op(op, [c], [o])
        outs.append(o)
    mb.output(*outs)
    m = mb.build()
    xv = np.random.default_rng(1).normal(size=(2, 6, 5)).astype(np.float32)
    ours, theirs = run_numlite(m, [xv]), run_litert(m, [xv])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=4 * EPS32 * np.abs(b).max())
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], xv)
    it.invoke()
    idx = next(d["index"] for d in it.get_tensor_details() if d["name"] == "c")
    inner = it.tensor(idx)()  # the complex64 intermediate, as a view
    assert inner.dtype == np.complex64 and inner.shape == (2, 8, 3)
    np.testing.assert_allclose(inner, np.fft.rfft2(xv.astype(np.float64), s=(8, 4)), rtol=0, atol=1e-5)


# -- RFFT2D ---------------------------------------------------------------------------------------
def rfft_model(shape, fl, const=True):
    fh, fw = fl
    out = Out((*shape[:-2], fh, fw // 2 + 1), np.complex64)
    flt = Const(np.array(fl, np.int32)) if const else In((2,), np.int32)
    return single_op_model("RFFT2D", [In(shape), flt], out)


def check_rfft(ours, theirs):
    assert ours.dtype == theirs.dtype == np.complex64 and ours.shape == theirs.shape
    scale = max(float(np.abs(theirs).max()), 1e-30) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=4 * EPS32 * scale)


@pytest.mark.parametrize("shape,fl", [
    ((4, 8), [4, 8]),           # exact fit
    ((5, 6), [4, 8]),           # crop rows, pad columns
    ((3, 3), [8, 2]),
    ((2, 5, 6), [16, 16]),      # batch, pad both
    ((2, 3, 40, 3), [32, 4]),   # rank 4, crop columns
    ((1, 1), [4, 4]),
    ((3, 50, 100), [64, 128]),
    ((2, 7, 9), [1, 8]),        # a single row
    ((2, 2), [2, 2]),
])
def test_rfft2d(shape, fl):
    x = np.random.default_rng(len(shape)).normal(size=shape).astype(np.float32) * 10
    m = rfft_model(shape, fl)
    check_rfft(run_numlite(m, [x])[0], run_litert(m, [x])[0])
    check_rfft(run_numlite(m, [x])[0], np.fft.rfft2(x.astype(np.float64), s=fl).astype(np.complex64))


def test_rfft2d_runtime_fft_length():
    x = np.random.default_rng(2).normal(size=(2, 5, 6)).astype(np.float32)
    m = rfft_model((2, 5, 6), [4, 8], const=False)
    for fl in ([4, 8], [8, 2], [2, 16]):
        check_rfft(run_numlite(m, [x, np.array(fl, np.int32)])[0], run_litert(m, [x, np.array(fl, np.int32)])[0])
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(0, x)
    it.set_tensor(1, np.array([3, 4], np.int32))
    with pytest.raises(RuntimeError, match=r"RFFT2D \(node 0\): fft_length \[3, 4\] must hold two powers of two"):
        it.invoke()


def test_rfft2d_width_one_numpy():
    # LiteRT 2.3 returns wrong values for fft_length[1] == 1 (Ooura's rdft needs 2 points):
    # numlite gives the true transform, the FFT of the first column
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    for fl in ([1, 1], [2, 1], [4, 1]):
        out = run_numlite(rfft_model((1, 3, 3), fl), [x])[0]
        check_rfft(out, np.fft.rfft2(x.astype(np.float64), s=fl).astype(np.complex64))


def test_rfft2d_empty():
    out = run_numlite(rfft_model((0, 3, 3), [4, 4]), [np.zeros((0, 3, 3), np.float32)])[0]
    assert out.shape == (0, 4, 3)
    m = rfft_model((2, 0, 3), [2, 4])
    np.testing.assert_array_equal(run_numlite(m, [np.zeros((2, 0, 3), np.float32)])[0], np.zeros((2, 2, 3)))


def test_rfft2d_nonfinite():
    x = np.ones((4, 4), np.float32)
    x[1, 2] = np.inf
    out = run_numlite(rfft_model((4, 4), [4, 4]), [x])[0]
    assert not np.isfinite(out).all()  # inf spreads (as inf or nan), without an exception


def test_rfft2d_errors():
    x = np.zeros((3, 3), np.float32)
    for fl, what in (([3, 4], r"\[3, 4\] must hold two powers of two \(got 3\)"), ([0, 4], r"got 0"),
                     ([4, -8], r"got -8")):
        m = single_op_model("RFFT2D", [In((3, 3)), Const(np.array(fl, np.int32))], Out((4, 3), np.complex64))
        _fails("RFFT2D", m, [x], what)
    _fails("RFFT2D", rfft_model((3,), [4, 4]), [np.zeros(3, np.float32)], "rank 2 or more")
    m = single_op_model("RFFT2D", [In((3, 3), np.int32), Const(np.array([4, 4], np.int32))], Out((4, 3), np.complex64))
    _fails("RFFT2D", m, [np.zeros((3, 3), np.int32)], "int32; supported: float32")
    m = single_op_model("RFFT2D", [In((3, 3)), Const(np.array([4, 4], np.int64))], Out((4, 3), np.complex64))
    _fails("RFFT2D", m, [x], "fft_length .*int64")
    m = single_op_model("RFFT2D", [In((3, 3)), Const(np.array([4, 4, 4], np.int32))], Out((4, 3), np.complex64))
    _fails("RFFT2D", m, [x], "vector of 2 values")
    m = single_op_model("RFFT2D", [In((3, 3)), Const(np.array([1 << 30, 1 << 30], np.int32))],
                        Out((4, 3), np.complex64))
    _fails("RFFT2D", m, [x], "bytes of buffers, more than this machine's")


# -- RANDOM_UNIFORM / RANDOM_STANDARD_NORMAL -------------------------------------------------------
def random_model(op, shape, seed, seed2, const=True):
    sh = Const(np.array(shape, np.int32)) if const else In((len(shape),), np.int32)
    return single_op_model(op, [sh], Out(shape), options_table="RandomOptions", seed=seed, seed2=seed2)


def invokes(cls, model, n, feeds=()):
    it = cls(model_content=model)
    it.allocate_tensors()
    outs = []
    for _ in range(n):
        for d, v in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], v)
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
    return outs


def litert_interpreter(**kw):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(**kw)


def check_normal(ours, theirs):
    assert ours.dtype == theirs.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=6e-7, atol=1e-30)


def test_random_normal_mostly_bit_identical():
    m = random_model("RANDOM_STANDARD_NORMAL", (20000,), 3, 4)
    ours, theirs = run_numlite(m, [])[0], run_litert(m, [])[0]
    check_normal(ours, theirs)
    assert np.mean(ours == theirs) >= 0.95


SEEDS = [(1, 2), (123456789012, -5), (-1, 1 << 40), (7, 0), (0, 3)]  # int64 options, truncated to C ints


@pytest.mark.parametrize("op", ["RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL"])
@pytest.mark.parametrize("seed,seed2", SEEDS)
@pytest.mark.parametrize("shape", [(10,), (3, 5), (1,), (4, 4, 3), (2, 1, 3, 2)])
def test_random_matches_litert(op, seed, seed2, shape):
    m = random_model(op, shape, seed, seed2)
    ours, theirs = invokes(numlite.Interpreter, m, 3), invokes(litert_interpreter, m, 3)
    for a, b in zip(ours, theirs):  # three invokes: the stream continues
        if op == "RANDOM_UNIFORM":
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_array_equal(a, b)
        else:
            check_normal(a, b)
    assert not np.array_equal(ours[0], ours[1])


@pytest.mark.parametrize("op", ["RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL"])
def test_random_runtime_shape(op):
    m = random_model(op, (4,), 5, 6, const=False)
    feeds = [np.array([4], np.int32)]
    ours, theirs = invokes(numlite.Interpreter, m, 2, feeds), invokes(litert_interpreter, m, 2, feeds)
    for a, b in zip(ours, theirs):
        (np.testing.assert_array_equal if op == "RANDOM_UNIFORM" else check_normal)(a, b)
    # a shape changing between invokes: the stream goes on (LiteRT does not prepare again)
    for cls in (numlite.Interpreter, litert_interpreter):
        it = cls(model_content=m)
        it.allocate_tensors()
        got = []
        for n in (4, 5, 3):
            it.set_tensor(0, np.array([n], np.int32))
            it.invoke()
            got.append(it.get_tensor(it.get_output_details()[0]["index"]))
        if cls is numlite.Interpreter:
            ours = got
    for a, b in zip(ours, got):
        (np.testing.assert_array_equal if op == "RANDOM_UNIFORM" else check_normal)(a, b)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(0, np.array([-2], np.int32))
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\): output shape \[-2\] has a negative dimension"):
        it.invoke()


def test_random_restarts_after_resize():
    """LiteRT prepares every node again after an input is resized, which restarts the stream."""
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    y = mb.tensor("y", (2,), np.float32)
    mb.op("ADD", [x, x], [y])
    r = mb.tensor("r", (6,), np.float32)
    mb.op("RANDOM_UNIFORM", [mb.const("s", np.array([6], np.int32))], [r], options_table="RandomOptions", seed=1,
          seed2=2)
    mb.output(y, r)
    m = mb.build()
    got = {}
    for cls in (numlite.Interpreter, litert_interpreter):
        it = cls(model_content=m)
        it.allocate_tensors()
        it.set_tensor(0, np.zeros(2, np.float32))
        it.invoke()
        first = it.get_tensor(it.get_output_details()[1]["index"])
        it.resize_tensor_input(0, [3])
        it.allocate_tensors()
        it.set_tensor(0, np.zeros(3, np.float32))
        it.invoke()
        got[cls] = (first, it.get_tensor(it.get_output_details()[1]["index"]))
    (a0, a1), (b0, b1) = got.values()
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a0, a1)


def ks_distance(x, cdf):
    x = np.sort(x.astype(np.float64))
    n = x.size
    f = cdf(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


def normal_cdf(x):
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def test_random_nondeterministic_statistics():
    """seed = seed2 = 0: fresh OS seeds per interpreter.  n = 40000; bounds of 6+ standard errors
    (mean: 6 / sqrt(12 n) = 0.0087 for uniform, 6 / sqrt(n) = 0.03 for normal; std: 0.03;
    KS distance: 1.95 / sqrt(n) = 0.0098 is the 1e-3 quantile, 0.012 is below 1e-8)."""
    n = 40000
    u1 = run_numlite(random_model("RANDOM_UNIFORM", (n,), 0, 0), [])[0]
    u2 = run_numlite(random_model("RANDOM_UNIFORM", (n,), 0, 0), [])[0]
    assert not np.array_equal(u1, u2)
    assert u1.min() >= 0 and u1.max() < 1
    assert abs(u1.mean() - 0.5) < 0.0087 and abs(u1.std() - math.sqrt(1 / 12)) < 0.003
    assert ks_distance(u1, lambda t: t) < 0.012
    z = run_numlite(random_model("RANDOM_STANDARD_NORMAL", (n,), 0, 0), [])[0]
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    assert ks_distance(z, normal_cdf) < 0.012
    zl = run_litert(random_model("RANDOM_STANDARD_NORMAL", (n,), 0, 0), [])[0]
    assert abs(zl.mean()) < 0.03 and abs(zl.std() - 1) < 0.03  # the same law on LiteRT


def test_random_empty_and_errors():
    out = run_numlite(random_model("RANDOM_UNIFORM", (0, 3), 1, 2), [])[0]
    assert out.shape == (0, 3) and out.dtype == np.float32
    for op in ("RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL"):
        m = single_op_model(op, [Const(np.array([2, -3], np.int32))], Out((2, 3)), options_table="RandomOptions")
        _fails(op, m, [], r"output shape \[2, -3\] has a negative dimension")
        m = single_op_model(op, [Const(np.array([3], np.int64))], Out((3,)), options_table="RandomOptions")
        _fails(op, m, [], "shape .*int64; supported: int32")
        m = single_op_model(op, [Const(np.array(3, np.int32))], Out((3,)), options_table="RandomOptions")
        _fails(op, m, [], "must be a vector")
        m = single_op_model(op, [Const(np.array([3], np.int32))], Out((3,), np.float64), options_table="RandomOptions")
        _fails(op, m, [], "must be float32")
        m = single_op_model(op, [Const(np.array([1 << 30, 1 << 30], np.int32))], Out((1, 1)),
                            options_table="RandomOptions")
        _fails(op, m, [], "more than this machine's")


# -- MULTINOMIAL ----------------------------------------------------------------------------------
def multinomial_model(shape, ns, dtype=np.int64, seed=1, seed2=2, const=True):
    n = Const(np.array(ns, np.int32)) if const else In((), np.int32)
    return single_op_model("MULTINOMIAL", [In(shape), n], Out((shape[0], max(ns, 1)), dtype),
                           options_table="RandomOptions",
                           seed=seed, seed2=seed2)


def logits(shape, seed=0):
    return np.random.default_rng(seed).normal(scale=2, size=shape).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
@pytest.mark.parametrize("seed,seed2", SEEDS[:4])
@pytest.mark.parametrize("shape,ns", [((2, 5), 7), ((3, 4), 1), ((1, 3), 100), ((4, 10), 9), ((1, 1), 5)])
def test_multinomial_matches_litert(dtype, seed, seed2, shape, ns):
    m = multinomial_model(shape, ns, dtype, seed, seed2)
    x = logits(shape, seed=ns)
    ours, theirs = invokes(numlite.Interpreter, m, 3, [x]), invokes(litert_interpreter, m, 3, [x])
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_multinomial_nonfinite_logits():
    # inf and nan count as probability 0; a row without a finite logit gives `classes` (LiteRT's answer)
    x = np.array([[-np.inf, 0.0, np.nan, 1.0], [np.inf, -np.inf, 2.0, -np.inf], [-np.inf, np.nan, np.inf, -np.inf],
                  [80.0, -80.0, 88.0, 3e38]], np.float32)
    m = multinomial_model((4, 4), 50)
    ours, theirs = invokes(numlite.Interpreter, m, 2, [x]), invokes(litert_interpreter, m, 2, [x])
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert set(ours[0][0]) <= {1, 3} and set(ours[0][1]) == {2} and set(ours[0][2]) == {4}


def test_multinomial_runtime_num_samples():
    m = multinomial_model((2, 6), 5, const=False)
    x = logits((2, 6))
    for cls in (numlite.Interpreter, litert_interpreter):
        it = cls(model_content=m)
        it.allocate_tensors()
        got = []
        for ns in (5, 8, 3):
            it.set_tensor(0, x)
            it.set_tensor(1, np.array(ns, np.int32))
            it.invoke()
            got.append(it.get_tensor(it.get_output_details()[0]["index"]))
        if cls is numlite.Interpreter:
            ours = got
    for a, b in zip(ours, got):
        np.testing.assert_array_equal(a, b)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.set_tensor(0, x)
    it.set_tensor(1, np.array(-1, np.int32))
    with pytest.raises(RuntimeError, match=r"MULTINOMIAL \(node 0\): num_samples is -1"):
        it.invoke()


def test_multinomial_statistics():
    """seed = seed2 = 0: frequencies of 60000 draws against softmax(logits); each class count is
    within 6 binomial standard deviations (a correct sampler fails with probability < 1e-8)."""
    x = np.array([[0.0, 1.0, 2.0, -1.0, 0.5]], np.float32)
    n = 60000
    p = np.exp(x[0] - x[0].max())
    p /= p.sum()
    for runner in (run_numlite, run_litert):
        counts = np.bincount(runner(multinomial_model((1, 5), n, seed=0, seed2=0), [x])[0][0], minlength=5)
        assert counts.size == 5
        assert np.all(np.abs(counts - n * p) < 6 * np.sqrt(n * p * (1 - p))), (runner, counts, n * p)


def test_multinomial_empty_and_errors():
    out = run_numlite(multinomial_model((3, 4), 0), [logits((3, 4))])[0]
    assert out.shape == (3, 0) and out.dtype == np.int64
    out = run_numlite(multinomial_model((0, 4), 5), [logits((0, 4))])[0]
    assert out.shape == (0, 5)
    x = logits((2, 3))
    _fails("MULTINOMIAL", multinomial_model((2, 3), -1), [x], "num_samples is -1")
    _fails("MULTINOMIAL", multinomial_model((2, 0), 3), [np.zeros((2, 0), np.float32)], "at least one class")
    _fails("MULTINOMIAL", multinomial_model((2, 3), 4, dtype=np.float32), [x], "output .*float32; supported: int64")
    m = single_op_model("MULTINOMIAL", [In((6,)), Const(np.array(2, np.int32))], Out((1, 2), np.int64),
                        options_table="RandomOptions")
    _fails("MULTINOMIAL", m, [np.zeros(6, np.float32)], "rank 2")
    m = single_op_model("MULTINOMIAL", [In((2, 3)), Const(np.array([2], np.int32))], Out((2, 2), np.int64),
                        options_table="RandomOptions")
    _fails("MULTINOMIAL", m, [x], "must be a scalar")
    m = single_op_model("MULTINOMIAL", [In((2, 3), np.float16), Const(np.array(2, np.int32))], Out((2, 2), np.int64),
                        options_table="RandomOptions")
    _fails("MULTINOMIAL", m, [x.astype(np.float16)], "logits .*float16; supported: float32")
    _fails("MULTINOMIAL", multinomial_model((2, 3), (1 << 31) - 1), [x], "more than this machine's")


def test_outputs_sized_at_invoke_are_checked_against_the_memory_available(monkeypatch):
    """A shape or num_samples input read at invoke asks for 256 MB where "available" is made 100 MB:
    refused by name before anything is allocated (the OS grants such allocations lazily and kills
    the process when they are written), as RANGE's limit and the arena's re-plans."""
    from numlite import executor

    monkeypatch.setattr(executor, "memory_available", lambda: 100 << 20)
    for op in ("RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL"):
        m = single_op_model(op, [In((2,), np.int32)], Out((1, 1)), options_table="RandomOptions")
        _fails(op, m, [np.array([8192, 8192], np.int32)], r"output shape \[8192, 8192\] needs 268435456 bytes, "
               "more than the 104857600 bytes of memory available now")
        assert run_numlite(m, [np.array([3, 4], np.int32)])[0].shape == (3, 4)
    x = np.zeros((2, 3), np.float32)
    m = multinomial_model((2, 3), 1, const=False)
    _fails("MULTINOMIAL", m, [x, np.array(1 << 24, np.int32)], "bytes of memory available now")
    assert run_numlite(m, [x, np.array(5, np.int32)])[0].shape == (2, 5)


# -- STABLEHLO_RNG_BIT_GENERATOR ------------------------------------------------------------------
def rng_model(n_state, bits_shape, dtype, algorithm, const_state=None):
    st = Const(np.asarray(const_state, np.uint64)) if const_state is not None else In((n_state,), np.uint64)
    return single_op_model("STABLEHLO_RNG_BIT_GENERATOR", [st], [Out((n_state,), np.uint64), Out(bits_shape, dtype)],
                           algorithm=algorithm)


STATES = [
    np.array([0x123456789ABCDEF0, 0xFFFFFFFFFFFFFFFE, 77], np.uint64),  # the counter wraps mid-output
    np.array([0, 0, 0], np.uint64),
    np.array([1, 2, 0xFFFFFFFF00000000], np.uint64),
]


# THREEFRY takes a state of 2 values only (see test_rng_bit_generator_errors)
@pytest.mark.parametrize("algorithm,n_state", [("DEFAULT", 2), ("DEFAULT", 3), ("PHILOX", 2), ("PHILOX", 3),
                                               ("THREEFRY", 2)])
@pytest.mark.parametrize("dtype", [np.uint32, np.int32, np.int64, np.uint64])
@pytest.mark.parametrize("shape", [(7,), (2, 3), (1,), (4, 4)])
def test_rng_bit_generator(algorithm, n_state, dtype, shape):
    m = rng_model(n_state, shape, dtype, algorithm)
    for st in STATES:
        st = st[:n_state]
        ours = assert_matches_litert(m, [st])
        # feeding the new state back continues the stream
        assert_matches_litert(m, [ours[0]])


def test_rng_bit_generator_constant_state_folds():
    st = STATES[0][:2]
    m = rng_model(2, (3, 5), np.uint64, "THREEFRY", const_state=st)
    ours = assert_matches_litert(m, [])
    m2 = rng_model(2, (3, 5), np.uint64, "THREEFRY")
    for a, b in zip(ours, run_numlite(m2, [st])):
        np.testing.assert_array_equal(a, b)


def test_rng_bit_generator_empty():
    new_state, bits = run_numlite(rng_model(2, (0, 4), np.int32, "PHILOX"), [STATES[0][:2]])
    assert bits.shape == (0, 4)
    np.testing.assert_array_equal(new_state, STATES[0][:2])  # no block used


def test_rng_bit_generator_errors():
    st3 = STATES[0]
    _fails("STABLEHLO_RNG_BIT_GENERATOR", rng_model(3, (4,), np.uint32, "THREEFRY"), [st3],
           "must hold 2 values for THREEFRY")
    st4 = np.zeros(4, np.uint64)
    _fails("STABLEHLO_RNG_BIT_GENERATOR", rng_model(4, (4,), np.uint32, "PHILOX"), [st4],
           "must hold 2 or 3 values for PHILOX")
    _fails("STABLEHLO_RNG_BIT_GENERATOR", rng_model(2, (4,), np.float32, "PHILOX"), [st3[:2]],
           "output .*float32; supported: int32, uint32, int64, uint64")
    m = single_op_model("STABLEHLO_RNG_BIT_GENERATOR", [In((2,), np.int64)],
                        [Out((2,), np.int64), Out((4,), np.uint32)])
    _fails("STABLEHLO_RNG_BIT_GENERATOR", m, [np.zeros(2, np.int64)], "initial state .*int64; supported: uint64")
    m = single_op_model("STABLEHLO_RNG_BIT_GENERATOR", [In((2,), np.uint64)], [Out((4,), np.uint32)])
    _fails("STABLEHLO_RNG_BIT_GENERATOR", m, [st3[:2]], "expects 2 outputs")
    _fails("STABLEHLO_RNG_BIT_GENERATOR", rng_model(2, (4,), np.uint32, 7), [st3[:2]], "unknown RNG algorithm 7")
    _fails("STABLEHLO_RNG_BIT_GENERATOR", rng_model(2, (1 << 18, 1 << 18), np.uint32, "PHILOX"), [st3[:2]],
           "more than this machine's")
