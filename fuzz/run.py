"""Run numlite's fuzz harnesses (``fuzz/fuzz_*.py``) under atheris, coverage-guided.

    python fuzz/run.py [NAME ...] --time SECONDS [--runs N] [--corpus DIR] [--crashes DIR] [--json FILE]
    python fuzz/run.py [NAME ...] --replay      # each harness over its corpus + crashes, no atheris

1. Discover the harnesses (all, or the NAMEs given) and run them one after another, each in its
   own subprocess (``python fuzz/run.py --child NAME ...``): numlite (every module, op kernels and
   custom ops included, imported eagerly so that lazily loaded kernels are instrumented too) and
   ``flatbuffers`` are imported under ``atheris.instrument_imports``, then libFuzzer runs the
   harness's ``test_one_input`` (and its ``custom_mutator``, when it has one).
2. The corpus of harness NAME is ``<corpus>/NAME``: seeded from ``seeds()`` (files named by their
   SHA-1, so re-seeding adds only new seeds) and kept between runs.  Crashes, timeouts and ooms go
   to ``<crashes>/NAME/`` (libFuzzer's ``-artifact_prefix``); the child's log to
   ``<crashes>/NAME.log``.
3. libFuzzer's limits: ``-timeout=10`` (seconds per input), ``-rss_limit_mb=4096`` (numlite is told
   the machine has 1 GB, ``_common.cap_memory``, so that it refuses what would not fit), ``-max_len``
   above the largest seed, ``-max_total_time`` / ``-runs``.  A timed run is a chain of children of
   ``CHUNK_RUNS`` inputs each, and a child ends itself (exit 0) once its resident memory passes
   ``RECYCLE_RSS_MB``: an instrumented process's own memory grows with every input it runs, so an
   "oom" is then one input's own doing.
   An uncaught exception stops the child; with ``--keep-going`` it is restarted on the kept corpus
   until the time is spent (at most ``--max-findings`` per harness).
4. One summary row per harness: executions, seconds, exec/s, corpus size, coverage (libFuzzer's
   ``cov:`` / ``ft:``), findings.  Executions come from "Done N runs in T second(s)" or, when the
   child stopped on a finding, from its last "#N" status line.  Exit code 1 if any finding.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FUZZ_DIR, REPO, harness_paths, is_allowed, load_harness  # noqa: E402

ARTIFACT_PREFIXES = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")
STATUS_RE = re.compile(r"^#(\d+)\s+\S+.*?cov: (\d+) ft: (\d+)(?: corp: (\d+)/)?.*?(?:exec/s: (\d+))?", re.M)
INITED_RE = re.compile(r"^#\d+\s+INITED\s+cov: (\d+)", re.M)
STARTUP_SECONDS = 10.0
#: libFuzzer's rss limit for a child (numlite itself is told the machine has 1 GB: _common.cap_memory)
RSS_LIMIT_MB = 4096
#: inputs per child in a timed run: an instrumented child's own memory grows with the inputs it has
#: run (about 70 KB per input for flex; the same inputs replayed without atheris hold numlite's
#: memory flat), so a long run is a chain of fresh children on the kept corpus, each well under
#: RSS_LIMIT_MB, and an "oom" means one input's own memory
CHUNK_RUNS = 20000
#: a child whose resident memory passes this ends after its current input (``_recycling``)
RECYCLE_RSS_MB = 2048
RECYCLE_RE = re.compile(r"^#(\d+)\tRECYCLE", re.M)
DONE_RE = re.compile(r"^Done (\d+) runs in (\d+) second", re.M)


# --- the child: one harness under atheris -----------------------------------------------------
def _import_all_numlite() -> None:
    """Import every numlite module (kernels are otherwise imported lazily, after instrumentation
    would have to catch them); modules whose optional dependencies are missing are skipped."""
    import pkgutil

    import numlite

    for info in pkgutil.walk_packages(numlite.__path__, "numlite."):
        if ".converter" in info.name or info.name.endswith("__main__"):
            continue  # the Keras front end (heavy, optional) is imported by its own harnesses
        try:
            __import__(info.name)
        except Exception:  # noqa: BLE001 - optional extras (onnxruntime, matplotlib, ...)
            pass


def child(name: str, libfuzzer_args: list[str]) -> None:
    import _common
    import atheris

    with atheris.instrument_imports(include=["numlite", "flatbuffers"]):
        _import_all_numlite()
        import flatbuffers.flexbuffers  # noqa: F401 - the FlexBuffers parser numlite.flex walks

        harness = load_harness(name)
    _common.UNDER_ATHERIS = True
    _common.cap_memory()

    import warnings

    warnings.simplefilter("ignore")
    kwargs: dict[str, Any] = {}
    if hasattr(harness, "custom_mutator"):
        kwargs["custom_mutator"] = harness.custom_mutator
    prefix = next((a.split("=", 1)[1] for a in libfuzzer_args if a.startswith("-artifact_prefix=")), None)
    atheris.Setup([sys.argv[0], *libfuzzer_args], _recycling(harness.test_one_input, prefix), **kwargs)
    atheris.Fuzz()


def _recycling(test_one_input: Any, artifact_prefix: str | None = None) -> Any:
    """``test_one_input``, ending the child (exit 0: the parent starts a fresh one on the kept
    corpus) once its resident memory passes ``RECYCLE_RSS_MB``: an instrumented process's own
    memory grows with every input it runs, and libFuzzer would report that growth as an "oom" of
    whichever input happened to be running.

    An input that raises is written to ``<artifact_prefix>crash-<sha1>`` here, before libFuzzer's
    own crash handler runs: that handler was once killed by libFuzzer's timeout alarm (SIGALRM,
    exit -14) before it wrote the input, in a child that had imported Keras and JAX."""
    count = [0]
    page = os.sysconf("SC_PAGE_SIZE")

    def run(data: bytes) -> None:
        try:
            test_one_input(data)
        except BaseException:
            if artifact_prefix is not None:
                path = f"{artifact_prefix}crash-{hashlib.sha1(data).hexdigest()}"
                with contextlib.suppress(OSError):
                    with open(path, "wb") as f:
                        f.write(data)
            raise
        count[0] += 1
        if count[0] % 256 == 0:
            with open("/proc/self/statm", "rb") as f:
                rss_mb = int(f.read().split()[1]) * page >> 20
            if rss_mb > RECYCLE_RSS_MB:
                print(f"#{count[0]}\tRECYCLE rss: {rss_mb}Mb (a fresh child goes on)", file=sys.stderr, flush=True)
                os._exit(0)

    return run


# --- the parent ---------------------------------------------------------------------------------
def seed_corpus(name: str, folder: Path) -> tuple[int, int]:
    """Write harness ``name``'s seeds into ``folder`` (by SHA-1); (seed count, largest seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = load_harness(name).seeds()
    for s in seeds:
        p = folder / hashlib.sha1(s).hexdigest()
        if not p.exists():
            p.write_bytes(s)
    return len(seeds), max((len(s) for s in seeds), default=0)


def artifacts(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.name.startswith(ARTIFACT_PREFIXES)} if folder.is_dir() else set()


def parse_log(text: str) -> dict[str, Any]:
    """Executions, coverage and corpus size from libFuzzer's output."""
    out: dict[str, Any] = {"execs": 0, "cov": 0, "ft": 0, "corpus": None, "seconds": None, "cov0": None}
    inited = INITED_RE.search(text)
    if inited:
        out["cov0"] = int(inited.group(1))
    last = None
    for m in STATUS_RE.finditer(text):
        last = m
    if last:
        out["execs"] = int(last.group(1))
        out["cov"], out["ft"] = int(last.group(2)), int(last.group(3))
        if last.group(4):
            out["corpus"] = int(last.group(4))
    done = DONE_RE.search(text)
    if done:
        out["execs"], out["seconds"] = int(done.group(1)), int(done.group(2))
    recycled = RECYCLE_RE.search(text)
    if recycled:  # the child ended itself (``_recycling``): its own count is the exact one
        out["execs"] = max(out["execs"], int(recycled.group(1)))
    return out


def run_harness(name: str, args: argparse.Namespace) -> dict[str, Any]:
    corpus = Path(args.corpus) / name
    crashes = Path(args.crashes) / name
    crashes.mkdir(parents=True, exist_ok=True)
    n_seeds, biggest = seed_corpus(name, corpus)
    max_len = max(4096, min(biggest + biggest // 4 + 1024, 8 << 20))
    before = artifacts(crashes)
    log_path = Path(args.crashes) / f"{name}.log"
    t0 = time.monotonic()
    stats = {"execs": 0, "cov": 0, "ft": 0, "fuzz_seconds": 0.0, "cov0": None}
    restarts, chunks, rc, text_all = 0, 0, 0, ""
    while True:
        left = args.time - (time.monotonic() - t0) if args.time else None
        lf = [str(corpus), f"-artifact_prefix={crashes}/", "-timeout=10", f"-rss_limit_mb={RSS_LIMIT_MB}",
              f"-max_len={max_len}", "-print_final_stats=1", "-reload=0"]
        if left is not None:
            lf.append(f"-max_total_time={max(int(left), 1)}")
        if args.runs:
            lf.append(f"-runs={args.runs}")
        elif args.time:
            lf.append(f"-runs={CHUNK_RUNS}")  # a fresh child every CHUNK_RUNS inputs (see the docstring)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--", *lf]
        env = {**os.environ, "PYTHONHASHSEED": "0", "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "numpy")}
        t_run = time.monotonic()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                              cwd=REPO, env=env)
        text_all += proc.stdout
        s = parse_log(proc.stdout)
        stats["execs"] += s["execs"]
        # libFuzzer's own seconds when it finished normally; after a finding, this run's wall time
        # less the start-up (imports and instrumentation, about STARTUP_SECONDS)
        stats["fuzz_seconds"] += (s["seconds"] if s["seconds"] is not None
                                  else max(time.monotonic() - t_run - STARTUP_SECONDS, 0.0))
        if stats["cov0"] is None:
            stats["cov0"] = s["cov0"]
        stats["cov"], stats["ft"] = max(stats["cov"], s["cov"]), max(stats["ft"], s["ft"])
        rc = proc.returncode
        found = len(artifacts(crashes) - before)
        if args.time and time.monotonic() - t0 >= args.time - STARTUP_SECONDS:
            break
        if rc == 0 and not args.runs and args.time:
            chunks += 1  # a chunk of CHUNK_RUNS done: go on with a fresh child
            continue
        if rc == 0 or not args.keep_going or found >= args.max_findings or args.runs:
            break
        restarts += 1
    log_path.write_text(text_all)
    wall = time.monotonic() - t0
    seconds = max(stats["fuzz_seconds"], 1.0)
    new = sorted(artifacts(crashes) - before)
    corpus_size = sum(1 for _ in corpus.iterdir())
    return {"name": name, "execs": stats["execs"], "seconds": round(seconds, 1), "wall_seconds": round(wall, 1),
            "cov_start": stats["cov0"],
            "exec_per_s": round(stats["execs"] / seconds, 1) if seconds else 0.0, "corpus": corpus_size,
            "seeds": n_seeds, "cov": stats["cov"], "ft": stats["ft"], "findings": len(new), "artifacts": new,
            "returncode": rc, "restarts": restarts, "chunks": chunks + 1, "log": str(log_path),
            "error": None if rc == 0 or new else f"the child exited with {rc} without an artifact (see the log)"}


def replay(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run ``test_one_input`` over the corpus and the crashes of ``name`` without atheris."""
    harness = load_harness(name)
    files = [p for d in (Path(args.corpus) / name, Path(args.crashes) / name) if d.is_dir()
             for p in sorted(d.iterdir()) if p.is_file()]
    failures = []
    t0 = time.monotonic()
    for p in files:
        try:
            harness.test_one_input(p.read_bytes())
        except Exception as e:  # noqa: BLE001 - each failure is reported
            failures.append(f"{p}: {type(e).__name__}: {e}"[:300])
            assert not is_allowed(e)
    seconds = time.monotonic() - t0
    return {"name": name, "execs": len(files), "seconds": round(seconds, 1),
            "exec_per_s": round(len(files) / seconds, 1) if seconds else 0.0, "corpus": len(files), "cov": "-",
            "ft": "-", "findings": len(failures), "artifacts": failures, "error": None}


def print_table(rows: list[dict[str, Any]], flush: bool = False) -> None:
    head = (f"{'harness':<20} {'execs':>9} {'seconds':>8} {'exec/s':>8} {'corpus':>7} {'cov (start->end)':>16} "
            f"{'ft':>7} {'findings':>8}")
    print(head)
    print("-" * len(head))
    for r in rows:
        cov = f"{r['cov_start']}->{r['cov']}" if r.get("cov_start") is not None else str(r["cov"])
        print(f"{r['name']:<20} {r['execs']:>9} {r['seconds']:>8} {r['exec_per_s']:>8} {r['corpus']:>7} {cov:>16} "
              f"{r['ft']:>7} {r['findings']:>8}")
        for a in r["artifacts"]:
            print(f"    {a}")
        if r.get("error"):
            print(f"    error: {r['error']}")
    sys.stdout.flush() if flush else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        sep = argv.index("--") if "--" in argv else len(argv)
        child(argv[1], argv[sep + 1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="harnesses to run (default: every fuzz/fuzz_*.py)")
    ap.add_argument("--time", type=float, default=60.0, help="seconds per harness (default 60; 0: no limit)")
    ap.add_argument("--runs", type=int, default=0, help="inputs per harness (libFuzzer -runs)")
    ap.add_argument("--corpus", default=str(FUZZ_DIR / "corpus"))
    ap.add_argument("--crashes", default=str(FUZZ_DIR / "crashes"))
    ap.add_argument("--json", help="also write the summary rows to this file")
    ap.add_argument("--replay", action="store_true", help="run test_one_input over corpus + crashes, no atheris")
    ap.add_argument("--keep-going", action="store_true", help="restart a harness after a finding until --time")
    ap.add_argument("--max-findings", type=int, default=5, help="with --keep-going: stop a harness after this many")
    args = ap.parse_args(argv)
    available = harness_paths()
    names = args.names or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        ap.error(f"unknown harness(es) {unknown}; have {sorted(available)}")
    if not args.replay:
        try:
            import atheris  # noqa: F401
        except ImportError:
            ap.error("atheris is not installed (pip install atheris); --replay runs the corpus without it")
    rows = []
    for name in names:
        try:
            rows.append(replay(name, args) if args.replay else run_harness(name, args))
        except Exception as e:  # noqa: BLE001 - e.g. a harness whose optional dependency is missing
            rows.append({"name": name, "execs": 0, "seconds": 0, "exec_per_s": 0, "corpus": 0, "cov": "-",
                         "ft": "-", "findings": 0, "artifacts": [], "error": f"{type(e).__name__}: {e}"})
        if len(names) > 1:
            print_table(rows[-1:], flush=True)
    print()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if any(r["findings"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
