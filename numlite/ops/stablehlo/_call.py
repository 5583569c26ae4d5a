"""Shared by STABLEHLO_CASE and STABLEHLO_COMPOSITE: run one of several prepared subgraphs on the
op's inputs and hand its results to the op's outputs (as IF does, see if_.py).

1. Every candidate subgraph is prepared with the inputs' shapes and types (``prepare_callee``);
   each must return the op's output count, with the same types in every candidate, matching
   the output tensors' declared types.
2. When every candidate gives every output the same static shape, the outputs have it;
   otherwise they are dynamic and take the shapes of the subgraph that ran.
3. The subgraphs read the op's input arrays directly; the results are copied into the outputs.
4. The subgraph that runs starts with its variable tensors reset, as LiteRT releases it after
   each eval (unless every tensor is preserved).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._subgraph_call import SubgraphCall
from ..base import PrepareContext, TensorSpec


class CallSubgraphs(SubgraphCall):
    def prepare_calls(self, ctx: PrepareContext, indices: Sequence[int], specs: Sequence[TensorSpec | None],
                      role: str) -> None:
        n = len(ctx.outputs)
        self.callees: list[Any] = []
        for index in indices:
            ex = self.callee(ctx, index)
            self.prepare_callee(ctx, ex, specs, role, n_outputs=n)
            self.callees.append(ex)
        results = [self.output_specs(ex) for ex in self.callees]
        first = results[0]
        self.static = True
        for ex, res in zip(self.callees, results):
            for j, ((shape, dtype, dyn), (shape0, dtype0, _)) in enumerate(zip(res, first)):
                if dtype is None or np.dtype(dtype) != np.dtype(dtype0):
                    ctx.fail(f"output {j} has type {np.dtype(dtype0).name} in {role} subgraph "
                             f"{self.callees[0].subgraph.index} but "
                             f"{np.dtype(dtype).name if dtype is not None else None} in {role} subgraph "
                             f"{ex.subgraph.index}")
                out = ctx.outputs[j]
                if out.dtype is not None and np.dtype(out.dtype) != np.dtype(dtype):
                    ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the {role} subgraph "
                             f"{ex.subgraph.index} gives {np.dtype(dtype).name}")
                if shape != shape0 or dyn:
                    self.static = False
        for j, (shape, dtype, _) in enumerate(first):
            if self.static:
                ctx.set_output(j, shape, dtype)
            else:
                ctx.set_output_dynamic(j, dtype)

    def bind_calls(self, args: Sequence[np.ndarray]) -> None:
        for ex in self.callees:
            self.bind_inputs(ex, args)

    def run_callee(self, ex: Any, outputs: Sequence[Any]) -> None:
        if self.release and ex.variables:  # as LiteRT, which releases the subgraph after each eval
            ex.reset_variables()
        ex.invoke()
        buf = ex.buffers
        if self.static:
            for out, o in zip(outputs, ex.subgraph.outputs):
                np.copyto(out, buf[o])
        else:
            for out, o in zip(outputs, ex.subgraph.outputs):
                out.set(buf[o], borrowed=True)
