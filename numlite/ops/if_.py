"""IF: run the then- or the else-subgraph on inputs 1..n, as input 0 (one bool) says.

Options: ``then_subgraph_index``, ``else_subgraph_index``.

1. Prepare: both branches are prepared with the inputs' shapes; their outputs must have the
   op's output count and the same types in both branches.  When both branches give every
   output the same static shape, the outputs have it; otherwise they are dynamic and take the
   shapes of the branch that ran.
2. The branches read the op's input arrays directly (bound to them, no copy); the taken
   branch's results are copied into the outputs (or handed over, when dynamic).
3. The condition must hold exactly one element: a bool, or a number (nonzero is true), as
   LiteRT reads it.
"""

from __future__ import annotations

import numpy as np

from ._subgraph_call import SubgraphCall
from .base import PrepareContext, Step
from .registry import register


@register("IF", versions=(1,))
class If(SubgraphCall):
    options_table = "IfOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if len(ctx.inputs) < 1:
            ctx.fail("needs a condition input")
        cond = ctx.input(0)
        if cond.size != 1:
            ctx.fail(f"condition {cond.describe()} must hold exactly one element")
        specs = [ctx.input(j) for j in range(1, len(ctx.inputs))]
        n = len(ctx.outputs)
        self.then_ = self.callee(ctx, int(self.options.get("then_subgraph_index") or 0))
        self.else_ = self.callee(ctx, int(self.options.get("else_subgraph_index") or 0))
        self.prepare_callee(ctx, self.then_, specs, "then", n_outputs=n)
        self.prepare_callee(ctx, self.else_, specs, "else", n_outputs=n)
        a, b = self.output_specs(self.then_), self.output_specs(self.else_)
        self.static = True
        for j, ((sa, da, ya), (sb, db, yb)) in enumerate(zip(a, b)):
            if da is None or db is None or np.dtype(da) != np.dtype(db):
                ctx.fail(f"output {j} has type {np.dtype(da).name if da is not None else None} in the then "
                         f"subgraph {self.then_.subgraph.index} but {np.dtype(db).name if db is not None else None} "
                         f"in the else subgraph {self.else_.subgraph.index}")
            out = ctx.outputs[j]
            if out.dtype is not None and np.dtype(out.dtype) != np.dtype(da):
                ctx.fail(f"output {out.describe()} has type {np.dtype(out.dtype).name}; the branches give "
                         f"{np.dtype(da).name}")
            if sa != sb or ya or yb:
                self.static = False
        for j, (shape, dtype, _) in enumerate(a):
            if self.static:
                ctx.set_output(j, shape, dtype)
            else:
                ctx.set_output_dynamic(j, dtype)

    def bind(self, inputs, outputs, scratch) -> Step:
        then_, else_ = self.then_, self.else_
        args = inputs[1:]
        self.bind_inputs(then_, args)
        self.bind_inputs(else_, args)
        cond = inputs[0].reshape(-1)
        static = self.static
        fresh = self.fresh(then_, else_)
        reset_then, reset_else = then_ in fresh, else_ in fresh

        def step() -> None:
            ex, reset = (then_, reset_then) if cond[0] else (else_, reset_else)
            if reset:  # the branch's state starts again at every eval, as LiteRT's
                ex.reset_variables()
            ex.invoke()
            buf = ex.buffers
            for out, o in zip(outputs, ex.subgraph.outputs):
                if static:
                    np.copyto(out, buf[o])
                else:
                    out.set(buf[o], borrowed=True)

        return step
