"""``numlite quantize``: the three modes write a model LiteRT and numlite run; bad input is one
line with its exit code, and no file (not even a partial one) is left."""

from __future__ import annotations

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
