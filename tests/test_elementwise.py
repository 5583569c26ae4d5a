"""Broadcasting binary elementwise ops: SUB, MUL, DIV, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM.

Float tolerance: these are single IEEE operations (plus a clamp), so numlite and LiteRT agree to
the last bit or within one rounding (XNNPACK may evaluate a/b as a * (1/b) and fuse nothing
else); rtol=1e-6 / atol=1e-6 covers that, except where a test says otherwise.
Integer results must match exactly.
"""

import warnings

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

import numlite
from numlite.ops.registry import supported_builtins

RTOL, ATOL = 1e-6, 1e-6
SHAPES = [((2, 3), (2, 3)), ((1, 4, 4, 3), (3,)), ((2, 1, 5), (1, 4, 1)), ((), (3, 2)), ((4, 1), ()),
          ((2, 1, 3, 1, 2), (1, 3, 1, 4, 1)), ((1, 2, 1, 3, 1, 2), (2, 1, 2, 1, 2, 1))]
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH", "SIGN_BIT"]


def model(op, sa, sb, dtype=np.float32, out_dtype=None, **kw):
    return single_op_model(op, [In(sa, dtype), In(sb, dtype)], Out(np.broadcast_shapes(sa, sb), out_dtype or dtype),
                           **kw)


def feeds(sa, sb, dtype=np.float32, lo=-3, hi=3, nonzero=False):
    a, b = rand(sa, dtype, seed=1, lo=lo, hi=hi), rand(sb, dtype, seed=2, lo=lo, hi=hi)
    if nonzero:
        b = np.where(b == 0, 1, b).astype(dtype)
        if np.dtype(dtype).kind == "f":
            b = np.where(np.abs(b) < 0.1, 0.5, b).astype(dtype)  # keep quotients moderate
    return [a, b]


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("op", ["SUB", "MUL", "DIV"])
def test_float_activations(op, act):
    # TANH and SIGN_BIT are accepted by LiteRT on these ops and leave the result unchanged.
    for sa, sb in SHAPES[:3]:
        assert_matches_litert(model(op, sa, sb, fused_activation_function=act), feeds(sa, sb, nonzero=op == "DIV"),
                              rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("op", ["SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"])
def test_float_broadcast(op, sa, sb):
    m = model(op, sa, sb) if op in ("SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM") else \
        model(op, sa, sb, fused_activation_function="RELU6")
    assert_matches_litert(m, feeds(sa, sb, nonzero=op == "DIV"), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("op", ["SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"])
def test_float_constant_operand(op):
    # one operand a constant (weights-style), and both constant (folded at allocate_tensors)
    c = np.linspace(0.5, 2.0, 6, dtype=np.float32).reshape(2, 3)
    m = single_op_model(op, [In((4, 2, 3)), Const(c)], Out((4, 2, 3)))
    assert_matches_litert(m, [rand((4, 2, 3), seed=4, lo=-2, hi=2)], rtol=RTOL, atol=ATOL)
    m = single_op_model(op, [Const(c[::-1].copy()), Const(c)], Out((2, 3)))
    assert_matches_litert(m, [], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("op", ["SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"])
def test_float_extremes(op):
    # large magnitudes overflow to inf, inf - inf / 0 * inf / 0 / 0 give nan, x / 0 gives +-inf:
    # all IEEE, with no NumPy warning escaping from the kernels that expect them.  (Subnormal inputs
    # are avoided: XNNPACK flushes them to zero, numlite does not.)
    big = np.float32(3e38)
    a = np.array([big, -big, big, 0.0, 0.0, 1.0, -1.0, np.inf, -np.inf, 2e-38, 5.0, -0.0], np.float32)
    b = np.array([big, big, -big, 0.0, 7.0, 0.0, 0.0, np.inf, 2.0, 2e-38, 0.0, 3.0], np.float32)
    m = model(op, a.shape, b.shape)
    if op in ("DIV",):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            run_numlite(m, [a, b])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_litert(m, [a, b], rtol=RTOL, atol=0)


@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH"])
@pytest.mark.parametrize("op,dtype", [("SUB", np.int32), ("SUB", np.int64), ("MUL", np.int32), ("MUL", np.int64),
                                      ("MUL", np.int16), ("DIV", np.int32)])
def test_int_activations(op, dtype, act):
    for sa, sb in SHAPES[:4]:
        f = feeds(sa, sb, dtype, lo=-20, hi=20, nonzero=op == "DIV")
        assert_matches_litert(model(op, sa, sb, dtype, fused_activation_function=act), f)


@pytest.mark.parametrize("op,dtype", [("SUB", np.int32), ("SUB", np.int64), ("MUL", np.int32), ("MUL", np.int64),
                                      ("MUL", np.int16), ("MUL", np.uint32), ("SQUARED_DIFFERENCE", np.int32)])
def test_int_wraparound(op, dtype):
    info = np.iinfo(dtype)
    v = 300 if info.bits == 16 else 65536
    a = np.array([info.max, info.min, info.max // 2 + 7, v, -3 if info.min else 3, 0], dtype)
    b = np.array([info.min if info.min else 5, info.max, 3, v, 5, info.max], dtype)
    assert_matches_litert(model(op, a.shape, b.shape, dtype), [a, b])


def test_div_int_truncates_toward_zero():
    a = np.array([-7, 7, -7, 7, 5, -1, 1, 0, 2**31 - 1, -2**31, -2**31 + 1, 6, -6], np.int32)
    b = np.array([2, 2, -2, -2, 3, 3, -3, -5, 2, 2, 7, -3, 3], np.int32)
    out = assert_matches_litert(model("DIV", a.shape, b.shape, np.int32), [a, b])[0]
    assert list(out[:4]) == [-3, 3, 3, -3]
    # broadcast divisor, both signs, with the activation applied after the division
    sa, sb = (3, 4, 5), (1, 5)
    f = feeds(sa, sb, np.int32, lo=-1000, hi=1000, nonzero=True)
    assert_matches_litert(model("DIV", sa, sb, np.int32), f)
    assert_matches_litert(model("DIV", sb, sa, np.int32), [f[1], np.where(f[0] == 0, 3, f[0]).astype(np.int32)])


def test_div_int_by_zero_is_an_error():
    m = model("DIV", (3,), (3,), np.int32)
    a, b = np.array([1, 2, 3], np.int32), np.array([1, 0, 2], np.int32)
    with pytest.raises(RuntimeError):
        run_litert(m, [a, b])
    with pytest.raises(RuntimeError, match=r"DIV \(node 0\).*division by zero"):
        run_numlite(m, [a, b])
    m = single_op_model("DIV", [In((3,), np.int32), Const(np.array([1, 0, 2], np.int32))], Out((3,), np.int32))
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError, match=r"DIV \(node 0\).*constant containing 0"):
        it.allocate_tensors()


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64])
def test_minmax_int(op, dtype):
    info = np.iinfo(dtype)
    for sa, sb in SHAPES[:4]:
        f = feeds(sa, sb, dtype, lo=max(info.min, -1000), hi=min(info.max, 1000))
        assert_matches_litert(model(op, sa, sb, dtype), f)
    a = np.array([info.min, info.max, 0, info.min], dtype)
    b = np.array([info.max, info.min, 0, info.min], dtype)
    assert_matches_litert(model(op, a.shape, b.shape, dtype), [a, b])


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
def test_minmax_quantized_int8_compares_stored_values(op):
    q = {"scale": [0.05], "zero_point": [-3]}
    m = single_op_model(op, [In((2, 8), np.int8, quant=q), In((8,), np.int8, quant=q)], Out((2, 8), np.int8, quant=q))
    assert_matches_litert(m, [rand((2, 8), np.int8, seed=5, lo=-128, hi=127), rand((8,), np.int8, seed=6, lo=-128,
                                                                                     hi=127)])


@pytest.mark.parametrize("op", ["SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"])
def test_every_litert_version_accepted(op):
    versions = supported_builtins()[op]
    assert versions == list(range(1, {"SUB": 5, "MUL": 8, "DIV": 2, "SQUARED_DIFFERENCE": 2, "MAXIMUM": 4,
                                      "MINIMUM": 4}[op] + 1))
    for v in versions:
        assert_matches_litert(model(op, (2, 3), (3,), version=v), feeds((2, 3), (3,), nonzero=True),
                              rtol=RTOL, atol=ATOL)


def prepare_error(m):
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    return str(e.value)


@pytest.mark.parametrize("op", ["SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"])
def test_errors(op):
    # input dtypes differ (LiteRT rejects this too)
    m = single_op_model(op, [In((2, 3)), In((2, 3), np.int32)], Out((2, 3)))
    assert f"{op} (node 0)" in prepare_error(m) and "input types differ" in prepare_error(m)
    with pytest.raises(RuntimeError):
        run_litert(m, [rand((2, 3)), rand((2, 3), np.int32)])
    # shapes that do not broadcast
    m = single_op_model(op, [In((2, 3)), In((4,))], Out((2, 3)))
    assert "cannot broadcast" in prepare_error(m)
    # an output tensor declared with another type
    m = model(op, (2, 3), (3,), out_dtype=np.int32)
    assert "output" in prepare_error(m) and "int32" in prepare_error(m)
    # an unsupported dtype (quantized forms: tests/test_binary_quant.py, test_exp_log_div_quant.py)
    m = model(op, (4,), (4,), np.float64)
    assert "float64" in prepare_error(m) and "supported" in prepare_error(m)
