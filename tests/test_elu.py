"""ELU (float32 and int8) against LiteRT.

LiteRT has a single ELU kernel (``activations.cc``) and no reference variant: the BUILTIN_REF
resolver does not register ELU at all ("Didn't find op for builtin opcode 'ELU'").  The oracle
for bit-exactness is therefore the builtin kernel without XNNPACK
(``OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES``).  On this wheel (ai_edge_litert 2.3.0) the
default resolver (XNNPACK) gave the same int8 results on every table checked (200 random
parameter pairs while writing this file) and is compared here too; its float results differ in
the tiny-value tail (see ``test_float_default_path``).
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run, run_litert, run_numlite, single_op_model

import numlite

# Float tolerance against the builtin kernel: it calls the C library's expm1f, NumPy's float32
# expm1 is its own implementation; measured up to 2 ulp apart (relative 1.9e-7) over 1e5 values.
RTOL, ATOL = 1e-6, 0.0

EXTREMES = np.array([-np.inf, -3.4e38, -1e30, -104.0, -103.9, -88.7, -87.3, -20.0, -17.0, -1.0, -0.5, -1e-3, -1e-7,
                     -1e-20, -1.2e-38, -1e-40, -1e-45, -0.0, 0.0, 1e-45, 1e-38, 1e-7, 0.5, 1.0, 88.7, 1e30, 3.4e38,
                     np.inf, np.nan, -np.nan], np.float32)


def run_builtin(model, feeds):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    return run(Interpreter, model, feeds,
               experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def assert_matches_builtin(model, feeds, rtol=RTOL, atol=ATOL):
    ours, theirs = run_numlite(model, feeds), run_builtin(model, feeds)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        if np.issubdtype(a.dtype, np.floating):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
            np.testing.assert_array_equal(np.signbit(a), np.signbit(b))  # -0.0 stays -0.0
        else:
            np.testing.assert_array_equal(a, b)
    return ours


def elu_model(shape, dtype=np.float32, in_q=None, out_q=None):
    return single_op_model("ELU", [In(shape, dtype, quant=in_q)], Out(shape, dtype, quant=out_q))


def qp(scale, zp):
    return {"scale": [float(scale)], "zero_point": [int(zp)]}


# --- float32 -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (2, 3, 4, 5), (1, 17, 9, 3), (0, 4)])
def test_float_shapes(shape):
    x = rand(shape, seed=len(shape), lo=-12, hi=6)
    assert_matches_builtin(elu_model(shape), [x])


def test_float_extremes_and_wide_range():
    rng = np.random.default_rng(3)
    x = np.concatenate([EXTREMES, rng.uniform(-30, 10, 20000), -np.logspace(-45, 2, 4000), np.logspace(-45, 38, 400)])
    x = x.astype(np.float32)
    out = assert_matches_builtin(elu_model(x.shape), [x])[0]
    e = out[: EXTREMES.size]
    assert e[0] == -1 and e[-3] == np.inf and np.isnan(e[-2:]).all()
    assert np.signbit(e[EXTREMES.tolist().index(0.0)])  # -0.0 (first zero in the list)


def test_float_default_path():
    # XNNPACK's ELU is a polynomial: measured absolute error up to 6e-8 (one ulp near -1), but
    # it does not keep the relative accuracy of tiny negative inputs (-1e-30 and the like), so
    # this comparison takes an absolute tolerance.
    rng = np.random.default_rng(5)
    x = np.concatenate([EXTREMES, rng.uniform(-30, 10, 5000)]).astype(np.float32)
    assert_matches_litert(elu_model(x.shape), [x], rtol=1e-6, atol=1e-7)


def test_float_in_place_and_preserve_all_tensors():
    x = rand((4, 33), seed=9, lo=-5, hi=5)
    m = elu_model(x.shape)
    want = run_builtin(m, [x])[0]
    got = run_numlite(m, [x], experimental_preserve_all_tensors=True)[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


# --- int8 --------------------------------------------------------------------------------
def every_int8(shape=(4, 8, 8)):
    return np.arange(-128, 128).astype(np.int8).reshape(shape)


@pytest.mark.parametrize("seed", range(8))
def test_int8_every_value(seed):
    rng = np.random.default_rng(1000 + seed)
    x = every_int8()
    si, so = (float(10 ** rng.uniform(-4, 0.7)) for _ in range(2))
    zi, zo = (int(v) for v in rng.integers(-128, 128, 2))
    m = elu_model(x.shape, np.int8, qp(si, zi), qp(so, zo))
    ours = assert_matches_builtin(m, [x])[0]
    np.testing.assert_array_equal(ours, run_litert(m, [x])[0])


@pytest.mark.parametrize("in_q,out_q", [
    (qp(0.05, 0), qp(0.05, 0)),          # the converter's usual choice: same parameters
    (qp(1 / 16, 127), qp(1 / 128, 127)),  # output range exactly [-1, 0]
    (qp(1e-6, -128), qp(1e-6, -128)),    # tiny steps: negative inputs map to themselves
    (qp(10.0, 0), qp(1.0, 0)),           # saturation at both ends
    (qp(0.1, 5), qp(1e-9, 0)),           # y / out_scale beyond int32: saturates (see elu.py)
    (qp(10.0, 0), qp(1e-10, 127)),
    (qp(1e-3, 0), qp(1e-12, -50)),
    (qp(3.0, -128), qp(0.0078125, 0)),
])
def test_int8_edges(in_q, out_q):
    x = every_int8((256,))
    assert_matches_builtin(elu_model(x.shape, np.int8, in_q, out_q), [x])


def test_int8_shapes_and_empty():
    q = qp(0.07, -3)
    for shape in [(), (5,), (2, 3, 4, 5), (1, 300, 70), (0, 3)]:
        rng = np.random.default_rng(len(shape))
        x = rng.integers(-128, 128, size=shape).astype(np.int8)
        assert_matches_builtin(elu_model(shape, np.int8, q, qp(0.02, 60)), [x])


# --- errors ------------------------------------------------------------------------------
def prepare_error(model):
    it = numlite.Interpreter(model_content=model)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    return str(e.value)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.int64])
def test_unsupported_dtypes(dtype):
    q = qp(0.1, 0) if dtype in (np.uint8, np.int16) else None
    m = elu_model((3,), dtype, q, q)
    msg = prepare_error(m)
    assert "ELU" in msg and "node 0" in msg and np.dtype(dtype).name in msg
    if dtype in (np.uint8, np.int16):
        # LiteRT accepts the model at allocate_tensors and fails at invoke
        with pytest.raises(RuntimeError, match="Only float32 and int8"):
            run_builtin(m, [np.zeros(3, dtype)])


def test_int8_needs_quantization():
    msg = prepare_error(elu_model((3,), np.int8))
    assert "ELU" in msg and "no quantization parameters" in msg
    msg = prepare_error(elu_model((3,), np.int8, qp(0.1, 0), None))
    assert "ELU" in msg and "output" in msg


def test_output_dtype_must_match():
    m = single_op_model("ELU", [In((3,))], Out((3,), np.int8, quant=qp(0.1, 0)))
    assert "ELU" in prepare_error(m)


def test_version_2_is_unknown():
    m = single_op_model("ELU", [In((3,))], Out((3,)), version=2)
    with pytest.raises(Exception, match="ELU"):
        numlite.Interpreter(model_content=m)


@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_invoke_allocates_nothing(dtype):
    import tracemalloc

    n = 1 << 18
    q = qp(0.05, 3) if dtype == np.int8 else None
    it = numlite.Interpreter(model_content=elu_model((n,), dtype, q, q))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], rand((n,), dtype, seed=1, lo=-100, hi=100))
    it.invoke()
    tracemalloc.start()
    try:
        it.invoke()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n // 8, f"ELU {np.dtype(dtype).name} allocated {peak} bytes during invoke"
