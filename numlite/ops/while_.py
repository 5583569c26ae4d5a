"""WHILE: run the body subgraph while the cond subgraph says true; the loop variables are the op's
inputs, then the body's outputs, and finally the op's outputs.

Options: ``cond_subgraph_index``, ``body_subgraph_index``.  Both subgraphs take the loop
variables (any types, resource handles and strings included); cond returns one bool, the body
returns the next loop variables, of the same types.

1. Prepare: the cond and body subgraphs are prepared with the inputs' shapes.  A body output
   whose type differs from its loop variable's is an error (naming op, node and tensors).  When
   every body output has its loop variable's shape (and none is dynamic), the loop is static:
   the outputs have the inputs' shapes.  Otherwise the outputs are dynamic.
2. Static loop: the op's output arrays hold the loop variables.  cond and body read them
   directly (their inputs are bound to them, no copy); each iteration copies the body's results
   into them (one copy per variable, as TFLite does; variables the body passes through
   unchanged are not copied, and results that are other variables' inputs are read before any
   is written).
3. Dynamic loop: the loop variables are arrays of their own; when an iteration changes a shape,
   cond and body are prepared again for it (as TFLite re-prepares bodies with dynamic tensors),
   and the last values become the outputs.
4. Variable tensors of cond and body (an LSTM's state) carry from one iteration to the next
   and start again from their initial values at the next eval of the op, as in LiteRT (which
   releases the subgraphs after each eval), unless every tensor is preserved.
5. The loop checks for nothing but cond: a loop that never ends runs until interrupted.
   Ctrl-C (KeyboardInterrupt) stops it between iterations, and the interpreter stays usable:
   the next invoke starts again from the inputs.
"""

from __future__ import annotations

import numpy as np

from .. import executor
from ._subgraph_call import SubgraphCall
from .base import DynamicOutput, PrepareContext, Step
from .registry import register


@register("WHILE", versions=(1,))
class While(SubgraphCall):
    options_table = "WhileOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        n = len(ctx.inputs)
        if len(ctx.outputs) != n:
            ctx.fail(f"has {n} loop variables (inputs) but {len(ctx.outputs)} outputs")
        specs = [ctx.input(j) for j in range(n)]
        self.cond = self.callee(ctx, int(self.options.get("cond_subgraph_index") or 0))
        self.body = self.callee(ctx, int(self.options.get("body_subgraph_index") or 0))
        if self.cond is self.body:
            ctx.fail("uses the same subgraph as cond and body")
        self.prepare_callee(ctx, self.body, specs, "body", n_outputs=n)
        outs = self.output_specs(self.body)
        for j, ((_, dtype, _), spec) in enumerate(zip(outs, specs)):
            if dtype is None or np.dtype(dtype) != np.dtype(spec.dtype):
                o = self.body.subgraph.outputs[j]
                ctx.fail(f"body subgraph {self.body.subgraph.index} turns loop variable {j} ({spec.describe()}) "
                         f"into tensor {o} '{self.body.subgraph.tensors[o].name}' of type "
                         f"{np.dtype(dtype).name if dtype is not None else 'unknown'}; a WHILE loop variable "
                         "keeps its type")
        self.static = all(shape == tuple(spec.shape) and not dyn for (shape, _, dyn), spec in zip(outs, specs))
        self.prepare_callee(ctx, self.cond, specs, "cond", n_outputs=1)
        self._check_cond(ctx)
        for j, spec in enumerate(specs):
            if self.static:
                ctx.set_output(j, spec.shape, spec.dtype)
            else:
                ctx.set_output_dynamic(j, spec.dtype)
        body_in, body_out = self.body.subgraph.inputs, self.body.subgraph.outputs
        # loop variable j's next value is body input k's current one: read before writing
        self.passthrough = {j for j, o in enumerate(body_out) if o == body_in[j]}
        self.aliased = [j for j, o in enumerate(body_out) if o in body_in and o != body_in[j]]

    def _check_cond(self, ctx: PrepareContext) -> None:
        o = self.cond.subgraph.outputs[0]
        if np.dtype(self.cond.dtypes[o] or np.float32) != np.bool_ or int(np.prod(self.cond.shapes[o])) != 1:
            ctx.fail(f"cond subgraph {self.cond.subgraph.index} must return one bool, not tensor {o} of type "
                     f"{self.cond.subgraph.tensors[o].type_name} and shape {list(self.cond.shapes[o])}")

    def bind(self, inputs, outputs, scratch) -> Step:
        cond, body = self.cond, self.body
        cond_out = cond.subgraph.outputs[0]
        body_out = body.subgraph.outputs
        if not self.static:
            return self._dynamic_step(inputs, outputs)
        state = outputs
        self.bind_inputs(cond, state)
        self.bind_inputs(body, state)
        copies = [j for j in range(len(state)) if j not in self.passthrough]
        aliased, plain = self.aliased, [j for j in copies if j not in self.aliased]
        cbuf, bbuf = cond.buffers, body.buffers
        fresh = self.fresh(cond, body)

        def step() -> None:
            for ex in fresh:
                ex.reset_variables()
            for x, s in zip(inputs, state):
                np.copyto(s, x)
            while True:
                cond.invoke()
                if not cbuf[cond_out].reshape(-1)[0]:
                    return
                body.invoke()
                held = [np.array(bbuf[body_out[j]]) for j in aliased]
                for j in plain:
                    np.copyto(state[j], bbuf[body_out[j]])
                for j, v in zip(aliased, held):
                    np.copyto(state[j], v)

        return step

    def _dynamic_step(self, inputs, outputs: list[DynamicOutput]) -> Step:
        cond, body = self.cond, self.body
        cond_out = cond.subgraph.outputs[0]
        body_out = body.subgraph.outputs
        op = self
        fresh = self.fresh(cond, body)

        def step() -> None:
            for ex in fresh:
                ex.reset_variables()
            state = [np.array(x) for x in inputs]
            while True:
                op.bind_inputs(cond, state)
                cond.invoke()
                if not cond.buffers[cond_out].reshape(-1)[0]:
                    break
                op.bind_inputs(body, state)
                body.invoke()
                nxt = [body.buffers[o] for o in body_out]
                for j, v in enumerate(nxt):
                    if v.dtype != state[j].dtype:
                        raise RuntimeError(f"WHILE (node {op.node.index}): body subgraph {body.subgraph.index} "
                                           f"changed loop variable {j} from {state[j].dtype} to {v.dtype}")
                size = sum(v.nbytes for v in nxt)
                if size > executor.CHECK_AVAILABLE_BYTES and size > executor.memory_available():
                    raise RuntimeError(f"WHILE (node {op.node.index}): the loop variables grew to {size} bytes, more "
                                       f"than the {executor.memory_available()} bytes of memory available now")
                new = [np.array(v) for v in nxt]  # read every result before any input changes
                for j, v in enumerate(new):
                    if v.shape == state[j].shape:
                        np.copyto(state[j], v)
                    else:
                        state[j] = v
            for out, v in zip(outputs, state):
                out.set(v)

        return step
