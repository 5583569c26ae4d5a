"""Op resolver: (builtin code, version) or custom name -> kernel class.

Kernels register themselves with the ``@register`` decorator in their own module;
``numlite.ops`` imports every module of the package, so adding a file adds an op.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    """Register (or replace) a custom op kernel under its custom code ``name``."""
    kernel.op_name = name
    _CUSTOM[name] = kernel


def supported_builtins() -> dict[str, list[int]]:
    """Builtin op name -> supported versions."""
    from ..graph import BUILTIN_OPS

    return {BUILTIN_OPS[c]: sorted(v) for c, (_, v) in sorted(_BUILTINS.items())}


class OpResolver:
    """Looks kernels up; ``custom_ops`` adds or overrides custom ops for one interpreter."""

    def __init__(self, custom_ops: dict[str, type[Kernel]] | None = None):
        self.custom = dict(_CUSTOM)
        if custom_ops:
            self.custom.update(custom_ops)

    def find(self, op: Operator) -> type[Kernel] | None:
        if op.custom_code is not None and op.op_name == op.custom_code:
            return self.custom.get(op.custom_code)
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
