"""``numlite run``: feed a model given inputs (or seeded random ones) and summarise its outputs."""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from ._common import describe_io, make_interpreter, ms, random_input, stats


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a model on given (.npy) or random inputs")
    p.add_argument("model")
    p.add_argument("--input", nargs="+", metavar="NPY", help="one .npy file per model input, in order")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--save", metavar="OUT.npz", help="save the outputs (output_0, output_1, ...)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    import numlite

    try:
        it = make_interpreter(args.model, args.threads)
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
            print(f"input  {describe_io(d)}: {stats(v)}")
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
        print(f"output {describe_io(d)} -> shape {list(v.shape)} {v.dtype.name}: {stats(v)}")
    print(f"invoke: median {ms(statistics.median(times))} over {len(times)} run(s), {args.threads} thread(s)")
    if args.save:
        np.savez(args.save, **{f"output_{k}": v for k, v in enumerate(results.values())})
        print(f"saved {len(results)} output(s) to {args.save} (output_0, output_1, ...)")
    return 0


