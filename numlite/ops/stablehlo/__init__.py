"""StableHLO ops as LiteRT 2.3 runs them (``STABLEHLO_*`` builtins): one module per op.

Importing the package registers every module in it (private ``_*`` helpers excepted), as
``numlite.ops`` does for its own folder.
"""

from __future__ import annotations

import importlib
import pkgutil

for _m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _m.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_m.name}")
