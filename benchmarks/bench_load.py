"""Load to first result, each runtime in fresh processes: LiteRT, numlite, and numlite with the
ONNX Runtime delegate on a cold and on a warm compiled-partition cache.

    python benchmarks/bench_load.py [--models mobilenet_v1 face_landmark ...] [--repeats 5] [--threads 1]

Models: the names of ``benchmarks/bench_models.py`` (MediaPipe's models from its wheel, numlite's
reference models, the transformer blocks); those that need MediaPipe's custom ops are skipped
(LiteRT lacks them).

Method: for each model, the four runtimes each run in a fresh ``python -c`` child, interleaved,
``--repeats`` times; the table gives medians.  A child first imports NumPy and its runtime
(numlite; numlite and onnxruntime; or ai_edge_litert) and loads the input - the import
time is printed in its own columns - then times construct from the file + ``allocate_tensors``
+ ``set_tensor`` + the first ``invoke``.  "cold": ``NUMLITE_CACHE_DIR`` is a new empty directory
(the child builds the ONNX graphs, ONNX Runtime optimizes them and the cache is written);
"warm": a directory a cold child filled before.  The model file is in the page cache for all.
numlite's modules are byte-compiled first (``compileall``), as an installed package's are.
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
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, ROOT)

_CHILD = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
mode, path, npz, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = time.perf_counter()
import numpy as np
if mode == "litert":
    from ai_edge_litert.interpreter import Interpreter
    kw = {}
else:
    import numlite
    from numlite import Interpreter
    kw = {"experimental_delegates": [numlite.load_delegate("onnxruntime")]} if mode != "numlite" else {}
    if mode != "numlite":
        import onnxruntime  # noqa: F401  (the delegate imports it; counted as import time)
feeds = list(np.load(npz).values())
t1 = time.perf_counter()
it = Interpreter(model_path=path, num_threads=threads, **kw)
it.allocate_tensors()
for d, x in zip(it.get_input_details(), feeds):
    it.set_tensor(d["index"], x)
it.invoke()
t2 = time.perf_counter()
out = it.get_tensor(it.get_output_details()[0]["index"])
print(json.dumps({"import_s": t1 - t0, "load_first_s": t2 - t1, "out": out.astype(np.float64).ravel()[:64].tolist()}))
"""

MODES = ("litert", "numlite", "ort-cold", "ort-warm")


def child(mode: str, path: str, npz: str, threads: int, cache: str) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["NUMLITE_CACHE_DIR"] = cache
    p = subprocess.run([sys.executable, "-c", _CHILD, mode, path, npz, str(threads)], capture_output=True,
                       text=True, env=env, timeout=600)
    if p.returncode != 0:
        lines = [ln for ln in p.stderr.strip().splitlines() if ln.strip()]
        raise RuntimeError(lines[-1] if lines else f"child exited with {p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def bench_model(name: str, tmp: str, repeats: int, threads: int) -> dict[str, Any]:
    import bench_models as bm

    import numlite

    path, given = bm.model_file(name, tmp)
    if bm.needs_mediapipe_ops(path):
        return {"model": name, "error": "needs MediaPipe's custom ops (LiteRT lacks them)"}
    it = numlite.Interpreter(model_path=path)
    feeds = bm.inputs_for(it.get_input_details(), given)
    npz = os.path.join(tmp, f"{name}_inputs.npz")
    np.savez(npz, *feeds)
    warm = tempfile.mkdtemp(prefix="warm-", dir=tmp)
    child("ort-cold", path, npz, threads, warm)  # fills the warm cache
    acc: dict[str, list[float]] = {}
    outs: dict[str, list[float]] = {}
    for _ in range(repeats):
        for mode in MODES:
            cache = warm if mode == "ort-warm" else tempfile.mkdtemp(prefix="cold-", dir=tmp)
            r = child(mode, path, npz, threads, cache)
            acc.setdefault(mode, []).append(r["load_first_s"])
            acc.setdefault(mode + "_import", []).append(r["import_s"])
            outs[mode] = r["out"]
    res: dict[str, Any] = {"model": name, "size_bytes": os.path.getsize(path)}
    res.update({k: statistics.median(v) for k, v in acc.items()})
    ref = np.asarray(outs["litert"])
    res["max_rel_diff"] = max(float(np.max(np.abs(np.asarray(outs[m]) - ref)) / max(float(np.max(np.abs(ref))), 1e-30))
                              for m in MODES[1:])
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["mobilenet_v1", "mobilenet_v2", "inception_v3",
                                                    "mobilenet_v1_int8", "face_landmark", "hand_landmark_full",
                                                    "pose_landmark_full", "transformer"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    import compileall

    import bench_models as bm

    compileall.compile_dir(os.path.join(ROOT, "numlite"), quiet=1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="numlite-bench-load-") as tmp:
        for name in args.models:
            print(f"{name}: {args.repeats} x {len(MODES)} fresh processes ...", file=sys.stderr, flush=True)
            try:
                rows.append(bench_model(name, tmp, args.repeats, args.threads))
            except Exception as e:
                rows.append({"model": name, "error": f"{type(e).__name__}: {e}"})
    info = bm.machine()
    print(f"\n{bm.machine_line(info)}\n")
    print(f"Load to first result (construct + allocate_tensors + set_tensor + first invoke), ms, medians of "
          f"{args.repeats} fresh processes per runtime, {args.threads} thread(s); ratios to LiteRT; imports "
          "(NumPy + the runtime; + onnxruntime for the delegate) in the last columns.\n")
    print("| model | size (MB) | LiteRT | numlite | numlite + ORT, cold cache | numlite + ORT, warm cache "
          "| import LiteRT / numlite / numlite + ORT |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['model']} | {r['error']} | | | | | |")
            continue
        lt = r["litert"]

        def cell(mode: str) -> str:
            return f"{r[mode] * 1e3:.1f} ({r[mode] / lt:.2f}x)"
        print(f"| {r['model']} | {r['size_bytes'] / 1e6:.1f} | {lt * 1e3:.1f} | {cell('numlite')} | "
              f"{cell('ort-cold')} | {cell('ort-warm')} | {r['litert_import'] * 1e3:.0f} / "
              f"{r['numlite_import'] * 1e3:.0f} / {r['ort-warm_import'] * 1e3:.0f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "rows": rows}, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
