"""Op kernels: one module per op (or tight family), each registering its kernels with ``@register``.

The kernel modules are imported lazily: the op registry imports a module the first time a model
needs one of its ops (``numlite.ops._index`` says which module that is), so importing this package
imports no kernel.  ``numlite.ops.<module>`` attribute access imports the module as well.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Kernel, PrepareContext, PrepareError, TensorSpec
from .registry import OpResolver, register, register_op

__all__ = ["Kernel", "OpResolver", "PrepareContext", "PrepareError", "TensorSpec", "register", "register_op"]


def __getattr__(name: str) -> Any:
    """``numlite.ops.conv_2d`` and the like: import the submodule on first access."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
