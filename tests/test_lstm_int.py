"""Full-integer (8x8_16) LSTM and UNIDIRECTIONAL_SEQUENCE_LSTM against LiteRT, bit for bit.

Models are quantized as TensorFlow's int8 converter quantizes them: int8 input / output / output
state (asymmetric), int16 cell state with a power-of-two scale, int8 symmetric per-tensor weights,
int32 biases (scale ``s_x * s_W``; with layer norm the norm's bias, scale ``s_ln / 1024``),
int16 peephole weights and layer-norm coefficients, five intermediates.  Every model is invoked
twice on one interpreter (the state carries over) and compared with LiteRT's reference resolver
(``BUILTIN_REF``) and its default resolver.
"""

from __future__ import annotations

import numpy as np
import pytest
from lstm_util import GATES, lstm_weights, run_twice

import numlite
from numlite.builder import ModelBuilder

VARIANTS = {
    "basic": {},
    "cifg": dict(cifg=True),
    "peephole": dict(peephole=True),
    "projection": dict(projection=True, proj_bias=True),
    "projection_no_bias": dict(projection=True),
    "layer_norm": dict(layer_norm=True),
    "peephole_ln": dict(peephole=True, layer_norm=True),
    "peephole_projection": dict(peephole=True, projection=True, proj_bias=True),
    "all": dict(cifg=True, peephole=True, projection=True, proj_bias=True, layer_norm=True),
    "ln_projection": dict(layer_norm=True, projection=True),
}


def q8(v: np.ndarray) -> tuple[np.ndarray, float]:
    s = float(np.abs(v).max() / 127.0) or 1.0
    return np.clip(np.round(v / s), -127, 127).astype(np.int8), s


def q16(v: np.ndarray) -> tuple[np.ndarray, float]:
    s = float(np.abs(v).max() / 32767.0) or 1.0
    return np.clip(np.round(v / s), -32767, 32767).astype(np.int16), s


def int_model(x_shape: tuple[int, ...], w: dict, n_cell: int, n_output: int, *,
              op: str = "UNIDIRECTIONAL_SEQUENCE_LSTM", time_major: bool = True, x_q=(2 / 255, -3),
              h_q=(1 / 128, 2), cell_log2: int = -11,
              hid_q=None, gate_scale: float = 2.0 ** -10, out_q=None, **options) -> bytes:
    """A one-op integer LSTM model built from the float weights ``w`` (``lstm_util.lstm_weights``).
    ``hid_q``: the hidden intermediate's (scale, zero point); by default the output state's
    without projection (the converter makes them one tensor's) and ``(1 / 128, 0)`` with it."""
    if hid_q is None:
        hid_q = (1 / 128, 0) if "pw" in w else h_q
    mb = ModelBuilder()
    sx, zx = x_q
    x = mb.input("x", x_shape, np.int8, quantization={"scale": sx, "zero_point": zx})
    if op == "LSTM":
        n_batch = x_shape[0]
        out_shape = (n_batch, n_output)
    else:
        n_batch = x_shape[1] if time_major else x_shape[0]
        out_shape = (*x_shape[:2], n_output)
        options["time_major"] = time_major
    sh, zh = h_q
    ln = "ln_f" in w
    idx: dict[str, int] = {}
    scales: dict[str, float] = {}
    for key, v in w.items():
        kind = key.split("_")[0]
        if kind in ("wx", "wh", "pw"):
            q, s = q8(v)
            scales[key] = s
            idx[key] = mb.const(key, q, quantization={"scale": s, "zero_point": 0})
        elif kind in ("p", "ln"):
            q, s = q16(v)
            scales[key] = s
            idx[key] = mb.const(key, q, quantization={"scale": s, "zero_point": 0})
    for g in GATES:
        if f"b_{g}" not in w:
            continue
        bs = scales[f"ln_{g}"] / 1024 if ln else sx * scales[f"wx_{g}"]
        idx[f"b_{g}"] = mb.const(f"b_{g}", np.round(w[f"b_{g}"] / bs).astype(np.int32),
                                 quantization={"scale": bs, "zero_point": 0})
    if "pb" in w:
        bs = hid_q[0] * scales["pw"]
        idx["pb"] = mb.const("pb", np.round(w["pb"] / bs).astype(np.int32), quantization={"scale": bs, "zero_point": 0})
    idx["h"] = mb.tensor("h_state", (n_batch, n_output), np.int8, is_variable=True,
                         quantization={"scale": sh, "zero_point": zh})
    idx["c"] = mb.tensor("c_state", (n_batch, n_cell), np.int16, is_variable=True,
                         quantization={"scale": 2.0 ** cell_log2, "zero_point": 0})
    inter = [mb.tensor(f"inter{k}", (), np.int16, quantization={"scale": gate_scale, "zero_point": 0})
             for k in range(4)]
    inter.append(mb.tensor("hidden", (), np.int8, quantization={"scale": hid_q[0], "zero_point": hid_q[1]}))
    so, zo = out_q or h_q
    y = mb.tensor("y", out_shape, np.int8, quantization={"scale": so, "zero_point": zo})

    def get(k: str) -> int:
        return idx.get(k, -1)

    slots = [get(f"wx_{g}") for g in GATES] + [get(f"wh_{g}") for g in GATES] + [get(f"p_{g}") for g in "ifo"]
    slots += [get(f"b_{g}") for g in GATES] + [get("pw"), get("pb"), idx["h"], idx["c"]]
    slots += [get(f"ln_{g}") for g in GATES]
    table = "LSTMOptions" if op == "LSTM" else "UnidirectionalSequenceLSTMOptions"
    mb.op(op, [x, *slots], [y], options_table=table, intermediates=inter, **options)
    mb.output(y)
    return mb.build()


def int_feeds(shape, n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, shape).astype(np.int8)] for _ in range(n)]


def compare_exact(model: bytes, feeds, default_too: bool = True) -> list:
    ours = run_twice(model, feeds, litert=False)
    refs = [run_twice(model, feeds, litert=True, ref=True)]
    if default_too:
        refs.append(run_twice(model, feeds, litert=True))
    for theirs in refs:
        for k, (a, b) in enumerate(zip(ours, theirs)):
            assert a[0].dtype == b[0].dtype == np.int8 and a[0].shape == b[0].shape
            np.testing.assert_array_equal(a[0], b[0], err_msg=f"invoke {k}")
    return ours


def dims(variant, n_cell=8):
    return n_cell, (5 if VARIANTS[variant].get("projection") else n_cell)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("time_major,steps,batch", [(True, 3, 2), (False, 4, 3), (True, 1, 1), (False, 5, 1)])
def test_uni_int(variant, time_major, steps, batch):
    nc, no = dims(variant)
    n_in = 6
    w = lstm_weights(n_in, nc, no, seed=len(variant) + steps, **VARIANTS[variant])
    shape = (steps, batch, n_in) if time_major else (batch, steps, n_in)
    m = int_model(shape, w, nc, no, time_major=time_major)
    out = compare_exact(m, int_feeds(shape, seed=steps))
    assert len({int(v) for v in out[1][0].reshape(-1)}) > 3  # not saturated / constant


@pytest.mark.parametrize("variant", ["basic", "peephole_ln", "all", "peephole_projection"])
@pytest.mark.parametrize("batch", [1, 3])
def test_lstm_int(variant, batch):
    nc, no = dims(variant)
    w = lstm_weights(4, nc, no, seed=7, **VARIANTS[variant])
    m = int_model((batch, 4), w, nc, no, op="LSTM")
    compare_exact(m, int_feeds((batch, 4), n=3, seed=batch))


@pytest.mark.parametrize("cell_log2", [-9, -10, -12, -15])
def test_uni_int_cell_scales(cell_log2):
    w = lstm_weights(5, 8, 8, peephole=True, seed=3)
    shape = (4, 2, 5)
    compare_exact(int_model(shape, w, 8, 8, cell_log2=cell_log2), int_feeds(shape, seed=1))


@pytest.mark.parametrize("variant", ["basic", "layer_norm", "projection"])
def test_uni_int_clips(variant):
    nc, no = dims(variant)
    w = lstm_weights(5, nc, no, seed=11, **VARIANTS[variant])
    shape = (5, 2, 5)
    m = int_model(shape, w, nc, no, cell_clip=0.4, proj_clip=0.3, out_q=(1 / 100, 0))
    compare_exact(m, int_feeds(shape, seed=2))


@pytest.mark.parametrize("variant", ["projection", "ln_projection"])
def test_uni_int_hidden_zero_point(variant):
    nc, no = dims(variant)
    w = lstm_weights(5, nc, no, seed=12, **VARIANTS[variant])
    shape = (3, 2, 5)
    m = int_model(shape, w, nc, no, hid_q=(1 / 120, -5), h_q=(1 / 60, 7), x_q=(0.05, 10))
    compare_exact(m, int_feeds(shape, seed=3))


def test_uni_int_larger():
    """Longer sequence, more cells and a wider input (GEMM chunks, layer-norm sums)."""
    w = lstm_weights(40, 32, 16, peephole=True, projection=True, proj_bias=True, layer_norm=True, seed=9)
    shape = (12, 4, 40)
    compare_exact(int_model(shape, w, 32, 16, gate_scale=2.0 ** -11), int_feeds(shape, seed=4))


@pytest.mark.parametrize("seed", range(24))
def test_int_random_configurations(seed):
    """Random sizes, variants, layouts, scales, zero points, cell scales and clips."""
    rng = np.random.default_rng(1000 + seed)
    opts = {k: bool(rng.integers(2)) for k in ("cifg", "peephole", "projection", "layer_norm")}
    opts["proj_bias"] = opts["projection"] and bool(rng.integers(2))
    nc = int(rng.integers(1, 20))
    no = int(rng.integers(1, nc + 1)) if opts["projection"] else nc
    nin, steps, batch = int(rng.integers(1, 30)), int(rng.integers(1, 6)), int(rng.integers(1, 5))
    tm = bool(rng.integers(2))
    op = "LSTM" if seed % 5 == 0 else "UNIDIRECTIONAL_SEQUENCE_LSTM"
    mul = float(rng.choice([0.5, 1.0, 3.0]))
    w = {k: (v * mul).astype(np.float32) for k, v in lstm_weights(nin, nc, no, seed=seed, **opts).items()}
    shape = (batch, nin) if op == "LSTM" else ((steps, batch, nin) if tm else (batch, steps, nin))
    h_q = (float(rng.uniform(0.003, 0.03)), int(rng.integers(-10, 10)))
    kw = dict(op=op, time_major=tm, cell_log2=int(rng.integers(-15, -8)), gate_scale=float(2.0 ** rng.uniform(-13, -8)),
              x_q=(float(rng.uniform(0.005, 0.05)), int(rng.integers(-20, 20))), h_q=h_q,
              hid_q=(float(rng.uniform(0.004, 0.02)), int(rng.integers(-6, 6))) if opts["projection"] else h_q)
    if rng.random() < 0.3:
        kw.update(cell_clip=float(rng.uniform(0.1, 3)), proj_clip=float(rng.uniform(0.05, 1)))
    compare_exact(int_model(shape, w, nc, no, **kw), int_feeds(shape, seed=seed))


def test_uni_int_saturated_layer_norm():
    """Tiny gate scales saturate the int16 gates: the layer-norm variance reaches 2**29 and more
    (LiteRT's inverse square root then divides it by 4 first) - measured: most rows here."""
    w = lstm_weights(16, 8, 8, layer_norm=True, peephole=True, seed=2)
    w = {k: (v * 4).astype(np.float32) for k, v in w.items()}
    shape = (4, 3, 16)
    compare_exact(int_model(shape, w, 8, 8, gate_scale=2.0 ** -18), int_feeds(shape, seed=5))


def test_uni_int_non_pot_cells_layer_norm():
    """LiteRT's layer-norm variance uses ``2**20 / n`` (exact only for a power-of-two n): 7 cells."""
    w = lstm_weights(5, 7, 7, layer_norm=True, seed=4)
    shape = (3, 2, 5)
    compare_exact(int_model(shape, w, 7, 7), int_feeds(shape, seed=6))


def test_int_fused_activation_ignored():
    """LiteRT's integer kernel always uses sigmoid / tanh whatever the fused activation says."""
    w = lstm_weights(5, 8, 8, seed=13)
    shape = (3, 2, 5)
    compare_exact(int_model(shape, w, 8, 8, fused_activation_function="RELU"), int_feeds(shape, seed=7))


def test_int_error_8x8_8_form():
    """An LSTM with twelve intermediates is LiteRT's 8x8_8 form: refused."""
    w = lstm_weights(3, 4, 4, seed=22)
    mb = ModelBuilder()
    x = mb.input("x", (1, 3), np.int8, quantization={"scale": 0.1, "zero_point": 0})
    y = mb.tensor("y", (1, 4), np.int8, quantization={"scale": 0.1, "zero_point": 0})
    ins = [mb.const(f"w{k}", q8(w[f"wx_{g}"] if k < 4 else w[f"wh_{g}"])[0], quantization={"scale": 0.01})
           for k, g in enumerate(GATES * 2)]
    ins += [-1, -1, -1] + [mb.const(f"b{k}", np.zeros(4, np.int32)) for k in range(4)] + [-1, -1]
    ins += [mb.tensor("h", (1, 4), np.int8, is_variable=True, quantization={"scale": 0.1, "zero_point": 0}),
            mb.tensor("c", (1, 4), np.int16, is_variable=True, quantization={"scale": 2.0 ** -11, "zero_point": 0})]
    inter = [mb.tensor(f"i{k}", (), np.int16, quantization={"scale": 0.001, "zero_point": 0}) for k in range(12)]
    mb.op("LSTM", [x, *ins], [y], options_table="LSTMOptions", intermediates=inter)
    mb.output(y)
    with pytest.raises(Exception, match=r"LSTM \(node 0\).*5 intermediate tensors.*got 12.*8x8_8"):
        numlite.Interpreter(model_content=mb.build()).allocate_tensors()


def test_int_error_per_channel_weights():
    w = lstm_weights(3, 4, 4, seed=22)
    mb = ModelBuilder()
    x = mb.input("x", (2, 1, 3), np.int8, quantization={"scale": 0.1, "zero_point": 0})
    y = mb.tensor("y", (2, 1, 4), np.int8, quantization={"scale": 0.1, "zero_point": 0})
    ins = [mb.const(f"w{k}", q8(w[f"wx_{g}"] if k < 4 else w[f"wh_{g}"])[0],
                    quantization={"scale": [0.01, 0.02, 0.01, 0.02], "zero_point": 0}) for k, g in enumerate(GATES * 2)]
    ins += [-1, -1, -1] + [mb.const(f"b{k}", np.zeros(4, np.int32)) for k in range(4)] + [-1, -1]
    ins += [mb.tensor("h", (1, 4), np.int8, is_variable=True, quantization={"scale": 0.1, "zero_point": 0}),
            mb.tensor("c", (1, 4), np.int16, is_variable=True, quantization={"scale": 2.0 ** -11, "zero_point": 0})]
    inter = [mb.tensor(f"i{k}", (), np.int16, quantization={"scale": 0.001, "zero_point": 0}) for k in range(5)]
    mb.op("UNIDIRECTIONAL_SEQUENCE_LSTM", [x, *ins], [y], options_table="UnidirectionalSequenceLSTMOptions",
          intermediates=inter, time_major=True)
    mb.output(y)
    with pytest.raises(Exception, match=r"node 0.*w0.*4 scales.*per-channel"):
        numlite.Interpreter(model_content=mb.build()).allocate_tensors()


def test_int_error_peephole_projection_wider():
    w = lstm_weights(3, 4, 6, peephole=True, projection=True, seed=22)
    m = int_model((2, 1, 3), w, 4, 6)
    with pytest.raises(Exception, match=r"node 0.*peephole.*6 > 4"):
        numlite.Interpreter(model_content=m).allocate_tensors()


def test_int_error_cell_scale_not_pot():
    w = lstm_weights(3, 4, 4, seed=22)
    m = int_model((2, 1, 3), w, 4, 4, cell_log2=-11.5)
    with pytest.raises(Exception, match=r"node 0.*cell state.*c_state.*power-of-two"):
        numlite.Interpreter(model_content=m).allocate_tensors()


@pytest.mark.parametrize("cell_log2", [-8, -16, -18])
@pytest.mark.parametrize("variant", ["basic", "layer_norm", "projection"])
def test_int_cell_scale_outside_litert_tanh(cell_log2, variant):
    # LiteRT's integer tanh of the cell state writes nothing for these scales; its hidden value
    # then uses the input gate's activations (TensorFlow's converter writes 2**-18 for cell states
    # calibrated below 1/8: tests/data/tf/lstm_int8.tflite): numlite matches it bit for bit
    nc, no = dims(variant)
    w = lstm_weights(5, nc, no, seed=21, **VARIANTS[variant])
    shape = (4, 2, 5)
    compare_exact(int_model(shape, w, nc, no, cell_log2=cell_log2), int_feeds(shape, seed=2))


def test_int_error_cell_scale_out_of_range_with_cifg():
    w = lstm_weights(3, 4, 4, cifg=True, seed=22)
    m = int_model((2, 1, 3), w, 4, 4, cell_log2=-8)
    with pytest.raises(Exception, match=r"node 0.*cell state.*2\*\*-8 with CIFG"):
        numlite.Interpreter(model_content=m).allocate_tensors()


