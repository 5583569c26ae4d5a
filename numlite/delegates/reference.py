"""A delegate whose kernels are numlite's own: ``ReferenceDelegate(ops=[...])`` takes the nodes
whose op names are listed and runs each partition as one step that calls numlite's kernels in
the partition's order, on private arrays for the tensors inside it.

It computes exactly what numlite computes without it, so it shows (and the tests check) the
delegate machinery alone: partitioning, DELEGATE nodes, boundary tensors in the arena, options.
It is also the smallest complete example of a Python delegate:

1. ``supports``: a node is taken when its op name is listed (``ops``; all ops when None).
2. ``prepare`` (``DelegateKernel``'s): ``infer`` prepares the partition's nodes with numlite's
   kernels and gives every tensor's shape; the outputs get theirs.
3. ``ReferenceKernel.bind``: every tensor inside the partition gets a private array (a value
   known at prepare time is used as it is), every node's kernel is bound to the arrays, and
   the step calls them in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..graph import Operator, Subgraph
from ..ops.base import Step, chain
from . import Delegate, DelegateKernel


class ReferenceKernel(DelegateKernel):
    def bind(self, inputs: list[np.ndarray | None], outputs: list[np.ndarray], scratch: list[np.ndarray]) -> Step:
        arrays: dict[int, Any] = dict(zip(self.node.inputs, inputs))
        arrays.update(zip(self.node.outputs, outputs))
        steps = []
        for kernel, sub in self.prepared:
            op = kernel.node
            for j, o in enumerate(op.outputs):
                if o not in arrays:
                    value = sub.known_outputs.get(j)
                    spec = sub.outputs[j]
                    arrays[o] = value if value is not None else np.zeros(spec.shape, spec.dtype)
            ins = [arrays.get(i) if i >= 0 else None for i in op.inputs]
            own = [np.zeros(shape, dt) for shape, dt in sub.scratch_specs]
            steps.append(kernel.bind(ins, [arrays[o] for o in op.outputs], own))
        return chain(*steps) if steps else (lambda: None)


class ReferenceDelegate(Delegate):
    name = "numlite-reference"
    kernel_class = ReferenceKernel

    def __init__(self, options: Mapping[str, Any] | None = None, ops: Iterable[str] | None = None):
        opts = dict(options or {})
        names = opts.pop("ops", ops)
        super().__init__(opts)
        self.ops = None if names is None else {str(n) for n in names}

    def supports(self, op: Operator, subgraph: Subgraph) -> bool:
        return self.ops is None or op.op_name in self.ops
