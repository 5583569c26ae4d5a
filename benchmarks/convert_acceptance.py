"""numlite's converter and quantizer beside TensorFlow's converter, on the same Keras models.

    python benchmarks/convert_acceptance.py [--tf-python PY] [--models NAME ...] [--epochs 30]
                                            [--runs 3] [--keep DIR] [--json PATH]

Two parts.

**Architectures** (random weights, fixed seeds): Keras's ``MobileNet`` and ``MobileNetV2``
(224x224x3, ``weights=None``, logits: ``classifier_activation=None``), a ResNet-style CNN with
batch norm, a text CNN (Embedding, Conv1D, global max pool), an
LSTM classifier and a small transformer encoder (Embedding, learned positions, MultiHeadAttention,
LayerNormalization, a GELU feed-forward); every batch norm's moving statistics, scale and offset
are randomised, so that folding them matters.  Each is converted by ``numlite.convert`` and run on
numlite and on LiteRT (``ai_edge_litert``, default resolver); the error is the largest absolute
difference from Keras's ``predict`` divided by the largest absolute Keras output, on 4 random
inputs.  Conversion time is the median of ``--runs`` calls of ``numlite.convert(model)`` on the
loaded model (Keras's file loading excluded).

**Trained classifiers** on scikit-learn's bundled ``digits`` (1,797 8x8 images, which ship in
the wheel: no download): a CNN with batch norm, an MLP, an LSTM over the image rows and a
transformer over the rows, trained here with Keras (JAX backend) on a stratified 80 % split (seed
0) and evaluated on the other 20 % (360 images).  Each is quantized to int8 (int8 input and output,
per-channel weights) with the same 200 training images as calibration data by numlite
(``numlite.quantize.quantize_model``) and by TensorFlow's converter (``representative_dataset``,
``TFLITE_BUILTINS_INT8``); accuracy is measured on LiteRT for both files (numlite's file on
numlite too).  ``float ops`` counts operators of the int8 file that compute in float (any float32
input or output) other than QUANTIZE / DEQUANTIZE.  For dynamic-range (int8 weights), float16
and int16x8 models, ``mean |d|`` is the mean absolute difference of the output probabilities from
the float model's on the test images (smaller is closer to float).

TensorFlow (``--tf-python``, a Python with ``tensorflow`` installed; without it the TensorFlow
columns say so): ``tf.lite.TFLiteConverter.from_keras_model`` on the same ``.keras`` files, each conversion in
a process of its own (one long-lived process crashed on a second LSTM conversion), its time
measured inside that process (TensorFlow's import excluded).  Where ``from_keras_model`` fails
(Keras 3 LSTMs: TensorList ops), a batch-1 concrete function with frozen weights is converted
instead, marked (b1).  A separate venv, as TensorFlow's pins do not mix with the
repository's::

    python3.11 -m venv /tmp/venv-tf && /tmp/venv-tf/bin/pip install tensorflow-cpu==2.21.0

Needs the ``convert`` extra and scikit-learn: ``pip install -e '.[convert]' scikit-learn``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

ARCHITECTURES = ["mobilenet_v1", "mobilenet_v2", "resnet_bn", "text_cnn", "lstm_classifier", "transformer"]
TRAINED = ["digits_cnn", "digits_mlp", "digits_lstm", "digits_transformer"]
MODES = ["int8", "dynamic", "float16", "int16x8"]

TF_WORKER = textwrap.dedent('''
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import tensorflow as tf
    import keras

    def converter(model, fixed):
        """from_keras_model; fixed: a batch-1 concrete function (what works for Keras 3 LSTMs)."""
        if not fixed:
            return tf.lite.TFLiteConverter.from_keras_model(model)
        spec = [tf.TensorSpec([1, *model.inputs[0].shape[1:]], model.inputs[0].dtype)]
        f = tf.function(lambda x: model(x, training=False), input_signature=spec)
        return tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()])  # weights frozen

    def convert(model, mode, calib, fixed):
        c = converter(model, fixed)
        if mode != "float":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "float16":
            c.target_spec.supported_types = [tf.float16]
        if mode in ("int8", "int16x8"):
            c.representative_dataset = lambda: ([x[None].astype(np.float32)] for x in calib)
            if mode == "int8":
                c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                c.inference_input_type = tf.int8
                c.inference_output_type = tf.int8
            else:
                c.target_spec.supported_ops = [
                    tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        return c.convert()

    keras_path, mode, calibration, fixed, out = sys.argv[1:6]
    model = keras.saving.load_model(keras_path, compile=False)
    calib = np.load(calibration)["x"] if calibration else None
    try:
        t = time.perf_counter()
        data = convert(model, mode, calib, fixed == "1")
        seconds = time.perf_counter() - t
    except Exception as e:
        print(json.dumps({"error": (type(e).__name__ + ": " + str(e)).strip().splitlines()[0][:200]}))
    else:
        open(out, "wb").write(data)
        print(json.dumps({"path": out, "seconds": seconds, "size": len(data), "batch1": fixed == "1"}))
''')


# -- models ---------------------------------------------------------------------------------------
def _transformer_block(keras: Any, x: Any, dim: int, heads: int, name: str) -> Any:
    a = keras.layers.MultiHeadAttention(heads, dim // heads, name=name + "_mha")(x, x)
    x = keras.layers.LayerNormalization(name=name + "_ln1")(keras.layers.Add(name=name + "_add1")([x, a]))
    f = keras.layers.Dense(dim * 2, activation="gelu", name=name + "_ff1")(x)
    f = keras.layers.Dense(dim, name=name + "_ff2")(f)
    return keras.layers.LayerNormalization(name=name + "_ln2")(keras.layers.Add(name=name + "_add2")([x, f]))


def _positions(keras: Any, x: Any, steps: int, dim: int, name: str) -> Any:
    """``x`` [batch, steps, dim] plus a learned (trainable) position embedding: an Embedding of
    the positions 0..steps-1, made from ``x`` so that Keras trains it."""
    # 0, 1, ..., steps-1 per row (a cumulative sum rather than zeros + arange, which TensorFlow's
    # converter writes as an int32 BiasAdd that TFLite has no kernel for)
    positions = keras.ops.cumsum(keras.ops.ones_like(x[..., 0], dtype="int32"), axis=1) - 1
    return x + keras.layers.Embedding(steps, dim, name=name)(positions)


def architecture(name: str) -> tuple[Any, list[np.ndarray]]:
    """The Keras model ``name`` (random weights) and 4 test inputs for it."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    L = keras.layers
    if name == "mobilenet_v1":
        m = keras.applications.MobileNet(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    elif name == "mobilenet_v2":
        m = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    elif name == "resnet_bn":
        x = inp = keras.Input((32, 32, 3), name="image")
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, padding="same", use_bias=False)(x)))
        for k, (filters, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            s = L.ReLU()(L.BatchNormalization()(L.Conv2D(filters, 3, stride, padding="same", use_bias=False)(x)))
            s = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same", use_bias=False)(s))
            if stride != 1 or k == 0 and filters != 16:
                x = L.BatchNormalization()(L.Conv2D(filters, 1, stride, use_bias=False)(x))
            x = L.ReLU()(L.Add()([x, s]))
        m = keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)), name=name)
    elif name == "text_cnn":
        inp = keras.Input((64,), dtype="int32", name="tokens")
        x = L.Embedding(1000, 32)(inp)
        x = L.GlobalMaxPooling1D()(L.Conv1D(64, 5, activation="relu")(x))
        m = keras.Model(inp, L.Dense(2, activation="softmax")(L.Dense(32, activation="relu")(x)), name=name)
    elif name == "lstm_classifier":
        inp = keras.Input((32,), dtype="int32", name="tokens")
        x = L.LSTM(64)(L.Embedding(1000, 32)(inp))
        m = keras.Model(inp, L.Dense(5, activation="softmax")(x), name=name)
    elif name == "transformer":
        inp = keras.Input((32,), dtype="int32", name="tokens")
        x = _positions(keras, L.Embedding(1000, 32)(inp), 32, 32, "positions")
        x = _transformer_block(keras, _transformer_block(keras, x, 32, 4, "block1"), 32, 4, "block2")
        m = keras.Model(inp, L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(x)), name=name)
    else:
        raise ValueError(name)
    for layer in m.layers:  # batch norms that do something: folding them must be right
        if isinstance(layer, L.BatchNormalization):
            layer.moving_mean.assign(rng.uniform(-0.5, 0.5, layer.moving_mean.shape))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape))
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape))
            layer.beta.assign(rng.uniform(-0.2, 0.2, layer.beta.shape))
    shape = tuple(m.inputs[0].shape[1:])
    if "int" in str(m.inputs[0].dtype):
        xs = [rng.integers(0, 1000, (1, *shape)).astype(np.int32) for _ in range(4)]
    else:
        xs = [rng.standard_normal((1, *shape)).astype(np.float32) for _ in range(4)]
    return m, xs


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]
    return train_test_split(x, d.target.astype(np.int32), test_size=0.2, random_state=0, stratify=d.target)


def trained(name: str, x: np.ndarray, y: np.ndarray, epochs: int) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    L = keras.layers
    if name == "digits_cnn":
        inp = keras.Input((8, 8, 1), name="image")
        h = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, padding="same")(inp)))
        h = L.ReLU()(L.BatchNormalization()(L.Conv2D(32, 3, padding="same")(h)))
        h = L.Dense(64, activation="relu")(L.Flatten()(L.MaxPooling2D()(h)))
    elif name == "digits_mlp":
        inp = keras.Input((8, 8, 1), name="image")
        h = L.Dense(64, activation="relu")(L.Flatten()(inp))
    elif name == "digits_lstm":
        inp = keras.Input((8, 8), name="rows")
        h = L.LSTM(32)(inp)
    elif name == "digits_transformer":
        inp = keras.Input((8, 8), name="rows")
        h = _positions(keras, L.Dense(32)(inp), 8, 32, "positions")
        h = L.GlobalAveragePooling1D()(_transformer_block(keras, h, 32, 4, "block"))
    else:
        raise ValueError(name)
    m = keras.Model(inp, L.Dense(10, activation="softmax", name="probs")(h), name=name)
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x.reshape((-1, *m.inputs[0].shape[1:])), y, epochs=epochs, batch_size=32, verbose=0)
    return m


# -- running .tflite files ------------------------------------------------------------------------
def run_tflite(data: bytes, xs: list[np.ndarray], runtime: str) -> np.ndarray:
    """Outputs (float, dequantized) of the model's first output for each input, one invoke each
    (variable tensors reset before every invoke: LSTM state is not carried between samples)."""
    if runtime == "numlite":
        import numlite

        it = numlite.Interpreter(model_content=data)
    else:
        from ai_edge_litert.interpreter import Interpreter

        it = Interpreter(model_content=data)
    it.allocate_tensors()
    from numlite.graph import load_model

    # state in variable tensors (the LSTM ops') is reset; not resource variables (TensorFlow's
    # WHILE-loop LSTMs keep their weights there, assigned once by an initializer subgraph)
    stateful = any(t.is_variable for sg in load_model(model_content=data).subgraphs for t in sg.tensors)
    di, do = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for x in xs:
        x = x.reshape(di["shape"])
        if di["dtype"] != np.float32 and np.issubdtype(di["dtype"], np.integer) and di["quantization"][0]:
            s, z = di["quantization"]
            info = np.iinfo(di["dtype"])
            x = np.clip(np.round(x / s) + z, info.min, info.max)
        if stateful:
            it.reset_all_variables()
        it.set_tensor(di["index"], x.astype(di["dtype"]))
        it.invoke()
        o = it.get_tensor(do["index"]).astype(np.float32)
        if do["dtype"] != np.float32 and do["quantization"][0]:
            s, z = do["quantization"]
            o = (o - z) * s
        outs.append(o[0])
    return np.stack(outs)


def float_ops(data: bytes) -> list[str]:
    from numlite.graph import load_model

    sg = load_model(model_content=data).subgraphs[0]
    out = []
    for op in sg.operators:
        if op.op_name in ("QUANTIZE", "DEQUANTIZE"):
            continue
        if any(t >= 0 and sg.tensors[t].dtype is np.float32 for t in (*op.inputs, *op.outputs)):
            out.append(op.op_name)
    return out


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-12))


def numlite_quantized(data: bytes, mode: str, calib: np.ndarray, shape: tuple[int, ...]) -> tuple[bytes, str]:
    """The ``mode`` twin of float model ``data`` by numlite, and a note: full integer first; if
    the quantizer refuses an op, again with ``allow_float=True`` (the note names the refusal)."""
    from numlite import quantize, quantize_weights

    if mode == "dynamic":
        return quantize_weights.quantize_dynamic_range(data), ""
    if mode == "float16":
        return quantize_weights.quantize_float16(data), ""
    samples = [c.reshape((1, *shape)) for c in calib]
    io = np.int8 if mode == "int8" else np.float32  # int16x8: float I/O, as TensorFlow's converter writes it
    try:
        return quantize.quantize_model(data, samples, mode=mode, io_dtype=io), ""
    except quantize.QuantizationError as e:
        note = f"allow_float ({_err(e)})"
    return quantize.quantize_model(data, samples, mode=mode, io_dtype=io, allow_float=True), note


def _err(e: Exception) -> str:
    return (type(e).__name__ + ": " + str(e)).strip().splitlines()[0][:160]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tf-python", help="a Python with tensorflow installed (else TensorFlow is skipped)")
    ap.add_argument("--models", nargs="+", default=ARCHITECTURES + TRAINED, choices=ARCHITECTURES + TRAINED)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3, help="numlite conversions timed per model (median)")
    ap.add_argument("--keep", help="a directory to keep the .keras and .tflite files in")
    ap.add_argument("--json", help="write the results as JSON to this file")
    args = ap.parse_args()
    import keras

    import numlite

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="numlite-accept-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# numlite {numlite.__version__}, Keras {keras.__version__} ({keras.backend.backend()} backend), "
          f"Python {platform.python_version()}, {platform.machine()}; files in {work}", flush=True)
    results: dict[str, Any] = {}
    models: dict[str, Any] = {}
    tf_jobs: list[dict[str, Any]] = []
    split = digits() if any(n in TRAINED for n in args.models) else None
    for name in args.models:
        r: dict[str, Any] = {"name": name}
        results[name] = r
        if name in ARCHITECTURES:
            m, xs = architecture(name)
        else:
            xtr, xte, ytr, yte = split
            t = time.perf_counter()
            m = trained(name, xtr, ytr, args.epochs)
            r["train_s"] = time.perf_counter() - t
            shape = tuple(m.inputs[0].shape[1:])
            xs = [x.reshape((1, *shape)) for x in xte]
            calib = xtr[:200].reshape((-1, *shape))
            np.savez(work / f"{name}_calibration.npz", x=calib)
            r["float_acc"] = float(np.mean(np.argmax(m.predict(xte.reshape((-1, *shape)), verbose=0), -1) == yte))
        models[name] = (m, xs)
        path = work / f"{name}.keras"
        m.save(path)
        times = []
        try:
            for _ in range(args.runs):
                t = time.perf_counter()
                data = numlite.convert(m)
                times.append(time.perf_counter() - t)
        except Exception as e:  # noqa: BLE001 - reported in the table
            r["error"] = _err(e)
            print(f"{name}: numlite cannot convert it: {r['error']}", flush=True)
            continue
        (work / f"{name}.tflite").write_bytes(data)
        r["convert_s"], r["size"] = float(np.median(times)), len(data)
        ref = np.concatenate([np.asarray(m.predict(x, verbose=0)) for x in xs])
        for runtime in ("numlite", "litert"):
            r[f"err_{runtime}"] = rel_err(run_tflite(data, xs, runtime), ref)
        modes = ["float"]
        if name in TRAINED:
            modes += MODES
            r["float_out"] = ref
            for mode in MODES:
                try:
                    q, note = numlite_quantized(data, mode, calib, shape)
                except Exception as e:  # noqa: BLE001
                    r[f"{mode}_error"] = _err(e)
                    continue
                if note:
                    r[f"{mode}_note"] = note
                    print(f"{name} {mode}: {note}", flush=True)
                (work / f"{name}_{mode}.tflite").write_bytes(q)
                r[f"{mode}_size"] = len(q)
                try:
                    out = run_tflite(q, xs, "litert")
                except Exception as e:  # noqa: BLE001
                    r[f"{mode}_error"] = "LiteRT cannot run it: " + _err(e)
                    continue
                r[f"{mode}_acc"] = float(np.mean(np.argmax(out, -1) == yte))
                r[f"{mode}_dev"] = float(np.mean(np.abs(out - ref)))
                if mode == "int8":
                    r["int8_acc_numlite"] = float(np.mean(np.argmax(run_tflite(q, xs, "numlite"), -1) == yte))
                    r["int8_float_ops"] = float_ops(q)
                if mode == "int16x8":
                    r["int16x8_float_ops"] = float_ops(q)
        tf_jobs.append({"name": name, "keras": str(path), "modes": modes,
                        "calibration": str(work / f"{name}_calibration.npz") if name in TRAINED else None})
        print(f"{name}: converted in {r['convert_s']:.3f} s, {len(data) / 1e6:.3f} MB, error vs Keras "
              f"{r['err_numlite']:.1e} (numlite) {r['err_litert']:.1e} (LiteRT)", flush=True)

    tf: dict[str, Any] = {}
    if args.tf_python and tf_jobs:
        worker = work / "tf_worker.py"
        worker.write_text(TF_WORKER)
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        version = subprocess.run([args.tf_python, "-c", "import tensorflow as tf; print(tf.__version__)"],
                                 env=env, capture_output=True, text=True).stdout.strip()
        print(f"# TensorFlow {version} ({args.tf_python}): one process per conversion", flush=True)
        for job in tf_jobs:
            for mode in job["modes"]:
                key = f"{job['name']}:{mode}"
                out = str(work / f"{job['name']}_{mode}_tf.tflite")
                for fixed in ("0", "1"):  # from_keras_model, else a batch-1 concrete function
                    p = subprocess.run([args.tf_python, str(worker), job["keras"], mode, job["calibration"] or "",
                                        fixed, out], env=env, capture_output=True, text=True)
                    lines = p.stdout.strip().splitlines()
                    res = json.loads(lines[-1]) if p.returncode == 0 and lines else \
                        {"error": f"TensorFlow's converter crashed (exit code {p.returncode})"}
                    if "path" in res or fixed == "1":
                        tf[key] = res if "path" in res or key not in tf else tf[key]
                        break
                    tf[key] = res
    for name, r in results.items():
        if "error" in r:
            continue
        m, xs = models[name]
        t = tf.get(f"{name}:float", {})
        if "path" in t:
            d = Path(t["path"]).read_bytes()
            ref = np.concatenate([np.asarray(m.predict(x, verbose=0)) for x in xs])
            r["tf_convert_s"], r["tf_size"], r["tf_err_litert"] = t["seconds"], t["size"], \
                rel_err(run_tflite(d, xs, "litert"), ref)
            r["tf_batch1"] = t["batch1"]
        elif t:
            r["tf_error"] = t["error"]
        if name in TRAINED:
            yte = split[3]
            for mode in MODES:
                t = tf.get(f"{name}:{mode}", {})
                if "path" in t:
                    out = run_tflite(Path(t["path"]).read_bytes(), xs, "litert")
                    r[f"tf_{mode}_acc"] = float(np.mean(np.argmax(out, -1) == yte))
                    r[f"tf_{mode}_dev"] = float(np.mean(np.abs(out - r["float_out"])))
                    r[f"tf_{mode}_size"] = t["size"]
                    r[f"tf_{mode}_batch1"] = t["batch1"]
                    if mode == "int8":
                        r["tf_int8_float_ops"] = float_ops(Path(t["path"]).read_bytes())
                elif t:
                    r[f"tf_{mode}_error"] = t["error"]
    report(results, bool(args.tf_python))
    if args.json:
        Path(args.json).write_text(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "float_out"}
                                               for k, v in results.items()}, indent=1))
    return 0


def _f(v: Any, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def report(results: dict[str, Any], with_tf: bool) -> None:
    print("\n## Float conversion (error: max |tflite - Keras| / max |Keras|)\n")
    print("| model | numlite convert s | TF convert s | numlite MB | TF MB | numlite / TF size | "
          "error numlite file on numlite | on LiteRT | TF file on LiteRT |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if "error" in r:
            print(f"| {name} | fails: {r['error']} | | | | | | | |")
            continue
        tf_s = r.get("tf_convert_s")
        tf_size = r.get("tf_size")
        tf_cell = (_f(tf_s, ".3f") + (" (b1)" if r.get("tf_batch1") else "")) if tf_s else r.get("tf_error", "-")
        print(f"| {name} | {r['convert_s']:.3f} | {tf_cell} | "
              f"{r['size'] / 1e6:.3f} | {_f(tf_size and tf_size / 1e6, '.3f')} | "
              f"{_f(tf_size and r['size'] / tf_size, '.4f')} | {r['err_numlite']:.1e} | {r['err_litert']:.1e} | "
              f"{_f(r.get('tf_err_litert'), '.1e')} |")
    print("\n(b1): TensorFlow's `from_keras_model` failed (Keras 3 LSTMs: TensorList ops); converted from a "
          "batch-1 concrete function instead, its weights frozen (a WHILE loop).")
    trained_rows = [(n, r) for n, r in results.items() if n in TRAINED and "error" not in r]
    if not trained_rows:
        return
    print("\n## Trained on digits: held-out accuracy (360 images), int8 on LiteRT\n")
    print("| model | float (Keras) | numlite int8 | numlite int8 on numlite | TF int8 | numlite - TF (points) | "
          "float ops left numlite / TF | int8 KB numlite / TF |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in trained_rows:
        ours, theirs = r.get("int8_acc"), r.get("tf_int8_acc")
        diff = f"{100 * (ours - theirs):+.1f}" if ours is not None and theirs is not None else "-"
        nf = len(r["int8_float_ops"]) if "int8_float_ops" in r else "-"
        tfo = len(r["tf_int8_float_ops"]) if "tf_int8_float_ops" in r else "-"
        print(f"| {name} | {100 * r['float_acc']:.1f} | "
              f"{_f(ours and 100 * ours, '.1f') if ours is not None else r.get('int8_error', '-')} | "
              f"{_f(r.get('int8_acc_numlite') and 100 * r['int8_acc_numlite'], '.1f')} | "
              f"{_f(theirs and 100 * theirs, '.1f') if theirs is not None else r.get('tf_int8_error', '-')} | "
              f"{diff} | {nf} / {tfo} | {_f(r.get('int8_size') and r['int8_size'] / 1e3, '.1f')} / "
              f"{_f(r.get('tf_int8_size') and r['tf_int8_size'] / 1e3, '.1f')} |")
    print("\n## Closeness to the float model: mean |output - float output| on the test images (LiteRT)\n")
    print("| model | " + " | ".join(f"{m} numlite | {m} TF" for m in MODES[1:]) + " |")
    print("|---|" + "---|---|" * len(MODES[1:]))
    for name, r in trained_rows:
        cells = []
        for mode in MODES[1:]:
            cells.append(_f(r.get(f"{mode}_dev"), ".2e") if f"{mode}_dev" in r else
                         "fails: " + r.get(f"{mode}_error", "-")[:60])
            cells.append(_f(r.get(f"tf_{mode}_dev"), ".2e") if f"tf_{mode}_dev" in r else
                         ("fails: " + r[f"tf_{mode}_error"][:60] if f"tf_{mode}_error" in r else "-"))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
