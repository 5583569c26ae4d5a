"""Regions: the small subgraphs StableHLO ops call to combine two scalars (SCATTER's update
computation, REDUCE_WINDOW's body).

1. ``recognise`` inspects the region subgraph (two inputs, one output).  LiteRT 2.3 runs only
   regions of a single combining op (or, for SCATTER, no op at all: replace) and evaluates them
   as a vectorised loop; numlite recognises the same shapes of region and evaluates them
   vectorised too.  A region is recognised when
   (a) it has no operators and returns its second input (the update): ``"replace"``; or
   (b) it has one operator from the op's table (e.g. ``STABLEHLO_ADD`` -> ``"add"``) that reads
   both region inputs, writes the region output and has no fused activation.
2. Any other region (several ops, a fused activation, an op LiteRT does not recognise, a
   constant operand) is run as written, through the control-flow machinery: ``ScalarCall``
   prepares the subgraph for two 0-d inputs of the data type and calls it once per combination,
   in the order LiteRT's loops would (slow, but defined; LiteRT refuses such regions).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._subgraph_call import SubgraphCall
from ..base import PrepareContext, TensorSpec


def region_subgraph(ctx: PrepareContext, index: int, role: str) -> Any:
    if ctx.runtime is None:
        ctx.fail(f"needs the interpreter's runtime to read its {role} subgraph")
    subgraphs = ctx.runtime.model.subgraphs
    if not 0 <= index < len(subgraphs):
        ctx.fail(f"names {role} subgraph {index}, but the model has {len(subgraphs)}")
    sg = subgraphs[index]
    if len(sg.inputs) != 2 or len(sg.outputs) != 1:
        ctx.fail(f"{role} subgraph {index} must take 2 inputs and return 1 output; it has {len(sg.inputs)} and "
                 f"{len(sg.outputs)}")
    return sg


def recognise(sg: Any, table: dict[str, str], allow_replace: bool) -> str | None:
    """The combining function of region ``sg`` (a value of ``table``, or ``"replace"``), or None."""
    ins, out = list(sg.inputs), sg.outputs[0]
    ops = sg.operators
    if not ops:
        return "replace" if allow_replace and out == ins[1] and ins[0] != ins[1] else None
    if len(ops) != 1:
        return None
    op = ops[0]
    kind = table.get(op.op_name)
    if kind is None or len(op.outputs) != 1 or op.outputs[0] != out:
        return None
    if sorted(op.inputs) != sorted(ins) or ins[0] == ins[1]:
        return None
    if op.options and int(op.options.get("fused_activation_function") or 0) != 0:
        return None
    return kind


class ScalarCall:
    """Calls a region subgraph on two scalars: ``call(a, b) -> scalar``."""

    def __init__(self, kernel: SubgraphCall, ctx: PrepareContext, index: int, dtype: Any, role: str):
        ex = kernel.callee(ctx, index)
        specs = [TensorSpec(index=-1, name=f"{role} argument {j}", dtype=np.dtype(dtype), shape=()) for j in (0, 1)]
        kernel.prepare_callee(ctx, ex, specs, role, n_outputs=1)
        o = ex.subgraph.outputs[0]
        shape, odt = tuple(ex.shapes[o]), ex.dtypes[o]
        if odt is None or np.dtype(odt) != np.dtype(dtype) or int(np.prod(shape)) != 1 or o in ex.dyn:
            ctx.fail(f"{role} subgraph {index} must return one {np.dtype(dtype).name} value, not tensor {o} of type "
                     f"{np.dtype(odt).name if odt is not None else 'unknown'} and shape {list(shape)}")
        self.ex, self.out = ex, o
        self.args = [np.zeros((), dtype), np.zeros((), dtype)]

    def bind(self) -> None:
        self.ex.rebind_inputs(dict(zip(self.ex.subgraph.inputs, self.args)))

    def __call__(self, a: Any, b: Any) -> Any:
        x, y = self.args
        x[()] = a
        y[()] = b
        self.ex.invoke()
        return self.ex.buffers[self.out].reshape(-1)[0]
