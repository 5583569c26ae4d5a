"""Model conversion to .tflite without TensorFlow: ``numlite.convert(model)``.

Front ends turn a model into numlite's small graph IR (``ir.Graph``: tensors with shapes,
signatures and constant data, TFLite ops with their options); graph passes shared by every
front end (``converter.passes``: constant folding, identity removal, transpose cancelling,
scale-shift folding, activation fusion, dead code, constant dedupe) clean it up;
``ir.Graph.build`` writes the .tflite file with ``numlite.builder.ModelBuilder`` (a
``serving_default`` signature with the model's input and output names), and ``convert`` adds
TFLite metadata when asked (``numlite.metadata``).

Front end: Keras 3 models (``converter.keras``, ``converter.keras_ops``), in memory or a ``.keras`` file, read with any
installed Keras backend; conversion reads layer configurations and weights only (no TensorFlow).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ConversionError", "KerasFileError", "convert"]


class ConversionError(ValueError):
    """A model numlite cannot convert; the message names the layer and its class."""


class KerasFileError(ConversionError):
    """A ``.keras`` file Keras cannot load: missing, not a zip archive, truncated, corrupt,
    hostile (Python code in a ``Lambda``), or saved by an incompatible Keras.  The message names
    the file and says what Keras (or numlite's check before it) found; the original exception, if
    any, is the ``__cause__``."""


#: class names whose configuration carries code that loading runs (a Lambda's marshalled bytecode,
#: a pickled torch module, an outside SavedModel): refused before Keras reads the file, whatever
#: its safe mode (numlite converts none of them)
CODE_CLASSES = frozenset({"Lambda", "__lambda__", "TorchModuleWrapper", "TFSMLayer"})
#: the largest config.json read (a real model's is kilobytes)
MAX_CONFIG_BYTES = 64 << 20


def _refuse_code(path: str) -> None:
    """Refuse a ``.keras`` file whose ``config.json`` names a class that carries code.

    Keras's safe mode (which ``convert`` always asks for) refuses to deserialize a lambda; this
    check is the second lock: it reads the configuration itself (iteratively: any depth), so a
    hostile file never reaches a deserializer that might run it.  A file without a readable
    ``config.json`` is left to Keras, whose error ``convert`` reports.
    """
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            if z.getinfo("config.json").file_size > MAX_CONFIG_BYTES:  # zipfile reads no more than it says
                raise KerasFileError(f"{path!r}: config.json of {z.getinfo('config.json').file_size} bytes "
                                     f"(at most {MAX_CONFIG_BYTES} read)")
            text = z.read("config.json")
        config = json.loads(text)
    except KerasFileError:
        raise
    except Exception:  # noqa: BLE001 - Keras reads the file next and says what is wrong with it
        return
    stack = [config]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            cls = v.get("class_name")
            if isinstance(cls, str) and cls in CODE_CLASSES:
                inner = v.get("config")
                name = inner.get("name") if isinstance(inner, dict) else None
                what = f"layer {name!r} ({cls})" if name else f"a {cls} object"
                raise KerasFileError(f"{path!r}: {what} carries code that loading would run; numlite neither "
                                     "loads nor converts it")
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _safe_mode() -> contextlib.AbstractContextManager[Any]:
    """Keras's safe mode for this thread, whatever ``keras.config.enable_unsafe_deserialization()``
    set: Keras lets that global switch override ``load_model(safe_mode=True)`` (its deserializer
    takes the thread's flag first), so ``safe_mode=True`` alone would load, and run, a Lambda's
    code in a process that once turned the switch on.  ``SafeModeScope`` is Keras's own scope for
    the flag (not public API: where it is missing, ``_refuse_code`` still stands)."""
    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:
        return contextlib.nullcontext()
    return SafeModeScope(True)


def load_keras_file(path: str) -> Any:
    """The Keras model in ``.keras`` file ``path``, read in Keras's safe mode (no Python code in
    the file is ever run); any failure to read it is a :class:`KerasFileError` naming the file."""
    import zipfile

    if not os.path.isfile(path):
        raise KerasFileError(f"{path!r}: no such file")
    if not zipfile.is_zipfile(path):  # Keras would say "File not found" of it
        raise KerasFileError(f"cannot read {path!r} as a Keras model: not a zip archive (a .keras file is one)")
    _refuse_code(path)
    os.environ.setdefault("KERAS_BACKEND", "numpy")  # not TensorFlow, Keras's default
    try:
        import keras
    except ImportError:
        raise ImportError("converting a .keras file needs Keras 3: pip install 'numlite[convert]'") from None
    try:
        with _safe_mode():
            return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001 - Keras raises anything (KeyError, TypeError, OSError ...) here
        lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
        first = lines[0] if lines else ""
        if len(first) > 300:
            first = first[:300] + " ..."
        raise KerasFileError(f"cannot read {path!r} as a Keras model: {type(e).__name__}"
                             + (f": {first}" if first else "")) from e


def convert(model: Any, *, model_name: str | None = None, description: str | None = None,
            author: str | None = None, version: str | None = None, license: str | None = None,
            labels: Sequence[str] | None = None, input_mean: float | Sequence[float] | None = None,
            input_std: float | Sequence[float] | None = None) -> bytes:
    """The ``.tflite`` bytes of ``model``: a Keras 3 model, or the path of a ``.keras`` file.

    TFLite metadata (``numlite.metadata``; what tflite-support's metadata writers add, and what
    LiteRT's task libraries and ``numlite inspect`` read) is written when any of its fields is
    given: ``model_name`` (default: the Keras model's name), ``description``, ``author``,
    ``version``, ``license``; ``input_mean`` / ``input_std`` (one value, or one per channel) as
    every float input's ``NormalizationOptions`` (the input the model expects is
    ``(x - mean) / std`` of the raw value); ``labels`` as a ``labels.txt`` label file
    (``TENSOR_AXIS_LABELS``) of the first output, whose last dimension must have one entry per
    label.  Without them the file has no metadata, as TensorFlow's converter writes it.

    A ``.keras`` file is read in Keras's safe mode, and refused first if its configuration holds
    a class that carries code (a ``Lambda``): nothing in the file is run.  A file Keras
    cannot load raises :class:`KerasFileError` (a ``ConversionError``) naming the file; a model
    that loads but does not convert raises ``ConversionError`` naming the layer.
    """
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not path.endswith(".keras"):
            raise ConversionError(f"{path!r}: numlite converts Keras 3 models (.keras files)")
        model = load_keras_file(path)
    from .keras import convert_keras

    data = convert_keras(model, model_name=model_name)
    wanted = (model_name, description, author, version, license, labels, input_mean, input_std)
    if all(v is None for v in wanted):
        return data
    return _with_metadata(data, name=model_name or str(getattr(model, "name", "") or ""),
                          description=description or "", author=author or "", version=version or "",
                          license=license or "", labels=labels, mean=input_mean, std=input_std)


def _values(what: str, v: float | Sequence[float] | None, channels: int) -> list[float] | None:
    if v is None:
        return None
    vals = [float(x) for x in np.atleast_1d(np.asarray(v, np.float64)).ravel()]
    if len(vals) not in (1, channels):
        raise ConversionError(f"{what} has {len(vals)} values: give one, or one per input channel ({channels})")
    if not all(np.isfinite(vals)):
        raise ConversionError(f"{what} must be finite, got {vals}")
    if what == "input_std" and any(x == 0 for x in vals):
        raise ConversionError(f"input_std must not be 0, got {vals}")
    return vals


def _with_metadata(data: bytes, *, name: str, description: str, author: str, version: str, license: str,
                   labels: Sequence[str] | None, mean: Any, std: Any) -> bytes:
    from .. import metadata as md
    from ..graph import load_model

    sg = load_model(model_content=data).subgraphs[0]
    inputs, outputs = [], []
    for i in sg.inputs:
        t = sg.tensors[i]
        tm = md.TensorMetadata(name=t.name)
        if np.dtype(t.dtype) == np.float32:
            channels = int(t.shape[-1]) if len(t.shape) else 1
            tm.mean, tm.std = _values("input_mean", mean, channels), _values("input_std", std, channels)
            if tm.mean is not None and tm.std is None:
                tm.std = [1.0]
            if tm.std is not None and tm.mean is None:
                tm.mean = [0.0]
            if len(t.shape) == 4 and channels in (1, 3):
                tm.content, tm.color_space = "image", "RGB" if channels == 3 else "GRAYSCALE"
            else:
                tm.content = "feature"
        inputs.append(tm)
    files: dict[str, bytes] = {}
    for k, o in enumerate(sg.outputs):
        t = sg.tensors[o]
        tm = md.TensorMetadata(name=t.name, content="feature")
        if k == 0 and labels is not None:
            labels = [str(x) for x in labels]
            if any("\n" in x or "\r" in x for x in labels):
                raise ConversionError("a label must not contain a line break")
            size = int(t.shape[-1]) if len(t.shape) else 1
            if len(labels) != size:
                raise ConversionError(f"{len(labels)} labels for output {t.name!r}, whose last dimension has "
                                      f"{size} entries")
            tm.associated_files = [md.AssociatedFile("labels.txt", "labels of the output's classes",
                                                     "TENSOR_AXIS_LABELS")]
            files["labels.txt"] = ("\n".join(labels) + "\n").encode()
        outputs.append(tm)
    meta = md.ModelMetadata(name=name, description=description, version=version, author=author, license=license,
                            subgraphs=[md.SubGraphMetadata(inputs=inputs, outputs=outputs)])
    return md.populate(data, meta, files or None)
