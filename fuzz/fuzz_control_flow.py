"""Fuzz numlite's subgraphs and control flow: WHILE, IF, CALL_ONCE, STABLEHLO_CASE,
STABLEHLO_COMPOSITE and the StableHLO ops with region subgraphs (scatter, reduce window), resource
variables and hash tables initialised by CALL_ONCE, LSTMs inside loop bodies and branches, and
the TensorFlow converter's WHILE loops.

Each input is a model: loaded, allocated, fed from its own bytes (loop limits and conditions as
small numbers mostly) and invoked twice, each invoke cancelled after ``INVOKE_TIMEOUT`` by
``Interpreter.cancel`` (a loop that never ends is legitimate; one that cannot be cancelled is a
finding).  The custom mutator works on the decoded model: it rewires subgraph indices (out of
range, self-recursive, swapped), changes loop-variable counts (inputs / outputs of the control-flow
op and of its subgraphs), duplicates, drops and swaps subgraphs, and otherwise overwrites
FlatBuffer fields of the ``*Options`` tables, subgraph and operator index vectors.

A finding: an exception other than numlite's documented errors (``InvokeCancelled`` included), a
``RecursionError``, or an invoke that does not stop.
"""

from __future__ import annotations

import random

import _flatbuf
from _common import (
    MAX_DECLARED_BYTES,
    declared_bytes,
    fill_inputs,
    interpreter,
    invoke_bounded,
    libfuzzer_or_generic,
    tf_fixtures,
    tolerated,
)
from _models import corpus

NAME = "control_flow"
PREFER = ("subgraph_index", "subgraph_indices", "SubGraph.inputs", "SubGraph.outputs", "Operator.inputs",
          "Operator.outputs", "Operator.opcode_index", "Model.subgraphs")


def seeds() -> list[bytes]:
    tf = [m for m in tf_fixtures() if b"WHILE" in m or b"while" in m]
    return corpus("control_flow") + tf


def test_one_input(data: bytes) -> None:
    with tolerated():
        it = interpreter(data)
        if declared_bytes(it.model) > MAX_DECLARED_BYTES:
            return
        it.allocate_tensors()
        for k in range(2):  # a second invoke: state carried (variables, CALL_ONCE done)
            fill_inputs(it, data[k:])
            if not invoke_bounded(it):
                return
            for d in it.get_output_details():
                it.get_tensor(d["index"])


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    r = rng.random()
    if r < 0.5:
        got = _flatbuf.mutate_model(data, rng, focus="control_flow")
        if got is not None and len(got) <= max_size:
            return got
    if r < 0.8:
        return _flatbuf.mutate_slot(data, rng, PREFER)[:max_size]
    return libfuzzer_or_generic(data, max_size, seed)
