#!/usr/bin/env python3
"""Generate the TensorFlow-converter fixtures under tests/data/tf/.

numlite's CI never needs TensorFlow: this script is run once, by hand, where TensorFlow is
installed, and its small outputs are committed.

    python3.11 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow==2.21.0 tf-keras==2.21.0
    /tmp/tfvenv/bin/python scripts/make_tf_fixtures.py

It writes, into tests/data/tf/:

* ``<name>.tflite``: each model, converted by ``tf.lite.TFLiteConverter``;
* ``MANIFEST.json``: per model its description, the converter path, the TF version, inputs and
  outputs (name, shape, shape_signature, dtype, quantization), the ops per subgraph, reference
  inputs and outputs computed by TF's own interpreter (``tf.lite.Interpreter``), and whether
  LiteRT (``ai_edge_litert``, run in a second Python, by default the repo's ``.venv``) runs the
  model and matches those outputs.

All weights are seeded (no training), so two runs with the same TF version write identical
files. The script does not import numlite.

``--litert-check MANIFEST`` is the second half, run by the repo's venv Python (NumPy and
ai_edge_litert only, no TensorFlow): it replays every model's reference cases in LiteRT and
prints a JSON report, which the first half folds into MANIFEST.json. ``--only a,b`` rebuilds
just those models (for debugging; it rewrites MANIFEST.json with only them: rerun in full).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "tests" / "data" / "tf"

VOCAB = 50  # token ids in [0, VOCAB); 0 is padding
SEQ = 10  # sequence length of the classifiers
EMB = 64  # embedding width (large enough that the RNN kernels reach the converter's
#           1024-element floor for dynamic-range weight quantization)
HID = 16  # recurrent units
CLASSES = 3
SEED = 1234


# --------------------------------------------------------------------------------------------
# The LiteRT half (runs without TensorFlow).
# --------------------------------------------------------------------------------------------


def _decode(arr_desc):
    import numpy as np

    return np.array(arr_desc["data"], dtype=arr_desc["dtype"]).reshape(arr_desc["shape"])


def _run_cases(interpreter_cls, path, cases):
    """Run each case's invocations in order on one interpreter; return per case the outputs.

    A case is a list of invocations; an invocation is the list of input arrays (by input
    index). An input whose shape differs from the current one is resized first.
    """
    results = []
    for case in cases:
        it = interpreter_cls(model_path=str(path))
        it.allocate_tensors()
        ins = it.get_input_details()
        outs_per_inv = []
        for inv in case:
            arrays = [_decode(a) for a in inv]
            resized = False
            for d, a in zip(ins, arrays):
                if tuple(d["shape"]) != a.shape:
                    it.resize_tensor_input(d["index"], list(a.shape))
                    resized = True
            if resized:
                it.allocate_tensors()
                ins = it.get_input_details()
            for d, a in zip(ins, arrays):
                it.set_tensor(d["index"], a)
            it.invoke()
            outs_per_inv.append([it.get_tensor(d["index"]).copy() for d in it.get_output_details()])
        results.append(outs_per_inv)
    return results


def litert_check(manifest_path: Path) -> dict:
    import numpy as np
    from ai_edge_litert import interpreter as litert

    try:
        from importlib.metadata import version

        lv = version("ai-edge-litert")
    except Exception:  # pragma: no cover
        lv = "unknown"
    manifest = json.loads(manifest_path.read_text())
    report = {"litert_version": lv, "models": {}}
    for name, entry in manifest["models"].items():
        path = manifest_path.parent / entry["file"]
        rec = {}
        try:
            if not entry["cases"]:
                litert.Interpreter(model_path=str(path)).allocate_tensors()
            got = _run_cases(litert.Interpreter, path, [c["invocations"] for c in entry["cases"]])
            rec["runs"] = True
            worst = 0.0
            exact = True
            for case, got_case in zip(entry["cases"], got):
                for want_inv, got_inv in zip(case["outputs"], got_case):
                    for w, g in zip(want_inv, got_inv):
                        w = _decode(w)
                        if w.shape != g.shape or w.dtype != g.dtype:
                            rec.setdefault("mismatch", []).append(
                                f"shape/dtype {g.shape} {g.dtype} vs {w.shape} {w.dtype}"
                            )
                            exact = False
                            continue
                        d = np.abs(w.astype(np.float64) - g.astype(np.float64))
                        worst = max(worst, float(d.max()) if d.size else 0.0)
                        exact = exact and bool(np.array_equal(w, g))
            if entry["cases"]:
                rec["max_abs_diff_vs_tf"] = worst
                rec["bit_exact_vs_tf"] = exact
        except Exception as e:  # noqa: BLE001 - record any failure
            rec["runs"] = False
            rec["error"] = f"{type(e).__name__}: {e}".strip()[:400]
        report["models"][name] = rec
    return report


# --------------------------------------------------------------------------------------------
# The TensorFlow half.
# --------------------------------------------------------------------------------------------


def _encode(a):
    import numpy as np

    a = np.asarray(a)
    if a.dtype == np.float32:
        data = [float(x) for x in a.reshape(-1)]
    elif a.dtype == np.bool_:
        data = [bool(x) for x in a.reshape(-1)]
    else:
        data = [int(x) for x in a.reshape(-1)]
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}


def main_tf(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    import keras as k3  # Keras 3 (tf.keras in TF 2.16+)
    import tf_keras as k2  # Keras 2, whose RNN layers carry tf.api_implements for fusion
    from tensorflow.lite.python import schema_py_generated as schema

    tf_version = tf.__version__
    versions = {"tensorflow": tf_version, "keras": k3.__version__, "tf_keras": k2.__version__}

    # ---- helpers -----------------------------------------------------------------------

    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}

    def list_ops(buf):
        m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
        sgs = []
        for sg in m.subgraphs:
            names = []
            for op in sg.operators or []:
                oc = m.operatorCodes[op.opcodeIndex]
                n = op_names[max(oc.builtinCode, oc.deprecatedBuiltinCode)]
                if n == "CUSTOM":
                    n = "CUSTOM:" + oc.customCode.decode()
                names.append(n)
            sgs.append({"name": (sg.name or b"").decode(), "ops": names})
        return sgs

    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}

    def const_dtypes(buf):
        """Dtype -> count of the tensors that carry data in the file (weights, constants)."""
        m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
        counts = {}
        for sg in m.subgraphs:
            for t in sg.tensors or []:
                b = m.buffers[t.buffer] if t.buffer else None
                if b is not None and (b.data is not None and len(b.data) or b.size):
                    n = type_names[t.type]
                    counts[n] = counts.get(n, 0) + 1
        return dict(sorted(counts.items()))

    def tokens(rng, shape, pad_tail=0):
        t = rng.integers(1, VOCAB, size=shape).astype(np.int32)
        if pad_tail:
            t[..., -pad_tail:] = 0
        return t

    def rep_tokens(n=32, shape=(1, SEQ), seed=7):
        def gen():
            rng = np.random.default_rng(seed)
            for _ in range(n):
                yield [tokens(rng, shape, pad_tail=int(rng.integers(0, 4)))]

        return gen

    def rep_float(shape, n=32, seed=7):
        def gen():
            rng = np.random.default_rng(seed)
            for _ in range(n):
                yield [rng.standard_normal(shape).astype(np.float32)]

        return gen

    def seeded(seed=SEED):
        np.random.seed(seed)
        tf.random.set_seed(seed)
        k2.utils.set_random_seed(seed)
        k3.utils.set_random_seed(seed)
        k2.backend.clear_session()
        k3.backend.clear_session()

    def quantize(conv, mode, rep=None, io_int8=False):
        if mode == "float":
            return conv
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if mode == "int8":
            conv.representative_dataset = rep
            if io_int8:
                conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                conv.inference_input_type = tf.int8
                conv.inference_output_type = tf.int8
        return conv

    # ---- model builders (each returns (bytes, converter-path note)) -------------------

    def k2_classifier(rnn, seq=SEQ, batch=1, mask_zero=False):
        seeded()
        return k2.Sequential(
            [
                k2.layers.Input((seq,), batch_size=batch, dtype="int32", name="tokens"),
                k2.layers.Embedding(VOCAB, EMB, mask_zero=mask_zero),
                rnn(),
                k2.layers.Dense(CLASSES, activation="softmax"),
            ]
        )

    def from_keras(model, mode, rep=None, io_int8=False):
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        return quantize(conv, mode, rep, io_int8).convert()

    rnn_layers = {
        "lstm": lambda: k2.layers.LSTM(HID),
        "gru": lambda: k2.layers.GRU(HID),
        "bilstm": lambda: k2.layers.Bidirectional(k2.layers.LSTM(HID)),
        "simplernn": lambda: k2.layers.SimpleRNN(HID),
    }
    rnn_desc = {
        "lstm": "LSTM({h})",
        "gru": "GRU({h}, reset_after=True)",
        "bilstm": "Bidirectional(LSTM({h}))",
        "simplernn": "SimpleRNN({h})",
    }
    mode_desc = {
        "float": "float32",
        "drq": "dynamic-range quantized (Optimize.DEFAULT, no dataset; the converter stores "
        "weights of >= 1024 elements as int8 and leaves smaller ones and fused-LSTM weights float)",
        "int8": "full-integer int8 (representative dataset), float I/O as the converter gives it",
        "int8io": "full-integer int8 with int8 output (inference_output_type=int8; token input stays int32)",
    }

    specs = []  # (name, description, converter path, build fn, cases fn)

    def token_cases(shape=(1, SEQ), n=2, seed=0, pad_tail=2):
        rng = np.random.default_rng(seed)
        return [[[tokens(rng, shape, pad_tail=pad_tail)]] for _ in range(n)]

    for kind in ["lstm", "gru", "bilstm", "simplernn"]:
        for mode in ["float", "drq", "int8", "int8io"]:
            if mode == "int8io" and kind != "lstm":
                continue
            desc = rnn_desc[kind].format(h=HID)

            def build(kind=kind, mode=mode):
                m = k2_classifier(rnn_layers[kind])
                if mode == "int8io":
                    conv = tf.lite.TFLiteConverter.from_keras_model(m)
                    conv.optimizations = [tf.lite.Optimize.DEFAULT]
                    conv.representative_dataset = rep_tokens()
                    conv.inference_output_type = tf.int8
                    return conv.convert()
                return from_keras(m, mode, rep_tokens())

            specs.append(
                (
                    f"{kind}_{mode}",
                    f"tf_keras (Keras 2) Embedding({VOCAB},{EMB}) -> {desc} -> Dense({CLASSES}, softmax), "
                    f"batch 1, seq {SEQ}; {mode_desc[mode]}",
                    "TFLiteConverter.from_keras_model(tf_keras.Sequential)",
                    build,
                    token_cases,
                )
            )

    # Float-input LSTM, full int8 with int8 I/O (the input becomes int8 too).
    def build_lstm_feat(mode):
        def build():
            seeded()
            m = k2.Sequential(
                [
                    k2.layers.Input((SEQ, 4), batch_size=1, name="features"),
                    k2.layers.LSTM(HID),
                    k2.layers.Dense(CLASSES),
                ]
            )
            conv = tf.lite.TFLiteConverter.from_keras_model(m)
            return quantize(conv, mode, rep_float((1, SEQ, 4)), io_int8=(mode == "int8")).convert()

        return build

    def feat_cases_float():
        rng = np.random.default_rng(0)
        return [[[rng.standard_normal((1, SEQ, 4)).astype(np.float32)]] for _ in range(2)]

    def feat_cases_int8():
        rng = np.random.default_rng(0)
        return [[[rng.integers(-128, 128, (1, SEQ, 4)).astype(np.int8)]] for _ in range(2)]

    specs.append(
        (
            "lstm_feat_float",
            f"tf_keras float features [1,{SEQ},4] -> LSTM({HID}) -> Dense({CLASSES}); float32",
            "TFLiteConverter.from_keras_model(tf_keras.Sequential)",
            build_lstm_feat("float"),
            feat_cases_float,
        )
    )
    specs.append(
        (
            "lstm_feat_int8io",
            f"tf_keras float features [1,{SEQ},4] -> LSTM({HID}) -> Dense({CLASSES}); full int8 with "
            "int8 input and output (TFLITE_BUILTINS_INT8, inference_input/output_type=int8)",
            "TFLiteConverter.from_keras_model(tf_keras.Sequential)",
            build_lstm_feat("int8"),
            feat_cases_int8,
        )
    )

    # Dynamic sequence length (fused LSTM) and dynamic batch + sequence length (WHILE).
    def seq_cases():
        rng = np.random.default_rng(0)
        return [
            [[tokens(rng, (1, SEQ), 2)]],
            [[tokens(rng, (1, 7), 1)]],
            [[tokens(rng, (1, 13), 0)], [tokens(rng, (1, 4), 0)]],  # resize between invocations
        ]

    specs.append(
        (
            "lstm_dynamic_seq",
            f"tf_keras Embedding -> LSTM({HID}) -> Dense({CLASSES}) with Input(shape=(None,), "
            "batch_size=1): shape_signature [1,-1], still fused to UNIDIRECTIONAL_SEQUENCE_LSTM; float32",
            "TFLiteConverter.from_keras_model(tf_keras.Sequential)",
            lambda: from_keras(k2_classifier(rnn_layers["lstm"], seq=None, batch=1), "float"),
            seq_cases,
        )
    )

    def from_keras_single_batch(model):
        # With batch and time both unknown the converter refuses ("TensorListReserve requires
        # element_shape to be static") unless told to assume batch 1 inside tensor-list ops.
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        conv._experimental_default_to_single_batch_in_tensor_list_ops = True
        return conv.convert()

    specs.append(
        (
            "lstm_dynamic_batch_seq",
            f"tf_keras Embedding -> LSTM({HID}) -> Dense({CLASSES}) with Input(shape=(None,)), batch None: "
            "shape_signature [-1,-1]; not fused (WHILE); float32. Converted with "
            "_experimental_default_to_single_batch_in_tensor_list_ops=True, so the loop assumes batch 1 "
            "(TF's own interpreter returns [1,3] for a batch of 3): the cases use batch 1 only",
            "TFLiteConverter.from_keras_model(tf_keras.Sequential), "
            "_experimental_default_to_single_batch_in_tensor_list_ops=True",
            lambda: from_keras_single_batch(k2_classifier(rnn_layers["lstm"], seq=None, batch=None)),
            seq_cases,
        )
    )

    # Keras 2 LSTM with mask_zero: the mask path.
    specs.append(
        (
            "lstm_masked_float",
            f"tf_keras Embedding(mask_zero=True) -> LSTM({HID}) -> Dense({CLASSES}); float32. The "
            "mask stops the fusion: WHILE whose body masks the state with SELECT_V2; NOT_EQUAL mask",
            "TFLiteConverter.from_keras_model(tf_keras.Sequential)",
            lambda: from_keras(k2_classifier(rnn_layers["lstm"], mask_zero=True), "float"),
            lambda: token_cases(pad_tail=3),
        )
    )

    # Keras 3 LSTM: no tf.api_implements, so the converter keeps the WHILE loop.
    def k3_lstm(seq=SEQ, batch=1):
        seeded()
        return k3.Sequential(
            [
                k3.layers.Input((seq,), batch_size=batch, dtype="int32", name="tokens"),
                k3.layers.Embedding(VOCAB, EMB),
                k3.layers.LSTM(HID),
                k3.layers.Dense(CLASSES, activation="softmax"),
            ]
        )

    for mode in ["float", "drq"]:
        specs.append(
            (
                f"k3_lstm_while_{mode}",
                f"Keras 3 Embedding -> LSTM({HID}) (unroll=False) -> Dense({CLASSES}); {mode_desc[mode]}; "
                "the converter does not fuse Keras 3's LSTM and keeps WHILE (cond: LESS/LOGICAL_AND)",
                "TFLiteConverter.from_keras_model(keras 3 Sequential)",
                lambda mode=mode: from_keras(k3_lstm(), mode, rep_tokens()),
                token_cases,
            )
        )
    specs.append(
        (
            "k3_lstm_while_int8",
            f"Keras 3 Embedding -> LSTM({HID}) -> Dense({CLASSES}); {mode_desc['int8']}",
            "TFLiteConverter.from_keras_model(keras 3 Sequential)",
            lambda: from_keras(k3_lstm(), "int8", rep_tokens()),
            token_cases,
        )
    )
    specs.append(
        (
            "k3_lstm_while_dynamic",
            f"Keras 3 Embedding -> LSTM({HID}) -> Dense({CLASSES}) with dynamic batch and sequence "
            "length (shape_signature [-1,-1]); WHILE whose trip count is the input's length; float32; "
            "converted with _experimental_default_to_single_batch_in_tensor_list_ops=True (the cases "
            "use batch 1)",
            "TFLiteConverter.from_keras_model(keras 3 Sequential), "
            "_experimental_default_to_single_batch_in_tensor_list_ops=True",
            lambda: from_keras_single_batch(k3_lstm(seq=None, batch=None)),
            seq_cases,
        )
    )

    # Text CNN with a padding mask from the token ids.
    def build_text_cnn(shape=(1, 16)):
        rng = np.random.default_rng(SEED)
        table = tf.constant(rng.standard_normal((VOCAB, EMB)).astype(np.float32) * 0.5)
        kern = tf.constant(rng.standard_normal((3, EMB, 12)).astype(np.float32) * 0.3)
        bias = tf.constant(rng.standard_normal((12,)).astype(np.float32) * 0.1)
        dense = tf.constant(rng.standard_normal((12, CLASSES)).astype(np.float32) * 0.3)

        @tf.function(input_signature=[tf.TensorSpec(shape, tf.int32, name="tokens")])
        def text_cnn(tok):
            x = tf.gather(table, tok)  # [1, 16, EMB]
            mask = tf.not_equal(tok, 0)  # NOT_EQUAL
            x = tf.where(tf.expand_dims(mask, -1), x, tf.zeros_like(x))  # SELECT_V2
            h = tf.nn.relu(tf.nn.conv1d(x, kern, 1, "SAME") + bias)
            neg = tf.fill(tf.shape(h), -1e4)
            h = tf.where(tf.expand_dims(mask, -1), h, neg)
            pooled = tf.reduce_max(h, axis=1)  # masked max-pool
            length = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1, keepdims=True)
            short = tf.less(length, 4.0)  # LESS: flag short inputs
            logits = tf.matmul(pooled, dense)
            logits = tf.where(short, tf.zeros_like(logits), logits)
            return {"logits": logits, "length": length}

        return tf.lite.TFLiteConverter.from_concrete_functions([text_cnn.get_concrete_function()], None).convert()

    def cnn_cases():
        rng = np.random.default_rng(0)
        return [
            [[tokens(rng, (1, 16), 5)]],
            [[tokens(rng, (1, 16), 14)]],  # 2 real tokens: the LESS branch
            [[tokens(rng, (1, 16), 0)]],
        ]

    specs.append(
        (
            "text_cnn_masked",
            "tf.function text CNN: GATHER embedding, mask = tokens != 0 (NOT_EQUAL), masked with "
            "tf.where (SELECT_V2), conv1d + relu, masked max-pool, length < 4 (LESS) zeroes logits",
            "TFLiteConverter.from_concrete_functions(tf.function)",
            build_text_cnn,
            cnn_cases,
        )
    )

    def cnn_dyn_cases():
        rng = np.random.default_rng(0)
        return [
            [[tokens(rng, (1, 16), 5)]],
            [[tokens(rng, (4, 9), 6)]],
            [[tokens(rng, (2, 20), 0)], [tokens(rng, (3, 5), 2)]],
        ]

    specs.append(
        (
            "text_cnn_masked_dynamic",
            "the text CNN of text_cnn_masked with tokens of shape_signature [-1,-1] (any batch, any length); float32",
            "TFLiteConverter.from_concrete_functions(tf.function)",
            lambda: build_text_cnn((None, None)),
            cnn_dyn_cases,
        )
    )

    # tf.while_loop + tf.cond with a data-dependent trip count.
    def build_while_cond():
        @tf.function(
            input_signature=[
                tf.TensorSpec([4], tf.float32, name="x"),
                tf.TensorSpec([], tf.int32, name="n"),
            ]
        )
        def while_cond(x, n):
            def body(i, x, acc):
                x = tf.cond(
                    tf.reduce_sum(x) > 0.0,
                    lambda: x * 0.5 - 1.0,
                    lambda: tf.sin(x) + 2.0,
                )
                return i + 1, x, acc + tf.reduce_max(x)

            i, x, acc = tf.while_loop(lambda i, x, acc: i < n, body, [tf.constant(0), x, tf.constant(0.0)])
            return {"x": x, "acc": acc, "iters": i}

        return tf.lite.TFLiteConverter.from_concrete_functions([while_cond.get_concrete_function()], None).convert()

    def while_cases():
        rng = np.random.default_rng(0)
        return [[[rng.standard_normal(4).astype(np.float32), np.array(n, np.int32)]] for n in (0, 1, 5, 12)]

    specs.append(
        (
            "while_cond",
            "tf.function: tf.while_loop(i < n) whose body has tf.cond(sum(x) > 0); n is an input "
            "(data-dependent trip count); WHILE + IF",
            "TFLiteConverter.from_concrete_functions(tf.function)",
            build_while_cond,
            while_cases,
        )
    )

    # Comparisons, both selects, WHERE, gathers and a top-level IF in one small graph.
    def build_select_ops():
        @tf.function(
            input_signature=[
                tf.TensorSpec([2, 5], tf.float32, name="x"),
                tf.TensorSpec([2, 5], tf.float32, name="y"),
                tf.TensorSpec([2, 3], tf.int32, name="ids"),
                tf.TensorSpec([], tf.bool, name="flag"),
            ]
        )
        def select_ops(x, y, ids, flag):
            sel = tf.compat.v1.where(tf.less(x, y), x, y)  # SELECT (v1, same shapes)
            sel2 = tf.where(tf.equal(ids, 0)[:, :1], 0.0, x)  # SELECT_V2 with broadcasting
            ne = tf.cast(tf.not_equal(x, 0.0), tf.int32)
            picked = tf.gather(x, ids, axis=1, batch_dims=1)  # [2, 3]
            rows = tf.gather(y, tf.constant([1, 0, 1]))  # [3, 5]
            idx = tf.where(tf.greater(x, 0.5))  # WHERE: data-dependent output shape
            out = tf.cond(flag, lambda: sel * 2.0, lambda: sel2 - 1.0)  # IF
            return {
                "select": sel,
                "select_v2": sel2,
                "not_equal": ne,
                "gather_batch": picked,
                "gather_rows": rows,
                "where": idx,
                "cond": out,
            }

        return tf.lite.TFLiteConverter.from_concrete_functions([select_ops.get_concrete_function()], None).convert()

    def select_cases():
        rng = np.random.default_rng(0)
        cases = []
        for flag in (True, False):
            x = rng.standard_normal((2, 5)).astype(np.float32)
            x[0, 1] = 0.0
            x[1, 2] = 0.9  # at least one WHERE hit (TF's interpreter cannot read a [0, 2] output)
            y = rng.standard_normal((2, 5)).astype(np.float32)
            ids = rng.integers(0, 5, (2, 3)).astype(np.int32)
            ids[1, 0] = 0
            cases.append([[x, y, ids, np.array(flag)]])
        return cases

    specs.append(
        (
            "select_ops",
            "tf.function exercising LESS, EQUAL, NOT_EQUAL, GREATER, SELECT (tf.compat.v1.where), "
            "SELECT_V2 (broadcasting tf.where), WHERE (tf.where(cond), dynamic output shape), GATHER "
            "(axis=1, batch_dims=1, and axis 0) and a top-level IF on a bool input",
            "TFLiteConverter.from_concrete_functions(tf.function)",
            build_select_ops,
            select_cases,
        )
    )

    # Greedy decoder: WHILE that stops at an EOS token (EQUAL) or max length.
    def build_greedy():
        rng = np.random.default_rng(SEED + 1)
        table = tf.constant(rng.standard_normal((12, 6)).astype(np.float32))
        w_h = tf.constant(rng.standard_normal((6, 6)).astype(np.float32) * 0.5)
        w_o = tf.constant(rng.standard_normal((6, 12)).astype(np.float32))
        eos, max_len = 0, 8

        @tf.function(
            input_signature=[
                tf.TensorSpec([1, 6], tf.float32, name="h0"),
                tf.TensorSpec([1], tf.int32, name="start"),
            ]
        )
        def greedy(h0, start):
            out = tf.zeros([max_len], tf.int32)

            def cond(i, tok, h, out, done):
                return tf.logical_and(i < max_len, tf.logical_not(done))

            def body(i, tok, h, out, done):
                e = tf.gather(table, tok)  # [1, 6]
                h = tf.tanh(tf.matmul(h, w_h) + e)
                nxt = tf.cast(tf.argmax(tf.matmul(h, w_o), axis=-1), tf.int32)  # [1]
                out = tf.tensor_scatter_nd_update(out, [[i]], nxt)
                done = tf.reduce_any(tf.equal(nxt, eos))
                return i + 1, nxt, h, out, done

            i, _, h, out, _ = tf.while_loop(cond, body, [tf.constant(0), start, h0, out, tf.constant(False)])
            return {"tokens": out, "length": i, "h": h}

        return tf.lite.TFLiteConverter.from_concrete_functions([greedy.get_concrete_function()], None).convert()

    def greedy_cases():
        rng = np.random.default_rng(3)
        return [[[rng.standard_normal((1, 6)).astype(np.float32), np.array([s], np.int32)]] for s in (1, 5, 11, 0)]

    specs.append(
        (
            "greedy_decode",
            "tf.function greedy decoder: WHILE until EOS (EQUAL on the argmax token) or 8 steps; "
            "GATHER embedding, tanh cell, ARG_MAX, scatter of the token into the output",
            "TFLiteConverter.from_concrete_functions(tf.function)",
            build_greedy,
            greedy_cases,
        )
    )

    # Streaming models with state in tf.Variables (resource variables).
    def build_stream_conv():
        rng = np.random.default_rng(SEED + 2)

        class StreamConv(tf.Module):
            def __init__(self):
                super().__init__()
                self.buf = tf.Variable(tf.zeros([1, 3, 4]), name="buffer")  # last 3 frames
                self.count = tf.Variable(0, dtype=tf.int32, name="count")
                self.total = tf.Variable(tf.zeros([1, 4]), name="running_sum")
                self.w = tf.constant(rng.standard_normal((3, 4, 5)).astype(np.float32) * 0.5)

            @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="frame")])
            def __call__(self, frame):
                buf = tf.concat([self.buf[:, 1:], frame[:, None]], axis=1)
                self.buf.assign(buf)
                self.count.assign_add(1)
                self.total.assign_add(frame)
                y = tf.einsum("btc,tco->bo", buf, self.w)  # causal conv over the last 3 frames
                mean = self.total / tf.cast(self.count, tf.float32)
                return {"y": y, "mean": mean, "count": self.count.read_value()}

        m = StreamConv()
        conv = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
        conv.experimental_enable_resource_variables = True
        return conv.convert()

    def stream_cases(shape=(1, 4), n=4):
        rng = np.random.default_rng(0)
        return [[[rng.standard_normal(shape).astype(np.float32)] for _ in range(n)]]

    specs.append(
        (
            "stream_conv_state",
            "tf.Module streaming causal conv: a [1,3,4] frame buffer, a frame count and a running "
            "sum kept in tf.Variables across invocations (CALL_ONCE init subgraph, VAR_HANDLE, "
            "READ_VARIABLE, ASSIGN_VARIABLE); outputs the conv, the running mean and the count",
            "TFLiteConverter.from_concrete_functions(tf.Module method), experimental_enable_resource_variables=True",
            build_stream_conv,
            stream_cases,
        )
    )

    def build_stream_gru():
        seeded()
        cell = k2.layers.GRUCell(HID)
        cell.build((1, 4))
        head = k2.layers.Dense(CLASSES)
        head.build((1, HID))

        class StreamGRU(tf.Module):
            def __init__(self):
                super().__init__()
                self.cell, self.head = cell, head
                self.h = tf.Variable(tf.zeros([1, HID]), name="gru_state")

            @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="frame")])
            def __call__(self, frame):
                out, _ = self.cell(frame, [self.h])
                self.h.assign(out)
                return {"logits": self.head(out)}

        m = StreamGRU()
        conv = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
        conv.experimental_enable_resource_variables = True
        return conv.convert()

    specs.append(
        (
            "stream_gru_state",
            f"streaming tf_keras GRUCell({HID}) + Dense({CLASSES}), one frame [1,4] per invocation, "
            "the hidden state kept in a tf.Variable (resource variables, CALL_ONCE init)",
            "TFLiteConverter.from_concrete_functions(tf.Module method), experimental_enable_resource_variables=True",
            build_stream_gru,
            stream_cases,
        )
    )

    # ---- build everything --------------------------------------------------------------

    only = set(args.only.split(",")) if args.only else None
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if not only and not args.build_one:
        for old in OUT_DIR.glob("*.tflite"):  # a full run rewrites the whole set
            old.unlink()
    failures = []
    manifest = {
        "generator": "scripts/make_tf_fixtures.py",
        "versions": versions,
        "note": (
            "cases: reference runs; each case is a list of invocations on one fresh interpreter "
            "(state carries over between them); an input whose shape differs from the model's is "
            "resized first. outputs were computed by TF's tf.lite.Interpreter. litert: LiteRT's "
            "verdict on the same cases."
        ),
        "models": {},
        "not_produced": {},
    }
    from tensorflow.lite.python.interpreter import Interpreter as TFInterpreter

    def details(ds):
        return [
            {
                "name": d["name"],
                "shape": [int(x) for x in d["shape"]],
                "shape_signature": [int(x) for x in d["shape_signature"]],
                "dtype": np.dtype(d["dtype"]).name,
                "quantization": [float(d["quantization"][0]), int(d["quantization"][1])],
            }
            for d in ds
        ]

    if args.build_one:  # child process: convert one model, write its bytes
        for name, _desc, _path, build, _cases in specs:
            if name == args.build_one:
                Path(args.out).write_bytes(build())
                return 0
        raise SystemExit(f"no model {args.build_one!r}")

    for name, desc, path_note, _build, cases_fn in specs:
        if only and name not in only:
            continue
        # Each conversion runs in its own process: the converter can crash (SIGSEGV) on some
        # inputs, and a fresh process also keeps Keras' layer-name counters identical.
        fname = f"{name}.tflite"
        tmp = OUT_DIR / (fname + ".tmp")
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--build-one", name, "--out", str(tmp)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0 or not tmp.exists():
            errs = [ln for ln in proc.stderr.splitlines() if "error" in ln.lower()]
            if proc.returncode < 0:
                why = f"converter crashed with signal {-proc.returncode}"
            else:
                why = f"exit {proc.returncode}: " + (errs[0].strip()[:300] if errs else "")
            failures.append((name, why))
            manifest["not_produced"][name] = {
                "description": desc,
                "converter_path": path_note,
                "tf_version": tf_version,
                "error": why,
            }
            print(f"== {name}: CONVERSION FAILED ({failures[-1][1]})", flush=True)
            tmp.unlink(missing_ok=True)
            (OUT_DIR / fname).unlink(missing_ok=True)
            continue
        buf = tmp.read_bytes()
        tmp.replace(OUT_DIR / fname)
        sgs = list_ops(buf)
        it = TFInterpreter(model_content=buf)
        it.allocate_tensors()
        entry = {
            "file": fname,
            "description": desc,
            "converter_path": path_note,
            "tf_version": tf_version,
            "size_bytes": len(buf),
            "sha256": hashlib.sha256(buf).hexdigest(),
            "inputs": details(it.get_input_details()),
            "outputs": details(it.get_output_details()),
            "subgraphs": sgs,
            "ops": sorted({o for sg in sgs for o in sg["ops"]}),
            "constant_tensor_dtypes": const_dtypes(buf),
        }
        del it
        cases = cases_fn()
        try:
            outs = _run_cases(
                lambda model_path: TFInterpreter(model_path=model_path),
                OUT_DIR / fname,
                [[[_encode(a) for a in inv] for inv in case] for case in cases],
            )
            entry["cases"] = [
                {
                    "invocations": [[_encode(a) for a in inv] for inv in case],
                    "outputs": [[_encode(o) for o in inv] for inv in out],
                }
                for case, out in zip(cases, outs)
            ]
            entry["tf_interpreter_runs"] = True
        except Exception as e:  # noqa: BLE001
            entry["cases"] = []
            entry["tf_interpreter_runs"] = False
            entry["tf_interpreter_error"] = f"{type(e).__name__}: {e}"[:400]
        manifest["models"][name] = entry
        print(f"== {fname}  {len(buf)} bytes  TF {tf_version}", flush=True)
        for i, sg in enumerate(sgs):
            print(f"   subgraph {i} {sg['name']!r}: {' '.join(sg['ops'])}", flush=True)
        print(f"   constant tensors: {entry['constant_tensor_dtypes']}", flush=True)
        if not entry["tf_interpreter_runs"]:
            print(f"   TF interpreter: {entry['tf_interpreter_error']}", flush=True)

    mpath = OUT_DIR / "MANIFEST.json"

    def dump():
        mpath.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")

    dump()

    # ---- LiteRT verdicts ---------------------------------------------------------------

    litert_py = args.litert_python
    if litert_py and Path(litert_py).exists():
        proc = subprocess.run(
            [litert_py, str(Path(__file__).resolve()), "--litert-check", str(mpath)],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            print("LiteRT check failed to run", file=sys.stderr)
            return 1
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        manifest["litert_version"] = report["litert_version"]
        for name, rec in report["models"].items():
            manifest["models"][name]["litert"] = rec
        dump()
        print(f"\nLiteRT {report['litert_version']} (via {litert_py}):")
        for name, rec in report["models"].items():
            if rec["runs"] and "max_abs_diff_vs_tf" not in rec:
                print(f"   {name}: loads (no reference cases)")
            elif rec["runs"]:
                print(
                    f"   {name}: runs, max |diff| vs TF {rec['max_abs_diff_vs_tf']:.3g}"
                    f"{' (bit-exact)' if rec['bit_exact_vs_tf'] else ''}"
                )
            else:
                print(f"   {name}: FAILS: {rec['error']}")
    else:
        print(f"\n(no LiteRT check: {litert_py!r} not found)")

    total = sum(e["size_bytes"] for e in manifest["models"].values())
    print(f"\n{len(manifest['models'])} models, {total} bytes of .tflite; MANIFEST.json {mpath.stat().st_size} bytes")
    for name, msg in failures:
        print(f"FAILED: {name}: {msg}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--litert-check", metavar="MANIFEST", help=argparse.SUPPRESS)
    ap.add_argument(
        "--litert-python",
        default=str(REPO / ".venv" / "bin" / "python"),
        help="a Python with ai_edge_litert installed (default: the repo's .venv)",
    )
    ap.add_argument("--only", help="comma-separated model names (for debugging)")
    ap.add_argument("--build-one", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.litert_check:
        print(json.dumps(litert_check(Path(args.litert_check))))
        return 0
    return main_tf(args)


if __name__ == "__main__":
    sys.exit(main())
