"""Op kernels.  Importing this package registers every kernel module in it."""

from __future__ import annotations

import importlib
import pkgutil

from .base import Kernel, PrepareContext, PrepareError, TensorSpec
from .registry import OpResolver, register, register_op

_SKIP = {"base", "registry", "common"}
for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _m.name not in _SKIP and not _m.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["Kernel", "OpResolver", "PrepareContext", "PrepareError", "TensorSpec", "register", "register_op"]
