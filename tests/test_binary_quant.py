"""Quantized ADD, SUB, MUL, SQUARED_DIFFERENCE against LiteRT's reference kernels: bit-exact.

Quantization parameters are seeded random: scales over a few orders of magnitude, zero points
over the type's range (0 for int16), inputs over the whole type range; broadcasting shapes and
every clamping fused activation.  LiteRT aborts the process on parameters whose multipliers
leave (0, 1) (ADD, SQUARED_DIFFERENCE), so the random scales stay within what its kernels take;
numlite reports those as prepare errors (tested without LiteRT).
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

import numlite

SHAPES = [((2, 3, 4), (2, 3, 4)), ((1, 4, 4, 3), (3,)), ((2, 1, 5), (1, 4, 1)), ((), (3, 2)), ((4, 1), ()),
          ((2, 1, 3, 1, 2), (1, 3, 1, 4, 1))]
ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def qparams(rng, dtype, lo_exp=-3.0, hi_exp=0.0):
    scale = float(10 ** rng.uniform(lo_exp, hi_exp))
    if np.dtype(dtype) == np.int16:
        return {"scale": [scale], "zero_point": [0]}
    info = np.iinfo(dtype)
    return {"scale": [scale], "zero_point": [int(rng.integers(info.min, info.max + 1))]}


def full_range(shape, dtype, seed):
    info = np.iinfo(dtype)
    return rand(shape, dtype, seed=seed, lo=info.min, hi=info.max)


def qmodel(op, sa, sb, dtype, qa, qb, qo, out_dtype=None, **kw):
    return single_op_model(op, [In(sa, dtype, quant=qa), In(sb, dtype, quant=qb)],
                           Out(np.broadcast_shapes(sa, sb), out_dtype or dtype, quant=qo), **kw)


def check(op, sa, sb, dtype, qa, qb, qo, seed, out_dtype=None, **kw):
    m = qmodel(op, sa, sb, dtype, qa, qb, qo, out_dtype, **kw)
    assert_matches_litert(m, [full_range(sa, dtype, seed), full_range(sb, dtype, seed + 1)], ref=True)


def out_scale(op, qa, qb, rng):
    """An output scale near the result's natural range, so results are not all saturated."""
    sa, sb = qa["scale"][0], qb["scale"][0]
    base = {"ADD": max(sa, sb) * 2, "SUB": max(sa, sb) * 2, "MUL": sa * sb * 128,
            "SQUARED_DIFFERENCE": (max(sa, sb) * 128) ** 2 / 128}[op]
    return float(base * 10 ** rng.uniform(-1, 1))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"])
def test_random_params_broadcast(op, dtype):
    if op == "SQUARED_DIFFERENCE" and dtype != np.int8:
        pytest.skip("LiteRT's SQUARED_DIFFERENCE is quantized for int8 only")
    rng = np.random.default_rng(abs(hash((op, np.dtype(dtype).name))) % 2**32)
    for k, (sa, sb) in enumerate(SHAPES):
        for seed in range(2):
            qa, qb = qparams(rng, dtype), qparams(rng, dtype)
            qo = qparams(rng, dtype)
            qo["scale"] = [out_scale(op, qa, qb, rng)]
            check(op, sa, sb, dtype, qa, qb, qo, seed=10 * k + seed)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_fused_activations(op, dtype, act):
    rng = np.random.default_rng(7)
    for seed in range(3):
        qa, qb = qparams(rng, dtype, -2, -1), qparams(rng, dtype, -2, -1)
        qo = qparams(rng, dtype)
        qo["scale"] = [out_scale(op, qa, qb, rng) / 4]
        check(op, (3, 5, 7), (5, 1), dtype, qa, qb, qo, seed=seed, fused_activation_function=act)


def test_same_scale_and_extreme_zero_points():
    for dtype in (np.int8, np.uint8):
        info = np.iinfo(dtype)
        for zp in (info.min, info.max):
            q = {"scale": [0.05], "zero_point": [zp]}
            for op in ("ADD", "SUB", "MUL"):
                check(op, (4, 64), (64,), dtype, q, q, q, seed=3)
        q = {"scale": [0.05], "zero_point": [info.max]}
        if dtype == np.int8:
            check("SQUARED_DIFFERENCE", (4, 64), (64,), dtype, q, q, {"scale": [1.0], "zero_point": [-128]}, seed=3)


def test_sub_output_multiplier_above_one():
    # SUB (not ADD) takes an output scale so narrow that its multiplier exceeds 1; LiteRT's
    # reference kernel then applies a negative rounding shift (see _qbinary): matched as measured
    qa = {"scale": [0.5], "zero_point": [3]}
    qo = {"scale": [1e-7], "zero_point": [-2]}
    m = qmodel("SUB", (16,), (16,), np.int8, qa, qa, qo)
    a = np.arange(-8, 8, dtype=np.int8)
    assert_matches_litert(m, [a, np.full(16, 3, np.int8)], ref=True)
    rng = np.random.default_rng(5)
    for dtype in (np.int8, np.uint8, np.int16):
        for so in (3e-8, 1e-7, 2e-6):
            qa, qb = qparams(rng, dtype, -1, 0), qparams(rng, dtype, -1, 0)
            qo = qparams(rng, dtype)
            qo["scale"] = [so * (1 if dtype != np.int16 else 2**-5)]
            check("SUB", (3, 20), (20,), dtype, qa, qb, qo, seed=4)


@pytest.mark.parametrize("op", ["ADD", "SUB"])
def test_int16_power_of_two_scales(op):
    # all three scales powers of two: the LSTM path (one input rescaled by a rounding shift)
    for sa_exp, sb_exp, so_exp in [(-10, -10, -10), (-12, -10, -10), (-10, -13, -10), (-15, -15, -15)]:
        for act in ACTS:
            m = qmodel(op, (3, 40), (3, 40), np.int16, {"scale": [2.0**sa_exp], "zero_point": [0]},
                       {"scale": [2.0**sb_exp], "zero_point": [0]}, {"scale": [2.0**so_exp], "zero_point": [0]},
                       fused_activation_function=act)
            assert_matches_litert(m, [full_range((3, 40), np.int16, 1), full_range((3, 40), np.int16, 2)], ref=True)
    # pot_scale_int16=False forces the general path on the same scales
    m = qmodel(op, (3, 40), (40,), np.int16, {"scale": [2.0**-12], "zero_point": [0]},
               {"scale": [2.0**-10], "zero_point": [0]}, {"scale": [2.0**-10], "zero_point": [0]},
               pot_scale_int16=False)
    assert_matches_litert(m, [full_range((3, 40), np.int16, 1), full_range((40,), np.int16, 2)], ref=True)


def test_sub_int16_power_of_two_broadcasts():
    m = qmodel("SUB", (3, 1, 8), (5, 1), np.int16, {"scale": [2.0**-12], "zero_point": [0]},
               {"scale": [2.0**-10], "zero_point": [0]}, {"scale": [2.0**-10], "zero_point": [0]})
    assert_matches_litert(m, [full_range((3, 1, 8), np.int16, 1), full_range((5, 1), np.int16, 2)], ref=True)


@pytest.mark.parametrize("out_dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6"])
def test_mul_int16_to_8bit(out_dtype, act):
    # the legacy LSTM form: Q0.15 inputs, 8-bit output
    q16 = {"scale": [2.0**-15], "zero_point": [0]}
    qo = {"scale": [2.0**-7], "zero_point": [5 if out_dtype == np.int8 else 128]}
    m = qmodel("MUL", (4, 50), (4, 50), np.int16, q16, q16, qo, out_dtype=out_dtype, fused_activation_function=act)
    a, b = full_range((4, 50), np.int16, 1), full_range((4, 50), np.int16, 2)
    a[0, :3] = b[0, :3] = -32768
    assert_matches_litert(m, [a, b], ref=True)


def test_unquantized_int16_add_and_mul_wrap():
    for op in ("ADD", "MUL"):
        m = single_op_model(op, [In((3, 4), np.int16), In((4,), np.int16)], Out((3, 4), np.int16))
        assert_matches_litert(m, [full_range((3, 4), np.int16, 1), full_range((4,), np.int16, 2)], ref=True)


def test_constant_input_folds():
    # a quantized ADD of two constants is computed once at prepare
    from util import Const

    q = {"scale": [0.1], "zero_point": [-3]}
    m = single_op_model("ADD", [Const(np.arange(-5, 5, dtype=np.int8), quant=q),
                                Const(np.arange(10, dtype=np.int8), quant=q)], Out((10,), np.int8, quant=q))
    assert_matches_litert(m, [], ref=True)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    assert it._main.step_nodes == []


def prepare_error(m):
    it = numlite.Interpreter(model_content=m)
    with pytest.raises(RuntimeError) as e:
        it.allocate_tensors()
    return str(e.value)


def test_errors():
    q = {"scale": [0.1], "zero_point": [0]}
    # 8-bit inputs without quantization parameters
    m = single_op_model("ADD", [In((4,), np.int8), In((4,), np.int8)], Out((4,), np.int8))
    assert "ADD (node 0)" in prepare_error(m) and "quantization" in prepare_error(m)
    # an output multiplier LiteRT's ADD cannot encode (it aborts): numlite reports it
    m = qmodel("ADD", (4,), (4,), np.int8, q, q, {"scale": [1e-9], "zero_point": [0]})
    assert "multiplier" in prepare_error(m)
    # int16 needs zero point 0
    m = qmodel("ADD", (4,), (4,), np.int16, q, {"scale": [0.1], "zero_point": [3]}, q)
    assert "zero point" in prepare_error(m)
    # mixed input types, wrong output type
    m = single_op_model("MUL", [In((4,), np.int8, quant=q), In((4,), np.uint8, quant=q)], Out((4,), np.int8, quant=q))
    assert "input types differ" in prepare_error(m)
    m = qmodel("SUB", (4,), (4,), np.int8, q, q, q, out_dtype=np.uint8)
    assert "output" in prepare_error(m)
    # per-channel quantized activations
    m = qmodel("ADD", (2, 2), (2, 2), np.int8, {"scale": [0.1, 0.2], "zero_point": [0, 0], "quantized_dimension": 1},
               q, q)
    assert "per channel" in prepare_error(m)
    # int16 ADD on the power-of-two path does not broadcast (LiteRT's reference kernel cannot)
    p = {"scale": [2.0**-10], "zero_point": [0]}
    m = qmodel("ADD", (2, 3), (3,), np.int16, p, p, p)
    assert "broadcast" in prepare_error(m)


def test_default_path_note():
    """LiteRT's default (optimized / XNNPACK) kernels agree here for these parameters; recorded, not required."""
    rng = np.random.default_rng(3)
    for op in ("ADD", "MUL"):
        qa, qb = qparams(rng, np.int8), qparams(rng, np.int8)
        qo = qparams(rng, np.int8)
        qo["scale"] = [out_scale(op, qa, qb, rng)]
        m = qmodel(op, (2, 64), (64,), np.int8, qa, qb, qo)
        feeds = [full_range((2, 64), np.int8, 1), full_range((64,), np.int8, 2)]
        ours, theirs = run_numlite(m, feeds)[0], run_litert(m, feeds)[0]
        assert np.abs(ours.astype(int) - theirs).max() <= 1


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE"])
def test_scalar_inputs(op, dtype):
    """fuzz_quantize (third pass): an int16 ADD of two 0-d tensors raised TypeError ('return arrays
    must be of ArrayType'): NumPy's arithmetic on 0-d arrays gives a scalar, which the clamp wrote
    into with out=.  Every path on 0-d inputs now, bit-exact with LiteRT."""
    if op == "SQUARED_DIFFERENCE" and dtype != np.int8:
        pytest.skip("LiteRT's SQUARED_DIFFERENCE is quantized for int8 only")
    rng = np.random.default_rng(7)
    for seed in range(3):
        qa, qb = qparams(rng, dtype), qparams(rng, dtype)
        check(op, (), (), dtype, qa, qb, {"scale": [out_scale(op, qa, qb, rng)], "zero_point": [0]}, seed)
    if dtype == np.int16 and op in ("ADD", "SUB"):  # the power-of-two path
        p = {"scale": [2.0**-10], "zero_point": [0]}
        check(op, (), (), dtype, {"scale": [2.0**-12], "zero_point": [0]}, p, p, 5)
