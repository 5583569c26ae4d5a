"""Fuzz the Keras input of numlite's converter: ``numlite.convert(path)`` of a ``.keras`` file.

A ``.keras`` file is a zip of ``config.json`` (the model's layers and graph), ``metadata.json``
and ``model.weights.h5``.  The input bytes are the file itself.

1. **Seeds** (``seeds()``): small models of diverse layers saved by Keras in-process (NumPy
   backend): Dense, Conv1D / 2D / 3D and their relatives, pooling, normalizations, LSTM / GRU /
   SimpleRNN / Bidirectional (a GRU over a free length is a WHILE loop), MultiHeadAttention,
   Embedding, merges, a nested model, functional graphs of ``keras.ops``; repacked with fixed
   timestamps and object ids so the corpus is the same on every run.
2. **Mutation** (``custom_mutator``), structure-aware: the config JSON (a layer's class, module,
   units / filters / kernel sizes, activation, padding, dtype, graph connections; keys deleted,
   values of another type, huge / negative / float / NaN numbers, subtrees copied, layers of other
   seeds inserted), then either kept as it is (Keras's loader meets it) or rebuilt by Keras and
   saved again with weights that fit it (the converter meets it); the weights (datasets of
   another shape or dtype, deleted, NaN / huge, the HDF5 file truncated or flipped); the zip's
   members (deleted, duplicated, junk added) and its bytes.
3. **Run** (``test_one_input``): the bytes are written to a file in a temporary directory
   (removed after each input) and converted; a file is skipped, not run, when its config asks for
   more than a few MB (any integer above ``MAX_INT``, or a layer whose four largest integers
   multiply past ``MAX_ELEMENTS``) or its HDF5 datasets declare more than ``MAX_WEIGHT_BYTES``.
   A converted model is then loaded, allocated and invoked once by numlite (inputs of zeros).

What may be raised (anything else is a finding):
- ``numlite.converter.KerasFileError`` (a ``ConversionError``): Keras cannot load the file.
  numlite wraps every failure of Keras's loader at the load boundary, naming the file, so any
  other exception type escaping while the file loads is a finding.
- ``numlite.converter.ConversionError``: the loaded model does not convert (a layer, option or
  activation numlite lacks, named).  A plain ValueError / TypeError / IndexError ... from the
  converter on a model Keras accepted is a finding: the converter must say which layer and why.
- Nothing once the model converted: a ``.tflite`` written by the converter that numlite cannot
  load, allocate or invoke is a finding (a converter bug).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import heapq
import io
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "numpy")

import _common  # noqa: E402
import keras  # noqa: E402,F401 - an ImportError here: the harness is skipped (numlite[convert] missing)

import numlite  # noqa: E402
import numlite.converter.keras  # noqa: E402,F401 - imported here, inside run.py's instrumentation
import numlite.converter.keras_ops  # noqa: E402,F401

NAME = "convert_keras"

#: an integer in config.json above this (in magnitude) makes the input skipped
MAX_INT = 1 << 16
#: a layer whose four largest integers multiply past this makes the input skipped
MAX_ELEMENTS = 1 << 22
#: HDF5 datasets declaring more bytes than this in total make the input skipped
MAX_WEIGHT_BYTES = 8 << 20
#: a converted model declaring more tensor bytes than this is loaded but not allocated
MAX_TFLITE_BYTES = 16 << 20
#: integers in config.json that are not sizes (Python object ids, RNG seeds)
NOT_SIZES = frozenset({"shared_object_id", "seed"})

#: a fixed zip timestamp and metadata.json: the same bytes for the same model
_DATE = (1980, 1, 1, 0, 0, 0)
_METADATA = b'{"keras_version": "3", "date_saved": "1980-01-01@00:00:00"}'

_tmp: str | None = None
_runs = 0


# --- Keras and the file --------------------------------------------------------------------------
def _keras() -> Any:
    return keras


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keras's and NumPy's warnings off (a hostile model makes plenty)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def _tmpdir() -> str:
    global _tmp
    if _tmp is None:
        _tmp = tempfile.mkdtemp(prefix="numlite-fuzz-keras-")
        atexit.register(shutil.rmtree, _tmp, True)
    return _tmp


def unzip(data: bytes) -> dict[str, bytes] | None:
    """The members of zip ``data`` (name -> bytes, in order), or None when it is not a readable zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out = {}
            for info in z.infolist():
                if info.file_size > 64 << 20:
                    return None
                out[info.filename] = z.read(info)
            return out
    except Exception:  # noqa: BLE001 - any unreadable zip
        return None


def repack(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` as Keras writes one (stored, not compressed), with a fixed timestamp."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, value in files.items():
            z.writestr(zipfile.ZipInfo(name, _DATE), value)
    return buf.getvalue()


def _canonical_ids(config: Any) -> Any:
    """``shared_object_id`` values (Python ``id()``s) renumbered 1, 2, ... in order of appearance."""
    seen: dict[Any, int] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: seen.setdefault(x, len(seen) + 1) if k == "shared_object_id" else walk(x)
                    for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    return walk(config)


def save_model(model: Any) -> bytes:
    """The ``.keras`` bytes of ``model``, made deterministic (fixed dates and object ids)."""
    path = os.path.join(_tmpdir(), f"save-{os.getpid()}-{threading.get_ident()}.keras")
    try:
        with _quiet():
            model.save(path)
        files = unzip(open(path, "rb").read())
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
    assert files is not None
    files["metadata.json"] = _METADATA
    files["config.json"] = json.dumps(_canonical_ids(json.loads(files["config.json"]))).encode()
    return repack(files)


# --- bounds ----------------------------------------------------------------------------------------
def _ints(v: Any, out: list[int], key: str = "") -> None:
    """Every integer in ``v`` (not bools, not ``NOT_SIZES``), not descending into nested layers."""
    stack = [(key, v)]
    while stack:
        k, x = stack.pop()
        if k in NOT_SIZES or isinstance(x, bool):
            continue
        if isinstance(x, int):
            out.append(x)
        elif isinstance(x, float) and math.isfinite(x) and x == int(x):
            out.append(int(x))  # Keras takes 8.0 where it takes 8
        elif isinstance(x, dict):
            stack.extend((kk, xx) for kk, xx in x.items() if not (isinstance(xx, dict) and "class_name" in xx
                                                                   and kk in ("layer", "backward_layer", "cell")))
        elif isinstance(x, list):
            stack.extend((k, xx) for xx in x)


def config_too_big(config: Any) -> bool:
    """Whether the layers of ``config`` could make Keras or the converter allocate more than a few
    MB: any integer above ``MAX_INT``, or a layer (config, build config and call arguments) whose
    four largest integers multiply past ``MAX_ELEMENTS``."""
    every: list[int] = []
    _ints(config, every)
    if any(abs(i) > MAX_INT for i in every):
        return True
    stack = [config]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if "class_name" in v and isinstance(v.get("config"), dict):
                mine: list[int] = []
                for key in ("config", "build_config", "inbound_nodes"):
                    _ints(v.get(key), mine)
                top = heapq.nlargest(4, (abs(i) for i in mine))
                if math.prod(max(i, 1) for i in top) > MAX_ELEMENTS:
                    return True
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def weights_too_big(h5: bytes) -> bool:
    """Whether the HDF5 datasets of ``h5`` declare more than ``MAX_WEIGHT_BYTES`` in all (a
    compressed dataset of a huge shape would be a memory bomb for Keras's loader)."""
    try:
        import h5py
    except ImportError:
        return False
    total = 0
    try:
        with h5py.File(io.BytesIO(h5), "r") as f:
            items: list[Any] = []
            f.visititems(lambda _n, o: items.append(o) if isinstance(o, h5py.Dataset) else None)
            for d in items:
                total += math.prod(int(s) for s in (d.shape or ())) * max(int(d.dtype.itemsize), 1)
                if total > MAX_WEIGHT_BYTES:
                    return True
    except Exception:  # noqa: BLE001 - an unreadable file: Keras's loader says so
        return False
    return False


def too_big(data: bytes) -> bool:
    files = unzip(data)
    if files is None:
        return False
    try:
        config = json.loads(files.get("config.json", b"null"))
    except (ValueError, RecursionError):
        config = None
    if config is not None and config_too_big(config):
        return True
    for name, value in files.items():
        if name.endswith(".h5") and weights_too_big(value):
            return True
    return False


# --- running ---------------------------------------------------------------------------------------
def _allowed_convert() -> tuple[type[BaseException], ...]:
    from numlite.converter import ConversionError

    return (ConversionError,)


def run_converted(tflite: bytes) -> None:
    """Load, allocate and invoke (inputs of zeros, bounded) a model the converter wrote: any error
    is a finding, except where an input has a free dimension other than the batch: the .tflite
    holds 1 there (as TensorFlow's converter writes it), a size the model need not accept (a 3x3
    VALID convolution over free image sides, free features that the weights fix), so those
    models are loaded but may refuse to allocate or invoke with numlite's documented errors."""
    from numlite.graph import load_model

    m = load_model(model_content=tflite)
    declared = sum(math.prod(max(int(d), 1) for d in t.shape) * max(np.dtype(t.dtype).itemsize, 1)
                   for sg in m.subgraphs for t in sg.tensors if t.dtype is not None and np.dtype(t.dtype) != object)
    it = numlite.Interpreter(model_content=tflite)
    if declared > MAX_TFLITE_BYTES:
        return
    sg = m.subgraphs[0]
    free_inner = any(-1 in tuple(sg.tensors[i].shape_signature)[1:] for i in sg.inputs)
    try:
        _allocate_and_invoke(it, m)
    except (ValueError, RuntimeError):
        if not free_inner:
            raise


def _allocate_and_invoke(it: Any, m: Any) -> None:
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    if hasattr(it, "cancel"):
        timer = threading.Timer(1.0, it.cancel)
        timer.daemon = True
        timer.start()
        try:
            with contextlib.suppress(getattr(numlite, "InvokeCancelled", ())):
                it.invoke()
        finally:
            timer.cancel()
    elif any(op.op_name == "WHILE" for sg in m.subgraphs for op in sg.operators):
        return
    else:
        it.invoke()
    for d in it.get_output_details():
        it.get_tensor(d["index"])


def test_one_input(data: bytes) -> None:
    """Convert the ``.keras`` file ``data`` (module docstring: what may be raised)."""
    global _runs
    if too_big(data):
        return
    path = os.path.join(_tmpdir(), f"in-{os.getpid()}-{threading.get_ident()}.keras")
    with open(path, "wb") as f:
        f.write(data)
    try:
        with _quiet():
            try:
                tflite = numlite.convert(path)
            except _allowed_convert():
                return
            run_converted(tflite)
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        _runs += 1
        if _runs % 200 == 0 and "keras" in sys.modules:  # Keras's global name registry grows per load
            _keras().backend.clear_session()


# --- seeds -----------------------------------------------------------------------------------------
def _seed_models() -> dict[str, Callable[[], Any]]:
    keras = _keras()
    L, ops = keras.layers, keras.ops

    def mlp() -> Any:
        return keras.Sequential([keras.Input((6,)), L.Dense(5, activation="relu"), L.Dropout(0.1),
                                 L.Dense(4, activation="gelu"), L.Dense(3, activation="softmax")], name="mlp")

    def cnn() -> Any:
        return keras.Sequential([keras.Input((8, 8, 3)), L.Conv2D(4, 3, padding="same", activation="relu"),
                                 L.BatchNormalization(), L.MaxPooling2D(), L.DepthwiseConv2D(3, padding="same"),
                                 L.SeparableConv2D(4, 3, activation="relu6"), L.GlobalAveragePooling2D(),
                                 L.Dense(2)], name="cnn")

    def up() -> Any:
        return keras.Sequential([keras.Input((6, 6, 2)), L.ZeroPadding2D(1), L.Conv2DTranspose(3, 3, strides=2),
                                 L.UpSampling2D(interpolation="bilinear"), L.Cropping2D(2), L.AveragePooling2D(2),
                                 L.Resizing(4, 4), L.Flatten(), L.Dense(2, activation="sigmoid")], name="up")

    def conv1d() -> Any:
        return keras.Sequential([keras.Input((10, 3)), L.Conv1D(4, 3, padding="causal", activation="tanh"),
                                 L.DepthwiseConv1D(3), L.MaxPooling1D(), L.UpSampling1D(2),
                                 L.Conv1DTranspose(2, 3), L.GlobalMaxPooling1D()], name="conv1d")

    def conv3d() -> Any:
        return keras.Sequential([keras.Input((4, 4, 4, 2)), L.Conv3D(2, 2, activation="swish"),
                                 L.ZeroPadding3D(1), L.Cropping3D(1), L.UpSampling3D(1), L.Conv3DTranspose(2, 2),
                                 L.GlobalAveragePooling3D()], name="conv3d")

    def recurrent() -> Any:
        return keras.Sequential([keras.Input((5, 3)), L.LSTM(4, return_sequences=True),
                                 L.GRU(3, return_sequences=True), L.SimpleRNN(2)], name="recurrent")

    def bidirectional() -> Any:
        return keras.Sequential([keras.Input((4, 3)), L.Bidirectional(L.LSTM(3, return_sequences=True)),
                                 L.Bidirectional(L.GRU(2), merge_mode="sum")], name="bidirectional")

    def gru_loop() -> Any:  # a free number of steps: the converter writes a WHILE loop
        return keras.Sequential([keras.Input((None, 3)), L.GRU(3, reset_after=False), L.Dense(2)], name="gru_loop")

    def attention() -> Any:
        x = keras.Input((4, 8), name="tokens")
        a = L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
        h = L.LayerNormalization()(L.Add()([x, a]))
        return keras.Model(x, L.Dense(3)(h), name="attention")

    def embedding() -> Any:
        t = keras.Input((5,), dtype="int32", name="ids")
        e = L.Embedding(12, 4)(t)
        p = L.Embedding(5, 4)(ops.zeros_like(t) + ops.arange(5))
        return keras.Model(t, L.GlobalAveragePooling1D()(L.Add()([e, p])), name="embedding")

    def merges() -> Any:
        a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
        c = L.Concatenate()([L.Subtract()([a, b]), L.Maximum()([a, b]), L.Multiply()([a, b])])
        d = L.Dot(axes=1, normalize=True)([a, b])
        return keras.Model([a, b], [L.Dense(2)(c), L.Average()([L.Minimum()([a, b]), a]), d], name="merges")

    def shapes() -> Any:
        return keras.Sequential([keras.Input((4, 6)), L.Normalization(mean=0.5, variance=2.0), L.Rescaling(0.5, 1.0),
                                 L.Permute((2, 1)), L.Reshape((3, 8)), L.PReLU(), L.LeakyReLU(), L.ELU(),
                                 L.ReLU(max_value=6.0), L.Softmax(), L.Activation("hard_sigmoid"),
                                 L.UnitNormalization(), L.GroupNormalization(groups=2), L.Flatten(),
                                 L.RepeatVector(2), L.Dense(2, activation="mish")], name="shapes")

    def nested() -> Any:
        inner = keras.Sequential([keras.Input((4,)), L.Dense(4, activation="elu")], name="inner")
        x = keras.Input((4,))
        return keras.Model(x, L.Dense(2)(inner(x)), name="nested")

    def ops_graph() -> Any:
        x = keras.Input((3, 4), name="x")
        y = ops.tanh(ops.add(ops.multiply(x, 2.0), 1.0))
        z = ops.matmul(y, ops.transpose(x, (0, 2, 1)))
        z = ops.softmax(ops.reshape(z, (-1, 9)))
        w = ops.where(ops.greater(z, 0.1), z, ops.zeros_like(z))
        m = ops.mean(ops.concatenate([w, ops.sqrt(ops.abs(w))], axis=-1), axis=-1, keepdims=True)
        s = ops.expand_dims(ops.squeeze(m, -1), -1)
        g = ops.cast(x[:, 1:, ::2], "float32")
        return keras.Model(x, [ops.clip(s, -1.0, 1.0), ops.cumsum(ops.exp(g), axis=1)], name="ops_graph")

    def categories() -> Any:
        t = keras.Input((3,), dtype="int32")
        return keras.Model(t, L.CategoryEncoding(6, output_mode="multi_hot")(t), name="categories")

    return {f.__name__: f for f in (mlp, cnn, up, conv1d, conv3d, recurrent, bidirectional, gru_loop, attention,
                                    embedding, merges, shapes, nested, ops_graph, categories)}


def seeds() -> list[bytes]:
    """Small .keras files of diverse models, saved by Keras in-process (deterministic weights,
    timestamps and object ids); a model this Keras cannot build is left out."""
    keras = _keras()
    out = []
    for k, (_name, build) in enumerate(sorted(_seed_models().items())):
        try:
            with _quiet():
                keras.backend.clear_session()  # layer names from 0 again: the same files every run
                keras.utils.set_random_seed(k)
                out.append(save_model(build()))
        except Exception:  # noqa: BLE001 - a seed this Keras version cannot build
            continue
    return out


# --- mutation --------------------------------------------------------------------------------------
_LAYER_POOL: list[dict[str, Any]] = []
_NAMES: dict[str, list[str]] = {}


def _names() -> dict[str, list[str]]:
    """Values to mutate strings to, by key: layer / operation class names (numlite's tables and a
    few it lacks), activations, paddings, dtypes, modules."""
    if not _NAMES:
        from numlite.converter import keras as ck
        from numlite.converter import keras_ops

        layers = sorted({*ck.LAYERS, *keras_ops.LAYERS, *ck.IDENTITIES, "InputLayer", "Masking", "TimeDistributed",
                         "Attention", "AdditiveAttention", "ConvLSTM2D", "Hashing", "Discretization",
                         "RandomFlip", "Lambda", "Functional", "Sequential", "SpectralNormalization"})
        _NAMES.update(
            class_name=layers + sorted(keras_ops.OPERATIONS),
            activation=["linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "swish", "silu", "hard_swish",
                        "gelu", "elu", "leaky_relu", "hard_sigmoid", "selu", "mish", "softplus", "exponential",
                        "log_softmax", "nope", ""],
            recurrent_activation=["sigmoid", "hard_sigmoid", "tanh", "relu", "linear"],
            padding=["same", "valid", "causal", "full", "SAME", ""],
            interpolation=["nearest", "bilinear", "bicubic", "area", "lanczos3"],
            data_format=["channels_last", "channels_first", None],
            dtype=["float32", "float16", "float64", "bfloat16", "int32", "int64", "int8", "uint8", "bool", "string",
                   "mixed_float16", "complex64"],
            module=["keras.layers", "keras", "keras.src.ops.numpy", "keras.src.ops.nn", "keras.src.ops.math",
                    "keras.src.ops.core", "keras.src.models.functional", "keras.models", "builtins",
                    "keras.initializers", "keras.src.backend.torch", "os", ""],
            merge_mode=["concat", "sum", "mul", "ave", None, "max"],
            output_mode=["one_hot", "multi_hot", "count", "tf_idf", "int"],
        )
    return _NAMES


NUMBERS = (0, 1, -1, 2, 3, 4, 5, 7, 8, 16, 255, 256, 1 << 15, 1 << 31, -(1 << 31), 1 << 62, 10 ** 30, 0.5, -0.5, 1.5,
           1e-30, 1e30, -0.0, float("nan"), float("inf"), float("-inf"))


def _nodes(doc: Any) -> list[tuple[Any, Any, Any]]:
    """Every (container, key, value) in ``doc``, breadth first (capped)."""
    out: list[tuple[Any, Any, Any]] = []
    queue = [doc]
    while queue and len(out) < 20000:
        v = queue.pop()
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        for k, x in items:
            out.append((v, k, x))
            if isinstance(x, (dict, list)):
                queue.append(x)
    return out


def _layer_dicts(doc: Any) -> list[dict[str, Any]]:
    return [x for _, _, x in _nodes(doc) if isinstance(x, dict) and "class_name" in x and isinstance(x.get("config"),
                                                                                                      dict)]


def _keras_histories(doc: Any) -> list[list[Any]]:
    return [x for c, k, x in _nodes(doc) if k == "keras_history" and isinstance(x, list)]


def _number(rng: random.Random, old: Any) -> Any:
    r = rng.random()
    if r < 0.4 and isinstance(old, (int, float)) and not isinstance(old, bool) and math.isfinite(old):
        return rng.choice((old + 1, old - 1, old * 2, -old, old // 2 if isinstance(old, int) else old / 2,
                           float(old)))
    return rng.choice(NUMBERS)


def mutate_config(doc: Any, rng: random.Random) -> Any:
    """One to three structure-aware mutations of a parsed config.json (in place where it can)."""
    names = _names()
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        nodes = _nodes(doc)
        if not nodes:
            return rng.choice(({}, [], None, 0, "x"))
        kind = rng.randrange(100)
        if kind < 25:  # a number
            nums = [(c, k, x) for c, k, x in nodes if isinstance(x, (int, float)) and not isinstance(x, bool)
                    and k not in NOT_SIZES]
            if nums:
                c, k, x = rng.choice(nums)
                c[k] = _number(rng, x)
                continue
        if kind < 50:  # a string with a meaning: class, activation, padding, dtype, module ...
            strs = [(c, k, x) for c, k, x in nodes if isinstance(x, str) or (isinstance(k, str) and k in names)]
            if strs:
                c, k, x = rng.choice(strs)
                key = k if isinstance(k, str) and k in names else None
                if key is not None:
                    c[k] = rng.choice(names[key])
                    if key == "class_name" and isinstance(c, dict) and c[k] in _op_modules():
                        c["module"] = _op_modules()[c[k]]
                        c["registered_name"] = c[k]
                    elif key == "class_name" and isinstance(c, dict) and "module" in c:
                        c["module"] = "keras.layers"
                        c["registered_name"] = None
                else:
                    others = [y for _, _, y in nodes if isinstance(y, str)]
                    c[k] = rng.choice(others + ["", "x" * rng.randrange(1, 40), "\u00e9\u0000", "../../etc"])
                continue
        if kind < 62:  # delete a key or a list element
            c, k, _ = rng.choice(nodes)
            with contextlib.suppress(IndexError, KeyError):
                del c[k]
            continue
        if kind < 70:  # a value of another type
            c, k, x = rng.choice(nodes)
            c[k] = rng.choice((None, True, [], {}, "", 0, -1, 1.5, [1, 2], {"class_name": "Dense"},
                               [x] if not isinstance(x, list) else x[:1]))
            continue
        if kind < 78:  # graph connections: a tensor taken from another layer, or another output / node index
            hist = _keras_histories(doc)
            layers = [d.get("name") or d["config"].get("name") for d in _layer_dicts(doc)]
            if hist and layers:
                h = rng.choice(hist)
                if h and rng.random() < 0.7:
                    h[0] = rng.choice(layers)
                elif len(h) > 2:
                    h[rng.choice((1, 2))] = rng.choice((0, 1, 2, -1, 5))
                continue
        if kind < 86:  # lists: duplicate, swap or drop elements (layers, shapes, inbound nodes)
            lists = [x for _, _, x in nodes if isinstance(x, list) and x]
            if lists:
                lst = rng.choice(lists)
                i, j = rng.randrange(len(lst)), rng.randrange(len(lst))
                op = rng.randrange(3)
                if op == 0:
                    lst.insert(j, copy.deepcopy(lst[i]))
                elif op == 1:
                    lst[i], lst[j] = lst[j], lst[i]
                else:
                    del lst[i]
                continue
        if kind < 94 and _LAYER_POOL:  # a layer of another model inserted into a layer list
            lists = [x for c, k, x in nodes if k == "layers" and isinstance(x, list)]
            if lists:
                lst = rng.choice(lists)
                layer = copy.deepcopy(rng.choice(_LAYER_POOL))
                layer["config"]["name"] = f"{layer['config'].get('name', 'l')}_{rng.randrange(1 << 16)}"
                if "name" in layer:
                    layer["name"] = layer["config"]["name"]
                lst.insert(rng.randrange(len(lst) + 1), layer)
                continue
        # a subtree copied over another
        (c, k, _), (_, _, y) = rng.choice(nodes), rng.choice(nodes)
        c[k] = copy.deepcopy(y)
    return doc


_OP_MODULES: dict[str, str] = {}


def _op_modules() -> dict[str, str]:
    """Keras operation class name -> its module (so that a mutated class name still deserializes)."""
    if not _OP_MODULES:
        import importlib

        from numlite.converter import keras_ops

        for mod in ("keras.src.ops.numpy", "keras.src.ops.nn", "keras.src.ops.math", "keras.src.ops.core"):
            try:
                m = importlib.import_module(mod)
            except ImportError:
                continue
            for name in keras_ops.OPERATIONS:
                if isinstance(getattr(m, name, None), type):
                    _OP_MODULES.setdefault(name, mod)
    return _OP_MODULES


def rebuild(config: Any) -> bytes | None:
    """The .keras bytes of the model ``config`` describes, built by Keras (safe mode) with fresh
    weights that fit it and saved again; None when Keras cannot build it or it is too big."""
    if config_too_big(config):
        return None
    from numlite.converter import CODE_CLASSES

    if any(isinstance(d.get("class_name"), str) and d["class_name"] in CODE_CLASSES for d in _layer_dicts(config)):
        return None
    keras = _keras()
    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:
        return None
    try:
        with _quiet(), SafeModeScope(True):
            model = keras.models.model_from_json(json.dumps(config))
            if not model.built:
                return None
            return save_model(model)
    except Exception:  # noqa: BLE001 - Keras refuses most mutants; the loader path sees those
        return None


def mutate_weights(h5: bytes, rng: random.Random) -> bytes:
    """One mutation of a model.weights.h5: a dataset of another shape / dtype / value, deleted or
    added, a group deleted; or the file's bytes truncated or flipped."""
    try:
        import h5py
    except ImportError:
        h5py = None
    if h5py is None or rng.random() < 0.15:
        b = bytearray(h5)
        if b and rng.random() < 0.5:
            del b[rng.randrange(len(b)):]
        else:
            for _ in range(rng.randrange(1, 8)):
                if b:
                    b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    buf = io.BytesIO(h5)
    try:
        with h5py.File(buf, "r+") as f:
            items: list[tuple[str, Any]] = []
            f.visititems(lambda n, o: items.append((n, o)))
            datasets = [(n, o) for n, o in items if isinstance(o, h5py.Dataset)]
            groups = [n for n, o in items if isinstance(o, h5py.Group)]
            kind = rng.randrange(10)
            if kind == 0 and groups:
                del f[rng.choice(groups)]
            elif kind == 1 and datasets:
                n, o = rng.choice(datasets)
                parent = n.rsplit("/", 1)[0] if "/" in n else ""
                f[f"{parent}/{rng.randrange(2, 9)}" if parent else "extra"] = np.asarray(o)
            elif datasets:
                n, o = rng.choice(datasets)
                w = np.asarray(o)
                del f[n]
                f[n] = _mutated_array(w, rng)
            elif groups:
                f[f"{rng.choice(groups)}/0"] = np.zeros((2, 2), np.float32)
    except Exception:  # noqa: BLE001 - an HDF5 file h5py cannot edit: left as it is
        return h5
    return buf.getvalue()


def _mutated_array(w: np.ndarray, rng: random.Random) -> Any:
    kind = rng.randrange(8)
    if kind == 0 and w.ndim:  # a dimension changed
        shape = list(w.shape)
        shape[rng.randrange(len(shape))] = rng.choice((0, 1, 2, max(shape) + 1))
        return np.resize(w, shape).astype(w.dtype)
    if kind == 1:  # a dimension more or less
        return w[None] if rng.random() < 0.5 or not w.ndim else w.reshape(-1)[: max(w.size - 1, 0)]
    if kind == 2:
        return w.astype(rng.choice((np.float64, np.float16, np.int32, np.int8, np.bool_, np.complex64)))
    if kind == 3 and w.size:
        v = w.astype(np.float32).copy()
        v.flat[rng.randrange(v.size)] = rng.choice((np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-45))
        return v
    if kind == 4:
        return np.float32(rng.random())
    if kind == 5:
        return np.zeros((0,), np.float32)
    if kind == 6:
        return "weights"
    return np.full(w.shape, rng.choice((0.0, -1.0, 1e30, np.nan)), np.float32)


def mutate_zip(files: dict[str, bytes], rng: random.Random) -> dict[str, bytes]:
    """A member deleted, duplicated under another name, replaced by junk, or a junk member added."""
    files = dict(files)
    names = list(files)
    kind = rng.randrange(5)
    if kind == 0 and names:
        del files[rng.choice(names)]
    elif kind == 1 and names:
        n = rng.choice(names)
        files[rng.choice(("config.json", "model.weights.h5", "model.weights.npz", "assets/x", "metadata.json",
                          n + "x"))] = files[n]
    elif kind == 2 and names:
        files[rng.choice(names)] = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    elif kind == 3:
        files["metadata.json"] = rng.choice((b"{}", b"[]", b"{", b'{"keras_version": "99.0.0"}',
                                             b'{"keras_version": 3}', b"\xff"))
    else:
        files[rng.choice(("assets/a.txt", "../escape.txt", "/abs.txt", "variables/x"))] = b"junk"
    return files


def _remember(doc: Any) -> None:
    """Keep up to 300 layer configs of the inputs seen (the pool of layers to insert elsewhere)."""
    if len(_LAYER_POOL) >= 300:
        return
    for d in _layer_dicts(doc):
        if d.get("class_name") not in ("Sequential", "Functional", "InputLayer") and len(_LAYER_POOL) < 300:
            _LAYER_POOL.append(copy.deepcopy(d))


def _byte_mutation(data: bytes, max_size: int, rng: random.Random) -> bytes:
    """libFuzzer's own mutation under atheris, else ``_common.mutate_bytes``."""
    return _common.libfuzzer_or_generic(data, max_size, rng.randrange(1 << 30))


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """One structure-aware mutation of the ``.keras`` file ``data`` (module docstring)."""
    rng = random.Random(seed)
    files = unzip(data)
    if files is None or rng.random() < 0.05:
        return _byte_mutation(data, max_size, rng)[:max_size]
    kind = rng.randrange(100)
    out: bytes | None = None
    if kind < 70 and "config.json" in files:
        try:
            doc = json.loads(files["config.json"])
        except (ValueError, RecursionError):
            doc = None
        if doc is None:
            files["config.json"] = _byte_mutation(files["config.json"], max_size, rng)
        else:
            _remember(doc)
            doc = mutate_config(doc, rng)
            if kind < 35:  # the mutant rebuilt by Keras: weights that fit it, so the converter sees it
                out = rebuild(doc)
            if out is None:
                files["config.json"] = json.dumps(doc).encode()
    elif kind < 88 and "model.weights.h5" in files:
        files["model.weights.h5"] = mutate_weights(files["model.weights.h5"], rng)
    else:
        files = mutate_zip(files, rng)
    if out is None:
        out = repack(files)
    if len(out) > max_size:
        return data[:max_size]
    return out


if __name__ == "__main__":  # python fuzz/fuzz_convert_keras.py [N]: seeds and N mutants each, no atheris
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for k, s in enumerate(seeds()):
        test_one_input(s)
        m = s
        for j in range(n):
            m = custom_mutator(m, 1 << 20, k * 1000 + j)
            test_one_input(m)
    print("ok")
