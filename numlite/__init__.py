"""numlite: a TensorFlow Lite runtime on NumPy, a drop-in for LiteRT's Python interpreter."""

from __future__ import annotations

# Kernels are imported lazily, when a model first needs them (numlite.ops.registry); so are the
# custom ops LiteRT's resolver has built in (numlite.custom._litert_defaults).
from .delegates import Delegate, DelegateKernel, load_delegate
from .errors import InterpreterBusyError, InvokeCancelled, ModelError, UnsupportedOpError
from .graph import Model, load_model
from .interpreter import Interpreter, InterpreterWithCustomOps, OpResolverType, SignatureRunner
from .ops.base import Kernel, PrepareContext, PrepareError, TensorSpec
from .ops.registry import OpResolver, register_op, supported_ops

__version__ = "0.1.0"


def convert(model: object, **kwargs: object) -> bytes:
    """A Keras 3 model (or a ``.keras`` file's path) as ``.tflite`` bytes, without TensorFlow
    (``numlite.converter``; needs ``pip install 'numlite[convert]'`` for ``.keras`` files)."""
    from .converter import convert as _convert

    return _convert(model, **kwargs)  # type: ignore[arg-type]


__all__ = [
    "Delegate", "DelegateKernel", "convert",
    "Interpreter", "InterpreterBusyError", "InterpreterWithCustomOps", "InvokeCancelled",
    "Kernel", "Model", "ModelError", "OpResolver", "OpResolverType",
    "PrepareContext", "PrepareError", "SignatureRunner", "TensorSpec", "UnsupportedOpError", "load_model",
    "load_delegate", "register_op", "supported_ops",
]
