"""Keras 3 front end, part two: attention layers and Keras operations called in functional
models (``keras.ops.*`` applied to Keras tensors, which appear in a Functional model's graph as
``Operation`` nodes rather than layers).

``LAYERS`` (merged into ``converter.keras.LAYERS``) and ``OPERATIONS`` (looked up for graph
nodes that are not Layers, by class name) map a class name to a function writing its ops, with
the same ``_Ctx`` interface as the layer converters in ``converter.keras``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .keras import _Ctx

LAYERS: dict[str, Callable[[_Ctx], list[int]]] = {}
OPERATIONS: dict[str, Callable[[_Ctx], list[int]]] = {}
