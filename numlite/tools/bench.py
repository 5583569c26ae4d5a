"""``numlite bench``: time a model the way TensorFlow Lite's ``benchmark_model`` does, and print
what ``benchmark_model`` prints, so that scripts which parse its output work unchanged.

    numlite bench MODEL [--num_threads N] [--num_runs N] [--warmup_runs N] [--min_secs S]
                        [--warmup_min_secs S] [--max_secs S] [--enable_op_profiling]
                        [--input NAME=FILE.npy ...] [--seed N] [--compare-litert] [--json]

(``--graph=MODEL`` works as well, and every ``--a_b`` option is also ``--a-b``.)

The same in Python::

    from numlite.tools.bench import benchmark, format_report
    result = benchmark("m.tflite", num_threads=2, num_runs=50, enable_op_profiling=True)
    result["inference_timings_us"]["inference_avg"]      # microseconds, as benchmark_model
    print(format_report(result))                          # benchmark_model's text

``benchmark(path, num_threads=1, num_runs=50, warmup_runs=1, min_secs=1.0, warmup_min_secs=0.5,
max_secs=150.0, enable_op_profiling=False, inputs=None, seed=0, compare_litert=False,
progress=None, log=None, litert_gap_s=0.2) -> dict`` returns everything the text shows (the ``--json`` document):
``params``, ``inputs``, ``model_size_mb``, ``init_us``, ``warmup`` and ``inference`` (count,
first, curr, min, max, avg, std, median and every run in ``runs_us``), ``inference_timings_us``,
``memory`` (the RSS deltas, the peak RSS and ``Interpreter.memory_report()``), ``op_profile``
(with ``enable_op_profiling``) and ``litert`` (with ``compare_litert``).  ``inputs`` maps an
input's name (or position) to an array or a .npy path; the others get ``_common.random_input`` values drawn
with ``seed``.  ``log``, a function taking one line, receives the text as it is produced.

Method, as ``benchmark_model`` (tensorflow/lite/tools/benchmark/benchmark_model.cc):

* Init: construct the ``numlite.Interpreter`` (verify and decode the file), resize the inputs
  given with other shapes, ``allocate_tensors``.  The inputs are set once, after Init (benchmark_model copies them in
  before every run, outside the timing; numlite's invoke does not change its inputs).
* Warm-up: at least ``warmup_runs`` invokes and at least ``warmup_min_secs`` seconds; then the
  regular runs: at least ``num_runs`` and at least ``min_secs`` seconds; neither goes past
  ``max_secs``.  Each run is one ``Interpreter.invoke()`` between two readings of a microsecond
  clock (``time.perf_counter_ns() // 1000``); ``count= first= curr= min= max= avg= std=`` are
  TFLite's ``Stat`` (integer microseconds, population standard deviation truncated as TFLite's).
* Memory: ``Memory footprint delta from the start of the tool (MB): init=X overall=X`` is, as in
  TFLite, the growth of the process's peak resident set (``getrusage().ru_maxrss``) from the
  start of the benchmark to the end of Init and to the end of the runs.  On Linux the peak is
  read as ``VmHWM`` of /proc/self/status (the same figure for a process started from a shell,
  and right for one exec'd from a large parent, whose ``ru_maxrss`` starts at the parent's
  peak).  A peak never goes down: called in a process that already peaked higher (a test
  run), the deltas read 0.  numlite adds its own lines: the peak RSS itself, the RSS at the end
  (``VmRSS``) and the tensor arena (``Interpreter.memory_report()``).  No tracemalloc is used
  (it would slow every allocation).
* ``enable_op_profiling``: the regular runs time every executed node (the steps of each
  subgraph executor are wrapped by timing closures for the duration of the benchmark and put
  back afterwards; the executor itself is unchanged) and print TFLite's profile summary
  (``Operator-wise Profiling Info for Regular Benchmark Runs:``, the ``Run Order`` and
  ``Top by Computation Time`` tables, ``Summary by node type``: the format of
  tsl/util/stats_calculator.cc).  Nodes numlite folded into constants at ``allocate_tensors``
  do not run and are not listed.  Subgraphs run by control flow get their own section, as in
  TFLite; their nodes' time is also inside the calling node's.
* ``compare_litert``: the same model in ``ai_edge_litert``'s interpreter (XNNPACK by default),
  same thread count and inputs.  After the warm-up of each, the two alternate in blocks of 5
  timed invokes, each block after a 0.2 s pause and one untimed invoke (so that neither
  runtime's spinning worker threads slow the other) until each has ``num_runs`` timings; the
  medians and their ratio (numlite / LiteRT: above 1, numlite is slower) are printed.
* A tqdm progress bar (the ``progress`` extra) on stderr when stderr is a terminal and the runs
  are expected to take more than 3 s; without tqdm, no bar.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import (
    BAD_INPUT,
    EXIT_CODES_HELP,
    FAILED,
    MISSING_EXTRA,
    USAGE,
    CLIError,
    check_model_path,
    make_interpreter,
    print_json,
    random_input,
)

#: the lines of ``benchmark_model`` start with its log prefix
INFO = "INFO: "
#: blocks of the interleaved numlite / LiteRT comparison (benchmarks/bench.py's method)
BLOCK = 5
QUIET_GAP_S = 0.2
#: show a progress bar when the runs are expected to take longer than this
PROGRESS_AFTER_S = 3.0

EXAMPLES = """examples:
  numlite bench mobilenet_v1.tflite
  numlite bench m.tflite --num_threads=2 --num_runs=100 --enable_op_profiling
  numlite bench m.tflite --input input=image.npy --compare-litert
  numlite bench --graph=m.tflite --min_secs=0 --num_runs=20 --json > result.json
"""


# -- TFLite's Stat (tsl/util/stats_calculator.h) ------------------------------------------------
class Stat:
    """Integer samples summarised as TFLite's ``Stat<int64_t>``."""

    __slots__ = ("count", "first", "newest", "min", "max", "sum", "squared_sum")

    def __init__(self) -> None:
        self.count = self.first = self.newest = self.sum = 0
        self.min: int | None = None
        self.max: int | None = None
        self.squared_sum = 0.0

    def update(self, v: int) -> None:
        if self.count == 0:
            self.first = v
            self.min = self.max = v
        elif v < self.min:  # type: ignore[operator]
            self.min = v
        elif v > self.max:  # type: ignore[operator]
            self.max = v
        self.newest = v
        self.count += 1
        self.sum += v
        self.squared_sum += float(v) * v

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else 0.0

    @property
    def std(self) -> int:
        """Population standard deviation; TFLite keeps the variance and the result as int64."""
        if self.count == 0 or self.min == self.max:
            return 0
        variance = int(self.squared_sum / self.count - self.avg * self.avg)
        return int(math.sqrt(max(variance, 0)))

    def __str__(self) -> str:
        if self.count == 0:
            return "count=0"
        if self.min == self.max:
            return f"count={self.count} curr={self.newest}" + ("(all same)" if self.count > 1 else "")
        return (f"count={self.count} first={self.first} curr={self.newest} min={self.min} max={self.max} "
                f"avg={self.avg:g} std={self.std}")

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "first": self.first, "curr": self.newest, "min": self.min or 0,
                "max": self.max or 0, "avg": self.avg, "std": self.std}


def _g(x: float) -> str:
    """A double as C++'s ``ostream << double`` prints it (``%g``)."""
    return f"{x:g}"


def _now_us() -> int:
    return time.perf_counter_ns() // 1000


# -- memory ----------------------------------------------------------------------------------
def memory_usage() -> dict[str, Any] | None:
    """``{"peak_kb", "rss_kb", "method"}`` of this process, or None where neither can be read.
    peak: ``VmHWM`` of /proc/self/status (Linux), else ``getrusage(RUSAGE_SELF).ru_maxrss``
    (kB; bytes on macOS); rss: ``VmRSS`` (Linux only, else None)."""
    peak = rss = None
    try:
        with open("/proc/self/status") as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    peak = int(ln.split()[1])
                elif ln.startswith("VmRSS:"):
                    rss = int(ln.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    if peak is not None:
        return {"peak_kb": peak, "rss_kb": rss, "method": "VmHWM/VmRSS of /proc/self/status"}
    try:
        import resource
    except ImportError:  # Windows
        return None
    ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_kb": ru // 1024 if sys.platform == "darwin" else ru, "rss_kb": rss,
            "method": "getrusage(RUSAGE_SELF).ru_maxrss"}


# -- the run loop (BenchmarkModel::Run) --------------------------------------------------------
def run_loop(fn: Callable[[], Any], min_runs: int, min_secs: float, max_secs: float,
             after_run: Callable[[], Any] | None = None) -> tuple[Stat, list[int]]:
    """At least ``min_runs`` calls and at least ``min_secs`` seconds, none started after
    ``max_secs``; each call timed in integer microseconds.  ``after_run`` (untimed) after each."""
    stat = Stat()
    runs: list[int] = []
    now = _now_us()
    min_finish = now + int(min_secs * 1e6)
    max_finish = now + int(max_secs * 1e6)
    clock = time.perf_counter_ns
    run = 0
    while (run < min_runs or now < min_finish) and now <= max_finish:
        start = clock() // 1000
        fn()
        now = clock() // 1000
        stat.update(now - start)
        runs.append(now - start)
        if after_run is not None:
            after_run()
            now = _now_us()
        run += 1
    return stat, runs


def _running_line(min_runs: int, min_secs: float, max_secs: float) -> str:
    return (f"{INFO}Running benchmark for at least {min_runs} iterations and at least {_g(min_secs)} seconds but "
            f"terminate if exceeding {_g(max_secs)} seconds.")


# -- op profiling ------------------------------------------------------------------------------
class _Detail:
    __slots__ = ("name", "type", "run_order", "elapsed", "times_called", "node")

    def __init__(self, name: str, type_: str, run_order: int, node: int):
        self.name, self.type, self.run_order, self.node = name, type_, run_order, node
        self.elapsed = Stat()
        self.times_called = 0


class _Calculator:
    """TFLite's StatsCalculator for one subgraph (op invoke events only: memory is 0)."""

    def __init__(self, subgraph: int):
        self.subgraph = subgraph
        self.run_total = Stat()
        self.details: dict[str, _Detail] = {}

    def add(self, name: str, type_: str, run_order: int, node: int, elapsed: int) -> None:
        d = self.details.get(name)
        if d is None:
            d = self.details[name] = _Detail(name, type_, run_order, node)
        d.elapsed.update(elapsed)
        d.times_called += 1

    def rows(self, ordered: list[_Detail]) -> list[dict[str, Any]]:
        total = self.run_total.sum
        runs = max(self.run_total.count, 1)
        out, cum = [], 0
        for d in ordered:
            cum += d.elapsed.sum
            pct = d.elapsed.sum * 100.0 / total if total else math.nan
            cdf = float(np.float32(cum) * np.float32(100.0) / np.float32(total)) if total else math.nan
            out.append({"subgraph": self.subgraph, "node": d.node, "type": d.type, "name": d.name,
                        "first_ms": d.elapsed.first / 1000.0, "avg_ms": d.elapsed.avg / 1000.0, "percent": pct,
                        "cdf_percent": cdf, "mem_kb": 0.0, "times_called": d.times_called // runs})
        return out

    def by_type(self) -> list[dict[str, Any]]:
        runs = self.run_total.count
        if not runs:
            return []
        count: dict[str, int] = {}
        us: dict[str, int] = {}
        called: dict[str, int] = {}
        accumulated = 0
        for d in self.details.values():
            t = d.elapsed.sum // runs
            accumulated += t
            count[d.type] = count.get(d.type, 0) + 1
            us[d.type] = us.get(d.type, 0) + t
            called[d.type] = called.get(d.type, 0) + d.times_called // runs
        out = []
        cdf = np.float32(0.0)
        # TFLite: a priority queue of (time, (type, mem)): by time, then by name, both descending
        for name, t in sorted(us.items(), key=lambda kv: (kv[1], kv[0]), reverse=True):
            pct = np.float32(t) / np.float32(accumulated) * np.float32(100.0) if accumulated else np.float32(np.nan)
            cdf = np.float32(cdf + pct)
            out.append({"type": name, "count": count[name], "avg_ms": float(np.float32(t) / np.float32(1000.0)),
                        "avg_percent": float(pct), "cdf_percent": float(cdf), "mem_kb": 0.0,
                        "times_called": called[name]})
        return out

    def as_dict(self) -> dict[str, Any]:
        run_order = sorted(self.details.values(), key=lambda d: d.run_order)
        by_time = sorted(run_order, key=lambda d: -d.elapsed.avg)[:10]
        return {"subgraph": self.subgraph, "runs": self.run_total.count, "run_total_us": self.run_total.as_dict(),
                "run_total_text": str(self.run_total), "nodes_observed": len(self.details),
                "run_order": self.rows(run_order), "top_by_computation_time": self.rows(by_time),
                "by_type": self.by_type()}


class OpProfiler:
    """Per-node timing of every subgraph executor of a numlite ``Interpreter``, without changing
    numlite: each bound step (``SubgraphExecutor.steps``) is replaced by a closure that times it
    (a node fused into another, executor step 2b, is listed after it with 0 us),
    and each kernel's ``bind`` (an instance attribute shadowing the class's method) wraps the
    steps bound while the profiler is attached (dynamic shapes, control flow).  ``detach()`` puts
    everything back."""

    def __init__(self, interpreter: Any):
        self.it = interpreter
        self.events: list[tuple[int, int, int, int, int]] = []  # (seq, subgraph, node, key, elapsed us)
        self.calcs: dict[int, _Calculator] = {0: _Calculator(0)}
        self._seq = 0
        self._active: set[int] = set()
        self._names: dict[int, tuple[str, str, int, int]] = {}  # key -> (name, type, subgraph, node)
        self._patched: list[Any] = []
        self._executors: list[Any] = []

    def _key(self, ex: Any, ni: int) -> int:
        key = id(ex) * 100003 + ni
        if key not in self._names:
            sg = ex.subgraph
            node = ex.kernels[ni].node
            outs = ", ".join(sg.tensors[o].name if o >= 0 else "Unknown" for o in node.outputs)
            self._names[key] = (f"[{outs}]:{ni}", node.op_name, sg.index, ni)
        return key

    def _wrap(self, ex: Any, ni: int, step: Callable[[], None]) -> Callable[[], None]:
        key = self._key(ex, ni)
        sg_index = ex.subgraph.index
        clock = time.perf_counter_ns
        events = self.events
        active = self._active
        # nodes fused into this one (executor step 2b) are listed after it with 0 us, as they ran in its step
        fused = [(c, self._key(ex, c)) for c, _, _ in ex.hosted.get(ni, ())]

        def timed() -> None:
            if key in active:  # a lazily prepared node runs its new step inside the old one
                step()
                return
            active.add(key)
            self._seq += 1
            seq = self._seq
            t0 = clock() // 1000
            try:
                step()
            finally:
                active.discard(key)
            events.append((seq, sg_index, ni, key, clock() // 1000 - t0))
            for c, kc in fused:
                self._seq += 1
                events.append((self._seq, sg_index, c, kc, 0))

        timed._nlb_key = key  # type: ignore[attr-defined]
        timed._nlb_inner = step  # type: ignore[attr-defined]
        return timed

    def attach(self) -> None:
        for ex in list(self.it._runtime.all_executors()):
            self._executors.append(ex)
            for ni, k in enumerate(ex.kernels):
                if "bind" in k.__dict__:
                    continue
                cls_bind = k.bind

                def bind(*a: Any, _b: Any = cls_bind, _ex: Any = ex, _ni: int = ni, **kw: Any) -> Any:
                    return self._wrap(_ex, _ni, _b(*a, **kw))

                k.bind = bind
                self._patched.append(k)
        self.rewrap()

    def rewrap(self) -> None:
        """Wrap every step not wrapped yet (control flow may have created executors since)."""
        known = {id(e) for e in self._executors}
        for ex in self.it._runtime.all_executors():
            if id(ex) not in known:
                self._executors.append(ex)
            for p, (ni, step) in enumerate(zip(ex.step_nodes, ex.steps)):
                if step is not None and getattr(step, "_nlb_key", None) != self._key(ex, ni):
                    ex.steps[p] = self._wrap(ex, ni, step)

    def detach(self) -> None:
        for k in self._patched:
            k.__dict__.pop("bind", None)
        self._patched = []
        for ex in self._executors:
            for p, step in enumerate(ex.steps):
                while hasattr(step, "_nlb_inner"):
                    step = step._nlb_inner
                ex.steps[p] = step
        self._executors = []

    def end_run(self) -> None:
        """Summarise one run's events (ProfileSummarizer::ProcessProfiles)."""
        events = sorted(self.events)
        self.events.clear()
        totals: dict[int, int] = {}
        for node_num, (_, sg, ni, key, elapsed) in enumerate(events):
            calc = self.calcs.get(sg)
            if calc is None:
                calc = self.calcs[sg] = _Calculator(sg)
            name, type_, _, _ = self._names[key]
            calc.add(name, type_, node_num, ni, elapsed)
            totals[sg] = totals.get(sg, 0) + elapsed
        for sg, total in totals.items():
            self.calcs[sg].run_total.update(total)

    def result(self) -> dict[str, Any]:
        return {"subgraphs": [self.calcs[k].as_dict() for k in sorted(self.calcs)]}


def _field(width: int, value: Any) -> str:
    """``InitField``: a tab, then right-aligned in ``width``, floats with 3 decimals."""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return "\t" + text.rjust(width)


TYPE_WIDTH = 40  # kNodeTypeWidth of tsl/util/stats_calculator.cc


def _table(title: str, rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"============================== {title} ==============================",
             _field(TYPE_WIDTH, "[node type]") + _field(9, "[first]") + _field(9, "[avg ms]") + _field(8, "[%]")
             + _field(8, "[cdf%]") + _field(10, "[mem KB]") + _field(9, "[times called]") + "\t[Name]"]
    for r in rows:
        lines.append(_field(TYPE_WIDTH, r["type"]) + _field(9, r["first_ms"]) + _field(9, r["avg_ms"])
                     + _field(7, r["percent"]) + "%" + _field(7, r["cdf_percent"]) + "%"
                     + _field(10, r["mem_kb"]) + _field(9, r["times_called"]) + "\t" + r["name"])
    return lines + [""]


def profile_lines(op_profile: dict[str, Any]) -> list[str]:
    """TFLite's ``Operator-wise Profiling Info for Regular Benchmark Runs:`` text."""
    subgraphs = op_profile["subgraphs"]
    several = any(s["subgraph"] != 0 for s in subgraphs)
    lines = [f"{INFO}Operator-wise Profiling Info for Regular Benchmark Runs:"]
    for s in subgraphs:
        if several:
            sub = s["subgraph"]
            lines.append("Primary graph profile:" if sub == 0 else f"Subgraph (index: {sub}) profile:")
        lines += _table("Run Order", s["run_order"])
        lines += _table("Top by Computation Time", s["top_by_computation_time"])
        lines.append(f"Number of nodes executed: {s['nodes_observed']}")
        lines.append("============================== Summary by node type ==============================")
        lines.append(_field(TYPE_WIDTH, "[Node type]") + _field(9, "[count]") + _field(10, "[avg ms]")
                     + _field(11, "[avg %]") + _field(11, "[cdf %]") + _field(10, "[mem KB]")
                     + _field(10, "[times called]"))
        for r in s["by_type"]:
            lines.append(_field(TYPE_WIDTH, r["type"]) + _field(9, r["count"]) + _field(10, r["avg_ms"])
                         + _field(10, r["avg_percent"]) + "%" + _field(10, r["cdf_percent"]) + "%"
                         + _field(10, r["mem_kb"]) + _field(9, r["times_called"]))
        lines.append("")
        prefix = f"Subgraph (index: {s['subgraph']}) " if s["subgraph"] else ""
        lines += [f"{prefix}Timings (microseconds): {s['run_total_text']}", "Memory (bytes): count=0",
                  f"{s['nodes_observed']} nodes observed", "", ""]
    return lines


# -- inputs ------------------------------------------------------------------------------------
def parse_input_args(specs: list[str] | None) -> dict[str, str]:
    """``--input NAME=FILE.npy`` (or ``FILE.npy`` alone, for a one-input model) -> {NAME: FILE}."""
    out: dict[str, str] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep:
            name, path = "", spec
        if name in out:
            raise CLIError(f"--input {spec}: input '{name}' given twice", USAGE)
        out[name] = path
    return out


def load_inputs(given: dict[Any, Any]) -> tuple[dict[Any, np.ndarray], list[str]]:
    """Arrays for ``benchmark(inputs=...)``: .npy paths are read; (arrays, ``name:file`` items)."""
    arrays: dict[Any, np.ndarray] = {}
    files: list[str] = []
    for key, value in given.items():
        if isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
            files.append(f"{key}:{path}" if key != "" else path)
            if not os.path.isfile(path):
                what = "is a directory" if os.path.isdir(path) else "no such file"
                raise CLIError(f"input {key or '#0'}: {path}: {what}", BAD_INPUT)
            try:
                arrays[key] = np.load(path, allow_pickle=False)
            except (OSError, ValueError, EOFError) as e:
                raise CLIError(f"input {key or '#0'}: cannot read {path} as a .npy file: {e}", BAD_INPUT) from None
            if not isinstance(arrays[key], np.ndarray):  # an .npz archive
                raise CLIError(f"input {key or '#0'}: {path} is not a .npy file", BAD_INPUT)
        else:
            arrays[key] = np.asarray(value)
            files.append(f"{key}:<array>")
    return arrays, files


def _match_inputs(details: list[dict[str, Any]], given: dict[Any, np.ndarray]) -> dict[int, tuple[np.ndarray, Any]]:
    """{position: (array, key)} for the given inputs, by name, position or (one input) ''."""
    names = [d["name"] for d in details]
    matched: dict[int, tuple[np.ndarray, str]] = {}
    for key, value in given.items():
        if key == "" and len(details) == 1:
            pos = 0
        elif isinstance(key, str) and key in names:
            pos = names.index(key)
        elif isinstance(key, (int, np.integer)) or (isinstance(key, str) and key.isdigit()):
            pos = int(key)
            if not 0 <= pos < len(details):
                raise CLIError(f"input #{pos}: the model has {len(details)} input(s)", BAD_INPUT)
        else:
            what = "an input NAME= is needed" if key == "" else f"no input named '{key}'"
            raise CLIError(f"{what}; the model's inputs: {', '.join(repr(n) for n in names)}", BAD_INPUT)
        if not isinstance(value, np.ndarray):
            value = np.asarray(value)
        matched[pos] = (value, key)
    return matched


# -- the benchmark -----------------------------------------------------------------------------
def _progress_bar(total: int, expected_s: float, enabled: bool | None, desc: str, unit: str = "run") -> Any:
    if enabled is False or (enabled is None and (expected_s <= PROGRESS_AFTER_S or not sys.stderr.isatty())):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False)


def _litert_interpreter() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise CLIError("--compare-litert needs LiteRT, which is not installed: pip install ai-edge-litert",
                       MISSING_EXTRA) from None
    return Interpreter


def _package_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - a version is only informative
        return "unknown"


def benchmark(path: str, num_threads: int = 1, num_runs: int = 50, warmup_runs: int = 1, min_secs: float = 1.0,
              warmup_min_secs: float = 0.5, max_secs: float = 150.0, enable_op_profiling: bool = False,
              inputs: dict[Any, np.ndarray] | None = None, seed: int = 0, compare_litert: bool = False,
              progress: bool | None = None, log: Callable[[str], Any] | None = None,
              litert_gap_s: float = QUIET_GAP_S) -> dict[str, Any]:
    """Benchmark ``path`` with numlite as ``benchmark_model`` does; see the module docstring.
    Raises ``CLIError`` (with the command's exit code) or numlite's errors."""
    import numlite

    emit = log or (lambda line: None)
    if num_threads == -1:  # benchmark_model's "default"
        num_threads = 1
    for name, value, low in (("num_threads", num_threads, 1), ("num_runs", num_runs, 0),
                             ("warmup_runs", warmup_runs, 0)):
        if value < low:
            raise CLIError(f"--{name} must be >= {low}, not {value}", USAGE)
    if max_secs <= 0:
        raise CLIError(f"--max_secs must be > 0, not {max_secs:g}", USAGE)
    LiteRT = _litert_interpreter() if compare_litert else None
    check_model_path(str(path))
    given, files = load_inputs(dict(inputs or {}))
    params = {"num_runs": num_runs, "min_secs": min_secs, "max_secs": max_secs, "num_threads": num_threads,
              "warmup_runs": warmup_runs, "warmup_min_secs": warmup_min_secs, "graph": str(path),
              "enable_op_profiling": bool(enable_op_profiling), "seed": seed,
              "input_value_files": files}
    res: dict[str, Any] = {"tool": f"numlite {numlite.__version__} bench", "model": str(path), "params": params}
    for line in param_lines(params):
        emit(line)

    # Init: construct (verify, decode), resize to the given inputs' shapes, allocate
    start_mem = memory_usage()
    t0 = _now_us()
    it = make_interpreter(str(path), num_threads)
    emit(f"{INFO}Loaded model {path}")  # as benchmark_model, once the file is read
    details = it.get_input_details()
    matched = _match_inputs(details, given)
    resized = False
    for pos, (value, key) in matched.items():
        d = details[pos]
        if tuple(int(v) for v in d["shape"]) != value.shape:
            try:
                it.resize_tensor_input(d["index"], list(value.shape))
            except (ValueError, RuntimeError) as e:
                raise CLIError(f"input '{d['name']}' ({key}): cannot take shape {list(value.shape)}: {e}",
                               BAD_INPUT) from None
            resized = True
    try:
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        if resized:
            raise CLIError(f"the model cannot run with the given input shapes: {e}", BAD_INPUT) from None
        raise
    init_us = _now_us() - t0
    init_mem = memory_usage()
    size_mb = os.path.getsize(path) / 1e6
    res["model_size_mb"] = size_mb
    res["init_us"] = init_us
    for line in init_lines(res):
        emit(line)

    # inputs (PrepareInputData): the given arrays, seeded random values for the others
    details = it.get_input_details()
    rng = np.random.default_rng(seed)
    sources = dict(zip(given, files))
    feeds: list[np.ndarray] = []
    res["inputs"] = []
    for pos, d in enumerate(details):
        if pos in matched:
            value, key = matched[pos]
            source = sources[key]
        else:
            value = random_input(d, rng)
            source = f"random (seed {seed})"
        try:
            it.set_tensor(d["index"], value)
        except (ValueError, TypeError) as e:
            raise CLIError(f"input '{d['name']}': {e}", BAD_INPUT) from None
        feeds.append(value)
        res["inputs"].append({"index": int(d["index"]), "name": d["name"], "shape": [int(v) for v in d["shape"]],
                              "dtype": np.dtype(d["dtype"]).name, "source": source})

    hint = "" if len(matched) == len(details) else " (some inputs were random: give real ones with --input)"

    def invoke() -> None:
        try:
            it.invoke()
        except Exception as e:  # noqa: BLE001 - a failing node: one line, exit 1
            raise CLIError(f"invoke failed: {type(e).__name__}: {e}{hint}", FAILED) from e

    # warm-up, then the regular runs (BenchmarkModel::Run)
    emit(_running_line(warmup_runs, warmup_min_secs, max_secs))
    warm, warm_runs = run_loop(invoke, warmup_runs, warmup_min_secs, max_secs)
    emit(f"{INFO}{warm}")
    emit("")
    profiler = OpProfiler(it) if enable_op_profiling else None
    per_run_s = (warm.avg or 1.0) / 1e6
    expected_runs = max(num_runs, math.ceil(min_secs / per_run_s)) if min_secs > 0 else num_runs
    expected_runs = min(expected_runs, max(num_runs, math.ceil(max_secs / per_run_s)))
    bar = _progress_bar(expected_runs, expected_runs * per_run_s, progress, "numlite bench")
    after: Callable[[], Any] | None = None
    if profiler is not None or bar is not None:
        def after() -> None:
            if profiler is not None:
                profiler.end_run()
                if it._main._has_dynamic:
                    profiler.rewrap()
            if bar is not None:
                bar.update(1)

    emit(_running_line(num_runs, min_secs, max_secs))
    try:
        if profiler is not None:
            profiler.attach()
        inf, inf_runs = run_loop(invoke, num_runs, min_secs, max_secs, after)
    finally:
        if profiler is not None:
            profiler.detach()
        if bar is not None:
            bar.close()
    emit(f"{INFO}{inf}")
    emit("")
    end_mem = memory_usage()
    res["warmup"] = {**warm.as_dict(), "median": statistics.median(warm_runs) if warm_runs else 0.0,
                     "runs_us": warm_runs}
    res["inference"] = {**inf.as_dict(), "median": statistics.median(inf_runs) if inf_runs else 0.0,
                        "runs_us": inf_runs}
    res["inference_timings_us"] = {"init": init_us, "first_inference": warm.first, "warmup_avg": warm.avg,
                                   "inference_avg": inf.avg}
    mem: dict[str, Any] = {"arena": it.memory_report()}
    if start_mem is not None and init_mem is not None and end_mem is not None:
        mem.update({"method": start_mem["method"],
                    "init_mb": (init_mem["peak_kb"] - start_mem["peak_kb"]) / 1024.0,
                    "overall_mb": (end_mem["peak_kb"] - start_mem["peak_kb"]) / 1024.0,
                    "peak_rss_mb": end_mem["peak_kb"] / 1024.0,
                    "rss_mb": end_mem["rss_kb"] / 1024.0 if end_mem["rss_kb"] is not None else None})
    res["memory"] = mem
    for line in end_lines(res):
        emit(line)

    res["op_profile"] = profiler.result() if profiler is not None else None
    if profiler is not None:
        for line in profile_lines(res["op_profile"]):
            emit(line)

    res["litert"] = None
    if LiteRT is not None:
        res["litert"] = compare_with_litert(it, LiteRT, str(path), num_threads, feeds, num_runs, warmup_runs,
                                            progress, litert_gap_s, inf.avg / 1e6)
        for line in litert_lines(res["litert"]):
            emit(line)
    return res


def timed_block(fn: Callable[[], Any], times: list[float], gap: float = QUIET_GAP_S, n: int = BLOCK) -> None:
    """One block of the interleaved comparison (benchmarks/bench.py's): a quiet gap so that the
    other runtime's spinning worker threads sleep, one untimed run, then ``n`` timed calls."""
    time.sleep(gap)
    fn()
    pc = time.perf_counter
    for _ in range(n):
        t0 = pc()
        fn()
        times.append(pc() - t0)


def compare_with_litert(it: Any, LiteRT: Any, path: str, num_threads: int, feeds: list[np.ndarray], num_runs: int,
                        warmup_runs: int, progress: bool | None = None, gap: float = QUIET_GAP_S,
                        invoke_s: float = 0.0) -> dict[str, Any]:
    """numlite's ``it`` against a LiteRT interpreter of the same file, threads and inputs,
    alternating blocks of ``BLOCK`` timed invokes until each has ``num_runs`` timings.  ``invoke_s``:
    numlite's time per invoke, if known (for the progress bar's estimate)."""
    try:
        lt = LiteRT(model_path=path, num_threads=num_threads)
        lt_in = lt.get_input_details()
        for d, v in zip(lt_in, feeds):
            if tuple(int(s) for s in d["shape"]) != v.shape:
                lt.resize_tensor_input(d["index"], list(v.shape))
        lt.allocate_tensors()
        for d, v in zip(lt.get_input_details(), feeds):
            lt.set_tensor(d["index"], v)
        for _ in range(max(1, warmup_runs)):
            lt.invoke()
    except Exception as e:  # noqa: BLE001 - LiteRT's own refusal, as one line
        raise CLIError(f"LiteRT cannot run this model: {type(e).__name__}: {str(e).strip().splitlines()[0]}",
                       FAILED) from None
    runs = max(1, num_runs)
    t_nl: list[float] = []
    t_lt: list[float] = []
    blocks = math.ceil(runs / BLOCK)
    bar = _progress_bar(2 * blocks, 2 * blocks * gap + blocks * (BLOCK + 1) * invoke_s, progress,
                        "numlite vs LiteRT", "block")
    try:
        while len(t_lt) < runs:
            timed_block(it.invoke, t_nl, gap)
            timed_block(lt.invoke, t_lt, gap)
            if bar is not None:
                bar.update(2)
    finally:
        if bar is not None:
            bar.close()
    nl_ms = statistics.median(t_nl) * 1e3
    lt_ms = statistics.median(t_lt) * 1e3
    diffs = []
    for d_nl, d_lt in zip(it.get_output_details(), lt.get_output_details()):
        a, b = it.get_tensor(d_nl["index"]), lt.get_tensor(d_lt["index"])
        if a.shape == b.shape and a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
            diffs.append(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0)
    return {"litert_version": _package_version("ai-edge-litert"), "num_threads": num_threads, "block": BLOCK,
            "gap_s": gap, "runs": len(t_nl), "numlite_median_ms": nl_ms, "litert_median_ms": lt_ms,
            "ratio": nl_ms / lt_ms if lt_ms > 0 else None, "numlite_runs_ms": [t * 1e3 for t in t_nl],
            "litert_runs_ms": [t * 1e3 for t in t_lt], "max_abs_diff": max(diffs) if diffs else None}


def litert_lines(c: dict[str, Any]) -> list[str]:
    ratio = "n/a" if c["ratio"] is None else f"{c['ratio']:.2f}"
    diff = "" if c["max_abs_diff"] is None else f"; outputs' max abs difference: {c['max_abs_diff']:.3g}"
    return [f"{INFO}numlite vs LiteRT (ai-edge-litert {c['litert_version']}): {c['num_threads']} thread(s), "
            f"{c['runs']} interleaved runs each (blocks of {c['block']} after a {c['gap_s']:g} s pause)",
            f"{INFO}numlite median: {c['numlite_median_ms']:.3f} ms, LiteRT median: {c['litert_median_ms']:.3f} ms, "
            f"numlite / LiteRT: {ratio}{diff}"]


def param_lines(p: dict[str, Any]) -> list[str]:
    """benchmark_model's echo of its parameters (``LOG_BENCHMARK_PARAM``: ``Description: [value]``)."""
    lines = [f"{INFO}Log parameter values verbosely: [0]", f"{INFO}Min num runs: [{p['num_runs']}]",
             f"{INFO}Min runs duration (seconds): [{_g(p['min_secs'])}]",
             f"{INFO}Max runs duration (seconds): [{_g(p['max_secs'])}]", f"{INFO}Num threads: [{p['num_threads']}]",
             f"{INFO}Min warmup runs: [{p['warmup_runs']}]",
             f"{INFO}Min warmup runs duration (seconds): [{_g(p['warmup_min_secs'])}]",
             f"{INFO}Graph: [{p['graph']}]", f"{INFO}Signature to run: []"]
    if p["input_value_files"]:
        lines.append(f"{INFO}Input value files: [{','.join(p['input_value_files'])}]")
    return lines + [f"{INFO}Enable op profiling: [{int(p['enable_op_profiling'])}]",
                    f"{INFO}#threads used for CPU inference: [{p['num_threads']}]"]


def init_lines(res: dict[str, Any]) -> list[str]:
    return [f"{INFO}The input model file size (MB): {_g(res['model_size_mb'])}",
            f"{INFO}Initialized session in {_g(res['init_us'] / 1e3)}ms."]


def end_lines(res: dict[str, Any]) -> list[str]:
    """``OnBenchmarkEnd``'s lines, then numlite's memory lines."""
    t = res["inference_timings_us"]
    lines = [f"{INFO}Inference timings in us: Init: {t['init']}, First inference: {t['first_inference']}, "
             f"Warmup (avg): {_g(t['warmup_avg'])}, Inference (avg): {_g(t['inference_avg'])}"]
    mem = res["memory"]
    if "init_mb" in mem:
        lines.append(f"{INFO}Note: as the benchmark tool itself affects memory footprint, the following is only "
                     "APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at "
                     "your discretion.")
        lines.append(f"{INFO}Memory footprint delta from the start of the tool (MB): init={_g(mem['init_mb'])} "
                     f"overall={_g(mem['overall_mb'])}")
        rss = f"; RSS at the end (MB): {_g(mem['rss_mb'])}" if mem["rss_mb"] is not None else ""
        lines.append(f"{INFO}numlite: peak RSS of the process (MB): {_g(mem['peak_rss_mb'])}{rss} ({mem['method']})")
    a = mem["arena"]
    lines.append(f"{INFO}numlite: tensor arena (MB): {_g(a['arena_bytes'] / 1e6)} (no reuse: "
                 f"{_g(a['no_reuse_bytes'] / 1e6)}, lower bound: {_g(a['lower_bound_bytes'] / 1e6)})")
    return lines


def _stat_of(runs_us: list[int]) -> Stat:
    st = Stat()
    for v in runs_us:
        st.update(v)
    return st


def format_report(res: dict[str, Any]) -> str:
    """The whole text of a ``benchmark`` result: what the command prints (and ``log`` received)."""
    p = res["params"]
    lines = param_lines(p) + [f"{INFO}Loaded model {p['graph']}"] + init_lines(res)
    for key, runs, secs in (("warmup", "warmup_runs", "warmup_min_secs"), ("inference", "num_runs", "min_secs")):
        lines += [_running_line(p[runs], p[secs], p["max_secs"]), f"{INFO}{_stat_of(res[key]['runs_us'])}", ""]
    lines += end_lines(res)
    if res.get("op_profile"):
        lines += profile_lines(res["op_profile"])
    if res.get("litert"):
        lines += litert_lines(res["litert"])
    return "\n".join(lines)


# -- the command -------------------------------------------------------------------------------
def _bool(text: str) -> bool:
    low = str(text).lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r} (true or false)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="time a model as TFLite's benchmark_model does, in its output format",
        description="Time MODEL with numlite as TensorFlow Lite's benchmark_model does, and print its lines\n"
                    "(Inference timings in us: ..., Memory footprint delta ..., the op profiling tables).",
        epilog=EXAMPLES + "\n" + EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="the .tflite file (or --graph=MODEL)")
    p.add_argument("--graph", dest="graph", metavar="MODEL", help="the .tflite file, as benchmark_model's --graph")
    p.add_argument("--num_threads", "--num-threads", dest="num_threads", metavar="N", type=int, default=1,
                   help="threads for numlite (and LiteRT) (default 1; -1: the default)")
    p.add_argument("--num_runs", "--num-runs", dest="num_runs", metavar="N", type=int, default=50,
                   help="at least this many timed runs (default 50)")
    p.add_argument("--warmup_runs", "--warmup-runs", dest="warmup_runs", metavar="N", type=int, default=1,
                   help="at least this many warm-up runs (default 1)")
    p.add_argument("--min_secs", "--min-secs", dest="min_secs", metavar="S", type=float, default=1.0,
                   help="and runs for at least this many seconds (default 1)")
    p.add_argument("--warmup_min_secs", "--warmup-min-secs", dest="warmup_min_secs", metavar="S", type=float,
                   default=0.5,
                   help="and warm up for at least this many seconds (default 0.5)")
    p.add_argument("--max_secs", "--max-secs", dest="max_secs", metavar="S", type=float, default=150.0,
                   help="start no run after this many seconds (default 150)")
    p.add_argument("--enable_op_profiling", "--enable-op-profiling", dest="enable_op_profiling", nargs="?",
                   const=True, default=False, type=_bool, metavar="BOOL",
                   help="time every node and print TFLite's per-op tables")
    p.add_argument("--input", action="append", metavar="NAME=FILE.npy",
                   help="an input's value (repeat per input; NAME may be the input's position; FILE.npy "
                        "alone for a one-input model); other inputs get seeded random values")
    p.add_argument("--seed", metavar="N", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--compare-litert", "--compare_litert", dest="compare_litert", action="store_true",
                   help="also time LiteRT (ai-edge-litert) on the same inputs, interleaved; print both medians")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the text")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    path = args.model or args.graph
    if not path:
        raise CLIError("a model is needed: numlite bench MODEL (or --graph=MODEL)", USAGE)
    if args.model and args.graph and args.model != args.graph:
        raise CLIError(f"two models given: {args.model} and --graph={args.graph}", USAGE)
    given = parse_input_args(args.input)
    log = None if args.json else (lambda line: print(line, flush=True))
    res = benchmark(path, num_threads=args.num_threads, num_runs=args.num_runs, warmup_runs=args.warmup_runs,
                    min_secs=args.min_secs, warmup_min_secs=args.warmup_min_secs, max_secs=args.max_secs,
                    enable_op_profiling=args.enable_op_profiling, inputs=given, seed=args.seed,
                    compare_litert=args.compare_litert, log=log)
    if args.json:
        print_json(res)
    return 0
