"""QUANTIZE and DEQUANTIZE against LiteRT's reference kernels.

Integer outputs must be bit-exact.  DEQUANTIZE's float32 outputs are compared exactly too
(rtol=0, atol=0): both runtimes compute the correctly rounded float32 product
``scale * (q - zero_point)`` (see numlite/ops/dequantize.py).
"""

import numpy as np
import pytest
from util import Const, In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

import numlite
from numlite.builder import ModelBuilder

EXACT = {"rtol": 0.0, "atol": 0.0}


def zp_for(rng, dtype):
    if np.dtype(dtype) == np.int16:
        return 0
    info = np.iinfo(dtype)
    return int(rng.integers(info.min, info.max + 1))


def full_range(shape, dtype, seed):
    info = np.iinfo(dtype)
    return rand(shape, dtype, seed=seed, lo=info.min, hi=info.max)


def quantize_model(shape, in_dtype, out_dtype, qin, qout):
    return single_op_model("QUANTIZE", [In(shape, in_dtype, quant=qin)], Out(shape, out_dtype, quant=qout))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_float_to_int_random_params(dtype):
    rng = np.random.default_rng(np.dtype(dtype).itemsize * 7 + (np.dtype(dtype).kind == "u"))
    for seed in range(6):
        scale = float(10 ** rng.uniform(-4, 0))
        zp = zp_for(rng, dtype)
        m = quantize_model((3, 50), np.float32, dtype, None, {"scale": [scale], "zero_point": [zp]})
        span = scale * np.iinfo(dtype).max * 1.3
        x = rand((3, 50), seed=seed, lo=-span, hi=span)
        x[0, :20] = (np.arange(20) - 10 + 0.5).astype(np.float32) * np.float32(scale)  # ties
        x[1, :4] = [0.0, -0.0, np.float32(scale) * 0.5, np.float32(scale) * -0.5]
        assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("zp", [-128, -3, 0, 5, 127])
def test_float_to_int8_out_of_range_values(zp):
    # inf, nan and values beyond int32 after division: C's cast gives INT32_MIN, then the zero
    # point is added with wrap-around (LiteRT's reference kernel, measured)
    m = quantize_model((12,), np.float32, np.int8, None, {"scale": [0.5], "zero_point": [zp]})
    x = np.array([1e20, -1e20, np.inf, -np.inf, np.nan, 3e9, -3e9, 1.25, -1.25, 0.75,
                  1073741760.0, -1073741824.0], np.float32)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16])
def test_float_out_of_range_other_types(dtype):
    zp = 200 if dtype == np.uint8 else 0
    m = quantize_model((8,), np.float32, dtype, None, {"scale": [0.25], "zero_point": [zp]})
    x = np.array([1e30, -1e30, np.inf, -np.inf, np.nan, 1e4, -1e4, 2.375], np.float32)
    assert_matches_litert(m, [x], ref=True)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("axis", [0, 2])
def test_float_per_channel(dtype, axis):
    rng = np.random.default_rng(axis + 3)
    shape = (4, 3, 5)
    n = shape[axis]
    scales = (10 ** rng.uniform(-3, -1, n)).tolist()
    zps = [zp_for(rng, dtype) for _ in range(n)]
    m = quantize_model(shape, np.float32, dtype, None, {"scale": scales, "zero_point": zps,
                                                         "quantized_dimension": axis})
    assert_matches_litert(m, [rand(shape, seed=axis, lo=-5, hi=5)], ref=True)
    # one zero point for all channels
    m = quantize_model(shape, np.float32, dtype, None, {"scale": scales, "zero_point": [zps[0]] * n,
                                                         "quantized_dimension": axis})
    assert_matches_litert(m, [rand(shape, seed=axis, lo=-5, hi=5)], ref=True)


REQUANT = [(np.int8, np.int8), (np.int8, np.uint8), (np.uint8, np.int8), (np.uint8, np.uint8), (np.int8, np.int16),
           (np.uint8, np.int16), (np.int16, np.int8), (np.int16, np.int16), (np.int16, np.int32), (np.int32, np.int8),
           (np.int32, np.int16)]


@pytest.mark.parametrize("src,dst", REQUANT)
def test_requantize_random_params(src, dst):
    rng = np.random.default_rng(np.dtype(src).num * 31 + np.dtype(dst).num)
    for seed in range(5):
        s_in = float(10 ** rng.uniform(-3, 0))
        s_out = s_in * float(10 ** rng.uniform(-1.5, 1.5))
        zin = zp_for(rng, src) if src != np.int32 else int(rng.integers(-1000, 1000))
        zout = 0 if (src, dst) == (np.int16, np.int16) else zp_for(rng, dst)
        if dst == np.int32:
            zout = int(rng.integers(-1000, 1000))
        m = quantize_model((4, 70), src, dst, {"scale": [s_in], "zero_point": [zin]},
                           {"scale": [s_out], "zero_point": [zout]})
        x = full_range((4, 70), src, seed) if src != np.int32 else rand((4, 70), np.int32, seed, -50000, 50000)
        assert_matches_litert(m, [x], ref=True)


def test_int8_uint8_same_scale_shift_by_128():
    # the zero points differ by exactly 128: a pure offset (LiteRT flips the top bit)
    for src, dst, zin, zout in [(np.int8, np.uint8, -3, 125), (np.uint8, np.int8, 140, 12)]:
        m = quantize_model((256,), src, dst, {"scale": [0.02], "zero_point": [zin]},
                           {"scale": [0.02], "zero_point": [zout]})
        x = np.arange(256).astype(np.uint8).view(src)
        ours = assert_matches_litert(m, [x], ref=True)[0]
        np.testing.assert_array_equal(ours.view(np.uint8), x.view(np.uint8) ^ 0x80)


def test_quantize_errors():
    q = {"scale": [0.1], "zero_point": [0]}
    for in_dt, out_dt, qin, qout, words in [
        (np.float32, np.int8, None, None, "quantization"),
        (np.float32, np.int32, None, q, "int32"),
        (np.int8, np.int32, q, q, "requantize"),
        (np.int16, np.int16, q, {"scale": [0.1], "zero_point": [3]}, "zero points"),
        (np.int8, np.int8, None, q, "quantization"),
    ]:
        m = quantize_model((4,), in_dt, out_dt, qin, qout)
        it = numlite.Interpreter(model_content=m)
        with pytest.raises(RuntimeError) as e:
            it.allocate_tensors()
        assert "QUANTIZE (node 0)" in str(e.value) and words in str(e.value), str(e.value)


def test_quantize_default_path_note():
    """LiteRT's optimized QUANTIZE may round ties or saturate differently; recorded, not required."""
    m = quantize_model((64,), np.float32, np.int8, None, {"scale": [0.1], "zero_point": [3]})
    x = rand((64,), seed=1, lo=-20, hi=20)
    ours, theirs = run_numlite(m, [x])[0], run_litert(m, [x])[0]
    assert np.abs(ours.astype(int) - theirs).max() <= 1


# --- DEQUANTIZE ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_dequantize_random_params(dtype):
    rng = np.random.default_rng(np.dtype(dtype).num)
    for seed in range(5):
        q = {"scale": [float(10 ** rng.uniform(-5, 1))], "zero_point": [zp_for(rng, dtype)]}
        m = single_op_model("DEQUANTIZE", [In((3, 40), dtype, quant=q)], Out((3, 40)))
        assert_matches_litert(m, [full_range((3, 40), dtype, seed)], ref=True, **EXACT)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("axis", [0, 1, 3])
def test_dequantize_per_channel(dtype, axis):
    rng = np.random.default_rng(axis)
    shape = (3, 4, 2, 5)
    n = shape[axis]
    q = {"scale": (10 ** rng.uniform(-4, 0, n)).tolist(), "zero_point": [zp_for(rng, dtype) for _ in range(n)],
         "quantized_dimension": axis}
    m = single_op_model("DEQUANTIZE", [In(shape, dtype, quant=q)], Out(shape))
    assert_matches_litert(m, [full_range(shape, dtype, axis)], ref=True, **EXACT)


def test_dequantize_float16():
    x = rand((5, 7), seed=2, lo=-1000, hi=1000).astype(np.float16)
    x[0, :4] = [np.inf, -np.inf, 6.1e-5, -0.0]
    m = single_op_model("DEQUANTIZE", [In((5, 7), np.float16)], Out((5, 7)))
    assert_matches_litert(m, [x], ref=True, **EXACT)


def _folded_dequantize_model(weights, quant=None):
    """DEQUANTIZE(constant weights) -> ADD(input, dequantized): LiteRT's float16 / int8 weight form."""
    mb = ModelBuilder()
    x = mb.input("x", weights.shape, np.float32)
    w = mb.const("w", weights, quantization=quant)
    wf = mb.tensor("w_float", weights.shape, np.float32)
    y = mb.tensor("y", weights.shape, np.float32)
    mb.op("DEQUANTIZE", [w], [wf])
    mb.op("ADD", [x, wf], [y])
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("kind", ["float16", "int8", "int8_per_channel"])
def test_dequantize_constant_is_folded(kind):
    rng = np.random.default_rng(1)
    if kind == "float16":
        w, q = rng.uniform(-2, 2, (6, 8)).astype(np.float16), None
    elif kind == "int8":
        w, q = rng.integers(-127, 128, (6, 8)).astype(np.int8), {"scale": [0.013], "zero_point": [0]}
    else:
        w = rng.integers(-127, 128, (6, 8)).astype(np.int8)
        q = {"scale": (10 ** rng.uniform(-3, -1, 6)).tolist(), "zero_point": [0] * 6, "quantized_dimension": 0}
    m = _folded_dequantize_model(w, q)
    x = rand((6, 8), seed=3)
    assert_matches_litert(m, [x], ref=True, **EXACT)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    assert it._main.step_nodes == [1]  # only the ADD runs at invoke; DEQUANTIZE was folded
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((6, 8), np.float32))
    it.invoke()
    ref = run_litert(m, [np.zeros((6, 8), np.float32)], ref=True)[0]
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), ref)


def test_dequantize_errors():
    cases = [
        (In((4,), np.int32, quant={"scale": [0.1], "zero_point": [0]}), Out((4,)), "int32"),
        (In((4,), np.int16, quant={"scale": [0.1], "zero_point": [2]}), Out((4,)), "zero point"),
        (In((2, 2), np.int16, quant={"scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 1}),
         Out((2, 2)), "per channel"),
        (In((4,), np.int8, quant={"scale": [0.1], "zero_point": [0]}), Out((4,), np.int32), "float32"),
    ]
    for inp, out, words in cases:
        m = single_op_model("DEQUANTIZE", [inp], out)
        it = numlite.Interpreter(model_content=m)
        with pytest.raises(RuntimeError) as e:
            it.allocate_tensors()
        assert "DEQUANTIZE (node 0)" in str(e.value) and words in str(e.value), str(e.value)


def test_quantize_dequantize_round_trip_const():
    # QUANTIZE of a constant folds too
    q = {"scale": [0.05], "zero_point": [-7]}
    m = single_op_model("QUANTIZE", [Const(rand((10,), seed=4, lo=-3, hi=3))], Out((10,), np.int8, quant=q))
    assert_matches_litert(m, [], ref=True)
