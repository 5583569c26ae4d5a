"""Regression tests for what fuzzing the converter's and the quantizer's inputs found (fuzz/fuzz_convert_keras.py,
fuzz/fuzz_quantize.py), each input rebuilt by code, and the converter's refusal of Python code in a
``.keras`` file (a ``Lambda`` layer's marshalled bytecode is never run)."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras", reason="the converter's tests need Keras 3 (pip install 'numlite[convert]')")

from util import run_litert, run_numlite  # noqa: E402

import numlite  # noqa: E402
from numlite.converter import ConversionError, KerasFileError  # noqa: E402

MARK = "NUMLITE_TEST_LAMBDA_RAN"


def _saved(tmp_path, model, name: str = "m.keras") -> tuple[str, dict[str, bytes]]:
    path = str(tmp_path / name)
    model.save(path)
    with zipfile.ZipFile(path) as z:
        return path, {n: z.read(n) for n in z.namelist()}


def _write(tmp_path, files: dict[str, bytes], name: str = "x.keras") -> str:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for n, v in files.items():
            z.writestr(n, v)
    return str(path)


def _dense_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])


def _with_config(files: dict[str, bytes], edit) -> dict[str, bytes]:
    cfg = json.loads(files["config.json"])
    cfg = edit(cfg) or cfg
    return {**files, "config.json": json.dumps(cfg).encode()}


def _lambda_file(tmp_path) -> str:
    """A .keras file whose Lambda's marshalled code sets an environment variable when run."""
    fn = lambda t: (__import__("os").environ.__setitem__("NUMLITE_TEST_LAMBDA_RAN", "1"), t)[1]  # noqa: E731
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(fn, name="evil")])
    path = str(tmp_path / "evil.keras")
    model.save(path)
    os.environ.pop(MARK, None)  # building the model above ran it
    return path


@pytest.fixture
def unsafe_keras():
    """Keras's global 'unsafe deserialization' switch turned on (as a careless caller might), then off."""
    from keras.src.saving import serialization_lib

    before = serialization_lib.in_safe_mode()
    keras.config.enable_unsafe_deserialization()
    yield
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("safe_mode_saving", before)


def test_lambda_code_in_a_keras_file_is_refused_never_run(tmp_path, unsafe_keras):
    path = _lambda_file(tmp_path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert "__lambda__" in json.dumps(cfg)  # the file does carry marshalled bytecode
    with pytest.raises(KerasFileError, match=r"evil.keras.*layer 'evil' \(Lambda\) carries code that loading"):
        numlite.convert(path)
    assert MARK not in os.environ
    # the payload is live: Keras without its safe mode runs it while loading
    keras.saving.load_model(path, safe_mode=False)
    assert os.environ.pop(MARK, None) == "1"


def test_lambda_refused_by_keras_safe_mode_too(tmp_path, unsafe_keras, monkeypatch):
    """With numlite's own check switched off, Keras's safe mode (which numlite asks for, whatever the
    global switch says) still refuses the lambda: the error names the file, the code is not run."""
    import numlite.converter as conv

    path = _lambda_file(tmp_path)
    monkeypatch.setattr(conv, "CODE_CLASSES", frozenset())
    with pytest.raises(KerasFileError, match=r"cannot read '.*evil.keras' as a Keras model") as e:
        numlite.convert(path)
    assert "lambda" in str(e.value.__cause__).lower()
    assert MARK not in os.environ


def test_converter_asks_keras_for_safe_mode(tmp_path, monkeypatch):
    path, _ = _saved(tmp_path, _dense_model())
    seen = {}
    real = keras.saving.load_model

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    numlite.convert(path)
    assert seen.get("safe_mode") is True and seen.get("compile") is False


def test_lambda_inside_a_nested_model_is_found(tmp_path):
    fn = lambda t: (__import__("os").environ.__setitem__("NUMLITE_TEST_LAMBDA_RAN", "1"), t)[1]  # noqa: E731
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(fn, name="deep")], name="inner")
    x = keras.Input((4,))
    path = str(tmp_path / "nested.keras")
    keras.Model(x, keras.layers.Dense(2)(inner(x))).save(path)
    os.environ.pop(MARK, None)
    with pytest.raises(KerasFileError, match=r"layer 'deep' \(Lambda\)"):
        numlite.convert(path)
    assert MARK not in os.environ


# -- Keras load errors: one KerasFileError naming the file (fuzz_convert_keras: raw KeyError, TypeError,
# OSError, JSONDecodeError escaped from numlite.convert) ----------------------------------------------------
def _hostile_variants(files: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    def units(v):
        return lambda c: c["config"]["layers"][1]["config"].__setitem__("units", v)

    out = {
        "bad json": {**files, "config.json": b"{"},
        "not utf-8": {**files, "config.json": b"\xff\xfe"},
        "no config.json": {k: v for k, v in files.items() if k != "config.json"},
        "no weights": {k: v for k, v in files.items() if k != "model.weights.h5"},
        "truncated weights": {**files, "model.weights.h5": files["model.weights.h5"][:100]},
        "negative units": _with_config(files, units(-3)),
        "float units": _with_config(files, units(2.5)),
        "string units": _with_config(files, units("x")),
        "mismatched units": _with_config(files, units(5)),
        "unknown module": _with_config(files, lambda c: c["config"]["layers"][1].update(module="os",
                                                                                        class_name="system")),
        "top-level list": _with_config(files, lambda c: [c]),
        "config a list": _with_config(files, lambda c: c.__setitem__("config", [])),
        "deep nesting": {**files, "config.json": b"[" * 100000 + b"]" * 100000},
    }
    return out


def test_keras_load_failures_are_one_error_naming_the_file(tmp_path):
    _, files = _saved(tmp_path, _dense_model())
    for what, variant in _hostile_variants(files).items():
        path = _write(tmp_path, variant)
        with pytest.raises(KerasFileError, match=r"cannot read '.*x.keras' as a Keras model: \w+") as e:
            numlite.convert(path)
        assert e.value.__cause__ is not None, what
        assert isinstance(e.value, ConversionError) and isinstance(e.value, ValueError)


def test_not_a_zip_and_missing_file(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"PK\x03\x04 then garbage")
    with pytest.raises(KerasFileError, match="not a zip archive"):
        numlite.convert(str(bad))
    with pytest.raises(KerasFileError, match="no such file"):
        numlite.convert(str(tmp_path / "missing.keras"))


def test_cli_reports_an_unreadable_file_as_a_bad_model(tmp_path, capsys):
    from util import numlite_command

    _, files = _saved(tmp_path, _dense_model())
    path = _write(tmp_path, {**files, "config.json": b"{"})
    out = tmp_path / "x.tflite"
    assert numlite_command(["convert", path, "-o", str(out)]) == 3
    err = capsys.readouterr().err
    assert "cannot read" in err and "x.keras" in err and "JSONDecodeError" in err and not out.exists()


def test_weights_of_another_dtype_still_convert(tmp_path):
    """Keras casts float64 / integer weight arrays to the variable's dtype: not an error."""
    h5py = pytest.importorskip("h5py")
    _, files = _saved(tmp_path, _dense_model())
    buf = io.BytesIO(files["model.weights.h5"])
    with h5py.File(buf, "r+") as h:
        w = np.asarray(h["layers/dense/vars/0"])
        del h["layers/dense/vars/0"]
        h["layers/dense/vars/0"] = w.astype(np.float64)
    path = _write(tmp_path, {**files, "model.weights.h5": buf.getvalue()})
    numlite.Interpreter(model_content=numlite.convert(path)).allocate_tensors()


# -- a model loaded from its file converts as the model in memory does ---------------------------------------
@pytest.mark.parametrize("index", ["x[:, 1:, ::2]", "x[:, 1, 2]", "x[..., None, 0]", "x[1]"])
def test_get_item_of_a_loaded_model(tmp_path, index):
    """fuzz_convert_keras's ops seed: a tuple index comes back from config.json as a list, which
    Keras's GetItem takes as the tuple; the converter refused it ('index [slice(None, ...), ...]')."""
    x = keras.Input((3, 4), name="x")
    model = keras.Model(x, eval(index, {"x": x}))  # noqa: S307 - the test's own expressions
    path, _ = _saved(tmp_path, model)
    v = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    want = np.asarray(keras.saving.load_model(path)(v))
    it = numlite.Interpreter(model_content=numlite.convert(path))
    it.resize_tensor_input(it.get_input_details()[0]["index"], [2, 3, 4])
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], v)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), want)


# -- weights made for other inputs than the graph gives the layer --------------------------------------------
def _inconsistent(tmp_path, model, edit) -> str:
    """``model`` saved with its config edited by ``edit`` and rebuilt by Keras: each layer built from
    its build_config (so the weights load), while the graph now feeds some layer another shape."""
    path = str(tmp_path / "m.keras")
    model.save(path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    edit(cfg["config"]["layers"])
    rebuilt = keras.models.model_from_json(json.dumps(cfg))
    out = str(tmp_path / "inconsistent.keras")
    rebuilt.save(out)
    return out


def _set(layer_index: int, key: str, value):
    return lambda layers: layers[layer_index]["config"].__setitem__(key, value)


L = keras.layers
INCONSISTENT = {
    # (found by fuzz_convert_keras: LSTM units 4 -> 16, the GRU after it built for 4 features)
    "gru after lstm": (lambda: keras.Sequential([keras.Input((5, 3)), L.LSTM(4, return_sequences=True), L.GRU(3)]),
                       _set(1, "units", 16), "'gru.*' \\(GRU\\): features: the input has 16, the weights take 4"),
    "lstm": (lambda: keras.Sequential([keras.Input((5, 3)), L.Dense(2), L.LSTM(3)]), _set(1, "units", 6),
             "\\(LSTM\\): features: the input has 6, the weights take 2 \\(the file's build_config does not match"),
    "simple rnn": (lambda: keras.Sequential([keras.Input((5, 3)), L.Dense(2), L.SimpleRNN(3)]), _set(1, "units", 6),
                   "\\(SimpleRNN\\): features"),
    "layer norm": (lambda: keras.Sequential([keras.Input((4,)), L.Dense(3), L.LayerNormalization()]),
                   _set(1, "units", 5), "\\(LayerNormalization\\): gamma of shape \\[3\\] does not broadcast"),
    "prelu": (lambda: keras.Sequential([keras.Input((4,)), L.Dense(3), L.PReLU()]), _set(1, "units", 5),
              "\\(PReLU\\): alpha of shape \\[3\\]"),
}


@pytest.mark.parametrize("case", sorted(INCONSISTENT))
def test_weights_that_do_not_fit_the_graph_are_refused(tmp_path, case):
    """Recurrent layers, LayerNormalization and PReLU have no input spec: Keras loads them built
    for another input than the graph gives them (Dense, convolutions, BatchNormalization refuse
    it while loading: KerasFileError), and numlite converted them into a .tflite that does not
    prepare (PrepareError from allocate_tensors)."""
    build, edit, message = INCONSISTENT[case]
    path = _inconsistent(tmp_path, build(), edit)
    with pytest.raises(ConversionError, match=message):
        numlite.convert(path)
    with pytest.raises(Exception):  # noqa: B017, PT011 - Keras cannot run the model either
        keras.saving.load_model(path)(np.zeros((1, *keras.saving.load_model(path).input_shape[1:]), np.float32))


def test_bidirectional_direction_built_for_another_input(tmp_path):
    """fuzz_convert_keras: a Bidirectional's forward LSTM whose build_config lost its batch axis
    ([4, 3]: Keras built its cell for 4 features) on a [batch, 4, 3] input."""
    def edit(layers):
        layers[1]["config"]["layer"]["build_config"] = {"input_shape": [4, 3]}

    model = keras.Sequential([keras.Input((4, 3)), L.Bidirectional(L.LSTM(3, return_sequences=True))])
    path = _inconsistent(tmp_path, model, edit)
    with pytest.raises(ConversionError, match=r"\(Bidirectional\): features: the input has 3, the weights take 4"):
        numlite.convert(path)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
def test_a_recurrent_layer_over_zero_time_steps_is_refused(tmp_path, layer):
    """fuzz_convert_keras: Input batch_shape [None, 0, 3] before an LSTM, a GRU and a SimpleRNN;
    Keras builds it, and the converter wrote a PACK of no steps for the GRU (PrepareError:
    'PACK (node 10): values_count 0 must be positive')."""
    model = keras.Sequential([keras.Input((0, 3)), getattr(L, layer)(4, return_sequences=True)])
    with pytest.raises(ConversionError, match=rf"\({layer}\): a sequence of 0 time steps"):
        numlite.convert(model)


# -- fuzz_quantize -------------------------------------------------------------------------------------------
def _add_model(zero_from_mul: float | None = None) -> bytes:
    """y = ADD(x, z): z a second input, or (``zero_from_mul``) z = TANH(x) + x * k."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    if zero_from_mul is None:
        z = mb.input("z", (1, 4), np.float32)
        a = x
    else:
        a = mb.tensor("t", (1, 4), np.float32)
        mb.op("TANH", [x], [a])
        z = mb.tensor("u", (1, 4), np.float32)
        mb.op("MUL", [x, mb.const("k", np.array(zero_from_mul, np.float32))], [z], fused_activation_function="NONE")
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("ADD", [a, z], [y], fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


def _allocated(q: bytes) -> numlite.Interpreter:
    it = numlite.Interpreter(model_content=q)
    it.allocate_tensors()
    return it


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_an_all_zero_add_input_takes_the_other_inputs_parameters(mode):
    """An ADD input that was 0 in every calibration sample had scale 1 (a point range): beside an
    input of range [-1, 1] the int16 ADD's output multiplier was 2.01 and the quantized model did not
    allocate ('ADD (node 0): the output multiplier 2.01095 must lie in (0, 1)'); it now takes the
    other input's parameters, which represent its 0 exactly."""
    from numlite.quantize import quantize_model

    rng = np.random.default_rng(0)
    cal = [[rng.uniform(-1, 1, (1, 4)).astype(np.float32), np.zeros((1, 4), np.float32)] for _ in range(4)]
    it = _allocated(quantize_model(_add_model(), cal, mode=mode))
    x, z = it.get_input_details()
    assert x["quantization"] == z["quantization"] and x["quantization"][0] < 0.01
    it.set_tensor(x["index"], np.full((1, 4), 5, x["dtype"]))
    it.set_tensor(z["index"], np.full((1, 4), z["quantization"][1], z["dtype"]))
    it.invoke()
    o = it.get_output_details()[0]
    np.testing.assert_array_equal(it.get_tensor(o["index"]), np.full((1, 4), 5 - x["quantization"][1]
                                                                     + o["quantization"][1], o["dtype"]))


def test_keras_gru_loop_calibrated_on_one_step_quantizes_to_int16():
    """fuzz_quantize's Keras GRU seed (a WHILE loop over a free length; Keras's zero recurrent bias):
    calibrated on 1-step sequences the recurrent projection of the zero state is 0 everywhere, and
    the 16x8 model's ADD of it did not prepare."""
    from numlite.quantize import quantize_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, 3)), L.GRU(4), L.Dense(2)])
    f = numlite.convert(model)
    rng = np.random.default_rng(1)
    cal = [[rng.uniform(-1, 1, (1, 1, 3)).astype(np.float32)] for _ in range(4)]
    for mode in ("int8", "int16x8"):
        it = numlite.Interpreter(model_content=quantize_model(f, cal, mode=mode, io_dtype=np.float32))
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], cal[0][0])
        it.invoke()
        got = it.get_tensor(it.get_output_details()[0]["index"])
        np.testing.assert_allclose(got, np.asarray(model(cal[0][0])), atol=0.05)


def test_an_add_input_too_wide_for_the_output_is_requantized_or_refused():
    """fuzz_quantize (calibration values near 1e-8): TANH's int16 output is pinned to 1/32768, and
    beside a sum of range 1e-9 the ADD's output multiplier was 8e7 (the model did not prepare). The
    input is requantized to the output's parameters when its calibrated range fits them, else the
    quantizer refuses the op by name."""
    from numlite.quantize import QuantizationError, quantize_model

    rng = np.random.default_rng(0)
    cal = [[rng.uniform(-1e-9, 1e-9, (1, 4)).astype(np.float32)] for _ in range(4)]
    q = quantize_model(_add_model(zero_from_mul=0.0), cal, mode="int16x8")  # y = tanh(x) + 0: fits
    ops = [op.op_name for op in numlite.load_model(model_content=q).subgraphs[0].operators]
    assert ops.count("QUANTIZE") >= 1 and ops[-1] == "ADD"
    it = _allocated(q)
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 4), np.int16))
    it.invoke()
    with pytest.raises(QuantizationError, match=r"ADD \(node 2\): input 't' has scale 3.052e-05, at least 2\*\*14 "
                       r"times the output's .* does not fit the output's parameters"):
        quantize_model(_add_model(zero_from_mul=-0.999), cal, mode="int16x8")  # y = tanh(x) - 0.999 x


def test_an_op_passing_float_values_into_an_integer_tensor_is_refused_by_name():
    """fuzz_quantize: a SELECT_V2 of float32 values whose output tensor the file declares INT8
    (numlite's kernel runs it in float32) made quantize_model fail with an IndexError in its
    same-scale grouping; the op is now refused by name, and with allow_float so is the tensor it
    computes in float."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError, quantize_model

    mb = ModelBuilder()
    cond = mb.input("cond", (1, 1, 6), np.bool_)
    x = mb.input("x", (1, 4, 6), np.float32)
    y = mb.tensor("y", (1, 4, 6), np.int8)
    mb.op("SELECT_V2", [cond, x, mb.const("fill", np.array(-1.0, np.float32))], [y])
    mb.output(y)
    f = mb.build()
    cal = [[np.ones((1, 1, 6), bool), np.ones((1, 4, 6), np.float32)]]
    with pytest.raises(QuantizationError, match=r"SELECT_V2 \(node 0\): the values it passes through are of mixed "
                       r"types \('x' FLOAT32, 'fill' FLOAT32, 'y' INT8\)"):
        quantize_model(f, cal)
    # with allow_float the op stayed float, but the tensor it computes in float is declared INT8: the
    # calibration refuses that (test_a_tensor_declared_as_integers_that_its_op_computes_as_float...)
    with pytest.raises(QuantizationError, match=r"tensor 'y' is declared INT8 but its op computes float32"):
        quantize_model(f, cal, allow_float=True)


def test_a_signature_naming_a_tensor_that_is_no_graph_input_is_refused():
    """fuzz_quantize: a signature whose input is tensor 0 of a subgraph without inputs (a file the
    loader takes) made quantize_model raise KeyError: 0 while writing the signatures."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError, quantize_model

    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    h = mb.tensor("h", (1, 4), np.float32)
    mb.op("RELU", [x], [h])
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("TANH", [h], [y])
    mb.output(y)
    mb.signature("serving_default", {"x": x}, {"y": y})
    mb.signature("inner", {"h": h}, {"y": y})
    with pytest.raises(QuantizationError, match=r"signature 'inner': its input 'h' is tensor 1, not an input of "
                       r"subgraph 0 \(its inputs: \[0\]\)"):
        quantize_model(mb.build(), [[np.ones((1, 4), np.float32)]])


def _unary_model(op: str) -> bytes:
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op(op, [x], [y])
    mb.output(y)
    return mb.build()


def _mask_model() -> bytes:
    """y = x + mask, the mask's 'off' entries float32's lowest value (a common attention mask)."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    mask = mb.const("mask", np.array([0, 0, np.finfo(np.float32).min, 0], np.float32))
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("ADD", [x, mask], [y], fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("case", ["int8 add of 1e35", "int16 logistic of 1e10", "float32-min mask"])
def test_ranges_too_large_for_integer_kernels_are_refused_by_name(case):
    """fuzz_quantize (calibration values up to 2.5e38): the quantizer wrote parameters LiteRT's
    integer kernels cannot use - an int8 ADD whose output scale times 2**20 overflows float32
    ('ADD (node 12): the output multiplier 0 must lie in (0, 1)'), an int16 LOGISTIC whose input
    scale * 12288 overflows int32 ('LOGISTIC (node 1) failed to prepare: Python int too large to
    convert to C long') - and the quantized model did not allocate; ranges beyond 2**31 are now
    refused, naming the tensor."""
    from numlite.quantize import QuantizationError, quantize_model

    rng = np.random.default_rng(0)
    if case == "int8 add of 1e35":
        model, mode, name = _add_model(), "int8", "x"
        cal = [[rng.uniform(-1e35, 1e35, (1, 4)).astype(np.float32), np.ones((1, 4), np.float32)]]
    elif case == "int16 logistic of 1e10":
        model, mode, name = _unary_model("LOGISTIC"), "int16x8", "x"
        cal = [[rng.uniform(-1e10, 1e10, (1, 4)).astype(np.float32)]]
    else:
        model, mode, name = _mask_model(), "int8", "(y|mask)"
        cal = [[rng.uniform(-1, 1, (1, 4)).astype(np.float32)]]
    with pytest.raises(QuantizationError, match=rf"tensor '{name}'.*: calibration range \[.*\] reaches beyond "
                       r"\+-2\*\*31: LiteRT's integer kernels cannot rescale values this large"):
        quantize_model(model, cal, mode=mode)
    ok = [[rng.uniform(-1e3, 1e3, (1, 4)).astype(np.float32)] + ([np.ones((1, 4), np.float32)]
                                                                  if case.startswith("int8 add") else [])]
    if case != "float32-min mask":  # a wide but usable range still quantizes
        _allocated(quantize_model(model, ok, mode=mode))


def test_weights_that_are_also_a_graph_output_are_refused_by_name():
    """fuzz_quantize: a MobileNet whose graph output was mutated to a depthwise bias (a constant
    the quantizer stores as int32, with no activation parameters): quantize_model(io_dtype=uint8)
    raised KeyError: 35 writing the outputs."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError, quantize_model

    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    b = mb.const("bias", rng.normal(size=3).astype(np.float32))
    y = mb.tensor("y", (1, 3), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w", rng.normal(size=(3, 4)).astype(np.float32)), b], [y])
    mb.output(y, b)
    f = mb.build()
    cal = [[rng.uniform(-1, 1, (1, 4)).astype(np.float32)]]
    for io_dtype in (None, np.uint8, np.float32):
        with pytest.raises(QuantizationError, match=r"FULLY_CONNECTED \(node 0\): its weights or bias 'bias' is "
                           r"also an input or output of the graph"):
            quantize_model(f, cal, io_dtype=io_dtype)
    _allocated(quantize_model(f, cal, io_dtype=np.uint8, allow_float=True))


@pytest.mark.parametrize("weight_only", ["fallback", "none"])
def test_a_conv_whose_bias_is_a_variable_tensor_is_not_made_hybrid(weight_only):
    """fuzz_quantize: a CONV_2D whose bias tensor carries is_variable (numlite runs the float model,
    reading it as a variable) was made hybrid by quantize_dynamic_range, and the hybrid CONV_2D did not
    prepare ('bias tensor 3 'b' (float32[6]) must be a constant for the quantized / hybrid CONV_2D')."""
    from numlite.builder import ModelBuilder
    from numlite.quantize_weights import quantize_dynamic_range

    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 8, 8, 3), np.float32)
    b = mb.const("b", rng.normal(size=6).astype(np.float32), is_variable=True)
    y = mb.tensor("y", (1, 8, 8, 6), np.float32)
    mb.op("CONV_2D", [x, mb.const("w", rng.normal(size=(6, 3, 3, 3)).astype(np.float32)), b], [y], padding="SAME",
          stride_w=1, stride_h=1, fused_activation_function="NONE")
    mb.output(y)
    f = mb.build()
    _allocated(f)
    if weight_only == "none":
        from numlite.quantize import QuantizationError

        with pytest.raises(QuantizationError, match="its bias is not a float32 constant"):
            quantize_dynamic_range(f, min_elements=16, weight_only=weight_only)
        return
    q = quantize_dynamic_range(f, min_elements=16, weight_only=weight_only)
    assert [op.op_name for op in numlite.load_model(model_content=q).subgraphs[0].operators] == ["DEQUANTIZE",
                                                                                                  "CONV_2D"]
    _allocated(q)


def _svdf_writing_its_weights() -> bytes:
    """An SVDF whose second output is its own feature weights (LiteRT and numlite run it)."""
    from numlite.builder import ModelBuilder

    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.float32)
    wf = mb.const("wf", rng.normal(size=(4, 4)).astype(np.float32))
    wt = mb.const("wt", rng.normal(size=(4, 3)).astype(np.float32))
    state = mb.tensor("state", (1, 12), np.float32, is_variable=True)
    y = mb.tensor("y", (1, 4), np.float32)
    mb.op("SVDF", [x, wf, wt, mb.const("b", np.zeros(4, np.float32)), state], [y, wf], rank=1,
          options_table="SVDFOptions", fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


def test_a_constant_an_op_writes_is_no_weight():
    """fuzz_quantize: an SVDF whose outputs list its own feature weights (an op writing a tensor that
    has constant data) was made hybrid by quantize_dynamic_range, its weights int8 constants, and the
    hybrid SVDF did not prepare ('hybrid feature weights tensor 1 'wf' (int8[4, 4]) must be constant').
    A tensor an op writes is now no constant to the quantizers."""
    from numlite.quantize import QuantizationError, quantize_model
    from numlite.quantize_weights import quantize_dynamic_range, quantize_float16

    f = _svdf_writing_its_weights()
    _allocated(f)
    q = quantize_dynamic_range(f, min_elements=1)  # wt alone: the op stays float, wt behind a DEQUANTIZE
    qsg = numlite.load_model(model_content=q).subgraphs[0]
    assert [qsg.tensors[i].type_name for i in qsg.operators[-1].inputs[1:3]] == ["FLOAT32", "FLOAT32"]
    _allocated(q)
    h = numlite.load_model(model_content=quantize_float16(f)).subgraphs[0]
    assert "wf_fp16" not in [t.name for t in h.tensors] and "wt_fp16" in [t.name for t in h.tensors]
    with pytest.raises(QuantizationError, match=r"SVDF \(node 0\) writes 'wf', a tensor with constant data"):
        quantize_model(f, [[np.ones((1, 4), np.float32)]], allow_float=True)


def test_a_tensor_declared_float_that_its_op_computes_as_bool_is_refused():
    """fuzz_quantize: a WHILE's cond whose LESS output the file declares FLOAT32 (LESS computes BOOL,
    in numlite as in LiteRT); with allow_float the quantizer took the declared type, and the model it
    wrote did not prepare ('QUANTIZE (node 1 of subgraph 1): input tensor 4 'go' (bool[]) has type
    bool'). Calibration now checks the declared float32 tensors against what the ops computed."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError, quantize_model

    mb = ModelBuilder()
    x, y = mb.input("x", (1, 4), np.float32), mb.input("y", (1, 4), np.float32)
    go = mb.tensor("go", (1, 4), np.float32)
    mb.op("LESS", [x, y], [go])
    mb.output(go)
    f = mb.build()
    rng = np.random.default_rng(0)
    cal = [[rng.normal(size=(1, 4)).astype(np.float32) for _ in range(2)]]
    with pytest.raises(QuantizationError, match=r"tensor 'go' is declared FLOAT32 but its op computes bool"):
        quantize_model(f, cal, allow_float=True, io_dtype=np.uint8)


def test_an_embedding_of_a_float_input_casts_its_indices():
    """fuzz_convert_keras: an Embedding fed by a float32 Input (Keras casts the indices to int32) was
    written as a GATHER of float32 indices, which did not prepare ('GATHER (node 3): indices tensor 0
    'ids' (float32[1, 5]) has type float32')."""
    keras.utils.set_random_seed(0)
    t = keras.Input((5,), name="ids")  # float32
    model = keras.Model(t, L.Embedding(12, 4)(t))
    data = numlite.convert(model)
    assert "CAST" in [op.op_name for op in numlite.load_model(model_content=data).subgraphs[0].operators]
    x = np.array([[0.0, 1.9, 11.0, 3.5, 7.2]], np.float32)  # toward zero: rows 0, 1, 11, 3, 7
    it = _allocated(data)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), np.asarray(model(x)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_keras_operations_of_other_float_types_compute_in_float32(dtype):
    """fuzz_convert_keras: a Cumsum of dtype float16 (the ops seed, its config mutated) was written
    with float16 tensors, which numlite's (and LiteRT's) CUMSUM does not take ('CUMSUM (node 20): input
    tensor 32 'cumsum/x_float16' (float16[1, 2, 2]) has type float16'); Keras operations of any float
    type are now computed in float32, as the converter does for layers of a float16 dtype policy."""
    x = keras.Input((3, 4), name="x")
    y = keras.ops.exp(keras.ops.cast(x, dtype))
    model = keras.Model(x, [keras.ops.cumsum(keras.ops.cast(y, "float32"), axis=1, dtype=dtype), y])
    data = numlite.convert(model)
    types = {t.type_name for t in numlite.load_model(model_content=data).subgraphs[0].tensors}
    assert types <= {"FLOAT32", "INT32"}, types
    v = np.random.default_rng(0).uniform(-1, 1, (1, 3, 4)).astype(np.float32)
    it = _allocated(data)
    it.set_tensor(it.get_input_details()[0]["index"], v)
    it.invoke()
    want = [np.asarray(w, np.float32) for w in model(v)]
    got = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    for g_, w in zip(sorted(got, key=lambda a: a.sum()), sorted(want, key=lambda a: a.sum())):
        np.testing.assert_allclose(g_, w, rtol=2e-2 if dtype != "float64" else 1e-6)


def test_a_fractional_stride_is_refused_not_truncated(tmp_path):
    """fuzz_convert_keras: a DepthwiseConv1D whose config says strides [0.5] loads in Keras, and the
    converter's int() made it stride 0, a DEPTHWISE_CONV_2D that did not prepare ('strides must be
    positive, got stride_h=1, stride_w=0'); a stride of 1.5 would have become 1 silently."""
    from numlite.converter.ir import Graph, OptionError

    model = keras.Sequential([keras.Input((8, 3)), L.Conv1D(4, 1), L.DepthwiseConv1D(3)])
    path = _inconsistent(tmp_path, model, _set(2, "strides", [0.5]))
    with pytest.raises(ConversionError, match=r"\(DepthwiseConv1D\): strides \(0.5,\) \(positive integers convert\)"):
        numlite.convert(path)
    g = Graph()  # the IR refuses such options whichever front end asks
    with pytest.raises(OptionError, match="CONV_2D with stride_w=0"):
        g.op("CONV_2D", [], [], stride_h=1, stride_w=0)


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_a_subnormal_range_gets_the_smallest_normal_scale(mode):
    """fuzz_quantize: an ADD input calibrated to values of 1e-44 (subnormal float32) got scale 0 once
    stored as float32, and the quantized ADD did not prepare ('ADD (node 6): the input 2 multiplier 0
    must lie in (0, 1)'); scales are now at least float32's smallest normal number."""
    from numlite.quantize import MIN_SCALE, quantize_model

    rng = np.random.default_rng(0)
    cal = [[rng.uniform(-1, 1, (1, 4)).astype(np.float32), np.full((1, 4), 1e-44, np.float32) * (k + 1)]
           for k in range(2)]
    it = _allocated(quantize_model(_add_model(), cal, mode=mode))
    z = it.get_input_details()[1]
    assert z["quantization"][0] == np.float32(MIN_SCALE)
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()


def _tconv_model(w: np.ndarray) -> bytes:
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 2), np.float32)
    y = mb.tensor("y", (1, 4, 4, 4), np.float32)
    mb.op("TRANSPOSE_CONV", [mb.const("oshape", np.array([1, 4, 4, 4], np.int32)), mb.const("w", w), x,
                             mb.const("b", np.array([1.8, -0.6, 0.7, 1.2], np.float32))], [y], version=3,
          padding="SAME", stride_h=1, stride_w=1, fused_activation_function="NONE")
    mb.output(y)
    return mb.build()


def test_subnormal_weights_get_the_smallest_normal_scale():
    """fuzz_quantize: a TRANSPOSE_CONV whose filter values were all 1e-45 (mutated weights) had
    weight scales 1e-45 / 127, 0 once stored as float32, and the int8 model did not prepare
    ('TRANSPOSE_CONV (node 0): input, filter and output scales must be positive')."""
    from numlite.quantize import MIN_SCALE, quantize_model

    f = _tconv_model(np.full((4, 3, 3, 2), 1e-45, np.float32))
    q = quantize_model(f, [[np.random.default_rng(0).normal(size=(1, 4, 4, 2)).astype(np.float32)]])
    it = _allocated(q)
    sg = numlite.load_model(model_content=q).subgraphs[0]
    w = next(t for t in sg.tensors if t.name == "w")
    assert np.all(np.asarray(w.quantization.scales) >= np.float32(MIN_SCALE))
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 4, 4, 2), np.int8))
    it.invoke()


@pytest.mark.parametrize("per_channel", [True, False])
def test_a_bias_too_large_for_int32_raises_the_weight_scale(per_channel):
    """Seen while fixing the subnormal weights (fuzz_quantize): weights of 1e-30 beside a bias of
    1.8 gave a bias scale (input scale x weight scale) so small that the int32 bias was clipped, and
    the quantized TRANSPOSE_CONV output 0 where the float one outputs the bias. The weight scale is
    now raised until the bias fits (as TensorFlow's converter does)."""
    from numlite.quantize import quantize_model

    pytest.importorskip("ai_edge_litert.interpreter")
    f = _tconv_model(np.full((4, 3, 3, 2), 1e-30, np.float32))
    x = np.random.default_rng(0).normal(size=(1, 4, 4, 2)).astype(np.float32)
    q = quantize_model(f, [[x]], io_dtype=np.float32, per_channel=per_channel)
    outs = [run_numlite(q, [x])[0], run_litert(q, [x])[0]]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0][0, 0, 0], [1.8, -0.6, 0.7, 1.2], atol=0.01)


@pytest.mark.parametrize("weight_only", ["fallback", "all"])
def test_a_weight_without_the_channel_axis_is_left_float(weight_only):
    """fuzz_quantize: a MobileNet DEPTHWISE_CONV_2D whose filter slot read its 1-D bias (a mutated
    input list) made quantize_dynamic_range raise IndexError ('list assignment index out of range'):
    one scale per channel along axis 3 of a rank-1 tensor. Such a weight is now left float, named."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError
    from numlite.quantize_weights import quantize_dynamic_range

    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 64), np.float32)
    v = mb.const("v", np.linspace(-1, 1, 64).astype(np.float32))
    y = mb.tensor("y", (1, 4, 4, 64), np.float32)
    mb.op("DEPTHWISE_CONV_2D", [x, v, v], [y], padding="SAME", stride_w=1, stride_h=1, depth_multiplier=1,
          fused_activation_function="NONE")
    mb.output(y)
    with pytest.raises(QuantizationError, match=r"DEPTHWISE_CONV_2D \(subgraph 0, node 0\): weight 'v' of rank 1 "
                       r"has no axis 3"):
        quantize_dynamic_range(mb.build(), min_elements=16, weight_only=weight_only)


def test_group_normalization_over_free_channels_is_refused_by_name(tmp_path):
    """fuzz_convert_keras: a GroupNormalization whose input's channels are free (the Input's
    batch_shape mutated to [None, 3, None]; Keras built the layer from its build_config) raised
    TypeError from int(None) before the converter's own check for it."""
    model = keras.Sequential([keras.Input((3, 8)), L.GroupNormalization(groups=2)])
    path = _inconsistent(tmp_path, model, lambda layers: layers[0]["config"].__setitem__("batch_shape",
                                                                                         [None, 3, None]))
    with pytest.raises(ConversionError, match=r"\(GroupNormalization\): a free channel dimension"):
        numlite.convert(path)


@pytest.mark.parametrize("dtype", ["string", "int8", "float16"])
def test_a_model_input_of_another_type_is_refused_by_name(tmp_path, dtype):
    """fuzz_convert_keras: an Input whose dtype the file says is 'string' loads in Keras, and the
    converter raised TypeError ('data type 'string' not understood') making its IR tensor, before
    its own check of the inputs' types."""
    model = keras.Sequential([keras.Input((4,), name="x"), L.Dense(2)])
    path = _inconsistent(tmp_path, model, lambda layers: layers[0]["config"].__setitem__("dtype", dtype))
    with pytest.raises(ConversionError, match=rf"model input '.*' is {dtype}: model inputs must be float32"):
        numlite.convert(path)


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_an_untyped_tensor_an_op_computes_as_float_is_refused(mode):
    """fuzz_quantize: a LOGISTIC whose output tensor the file declares VARIANT (numlite's kernel
    writes float32 there) was copied by the quantizer as no float value, written with no type
    (float64), and with allow_float the quantized model did not prepare ('LOGISTIC (node 4): input
    tensor 6 'h_int16' (int16[1, 8]) is quantized but output tensor 7 'logistic_0' (float64[1, 8])
    has no quantization parameters'). Calibration now refuses it by name, as a declared FLOAT32
    tensor computed as bool is."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError, quantize_model

    mb = ModelBuilder()
    x = mb.input("x", (1, 8), np.float32)
    lg = mb.tensor("logistic_0", (1, 8), None, type_name="VARIANT")
    t = mb.tensor("t", (1, 8), np.float32)
    y = mb.tensor("y", (1, 16), np.float32)
    mb.op("LOGISTIC", [x], [lg])
    mb.op("TANH", [x], [t])
    mb.op("CONCATENATION", [lg, t], [y], axis=1)
    mb.output(y)
    f = mb.build()
    _allocated(f)  # the float model runs
    cal = [[np.random.default_rng(0).normal(size=(1, 8)).astype(np.float32)]]
    with pytest.raises(QuantizationError, match=r"tensor 'logistic_0' is declared VARIANT but its op computes float32"):
        quantize_model(f, cal, mode=mode, allow_float=True)


def _tiny_weights_model(op: str) -> bytes:
    """``op`` (int16x8-quantizable, with a bias) of 4 channels over a [1, 4, 4, 4] input, every
    weight 1e-45 (subnormal) and the bias [0.18, -0.15, 0.1, 0.05]."""
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 4), np.float32)
    b = mb.const("b", np.array([0.18, -0.15, 0.1, 0.05], np.float32))
    conv = dict(padding="SAME", stride_h=1, stride_w=1, fused_activation_function="NONE")
    y = mb.tensor("y", (1, 4, 4, 4) if op != "FULLY_CONNECTED" else (16, 4), np.float32)
    if op == "DEPTHWISE_CONV_2D":
        mb.op(op, [x, mb.const("w", np.full((1, 3, 3, 4), 1e-45, np.float32)), b], [y], depth_multiplier=1,
              dilation_h_factor=1, dilation_w_factor=1, **conv)
    elif op == "CONV_2D":
        mb.op(op, [x, mb.const("w", np.full((4, 3, 3, 4), 1e-45, np.float32)), b], [y],
              dilation_h_factor=1, dilation_w_factor=1, **conv)
    elif op == "TRANSPOSE_CONV":
        mb.op(op, [mb.const("oshape", np.array([1, 4, 4, 4], np.int32)),
                   mb.const("w", np.full((4, 3, 3, 4), 1e-45, np.float32)), x, b], [y], version=3, **conv)
    else:
        mb.op(op, [x, mb.const("w", np.full((4, 4), 1e-45, np.float32)), b], [y])
    mb.output(y)
    return mb.build()


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("op", ["DEPTHWISE_CONV_2D", "CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"])
def test_an_int64_bias_keeps_the_int16_accumulator_within_2_40(op, per_channel):
    """fuzz_quantize: a MobileNet DEPTHWISE_CONV_2D whose weights were all 1e-45 (mutated) had its
    weight scale raised only until the int64 bias fitted int64 (f5e0bbb), so the int16x8 bias was
    about 2**63 and the op did not prepare ('accumulator bound 9.22e+18 exceeds 2**53'); CONV_2D and
    TRANSPOSE_CONV prepared but output zeros, in numlite and LiteRT alike (an output multiplier below
    2**-31 is 0), and LiteRT's int64 requantization assumes an accumulator below 2**47. The weight
    scale is now raised until the bias and the largest weight sum stay within 2**40."""
    from numlite.quantize import ACC16_LIMIT, quantize_model

    pytest.importorskip("ai_edge_litert.interpreter")
    f = _tiny_weights_model(op)
    x = np.random.default_rng(0).uniform(-0.01, 0.01, (1, 4, 4, 4)).astype(np.float32)
    q = quantize_model(f, [[x]], mode="int16x8", io_dtype=np.float32, per_channel=per_channel)
    qb = next(t for t in numlite.load_model(model_content=q).subgraphs[0].tensors if t.name == "b")
    assert qb.type_name == "INT64" and np.abs(np.asarray(qb.data)).max() < ACC16_LIMIT
    outs = [run_numlite(q, [x])[0], run_litert(q, [x])[0]]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[0].reshape(-1, 4), np.tile([0.18, -0.15, 0.1, 0.05], (16, 1)), atol=0.01)


def test_an_axis_that_is_no_integer_is_refused_by_name(tmp_path):
    """fuzz_convert_keras: a Softmax whose config's axis is a dict (an initializer's config) loads in
    Keras, and the converter's int() raised TypeError ('int() argument must be ... not
    'TrackedDict'')."""
    zeros = {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}
    model = keras.Sequential([keras.Input((3, 8)), L.Dense(4), L.Softmax(axis=-1)])
    _, files = _saved(tmp_path, model)
    path = _write(tmp_path, _with_config(files, lambda cfg: cfg["config"]["layers"][2]["config"].__setitem__(
        "axis", zeros)))
    with pytest.raises(ConversionError, match=r"'softmax.*' \(Softmax\): axis \{.*\} \(integers convert\)"):
        numlite.convert(path)


def _float_target(size: int):
    """Input of [size, 8] into a Reshape whose target_shape [size.0, 8] holds a float: Keras's
    shape for its output is [None, None, 8] (a free dimension the file's graph lost), while the
    layers after it keep their build_config's sizes."""
    def edit(layers):
        layers[0]["config"]["batch_shape"] = [None, size, 8]
        layers[1]["config"]["target_shape"] = [float(size), 8]
    return edit


def test_prelu_alpha_over_a_free_dimension_is_refused_by_name(tmp_path):
    """fuzz_convert_keras: a PReLU built for [4, 8] (alpha [4, 8]) after a Reshape whose
    target_shape [3.0, 8] made Keras's shape [None, None, 8]; broadcasts() skipped the free
    dimension, and the .tflite did not prepare (PrepareError: 'PRELU (node 9): alpha ... (float32[4,
    8]) does not broadcast against input ... (float32[1, 3, 8])')."""
    model = keras.Sequential([keras.Input((4, 8)), L.Reshape((4, 8)), L.PReLU()])
    path = _inconsistent(tmp_path, model, _float_target(3))
    with pytest.raises(ConversionError, match=r"\(PReLU\): alpha of shape \[4, 8\] does not broadcast to the input's "
                                              r"shape \[None, None, 8\] \(None: free\)"):
        numlite.convert(path)


def test_dense_over_a_free_last_dimension_is_refused_by_name(tmp_path):
    """fuzz_convert_keras: a Dense built for 2 features after layers whose last dimension Keras
    lost (a Reshape whose target_shape held a float): fits() skipped the free size, and the
    .tflite did not prepare (PrepareError: 'FULLY_CONNECTED (node 26): keep_num_dims: the input's
    last dimension (24) must equal K = 2')."""
    def edit(layers):
        layers[1]["config"]["target_shape"] = [8, 2.0]
        layers[2]["build_config"]["input_shape"] = [None, 8, 4]

    model = keras.Sequential([keras.Input((2, 8)), L.Reshape((8, 2)), L.Dense(3)])
    path = _inconsistent(tmp_path, model, edit)
    with pytest.raises(ConversionError, match=r"\(Dense\): last dimension: the input has a free size, the weights "
                                              r"take 4 \(the file's build_config does not match"):
        numlite.convert(path)


def test_a_weight_another_op_reads_as_an_activation_is_quantized_from_its_values():
    """fuzz_quantize (campaign): FULLY_CONNECTED's weights also fed a RELU; the int8 writer had
    no activation parameters for that constant (KeyError).  It now takes them from the
    constant's own values; the quantized model runs as on LiteRT, bit for bit."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    from numlite.builder import ModelBuilder
    from numlite.quantize import quantize_model

    rng = np.random.default_rng(5)
    w = rng.normal(size=(8, 16)).astype(np.float32)
    mb = ModelBuilder()
    x = mb.input("x", (1, 16), np.float32)
    wi = mb.const("w", w)
    y = mb.tensor("y", (1, 8), np.float32)
    mb.op("FULLY_CONNECTED", [x, wi, mb.const("b", np.zeros(8, np.float32))], [y])
    r = mb.tensor("r", (8, 16), np.float32)
    mb.op("RELU", [wi], [r])
    mb.output(y, r)
    samples = [[rng.normal(size=(1, 16)).astype(np.float32)] for _ in range(8)]
    q = quantize_model(mb.build(), samples)
    outs = []
    for runtime in (numlite.Interpreter, LiteRT):
        it = runtime(model_content=q)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], samples[0][0].astype(d["dtype"]))
        it.invoke()
        outs.append([it.get_tensor(o["index"]) for o in it.get_output_details()])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    rd = [o for o in numlite.Interpreter(model_content=q).get_output_details() if o["shape"].tolist() == [8, 16]][0]
    scale, zp = rd["quantization"]
    got = [o for o in outs[0] if o.shape == (8, 16)][0]
    step = (w.max() - min(w.min(), 0)) / 255  # the weight's own int8 step, then the RELU output's
    np.testing.assert_allclose(scale * (got.astype(np.float64) - zp), np.maximum(w, 0), atol=step / 2 + scale / 2)


_FLOAT_LAYERS = {
    "Rescaling": lambda t: L.Rescaling(0.5, 1.0)(t),
    "Dense": lambda t: L.Dense(3)(t),
    "Activation": lambda t: L.Activation("tanh")(t),
    "BatchNormalization": lambda t: L.BatchNormalization()(t),
    "LayerNormalization": lambda t: L.LayerNormalization()(t),
    "Flatten then Dense": lambda t: L.Dense(2)(L.Flatten()(t)),
    "Concatenate with a float tensor": lambda t: L.Concatenate()([t, L.Dense(6)(t)]),
}


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("case", sorted(_FLOAT_LAYERS))
def test_an_integer_input_into_a_float_layer_is_cast_to_float32(case, dtype):
    """fuzz_convert_keras (CI's 8-second atheris run): an Input mutated to int64 feeding a Rescaling was
    written as MUL (int64 input, float32 scale), which did not prepare ('MUL (node 0): input types
    differ: tensor 0 'input_layer' (int64[1, 4, 6]) vs tensor 1 'rescaling/scale' (float32[])').
    Keras computes these layers in float (their outputs are float32; Rescaling casts its input, Dense
    promotes it), so the integer tensor now goes through a CAST to float32.  The reference is the same
    layers applied to the input given as float32 (Keras itself computes some of them, such as
    LayerNormalization's mean, in integers when called on integer arrays, and Conv1D refuses them)."""
    keras.utils.set_random_seed(0)
    t, f = keras.Input((4, 6), dtype=dtype, name="x"), keras.Input((4, 6), name="x")
    build = _FLOAT_LAYERS[case]
    model = keras.Model(t, build(t))
    ref = keras.Model(f, build(f))
    ref.set_weights(model.get_weights())
    data = numlite.convert(model)
    ops = [op.op_name for op in numlite.load_model(model_content=data).subgraphs[0].operators]
    assert "CAST" in ops, ops
    x = np.random.default_rng(1).integers(-50, 50, (1, 4, 6)).astype(dtype)
    it = _allocated(data)
    assert it.get_input_details()[0]["dtype"] == np.dtype(dtype)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    # the same float32 arithmetic as Keras's, in another order for the sums: a few float32 ulps
    np.testing.assert_allclose(got, np.asarray(ref(x.astype(np.float32))), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_tensors_keep_their_type_through_layers_that_move_values(dtype):
    """Reshape, Flatten and Permute of integer indices stay integer (Keras's outputs are integer too),
    as an Embedding after them needs; no CAST."""
    keras.utils.set_random_seed(0)
    t = keras.Input((4, 6), dtype=dtype, name="ids")
    y = L.Embedding(10, 3)(L.Reshape((24,))(L.Permute((2, 1))(t)))
    model = keras.Model(t, [y, L.Flatten()(t)])
    data = numlite.convert(model)
    ops = [op.op_name for op in numlite.load_model(model_content=data).subgraphs[0].operators]
    assert "CAST" not in ops, ops
    x = np.random.default_rng(2).integers(0, 10, (1, 4, 6)).astype(dtype)
    it = _allocated(data)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    want = [np.asarray(w) for w in model(x)]
    got = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
    flat = [g for g in got.values() if g.ndim == 2]
    emb = [g for g in got.values() if g.ndim == 3]
    assert flat[0].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(flat[0], want[1])
    np.testing.assert_array_equal(emb[0], want[0])


def test_a_layer_computing_in_integers_is_refused_by_name():
    """A layer whose dtype policy is an integer type (a mutated config) computes in integers in
    Keras: no TFLite kernel numlite writes for it takes them, so the converter refuses it by name."""
    t = keras.Input((4, 6), dtype="int32", name="x")
    model = keras.Model(t, L.Dense(3, dtype="int32", name="int_dense")(t))
    with pytest.raises(ConversionError, match=r"'int_dense' \(Dense\): its inputs are int32 and Keras computes it in "
                                              r"int32"):
        numlite.convert(model)


@pytest.mark.parametrize("declared", ["UINT4", "INT32", "BOOL"])
def test_a_tensor_declared_as_integers_that_its_op_computes_as_float_is_refused(declared):
    """fuzz_quantize (a pass on d25bf8b): a MediaPipe model whose first CONV_2D output the
    mutation declared UINT4 runs in float (numlite's kernels give an output the type they compute),
    but the int8 quantizer copied that tensor as no float value - UINT4, no quantization
    parameters - and the quantized CONV_2D did not prepare.  Calibration now refuses, by name, every
    tensor declared other than FLOAT32 that its op computes as float, as it did for VARIANT."""
    from numlite.builder import ModelBuilder
    from numlite.quantize import QuantizationError, quantize_model

    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 3), np.float32)
    shape = (1, 4, 4, 2)
    c = (mb.tensor("conv_0", shape, None, type_name=declared) if declared == "UINT4"
         else mb.tensor("conv_0", shape, np.int32 if declared == "INT32" else np.bool_))
    y = mb.tensor("y", shape, np.float32)
    mb.op("CONV_2D", [x, mb.const("w", rng.normal(size=(2, 1, 1, 3)).astype(np.float32)),
                      mb.const("b", np.zeros(2, np.float32))], [c],
          padding=0, stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1, fused_activation_function="NONE")
    mb.op("TANH", [c], [y])
    mb.output(y)
    f = mb.build()
    _allocated(f)  # the float model runs
    cal = [[rng.normal(size=(1, 4, 4, 3)).astype(np.float32)]]
    for allow_float in (False, True):  # keeping ops float would not help: the ops reading it would be
        with pytest.raises(QuantizationError, match=rf"tensor 'conv_0' is declared {declared} but its op computes "
                                                    r"float32"):  # quantized as if it held integers
            quantize_model(f, cal, mode="int8", allow_float=allow_float)


def test_a_reshape_operation_whose_newshape_is_not_integers_is_refused_by_name(tmp_path):
    """fuzz_convert_keras (CI's 8-second run): a keras.ops.reshape whose saved newshape holds a string
    raised ValueError from int(); it is now a ConversionError naming the operation."""
    x = keras.Input((2, 3), name="x")
    _, files = _saved(tmp_path, keras.Model(x, keras.ops.reshape(x, (-1, 6))))

    def edit(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "newshape":
                    node[k] = ["matmul", 6]
                else:
                    edit(v)
        elif isinstance(node, list):
            for v in node:
                edit(v)

    path = _write(tmp_path, _with_config(files, edit))
    with pytest.raises(ConversionError, match=r"newshape \['matmul', 6\] \(integers convert\)"):
        numlite.convert(path)
