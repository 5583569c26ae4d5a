"""The ``numlite`` command (also ``python -m numlite``).

    numlite demo [--model mobilenet_v1] [--threads N] [--runs N] [--out model.tflite]
    numlite run MODEL [--input a.npy ...] [--threads N] [--runs N] [--seed S] [--save out.npz]
    numlite inspect MODEL [--tensors]

``demo`` writes one of numlite's reference models (``numlite.models``), loads it, classifies a
seeded synthetic image and times it.  ``run`` feeds a model given inputs (or seeded random ones)
and summarises its outputs.  ``inspect`` prints subgraphs, inputs and outputs, op counts and
the arena plan.  Only NumPy is needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _quant_str(d: dict[str, Any]) -> str:
    qp = d.get("quantization_parameters") or {}
    scales = qp.get("scales")
    if scales is None or len(scales) == 0:
        return "float" if np.issubdtype(np.dtype(d["dtype"]), np.floating) else "-"
    if len(scales) == 1:
        return f"scale={float(scales[0]):.6g} zero_point={int(qp['zero_points'][0])}"
    return f"per-channel ({len(scales)} scales, axis {qp.get('quantized_dimension', 0)})"


def _describe_io(d: dict[str, Any]) -> str:
    shape = list(int(v) for v in d["shape"])
    sig = list(int(v) for v in d.get("shape_signature", d["shape"]))
    dyn = f" signature={sig}" if sig != shape else ""
    return f"#{d['index']} '{d['name']}' {np.dtype(d['dtype']).name}{shape}{dyn} {_quant_str(d)}"


def _load_interpreter(path: str, threads: int) -> Any:
    import numlite

    return numlite.Interpreter(model_path=path, num_threads=threads)


def random_input(detail: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """A seeded random value for one input: floats in [-1, 1], integers over the type's range
    (for quantized inputs: the quantized image of [-1, 1]), booleans half true, strings short
    random lowercase words."""
    dtype = np.dtype(detail["dtype"])
    shape = tuple(int(v) for v in detail["shape"])
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-1.0, 1.0, shape).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        scale, zp = detail.get("quantization", (0.0, 0))
        info = np.iinfo(dtype)
        if scale:
            q = np.round(rng.uniform(-1.0, 1.0, shape) / scale) + zp
            return np.clip(q, info.min, info.max).astype(dtype)
        lo, hi = max(info.min, -100), min(info.max, 100)
        return rng.integers(lo, hi + 1, shape).astype(dtype)
    if dtype.kind in "SO":  # strings: short random lowercase words
        letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
        words = [bytes(letters[rng.integers(0, 26, rng.integers(1, 9))]) for _ in range(int(np.prod(shape)))]
        out = np.empty(len(words), object)
        out[:] = words
        return out.reshape(shape)
    raise ValueError(f"cannot make a random input of type {dtype}")


def _stats(a: np.ndarray) -> str:
    if a.size == 0:
        return "empty"
    if a.dtype == np.bool_:
        return f"true={int(a.sum())}/{a.size}"
    if a.dtype == object:  # strings
        first = ", ".join(repr(v) for v in a.reshape(-1)[:3])
        return f"strings: {first}{', ...' if a.size > 3 else ''}"
    f = a.astype(np.float64)
    return f"min={f.min():.6g} max={f.max():.6g} mean={f.mean():.6g} std={f.std():.6g}"


def _top5(probs: np.ndarray) -> list[tuple[int, float]]:
    flat = probs.reshape(-1)
    idx = np.argsort(-flat, kind="stable")[:5]
    return [(int(i), float(flat[i])) for i in idx]


# -- demo ------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    import numlite
    from numlite import models

    info = models.MODELS[args.model]
    t0 = time.perf_counter()
    data = models.build(args.model)
    t_build = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="numlite-demo-") as tmp:
        path = args.out or os.path.join(tmp, f"{args.model}.tflite")
        with open(path, "wb") as f:
            f.write(data)
        print(f"numlite {numlite.__version__} demo: {args.model} ({info.description})")
        print(f"model file:       {path if args.out else os.path.basename(path)} ({_mb(len(data))}, "
              f"written in {_ms(t_build)})")
        try:
            t0 = time.perf_counter()
            it = numlite.Interpreter(model_path=path, num_threads=args.threads)
            t_load = time.perf_counter() - t0
            t0 = time.perf_counter()
            it.allocate_tensors()
            t_alloc = time.perf_counter() - t0
        except (numlite.ModelError, RuntimeError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"load:             {_ms(t_load)} (verify + decode), allocate_tensors {_ms(t_alloc)}")
        inp = it.get_input_details()[0]
        out = it.get_output_details()[0]
        image = models.sample_input(args.model, seed=args.seed)  # quantized for int8/uint8 inputs
        it.set_tensor(inp["index"], image)
        t0 = time.perf_counter()
        it.invoke()
        t_first = time.perf_counter() - t0
        probs = it.get_tensor(out["index"])
        scale, zero_point = out["quantization"]
        if scale:  # a quantized output: report real probabilities
            probs = (probs.astype(np.float64) - zero_point) * scale
        print(f"input:            synthetic image {list(image.shape)} (seed {args.seed}), "
              f"first inference {_ms(t_first)}")
        print("top-5:            " + ", ".join(f"{c} ({p:.4f})" for c, p in _top5(probs)))
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            it.invoke()
            times.append(time.perf_counter() - t0)
        if times:
            print(f"inference:        median {_ms(statistics.median(times))} over {args.runs} runs "
                  f"(min {_ms(min(times))}, max {_ms(max(times))}), {args.threads} thread(s)")
        rep = it.memory_report()
        print(f"arena:            {_mb(rep['arena_bytes'])} (no reuse: {_mb(rep['no_reuse_bytes'])}, "
              f"lower bound: {_mb(rep['lower_bound_bytes'])})")
        del it
    return 0


# -- run -------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    import numlite

    try:
        it = _load_interpreter(args.model, args.threads)
        ins = it.get_input_details()
        feeds: list[np.ndarray] = []
        if args.input:
            if len(args.input) != len(ins):
                print(f"error: the model has {len(ins)} input(s), {len(args.input)} --input file(s) given",
                      file=sys.stderr)
                return 2
            feeds = [np.load(p, allow_pickle=False) for p in args.input]
            for d, v in zip(ins, feeds):
                if tuple(d["shape"]) != v.shape:
                    it.resize_tensor_input(d["index"], list(v.shape))
        it.allocate_tensors()
        ins = it.get_input_details()
        if not feeds:
            rng = np.random.default_rng(args.seed)
            feeds = [random_input(d, rng) for d in ins]
        for d, v in zip(ins, feeds):
            it.set_tensor(d["index"], v)
            print(f"input  {_describe_io(d)}: {_stats(v)}")
        times = []
        for _ in range(max(1, args.runs)):
            t0 = time.perf_counter()
            it.invoke()
            times.append(time.perf_counter() - t0)
    except (numlite.ModelError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    results = {}
    for d in it.get_output_details():
        v = it.get_tensor(d["index"])
        results[d["name"]] = v
        print(f"output {_describe_io(d)} -> shape {list(v.shape)} {v.dtype.name}: {_stats(v)}")
    print(f"invoke: median {_ms(statistics.median(times))} over {len(times)} run(s), {args.threads} thread(s)")
    if args.save:
        np.savez(args.save, **{f"output_{k}": v for k, v in enumerate(results.values())})
        print(f"saved {len(results)} output(s) to {args.save} (output_0, output_1, ...)")
    return 0


# -- inspect ---------------------------------------------------------------------------------
def cmd_inspect(args: argparse.Namespace) -> int:
    import numlite

    try:
        model = numlite.load_model(model_path=args.model)
    except (numlite.ModelError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    size = os.path.getsize(args.model)
    data_bytes = sum(int(b.nbytes) for b in model.buffer_data if b is not None)
    print(f"model: {args.model} ({_mb(size)}; constant data {_mb(data_bytes)}), schema version {model.version}")
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
    print(f"\narena (subgraph 0): {rep['arena_bytes']:,} bytes ({_mb(rep['arena_bytes'])}); "
          f"no reuse {rep['no_reuse_bytes']:,} bytes ({ratio:.1%} of it); "
          f"lower bound {rep['lower_bound_bytes']:,} bytes")
    return 0


# -- entry point ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from numlite.models import MODELS

    ap = argparse.ArgumentParser(prog="numlite", description="numlite: a TensorFlow Lite runtime on NumPy")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write a reference model, classify a synthetic image, time it")
    p.add_argument("--model", default="mobilenet_v1", choices=sorted(MODELS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic input image")
    p.add_argument("--out", help="write the model here (default: a temporary directory)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a model on given (.npy) or random inputs")
    p.add_argument("model")
    p.add_argument("--input", nargs="+", metavar="NPY", help="one .npy file per model input, in order")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--save", metavar="OUT.npz", help="save the outputs (output_0, output_1, ...)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("inspect", help="subgraphs, inputs/outputs, op counts, arena plan")
    p.add_argument("model")
    p.add_argument("--tensors", action="store_true", help="also list every tensor")
    p.set_defaults(func=cmd_inspect)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", 1) < 1:
        print("error: --threads must be >= 1", file=sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
