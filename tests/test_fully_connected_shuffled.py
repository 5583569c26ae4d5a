"""FULLY_CONNECTED with SHUFFLED4x16INT8 weights (legacy uint8 models) against LiteRT.

The weights are written shuffled here (``shuffle_4x16``, an explicit loop over TFLite's layout);
numlite de-shuffles them at prepare.  Outputs are int16 and the uint8 workspace (TFLite's second
output, the input with its sign bit flipped, laid out per batch size); both are compared exactly
with LiteRT's reference kernel (BUILTIN_REF).  LiteRT's default resolver runs the optimized
shuffled kernel, which ignores the fused activation (it only saturates to int16): it is compared
without activation (bit-exact), and the activation difference is recorded, not asserted.
Models without a bias are not run on LiteRT (its shuffled kernels dereference the missing bias
and crash the process): numlite treats a missing bias as zero, checked against NumPy.
"""

import numpy as np
import pytest
from util import run_litert, run_numlite

from numlite.builder import ModelBuilder
from numlite.ops import quant

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
ACT_CODES = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def shuffle_4x16(w: np.ndarray) -> np.ndarray:
    """TFLite's SHUFFLED4x16INT8 bytes of uint8 weights ``[N, K]``: for each block of 4 rows, for
    each block of 16 columns, the 4 x 16 values row by row, each with its sign bit flipped."""
    n, k = w.shape
    out = []
    for r in range(0, n, 4):
        for c in range(0, k, 16):
            for i in range(4):
                out.extend(int(v) ^ 0x80 for v in w[r + i, c:c + 16])
    return np.array(out, np.uint8).reshape(n, k)


def _model(in_shape, n, w, bias, s_in, s_w, s_out, act="NONE", zo=0, zx=128, zw=128, keep=False,
           ws_shape=None, ws_dtype=np.uint8, ws_output=True, runtime_bias=False, outputs=2, wq=None,
           in_dtype=np.uint8, out_dtype=np.int16, const_w=True):
    k = in_shape[-1]
    mb = ModelBuilder()
    x = mb.input("x", in_shape, in_dtype, quantization={"scale": [s_in], "zero_point": [zx]})
    wq = wq or {"scale": [s_w], "zero_point": [zw]}
    if const_w:
        wt = mb.const("w", shuffle_4x16(w) if w.dtype == np.uint8 else w, quantization=wq)
    else:
        wt = mb.input("w", (n, k), np.uint8, quantization=wq)
    bq = {"scale": [np.float32(s_in) * np.float32(s_w)], "zero_point": [0]}
    if bias is None:
        b = -1
    elif runtime_bias:
        b = mb.input("b", (n,), np.int32, quantization=bq)
    else:
        b = mb.const("b", bias, quantization=bq)
    m = int(np.prod(in_shape[:-1]))
    y = mb.tensor("y", (*in_shape[:-1], n) if keep else (m, n), out_dtype,
                  quantization={"scale": [s_out], "zero_point": [zo]})
    ws = mb.tensor("ws", ws_shape or (m, k), ws_dtype)
    mb.op("FULLY_CONNECTED", [x, wt, b], [y, ws][:outputs], version=1, weights_format="SHUFFLED4x16INT8",
          fused_activation_function=act, keep_num_dims=keep)
    mb.output(y)
    if ws_output and outputs == 2:
        mb.output(ws)
    return mb.build()


def _params(seed, in_shape, n, full=True):
    """Seeded uint8 weights / input over the full range, int32 bias, scales over decades."""
    rng = np.random.default_rng(seed)
    k = in_shape[-1]
    w = rng.integers(0, 256, (n, k)).astype(np.uint8)
    x = rng.integers(0, 256, in_shape).astype(np.uint8)
    bias = rng.integers(-60000, 60000, n).astype(np.int32)
    s_in, s_w = (np.float32(10 ** rng.uniform(-3, -1)) for _ in range(2))
    # outputs of a few thousand steps: mostly unsaturated, the largest saturate int16
    peak = 128 * 128 * np.sqrt(k) * float(s_in) * float(s_w)
    s_out = np.float32(peak / 10 ** rng.uniform(2.5, 4.5))
    return w, x, bias, s_in, s_w, s_out


def _expected(x, w, bias, s_in, s_w, s_out, act="NONE", zo=0):
    """NumPy model of TFLite's kernel: int8(x ^ 0x80) . int8(w ^ 0x80) + bias, the fixed-point
    multiplier of float32(s_in * s_w) / s_out, the activation clamp without the output zero point."""
    k = x.shape[-1]
    acc = (x.reshape(-1, k).astype(np.int64) - 128) @ (w.astype(np.int64) - 128).T
    if bias is not None:
        acc = acc + bias
    q, shift = quant.quantize_multiplier(np.float64(np.float32(s_in) * np.float32(s_w)) / np.float64(s_out))
    lo, hi = quant.activation_range_quantized(ACT_CODES[act], np.int16, float(s_out), zo)
    return np.clip(quant.multiply_by_quantized_multiplier(acc, q, shift), lo, hi).astype(np.int16)


def _assert_ref(model, feeds):
    ours, theirs = run_numlite(model, feeds), run_litert(model, feeds, ref=True)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype, f"output {k}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=f"output {k}")
    return ours


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_shuffled_matches_ref(batch, act, seed):
    w, x, bias, s_in, s_w, s_out = _params(seed * 10 + batch, (batch, 48), 12)
    m = _model((batch, 48), 12, w, bias, s_in, s_w, s_out, act=act)
    ours = _assert_ref(m, [x])
    np.testing.assert_array_equal(ours[0], _expected(x, w, bias, s_in, s_w, s_out, act))


@pytest.mark.parametrize("batch", [1, 4])
def test_shuffled_activation_with_output_zero_point(batch):
    # the clamp bounds include the zero point, the result does not add it (as TFLite computes)
    w, x, bias, s_in, s_w, s_out = _params(7, (batch, 32), 8)
    for act in ACTS:
        _assert_ref(_model((batch, 32), 8, w, bias, s_in, s_w, s_out, act=act, zo=37), [x])


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_shuffled_scale_product_in_float32(seed):
    # output scales a power of two away from the float32 product of the input and weight scales:
    # the float64 product would give a different multiplier (LiteRT forms it in float32)
    rng = np.random.default_rng(seed)
    w, x, bias, s_in, s_w, _ = _params(seed, (4, 64), 64)
    s_out = np.float32(float(s_in * s_w) * 2.0 ** rng.integers(2, 5) * (1 + rng.uniform(-1e-6, 1e-6)))
    _assert_ref(_model((4, 64), 64, w, bias, s_in, s_w, s_out), [x])


def test_shuffled_large_k_and_worst_case_products():
    # K = 2048 spans two exact float32 chunks; every product is (-128) * (-128)
    k, n = 2048, 8
    w = np.zeros((n, k), np.uint8)
    x = np.zeros((4, k), np.uint8)
    s_in, s_w = np.float32(0.01), np.float32(0.02)
    s_out = np.float32(128 * 128 * k * float(s_in) * float(s_w) / 20000)
    bias = np.arange(-4, 4, dtype=np.int32) * 1000
    _assert_ref(_model((4, k), n, w, bias, s_in, s_w, s_out), [x])
    w2, x2, bias2, s_in2, s_w2, s_out2 = _params(11, (1, k), 16)
    _assert_ref(_model((1, k), 16, w2, bias2, s_in2, s_w2, s_out2), [x2])


def test_shuffled_multiplier_above_one_and_saturation():
    w, x, bias, s_in, s_w, _ = _params(5, (4, 32), 8)
    s_out = np.float32(float(s_in) * float(s_w) / 3.3)  # multiplier 3.3: most outputs saturate
    _assert_ref(_model((4, 32), 8, w, bias, s_in, s_w, s_out), [x])


def test_shuffled_keep_num_dims_and_rank3_input():
    w, x, bias, s_in, s_w, s_out = _params(6, (2, 2, 32), 8)
    _assert_ref(_model((2, 2, 32), 8, w, bias, s_in, s_w, s_out, keep=True), [x])
    _assert_ref(_model((2, 2, 32), 8, w, bias, s_in, s_w, s_out), [x])
    w1, x1, b1, *s = _params(8, (1, 1, 16), 4)
    _assert_ref(_model((1, 1, 16), 4, w1, b1, *s, keep=True), [x1])


def test_shuffled_ignores_model_zero_points():
    # TFLite's kernel always subtracts 128 from input and weights, whatever the model says
    w, x, bias, s_in, s_w, s_out = _params(9, (4, 16), 4)
    m = _model((4, 16), 4, w, bias, s_in, s_w, s_out, zx=3, zw=250)
    ours = _assert_ref(m, [x])
    np.testing.assert_array_equal(ours[0], _expected(x, w, bias, s_in, s_w, s_out))


def test_shuffled_runtime_bias_and_workspace_not_an_output():
    w, x, bias, s_in, s_w, s_out = _params(12, (1, 32), 8)
    m = _model((1, 32), 8, w, bias, s_in, s_w, s_out, runtime_bias=True, ws_output=False)
    _assert_ref(m, [x, bias])
    m = _model((4, 32), 8, *_params(13, (4, 32), 8)[:1], bias, s_in, s_w, s_out, ws_output=False)
    _assert_ref(m, [np.random.default_rng(1).integers(0, 256, (4, 32)).astype(np.uint8)])


def test_shuffled_workspace_larger_than_needed():
    # only the first M * K workspace bytes are written (LiteRT leaves the rest): compare the result
    w, x, bias, s_in, s_w, s_out = _params(14, (1, 16), 4)
    m = _model((1, 16), 4, w, bias, s_in, s_w, s_out, ws_shape=(4, 16), ws_output=False)
    _assert_ref(m, [x])


def test_shuffled_without_bias_is_zero_bias():
    # LiteRT crashes on this model (null bias pointer); numlite computes it with a zero bias
    for batch in (1, 4):
        w, x, _, s_in, s_w, s_out = _params(15 + batch, (batch, 32), 8)
        ours = run_numlite(_model((batch, 32), 8, w, None, s_in, s_w, s_out), [x])
        np.testing.assert_array_equal(ours[0], _expected(x, w, None, s_in, s_w, s_out))


@pytest.mark.parametrize("batch", [1, 4])
def test_shuffled_default_resolver(batch):
    # LiteRT's optimized shuffled kernel (the default resolver; XNNPACK does not take this op)
    w, x, bias, s_in, s_w, s_out = _params(20 + batch, (batch, 64), 16)
    m = _model((batch, 64), 16, w, bias, s_in, s_w, s_out)
    for a, b in zip(run_numlite(m, [x]), run_litert(m, [x])):
        np.testing.assert_array_equal(a, b)
    # Recorded, not asserted: with RELU / RELU6 / RELU_N1_TO_1 the optimized kernel skips the
    # activation clamp (it only saturates to int16), so it differs from BUILTIN_REF and numlite.


def _fails(model, feeds, *needles):
    with pytest.raises(RuntimeError) as e:
        run_numlite(model, feeds)
    msg = str(e.value)
    assert "FULLY_CONNECTED" in msg and "node 0" in msg, msg
    for s in needles:
        assert s in msg, msg


@pytest.mark.parametrize("batch", [2, 3, 8])
def test_shuffled_rejects_other_batch_sizes(batch):
    # TFLite's shuffled kernels compute only batches of 1 and 4 (other sizes leave the output unwritten)
    w, x, bias, s_in, s_w, s_out = _params(30, (batch, 16), 4)
    _fails(_model((batch, 16), 4, w, bias, s_in, s_w, s_out), [x], "batch of 1 or 4")


def test_shuffled_rejects_bad_block_sizes():
    rng = np.random.default_rng(0)
    q = {"scale": [0.1], "zero_point": [128]}
    for n, k in ((4, 24), (6, 16)):
        mb = ModelBuilder()
        x = mb.input("x", (1, k), np.uint8, quantization=q)
        w = mb.const("w", rng.integers(0, 256, (n, k)).astype(np.uint8), quantization=q)
        b = mb.const("b", np.zeros(n, np.int32))
        y = mb.tensor("y", (1, n), np.int16, quantization={"scale": [0.1], "zero_point": [0]})
        ws = mb.tensor("ws", (1, k), np.uint8)
        mb.op("FULLY_CONNECTED", [x, w, b], [y, ws], weights_format="SHUFFLED4x16INT8")
        mb.output(y)
        _fails(mb.build(), [np.zeros((1, k), np.uint8)], "multiple of")


def test_shuffled_rejects_one_output():
    w, x, bias, s_in, s_w, s_out = _params(31, (1, 16), 4)
    m = _model((1, 16), 4, w, bias, s_in, s_w, s_out, outputs=1)
    _fails(m, [x], "workspace")
    with pytest.raises(RuntimeError):  # LiteRT refuses it too
        run_litert(m, [x], ref=True)


def test_shuffled_rejects_other_types():
    w, x, bias, s_in, s_w, s_out = _params(32, (1, 16), 4)
    _fails(_model((1, 16), 4, w, bias, s_in, s_w, s_out, out_dtype=np.uint8), [x], "int16")
    wi = (w.astype(np.int16) - 128).astype(np.int8)
    _fails(_model((1, 16), 4, wi, bias, s_in, s_w, s_out, zw=0), [x], "uint8")
    xi = (x.astype(np.int16) - 128).astype(np.int8)
    _fails(_model((1, 16), 4, w, bias, s_in, s_w, s_out, in_dtype=np.int8, zx=0), [xi], "uint8")


def test_shuffled_rejects_runtime_weights_and_bad_workspace():
    w, x, bias, s_in, s_w, s_out = _params(33, (1, 16), 4)
    _fails(_model((1, 16), 4, w, bias, s_in, s_w, s_out, const_w=False), [x, shuffle_4x16(w)], "constant")
    _fails(_model((1, 16), 4, w, bias, s_in, s_w, s_out, ws_shape=(1, 8)), [x], "workspace")
    _fails(_model((1, 16), 4, w, bias, s_in, s_w, s_out, ws_dtype=np.int8), [x], "workspace", "uint8")
    wq = {"scale": [0.1, 0.2, 0.1, 0.2], "zero_point": [128] * 4}
    _fails(_model((1, 16), 4, w, bias, s_in, s_w, s_out, wq=wq), [x], "per tensor")

