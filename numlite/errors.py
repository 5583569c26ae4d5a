"""Exceptions raised by numlite."""

from __future__ import annotations


class ModelError(ValueError):
    """A model file is truncated, corrupt, hostile or otherwise unusable.

    The message says what is wrong and where (the schema path of the field and its byte
    offset when the problem is in the FlatBuffer itself).
    """


class UnsupportedOpError(ModelError):
    """The model uses operators (or operator versions) that numlite has no kernel for.

    ``missing`` lists ``(op_name, version, [node indices])`` for every such operator.
    """

    def __init__(self, message: str, missing: list[tuple[str, int, list[int]]]):
        super().__init__(message)
        self.missing = missing


class ModelTypeError(ModelError, TypeError):
    """The model was given as something other than bytes (or a path): a ``ModelError`` that
    is also the ``TypeError`` LiteRT raises for it."""


class ResizeError(RuntimeError, ValueError):
    """``resize_tensor_input`` refused a shape.  LiteRT raises RuntimeError here; numlite's
    earlier releases raised ValueError, so this is both."""


class InvokeCancelled(RuntimeError):
    """``Interpreter.cancel()`` stopped the running ``invoke()`` (numlite extension; LiteRT's C++
    ``Interpreter::Cancel`` returns ``kTfLiteCancelled`` there)."""


class InterpreterBusyError(RuntimeError):
    """An interpreter was used while another call on it had not returned: from a second thread
    during ``invoke()``, or from inside one of its own kernels.  One interpreter serves one
    thread at a time."""
