"""numlite against LiteRT on the reference models: latency, load-to-first-result, peak RSS, arena.

    python benchmarks/bench.py [--models mobilenet_v1 mobilenet_v2 inception_v3 mobilenet_v1_int8 ...]
                               [--runs 20] [--threads 1 2] [--load-repeats 3] [--json out.json]

Models: by default the float32 MobileNet v1, MobileNet v2 and Inception v3 and their int8 twins
(``*_int8``: int8 I/O, calibrated and quantized by ``numlite.quantize``, built once at the start
of each model's row); any name of ``numlite.models.MODELS`` may be given, e.g. ``*_int8_uint8io``.
The input is ``numlite.models.sample_input``: the seeded synthetic image, quantized with the
input's scale and zero point for int8/uint8 inputs.  For an int8/uint8 output the "max abs diff"
column is in output steps (LiteRT's XNNPACK path requantizes its own way and may differ from
numlite, which follows the reference kernels, by a step or a few).

Method (for each model, built by ``numlite.models.build`` and written to a temporary file):

1. Latency, in ONE process: a numlite ``Interpreter`` and an ``ai_edge_litert`` ``Interpreter``
   (default settings, so LiteRT uses its XNNPACK CPU path) with the same ``num_threads``, fed the
   same seeded synthetic image.  After ``--warmup`` warm-up runs of each, the two alternate in
   blocks of 5 timed invokes (each block preceded by a 0.2 s pause and one untimed invoke) until
   each has ``--runs`` timings, so both see the same machine load.  Blocks rather than single
   alternating invokes: OpenBLAS's and XNNPACK's worker threads keep spinning for a while after a
   call and, run back to back, slow down the other runtime's 2-thread runs.  The table gives the
   medians and their ratio (numlite / LiteRT: above 1 means numlite is slower), and the largest
   difference between their outputs.
2. Load-to-first-result (construct from the file + ``allocate_tensors`` + ``set_tensor`` + the
   first ``invoke``) and peak RSS, each runtime in a fresh ``python -c`` child that imports only
   its own package and NumPy: the child's peak resident set (``VmHWM`` of /proc/self/status on
   Linux; ``ru_maxrss`` elsewhere - on Linux ``ru_maxrss`` of an exec'd child starts at its
   parent's peak, which would report the benchmark process itself).  A second child per runtime imports
   the same packages and loads the same input but builds no interpreter: its peak RSS is the
   baseline (printed beside the raw peak; nothing is subtracted).  Children are interleaved and
   repeated ``--load-repeats`` times; medians are reported.  Run at the first ``--threads`` value.
   numlite's modules are byte-compiled first (``compileall``), as ``pip install`` leaves them and
   as LiteRT's are: where ``PYTHONDONTWRITEBYTECODE`` is set (as on this project's machines) an
   editable checkout would otherwise compile every module it imports in each child (about 40 ms
   on MobileNet v1's children, counted as numlite's load time).
3. numlite's arena plan (``Interpreter.memory_report()``): arena bytes against the no-reuse sum
   and the lower bound (the most bytes alive at any one step).

A model numlite cannot run yet (a missing kernel) gets its error printed and LiteRT's numbers
alone; the script goes on with the next model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# the interleaved block (quiet gap, one untimed run, BLOCK timed calls) is `numlite bench`'s;
# bench_sequence.py and bench_models.py import it from here
from numlite.tools.bench import BLOCK, QUIET_GAP_S, timed_block  # noqa: E402,F401

# Child process for step 2.  argv: runtime ("numlite" | "litert"), mode ("load" | "baseline"),
# model path, input .npy path, num_threads.  Prints one JSON line.
_CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
runtime, mode, path, npy, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
import numpy as np
if runtime == "numlite":
    from numlite import Interpreter
else:
    from ai_edge_litert.interpreter import Interpreter
x = np.load(npy)
res = {}
if mode == "load":
    t0 = time.perf_counter()
    it = Interpreter(model_path=path, num_threads=threads)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    res["load_first_s"] = time.perf_counter() - t0
    out = it.get_tensor(it.get_output_details()[0]["index"])
    res["top1"] = int(np.argmax(out))
# Linux: VmHWM is this process image's own peak.  ru_maxrss is not: exec() seeds it with the
# peak of the (v)forked parent's address space, i.e. the benchmark process holding every model.
hwm = None
try:
    with open("/proc/self/status") as f:
        hwm = next((int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmHWM:")), None)
except OSError:
    pass
ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
res["maxrss_bytes"] = hwm if hwm is not None else ru
res["ru_maxrss_bytes"] = ru
print(json.dumps(res))
"""


def _child(runtime: str, mode: str, path: str, npy: str, threads: int) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    p = subprocess.run([sys.executable, "-c", _CHILD, runtime, mode, path, npy, str(threads)],
                       capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
        raise RuntimeError(lines[-1] if lines else f"child exited with {p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None



DEFAULT_MODELS = ["mobilenet_v1", "mobilenet_v2", "inception_v3",
                  "mobilenet_v1_int8", "mobilenet_v2_int8", "inception_v3_int8"]


def _make(cls: Any, path: str, threads: int, x: np.ndarray) -> tuple[Any, int, int]:
    it = cls(model_path=path, num_threads=threads)
    it.allocate_tensors()
    i = it.get_input_details()[0]["index"]
    o = it.get_output_details()[0]["index"]
    it.set_tensor(i, x)
    return it, i, o


def bench_latency(path: str, x: np.ndarray, threads: int, runs: int, warmup: int) -> dict[str, Any]:
    """Step 1 (and 3): interleaved medians in this process."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    import numlite

    res: dict[str, Any] = {"threads": threads}
    lt, _, lt_out = _make(LiteRT, path, threads, x)
    try:
        nl, _, nl_out = _make(numlite.Interpreter, path, threads, x)
        res["arena"] = nl.memory_report()
    except Exception as e:  # a missing kernel or a prepare error: LiteRT alone
        nl = None
        res["numlite_error"] = f"{type(e).__name__}: {e}"
    t_nl: list[float] = []
    t_lt: list[float] = []

    for _ in range(warmup):
        if nl is not None:
            nl.invoke()
        lt.invoke()
    while len(t_lt) < runs:
        if nl is not None:
            try:
                timed_block(nl.invoke, t_nl)
            except Exception as e:
                res["numlite_error"] = f"{type(e).__name__}: {e}"
                nl = None
        timed_block(lt.invoke, t_lt)
    res["litert_ms"] = _median(t_lt) * 1e3
    ref = lt.get_tensor(lt_out)
    res["litert_top1"] = int(np.argmax(ref))
    if nl is not None and t_nl:
        ours = nl.get_tensor(nl_out)
        res["numlite_ms"] = _median(t_nl) * 1e3
        res["ratio"] = res["numlite_ms"] / res["litert_ms"]
        res["max_abs_diff"] = float(np.max(np.abs(ours.astype(np.float64) - ref)))
        res["numlite_top1"] = int(np.argmax(ours))
    return res


def bench_load(path: str, npy: str, threads: int, repeats: int) -> dict[str, Any]:
    """Step 2: fresh children, interleaved, medians."""
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "numlite"), quiet=1)
    acc: dict[str, list[float]] = {}
    errors: dict[str, str] = {}
    for _ in range(repeats):
        for runtime in ("numlite", "litert"):
            for mode in ("load", "baseline"):
                key = f"{runtime}_{mode}"
                if key in errors:
                    continue
                try:
                    r = _child(runtime, mode, path, npy, threads)
                except Exception as e:
                    errors[key] = str(e)
                    continue
                acc.setdefault(f"{key}_rss", []).append(r["maxrss_bytes"])
                if mode == "load":
                    acc.setdefault(f"{runtime}_load_first", []).append(r["load_first_s"])
    out: dict[str, Any] = {k: _median(v) for k, v in acc.items()}
    if errors:
        out["errors"] = errors
    return out


def _fmt(v: float | None, spec: str = ".1f", scale: float = 1.0) -> str:
    return "n/a" if v is None else format(v * scale, spec)


def _scaled(ms: float | None) -> float | None:
    return None if ms is None else ms / 1e3


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--load-repeats", type=int, default=3)
    ap.add_argument("--no-load", action="store_true", help="skip the fresh-process load/RSS measurements")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-' for stdout)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, ROOT)
    from numlite import models

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="numlite-bench-") as tmp:
        for name in args.models:
            entry: dict[str, Any] = {"model": name, "latency": []}
            results.append(entry)
            try:
                data = models.build(name)
            except Exception as e:
                entry["error"] = f"{type(e).__name__}: {e}"
                print(f"{name}: cannot build: {entry['error']}", file=sys.stderr)
                continue
            entry["size_bytes"] = len(data)
            path = os.path.join(tmp, f"{name}.tflite")
            with open(path, "wb") as f:
                f.write(data)
            x = models.sample_input(name, seed=0)
            npy = os.path.join(tmp, f"{name}_input.npy")
            np.save(npy, x)
            for t in args.threads:
                print(f"{name}: latency, {t} thread(s), {args.runs} interleaved runs ...", file=sys.stderr, flush=True)
                try:
                    r = bench_latency(path, x, t, args.runs, args.warmup)
                except Exception as e:
                    r = {"threads": t, "error": f"{type(e).__name__}: {e}"}
                entry["latency"].append(r)
                if "numlite_error" in r or "error" in r:
                    print(f"{name}: {r.get('numlite_error') or r.get('error')}", file=sys.stderr)
            if not args.no_load:
                print(f"{name}: load-to-first-result and peak RSS in fresh processes ...", file=sys.stderr, flush=True)
                entry["load"] = bench_load(path, npy, args.threads[0], args.load_repeats)
                entry["load"]["threads"] = args.threads[0]
                for k, v in entry["load"].get("errors", {}).items():
                    print(f"{name}: {k}: {v}", file=sys.stderr)
            del data

    from numlite import _blas

    core = _blas.corename()
    print(f"\nCPU threads: {os.cpu_count()}; NumPy's BLAS kernels: {core or 'unknown'}"
          + (f" (OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set)"
             if "OPENBLAS_CORETYPE" in os.environ else ""))
    print("\n| model | threads | numlite (ms) | LiteRT (ms) | numlite / LiteRT | max abs diff | same top-1 |")
    print("|---|---|---|---|---|---|---|")
    for e in results:
        for r in e["latency"]:
            same = ("yes" if r["numlite_top1"] == r["litert_top1"] else "NO") if "numlite_top1" in r else "n/a"
            diff = _fmt(r.get("max_abs_diff"), ".1e")
            print(f"| {e['model']} | {r['threads']} | {_ms(_scaled(r.get('numlite_ms')))} | "
                  f"{_ms(_scaled(r.get('litert_ms')))} | "
                  f"{_fmt(r.get('ratio'), '.2f')} | {diff} | {same} |")
    if not args.no_load:
        print(f"\nLoad to first result (construct + allocate + set input + first invoke) and peak RSS, "
              f"each in a fresh process, {args.threads[0]} thread(s); [baseline]: a child importing the "
              "same packages without an interpreter.\n")
        print("| model | size (MB) | load to first result, numlite (ms) | LiteRT (ms) | "
              "peak RSS numlite (MB) [baseline] | peak RSS LiteRT (MB) [baseline] |")
        print("|---|---|---|---|---|---|")
        for e in results:
            ld = e.get("load", {})
            nl_rss, lt_rss = (f"{_fmt(ld.get(rt + '_load_rss'), '.0f', 1e-6)} "
                              f"[{_fmt(ld.get(rt + '_baseline_rss'), '.0f', 1e-6)}]" for rt in ("numlite", "litert"))
            print(f"| {e['model']} | {_fmt(e.get('size_bytes'), '.1f', 1e-6)} | "
                  f"{_ms(ld.get('numlite_load_first'))} | {_ms(ld.get('litert_load_first'))} | {nl_rss} | {lt_rss} |")
    print("\n| model | numlite arena (MB) | no reuse (MB) | lower bound (MB) | arena / lower bound "
          "| arena / no reuse |")
    print("|---|---|---|---|---|---|")
    for e in results:
        arena = next((r["arena"] for r in e["latency"] if "arena" in r), None)
        if arena is None:
            print(f"| {e['model']} | n/a | n/a | n/a | n/a | n/a |")
            continue
        print(f"| {e['model']} | {arena['arena_bytes'] / 1e6:.2f} | {arena['no_reuse_bytes'] / 1e6:.2f} | "
              f"{arena['lower_bound_bytes'] / 1e6:.2f} | {arena['arena_bytes'] / arena['lower_bound_bytes']:.3f} | "
              f"{arena['arena_bytes'] / arena['no_reuse_bytes']:.0%} |")
    errs = [(e["model"], r.get("numlite_error") or r.get("error")) for e in results for r in e["latency"]
            if r.get("numlite_error") or r.get("error")] + [(e["model"], e["error"]) for e in results if "error" in e]
    if errs:
        print("\nnot measured:")
        for m, msg in dict(errs).items():
            print(f"- {m}: {' '.join(ln.strip() for ln in msg.splitlines())}")
    if args.json:
        text = json.dumps({"models": results, "runs": args.runs, "threads": args.threads,
                           "python": sys.version.split()[0], "numpy": np.__version__}, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
