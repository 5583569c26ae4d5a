"""A brief deterministic run of the converter's and the quantizer's fuzz harnesses, without atheris
(fuzz/fuzz_convert_keras.py, fuzz/fuzz_quantize.py): every seed, then a few dozen chained mutations of
each harness's own structure-aware ``custom_mutator``, a few seconds per harness.  Any exception that
escapes ``test_one_input`` is a finding: the test names the seed and the mutation seeds that rebuild it.
(tests/test_fuzz.py runs every harness the same generic way; this file adds what is particular to these
two: the seeds convert / quantize, the mutators reach the converter and the bounds skip what they must.)

The findings themselves are tests/test_fuzz_regressions_convert.py.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import _common  # noqa: E402

MUTANTS = 40  # per harness
SECONDS = 6.0  # per harness, for the mutants (every seed always runs)


def _harness(name: str):
    os.environ.setdefault("KERAS_BACKEND", "numpy")
    try:
        return _common.load_harness(name)
    except ImportError as e:
        pytest.skip(f"fuzz_{name} needs an optional dependency: {e} (pip install 'numlite[convert]')")


@pytest.fixture(scope="module")
def convert_harness():
    pytest.importorskip("keras", reason="fuzz_convert_keras needs Keras 3 (pip install 'numlite[convert]')")
    h = _harness("convert_keras")
    return h, h.seeds()


@pytest.fixture(scope="module")
def quantize_harness():
    h = _harness("quantize")
    return h, h.seeds()


def _run_mutants(h, seeds: list[bytes], name: str) -> int:
    """Seeds, then chains of the harness's mutator from each seed in turn; the number of mutants run."""
    for k, s in enumerate(seeds):
        try:
            h.test_one_input(s)
        except Exception as e:  # noqa: BLE001 - reported with the seed's number
            raise AssertionError(f"fuzz_{name}: seed {k} raised {type(e).__name__}: {e}") from e
    t0, done = time.monotonic(), 0
    for j in range(MUTANTS):
        if time.monotonic() - t0 > SECONDS:
            break
        k = j % len(seeds)
        data, recipe = seeds[k], []
        for step in range(1 + j % 3):
            seed = 1000 * j + step
            data = h.custom_mutator(data, max(2 * len(data), 4096), seed)
            recipe.append(seed)
        try:
            h.test_one_input(data)
        except Exception as e:  # noqa: BLE001 - a finding: how to rebuild the input
            raise AssertionError(f"fuzz_{name}: seed {k} mutated by custom_mutator(seed={recipe}) raised "
                                 f"{type(e).__name__}: {e}") from e
        done += 1
    return done


# -- fuzz_convert_keras ------------------------------------------------------------------------------
def test_convert_seeds_are_keras_files_that_mostly_convert(convert_harness):
    import numlite
    from numlite.converter import ConversionError

    h, seeds = convert_harness
    assert len(seeds) >= 12
    converted = 0
    for s in seeds:
        with zipfile.ZipFile(io.BytesIO(s)) as z:
            assert {"config.json", "metadata.json", "model.weights.h5"} <= set(z.namelist())
        path = Path(h._tmpdir()) / "seed.keras"
        path.write_bytes(s)
        try:
            numlite.convert(str(path))
            converted += 1
        except ConversionError:
            pass
        finally:
            path.unlink()
    assert converted >= len(seeds) - 2  # the nested Sequential is refused by design


def test_convert_harness_seeds_and_mutants(convert_harness):
    h, seeds = convert_harness
    assert _run_mutants(h, seeds, "convert_keras") >= 10


def test_convert_mutator_reaches_the_converter(convert_harness):
    """Most mutants are still zips with a config; some are rebuilt by Keras (weights that fit the
    mutated config), so that the converter, not only Keras's loader, sees them."""
    h, seeds = convert_harness
    zips = rebuilt = 0
    for j in range(30):
        m = h.custom_mutator(seeds[j % len(seeds)], 1 << 20, j)
        files = h.unzip(m)
        zips += files is not None
        rebuilt += files is not None and files.get("metadata.json") == h._METADATA and m not in seeds
    assert zips >= 20 and rebuilt >= 3


def test_convert_bounds_skip_huge_configs_before_keras(convert_harness, monkeypatch):
    h, seeds = convert_harness
    files = h.unzip(seeds[0])
    cfg = json.loads(files["config.json"])
    dense = next(d for d in h._layer_dicts(cfg) if d["class_name"] == "Dense")
    dense["config"]["units"] = 10 ** 7
    big = h.repack({**files, "config.json": json.dumps(cfg).encode()})
    assert h.too_big(big)
    import numlite

    monkeypatch.setattr(numlite, "convert", lambda *a, **k: pytest.fail("a skipped input reached the converter"))
    h.test_one_input(big)
    assert not any(h.too_big(s) for s in seeds)


def test_convert_harness_leaves_no_files(convert_harness):
    h, seeds = convert_harness
    before = set(os.listdir(h._tmpdir()))
    h.test_one_input(seeds[0])
    h.test_one_input(b"PK\x03\x04 not a zip")
    assert set(os.listdir(h._tmpdir())) == before


# -- fuzz_quantize -----------------------------------------------------------------------------------
def test_quantize_seeds_quantize(quantize_harness):
    import numlite
    from numlite.quantize import quantize_model

    h, seeds = quantize_harness
    assert len(seeds) >= 20
    ok = 0
    for s in seeds:
        samples = h.float_run(s)
        assert samples is not None, "every seed runs in float"
        try:
            q = quantize_model(s, samples, allow_float=True)
        except ValueError:
            continue
        numlite.Interpreter(model_content=q).allocate_tensors()
        ok += 1
    assert ok >= len(seeds) // 2


def test_quantize_harness_seeds_and_mutants(quantize_harness):
    h, seeds = quantize_harness
    assert _run_mutants(h, seeds, "quantize") >= 10


def test_quantize_weight_mutations_stress_scales(quantize_harness):
    import random

    import numlite

    h, seeds = quantize_harness
    seen = set()
    for j in range(20):
        m = h.mutate_weights(seeds[j % len(seeds)], random.Random(j))
        if m is None:
            continue
        model = numlite.load_model(model_content=m)
        for sg in model.subgraphs:
            for t in sg.tensors:
                if t.is_constant and t.dtype is np.float32 and t.data.size:
                    v = np.asarray(t.data)
                    seen.add("nonfinite" if not np.isfinite(v).all() else "zeros" if not v.any() else "")
    assert {"nonfinite", "zeros"} <= seen
