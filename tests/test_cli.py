"""The ``numlite`` command: demo, run, inspect (in process through ``main``, and once as
``python -m numlite`` in a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from util import run_litert

import numlite
from numlite import models
from numlite.builder import ModelBuilder
from numlite.tools.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _require_kernels(data: bytes) -> None:
    try:
        numlite.Interpreter(model_content=data)
    except numlite.UnsupportedOpError as e:
        pytest.skip(f"numlite lacks kernels: {[m[0] for m in e.missing]}")


def test_demo_tiny(capsys, tmp_path):
    data = models.build("mobilenet_v1_tiny")
    _require_kernels(data)
    out_path = tmp_path / "m.tflite"
    assert main(["demo", "--model", "mobilenet_v1_tiny", "--runs", "3", "--threads", "2", "--out", str(out_path)]) == 0
    text = capsys.readouterr().out
    assert out_path.read_bytes() == data
    assert "1.88 MB" in text and "load:" in text and "arena:" in text
    assert re.search(r"median [\d.]+ ms over 3 runs", text)
    # the printed top-5 is LiteRT's top-5
    (p,) = run_litert(data, [models.synthetic_image(models.input_shape("mobilenet_v1_tiny"), 0)])
    top = [int(i) for i in np.argsort(-p[0])[:5]]
    line = next(ln for ln in text.splitlines() if ln.startswith("top-5:"))
    assert [int(c) for c in re.findall(r"(\d+) \(", line)] == top


def test_demo_reports_missing_kernels(capsys, monkeypatch):
    def refuse(*a, **k):
        raise numlite.UnsupportedOpError("numlite cannot run this model: SOFTMAX missing", [("SOFTMAX", 1, [30])])

    monkeypatch.setattr(numlite, "Interpreter", refuse)
    assert main(["demo", "--model", "mobilenet_v1_tiny", "--runs", "1"]) == 4  # exit code 4: unsupported ops
    assert "SOFTMAX" in capsys.readouterr().err


def test_run_with_inputs_and_save(capsys, tmp_path, add_model):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 0.5, np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / "out.npz"
    rc = main(["run", add_model, "--input", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--save", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "output #2 'sum' float32[2, 3]" in text and "max=5.5" in text
    np.testing.assert_array_equal(np.load(out)["output_0"], a + b)


def test_run_resizes_to_given_inputs(tmp_path, add_model):
    np.save(tmp_path / "a.npy", np.ones((4, 3), np.float32))
    np.save(tmp_path / "b.npy", np.ones((4, 3), np.float32))
    out = tmp_path / "o.npz"
    ins = [str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]
    assert main(["run", add_model, "--input", *ins, "--save", str(out)]) == 0
    assert np.load(out)["output_0"].shape == (4, 3)


def test_run_random_inputs_deterministic(capsys, tmp_path, add_model):
    assert main(["run", add_model, "--runs", "2", "--save", str(tmp_path / "1.npz")]) == 0
    assert main(["run", add_model, "--save", str(tmp_path / "2.npz")]) == 0
    assert main(["run", add_model, "--seed", "5", "--save", str(tmp_path / "3.npz")]) == 0
    r1, r2, r3 = (np.load(tmp_path / f"{k}.npz")["output_0"] for k in (1, 2, 3))
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)
    assert "over 2 run(s)" in capsys.readouterr().out


def test_run_errors(capsys, tmp_path, add_model):
    np.save(tmp_path / "a.npy", np.ones((2, 3), np.float32))
    assert main(["run", add_model, "--input", str(tmp_path / "a.npy")]) == 2
    assert "2 input(s), 1 --input" in capsys.readouterr().err
    np.save(tmp_path / "i.npy", np.ones((2, 3), np.int32))
    assert main(["run", add_model, "--input", str(tmp_path / "i.npy"), str(tmp_path / "i.npy")]) == 5  # bad input
    assert "error:" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.tflite")]) == 3
    assert "missing.tflite: no such file" in capsys.readouterr().err
    assert main(["run", add_model, "--threads", "0"]) == 2


def test_inspect(capsys, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(models.build("mobilenet_v2_tiny"))
    assert main(["inspect", str(path), "--tensors"]) == 0
    text = capsys.readouterr().out
    assert "Subgraph#0 main(T#0) -> [T#" in text and "numlite: 66 op(s) in 1 subgraph(s)" in text
    assert "  T#0(input) shape:[1, 96, 96, 3], type:FLOAT32\n" in text
    assert "(MobilenetV2/Predictions/Reshape_1) shape:[1, 1001], type:FLOAT32" in text
    assert re.search(r"\n\s+36  CONV_2D v1\n\s+17  DEPTHWISE_CONV_2D v1\n\s+10  ADD v1", text)
    assert "T#" in text and " RO " in text
    assert "arena" in text


def test_inspect_quantized_io_and_bad_file(capsys, tmp_path):
    mb = ModelBuilder()
    x = mb.input("x", (1, 4), np.int8, quantization={"scale": 0.5, "zero_point": -3})
    y = mb.tensor("y", (1, 4), np.int8, quantization={"scale": 0.5, "zero_point": -3})
    mb.op("RESHAPE", [x, mb.const("s", np.array([1, 4], np.int32))], [y])
    mb.output(y)
    p = tmp_path / "q.tflite"
    p.write_bytes(mb.build())
    assert main(["inspect", str(p)]) == 0
    assert "T#0(x) shape:[1, 4], type:INT8  scale=0.5 zero_point=-3" in capsys.readouterr().out
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all" * 4)
    assert main(["inspect", str(bad)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("numlite inspect: error: ") and "not a valid TFLite model" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_python_dash_m(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "numlite", "--help"], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and "demo" in p.stdout and "inspect" in p.stdout
    path = tmp_path / "m.tflite"
    path.write_bytes(models.build("inception_v3_tiny"))
    p = subprocess.run([sys.executable, "-m", "numlite", "inspect", str(path)], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    assert "CONCATENATION v1" in p.stdout


def test_run_a_string_model_with_random_words(capsys, tmp_path):
    mb = ModelBuilder()
    x = mb.input("x", (3,), np.object_)
    y = mb.tensor("y", (6,), np.object_)
    mb.op("TILE", [x, mb.const("multiples", np.array([2], np.int32))], [y])
    mb.output(y)
    path = tmp_path / "strings.tflite"
    path.write_bytes(mb.build())
    assert main(["run", str(path), "--save", str(tmp_path / "out.npz")]) == 0
    out = capsys.readouterr().out
    assert "strings: b'" in out
    saved = np.load(tmp_path / "out.npz", allow_pickle=True)
    assert saved[saved.files[0]].dtype == object
