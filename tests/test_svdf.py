"""SVDF against LiteRT 2.3 (float32, hybrid and int8 against BUILTIN_REF).

Each model is invoked three times with different inputs, so the activation-state variable carried
between calls is checked too.  Tolerances: float32 compares with ``rtol=atol=1e-5`` (the feature
product, a float32 dot product of ``I <= 16`` terms below 1, is summed by BLAS in another order
than LiteRT's loop, a few ulps; the time and rank sums are reproduced in LiteRT's order); TANH
also differs by the ulp or two between NumPy's and the C library's tanh.  Hybrid results are
bit-exact (0) except under TANH, int8 results are bit-exact.
"""

import numpy as np
import pytest

import numlite
from numlite.builder import ModelBuilder

EXACT = {"rtol": 0.0, "atol": 0.0}
CLOSE = {"rtol": 1e-5, "atol": 1e-5}


def _run(model, feeds_list, ref):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    res = []
    for cls in (numlite.Interpreter, Interpreter):
        kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if (ref and cls is Interpreter) else {}
        it = cls(model_content=model, **kw)
        it.allocate_tensors()
        i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
        got = []
        for x in feeds_list:
            it.set_tensor(i, x)
            it.invoke()
            got.append(it.get_tensor(o))
        res.append(got)
    return res


def _compare(model, feeds, tol, ref=False):
    ours, theirs = _run(model, feeds, ref)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, err_msg=f"invoke {k}", **tol)


def _q8(w, rng=None):
    s = np.float32(np.abs(w).max() / 127)
    return np.clip(np.round(w / s), -127, 127).astype(np.int8), s


def _float_model(rng, batch, isz, units, rank, mem, hybrid, asym, act, bias=True):
    nf = units * rank
    mb = ModelBuilder()
    x = mb.input("x", (batch, isz), np.float32)
    wf = rng.uniform(-0.5, 0.5, (nf, isz)).astype(np.float32)
    wt = rng.uniform(-0.5, 0.5, (nf, mem)).astype(np.float32)
    if hybrid:
        qf, sf = _q8(wf)
        qt, st = _q8(wt)
        wfi = mb.const("wf", qf, quantization={"scale": [sf], "zero_point": [0]})
        wti = mb.const("wt", qt, quantization={"scale": [st], "zero_point": [0]})
    else:
        wfi, wti = mb.const("wf", wf), mb.const("wt", wt)
    b = mb.const("b", rng.uniform(-0.3, 0.3, units).astype(np.float32)) if bias else -1
    s = mb.tensor("s", (batch, nf * mem), np.float32, is_variable=True)
    y = mb.tensor("y", (batch, units), np.float32)
    mb.op("SVDF", [x, wfi, wti, b, s], [y], version=3 if asym else (2 if hybrid else 1), options_table="SVDFOptions",
          rank=rank, fused_activation_function=act, asymmetric_quantize_inputs=asym)
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("hybrid,asym", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("batch,isz,units,rank,mem", [(1, 3, 4, 1, 5), (2, 10, 3, 2, 4), (3, 16, 5, 3, 1)])
@pytest.mark.parametrize("act", ["NONE", "RELU"])
def test_svdf_float_hybrid(hybrid, asym, batch, isz, units, rank, mem, act):
    rng = np.random.default_rng(batch * 7 + rank)
    model = _float_model(rng, batch, isz, units, rank, mem, hybrid, asym, act)
    feeds = [rng.uniform(-1, 1, (batch, isz)).astype(np.float32) for _ in range(3)]
    _compare(model, feeds, EXACT if hybrid else CLOSE)


@pytest.mark.parametrize("hybrid", [False, True])
@pytest.mark.parametrize("act", ["TANH", "RELU6", "RELU_N1_TO_1", "SIGN_BIT"])
def test_svdf_activations_no_bias(hybrid, act):
    rng = np.random.default_rng(11)
    model = _float_model(rng, 2, 6, 4, 2, 3, hybrid, False, act, bias=False)
    feeds = [rng.uniform(-2, 2, (2, 6)).astype(np.float32) for _ in range(3)]
    feeds[1][0] = 0  # a zero row; LiteRT skips quantizing an all-zero batch only
    _compare(model, feeds, EXACT if hybrid and act != "TANH" else CLOSE)


def _int8_model(rng, batch, isz, units, rank, mem, bias=True):
    nf = units * rank
    mb = ModelBuilder()
    sx, zx = np.float32(rng.uniform(0.005, 0.05)), int(rng.integers(-20, 20))
    x = mb.input("x", (batch, isz), np.int8, quantization={"scale": [sx], "zero_point": [zx]})
    wf = mb.const("wf", rng.integers(-127, 128, (nf, isz)).astype(np.int8),
                  quantization={"scale": [np.float32(rng.uniform(0.002, 0.02))], "zero_point": [0]})
    wt = mb.const("wt", rng.integers(-32767, 32768, (nf, mem)).astype(np.int16),
                  quantization={"scale": [np.float32(rng.uniform(1e-6, 1e-5))], "zero_point": [0]})
    b = mb.const("b", rng.integers(-5000, 5000, units).astype(np.int32),
                 quantization={"scale": [1e-6], "zero_point": [0]}) if bias else -1
    s = mb.tensor("s", (batch, nf * mem), np.int16, is_variable=True,
                  quantization={"scale": [np.float32(rng.uniform(0.002, 0.01))], "zero_point": [0]})
    yq = {"scale": [np.float32(rng.uniform(0.01, 0.05))], "zero_point": [int(rng.integers(-10, 10))]}
    y = mb.tensor("y", (batch, units), np.int8, quantization=yq)
    mb.op("SVDF", [x, wf, wt, b, s], [y], version=4, options_table="SVDFOptions", rank=rank,
          fused_activation_function="RELU")
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("batch,isz,units,rank,mem", [(1, 3, 4, 1, 5), (2, 10, 3, 2, 4), (3, 16, 5, 3, 8)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_svdf_int8(batch, isz, units, rank, mem, bias, seed):
    rng = np.random.default_rng(seed * 100 + isz)
    model = _int8_model(rng, batch, isz, units, rank, mem, bias)
    feeds = [rng.integers(-128, 128, (batch, isz)).astype(np.int8) for _ in range(4)]
    _compare(model, feeds, EXACT, ref=True)


def test_svdf_bad_rank():
    mb = ModelBuilder()
    x = mb.input("x", (1, 3), np.float32)
    wf = mb.const("wf", np.zeros((5, 3), np.float32))
    wt = mb.const("wt", np.zeros((5, 2), np.float32))
    s = mb.tensor("s", (1, 10), np.float32, is_variable=True)
    y = mb.tensor("y", (1, 2), np.float32)
    mb.op("SVDF", [x, wf, wt, -1, s], [y], options_table="SVDFOptions", rank=2)
    mb.output(y)
    it = numlite.Interpreter(model_content=mb.build())
    with pytest.raises(Exception, match=r"SVDF \(node 0\).*rank 2"):
        it.allocate_tensors()
