"""STABLEHLO_CASE: run the branch subgraph that input 0 selects on inputs 1..n, version 1.

Option (``StablehloCaseOptions``): ``branch_subgraph_indices`` (at least one).

1. Input 0 is one int32 element (LiteRT's check).  An index outside ``[0, branches)`` selects the
   last branch (StableHLO's rule, and LiteRT's).
2. Every branch is prepared with the operand shapes; outputs and their types as in _call (same
   types in every branch; dynamic outputs when the branches' shapes differ).
3. Unlike LiteRT 2.3, whose prepare checks every subgraph of the model after the first (not only
   the branches) for the op's input and output counts, and requires all outputs of all of them
   to share one type, numlite checks the branches, output by output.
"""

from __future__ import annotations

import numpy as np

from ..base import PrepareContext, Step
from ..registry import register
from ._call import CallSubgraphs
from ._common import int_option


@register("STABLEHLO_CASE", versions=(1,))
class StablehloCase(CallSubgraphs):
    options_table = "StablehloCaseOptions"

    def prepare(self, ctx: PrepareContext) -> None:
        if len(ctx.inputs) < 1:
            ctx.fail("needs the branch index input")
        index = ctx.input(0)
        ctx.expect_dtype(index, (np.int32,), "branch index")
        if index.size != 1:
            ctx.fail(f"branch index {index.describe()} must hold exactly one element")
        branches = int_option(self.options, "branch_subgraph_indices")
        if not branches:
            ctx.fail("has no branch subgraphs (branch_subgraph_indices is empty)")
        specs = [ctx.input(j) for j in range(1, len(ctx.inputs))]
        self.prepare_calls(ctx, branches, specs, "branch")

    def bind(self, inputs, outputs, scratch) -> Step:
        self.bind_calls(inputs[1:])
        callees, last = self.callees, len(self.callees) - 1
        index = inputs[0].reshape(-1)
        run = self.run_callee

        def step() -> None:
            k = int(index[0])
            run(callees[k if 0 <= k <= last else last], outputs)

        return step
