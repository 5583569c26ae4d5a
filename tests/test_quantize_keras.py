"""numlite.quantize_model on models numlite.convert writes from Keras (NumPy backend, no
TensorFlow): both modes, bit-exact with LiteRT's reference kernels, 16x8 closer to Keras than
int8; and the image-folder calibration reads the converter's metadata normalization."""

from __future__ import annotations

import os

import numpy as np
import pytest
from util import run_litert, run_numlite

os.environ.setdefault("KERAS_BACKEND", "numpy")
keras = pytest.importorskip("keras")

import numlite  # noqa: E402
from numlite.quantize import quantize_model  # noqa: E402


def _cnn():
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu6")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(12, 1, activation="sigmoid")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(10)(x)
    out = keras.layers.Softmax()(x)
    return keras.Model(inp, out)


def test_keras_cnn_both_modes():
    model = _cnn()
    f = numlite.convert(model)
    rng = np.random.default_rng(0)
    cal = [[rng.uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)] for _ in range(16)]
    xs = [rng.uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32) for _ in range(4)]
    err = {}
    for mode in ("int8", "int16x8"):
        q = quantize_model(f, cal, mode=mode, io_dtype=np.float32)
        e = []
        for x in xs:
            (a,) = run_numlite(q, [x])
            (b,) = run_litert(q, [x], ref=True)
            np.testing.assert_array_equal(a, b)
            e.append(np.abs(a - np.asarray(model(x))).mean())
        err[mode] = float(np.mean(e))
    assert err["int16x8"] < err["int8"], err
    assert err["int8"] < 0.01  # probabilities over 10 classes, output step 1/256


def test_image_folder_uses_the_converters_normalization(tmp_path, capsys):
    pytest.importorskip("PIL")
    from PIL import Image
    from util import numlite_command

    from numlite.tools.quantize import calibration_samples

    f = numlite.convert(_cnn(), input_mean=127.5, input_std=127.5)
    p = tmp_path / "m.tflite"
    p.write_bytes(f)
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.full((20, 20, 3), 255, np.uint8)).save(folder / "white.png")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(folder / "black.jpg")
    (black,), (white,) = calibration_samples(f, str(folder))
    assert np.all(black == -1) and np.all(white == 1)  # (pixel - 127.5) / 127.5
    assert numlite_command(["quantize", str(p), "-o", str(tmp_path / "q.tflite"), "--mode", "int16x8",
                            "--calibration", str(folder)]) == 0
    assert "(the model's metadata normalization)" in capsys.readouterr().err
