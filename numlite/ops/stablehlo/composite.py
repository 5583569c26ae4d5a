"""STABLEHLO_COMPOSITE: run the decomposition subgraph on the op's inputs, version 1 (as CALL).

Options (``StableHLOCompositeOptions``): ``name``, ``decomposition_subgraph_index``,
``composite_attributes`` (FlexBuffers), ``composite_attributes_format``, ``version``.

1. The composite's name, attributes and version describe the high-level op for runtimes that
   implement it natively; like LiteRT's builtin kernel, numlite runs the decomposition, which
   defines the semantics, and does not read the attributes (kept as bytes in ``attributes``).
2. At least one input (LiteRT's check); the decomposition must take the op's inputs and return
   its outputs (counts and types as in _call).
"""

from __future__ import annotations

from ..base import PrepareContext, Step
from ..registry import register
from ._call import CallSubgraphs


@register("STABLEHLO_COMPOSITE", versions=(1,))
class StablehloComposite(CallSubgraphs):
    options_table = "StableHLOCompositeOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if len(ctx.inputs) < 1:
            ctx.fail("needs at least one input")
        o = self.options
        self.name = o.get("name") or ""
        attrs = o.get("composite_attributes")
        self.attributes = bytes(attrs) if attrs is not None else b""
        specs = [ctx.input(j) for j in range(len(ctx.inputs))]
        self.prepare_calls(ctx, [int(o.get("decomposition_subgraph_index") or 0)], specs, "decomposition")

    def bind(self, inputs, outputs, scratch) -> Step:
        self.bind_calls(inputs)
        ex, run = self.callees[0], self.run_callee
        return lambda: run(ex, outputs)
