"""``numlite bench``: benchmark_model's output format (parsed with the regexes people use on
benchmark_model's output), JSON, the op profiling tables, --compare-litert, the error exits."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
import pytest
from util import In, Out, numlite_command, single_op_model

from numlite import models
from numlite.builder import ModelBuilder
from numlite.tools import bench

FAST = ["--min_secs=0", "--warmup_min_secs=0"]

# benchmark_model's lines, as scripts parse them
NUM = r"(-?[\d.]+(?:e[+-]\d+)?|nan)"
RE = {
    "graph": re.compile(r"^INFO: Graph: \[(.+)\]$", re.M),
    "threads": re.compile(r"^INFO: #threads used for CPU inference: \[(\d+)\]$", re.M),
    "num_threads": re.compile(r"^INFO: Num threads: \[(\d+)\]$", re.M),
    "num_runs": re.compile(r"^INFO: Min num runs: \[(\d+)\]$", re.M),
    "profiling": re.compile(r"^INFO: Enable op profiling: \[([01])\]$", re.M),
    "loaded": re.compile(r"^INFO: Loaded model (.+)$", re.M),
    "size": re.compile(rf"^INFO: The input model file size \(MB\): {NUM}$", re.M),
    "init": re.compile(rf"^INFO: Initialized session in {NUM}ms\.$", re.M),
    "running": re.compile(r"^INFO: Running benchmark for at least (\d+) iterations and at least ([\d.]+) seconds "
                          r"but terminate if exceeding ([\d.]+) seconds\.$", re.M),
    "count": re.compile(rf"^INFO: count=(\d+) (?:first=(\d+) curr=(\d+) min=(\d+) max=(\d+) avg={NUM} std=(\d+)"
                        r"|curr=(\d+)(?:\(all same\))?)$", re.M),
    "timings": re.compile(rf"Inference timings in us: Init: (\d+), First inference: (\d+), Warmup \(avg\): {NUM}, "
                          rf"Inference \(avg\): {NUM}"),
    "memory": re.compile(rf"Memory footprint delta from the start of the tool \(MB\): init={NUM} overall={NUM}"),
}
# a row of the Run Order / Top by Computation Time tables, and of the Summary by node type
ROW = re.compile(r"^\t\s*(\S+)\t\s*([\d.]+)\t\s*([\d.]+)\t\s*([\d.]+)%\t\s*([\d.]+)%\t\s*([\d.]+)\t\s*(\d+)\t(.+)$")
TYPE_ROW = re.compile(r"^\t\s*(\S+)\t\s*(\d+)\t\s*([\d.]+)\t\s*([\d.]+)%\t\s*([\d.]+)%\t\s*([\d.]+)\t\s*(\d+)$")


def run_cli(argv: list[str]) -> int:
    """``numlite bench ...``."""
    return numlite_command(["bench", *argv])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "mobilenet_v1_tiny.tflite"
    path.write_bytes(models.build("mobilenet_v1_tiny"))
    return str(path)


# -- TFLite's Stat -------------------------------------------------------------------------------
def test_stat_prints_as_tflite():
    def stat(values):
        s = bench.Stat()
        for v in values:
            s.update(v)
        return str(s)

    assert stat([]) == "count=0"
    assert stat([7]) == "count=1 curr=7"
    assert stat([7, 7, 7]) == "count=3 curr=7(all same)"
    # population std of the int64 variance (6666.67 -> 6666), truncated: 81
    assert stat([100, 200, 300]) == "count=3 first=100 curr=300 min=100 max=300 avg=200 std=81"
    assert stat([3, 1, 2, 2]) == "count=4 first=3 curr=2 min=1 max=3 avg=2 std=0"
    assert stat([1000000, 1469134]) == ("count=2 first=1000000 curr=1469134 min=1000000 max=1469134 "
                                         "avg=1.23457e+06 std=234567")
    assert stat([10, 11, 11]).endswith("avg=10.6667 std=0")


# -- the text -------------------------------------------------------------------------------------
def test_text_lines_parse_like_benchmark_model(capsys, tiny):
    assert run_cli([tiny, "--num_threads=2", "--num_runs=6", "--warmup_runs=2", *FAST]) == 0
    out = capsys.readouterr().out
    assert RE["graph"].search(out).group(1) == tiny
    assert RE["loaded"].search(out).group(1) == tiny
    assert RE["threads"].search(out).group(1) == "2" and RE["num_threads"].search(out).group(1) == "2"
    assert RE["num_runs"].search(out).group(1) == "6" and RE["profiling"].search(out).group(1) == "0"
    assert float(RE["size"].search(out).group(1)) == pytest.approx(os.path.getsize(tiny) / 1e6, abs=1e-5)
    assert float(RE["init"].search(out).group(1)) > 0
    running = RE["running"].findall(out)
    assert running == [("2", "0", "150"), ("6", "0", "150")]
    counts = RE["count"].findall(out)
    assert [int(c[0]) for c in counts] == [2, 6]  # min_secs=0: exactly the minimum number of runs
    init, first, warm_avg, avg = RE["timings"].search(out).groups()
    assert int(init) > 0 and int(first) > 0 and float(warm_avg) > 0 and float(avg) > 0
    m = RE["memory"].search(out)
    if sys.platform.startswith("linux"):
        assert m and float(m.group(1)) >= 0 and float(m.group(2)) >= float(m.group(1))
    assert "numlite: tensor arena (MB): " in out
    assert "Operator-wise" not in out
    # the stat line after each "Running" line, then an empty line, as benchmark_model logs them
    lines = out.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("INFO: Running benchmark for at least 6"))
    assert lines[i + 1].startswith("INFO: count=6 ") and lines[i + 2] == ""


def test_python_function_and_format_report(tiny):
    lines: list[str] = []
    res = bench.benchmark(tiny, num_runs=5, warmup_runs=2, min_secs=0, warmup_min_secs=0, log=lines.append)
    assert bench.format_report(res) == "\n".join(lines)  # the streamed text is the data's text
    inf = res["inference"]
    assert inf["count"] == 5 == len(inf["runs_us"])
    assert inf["min"] <= inf["avg"] <= inf["max"] and inf["avg"] == pytest.approx(np.mean(inf["runs_us"]))
    assert res["warmup"]["first"] == res["warmup"]["runs_us"][0] == res["inference_timings_us"]["first_inference"]
    text = "\n".join(lines)
    init, first, warm_avg, avg = RE["timings"].search(text).groups()
    assert int(init) == res["init_us"] and float(avg) == pytest.approx(inf["avg"], rel=1e-5)
    assert res["memory"]["arena"]["arena_bytes"] > 0
    assert res["inputs"] == [{"index": 0, "name": "input", "shape": [1, 96, 96, 3], "dtype": "float32",
                              "source": "random (seed 0)"}]


def test_json(capsys, tiny):
    assert run_cli([tiny, "--num-runs", "4", "--warmup-runs", "1", "--min-secs", "0", "--warmup-min-secs", "0",
                    "--num-threads", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # one JSON document, nothing else on stdout
    assert doc["params"]["num_runs"] == 4 and doc["params"]["num_threads"] == 1
    assert doc["inference"]["count"] == 4 and len(doc["inference"]["runs_us"]) == 4
    assert set(doc["inference_timings_us"]) == {"init", "first_inference", "warmup_avg", "inference_avg"}
    assert doc["op_profile"] is None and doc["litert"] is None
    assert doc["model_size_mb"] == pytest.approx(os.path.getsize(tiny) / 1e6, abs=1e-5)


def test_inputs_from_npy_and_resize(capsys, tmp_path, add_model):
    np.save(tmp_path / "a.npy", np.ones((4, 3), np.float32))
    np.save(tmp_path / "b.npy", np.ones((4, 3), np.float32))
    rc = run_cli([add_model, "--input", f"a={tmp_path / 'a.npy'}", "--input", f"1={tmp_path / 'b.npy'}",
                  "--num_runs=2", *FAST, "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert [i["shape"] for i in doc["inputs"]] == [[4, 3], [4, 3]]
    assert doc["inputs"][0]["source"].endswith("a.npy") and doc["inputs"][1]["source"].startswith("1:")
    # one given, one random; the echo line names the given file
    np.save(tmp_path / "b2.npy", np.ones((2, 3), np.float32))
    assert run_cli([add_model, "--input", f"b={tmp_path / 'b2.npy'}", "--num_runs=1", *FAST]) == 0
    out = capsys.readouterr().out
    assert f"INFO: Input value files: [b:{tmp_path / 'b2.npy'}]" in out


# -- op profiling ------------------------------------------------------------------------------
def test_op_profiling_tables_add_up(capsys, tiny):
    assert run_cli([tiny, "--num_runs=4", "--enable_op_profiling=true", *FAST]) == 0
    out = capsys.readouterr().out
    assert RE["profiling"].search(out).group(1) == "1"
    assert "INFO: Operator-wise Profiling Info for Regular Benchmark Runs:" in out
    prof = out[out.index("Operator-wise Profiling Info"):]
    sections = prof.split("============================== ")
    titles = [s.split(" ==============================")[0] for s in sections[1:]]
    assert titles == ["Run Order", "Top by Computation Time", "Summary by node type"]
    header = sections[1].splitlines()[1]
    assert re.split(r"\t\s*", header.strip()) == ["[node type]", "[first]", "[avg ms]", "[%]", "[cdf%]",
                                                   "[mem KB]", "[times called]", "[Name]"]
    def rows(section):
        lines = section.splitlines()[2:]
        return [ROW.match(ln).groups() for ln in lines[:lines.index("")]]

    run_order = rows(sections[1])
    assert len(run_order) == 31 and "Number of nodes executed: 31" in prof and "31 nodes observed" in prof
    names = [r[7] for r in run_order]
    assert names[0] == "[MobilenetV1/MobilenetV1/Conv2d_0/Relu6]:0" and names[-1].endswith(":30")
    assert [int(n.rsplit(":", 1)[1]) for n in names] == list(range(31))  # run order
    assert sum(float(r[3]) for r in run_order) == pytest.approx(100.0, abs=0.05)
    assert float(run_order[-1][4]) == pytest.approx(100.0, abs=0.001)
    assert all(int(r[6]) == 1 for r in run_order)
    top = rows(sections[2])
    assert len(top) == 10 and [float(r[2]) for r in top] == sorted((float(r[2]) for r in top), reverse=True)
    by_type = [TYPE_ROW.match(ln).groups() for ln in sections[3].splitlines()[2:] if TYPE_ROW.match(ln)]
    assert {r[0]: int(r[1]) for r in by_type} == {"CONV_2D": 15, "DEPTHWISE_CONV_2D": 13, "AVERAGE_POOL_2D": 1,
                                                  "RESHAPE": 1, "SOFTMAX": 1}
    assert sum(int(r[1]) for r in by_type) == 31 and float(by_type[-1][4]) == pytest.approx(100.0, abs=0.01)
    assert sum(float(r[3]) for r in by_type) == pytest.approx(100.0, abs=0.05)
    m = re.search(r"^Timings \(microseconds\): count=4 ", prof, re.M)
    assert m and "Memory (bytes): count=0" in prof


def test_op_profile_data_and_interpreter_left_as_it_was(tiny):
    import numlite

    it = numlite.Interpreter(model_path=tiny)
    it.allocate_tensors()
    steps = list(it._main.steps)
    p = bench.OpProfiler(it)
    p.attach()
    assert all(hasattr(s, "_nlb_key") for s in it._main.steps)
    for _ in range(3):
        it.invoke()
        p.end_run()
    p.detach()
    assert it._main.steps == steps and not any("bind" in k.__dict__ for k in it._main.kernels)
    (sg,) = p.result()["subgraphs"]
    total = sg["run_total_us"]
    rows = sg["run_order"]
    assert sg["runs"] == 3 and len(rows) == 31
    # node times add up to the run total exactly (integer microseconds, as TFLite's)
    assert sum(r["avg_ms"] * 1000 for r in rows) == pytest.approx(total["avg"], abs=1e-6)
    assert sum(t["avg_ms"] for t in sg["by_type"]) * 1000 <= total["avg"] + 1e-6
    # run order: every node, a fused one (the final RESHAPE, executor step 2b) right after its host
    assert [r["node"] for r in rows] == list(range(31)) and it._main.absorbed == {29: 28}
    assert rows[29]["avg_ms"] == 0


def test_op_profiling_of_control_flow_subgraphs(capsys):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tf", "while_cond.tflite")
    if not os.path.exists(path):
        pytest.skip("fixture missing")
    res = bench.benchmark(path, num_runs=2, warmup_runs=1, min_secs=0, warmup_min_secs=0, enable_op_profiling=True)
    subgraphs = res["op_profile"]["subgraphs"]
    assert subgraphs[0]["subgraph"] == 0 and len(subgraphs) > 1
    text = bench.format_report(res)
    assert "Primary graph profile:" in text and re.search(r"^Subgraph \(index: \d+\) profile:$", text, re.M)
    assert re.search(r"^Subgraph \(index: \d+\) Timings \(microseconds\): count=2", text, re.M)


# -- --compare-litert ---------------------------------------------------------------------------
def test_compare_litert_tiny(capsys, tiny):
    pytest.importorskip("ai_edge_litert.interpreter")
    res = bench.benchmark(tiny, num_runs=5, warmup_runs=1, min_secs=0, warmup_min_secs=0, compare_litert=True,
                          litert_gap_s=0.01)
    c = res["litert"]
    assert c["runs"] == 5 and len(c["litert_runs_ms"]) == 5
    assert c["numlite_median_ms"] > 0 and c["litert_median_ms"] > 0
    assert c["ratio"] == pytest.approx(c["numlite_median_ms"] / c["litert_median_ms"])
    assert c["max_abs_diff"] < 1e-4  # same inputs: the same probabilities
    lines = bench.litert_lines(c)
    assert re.search(r"numlite median: [\d.]+ ms, LiteRT median: [\d.]+ ms, numlite / LiteRT: [\d.]+", lines[1])
    # and through the command
    assert run_cli([tiny, "--num_runs=1", *FAST, "--compare-litert"]) == 0
    assert "numlite / LiteRT: " in capsys.readouterr().out


def test_compare_litert_missing_exits_6(capsys, monkeypatch, tiny):
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    assert run_cli([tiny, "--compare-litert", *FAST]) == 6
    err = capsys.readouterr().err
    assert err.startswith("numlite bench: error: ") and "ai-edge-litert" in err and err.count("\n") == 1


# -- the progress bar ----------------------------------------------------------------------------
def test_progress_bar_only_when_asked_or_long_on_a_tty(monkeypatch):
    assert bench._progress_bar(10, 100.0, None, "x") is None  # pytest's stderr is not a terminal
    assert bench._progress_bar(10, 100.0, False, "x") is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert bench._progress_bar(10, 1.0, None, "x") is None  # short: no bar
    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm missing: no bar, no error
    assert bench._progress_bar(10, 100.0, None, "x") is None
    assert bench._progress_bar(10, 100.0, True, "x") is None


def test_progress_bar_counts_the_runs(monkeypatch, add_model):
    updates = []

    class FakeTqdm:
        def __init__(self, total, **kw):
            updates.append(("total", total))

        def update(self, n):
            updates.append(("update", n))

        def close(self):
            updates.append(("close", 0))

    fake = type(sys)("tqdm")
    fake.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm", fake)
    bench.benchmark(add_model, num_runs=7, min_secs=0, warmup_min_secs=0, progress=True)
    assert updates == [("total", 7)] + [("update", 1)] * 7 + [("close", 0)]


# -- errors: one line, the right exit code ------------------------------------------------------------
def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("numlite bench: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_unsupported_op_exits_4(capsys, tmp_path):
    mb = ModelBuilder()
    x = mb.input("x", (2,), np.float32)
    y = mb.tensor("y", (2,), np.float32)
    mb.op("custom:NoSuchOpAnywhere", [x], [y])
    mb.output(y)
    path = tmp_path / "custom.tflite"
    path.write_bytes(mb.build())
    assert run_cli([str(path), *FAST]) == 4
    assert "NoSuchOpAnywhere" in _one_error(capsys)


def test_wrong_inputs_exit_5(capsys, tmp_path, add_model):
    np.save(tmp_path / "i.npy", np.ones((2, 3), np.int32))
    np.save(tmp_path / "f.npy", np.ones((2, 3), np.float32))
    np.save(tmp_path / "r.npy", np.ones((2, 3, 4), np.float32))
    (tmp_path / "junk.npy").write_bytes(b"junk")
    cases = [
        ([f"a={tmp_path / 'i.npy'}"], "INT32"),                       # wrong dtype
        ([f"nope={tmp_path / 'f.npy'}"], "no input named 'nope'"),   # unknown name
        ([f"7={tmp_path / 'f.npy'}"], "input #7"),                    # no such position
        ([str(tmp_path / "f.npy")], "NAME= is needed"),               # two inputs: a name is needed
        ([f"a={tmp_path / 'missing.npy'}"], "no such file"),
        ([f"a={tmp_path / 'junk.npy'}"], "cannot read"),
        ([f"a={tmp_path / 'r.npy'}"], "input shapes"),               # ADD cannot broadcast (2,3,4) with (2,3)
    ]
    for inputs, expect in cases:
        argv = [add_model, *FAST, "--num_runs=1"]
        for spec in inputs:
            argv += ["--input", spec]
        assert run_cli(argv) == 5, expect
        assert expect in _one_error(capsys)


def test_invoke_failure_exits_1(capsys, tmp_path):
    m = single_op_model("GATHER", [np.arange(12, dtype=np.float32).reshape(4, 3), In((), np.int32)],
                        Out((3,), np.float32), axis=0)
    path = tmp_path / "gather.tflite"
    path.write_bytes(m)
    assert run_cli([str(path), *FAST]) == 1  # random int32 indices: out of range
    err = _one_error(capsys)
    assert "invoke failed" in err and "out of range" in err and "--input" in err
    np.save(tmp_path / "ok.npy", np.array(2, np.int32))
    assert run_cli([str(path), *FAST, "--num_runs=2", "--input", str(tmp_path / "ok.npy")]) == 0


def test_usage_errors_exit_2(capsys, tiny):
    assert run_cli([]) == 2
    assert "a model is needed" in _one_error(capsys)
    assert run_cli([tiny, "--num_threads=0"]) == 2
    assert "--num_threads must be >= 1" in _one_error(capsys)
    assert run_cli([tiny, "--num_runs=-1"]) == 2
    _one_error(capsys)
    assert run_cli([tiny, "--enable_op_profiling=maybe"]) == 2
    capsys.readouterr()
    assert run_cli(["--graph", tiny, tiny + "x"]) == 2
    assert "two models" in _one_error(capsys)


def test_graph_flag_and_default_threads(capsys, tiny):
    assert run_cli([f"--graph={tiny}", "--num_threads=-1", "--num_runs=1", *FAST]) == 0
    out = capsys.readouterr().out
    assert RE["graph"].search(out).group(1) == tiny and RE["threads"].search(out).group(1) == "1"


def test_help_has_examples_and_exit_codes(capsys):
    assert run_cli(["--help"]) == 0
    out = capsys.readouterr().out
    assert "numlite bench m.tflite --num_threads=2" in out and "exit codes:" in out and "--num-threads" in out
