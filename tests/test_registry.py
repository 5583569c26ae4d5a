"""The lazy op registry: ``numlite/ops/_index.py`` agrees with the kernel modules, ``import numlite``
imports no kernel, an interpreter imports the kernels of its model only, and the import is quick."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from util import In, Out, single_op_model

import numlite
from numlite.custom import _litert_defaults
from numlite.graph import BUILTIN_CODES, BUILTIN_OPS
from numlite.ops import _index, registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGENERATE = "numlite/ops/_index.py is stale: run `python scripts/gen_op_index.py` (and commit the result)"
KERNEL_MODULES = {m for m, _ in _index.BUILTINS.values()} | set(_index.CUSTOM.values())


def _python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (from the repository root); it prints one JSON line."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- (1) the index agrees with the @register decorators ---------------------------------------
def test_index_agrees_with_the_kernel_modules() -> None:
    registry._load_all()
    registered = {BUILTIN_OPS[code]: (module, tuple(sorted(versions)))
                  for code, (_, versions, module) in registry._REGISTERED.items()}
    not_indexed = sorted(set(registered) - set(_index.BUILTINS))
    not_registered = sorted(set(_index.BUILTINS) - set(registered))
    differ = {op: {"index": _index.BUILTINS[op], "modules": registered[op]}
              for op in sorted(set(registered) & set(_index.BUILTINS)) if tuple(_index.BUILTINS[op]) != registered[op]}
    assert not (not_indexed or not_registered or differ), (
        f"{REGENERATE}\n  registered but not in the index: {not_indexed}\n"
        f"  in the index but registered by no module: {not_registered}\n  different module or versions: {differ}")


def test_every_kernel_module_registers_an_op() -> None:
    """A module numlite.ops' listing finds must register something (else the lazy registry never
    imports it): helpers are ``_*`` modules."""
    registry._load_all()
    registering = {module for _, _, module in registry._REGISTERED.values()}
    assert set(registry._kernel_modules()) <= registering, set(registry._kernel_modules()) - registering


def test_index_lists_the_default_custom_ops() -> None:
    want = {name: m for m in _litert_defaults.MODULES for name in importlib.import_module(m).OPS}
    want.update({name: module for name, (_, module) in registry._REGISTERED_CUSTOM.items()})
    assert _index.CUSTOM == want, REGENERATE
    resolver = numlite.OpResolver()
    for name, module in want.items():
        assert name in resolver.custom and resolver.custom[name] is importlib.import_module(module).OPS[name]


def test_gen_op_index_check_passes() -> None:
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_op_index.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr or REGENERATE


# --- (2) lazy imports ------------------------------------------------------------------------
def test_import_numlite_imports_no_kernel() -> None:
    got = _python("""
        import json, sys
        import numlite
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("numlite."))))
    """)
    kernels = [m for m in got if m in KERNEL_MODULES or m.startswith(("numlite.ops.stablehlo", "numlite.custom"))]
    assert not kernels, f"import numlite imported kernel modules: {kernels}"


def test_interpreter_imports_only_the_kernels_of_its_model(tmp_path) -> None:
    path = tmp_path / "add.tflite"
    path.write_bytes(single_op_model("ADD", [In((2, 3)), In((2, 3))], Out((2, 3))))
    got = _python(f"""
        import json, sys
        import numpy as np
        import numlite
        it = numlite.Interpreter(model_path={str(path)!r})
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], np.ones((2, 3), np.float32))
        it.set_tensor(it.get_input_details()[1]["index"], np.full((2, 3), 2, np.float32))
        it.invoke()
        out = it.get_tensor(it.get_output_details()[0]["index"]).tolist()
        r = numlite.OpResolver()
        before = "Mfcc" in r.custom and "numlite.custom.audio" not in sys.modules
        r.custom["Mfcc"]
        print(json.dumps({{"out": out, "before": before, "modules": sorted(sys.modules)}}))
    """)
    assert got["out"] == [[3.0] * 3] * 2
    assert got["before"], "listing a default custom op imported its module"
    loaded = sorted(m for m in got["modules"] if m in KERNEL_MODULES)
    assert loaded == ["numlite.custom.audio", "numlite.ops.add"], loaded


def test_unsupported_version_is_reported_from_the_index(tmp_path) -> None:
    path = tmp_path / "add99.tflite"
    path.write_bytes(single_op_model("ADD", [In((2,)), In((2,))], Out((2,)), version=99))
    got = _python(f"""
        import json, sys
        import numlite
        try:
            numlite.Interpreter(model_path={str(path)!r})
        except numlite.UnsupportedOpError as e:
            print(json.dumps({{"error": str(e)}}))
    """)
    versions = list(_index.BUILTINS["ADD"][1])
    assert f"ADD version 99 at node(s) [0] of subgraph 0: supported versions: {versions}" in got["error"]


def test_unimplemented_builtin_is_named() -> None:
    missing = next(n for n in BUILTIN_CODES if n not in _index.BUILTINS and n.startswith("STABLEHLO_"))
    model = single_op_model(missing, [In((2,))], Out((2,)))
    with pytest.raises(numlite.UnsupportedOpError, match=f"{missing} version 1 .*op not implemented"):
        numlite.Interpreter(model_content=model)


def test_a_lookup_restores_a_kernel_removed_from_the_registry() -> None:
    """Tests undo their registrations by restoring a copy of ``registry._BUILTINS``; a kernel
    module imported in between (so not imported again) must still resolve."""
    model = single_op_model("SQUARE", [In((3,))], Out((3,)))
    saved = dict(registry._BUILTINS)
    try:
        registry._BUILTINS.pop(BUILTIN_CODES["SQUARE"], None)
        importlib.import_module("numlite.ops.square")
        registry._BUILTINS.pop(BUILTIN_CODES["SQUARE"], None)
        it = numlite.Interpreter(model_content=model)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], np.array([1, 2, 3], np.float32))
        it.invoke()
        np.testing.assert_array_equal(it.get_tensor(it.get_output_details()[0]["index"]), [1, 4, 9])
    finally:
        registry._BUILTINS.clear()
        registry._BUILTINS.update(saved)


def test_ops_submodules_import_on_attribute_access() -> None:
    import numlite.ops

    assert numlite.ops.square.__name__ == "numlite.ops.square"
    with pytest.raises(AttributeError):
        numlite.ops.no_such_module  # noqa: B018


def test_resolver_custom_ops_mapping() -> None:
    r = numlite.OpResolver()
    assert set(_index.CUSTOM) <= set(r.custom) and len(r.custom) >= len(_index.CUSTOM)
    kernel = r.custom["NumericVerify"]
    r.add_custom("NumericVerify", type("Mine", (kernel,), {}))
    assert r.custom["NumericVerify"] is not kernel
    del r.custom["NumericVerify"]
    assert "NumericVerify" not in r.custom and "NumericVerify" not in set(r.custom)
    assert r.custom.get("NumericVerify") is None
    assert "NumericVerify" in numlite.OpResolver().custom


# --- (3) import time ---------------------------------------------------------------------------
def test_import_time() -> None:
    """``import numlite`` over NumPy's import (the target is 0.1 s; the bound is loose for shared
    CI machines).  Best of three fresh interpreters."""
    times = []
    for _ in range(3):
        got = _python("""
            import json, time
            t0 = time.perf_counter()
            import numpy
            t1 = time.perf_counter()
            import numlite
            t2 = time.perf_counter()
            print(json.dumps({"numpy": t1 - t0, "numlite": t2 - t1}))
        """)
        times.append(got["numlite"])
    print(f"import numlite over numpy: {min(times):.3f} s (best of {times})")
    assert min(times) < 1.0, times
