"""Model conversion to .tflite without TensorFlow: ``numlite.convert(model)``.

Front ends turn a model into numlite's small graph IR (``ir.Graph``: tensors with shapes,
signatures and constant data, TFLite ops with their options); graph passes shared by every
front end clean it up (``ir.fuse_activations``, ``ir.remove_dead``); ``ir.Graph.build`` writes
the .tflite file with ``numlite.builder.ModelBuilder`` (a ``serving_default`` signature with
the model's input and output names).

Front end: Keras 3 models (``converter.keras``), in memory or a ``.keras`` file, read with any
installed Keras backend; conversion reads layer configurations and weights only (no TensorFlow).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ConversionError", "convert"]


class ConversionError(ValueError):
    """A model numlite cannot convert; the message names the layer and its class."""


def convert(model: Any, *, model_name: str | None = None) -> bytes:
    """The ``.tflite`` bytes of ``model``: a Keras 3 model, or the path of a ``.keras`` file."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not path.endswith(".keras"):
            raise ConversionError(f"{path!r}: numlite converts Keras 3 models (.keras files)")
        os.environ.setdefault("KERAS_BACKEND", "numpy")  # not TensorFlow, Keras's default
        try:
            import keras
        except ImportError:
            raise ImportError("converting a .keras file needs Keras 3: pip install 'numlite[convert]'") from None
        model = keras.saving.load_model(path, compile=False)
    from .keras import convert_keras

    return convert_keras(model, model_name=model_name)
