"""Shared base of the control-flow ops (WHILE, IF, CALL_ONCE, CALL): calling other subgraphs.

1. Each called subgraph runs on an executor from the interpreter's ``Runtime``
   (``executor_for_call``): the subgraph's shared executor for its first caller, a private one
   for any other, so every call site keeps the shapes it was prepared with.
2. ``prepare_callee`` gives the callee's inputs the caller's shapes and checks their dtypes
   (a mismatch is an error naming the op, node, subgraph and tensor), then prepares and plans
   the callee.  The callee's input tensors are later bound straight to the caller's arrays
   (``SubgraphExecutor.rebind_inputs``): inputs cross the boundary without a copy.
3. Results are copied out of the callee's arena into the caller's outputs (one copy per
   output and call), or handed over whole when the caller's outputs are dynamic.
4. A WHILE's or IF's subgraphs start every eval of the op with their variable tensors reset
   (LiteRT releases them after each eval, unless ``experimental_preserve_all_tensors``):
   ``fresh``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import Kernel, PrepareContext, TensorSpec


class SubgraphCall(Kernel):
    fusion_host = False  # its outputs are written by the called subgraphs' executors
    foldable = False

    def __init__(self, node: Any, options: Any):
        super().__init__(node, options)
        self._callees: dict[int, Any] = {}  # subgraph index -> the executor this node calls
        self.release = True

    def fresh(self, *callees: Any) -> list[Any]:
        """The callees whose variable tensors start again from their initial values at every
        eval of this op (as LiteRT, which releases the subgraphs after each eval: the state of an
        LSTM in a loop body carries across iterations, not invokes); none when every tensor is
        preserved (LiteRT then releases nothing)."""
        return [ex for ex in callees if self.release and ex.variables]

    def callee(self, ctx: PrepareContext, index: int) -> Any:
        cache = self._callees
        ex = cache.get(index)
        if ex is None:
            if ctx.runtime is None:
                ctx.fail("needs the interpreter's runtime to call other subgraphs")
            n = len(ctx.runtime.model.subgraphs)
            if not 0 <= index < n:
                ctx.fail(f"calls subgraph {index}, but the model has {n}")
            #: LiteRT releases a WHILE's / IF's subgraphs after each eval (their variables start
            #: again from their initial values at the next) unless every tensor is preserved
            self.release = ctx.runtime.release_callees
            ex = ctx.runtime.executor_for_call(index)
            if ex is None:
                ctx.fail(f"calls subgraph {index}, but the model's control flow already needs more than "
                         "4096 subgraph instances (subgraphs shared by several callers at many levels)")
            cache[index] = ex
        return ex

    def prepare_callee(self, ctx: PrepareContext, ex: Any, specs: Sequence[TensorSpec | None], role: str,
                       n_outputs: int | None = None) -> None:
        """Give ``ex``'s inputs the shapes of ``specs`` (checking count and dtypes), then allocate it."""
        sg = ex.subgraph
        if len(sg.inputs) != len(specs):
            ctx.fail(f"passes {len(specs)} tensors to its {role} subgraph {sg.index}, which has {len(sg.inputs)} "
                     "inputs")
        if n_outputs is not None and len(sg.outputs) != n_outputs:
            ctx.fail(f"expects {n_outputs} outputs from its {role} subgraph {sg.index}, which has "
                     f"{len(sg.outputs)}")
        for j, (i, spec) in enumerate(zip(sg.inputs, specs)):
            if spec is None:
                ctx.fail(f"input {j} for its {role} subgraph {sg.index} is missing")
            want = ex.dtypes[i]
            if want is None or np.dtype(want) != np.dtype(spec.dtype):
                t = sg.tensors[i]
                ctx.fail(f"passes {spec.describe()} of type {np.dtype(spec.dtype).name} to input {j} of its {role} "
                         f"subgraph {sg.index}, tensor {i} '{t.name}' of type {t.type_name}")
        shapes = [tuple(spec.shape) for spec in specs]
        if ex.allocated and [tuple(ex.shapes[i]) for i in sg.inputs] == shapes:
            return  # prepared for these shapes already (IF's two branches may be one subgraph)
        for i, shape in zip(sg.inputs, shapes):
            ex.shapes[i] = shape
        ex.external = {}
        # the subgraphs being prepared, caller first: a callee among them is a call cycle.  The
        # loader refuses the cycles it can see in the options (graph._check_calls); this also
        # catches an op whose options table is missing, whose kernel then calls subgraph 0
        chain: list[int] = vars(ctx.runtime).setdefault("preparing_calls", [])
        if sg.index in chain:
            path = " -> ".join(map(str, [*chain[chain.index(sg.index):], sg.index]))
            ctx.fail(f"calls its {role} subgraph {sg.index}, which is already being prepared: the subgraphs call "
                     f"each other in a cycle ({path})")
        chain.append(sg.index)
        try:
            ex.allocate()
        finally:
            chain.pop()
        self._check_outputs_written(ctx, ex, role)

    @staticmethod
    def _check_outputs_written(ctx: PrepareContext, ex: Any, role: str) -> None:
        """Every output of the callee must get a value: be one of its inputs, a constant or
        variable, or written by one of its ops (a tensor nothing writes has no data, and copying
        it into the caller's outputs would fail in the middle of an invoke)."""
        sg = ex.subgraph
        inputs = set(sg.inputs)
        for k, o in enumerate(sg.outputs):
            if o in inputs or o in ex.dyn or ex.buffers[o] is not None:
                continue
            t = sg.tensors[o]
            ctx.fail(f"output {k} of its {role} subgraph {sg.index}, tensor {o} '{t.name}', is never written (not an "
                     "input, a constant or any op's output)")

    @staticmethod
    def output_specs(ex: Any) -> list[tuple[tuple[int, ...], Any, bool]]:
        """(shape, dtype, dynamic) of each of the callee's outputs after its allocate."""
        return [(tuple(ex.shapes[o]), ex.dtypes[o], o in ex.dyn) for o in ex.subgraph.outputs]

    @staticmethod
    def bind_inputs(ex: Any, arrays: Sequence[np.ndarray]) -> None:
        ex.rebind_inputs(dict(zip(ex.subgraph.inputs, arrays)))
