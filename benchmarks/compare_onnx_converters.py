"""numlite's ONNX export beside the other .tflite -> ONNX converters, on the same models.

    python benchmarks/compare_onnx_converters.py [--tflite2onnx-python PY] [--tf2onnx-python PY]
                                                 [--models NAME ...] [--runs 30] [--keep DIR] [--json PATH]

Converters (each in a subprocess of its own Python, so that each has the packages it wants):

1. ``numlite``: ``numlite.delegates.onnx_graph.export(src, dst)`` (what ``numlite export`` runs),
   in this script's Python (the repository's venv).
2. ``tflite2onnx``: ``tflite2onnx.convert(src, dst)``, with ``--tflite2onnx-python``.
3. ``tf2onnx``: ``tf2onnx.convert.from_tflite(src, opset=17, output_path=dst)`` (the Python API
   of ``python -m tf2onnx.convert --tflite src --output dst --opset 17``), with ``--tf2onnx-python``.

A converter whose Python is not given is skipped, and the output says so.  Separate venvs
(the converters' pins do not mix with the repository's; Python 3.11)::

    python3.11 -m venv /tmp/venv-t2o && /tmp/venv-t2o/bin/pip install tflite2onnx==0.4.1
    python3.11 -m venv /tmp/venv-tf && /tmp/venv-tf/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0

Models (``--models``; default all): numlite's reference models ``mobilenet_v1``, ``mobilenet_v2``,
``inception_v3``, ``mobilenet_v1_int8``, ``mobilenet_v2_int8`` (``numlite.models.build``, int8
I/O for the ``_int8`` twins, written to a temporary directory) and MediaPipe's ``face_landmark``,
``hand_landmark_full``, ``pose_landmark_full``, ``face_detection_short_range`` (the mediapipe
0.10.14 wheel's, from the test suite's cache, ``tests/mediapipe_models.py``).  Models that need
MediaPipe's custom ops are skipped (LiteRT, the reference here, cannot run them).

Per model and converter:

- ``convert s``: the converter's own call, timed inside its process (imports excluded);
  ``process s``: the whole subprocess (Python start, imports - TensorFlow's for tf2onnx - and
  the conversion), both wall time, one conversion each, run one after another on an idle machine.
- ``ONNX MB``: the file's size (10^6 bytes); ``opset``: its default-domain opset;
  ``nodes (Transpose)``: its node count and how many of them are Transposes (before ONNX
  Runtime's graph optimizations).
- ``checker``: ``onnx.checker.check_model(model, full_check=True)`` (also strict shape
  inference); ``basic`` when only the plain ``check_model`` accepts it (the full check's error
  is in the notes), ``no`` when neither does.
- ``ORT ms`` / ``LiteRT ms``: median latency, with its interquartile range in brackets, of ONNX
  Runtime (CPUExecutionProvider, 1 intra-op and 1 inter-op thread, ``ORT_ENABLE_ALL``,
  ``session.run`` with a prepared feed) and of LiteRT (``ai_edge_litert``
  ``Interpreter(num_threads=1)``: its default XNNPACK path, ``invoke``) on the same seeded input
  (``numlite.models.sample_input(name, seed=0)`` for the reference models,
  ``bench_models.inputs_for``'s seeded input otherwise).  All of a model's sessions and the LiteRT
  interpreter alternate in blocks (``bench.timed_block``: a 0.2 s quiet gap, one untimed call,
  5 timed calls) until each has ``--runs`` timings, so they all see the same machine load; LiteRT's
  median is therefore the same in all of a model's rows.  On a shared machine the medians still
  move from run to run (the machine line gives the load average): compare rows of one run.
- ``max diff``: over the model's outputs, the largest ``max |ONNX - LiteRT| / max |LiteRT|`` (each
  output relative to its own largest magnitude); for int8 / uint8 outputs, the largest difference
  in quantization steps instead (``steps``).  The ONNX model's inputs and outputs are matched to
  LiteRT's by name, else by position; a converter that changed the I/O layout (tflite2onnx writes
  NCHW) gets the input transposed and its outputs transposed back, and the notes say so.  Where
  the largest relative difference is above 1e-3 the notes name that output with its largest
  magnitude and absolute difference (a near-zero output, e.g. a sigmoid's 1e-9, can differ by
  100% and by 1e-9).

A conversion that fails gets a row with the converter's last error line (its exception; for
tf2onnx also its "Unsupported ops" log line); so does a model ONNX Runtime cannot load or run.
The machine line is ``bench_models.machine_line``; the versions of the converters, TensorFlow,
onnx, ONNX Runtime and LiteRT are printed above the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import timed_block  # noqa: E402  (the interleaving shared with bench.py)
from bench_models import inputs_for, machine, machine_line, model_file, needs_mediapipe_ops  # noqa: E402

REFERENCE = ["mobilenet_v1", "mobilenet_v2", "inception_v3", "mobilenet_v1_int8", "mobilenet_v2_int8"]
MEDIAPIPE = ["face_landmark", "hand_landmark_full", "pose_landmark_full", "face_detection_short_range"]
CONVERTERS = ("numlite", "tflite2onnx", "tf2onnx")
BLOCK = 5
MARK = "@@compare_onnx_converters "

# Each driver: argv = [src.tflite, dst.onnx]; prints MARK + JSON of its versions after its imports
# and MARK + JSON of the conversion's time after it.
_REPORT = f"""
def report(**kw):
    print({MARK!r} + json.dumps(kw), flush=True)
"""
DRIVERS = {
    "numlite": _REPORT + """
import onnx
from numlite.delegates.onnx_graph import export
report(versions={"numlite": version("numlite"), "onnx": onnx.__version__})
t0 = time.perf_counter()
export(sys.argv[1], sys.argv[2])
report(convert_s=time.perf_counter() - t0)
""",
    "tflite2onnx": _REPORT + """
import onnx
import tflite2onnx
report(versions={"tflite2onnx": version("tflite2onnx"), "tflite": version("tflite"), "onnx": onnx.__version__})
t0 = time.perf_counter()
tflite2onnx.convert(sys.argv[1], sys.argv[2])
report(convert_s=time.perf_counter() - t0)
""",
    "tf2onnx": _REPORT + """
import onnx
import tensorflow as tf
import tf2onnx
report(versions={"tf2onnx": version("tf2onnx"), "tensorflow": tf.__version__, "onnx": onnx.__version__})
t0 = time.perf_counter()
tf2onnx.convert.from_tflite(sys.argv[1], opset=17, output_path=sys.argv[2])
report(convert_s=time.perf_counter() - t0)
""",
}
_HEADER = "import json, sys, time\nfrom importlib.metadata import version\n"
_FRAME = re.compile(r'^File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_EXC = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)|AssertionError)\b")


def last_error(stderr: str, rc: int) -> str:
    """The converter's last error line: its exception line (the last line of the traceback), with
    tf2onnx's "Unsupported ops" log line before it when there is one."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    exc = next((ln for ln in reversed(lines) if _EXC.match(ln)), None)
    unsupported = next((ln for ln in reversed(lines) if "Unsupported ops" in ln), None)
    msg = exc or (lines[-1] if lines else f"exit status {rc}, nothing on stderr")
    frames = [m for m in (_FRAME.match(ln) for ln in lines) if m]
    if exc and frames:
        where = frames[-1]
        msg += f" (raised at {where['file'].split('site-packages/')[-1]}:{where['line']} in {where['func']})"
    if unsupported and unsupported not in msg:
        msg = f"{unsupported} -> {msg}"
    return msg


def convert(converter: str, python: str, src: str, dst: str, timeout: float) -> dict[str, Any]:
    res: dict[str, Any] = {"converter": converter}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if converter == "numlite":
        env["PYTHONPATH"] = ROOT
    cmd = [python, "-c", _HEADER + DRIVERS[converter], src, dst]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT if converter == "numlite" else os.path.dirname(dst))
    except subprocess.TimeoutExpired:
        res["error"] = f"timed out after {timeout:.0f} s"
        return res
    res["process_s"] = time.perf_counter() - t0
    for ln in proc.stdout.splitlines():
        if ln.startswith(MARK):
            res.update(json.loads(ln[len(MARK):]))
    if proc.returncode != 0:
        res["error"] = last_error(proc.stderr, proc.returncode)
    elif not os.path.exists(dst):
        res["error"] = "exited 0 but wrote no ONNX file"
    res["stderr_tail"] = proc.stderr.splitlines()[-30:]
    return res


def _line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return f"{type(e).__name__}: {s[-1] if s else ''}"[:300]


def check(path: str, counts: dict[str, Any]) -> tuple[str, str | None]:
    """onnx.checker's verdict; ``counts`` gets the node and Transpose counts and the opsets."""
    import onnx

    try:
        model = onnx.load(path)
    except Exception as e:
        return "no", f"onnx.load: {_line(e)}"
    counts["nodes"] = len(model.graph.node)
    counts["transposes"] = sum(n.op_type == "Transpose" for n in model.graph.node)
    counts["opsets"] = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    try:
        onnx.checker.check_model(model, full_check=True)
        return "yes", None
    except Exception as e:
        full = _line(e)
    try:
        onnx.checker.check_model(model)
        return "basic", f"full_check: {full}"
    except Exception as e:
        return "no", f"checker: {_line(e)}"


def _nchw(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], shape[3], shape[1], shape[2])


def adapt_input(x: np.ndarray, detail: dict[str, Any], onnx_shape: list[Any], onnx_type: str,
                notes: set[str]) -> np.ndarray:
    """LiteRT's input ``x`` as the ONNX input wants it (layout, dtype)."""
    want = tuple(d if isinstance(d, int) else -1 for d in onnx_shape)
    if x.ndim == 4 and len(want) == 4 and not _fits(x.shape, want) and _fits(_nchw(x.shape), want):
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        notes.add("NCHW I/O")
    types = {"tensor(float)": np.float32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
             "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float16)": np.float16}
    dt = types.get(onnx_type)
    if dt is not None and x.dtype != dt:
        scale, zp = detail["quantization"]
        if x.dtype.kind in "iu" and np.dtype(dt).kind == "f" and scale:
            x = ((x.astype(np.float32) - zp) * np.float32(scale)).astype(dt)
            notes.add("float I/O")
        else:
            x = x.astype(dt)
    if len(want) == x.ndim and not _fits(x.shape, want) and x.size == int(np.prod([d for d in want if d > 0])):
        x = x.reshape([d if d > 0 else 1 for d in want])
    return x


def _fits(shape: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return len(shape) == len(want) and all(w in (-1, s) for s, w in zip(shape, want))


def compare(onnx_out: np.ndarray, ref: np.ndarray, detail: dict[str, Any], notes: set[str]
            ) -> tuple[float, bool, float, float]:
    """(difference, in quantization steps?, max absolute difference, max |LiteRT|) of one output
    against LiteRT's."""
    a = np.asarray(onnx_out)
    if a.shape != ref.shape:
        if a.ndim == 4 and ref.ndim == 4 and a.shape == _nchw(ref.shape):
            a = a.transpose(0, 2, 3, 1)
            notes.add("NCHW I/O")
        elif a.size == ref.size:
            a = a.reshape(ref.shape)
        else:
            raise ValueError(f"output shape {a.shape} vs LiteRT's {ref.shape}")
    scale, zp = detail["quantization"]
    if ref.dtype.kind in "iu" and scale:
        if a.dtype.kind in "iu":
            d = float(np.max(np.abs(a.astype(np.int64) - ref.astype(np.int64)), initial=0))
            return d, True, d, float(np.max(np.abs(ref.astype(np.int64)), initial=0))
        notes.add("float I/O")
        deq = (ref.astype(np.float64) - zp) * scale
        d = float(np.max(np.abs(a.astype(np.float64) - deq), initial=0.0))
        return d / scale, True, d, float(np.max(np.abs(deq), initial=0.0))
    b = ref.astype(np.float64)
    d = float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0))
    big = float(np.max(np.abs(b), initial=0.0))
    return d / max(big, 1e-30), False, d, big


def session(path: str) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])


def measure(model: str, path: str, given: list[np.ndarray] | None, rows: list[dict[str, Any]], runs: int,
            warmup: int) -> None:
    """ORT sessions of the model's converted files (``rows`` without an error) and LiteRT,
    interleaved; fills in the rows."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    lt = LiteRT(model_path=path, num_threads=1)
    lt.allocate_tensors()
    in_d, out_d = lt.get_input_details(), lt.get_output_details()
    feeds = inputs_for(in_d, given)
    for d, v in zip(in_d, feeds):
        lt.set_tensor(d["index"], v)
    lt.invoke()
    refs = [lt.get_tensor(d["index"]).copy() for d in out_d]
    by_name_in = {d["name"]: i for i, d in enumerate(in_d)}
    by_name_out = {d["name"]: i for i, d in enumerate(out_d)}
    runners: list[tuple[dict[str, Any] | None, Any]] = [(None, lt.invoke)]
    for r in rows:
        if "error" in r:
            continue
        notes: set[str] = set()
        try:
            sess = session(r["onnx_path"])
            feed = {}
            for pos, i in enumerate(sess.get_inputs()):
                k = by_name_in.get(i.name, pos)
                feed[i.name] = adapt_input(feeds[k], in_d[k], i.shape, i.type, notes)
            outs = sess.run(None, feed)
            diffs = []
            for pos, (o, val) in enumerate(zip(sess.get_outputs(), outs)):
                k = by_name_out.get(o.name, pos)
                diffs.append((*compare(val, refs[k], out_d[k], notes), out_d[k]["name"], refs[k].shape))
            if len(outs) != len(refs):
                notes.add(f"{len(outs)} outputs, LiteRT {len(refs)}")
        except Exception as e:
            r["ort_error"] = _line(e)
            print(f"{model} / {r['converter']}: ONNX Runtime: {r['ort_error']}", file=sys.stderr)
            continue
        r["max_diff"] = max((d[0] for d in diffs), default=0.0)
        r["diff_in_steps"] = any(d[1] for d in diffs)
        worst = max(diffs, key=lambda d: d[0], default=None)
        if worst is not None and not worst[1] and worst[0] > 1e-3:
            # say which output and how large it is: a relative difference of a tiny output can be large
            notes.add(f"max diff from output {worst[4]} {list(worst[5])}: max |LiteRT| {worst[3]:.3g}, "
                      f"max |ONNX - LiteRT| {worst[2]:.3g}")
        r["io_notes"] = sorted(notes)
        runners.append((r, lambda s=sess, f=feed: s.run(None, f)))
    times: list[list[float]] = [[] for _ in runners]
    for _ in range(warmup):
        for _, fn in runners:
            fn()
    while len(times[0]) < runs:
        for (_, fn), t in zip(runners, times):
            timed_block(fn, t, n=min(BLOCK, runs - len(t)) or 1)
    lt_ms, lt_q = statistics.median(times[0]) * 1e3, _quartiles(times[0])
    for (r, _), t in zip(runners[1:], times[1:]):
        assert r is not None
        r["ort_ms"], r["ort_q_ms"] = statistics.median(t) * 1e3, _quartiles(t)
        r["litert_ms"], r["litert_q_ms"] = lt_ms, lt_q
        r["runs"] = len(t)


def _quartiles(t: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(t, n=4)
    return q[0] * 1e3, q[2] * 1e3


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git_head() -> str:
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "numlite"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + (" + uncommitted changes under numlite/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _ms(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _spread(r: dict[str, Any], key: str) -> str:
    """median and interquartile range (25th - 75th percentile)."""
    if r.get(key) is None:
        return "n/a"
    lo, hi = r[key.replace("_ms", "_q_ms")]
    return f"{_ms(r[key])} ({_ms(lo)}-{_ms(hi)})"


def _diff(r: dict[str, Any]) -> str:
    if "max_diff" not in r:
        return "n/a"
    if r["diff_in_steps"]:
        return f"{r['max_diff']:.3g} steps"
    return f"{r['max_diff']:.2e}"


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def table(rows: list[dict[str, Any]], versions: dict[str, dict[str, str]], skipped: dict[str, str],
          info: dict[str, Any], runs: int) -> str:
    out = [machine_line(info), ""]
    ver = []
    for c in CONVERTERS:
        if c in skipped:
            ver.append(f"{c}: skipped ({skipped[c]})")
        elif c in versions:
            v = versions[c]
            extra = ", ".join(f"{k} {val}" for k, val in v.items() if k != c)
            ver.append(f"{c} {v.get(c, '?')}" + (f" (commit {_git_head()})" if c == "numlite" else "")
                       + (f" ({extra})" if extra else ""))
        else:
            ver.append(f"{c}: versions unknown (its Python did not get past its imports)")
    out.append("Converters: " + "; ".join(ver) + ".")
    out.append(f"Runtimes: onnxruntime {_pkg('onnxruntime')} (CPU, 1 thread, ORT_ENABLE_ALL), ai-edge-litert "
               f"{_pkg('ai-edge-litert')} (1 thread); Python {sys.version.split()[0]}, NumPy {np.__version__}; "
               f"ms: median (25th-75th percentile) of {runs} interleaved runs.")
    out += ["",
            "| model | converter | convert s | process s | ONNX MB | opset | nodes (Transpose) | checker | ORT ms "
            "| LiteRT ms | ORT / LiteRT | max diff | notes |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        head = f"| {r['model']} | {r['converter']} |"
        if "error" in r:
            proc = f"{r['process_s']:.1f}" if "process_s" in r else "n/a"
            out.append(f"{head} failed | {proc} | | | | | | | | | {_cell(r['error'])} |")
            continue
        notes = list(r.get("io_notes", []))
        if r.get("check_note"):
            notes.append(r["check_note"])
        if r.get("ort_error"):
            notes.append(f"ONNX Runtime: {r['ort_error']}")
        ratio = f"{r['ort_ms'] / r['litert_ms']:.2f}" if r.get("ort_ms") else "n/a"
        nodes = f"{r['nodes']} ({r['transposes']})" if "nodes" in r else "n/a"
        opset = r.get("opsets", {}).get("ai.onnx", "n/a")
        out.append(f"{head} {r['convert_s']:.2f} | {r['process_s']:.1f} | {r['size'] / 1e6:.2f} | {opset} | {nodes} | "
                   f"{r['checker']} | "
                   f"{_spread(r, 'ort_ms')} | {_spread(r, 'litert_ms')} | {ratio} | {_diff(r)} | "
                   f"{_cell('; '.join(notes))} |")
    fails = [r for r in rows if "error" in r]
    if fails:
        out += ["", "Failed conversions (the converter's last error line):"]
        out += [f"- {r['model']} / {r['converter']}: {r['error']}" for r in fails]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--numlite-python", default=sys.executable,
                   help="the Python that runs numlite's export (default: this one)")
    p.add_argument("--tflite2onnx-python", help="a Python with tflite2onnx installed (else it is skipped)")
    p.add_argument("--tf2onnx-python", help="a Python with tf2onnx and TensorFlow installed (else it is skipped)")
    p.add_argument("--models", nargs="+", default=REFERENCE + MEDIAPIPE)
    p.add_argument("--runs", type=int, default=30, help="timed runs per runtime (medians; default 30)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per conversion")
    p.add_argument("--keep", metavar="DIR", help="write the .tflite and .onnx files here (default: a temp dir)")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    a = p.parse_args(argv)
    pythons = {"numlite": a.numlite_python, "tflite2onnx": a.tflite2onnx_python, "tf2onnx": a.tf2onnx_python}
    skipped = {c: f"no --{c}-python given" for c, py in pythons.items() if not py}
    for c, why in skipped.items():
        print(f"{c}: skipped: {why}", file=sys.stderr)
    active = [c for c in CONVERTERS if c not in skipped]
    rows: list[dict[str, Any]] = []
    versions: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="numlite-onnx-cmp-") as tmp:
        work = a.keep or tmp
        os.makedirs(work, exist_ok=True)
        for name in a.models:
            try:
                path, given = model_file(name, work)
                if needs_mediapipe_ops(path):
                    print(f"{name}: skipped (MediaPipe custom ops: LiteRT cannot run it)", file=sys.stderr)
                    continue
            except Exception as e:
                print(f"{name}: cannot build or find it: {_line(e)}", file=sys.stderr)
                continue
            mrows = []
            for c in active:
                dst = os.path.join(work, f"{name}.{c}.onnx")
                if os.path.exists(dst):
                    os.remove(dst)
                print(f"{name}: converting with {c} ...", file=sys.stderr, flush=True)
                r = convert(c, pythons[c], path, dst, a.timeout)
                if "versions" in r:
                    versions.setdefault(c, r["versions"])
                r["model"] = name
                if "error" in r:
                    print(f"{name} / {c}: failed: {r['error']}", file=sys.stderr)
                else:
                    r["onnx_path"] = dst
                    r["size"] = os.path.getsize(dst)
                    r["checker"], r["check_note"] = check(dst, r)
                mrows.append(r)
            print(f"{name}: {a.runs} interleaved runs of LiteRT and {sum('error' not in r for r in mrows)} ONNX "
                  "Runtime session(s) ...", file=sys.stderr, flush=True)
            try:
                measure(name, path, given, mrows, a.runs, a.warmup)
            except Exception as e:
                print(f"{name}: measurement failed: {_line(e)}", file=sys.stderr)
                for r in mrows:
                    r.setdefault("ort_error", f"measurement failed: {_line(e)}")
            rows += mrows
    info = machine()
    print(table(rows, versions, skipped, info, a.runs))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": info, "versions": versions, "skipped": skipped, "runs": a.runs,
                       "rows": [{k: v for k, v in r.items() if k != "stderr_tail"} for r in rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
