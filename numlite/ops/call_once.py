"""CALL_ONCE: run the init subgraph (no inputs, no outputs) the first time the node runs.

Options: ``init_subgraph_index``.  TensorFlow's converter uses it to give resource variables
and hash tables their initial values.  "Once" is per interpreter: the subgraph runs again only
after ``Interpreter.reset_resource_variables()``, which forgets those resources.
"""

from __future__ import annotations

from ._subgraph_call import SubgraphCall
from .base import PrepareContext, Step
from .registry import register


@register("CALL_ONCE", versions=(1,))
class CallOnce(SubgraphCall):
    options_table = "CallOnceOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if ctx.inputs or ctx.outputs:
            ctx.fail(f"takes no inputs and gives no outputs (has {len(ctx.inputs)} and {len(ctx.outputs)})")
        self.init = self.callee(ctx, int(self.options.get("init_subgraph_index") or 0))
        self.prepare_callee(ctx, self.init, [], "init", n_outputs=0)
        self.key = (ctx.subgraph, self.node.index)
        self.runtime = ctx.runtime

    def bind(self, inputs, outputs, scratch) -> Step:
        init, key, done = self.init, self.key, self.runtime.called_once

        def step() -> None:
            if key not in done:
                init.invoke()
                done.add(key)

        return step
