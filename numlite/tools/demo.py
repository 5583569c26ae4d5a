"""``numlite demo``: write one of numlite's reference models, classify a synthetic image, time it."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from ._common import mb, ms, top5


def add_parser(sub: argparse._SubParsersAction) -> None:
    from numlite.models import MODELS

    p = sub.add_parser("demo", help="write a reference model, classify a synthetic image, time it")
    p.add_argument("--model", default="mobilenet_v1", choices=sorted(MODELS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic input image")
    p.add_argument("--out", help="write the model here (default: a temporary directory)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
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
        print(f"model file:       {path if args.out else os.path.basename(path)} ({mb(len(data))}, "
              f"written in {ms(t_build)})")
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
        print(f"load:             {ms(t_load)} (verify + decode), allocate_tensors {ms(t_alloc)}")
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
              f"first inference {ms(t_first)}")
        print("top-5:            " + ", ".join(f"{c} ({p:.4f})" for c, p in top5(probs)))
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            it.invoke()
            times.append(time.perf_counter() - t0)
        if times:
            print(f"inference:        median {ms(statistics.median(times))} over {args.runs} runs "
                  f"(min {ms(min(times))}, max {ms(max(times))}), {args.threads} thread(s)")
        rep = it.memory_report()
        print(f"arena:            {mb(rep['arena_bytes'])} (no reuse: {mb(rep['no_reuse_bytes'])}, "
              f"lower bound: {mb(rep['lower_bound_bytes'])})")
        del it
    return 0


