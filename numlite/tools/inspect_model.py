"""``numlite inspect``: subgraphs, inputs and outputs, op counts, the arena plan."""

from __future__ import annotations

import argparse
import os
from collections import Counter

import numpy as np

from ._common import load_model, mb


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="subgraphs, inputs/outputs, op counts, arena plan")
    p.add_argument("model")
    p.add_argument("--tensors", action="store_true", help="also list every tensor")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    import numlite

    model = load_model(args.model)
    size = os.path.getsize(args.model)
    data_bytes = sum(int(b.nbytes) for b in model.buffer_data if b is not None)
    print(f"model: {args.model} ({mb(size)}; constant data {mb(data_bytes)}), schema version {model.version}")
    if model.description:
        print(f"description: {model.description}")
    for sg in model.subgraphs:
        n_params = sum(int(np.prod(t.shape)) for t in sg.tensors if t.data is not None)
        print(f"\nsubgraph {sg.index} '{sg.name}': {len(sg.operators)} ops, {len(sg.tensors)} tensors, "
              f"{n_params:,} constant elements")
        for role, idxs in (("input ", sg.inputs), ("output", sg.outputs)):
            for i in idxs:
                t = sg.tensors[i]
                shape = list(t.shape)
                dyn = f" signature={list(t.shape_signature)}" if t.shape_signature != t.shape else ""
                q = t.quantization
                qs = ""
                if q.scales.size == 1:
                    qs = f" scale={float(q.scales[0]):.6g} zero_point={int(q.zero_points[0])}"
                elif q.scales.size > 1:
                    qs = f" per-channel ({q.scales.size} scales, axis {q.quantized_dimension})"
                print(f"  {role} #{i} '{t.name}' {np.dtype(t.dtype).name}{shape}{dyn}{qs}")
        counts = Counter(f"{op.op_name} v{op.version}" for op in sg.operators)
        print("  ops by type:")
        for name, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {c:5d}  {name}")
        if args.tensors:
            print("  tensors:")
            for t in sg.tensors:
                kind = "const" if t.data is not None else ("var" if t.is_variable else "")
                print(f"    T#{t.index} '{t.name}' {np.dtype(t.dtype).name}{list(t.shape)} {kind} {t.nbytes} bytes")
    for s in model.signature_defs:
        print(f"\nsignature '{s.key}' (subgraph {s.subgraph_index}): inputs {list(s.inputs)}, "
              f"outputs {list(s.outputs)}")
    try:
        it = numlite.Interpreter(model_path=args.model)
        it.allocate_tensors()
        rep = it.memory_report()
    except (numlite.ModelError, RuntimeError, ValueError) as e:
        print(f"\narena: not planned ({type(e).__name__}: {e})")
        return 0
    ratio = rep["arena_bytes"] / rep["no_reuse_bytes"] if rep["no_reuse_bytes"] else 1.0
    print(f"\narena (subgraph 0): {rep['arena_bytes']:,} bytes ({mb(rep['arena_bytes'])}); "
          f"no reuse {rep['no_reuse_bytes']:,} bytes ({ratio:.1%} of it); "
          f"lower bound {rep['lower_bound_bytes']:,} bytes")
    return 0


