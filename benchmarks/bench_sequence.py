"""numlite against LiteRT on sequence, text and stateful models: latency side by side.

    python benchmarks/bench_sequence.py [--models lstm_float gru_drq ...] [--runs 30] [--threads 1 2]

Models: the TensorFlow-converted fixtures in ``tests/data/tf`` (``scripts/make_tf_fixtures.py``
wrote them: Keras LSTM / GRU / bidirectional LSTM / SimpleRNN classifiers in float32, dynamic-range
(``_drq``) and int8, the Keras 3 LSTM exported as a WHILE loop, a masked text CNN, streaming
models with resource variables, a ``tf.while_loop`` / ``tf.cond`` function).  Every model whose
file LiteRT and numlite both run is measured.

Method, per model and thread count, in one process:

1. A numlite and an ``ai_edge_litert`` interpreter (default settings: LiteRT's XNNPACK path
   where it applies) with the same ``num_threads`` and the same seeded inputs (integer inputs
   drawn in [0, 20): token ids below every fixture's vocabulary size).
2. After 3 warm-up invokes each, the two alternate in blocks of 5 timed invokes (a 0.1 s pause
   and one untimed invoke before each block) until each has ``--runs`` timings: both see the
   same machine load.  Medians and their ratio are printed (above 1: numlite is slower).
3. numlite's time per op type, from ``Interpreter._main.profile`` (control-flow ops include
   the subgraphs they run).

``--synthetic`` adds UNIDIRECTIONAL_SEQUENCE_LSTM models of realistic size written by numlite's
builder (``tests/lstm_util.py``; seeded weights, TANH activation, batch 1, float32 and hybrid
int8 weights): ``lstm{cells}x{steps}`` and ``lstm{cells}x{steps}_hybrid``.

The machine line gives the CPU, NumPy's BLAS kernel (threadpoolctl when installed, else
numlite's own probe) and the OPENBLAS_* settings, which change OpenBLAS's kernels.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import statistics
import sys
import tempfile
from collections import defaultdict
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import timed_block  # noqa: E402  (the interleaving shared with bench.py)

FIXTURES = os.path.join(ROOT, "tests", "data", "tf")
BLOCK, QUIET_GAP_S = 5, 0.1


def seeded_inputs(details: list[dict[str, Any]], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for d in details:
        shape = [int(x) for x in d["shape"]]
        dt = np.dtype(d["dtype"])
        if dt == np.bool_:
            out.append(rng.random(shape) > 0.5)
        elif dt.kind in "iu":
            out.append(rng.integers(0, 20, size=shape).astype(dt))
        else:
            out.append(rng.standard_normal(shape).astype(dt))
    return out


SYNTHETIC = {  # name -> (n_input, n_cell, steps, hybrid)
    "lstm128x100": (40, 128, 100, False), "lstm256x50": (64, 256, 50, False),
    "lstm256x50_hybrid": (64, 256, 50, True), "lstm512x20": (128, 512, 20, False),
}


def synthetic_model(name: str, directory: str) -> str:
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from lstm_util import lstm_weights, uni_model

    n_input, n_cell, steps, hybrid = SYNTHETIC[name]
    w = lstm_weights(n_input, n_cell, n_cell, seed=1)
    path = os.path.join(directory, name + ".tflite")
    with open(path, "wb") as f:
        f.write(uni_model((steps, 1, n_input), w, n_cell, n_cell, hybrid=hybrid, fused_activation_function="TANH"))
    return path


def make(cls: Any, path: str, threads: int) -> Any:
    it = cls(model_path=path, num_threads=threads)
    it.allocate_tensors()
    for d, v in zip(it.get_input_details(), seeded_inputs(it.get_input_details())):
        it.set_tensor(d["index"], v)
    return it


def bench(path: str, threads: int, runs: int) -> dict[str, Any]:
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    import numlite

    lt = make(LiteRT, path, threads)
    nl = make(numlite.Interpreter, path, threads)
    t_nl: list[float] = []
    t_lt: list[float] = []

    for _ in range(3):
        nl.invoke()
        lt.invoke()
    while len(t_lt) < runs:
        timed_block(nl.invoke, t_nl, QUIET_GAP_S, BLOCK)
        timed_block(lt.invoke, t_lt, QUIET_GAP_S, BLOCK)
    by_op: dict[str, float] = defaultdict(float)
    kernels = nl._main.kernels
    for node, seconds in nl._main.profile(10):
        by_op[kernels[node].node.op_name] += seconds
    return {"numlite_ms": statistics.median(t_nl) * 1e3, "litert_ms": statistics.median(t_lt) * 1e3,
            "by_op": dict(sorted(by_op.items(), key=lambda kv: -kv[1]))}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), cpu)
        flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
        cpu += " (" + ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if f in flags) + ")"
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info

        blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
                         for i in threadpool_info() if i.get("user_api") == "blas")
    except ImportError:
        from numlite import _blas

        blas = _blas.corename() or "unknown"
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ)
    return f"CPU: {cpu}; {os.cpu_count()} threads; BLAS: {blas}; {env or 'OPENBLAS_CORETYPE/L2_SIZE unset'}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", help="fixture names (default: every tests/data/tf/*.tflite)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--synthetic", action="store_true", help="add realistic-size LSTMs written by numlite")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    names = args.models or sorted(os.path.basename(p)[:-7] for p in glob.glob(os.path.join(FIXTURES, "*.tflite")))
    tmp = tempfile.mkdtemp(prefix="numlite-bench-")
    paths = {n: os.path.join(FIXTURES, n + ".tflite") for n in names}
    if args.synthetic:
        paths.update({n: synthetic_model(n, tmp) for n in SYNTHETIC})
    rows = []
    for name, path in paths.items():
        for threads in args.threads:
            print(f"{name}: {threads} thread(s) ...", file=sys.stderr, flush=True)
            try:
                rows.append((name, threads, bench(path, threads, args.runs)))
            except Exception as e:  # a model one of the runtimes cannot run
                print(f"{name}: skipped: {type(e).__name__}: {str(e).splitlines()[0]}", file=sys.stderr)
                break
    print("\n" + machine())
    print("\n| model | threads | numlite (ms) | LiteRT (ms) | numlite / LiteRT | numlite's time by op |")
    print("|---|---|---|---|---|---|")
    ratios: dict[int, list[float]] = defaultdict(list)
    for name, threads, r in rows:
        ratio = r["numlite_ms"] / r["litert_ms"]
        ratios[threads].append(ratio)
        total = sum(r["by_op"].values()) or 1.0
        ops = ", ".join(f"{op} {100 * s / total:.0f}%" for op, s in list(r["by_op"].items())[:3])
        print(f"| {name} | {threads} | {r['numlite_ms']:.3f} | {r['litert_ms']:.3f} | {ratio:.2f} | {ops} |")
    for threads, rs in sorted(ratios.items()):
        gmean = float(np.exp(np.mean(np.log(rs))))
        print(f"\n{threads} thread(s): geometric mean numlite / LiteRT {gmean:.2f} over {len(rs)} models "
              f"(max {max(rs):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
