"""CI's brief run of the fuzz harnesses (fuzz/fuzz_*.py), without atheris.

For every harness found in fuzz/ (discovery is generic: a new ``fuzz_<name>.py`` is picked up;
one whose optional dependency is missing - keras for the converter's - is skipped): its
``test_one_input`` over every seed, then over deterministic random mutations of the seeds (byte
flips, 32-bit overwrites with extreme values, truncations, chunk edits, and the harness's own
structure-aware ``custom_mutator``), a few hundred per harness, bounded to a few seconds.  Any
exception that escapes is a finding: the test fails with the input's mutation recipe.

When atheris is installed, ``fuzz/run.py flex --runs 200`` runs once as a smoke test of the
runner (instrumentation, corpus seeding, the summary table).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import _common  # noqa: E402

MUTATIONS = 300
SECONDS = 4.0  # per harness, for the mutations (the seeds always all run)

HARNESSES = sorted(_common.harness_paths())


def _load(name: str):
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    try:
        return _common.load_harness(name)
    except ImportError as e:  # an optional dependency of this harness (keras, ...)
        pytest.skip(f"fuzz_{name}: {e}")


def test_the_core_harnesses_are_discovered():
    assert {"loader", "flex", "strings", "control_flow", "invoke"} <= set(HARNESSES)


@pytest.mark.parametrize("name", HARNESSES)
def test_harness_interface(name):
    h = _load(name)
    assert h.NAME == name
    assert (h.__doc__ or "").strip(), f"fuzz_{name} has no docstring"
    assert callable(h.seeds) and callable(h.test_one_input)


@pytest.mark.parametrize("name", HARNESSES)
def test_seeds_and_mutations_raise_only_documented_errors(name):
    h = _load(name)
    seeds = h.seeds()
    assert seeds, f"fuzz_{name}.seeds() is empty"
    assert seeds == h.seeds(), f"fuzz_{name}.seeds() is not deterministic"
    for k, s in enumerate(seeds):
        try:
            h.test_one_input(s)
        except Exception as e:  # noqa: BLE001 - reported with the seed's number
            raise AssertionError(f"fuzz_{name}: seed {k} ({len(s)} bytes) raised {type(e).__name__}: {e}") from e
    rng = random.Random(f"numlite-fuzz-{name}")
    mutator = getattr(h, "custom_mutator", None)
    t0 = time.monotonic()
    done = 0
    for i in range(MUTATIONS):
        if time.monotonic() - t0 > SECONDS:
            break
        k = rng.randrange(len(seeds))
        data, recipe = seeds[k], []
        for _ in range(rng.randrange(1, 4)):
            seed = rng.randrange(1 << 30)
            if mutator is not None and rng.random() < 0.5:
                data = mutator(data, max(len(data) * 2, 4096), seed)
                recipe.append(f"custom_mutator(seed={seed})")
            else:
                data = _common.mutate_bytes(data, random.Random(seed))
                recipe.append(f"mutate_bytes(seed={seed})")
        try:
            h.test_one_input(data)
        except Exception as e:  # noqa: BLE001 - a finding: report how to rebuild the input
            raise AssertionError(f"fuzz_{name}: mutation {i} of seed {k} ({' then '.join(recipe)}) raised "
                                 f"{type(e).__name__}: {e}") from e
        done += 1
    assert done >= min(MUTATIONS, 20), f"only {done} mutations ran in {SECONDS} s"


def test_generic_mutations_are_deterministic():
    data = bytes(range(256)) * 4
    a = [_common.mutate_bytes(data, random.Random(s)) for s in range(50)]
    b = [_common.mutate_bytes(data, random.Random(s)) for s in range(50)]
    assert a == b and len({bytes(x) for x in a}) > 40


def test_allowed_errors():
    import numlite
    from numlite.flex import FlexError

    for e in (numlite.ModelError("x"), numlite.PrepareError("x"), FlexError("x"), RuntimeError("x"), ValueError("x")):
        assert _common.is_allowed(e)
    for e in (IndexError("x"), KeyError("x"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x"), RecursionError("x"),
              NotImplementedError("x"), MemoryError(), OverflowError("x"), TypeError("x")):
        assert not _common.is_allowed(e)
        with pytest.raises(type(e)), _common.tolerated():
            raise e


def test_libfuzzer_summary_is_parsed():
    sys.path.insert(0, str(FUZZ))
    import run

    log = ("#2\tINITED cov: 10 ft: 12 corp: 2/30b exec/s: 0 rss: 80Mb\n"
           "#64\tNEW    cov: 15 ft: 20 corp: 3/40b lim: 4096 exec/s: 32 rss: 90Mb L: 10/10 MS: 1 Custom-\n"
           "#100\tDONE   cov: 16 ft: 21 corp: 3/40b lim: 4096 exec/s: 50 rss: 90Mb\nDone 100 runs in 2 second(s)\n")
    s = run.parse_log(log)
    assert (s["execs"], s["seconds"], s["cov0"], s["cov"], s["ft"], s["corpus"]) == (100, 2, 10, 16, 21, 3)
    crashed = log.split("#100")[0] + "==123== ERROR: libFuzzer: deadly signal\n"
    assert run.parse_log(crashed)["execs"] == 64 and run.parse_log(crashed)["seconds"] is None


def test_an_input_that_raises_is_written_before_libfuzzer_handles_it(tmp_path):
    """The child saves an input that raises as crash-<sha1> itself: in a CI run libFuzzer's own crash
    handler was killed by its timeout alarm (exit -14) before writing one, and the finding was lost."""
    import hashlib

    import run

    def harness(data: bytes) -> None:
        if data.startswith(b"bad"):
            raise IndexError("a finding")

    step = run._recycling(harness, f"{tmp_path}/")
    step(b"good input")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(IndexError, match="a finding"):
        step(b"bad input")
    (saved,) = tmp_path.iterdir()
    assert saved.name == "crash-" + hashlib.sha1(b"bad input").hexdigest() and saved.read_bytes() == b"bad input"
    assert run.artifacts(tmp_path) == {saved.name}


def test_runner_under_atheris(tmp_path):
    pytest.importorskip("atheris")
    cmd = [sys.executable, str(FUZZ / "run.py"), "flex", "--runs", "200", "--corpus", str(tmp_path / "corpus"),
           "--crashes", str(tmp_path / "crashes"), "--json", str(tmp_path / "summary.json")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import json

    (row,) = json.loads((tmp_path / "summary.json").read_text())
    assert row["name"] == "flex" and row["findings"] == 0 and row["execs"] >= 200
    assert row["cov"] > row["cov_start"] > 0, row  # numlite is instrumented: coverage grows
    assert any((tmp_path / "corpus" / "flex").iterdir())
    assert "flex" in proc.stdout and "exec/s" in proc.stdout
