"""Comparisons, logical ops, SELECT / SELECT_V2 against LiteRT 2.3.

All results are bool or copies of the inputs, so every comparison is exact.  Quantized
comparisons are checked against LiteRT's reference kernels (BUILTIN_REF), bit for bit, over every
stored value of one input against random values of the other, on both of LiteRT's loops (equal
shapes and broadcasting).
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run_numlite, single_op_model

import numlite
from numlite.ops.base import PrepareError
from numlite.ops.registry import supported_builtins

CMP_OPS = {"EQUAL": 5, "NOT_EQUAL": 4, "LESS": 3, "LESS_EQUAL": 2, "GREATER": 2, "GREATER_EQUAL": 3}
NP_CMP = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less, "LESS_EQUAL": np.less_equal,
          "GREATER": np.greater, "GREATER_EQUAL": np.greater_equal}
PLAIN = [np.float32, np.float16, np.int16, np.int32, np.int64]
BCAST = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1, 3), (2, 1)), ((), (5,)), ((), ()), ((0, 3), (1, 3)),
         ((2, 1, 1, 1, 1, 3), (1, 4, 1, 1, 1, 1))]


def q(scale, zp):
    return {"scale": scale, "zero_point": zp}


def cmp_model(op, sa, sb, dt, qa=None, qb=None, version=1, out=None):
    out = np.broadcast_shapes(sa, sb) if out is None else out
    return single_op_model(op, [In(sa, dt, quant=qa), In(sb, dt, quant=qb)], Out(out, np.bool_), version=version)


def values(shape, dt, seed):
    if np.dtype(dt) == np.bool_:
        return rand(shape, np.bool_, seed=seed)
    if np.dtype(dt).kind == "f":
        return rand(shape, np.float32, seed=seed, lo=-3, hi=3).round().astype(dt)  # many ties
    info = np.iinfo(dt)
    return rand(shape, dt, seed=seed, lo=max(info.min, -4), hi=min(info.max, 4))


@pytest.mark.parametrize("op", sorted(CMP_OPS))
def test_compare_plain(op):
    dtypes = PLAIN + ([np.bool_] if op in ("EQUAL", "NOT_EQUAL") else [])
    for dt in dtypes:
        for k, (sa, sb) in enumerate(BCAST):
            a, b = values(sa, dt, k), values(sb, dt, k + 50)
            m = cmp_model(op, sa, sb, dt)
            if op == "NOT_EQUAL" and dt == np.int16:
                # LiteRT leaves this output unwritten (quirk 5e of _compare): check the meaning
                np.testing.assert_array_equal(run_numlite(m, [a, b])[0], NP_CMP[op](a, b))
                continue
            assert_matches_litert(m, [a, b], ref=True)
            assert_matches_litert(m, [b.reshape(sa) if sa == sb else a, b])


@pytest.mark.parametrize("op", sorted(CMP_OPS))
def test_compare_nan_inf(op):
    x = np.array([np.nan, np.nan, 1.0, np.inf, -np.inf, 0.0, -0.0, np.nan, 3.0], np.float32)
    y = np.array([np.nan, 1.0, np.nan, np.inf, np.inf, -0.0, 0.0, -np.inf, 3.0], np.float32)
    m = cmp_model(op, x.shape, y.shape, np.float32)
    assert_matches_litert(m, [x, y], ref=True)
    assert_matches_litert(m, [x, y])


@pytest.mark.parametrize("op", sorted(CMP_OPS))
def test_compare_versions(op):
    top = CMP_OPS[op]
    assert supported_builtins()[op] == list(range(1, top + 1))
    a, b = values((2, 3), np.float32, 1), values((3,), np.float32, 2)
    for v in range(1, top + 1):
        assert_matches_litert(cmp_model(op, (2, 3), (3,), np.float32, version=v), [a, b])


QPARAMS = [(0.05, 3, 0.1, -2), (0.5, 0, 0.5, 0), (1e-4, 1, 3e-4, 0), (3.0, 2, 0.7, 1), (0.02, 0, 0.0199999, 0),
           (0.999, -5, 1.5, 4)]


@pytest.mark.parametrize("op", sorted(CMP_OPS))
@pytest.mark.parametrize("dt", [np.int8, np.uint8, np.int16])
def test_compare_quantized_bit_exact(op, dt):
    info = np.iinfo(dt)
    step = max(1, (int(info.max) - int(info.min)) // 200)
    a = np.arange(int(info.min), int(info.max) + 1, step).astype(dt)[:, None]
    for k, (s1, z1, s2, z2) in enumerate(QPARAMS):
        if dt == np.uint8:
            z1, z2 = abs(z1) + 100, abs(z2) + 120
        b = rand((1, 37), dt, seed=k, lo=info.min, hi=info.max)
        out = (a.shape[0], 37)
        mb = cmp_model(op, a.shape, b.shape, dt, q(s1, z1), q(s2, z2))
        ours = assert_matches_litert(mb, [a, b], ref=True)[0]
        a2, b2 = np.broadcast_to(a, out).copy(), np.broadcast_to(b, out).copy()
        ms = cmp_model(op, out, out, dt, q(s1, z1), q(s2, z2))
        np.testing.assert_array_equal(assert_matches_litert(ms, [a2, b2], ref=True)[0], ours)


def test_compare_quantized_rescales_not_raw():
    # 10 * 0.1 == 20 * 0.05: EQUAL rescales int8 / uint8 / int16, the ordering ops rescale 8-bit only
    for dt in (np.int8, np.uint8, np.int16):
        a, b = np.array([10, 7], dt), np.array([20, 15], dt)
        for op in CMP_OPS:
            m = cmp_model(op, (2,), (2,), dt, q(0.1, 0), q(0.05, 0))
            got = assert_matches_litert(m, [a, b], ref=True)[0]
            raw = dt == np.int16 and op not in ("EQUAL", "NOT_EQUAL")
            want = NP_CMP[op](a, b) if raw else NP_CMP[op](a * 0.1, np.array([1.0, 0.75]))
            np.testing.assert_array_equal(got, want)


def test_compare_refusals():
    for qa, qb, why in [(q(1.0, 0), q(0.5, 0), "scale 1.0"), (q(0.5, 0), None, "positive scale"),
                        (q(0.5, 0), q(-0.5, 0), "positive scale")]:
        m = cmp_model("LESS", (3,), (3,), np.int8, qa, qb)
        with pytest.raises(PrepareError, match=why):
            run_numlite(m, [np.zeros(3, np.int8)] * 2)
    # int16 scales that make LiteRT's (undefined) rounding depend on its loop
    m = cmp_model("EQUAL", (3,), (3,), np.int16, q(1000.0, 0), q(0.5, 0))
    with pytest.raises(PrepareError, match="undefined"):
        run_numlite(m, [np.zeros(3, np.int16)] * 2)


def test_compare_unquantized_int8_compares_stored_values():
    # LiteRT aborts on these (a CHECK on scale 0); numlite compares the stored values
    a, b = np.array([-128, 0, 5, 127], np.int8), np.array([-128, 1, 4, -1], np.int8)
    for op, f in NP_CMP.items():
        np.testing.assert_array_equal(run_numlite(cmp_model(op, (4,), (4,), np.int8), [a, b])[0], f(a, b))


def test_compare_errors():
    m = cmp_model("LESS", (3,), (3,), np.bool_)
    with pytest.raises(PrepareError, match=r"LESS \(node 0\).*tensor 0 'in0' \(bool\[3\]\).*supported"):
        run_numlite(m, [np.zeros(3, bool)] * 2)
    mb = single_op_model("EQUAL", [In((3,), np.float32), In((3,), np.int32)], Out((3,), np.bool_))
    with pytest.raises(PrepareError, match="types differ"):
        run_numlite(mb, [np.zeros(3, np.float32), np.zeros(3, np.int32)])
    mc = cmp_model("EQUAL", (2, 3), (4,), np.float32, out=(2, 3))
    with pytest.raises(PrepareError, match="broadcast"):
        numlite.Interpreter(model_content=mc).allocate_tensors()
    md = cmp_model("EQUAL", (2,) + (1,) * 8, (3,), np.float32)
    with pytest.raises(PrepareError, match="at most 8"):
        numlite.Interpreter(model_content=md).allocate_tensors()


# --- logical ops -----------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["LOGICAL_AND", "LOGICAL_OR"])
def test_logical_binary(op):
    assert supported_builtins()[op] == [1]
    for k, (sa, sb) in enumerate(BCAST[:6]):
        a, b = rand(sa, np.bool_, seed=k), rand(sb, np.bool_, seed=k + 9)
        out = np.broadcast_shapes(sa, sb)
        m = single_op_model(op, [In(sa, np.bool_), In(sb, np.bool_)], Out(out, np.bool_))
        assert_matches_litert(m, [a, b])
    bad = single_op_model(op, [In((2,), np.int32), In((2,), np.int32)], Out((2,), np.bool_))
    with pytest.raises(PrepareError, match=rf"{op} \(node 0\).*int32.*supported: bool"):
        run_numlite(bad, [np.zeros(2, np.int32)] * 2)


def test_logical_not():
    assert supported_builtins()["LOGICAL_NOT"] == [1]
    for k, shape in enumerate([(), (5,), (2, 3, 4), (0, 2)]):
        x = rand(shape, np.bool_, seed=k)
        assert_matches_litert(single_op_model("LOGICAL_NOT", [In(shape, np.bool_)], Out(shape, np.bool_)), [x])
    bad = single_op_model("LOGICAL_NOT", [In((2,), np.float32)], Out((2,), np.float32))
    with pytest.raises(PrepareError, match="float32"):
        run_numlite(bad, [np.zeros(2, np.float32)])


# --- SELECT / SELECT_V2 ------------------------------------------------------------------------
SELECT_TYPES = [np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_, np.float16, np.uint16,
                np.uint32, np.uint64, np.float64, np.complex64]


def select_model(op, sc, sx, sy, dt, out=None, quant=(None, None, None), version=1):
    out = np.broadcast_shapes(sc, sx, sy) if out is None else out
    return single_op_model(op, [In(sc, np.bool_), In(sx, dt, quant=quant[0]), In(sy, dt, quant=quant[1])],
                           Out(out, dt, quant=quant[2]), version=version)


def sel_values(shape, dt, seed):
    if np.dtype(dt) == np.bool_:
        return rand(shape, np.bool_, seed=seed)
    if np.dtype(dt).kind == "c":
        return (rand(shape, np.float32, seed=seed) + 1j * rand(shape, np.float32, seed=seed + 1)).astype(dt)
    return rand(shape, np.float32, seed=seed, lo=0, hi=100).astype(dt)


@pytest.mark.parametrize("op", ["SELECT", "SELECT_V2"])
def test_select_dtypes_and_versions(op):
    top = {"SELECT": 4, "SELECT_V2": 2}[op]
    assert supported_builtins()[op] == list(range(1, top + 1))
    c = rand((2, 3), np.bool_, seed=1)
    for k, dt in enumerate(SELECT_TYPES):
        x, y = sel_values((2, 3), dt, k), sel_values((2, 3), dt, k + 20)
        assert_matches_litert(select_model(op, (2, 3), (2, 3), (2, 3), dt), [c, x, y])
    x, y = sel_values((2, 3), np.float32, 0), sel_values((2, 3), np.float32, 1)
    for v in range(1, top + 1):
        assert_matches_litert(select_model(op, (2, 3), (2, 3), (2, 3), np.float32, version=v), [c, x, y])


def test_select_low_rank_condition():
    for sc, sx in [((), (2, 3)), ((4,), (4, 2, 3)), ((3,), (3,)), ((1,), (1, 5)), ((0,), (0, 2))]:
        c, x, y = rand(sc, np.bool_, seed=2), rand(sx, seed=3), rand(sx, seed=4)
        assert_matches_litert(select_model("SELECT", sc, sx, sx, np.float32, out=sx), [c, x, y])
    bad = select_model("SELECT", (2,), (2, 3), (1, 3), np.float32, out=(2, 3))
    with pytest.raises(PrepareError, match="same shape"):
        numlite.Interpreter(model_content=bad).allocate_tensors()
    bad = select_model("SELECT", (3,), (2, 3), (2, 3), np.float32, out=(2, 3))
    with pytest.raises(PrepareError, match="rank 1"):
        numlite.Interpreter(model_content=bad).allocate_tensors()


def test_select_v2_broadcast():
    cases = [((2, 1, 3), (1, 4, 1), (3,)), ((), (2, 3), ()), ((5,), (), (1, 5)), ((0, 1), (1, 3), (1, 1)),
             ((2, 1, 1, 1, 1, 1, 3), (1, 2, 1, 1, 1, 1, 1), (3,))]
    for k, (sc, sx, sy) in enumerate(cases):
        c, x, y = rand(sc, np.bool_, seed=k), rand(sx, np.int32, seed=k, lo=-9, hi=9), rand(sy, np.int32, seed=k + 1,
                                                                                            lo=-9, hi=9)
        assert_matches_litert(select_model("SELECT_V2", sc, sx, sy, np.int32), [c, x, y])
    bad = select_model("SELECT_V2", (2,) + (1,) * 8, (3,), (3,), np.float32, out=(2,) + (1,) * 7 + (3,))
    with pytest.raises(PrepareError, match="at most 8"):
        numlite.Interpreter(model_content=bad).allocate_tensors()


@pytest.mark.parametrize("op", ["SELECT", "SELECT_V2"])
def test_select_scalar_keeps_declared_output_shape(op):
    # every tensor holds one element: LiteRT keeps the output's declared shape
    c, x, y = np.array([True]), np.array(3.0, np.float32), np.array([[5.0]], np.float32)
    m = single_op_model(op, [In((1,), np.bool_), In((), np.float32), In((1, 1), np.float32)], Out((1, 1, 1)))
    assert assert_matches_litert(m, [c, x, y])[0].shape == (1, 1, 1)


@pytest.mark.parametrize("op", ["SELECT", "SELECT_V2"])
def test_select_quantized_copies_stored_values(op):
    c = rand((2, 4), np.bool_, seed=5)
    for dt in (np.int8, np.uint8, np.int16):
        x, y = rand((2, 4), dt, seed=6, lo=0, hi=100), rand((2, 4), dt, seed=7, lo=0, hi=100)
        m = select_model(op, (2, 4), (2, 4), (2, 4), dt, quant=(q(0.05, 3), q(0.1, 0), q(0.2, 1)))
        got = assert_matches_litert(m, [c, x, y], ref=True)[0]
        np.testing.assert_array_equal(got, np.where(c, x, y))


def test_select_errors():
    m = single_op_model("SELECT_V2", [In((2,), np.int32), In((2,)), In((2,))], Out((2,)))
    with pytest.raises(PrepareError, match=r"SELECT_V2 \(node 0\).*condition.*int32.*supported: bool"):
        run_numlite(m, [np.zeros(2, np.int32), np.zeros(2, np.float32), np.zeros(2, np.float32)])
    m = single_op_model("SELECT_V2", [In((2,), np.bool_), In((2,)), In((2,), np.int32)], Out((2,)))
    with pytest.raises(PrepareError, match="types differ"):
        numlite.Interpreter(model_content=m).allocate_tensors()


def test_select_allocates_nothing():
    from util import invoke_peak_bytes

    m = select_model("SELECT_V2", (64, 1), (64, 256), (256,), np.float32)
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    it.invoke()
    assert invoke_peak_bytes(it) < 4096
