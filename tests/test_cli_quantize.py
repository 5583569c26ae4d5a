"""``numlite quantize``: the three modes write a model LiteRT and numlite run; bad input is one
line with its exit code, and no file (not even a partial one) is left."""

from __future__ import annotations

import json

import numpy as np
import pytest
from util import numlite_command

import numlite
from numlite import models
from numlite.graph import load_model

MODEL = models.build("mobilenet_v1", resolution=32, alpha=0.25)


@pytest.fixture
def src(tmp_path):
    p = tmp_path / "m.tflite"
    p.write_bytes(MODEL)
    return p


def _cal(tmp_path, array, name="input"):
    p = tmp_path / "cal.npz"
    np.savez(p, **{name: array})
    return str(p)


def _types(path):
    return {t.type_name for t in load_model(model_path=str(path)).subgraphs[0].tensors if t.data is not None}


@pytest.mark.parametrize("mode,types", [("float16", {"FLOAT16", "INT32"}), ("dynamic", {"INT8", "FLOAT32", "INT32"})])
def test_weight_modes(src, tmp_path, capsys, mode, types):
    out = tmp_path / "q.tflite"
    assert numlite_command(["quantize", str(src), "-o", str(out), "--mode", mode, "--min-elements", "64"]) == 0
    assert f"wrote {out}: {mode}" in capsys.readouterr().out
    assert _types(out) == types
    it = numlite.Interpreter(model_path=str(out))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 32, 32, 3), np.float32))
    it.invoke()


def test_int8_with_calibration_data(src, tmp_path):
    out = tmp_path / "q.tflite"
    cal = _cal(tmp_path, np.random.default_rng(0).uniform(0, 1, (3, 32, 32, 3)).astype(np.float32))
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", cal, "--io", "uint8"]) == 0
    it = numlite.Interpreter(model_path=str(out))
    assert it.get_input_details()[0]["dtype"] == np.uint8 and it.get_output_details()[0]["dtype"] == np.uint8


@pytest.mark.parametrize("bad,message", [
    (np.zeros((2, 16, 16, 3), np.float32), "shape"),
    (np.zeros((2, 32, 32, 3), np.float64), "dtype float64"),
    (np.zeros((0, 32, 32, 3), np.float32), "no samples"),
    (np.full((2, 32, 32, 3), np.nan, np.float32), "NaN"),
])
def test_bad_calibration_data(src, tmp_path, capsys, bad, message):
    out = tmp_path / "q.tflite"
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", _cal(tmp_path, bad)]) == 5
    assert message in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "q.tflite.partial").exists()


def test_int8_needs_calibration_and_unknown_names_are_named(src, tmp_path, capsys):
    out = tmp_path / "q.tflite"
    assert numlite_command(["quantize", str(src), "-o", str(out)]) == 5
    assert "--calibration" in capsys.readouterr().err
    cal = tmp_path / "two.npz"
    np.savez(cal, a=np.zeros((1, 32, 32, 3), np.float32), b=np.zeros((1, 32, 32, 3), np.float32))
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", str(cal)]) == 5
    assert "the model's inputs are ['input']" in capsys.readouterr().err
    assert not out.exists()


def test_already_quantized_and_corrupt_models(tmp_path, capsys):
    q = tmp_path / "int8.tflite"
    q.write_bytes(models.build("mobilenet_v1_int8", resolution=32, alpha=0.25))
    out = tmp_path / "q.tflite"
    for mode in ("float16", "dynamic"):
        assert numlite_command(["quantize", str(q), "-o", str(out), "--mode", mode]) == 1
        assert "already quantized" in capsys.readouterr().err
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(MODEL[:2000])
    assert numlite_command(["quantize", str(bad), "-o", str(out), "--mode", "float16"]) == 3
    assert not out.exists() and not (tmp_path / "q.tflite.partial").exists()


# -- int16x8, float ops, report, images, progress ------------------------------------------------
def _ok(argv):
    assert numlite_command(argv) == 0


def _no_files(*paths):
    for p in paths:
        assert not p.exists() and not p.with_name(p.name + ".partial").exists(), p


def _cal_ok(tmp_path, n=3):
    return _cal(tmp_path, np.random.default_rng(0).uniform(0, 1, (n, 32, 32, 3)).astype(np.float32))


@pytest.mark.parametrize("io,dtype", [(None, np.int16), ("int16", np.int16), ("float32", np.float32)])
def test_int16x8(src, tmp_path, io, dtype):
    out = tmp_path / "q.tflite"
    _ok(["quantize", str(src), "-o", str(out), "--mode", "int16x8", "--calibration", _cal_ok(tmp_path)]
        + (["--io", io] if io else []))
    it = numlite.Interpreter(model_path=str(out))
    assert it.get_input_details()[0]["dtype"] == dtype and it.get_output_details()[0]["dtype"] == dtype
    assert _types(out) == {"INT8", "INT64", "INT32"}  # int8 weights, int64 biases, int32 shapes
    sg = load_model(model_path=str(out)).subgraphs[0]
    acts = {t.type_name for t in sg.tensors if t.data is None and t.index not in (*sg.inputs, *sg.outputs)}
    assert acts == {"INT16"}


@pytest.mark.parametrize("argv,message", [
    (["--mode", "int16x8", "--io", "uint8"], "--io uint8 does not fit --mode int16x8 (choose int16 or float32)"),
    (["--mode", "int8", "--io", "int16"], "--io int16 does not fit --mode int8"),
    (["--mode", "float16", "--io", "float32"], "--io applies to --mode int8 / int16x8, not float16"),
    (["--mode", "dynamic", "--allow-float"], "--float-ops / --allow-float apply to --mode int8 / int16x8"),
    (["--num-samples", "0"], "--num-samples must be at least 1"),
    (["--mean", "1"], "--mean / --std apply to a folder of images"),
])
def test_options_that_do_not_fit(src, tmp_path, capsys, argv, message):
    out = tmp_path / "q.tflite"
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", _cal_ok(tmp_path)] + argv) == 2
    assert message in capsys.readouterr().err
    _no_files(out)


def test_report_and_report_json(src, tmp_path, capsys):
    out, js = tmp_path / "q.tflite", tmp_path / "r.json"
    _ok(["quantize", str(src), "-o", str(out), "--calibration", _cal_ok(tmp_path, 5), "--num-samples", "2",
         "--report", "--report-json", str(js)])
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].startswith(f"wrote {out}: int8")
    assert lines[1].split() == ["tensor", "op", "type", "min", "max", "scale", "zp", "rmse", "max|err|", "SNR", "dB"]
    assert lines[3].split()[:3] == ["input", "input", "INT8"]
    assert "lowest SNR" in lines[-1]
    doc = json.loads(js.read_text())
    assert doc["mode"] == "int8" and doc["samples"] == 2  # --num-samples
    assert len(doc["tensors"]) == len(lines) - 4
    assert {"name", "min", "max", "scale", "zero_point", "rmse", "max_abs_error", "snr_db"} <= set(doc["tensors"][0])
    # a weight-only mode reports too (float tensors), given calibration data
    _ok(["quantize", str(src), "-o", str(out), "--mode", "float16", "--calibration", _cal_ok(tmp_path), "--report"])
    assert "FLOAT32" in capsys.readouterr().out
    assert numlite_command(["quantize", str(src), "-o", str(tmp_path / "x.tflite"), "--mode", "float16",
                            "--report"]) == 5
    assert "--report needs --calibration" in capsys.readouterr().err


def test_report_json_unwritable_leaves_nothing(src, tmp_path, capsys):
    out = tmp_path / "q.tflite"
    bad = tmp_path / "missing_dir" / "r.json"
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", _cal_ok(tmp_path),
                            "--report-json", str(bad)]) != 0
    _no_files(out, bad)


def _sin_model(tmp_path):
    from numlite.builder import ModelBuilder

    mb = ModelBuilder()
    x = mb.input("x", (1, 8), np.float32)
    h = mb.tensor("h", (1, 8), np.float32)
    mb.op("FULLY_CONNECTED", [x, mb.const("w", np.eye(8, dtype=np.float32) * 0.5), mb.const("b", np.zeros(8,
                                                                                                    np.float32))],
          [h], fused_activation_function="NONE")
    y = mb.tensor("y", (1, 8), np.float32)
    mb.op("SIN", [h], [y])  # no integer kernel in LiteRT
    mb.output(y)
    p = tmp_path / "sin.tflite"
    p.write_bytes(mb.build())
    cal = tmp_path / "sin.npz"
    np.savez(cal, x=np.random.default_rng(1).uniform(-1, 1, (4, 8)).astype(np.float32))
    return p, cal


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_unknown_op_needs_the_float_option(tmp_path, capsys, mode):
    p, cal = _sin_model(tmp_path)
    out = tmp_path / "q.tflite"
    assert numlite_command(["quantize", str(p), "-o", str(out), "--mode", mode, "--calibration", str(cal)]) == 1
    err = capsys.readouterr().err
    assert "cannot quantize" in err and "SIN (nodes [1])" in err and "--allow-float" in err
    _no_files(out)
    for opt in (["--allow-float"], ["--float-ops", "SIN"], ["--float-ops", "1"], ["--float-ops", "y"]):
        _ok(["quantize", str(p), "-o", str(out), "--mode", mode, "--calibration", str(cal), "--io", "float32"] + opt)
        sg = load_model(model_path=str(out)).subgraphs[0]
        sin = next(o for o in sg.operators if o.op_name == "SIN")
        assert sg.tensors[sin.inputs[0]].type_name == "FLOAT32" and sg.tensors[sin.outputs[0]].type_name == "FLOAT32"
    assert numlite_command(["quantize", str(p), "-o", str(out), "--calibration", str(cal), "--float-ops",
                            "SOFTMAX,7"]) == 1
    assert "float_ops [7] match no op name" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["float16", "dynamic", "int8", "int16x8"])
def test_already_quantized_in_every_mode(tmp_path, capsys, mode):
    q = tmp_path / "int16.tflite"
    cal = [np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)]
    from numlite.quantize import quantize_model

    q.write_bytes(quantize_model(MODEL, cal, mode="int16x8"))
    out = tmp_path / "q.tflite"
    extra = ["--calibration", _cal(tmp_path, np.zeros((1, 32, 32, 3), np.int16))] if mode in ("int8", "int16x8") \
        else []
    code = numlite_command(["quantize", str(q), "-o", str(out), "--mode", mode] + extra)
    err = capsys.readouterr().err
    assert code == 1 and "already quantized: tensor 'input' is quantized INT16 (activations)" in err, err
    _no_files(out)


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
@pytest.mark.parametrize("bad,message", [
    (np.zeros((2, 16, 16, 3), np.float32), "'input': shape [2, 16, 16, 3], expected [samples, 32, 32, 3]"),
    (np.zeros((2, 32, 32, 3), np.float64), "'input': dtype float64, the input is float32"),
    (np.zeros((0, 32, 32, 3), np.float32), "has no samples"),
    (np.full((2, 32, 32, 3), np.inf, np.float32), "'input' has NaN or infinite values"),
])
def test_bad_calibration_data_both_modes(src, tmp_path, capsys, mode, bad, message):
    out, js = tmp_path / "q.tflite", tmp_path / "r.json"
    assert numlite_command(["quantize", str(src), "-o", str(out), "--mode", mode, "--calibration",
                            _cal(tmp_path, bad), "--report-json", str(js)]) == 5
    assert message in capsys.readouterr().err
    _no_files(out, js)


def _images(folder, n=3, size=(40, 24), mode="RGB"):
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(n):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"img{k}.png")
    (folder / "notes.txt").write_text("not an image, skipped by its extension")
    return folder


def test_image_folder_calibration(src, tmp_path, capsys):
    pytest.importorskip("PIL")
    from numlite.tools.quantize import calibration_samples

    folder = _images(tmp_path / "imgs", 3, mode="L")  # grayscale, other size: converted and resized
    out = tmp_path / "q.tflite"
    _ok(["quantize", str(src), "-o", str(out), "--calibration", str(folder)])
    err = capsys.readouterr().err
    assert "calibration: 3 images from" in err and "resized to 32x32 RGB" in err
    assert "(pixel - [0.0]) / [255.0] (the default, pixels to [0, 1]" in err
    s = calibration_samples(MODEL, str(folder))
    assert len(s) == 3 and s[0][0].shape == (1, 32, 32, 3) and s[0][0].dtype == np.float32
    assert 0 <= s[0][0].min() and s[0][0].max() <= 1
    assert np.array_equal(s[0][0][..., 0], s[0][0][..., 2])  # grey pixels in RGB
    s2 = calibration_samples(MODEL, str(folder), num_samples=2, mean=[127.5], std=[127.5, 127.5, 127.5])
    assert len(s2) == 2 and -1 <= s2[0][0].min() < 0 < s2[0][0].max() <= 1
    np.testing.assert_allclose(s2[0][0], s[0][0] * 255 / 127.5 - 1, atol=1e-6)
    # quiet: no notes
    _ok(["quantize", str(src), "-o", str(out), "--calibration", str(folder), "--quiet"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("case,code,message", [
    ("empty", 5, "has no images (.png, .jpg, .jpeg, .bmp)"),
    ("broken", 5, "broken.png: cannot read it"),
    ("mean", 2, "--mean takes 1 or 3 values (one per channel), got 2"),
    ("std0", 2, "--std must not be 0"),
    ("not_image_model", 5, "does not take images"),
])
def test_image_folder_errors(src, tmp_path, capsys, case, code, message):
    pytest.importorskip("PIL")
    model = src
    folder = tmp_path / "imgs"
    extra = []
    if case == "empty":
        folder.mkdir()
    else:
        _images(folder)
    if case == "broken":
        (folder / "broken.png").write_bytes(b"\x89PNG not really")
    if case == "mean":
        extra = ["--mean", "1", "2"]
    if case == "std0":
        extra = ["--std", "0"]
    if case == "not_image_model":
        model, _ = _sin_model(tmp_path)
    out = tmp_path / "q.tflite"
    assert numlite_command(["quantize", str(model), "-o", str(out), "--calibration", str(folder)] + extra) == code
    assert message in capsys.readouterr().err
    _no_files(out)


@pytest.mark.parametrize("tqdm", [True, False])
def test_progress_on_a_terminal(src, tmp_path, capsys, monkeypatch, tqdm):
    import sys

    if tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import fails: the plain counter
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    out = tmp_path / "q.tflite"
    _ok(["quantize", str(src), "-o", str(out), "--calibration", _cal_ok(tmp_path, 3), "--report"])
    err = capsys.readouterr().err
    assert "calibrating" in err and "report" in err
    assert ("3/3" in err) if not tqdm else ("sample" in err)
    _ok(["quantize", str(src), "-o", str(out), "--calibration", _cal_ok(tmp_path, 3), "--quiet"])
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    _ok(["quantize", str(src), "-o", str(out), "--calibration", _cal_ok(tmp_path, 3)])
    assert "calibrating" not in capsys.readouterr().err


def _gru_file(tmp_path):
    """A Keras GRU(6) + Dense(3) over a free number of 4-feature frames, converted by
    numlite.convert (a WHILE loop; stored input shape [1, 1, 4], signature [-1, -1, 4])."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((None, 4), name="frames"), keras.layers.GRU(6, name="gru"),
                              keras.layers.Dense(3, name="dense")])
    src = tmp_path / "gru.tflite"
    src.write_bytes(numlite.convert(model))
    return model, src


def test_calibration_for_free_dimensions(tmp_path, capsys):
    """A model with a free sequence length (a Keras GRU as a WHILE loop): .npz samples of any
    length fit the free axis; the fixed axes must match, and the error says which are free."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    model, src = _gru_file(tmp_path)
    rng = np.random.default_rng(0)
    cal = tmp_path / "cal.npz"
    np.savez(cal, frames=rng.uniform(-1, 1, (8, 5, 4)).astype(np.float32))  # 8 samples of 5 steps
    out = tmp_path / "gru_int8.tflite"
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", str(cal), "--io", "float32",
                            "--quiet"]) == 0
    x = rng.uniform(-1, 1, (1, 7, 4)).astype(np.float32)
    outs = []
    for it in (numlite.Interpreter(model_path=str(out)),
               Interpreter(model_path=str(out), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)):
        it.resize_tensor_input(it.get_input_details()[0]["index"], [1, 7, 4])
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs.append(it.get_tensor(it.get_output_details()[0]["index"]))
    np.testing.assert_array_equal(outs[0], outs[1])
    # a 7-step input may leave the range 8 samples of 5 steps calibrated: compare with Keras's
    # output clipped to the representable range (the int8 output behind the final DEQUANTIZE)
    sg = load_model(model_path=str(out)).subgraphs[0]
    q = sg.tensors[sg.operators[-1].inputs[0]].quantization
    s, zp = float(q.scale), int(q.zero_point)
    want = np.clip(model.predict(x, verbose=0), (-128 - zp) * s, (127 - zp) * s)
    assert np.max(np.abs(outs[0] - want)) < 6 * s  # output step ~0.005; measured 3.2 steps (a wrong scale: tens)
    capsys.readouterr()
    np.savez(cal, frames=rng.uniform(-1, 1, (8, 5, 3)).astype(np.float32))
    assert numlite_command(["quantize", str(src), "-o", str(out), "--calibration", str(cal), "--quiet"]) == 5
    assert "shape [8, 5, 3], expected [samples, any, 4]" in capsys.readouterr().err


def test_report_of_a_while_loop_with_free_dimensions(tmp_path, capsys):
    """--report / --report-json on the GRU loop, calibrated on 6-step samples (the stored shape
    has 1 step): rows for the main graph, the cond and the body, each naming its subgraph; the
    ranges of the GRU state inside the loop (over every iteration) are those of the states a
    Keras GRU with the same weights and return_sequences=True computes."""
    keras = pytest.importorskip("keras")
    model, src = _gru_file(tmp_path)
    rng = np.random.default_rng(1)
    frames = rng.uniform(-1, 1, (5, 6, 4)).astype(np.float32)
    cal = tmp_path / "cal.npz"
    np.savez(cal, frames=frames)
    out, js = tmp_path / "gru_int8.tflite", tmp_path / "report.json"
    _ok(["quantize", str(src), "-o", str(out), "--calibration", str(cal), "--report", "--report-json", str(js),
         "--quiet"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["sg", "tensor", "op"]
    assert lines[-1] == "subgraphs: 0 'main', 1 'gru/while_cond', 2 'gru/while_body'"
    doc = json.loads(js.read_text())
    rows = doc["tensors"]
    assert doc["samples"] == 5 and len(rows) == len(lines) - 5
    assert {r["subgraph"] for r in rows} == {0, 1, 2}
    assert [line.split()[:2] for line in lines[3:-2]] == [[str(r["subgraph"]), r["name"]] for r in rows]
    by = {(r["subgraph"], r["name"]): r for r in rows}
    gru = model.layers[0]
    seq = keras.layers.GRU(6, return_sequences=True)
    seq.build((None, None, 4))
    seq.set_weights(gru.get_weights())
    states = np.asarray(seq(frames))  # [5, 6, 6]: the state after each step
    before = np.concatenate([np.zeros((5, 1, 6), np.float32), states[:, :-1]], axis=1)
    for key, vals in (((2, "gru/state"), states), ((2, "gru/body_state"), before),
                      ((1, "gru/cond_state"), np.concatenate([before, states[:, -1:]], axis=1))):
        r = by[key]
        assert r["subgraph_name"] == ("gru/while_body" if key[0] == 2 else "gru/while_cond")
        assert r["min"] == pytest.approx(float(vals.min()), abs=1e-5), key
        assert r["max"] == pytest.approx(float(vals.max()), abs=1e-5), key
        assert r["dtype"] == "INT8" and 0 < r["rmse"] < 0.02 and r["snr_db"] > 20
    # the body's state and the WHILE's state output are one value (one set of parameters)
    assert (by[(2, "gru/state")]["scale"], by[(2, "gru/state")]["zero_point"]) == \
        (by[(0, "gru_2")]["scale"], by[(0, "gru_2")]["zero_point"])


def test_report_of_a_token_model_with_a_free_length(tmp_path, capsys):
    """--report on an Embedding + GRU model over token ids of any length, calibrated on 9-token
    samples: the int32 ids go to the quantized model as they are (the report used to refuse an
    integer input without quantization parameters); the embedding's range is that of the rows
    the samples look up, computed here from the table."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "numpy")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((None,), dtype="int32", name="tokens"),
                              keras.layers.Embedding(50, 8, name="emb"), keras.layers.GRU(6, name="gru"),
                              keras.layers.Dense(3, name="dense")])
    src = tmp_path / "tokens.tflite"
    src.write_bytes(numlite.convert(model))
    assert [int(s) for s in load_model(model_path=str(src)).subgraphs[0].tensors[0].shape_signature] == [-1, -1]
    ids = np.random.default_rng(4).integers(0, 50, (6, 9)).astype(np.int32)
    cal = tmp_path / "tokens.npz"
    np.savez(cal, tokens=ids)
    out, js = tmp_path / "tokens_int8.tflite", tmp_path / "report.json"
    _ok(["quantize", str(src), "-o", str(out), "--calibration", str(cal), "--report", "--report-json", str(js),
         "--quiet"])
    text = capsys.readouterr().out
    rows = json.loads(js.read_text())["tensors"]
    assert "tokens" not in {r["name"] for r in rows}  # an integer input: not quantized, not reported
    table = model.layers[0].get_weights()[0]
    (emb,) = [r for r in rows if r["op"] == "GATHER" and r["subgraph"] == 0]
    assert (emb["min"], emb["max"]) == (pytest.approx(float(table[ids].min())), pytest.approx(float(table[ids].max())))
    assert emb["dtype"] == "INT8" and emb["max_abs_error"] <= emb["scale"] / 2 * 1.001  # a lookup: one rounding
    assert {r["subgraph"] for r in rows} == {0, 1, 2}
    assert text.splitlines()[-1] == "subgraphs: 0 'main', 1 'gru/while_cond', 2 'gru/while_body'"


@pytest.mark.parametrize("weight_only, dequantizes", [(None, 1), ("fallback", 1), ("none", 0), ("all", 2)])
def test_weight_only_choices(tmp_path, weight_only, dequantizes):
    """--weight-only: a TRANSPOSE_CONV filter (no hybrid kernel) goes int8 behind a DEQUANTIZE by
    default and with ``all`` (which also takes the FULLY_CONNECTED weights off its hybrid kernel),
    stays float32 with ``none``."""
    from numlite.builder import ModelBuilder

    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 8), np.float32)
    y = mb.tensor("y", (1, 8, 8, 16), np.float32)
    mb.op("TRANSPOSE_CONV", [mb.const("shape", np.array([1, 8, 8, 16], np.int32)),
                             mb.const("w", rng.standard_normal((16, 3, 3, 8)).astype(np.float32)), x], [y],
          padding="SAME", stride_w=2, stride_h=2)
    z = mb.tensor("z", (1, 32), np.float32)
    flat = mb.tensor("flat", (1, 1024), np.float32)
    mb.op("RESHAPE", [y, mb.const("s", np.array([1, 1024], np.int32))], [flat], new_shape=[1, 1024])
    mb.op("FULLY_CONNECTED", [flat, mb.const("fc", rng.standard_normal((32, 1024)).astype(np.float32)), -1], [z],
          fused_activation_function="NONE")
    mb.output(z)
    src, out = tmp_path / "m.tflite", tmp_path / "q.tflite"
    src.write_bytes(mb.build())
    argv = ["quantize", str(src), "-o", str(out), "--mode", "dynamic", "--quiet"]
    assert numlite_command(argv + (["--weight-only", weight_only] if weight_only else [])) == 0
    ops = [o.op_name for o in load_model(model_path=str(out)).subgraphs[0].operators]
    assert ops.count("DEQUANTIZE") == dequantizes


def test_weight_only_needs_dynamic(tmp_path, capsys):
    src = tmp_path / "m.tflite"
    src.write_bytes(models.build("mobilenet_v2_tiny"))
    assert numlite_command(["quantize", str(src), "-o", str(tmp_path / "q.tflite"), "--mode", "float16",
                            "--weight-only", "all"]) == 2
    assert "--weight-only applies to --mode dynamic, not float16" in capsys.readouterr().err
