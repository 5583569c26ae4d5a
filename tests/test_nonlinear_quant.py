"""Quantized nonlinear and activation ops against LiteRT's reference kernels (BUILTIN_REF).

Every comparison is bit-exact (integer outputs; no tolerance).  The 8-bit elementwise ops are
tested exhaustively (all 256 input values) and the int16 ones over all 65536 values, each with
several seeded random scale / zero-point pairs; output parameters are fixed where TFLite
requires them (LOGISTIC 1/256, SOFTMAX int8 1/256 and -128, int16 LOGISTIC / TANH / SOFTMAX
2^-15 with zero points 0).

LiteRT's default (XNNPACK / optimized) kernels are not asserted bit-exact.  Measured on this
wheel (ai_edge_litert 2.3.0) they agree with the reference for every op and type here except
int8 / uint8 LEAKY_RELU (XNNPACK's own requantization: about 8% of the 256 entries one step
off); ``test_default_path_differences_are_small`` bounds that at one step.
"""


import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, invoke_peak_bytes, run_litert, run_numlite, single_op_model

import numlite

SEEDS = range(4)
TYPES8 = [np.int8, np.uint8]


def qp(scale, zp):
    return {"scale": [float(scale)], "zero_point": [int(zp)]}


def rand_params(rng, dtype, lo=-3.0, hi=0.0, zero=False):
    info = np.iinfo(dtype)
    zp = 0 if zero else int(rng.integers(info.min, info.max + 1))
    return float(10 ** rng.uniform(lo, hi)), zp


def every_value(dtype, shape=None):
    info = np.iinfo(dtype)
    x = np.arange(info.min, info.max + 1).astype(dtype)
    return x.reshape(shape) if shape else x


def unary_model(op, x, dtype, in_q, out_q, **opts):
    if op != "LEAKY_RELU":
        opts.pop("alpha", None)
    return single_op_model(op, [In(x.shape, dtype, quant=in_q)], Out(x.shape, dtype, quant=out_q), **opts)


def prepare_error(m):
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    return str(e.value)


# --- 8-bit elementwise ops: every input value -----------------------------------------------
OPS8 = ["RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU"]


@pytest.mark.parametrize("dtype", TYPES8)
@pytest.mark.parametrize("op", OPS8)
def test_8bit_exhaustive(op, dtype):
    x = every_value(dtype, (4, 8, 8))
    for seed in SEEDS:
        rng = np.random.default_rng(100 * seed + OPS8.index(op))
        si, zi = rand_params(rng, dtype, -3, 0.5 if op != "HARD_SWISH" else -0.5)
        so, zo = rand_params(rng, dtype)
        opts = {}
        if op == "LOGISTIC":
            so = 1 / 256
        if op == "HARD_SWISH":
            so = max(so, si)  # the output multiplier in_scale / 128 / out_scale must be below 1
        if op == "LEAKY_RELU":
            opts["alpha"] = float(rng.choice([0.1, 0.2, 0.01, 0.5, -0.3, 1.5]))
        assert_matches_litert(unary_model(op, x, dtype, qp(si, zi), qp(so, zo), **opts), [x], ref=True)


@pytest.mark.parametrize("dtype", TYPES8)
def test_8bit_same_params_and_edges(dtype):
    # identical input / output parameters (the usual converter output), and extreme scales
    x = every_value(dtype)
    info = np.iinfo(dtype)
    for op in ["RELU", "RELU6", "RELU_N1_TO_1", "TANH", "LEAKY_RELU"]:
        edges = [(0.05, 0), (1 / 128, info.min), (0.02, info.max), (1e-5, 3), (30.0, -1 if dtype == np.int8 else 1)]
        for s, z in edges:
            assert_matches_litert(unary_model(op, x, dtype, qp(s, z), qp(s, z), alpha=0.2), [x], ref=True)
    for s, z in [(0.1, 0), (1 / 16, info.min), (1e-4, info.max), (8.0, 0)]:
        assert_matches_litert(unary_model("LOGISTIC", x, dtype, qp(s, z), qp(1 / 256, info.min)), [x], ref=True)
        assert_matches_litert(unary_model("TANH", x, dtype, qp(s, z), qp(1 / 128, 0 if dtype == np.int8 else 128)),
                              [x], ref=True)


def test_rsqrt_int8_exhaustive():
    for seed in SEEDS:
        rng = np.random.default_rng(seed + 7)
        zi = int(rng.integers(-128, 100))
        si, (so, zo) = float(10 ** rng.uniform(-3, 0)), rand_params(rng, np.int8, -3, 0)
        x = np.arange(zi, 128).astype(np.int8)  # below the zero point LiteRT fails the invoke
        assert_matches_litert(unary_model("RSQRT", x, np.int8, qp(si, zi), qp(so, zo)), [x], ref=True)


def test_rsqrt_negative_input_fails_at_invoke():
    m = unary_model("RSQRT", np.zeros(4), np.int8, qp(0.1, 0), qp(0.1, 0))
    x = np.array([4, 9, -1, 16], np.int8)
    with pytest.raises(RuntimeError):
        run_litert(m, [x], ref=True)
    with pytest.raises(RuntimeError, match=r"RSQRT \(node 0\).*positive"):
        run_numlite(m, [x])


# --- int16 elementwise ops: every input value -----------------------------------------------
@pytest.mark.parametrize("op", ["RELU", "RELU6", "LEAKY_RELU"])
def test_int16_rescaling_ops_exhaustive(op):
    x = every_value(np.int16, (16, 4096))
    for seed in SEEDS:
        rng = np.random.default_rng(seed + 11)
        si, so = (float(10 ** rng.uniform(-5, -1)) for _ in range(2))
        m = unary_model(op, x, np.int16, qp(si, 0), qp(so, 0), alpha=float(rng.choice([0.1, -0.5, 2.0])))
        assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_int16_logistic_tanh_exhaustive(op):
    x = every_value(np.int16)
    # power-of-two scales take TFLite's shift-only path (2^-12, and 2^-11 for TANH); others the rescale
    rng = np.random.default_rng(3)
    scales = [2.0**-12, 2.0**-11, 2.0**-10, 1e-4, 1 / 3000] + [float(10 ** rng.uniform(-6, -2)) for _ in range(3)]
    for s in scales:
        assert_matches_litert(unary_model(op, x, np.int16, qp(s, 0), qp(2.0**-15, 0)), [x], ref=True)


def test_int16_rsqrt_exhaustive():
    x = np.arange(0, 32768).astype(np.int16)
    for s_in, s_out in [(1e-3, 1e-3), (2.0**-10, 2.0**-8), (0.05, 1e-4), (1e-5, 0.1)]:
        assert_matches_litert(unary_model("RSQRT", x, np.int16, qp(s_in, 0), qp(s_out, 0)), [x], ref=True)


# --- SOFTMAX ----------------------------------------------------------------------------------
SOFTMAX_CASES = [(np.int8, np.int8, 1 / 256, -128), (np.uint8, np.uint8, 1 / 256, 0),
                 (np.int8, np.int16, 1 / 65536, -32768), (np.uint8, np.int16, 1 / 65536, -32768),
                 (np.int16, np.int16, 1 / 32768, 0)]


@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=lambda c: f"{np.dtype(c[0]).name}-{np.dtype(c[1]).name}")
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0, 0.1, 7.0])
def test_softmax(case, beta):
    dt, odt, so, zo = case
    info = np.iinfo(dt)
    # LiteRT's 8-bit-output reference aborts (TFLITE_CHECK) when a row's sum of exps reaches 512,
    # so rows stay below 512 there; numlite computes those rows without the check
    long_row = (1, 1001) if odt == np.int16 else (1, 500)
    # (37, 21) has more rows than numlite's Python-int per-row path takes (32)
    for k, shape in enumerate([(9,), (3, 7), (2, 5, 33), (4, 1), (2, 2, 3, 17), (37, 21), long_row]):
        rng = np.random.default_rng(k + int(beta * 10))
        zi = 0 if dt == np.int16 else int(rng.integers(info.min, info.max + 1))
        si = float(10 ** (rng.uniform(-3, 0) if dt != np.int16 else rng.uniform(-5, -2)))
        for lo, hi in [(info.min, info.max), (info.min // 8, info.max // 8)]:
            x = rng.integers(lo, hi + 1, size=shape).astype(dt)
            m = single_op_model("SOFTMAX", [In(shape, dt, quant=qp(si, zi))], Out(shape, odt, quant=qp(so, zo)),
                                beta=beta)
            assert_matches_litert(m, [x], ref=True)


def test_softmax_int8_exhaustive_differences():
    # every difference to the row maximum, with and without excluded (below diff_min) values
    x = np.stack([np.arange(-128, 128), np.arange(127, -129, -1)]).astype(np.int8)
    for s in [1e-3, 0.05, 0.5, 4.0]:
        for beta in [1.0, 3.0]:
            m = single_op_model("SOFTMAX", [In(x.shape, np.int8, quant=qp(s, 5))],
                                Out(x.shape, np.int8, quant=qp(1 / 256, -128)), beta=beta)
            assert_matches_litert(m, [x], ref=True)


def test_softmax_quantized_errors():
    m = single_op_model("SOFTMAX", [In((2, 3), np.int8, quant=qp(0.1, 0))], Out((2, 3), np.int8, quant=qp(0.1, 0)),
                        beta=1.0)
    with pytest.raises(RuntimeError):
        run_litert(m, [np.zeros((2, 3), np.int8)], ref=True)
    assert "SOFTMAX (node 0)" in prepare_error(m) and "1/256" in prepare_error(m)
    m = single_op_model("SOFTMAX", [In((2, 3), np.int16, quant=qp(0.1, 0))],
                        Out((2, 3), np.int16, quant=qp(0.1, 0)), beta=1.0)
    assert "1/32768" in prepare_error(m)
    m = single_op_model("SOFTMAX", [In((2, 3), np.int8, quant=qp(0.1, 0))], Out((2, 3), np.uint8, quant=qp(0.1, 0)),
                        beta=1.0)
    assert "int16" in prepare_error(m)


# --- PRELU ------------------------------------------------------------------------------------
PRELU_SHAPES = [((2, 3, 4, 5), (5,)), ((4, 16), (4, 16)), ((1, 4, 4, 3), (1, 1, 3)), ((3, 2, 1, 2), (2, 1, 2)),
                ((2, 256), (256,))]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("const_alpha", [False, True])
def test_prelu(dtype, const_alpha):
    adt = np.int8 if dtype == np.int16 else dtype
    info, ainfo = np.iinfo(dtype), np.iinfo(adt)
    for k, (xs, as_) in enumerate(PRELU_SHAPES):
        rng = np.random.default_rng(k + 20)
        si, zi = rand_params(rng, dtype)
        sa, za = rand_params(rng, adt)
        so, zo = rand_params(rng, dtype)
        if dtype == np.int16:
            zi, zo = int(rng.integers(-100, 100)), int(rng.integers(-100, 100))
        x = rng.integers(info.min, info.max + 1, size=xs).astype(dtype)
        if xs == (2, 256) and dtype != np.int16:
            x = np.stack([every_value(dtype), every_value(dtype)[::-1]])  # every x against every alpha
        a = rng.integers(ainfo.min, ainfo.max + 1, size=as_).astype(adt)
        alpha = Const(a, quant=qp(sa, za)) if const_alpha else In(as_, adt, quant=qp(sa, za))
        m = single_op_model("PRELU", [In(xs, dtype, quant=qp(si, zi)), alpha], Out(xs, dtype, quant=qp(so, zo)))
        assert_matches_litert(m, [x] if const_alpha else [x, a], ref=True)


def test_prelu_quantized_errors():
    m = single_op_model("PRELU", [In((2, 3), np.int8, quant=qp(0.1, 0)), In((3,), np.uint8, quant=qp(0.1, 0))],
                        Out((2, 3), np.int8, quant=qp(0.1, 0)))
    assert "PRELU (node 0)" in prepare_error(m) and "alpha" in prepare_error(m)
    m = single_op_model("PRELU", [In((2, 3), np.int8, quant=qp(0.1, 0)), In((4,), np.int8, quant=qp(0.1, 0))],
                        Out((2, 3), np.int8, quant=qp(0.1, 0)))
    assert "does not broadcast" in prepare_error(m)


# --- parameter checks LiteRT makes too ---------------------------------------------------------
@pytest.mark.parametrize("op,dtype,in_q,out_q,needle", [
    ("LOGISTIC", np.int8, qp(0.1, 0), qp(0.1, -128), "1/256"),
    ("LOGISTIC", np.uint8, qp(0.1, 0), qp(1 / 128, 0), "1/256"),
    ("LOGISTIC", np.int16, qp(2.0**-12, 0), qp(2.0**-14, 0), "1/32768"),
    ("TANH", np.int16, qp(2.0**-12, 0), qp(2.0**-14, 0), "2^-15"),
    ("TANH", np.int16, qp(2.0**-12, 3), qp(2.0**-15, 0), "zero points"),
    ("RELU", np.int16, qp(0.01, 1), qp(0.01, 0), "zero points"),
    ("LEAKY_RELU", np.int16, qp(0.01, 0), qp(0.01, 2), "zero points"),
    ("HARD_SWISH", np.int8, qp(2.0, 0), qp(0.001, 0), "output multiplier"),
    ("RSQRT", np.int16, qp(0.01, 1), qp(0.01, 0), "zero points"),
])
def test_rejected_parameters(op, dtype, in_q, out_q, needle):
    m = unary_model(op, np.zeros((2, 3)), dtype, in_q, out_q)
    with pytest.raises(RuntimeError):
        run_litert(m, [np.zeros((2, 3), dtype)], ref=True)
    msg = prepare_error(m)
    assert f"{op} (node 0)" in msg and needle in msg


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH", "RELU", "HARD_SWISH", "LEAKY_RELU", "RSQRT"])
def test_unquantized_integer_input_rejected(op):
    m = single_op_model(op, [In((4,), np.int8)], Out((4,), np.int8))
    msg = prepare_error(m)
    assert f"{op} (node 0)" in msg and "int8" in msg and "supported" in msg
    m = single_op_model(op, [In((4,), np.int8, quant=qp(0.1, 0))], Out((4,), np.int8))
    assert f"{op} (node 0)" in prepare_error(m)


def test_unsupported_quantized_types_rejected():
    for op, dtype in [("HARD_SWISH", np.int16), ("RELU_N1_TO_1", np.int16), ("RSQRT", np.uint8)]:
        m = unary_model(op, np.zeros(4), dtype, qp(0.1, 0), qp(0.1, 0))
        assert f"{op} (node 0)" in prepare_error(m) and np.dtype(dtype).name in prepare_error(m)


# --- the invoke step --------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["LOGISTIC", "TANH", "RELU", "LEAKY_RELU", "SOFTMAX", "PRELU", "PRELU16", "TANH16"])
def test_invoke_allocates_nothing(op):
    n = 1 << 20
    if op == "PRELU":
        m = single_op_model(op, [In((n,), np.int8, quant=qp(0.1, 3)), Const(np.array([-5], np.int8), quant=qp(0.1, 0))],
                            Out((n,), np.int8, quant=qp(0.1, 0)))
        x = every_value(np.int8)
    elif op == "PRELU16":
        m = single_op_model("PRELU", [In((n,), np.int16, quant=qp(0.1, 0)),
                                      Const(np.array([-5], np.int8), quant=qp(0.1, 0))],
                            Out((n,), np.int16, quant=qp(0.1, 0)))
        x = every_value(np.int16)
    elif op == "SOFTMAX":
        # (the per-row reciprocal allocates a few arrays of one value per row: 64 rows here)
        m = single_op_model(op, [In((64, n // 64), np.int8, quant=qp(0.1, 3))],
                            Out((64, n // 64), np.int8, quant=qp(1 / 256, -128)), beta=1.0)
        x = every_value(np.int8)
    elif op == "TANH16":
        m = unary_model("TANH", np.zeros(n), np.int16, qp(1e-4, 0), qp(2.0**-15, 0))
        x = every_value(np.int16)
    else:
        m = unary_model(op, np.zeros(n), np.int8, qp(0.05, 1), qp(1 / 256, -128), alpha=0.1)
        x = every_value(np.int8)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    it.set_tensor(d["index"], np.resize(x, d["shape"]))
    it.invoke()
    peak = invoke_peak_bytes(it)
    assert peak < n // 8, f"{op} allocated {peak} bytes during invoke"


def test_empty_and_scalar_tensors():
    for shape in [(), (0,), (2, 0, 3)]:
        x = np.zeros(shape, np.int8)
        assert_matches_litert(unary_model("LOGISTIC", x, np.int8, qp(0.1, 0), qp(1 / 256, -128)), [x], ref=True)
    x = np.array(7, np.int8)
    assert_matches_litert(unary_model("TANH", x, np.int8, qp(0.1, 0), qp(1 / 128, 0)), [x], ref=True)


def test_default_path_differences_are_small():
    # LiteRT's default kernels (not the reference) are allowed to differ; record by how much
    x = every_value(np.int8)
    for op, out_q in [("LOGISTIC", qp(1 / 256, -128)), ("TANH", qp(1 / 128, 0)), ("HARD_SWISH", qp(0.05, -10)),
                      ("LEAKY_RELU", qp(0.03, 5))]:
        m = unary_model(op, x, np.int8, qp(0.06, -7), out_q, alpha=0.2)
        ours = run_numlite(m, [x])[0].astype(int)
        theirs = run_litert(m, [x])[0].astype(int)
        assert np.abs(ours - theirs).max() <= 1


# --- fixed-point helpers of numlite/ops/_qnonlinear.py -----------------------------------------
def test_requantize_inplace_matches_reference_math():
    from numlite.ops import _qnonlinear as qn
    from numlite.ops.quant import multiply_by_quantized_multiplier, quantize_multiplier

    rng = np.random.default_rng(9)
    x = np.concatenate([rng.integers(-(2**24), 2**24, 5000), rng.integers(-300, 300, 5000),
                        [0, 1, -1, 2**30, -(2**30), 2**31 - 1, -(2**31)]]).astype(np.int64)
    for m in [1e-6, 0.0123, 0.5, 0.7499999, 1.0, 3.7, 1000.0]:
        q, s = (int(v) for v in quantize_multiplier(m))
        want = multiply_by_quantized_multiplier(x, q, s).astype(np.int64)
        acc, tmp, flag = x.copy(), np.empty_like(x), np.empty(x.shape, np.bool_)
        qn.requantize_inplace(acc, q, s, tmp, flag)
        np.testing.assert_array_equal(acc, want, err_msg=f"multiplier {m}")


def test_scalar_and_vector_reciprocal_agree():
    from numlite.ops import _qnonlinear as qn

    rng = np.random.default_rng(4)
    sums = np.concatenate([rng.integers(1 << 19, 1 << 31, 3000), [1 << 19, (1 << 31) - 1, 1 << 30]]).astype(np.int64)
    scale, over = qn.get_reciprocal(sums, 12)
    for k, s in enumerate(sums.tolist()):
        assert qn.get_reciprocal_int(s, 12) == (int(scale[k]), int(over[k]))
