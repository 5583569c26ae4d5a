"""Op resolver: (builtin code, version) or custom name -> kernel class.

Kernels register themselves with the ``@register`` decorator in their own module;
``numlite.ops`` imports every module of the package, so adding a file adds an op.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import UnsupportedOpError
from ..graph import BUILTIN_CODES, Operator
from .base import Kernel

_BUILTINS: dict[int, tuple[type[Kernel], frozenset[int]]] = {}
_CUSTOM: dict[str, type[Kernel]] = {}


def register(op_name: str, versions: Iterable[int] = (1,), custom: bool = False):
    """Class decorator registering a kernel for a builtin op (and versions) or a custom op."""

    def deco(cls: type[Kernel]) -> type[Kernel]:
        cls.op_name = op_name
        if custom:
            _CUSTOM[op_name] = cls
        else:
            code = BUILTIN_CODES[op_name]
            if code in _BUILTINS:
                raise ValueError(f"{op_name} is registered twice")
            _BUILTINS[code] = (cls, frozenset(versions))
        return cls

    return deco


def register_op(name: str, kernel: type[Kernel]) -> None:
    """Register (or replace) a custom op kernel under its custom code ``name`` for every
    interpreter created afterwards.  (To replace a builtin's kernel, pass it to one interpreter:
    ``Interpreter(..., custom_ops={"CONV_2D": MyConv})``.)"""
    _check_kernel(name, kernel)
    kernel.op_name = name
    _CUSTOM[name] = kernel


def _check_kernel(name: str, kernel: Any) -> None:
    if not (isinstance(kernel, type) and issubclass(kernel, Kernel)):
        raise TypeError(f"the kernel for {name!r} must be a numlite.Kernel subclass, got {kernel!r}")


def supported_builtins() -> dict[str, list[int]]:
    """Builtin op name -> supported versions."""
    from ..graph import BUILTIN_OPS

    return {BUILTIN_OPS[c]: sorted(v) for c, (_, v) in sorted(_BUILTINS.items())}


def _type_names(dtypes: Iterable[Any] | None) -> list[str]:
    from ..graph import tensor_type_of

    names = []
    for d in dtypes or ():
        name = d if isinstance(d, str) else tensor_type_of(d)
        if name not in names:
            names.append(name)
    return names


def _type_support(name: str, cls: type[Kernel]) -> tuple[list[str], list[str]]:
    """(plain dtypes, quantized dtypes) of a kernel: the family attributes its base reads
    (``dtypes``; ``quantized`` or ``qdtypes``), else the declarations in ``_support.TYPES``."""
    from ._support import TYPES

    if name in TYPES:
        plain, quant = TYPES[name]
        return _type_names(plain), _type_names(quant)
    plain = getattr(cls, "dtypes", None)
    quant = getattr(cls, "quantized", None) or getattr(cls, "qdtypes", None)
    return _type_names(plain), _type_names(quant)


def supported_ops() -> list[dict[str, Any]]:
    """Every operator numlite runs, sorted by name: ``{"op", "custom", "versions", "dtypes",
    "quantized"}``.  ``dtypes``: TFLite type names of the plain (float / integer / bool / string)
    forms; ``quantized``: the types with a quantized form (scale and zero point), bit-exact with
    LiteRT's reference kernels.  Custom ops are those registered globally (``register_op`` and
    the ``numlite.custom`` modules' ``register()``); ``versions`` is ``[1]`` for them."""
    from ..graph import BUILTIN_OPS

    rows = []
    for code, (cls, versions) in _BUILTINS.items():
        name = BUILTIN_OPS[code]
        plain, quant = _type_support(name, cls)
        rows.append({"op": name, "custom": False, "versions": sorted(versions), "dtypes": plain, "quantized": quant})
    for name, cls in _CUSTOM.items():
        plain, quant = _type_support(name, cls)
        rows.append({"op": name, "custom": True, "versions": [1], "dtypes": plain, "quantized": quant})
    return sorted(rows, key=lambda r: (r["custom"], r["op"]))


class OpResolver:
    """Looks kernels up: the global registry, plus this resolver's own additions.

    ``custom_ops``: ``{name: Kernel subclass}``; a name that is a builtin operator's
    (``"CONV_2D"``) replaces numlite's kernel for that builtin (every version) in this resolver
    only, any other name adds or replaces a custom op.  ``add_custom`` / ``add_builtin`` do the
    same one at a time (what LiteRT's ``AddCustom`` / ``AddBuiltin`` do for its registerers)."""

    def __init__(self, custom_ops: dict[str, type[Kernel]] | None = None):
        self.custom = dict(_CUSTOM)
        self.builtins: dict[int, tuple[type[Kernel], frozenset[int] | None]] = {}
        for name, kernel in (custom_ops or {}).items():
            if name in self.builtin_names():
                self.add_builtin(name, kernel)
            else:
                self.add_custom(name, kernel)

    @staticmethod
    def builtin_names() -> set[str]:
        return {n for n in BUILTIN_CODES if n != "CUSTOM"}

    def add_custom(self, name: str, kernel: type[Kernel]) -> None:
        """Run custom ops whose custom code is ``name`` with ``kernel`` (in this resolver)."""
        _check_kernel(name, kernel)
        self.custom[name] = kernel

    def add_builtin(self, op_name: str, kernel: type[Kernel], versions: Iterable[int] | None = None) -> None:
        """Run builtin ``op_name`` (``versions``, default every version) with ``kernel`` instead of
        numlite's own, in this resolver only."""
        if op_name not in BUILTIN_CODES or op_name == "CUSTOM":
            raise ValueError(f"{op_name!r} is not a builtin operator name")
        _check_kernel(op_name, kernel)
        self.builtins[BUILTIN_CODES[op_name]] = (kernel, None if versions is None else frozenset(versions))

    def find(self, op: Operator) -> type[Kernel] | None:
        if op.custom_code is not None and op.op_name == op.custom_code:
            return self.custom.get(op.custom_code)
        own = self.builtins.get(op.builtin_code)
        if own is not None and (own[1] is None or op.version in own[1]):
            return own[0]
        entry = _BUILTINS.get(op.builtin_code)
        if entry is None or op.version not in entry[1]:
            return None
        return entry[0]

    def resolve_all(self, operators: list[Operator], subgraph: int = 0) -> list[type[Kernel]]:
        """Kernel classes for every node; one error listing every missing (op, version)."""
        found, missing = [], {}
        for op in operators:
            k = self.find(op)
            if k is None:
                missing.setdefault((op.op_name, op.version, op.custom_code is not None), []).append(op.index)
            found.append(k)
        if missing:
            lines, listed = [], []
            for (name, ver, is_custom), nodes in missing.items():
                if is_custom:
                    why = "custom op not registered (numlite.register_op adds one)"
                else:
                    have = _BUILTINS.get(BUILTIN_CODES.get(name, -1))
                    why = (f"supported versions: {sorted(have[1])}" if have else "op not implemented")
                lines.append(f"  {name} version {ver} at node(s) {nodes} of subgraph {subgraph}: {why}")
                listed.append((name, ver, nodes))
            raise UnsupportedOpError(
                f"numlite cannot run this model: {len(missing)} unsupported operator(s):\n" + "\n".join(lines),
                listed,
            )
        return found
