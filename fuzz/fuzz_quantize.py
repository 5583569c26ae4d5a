"""Fuzz the ``.tflite`` input of numlite's quantizers: ``numlite.quantize.quantize_model`` (int8 and
16x8, calibrated on a tiny set of inputs), ``numlite.quantize_weights.quantize_dynamic_range`` and
``quantize_float16``, and ``numlite.quantize_report.quantization_report``.

1. **Seeds** (``seeds()``): the float models the quantizer's tests build (an FC head with fixed-
   output activations, the elementwise and mean-head graphs, a PRELU / TRANSPOSE_CONV net, LSTMs,
   WHILE / IF / CALL_ONCE models with and without an LSTM inside, SELECT and integer-position
   graphs, an unsupported SIN, RNN / SVDF / GATHER / TRANSPOSE_CONV for the dynamic-range
   quantizer), a tiny MobileNet v1 at 32x32 (numlite.models), a Keras-converted CNN and GRU
   when Keras is installed, and the smallest cached MediaPipe float models when they are already
   in the tests' cache (never downloaded).
2. **Mutation** (``custom_mutator``): libFuzzer's byte mutations, schema-guided FlatBuffer edits
   and model-level changes (``_flatbuf``: shapes, types, op codes, options, inputs / outputs,
   subgraphs), and weight values that stress scale arithmetic (zeros, NaN, infinities, 3e38,
   denormals, one huge channel) - ``mutate_weights``.
3. **Run** (``test_one_input``): the model is loaded (inputs declaring more than
   ``MAX_DECLARED_BYTES`` are skipped) and run once in float on ``CALIBRATION`` samples (noise of
   a magnitude the input picks: mostly ordinary, sometimes tiny, huge or zero; integer inputs 0 to
   3), invokes cancelled after a second (a loop that does not end is not calibrated).  Then
   ``quantize_float16`` and ``quantize_dynamic_range`` (options picked by a checksum of the
   input), and when the float runs finished, ``quantize_model`` in one mode
   (int8 with int8 / uint8 / float32 I/O, or 16x8; sometimes ``allow_float`` or SOFTMAX kept
   float), and for some inputs ``quantization_report`` of its result.

What may be raised: numlite's documented errors (``_common.is_allowed``: ModelError,
QuantizationError, PrepareError, ResizeError, InvokeCancelled and other ValueError /
RuntimeError, but not UnicodeError, RecursionError or NotImplementedError).  A finding is any
other exception, a hang, or a quantized model numlite itself rejects: every model a quantizer
returns must load (``numlite.load_model``); where the float model allocated and ran on the
samples, the quantized one must allocate too, and may raise only documented errors when it runs
on them (``QuantizedModelBroken``).
"""

from __future__ import annotations

import contextlib
import random
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import _common
import _flatbuf
import numpy as np

import numlite
import numlite.quantize  # noqa: F401 - imported here, inside run.py's instrumentation
import numlite.quantize_report  # noqa: F401
import numlite.quantize_weights  # noqa: F401

NAME = "quantize"

#: calibration samples per input (the quantizer's calibration runs the float model on each)
CALIBRATION = 2
#: models whose tensors declare more bytes than this (dynamic dimensions as 1) are skipped
MAX_DECLARED_BYTES = 8 << 20
#: seconds an invoke may run before ``Interpreter.cancel`` stops it
INVOKE_TIMEOUT = 1.0
#: seconds the float model may take over all calibration samples for the integer modes to be tried:
#: calibration preserves and records every tensor (every iteration of a loop), 100x and more the
#: plain run's time - a model that loops for a second (nested WHILEs counting to an input) would
#: calibrate for minutes, which is the model's doing, not a finding
CALIBRATION_BUDGET = 0.05


class QuantizedModelBroken(AssertionError):
    """A quantizer returned a model numlite cannot load, or cannot allocate / run where the float
    model could (not one of numlite's documented errors: a finding)."""


# --- running ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


#: magnitudes of the calibration values, picked by a byte of the input: mostly ordinary, sometimes
#: tiny, huge (beyond ``quantize.MAX_MAGNITUDE``) or all zero
MAGNITUDES = (1.0, 1.0, 1.0, 1.0, 10.0, 1e-3, 1e3, 1e-9, 1e12, 0.0)


def _samples(it: Any, data: bytes) -> list[list[np.ndarray]]:
    """``CALIBRATION`` samples for the allocated interpreter ``it``, from ``data``: float inputs
    normal noise of a magnitude from ``MAGNITUDES`` (finite: the quantizer refuses non-finite data by
    name, and what a kernel makes of NaN is the invoke harness's business); integer inputs (token
    ids, indices, loop counts) 0 to 3; others as ``_common.fill_value`` makes them."""
    crc = zlib.crc32(data)
    rng = np.random.default_rng(crc)
    scale = MAGNITUDES[(data[len(data) // 2] if data else 0) % len(MAGNITUDES)]
    out = []
    for k in range(CALIBRATION):
        sample = []
        for j, d in enumerate(it.get_input_details()):
            shape, dt = tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"])
            if dt.kind == "f":
                sample.append((rng.standard_normal(shape) * scale).astype(dt))
            elif dt.kind in "iu":
                sample.append(rng.integers(0, 4, shape).astype(dt))
            else:
                sample.append(_common.fill_value(shape, dt, data, 17 * k + j))
        out.append(sample)
    return out


def _run(it: Any, sample: list[np.ndarray]) -> None:
    """Invoke ``it`` on ``sample`` (cancelled after ``INVOKE_TIMEOUT``) and read its outputs."""
    for d, x in zip(it.get_input_details(), sample):
        it.set_tensor(d["index"], x)
    _common.invoke_with_timeout(it, INVOKE_TIMEOUT)
    for d in it.get_output_details():
        it.get_tensor(d["index"])


def float_run(data: bytes) -> list[list[np.ndarray]] | None:
    """The calibration samples, when the float model allocates and runs on each of them within
    ``INVOKE_TIMEOUT``; None when it does not (numlite's documented errors, a cancelled loop)."""
    try:
        it = numlite.Interpreter(model_content=data)
        it.allocate_tensors()
        samples = _samples(it, data)
        t0 = time.perf_counter()
        for s in samples:
            _run(it, s)
    except Exception as e:  # noqa: BLE001 - documented errors: no calibration; others: the loader's findings
        if _common.is_allowed(e):
            return None
        raise
    if time.perf_counter() - t0 > CALIBRATION_BUDGET:
        return None  # calibration records every tensor of every loop iteration: far slower than this
    return samples


def _quantized_inputs(it: Any, sample: list[np.ndarray]) -> list[np.ndarray]:
    """``sample`` (float values) in the quantized model's input types, by its input parameters."""
    out = []
    for d, x in zip(it.get_input_details(), sample):
        dt = np.dtype(d["dtype"])
        scale, zp = d["quantization"]
        if dt.kind in "iu" and np.asarray(x).dtype.kind == "f" and scale:
            info = np.iinfo(dt)
            q = np.clip(np.round(np.asarray(x, np.float64) / scale + zp), info.min, info.max)
            out.append(q.astype(dt))
        else:
            out.append(np.asarray(x).astype(dt))
    return out


def check_output(q: bytes, what: str, samples: list[list[np.ndarray]] | None) -> None:
    """A quantizer's result must load; where the float model allocated and ran on ``samples``,
    it must also allocate (its quantization parameters are ones numlite's kernels take), and its
    run on them may raise only numlite's documented errors (what an integer or hybrid kernel makes
    of extreme values - a hybrid FULLY_CONNECTED fed an infinity - is the invoke harness's
    business); raises ``QuantizedModelBroken`` otherwise."""
    try:
        numlite.load_model(model_content=q)
    except Exception as e:  # noqa: BLE001 - whatever it is, numlite refused its own output
        raise QuantizedModelBroken(f"{what}: the quantized model does not load: {type(e).__name__}: {e}") from e
    if samples is None:
        return
    try:
        it = numlite.Interpreter(model_content=q)
        it.allocate_tensors()
    except Exception as e:  # noqa: BLE001
        raise QuantizedModelBroken(f"{what}: the float model allocated, the quantized one does not: "
                                   f"{type(e).__name__}: {e}") from e
    with _common.tolerated():  # a cancelled invoke included: quantized values may loop longer
        for s in samples:
            _run(it, _quantized_inputs(it, s))


def _declared(m: Any) -> int:
    return _common.declared_bytes(m)


def test_one_input(data: bytes) -> None:
    """Quantize the ``.tflite`` model ``data`` every way (module docstring: what may be raised)."""
    from numlite.quantize import quantize_model
    from numlite.quantize_report import quantization_report
    from numlite.quantize_weights import WEIGHT_ONLY_MODES, quantize_dynamic_range, quantize_float16

    sel = zlib.crc32(data)
    with _quiet():
        m = None
        with _common.tolerated():
            m = numlite.load_model(model_content=data)
        if m is None or not m.subgraphs or _declared(m) > MAX_DECLARED_BYTES:
            return
        samples = float_run(data)
        modes = sorted(WEIGHT_ONLY_MODES)
        jobs: list[tuple[str, Callable[[], bytes]]] = [
            ("float16", lambda: quantize_float16(data)),
            ("dynamic", lambda: quantize_dynamic_range(data, min_elements=(1, 16, 1024)[sel % 3],
                                                       per_channel=bool(sel & 8),
                                                       weight_only=modes[(sel >> 4) % len(modes)])),
        ]
        if samples is not None:
            mode = ("int8", "int8", "int16x8")[(sel >> 6) % 3]
            io = ((None, np.uint8, np.float32) if mode == "int8" else (None, np.float32, None))[(sel >> 8) % 3]
            float_ops = ("SOFTMAX",) if sel & 1024 else ()
            jobs.append((f"{mode} io={io}", lambda: quantize_model(
                data, samples, mode=mode, io_dtype=io, per_channel=bool(sel & 2048), float_ops=float_ops,
                allow_float=bool(sel & 4096))))
        for what, job in jobs:
            q = None
            with _common.tolerated():
                q = job()
            if q is None:
                continue
            check_output(q, what, samples)
            if samples is not None and what.startswith("int") and sel % 3 == 0:
                with _common.tolerated():
                    quantization_report(data, q, samples)


# --- seeds -----------------------------------------------------------------------------------------
def _builders() -> dict[str, Callable[[], bytes | list[bytes]]]:
    _common.add_paths()

    def quantizer() -> list[bytes]:
        from test_quantizer import _fc_model, elementwise_model, mean_head_model

        return [_fc_model(["LOGISTIC", "TANH", "SOFTMAX"], concat=True), _fc_model(["RELU"]), elementwise_model(),
                mean_head_model()]

    def cnn() -> list[bytes]:
        from numlite import models

        return [models.build("mobilenet_v1_tiny", alpha=0.125, resolution=32, num_classes=10)]

    def x16() -> bytes:
        from test_quantize_16x8 import prelu_tconv_model

        return prelu_tconv_model()

    def lstm() -> list[bytes]:
        from test_quantize_lstm import _model

        return [_model("basic", (1, 3, 4), False), _model("basic", (3, 1, 4), True)]

    def control_flow() -> list[bytes]:
        from test_quantize_control_flow import accumulator, if_model, loop_model, nested_loops

        return [loop_model(), loop_model("LOGISTIC", "TANH"), if_model(), accumulator(), nested_loops()]

    def lstm_control_flow() -> list[bytes]:
        from test_quantize_lstm_control_flow import if_model, while_model

        return [if_model(), while_model()]

    def ops_more() -> list[bytes]:
        from test_quantize_float_ops import sin_model
        from test_quantize_ops_more import _positions_model, _select_model

        return [_select_model(), _positions_model(), _positions_model(True), sin_model()]

    def weights_only() -> list[bytes]:
        from test_quantize_weights_rnn import _rnn_model, _svdf_model

        rng = np.random.default_rng(0)
        from test_quantize_weights_only import _gather, _tconv

        return [_tconv(rng.normal(size=(4, 3, 3, 2)).astype(np.float32), rng.normal(size=4).astype(np.float32)),
                _gather(rng.normal(size=(40, 32)).astype(np.float32), (1, 3)),
                _rnn_model("UNIDIRECTIONAL_SEQUENCE_RNN", 8, 4, "TANH", t=3, batch=1)[0],
                _svdf_model(1, 4, 4, 1, 3, "NONE")]

    def keras_models() -> list[bytes]:
        import os

        os.environ.setdefault("KERAS_BACKEND", "numpy")
        import keras

        L = keras.layers
        keras.backend.clear_session()  # layer (and so tensor) names from 0 again: the same bytes every run
        keras.utils.set_random_seed(0)
        cnn = keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(),
                                L.MaxPooling2D(), L.Flatten(), L.Dense(3, activation="softmax")])
        gru = keras.Sequential([keras.Input((None, 3)), L.GRU(4), L.Dense(2)])
        return [numlite.convert(cnn), numlite.convert(gru)]

    def mediapipe() -> list[bytes]:
        root = _common.model_cache_dir()
        names = ("hand_recrop.tflite", "face_detection_short_range.tflite")
        return [p.read_bytes() for n in names for p in sorted(root.glob(f"mediapipe-*/{n}"))[:1]]

    return {f.__name__: f for f in (quantizer, cnn, x16, lstm, control_flow, lstm_control_flow, ops_more,
                                    weights_only, keras_models, mediapipe)}


def seeds() -> list[bytes]:
    """The float models of the quantizer's tests and the real ones already cached (module docstring)."""
    return _common.make_seeds(_builders())


# --- mutation --------------------------------------------------------------------------------------
WEIGHT_PATTERNS = ("zeros", "nan", "inf", "huge", "tiny", "one_channel", "negative_zero", "sign_flip")


def mutate_weights(buf: bytes, rng: random.Random) -> bytes | None:
    """A float32 constant's values replaced by a pattern that stresses scale arithmetic (zeros,
    NaN, infinities, 3e38, denormals, one channel far above the others), or None."""
    model = _flatbuf.decode(buf)
    if model is None:
        return None
    buffers = model.get("buffers") or []
    found = []
    for sg in model.get("subgraphs") or []:
        for t in sg.get("tensors") or []:
            b = int(t.get("buffer") or 0)
            if int(t.get("type") or 0) == 0 and 0 < b < len(buffers):
                data = buffers[b].get("data")
                if data is not None and len(data) >= 4:
                    found.append(b)
    if not found:
        return None
    b = rng.choice(found)
    raw = bytes(np.asarray(buffers[b]["data"], np.uint8))
    w = np.frombuffer(raw[:len(raw) // 4 * 4], np.float32).copy()
    pattern = rng.choice(WEIGHT_PATTERNS)
    if pattern == "zeros":
        w[:] = 0.0
    elif pattern == "nan":
        w[rng.randrange(w.size)] = np.nan
    elif pattern == "inf":
        w[rng.randrange(w.size)] = rng.choice((np.inf, -np.inf))
    elif pattern == "huge":
        w[rng.randrange(w.size)] = rng.choice((3e38, -3e38, 1e20))
    elif pattern == "tiny":
        w[:] = rng.choice((1e-45, 1e-40, 1e-30))
    elif pattern == "one_channel":
        w[: max(w.size // 4, 1)] *= rng.choice((1e6, 1e-6, 0.0))
    elif pattern == "negative_zero":
        w[:] = -0.0
    else:
        w = -w
    buffers[b]["data"] = np.frombuffer(w.tobytes(), np.uint8).copy()
    return _flatbuf.encode(model)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """One mutation (module docstring): byte level, schema-guided, model level or weight values."""
    rng = random.Random(seed)
    r = rng.random()
    if r < 0.25:
        return _common.libfuzzer_or_generic(data, max_size, seed)
    got = None
    if r < 0.5:
        got = mutate_weights(data, rng)
    elif r < 0.85:
        got = _flatbuf.mutate_model(data, rng, focus="control_flow" if rng.random() < 0.2 else "any")
    if got is not None and len(got) <= max_size:
        return got
    return _flatbuf.mutate_slot(data, rng)[:max_size]


if __name__ == "__main__":  # python fuzz/fuzz_quantize.py [N]: seeds and N mutants each, no atheris
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for k, s in enumerate(seeds()):
        test_one_input(s)
        for j in range(n):
            test_one_input(custom_mutator(s, 1 << 22, k * 1000 + j))
    print("ok")
